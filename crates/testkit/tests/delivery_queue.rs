//! The outbound queue at the storage level, on SQLite and PostgreSQL: the
//! lease (of two claimers exactly one wins, also from two separate pools as
//! two instances would have), a lapsed lease, claim tokens, backoff and the
//! end states.

use twostep_app::ports::{MessageQueueStore, QueuedMessage};
use twostep_domain::MessageStatus;
use twostep_store::SqlStore;
use twostep_testkit::db::{BOTH, Backend, TestDatabase};

const NOW: i64 = 1_800_000_000;

fn message(id: &str, created_at: i64) -> QueuedMessage {
    QueuedMessage {
        id: id.into(),
        channel: "sms".into(),
        recipient: "+447911123456".into(),
        sealed: vec![1, 2, 3, 4],
        code_id: Some(format!("code-{id}")),
        status: MessageStatus::Queued,
        attempts: 0,
        created_at,
        next_attempt_at: created_at,
        expires_at: created_at + 300,
        finished_at: None,
        last_error: String::new(),
    }
}

async fn store(db: &TestDatabase) -> SqlStore {
    let s = SqlStore::connect(&db.url, &Default::default()).await.unwrap();
    s.migrate().await.unwrap();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_claimers_exactly_one_wins() {
    for backend in BOTH {
        let db = TestDatabase::create(backend).await;
        // Two pools on one database: two server instances.
        let (a, b) = (store(&db).await, store(&db).await);
        for i in 0..20 {
            a.enqueue_message(&message(&format!("m{i}"), NOW)).await.unwrap();
        }
        let mut wins = 0;
        for i in 0..20 {
            let id = format!("m{i}");
            let (ra, rb) = tokio::join!(a.claim_message(&id, NOW, NOW + 60), b.claim_message(&id, NOW, NOW + 60));
            let (ra, rb) = (ra.unwrap(), rb.unwrap());
            assert!(ra.is_some() != rb.is_some(), "{backend:?} {id}: {ra:?} {rb:?}");
            assert_eq!(ra.or(rb), Some(1), "the first attempt");
            wins += 1;
        }
        assert_eq!(wins, 20);
        // Leased messages are no longer due for anyone.
        assert!(a.due_messages(NOW, 100).await.unwrap().is_empty(), "{backend:?}");
        assert_eq!(b.pending_now(NOW).await.unwrap(), 20, "{backend:?}: leased but not finished");
        a.close().await;
        b.close().await;
        db.drop_database().await;
    }
}

#[tokio::test]
async fn a_lapsed_lease_passes_the_message_on_and_the_old_claim_cannot_finish_it() {
    for backend in BOTH {
        let db = TestDatabase::create(backend).await;
        let s = store(&db).await;
        s.enqueue_message(&message("m", NOW)).await.unwrap();
        assert_eq!(s.due_messages(NOW, 10).await.unwrap().len(), 1);
        assert_eq!(s.claim_message("m", NOW, NOW + 60).await.unwrap(), Some(1));
        // Still leased: nobody else gets it, even just before the end.
        assert_eq!(s.claim_message("m", NOW + 30, NOW + 90).await.unwrap(), None, "{backend:?}");
        assert_eq!(s.claim_message("m", NOW + 60, NOW + 120).await.unwrap(), None, "{backend:?}");
        // The first worker died; after its lease another takes over.
        assert_eq!(s.due_messages(NOW + 61, 10).await.unwrap().len(), 1);
        assert_eq!(s.claim_message("m", NOW + 61, NOW + 121).await.unwrap(), Some(2), "{backend:?}");
        // The first worker's late writes are refused: its claim token is stale.
        assert!(!s.finish_message("m", 1, MessageStatus::Sent, NOW + 62, "").await.unwrap(), "{backend:?}");
        assert!(!s.retry_message("m", 1, NOW + 70, "late").await.unwrap(), "{backend:?}");
        assert!(s.finish_message("m", 2, MessageStatus::Sent, NOW + 62, "").await.unwrap(), "{backend:?}");
        let done = s.message("m").await.unwrap().unwrap();
        assert_eq!((done.status, done.attempts, done.finished_at), (MessageStatus::Sent, 2, Some(NOW + 62)));
        assert!(done.sealed.is_empty(), "the text is wiped once sent");
        // Finished for good.
        assert!(!s.finish_message("m", 2, MessageStatus::Failed, NOW + 63, "").await.unwrap());
        assert_eq!(s.claim_message("m", NOW + 1000, NOW + 1060).await.unwrap(), None);
        assert!(s.due_messages(NOW + 1000, 10).await.unwrap().is_empty());
        s.close().await;
        db.drop_database().await;
    }
}

#[tokio::test]
async fn retries_wait_their_turn_and_failures_are_final() {
    for backend in BOTH {
        let db = TestDatabase::create(backend).await;
        let s = store(&db).await;
        s.enqueue_message(&message("old", NOW - 5)).await.unwrap();
        s.enqueue_message(&message("new", NOW)).await.unwrap();
        let due: Vec<String> = s.due_messages(NOW, 10).await.unwrap().into_iter().map(|m| m.id).collect();
        assert_eq!(due, ["old", "new"], "{backend:?}: oldest first");
        assert_eq!(s.due_messages(NOW - 1, 10).await.unwrap().len(), 1, "not yet due");

        let attempt = s.claim_message("old", NOW, NOW + 60).await.unwrap().unwrap();
        assert!(s.retry_message("old", attempt, NOW + 4, "provider answered 503").await.unwrap());
        // Released, but waiting out its backoff.
        assert_eq!(s.claim_message("old", NOW + 3, NOW + 63).await.unwrap(), None, "{backend:?}");
        assert_eq!(s.due_messages(NOW + 3, 10).await.unwrap().len(), 1, "only `new`");
        assert_eq!(s.pending_now(NOW + 3).await.unwrap(), 1);
        let waiting = s.message("old").await.unwrap().unwrap();
        assert_eq!((waiting.status, waiting.next_attempt_at), (MessageStatus::Queued, NOW + 4));
        assert_eq!(waiting.last_error, "provider answered 503");
        assert_eq!(waiting.sealed, vec![1, 2, 3, 4], "kept for the next try");

        let attempt = s.claim_message("old", NOW + 4, NOW + 64).await.unwrap().unwrap();
        assert_eq!(attempt, 2);
        assert!(s.finish_message("old", attempt, MessageStatus::Failed, NOW + 5, "gave up").await.unwrap());
        let failed = s.message("old").await.unwrap().unwrap();
        assert_eq!((failed.status, failed.last_error.as_str()), (MessageStatus::Failed, "gave up"));
        assert!(failed.sealed.is_empty());
        assert_eq!(s.claim_message("old", NOW + 100, NOW + 160).await.unwrap(), None);

        let a = s.claim_message("new", NOW + 6, NOW + 66).await.unwrap().unwrap();
        assert!(s.finish_message("new", a, MessageStatus::Sent, NOW + 6, "").await.unwrap());
        let counts = s.queue_counts().await.unwrap();
        assert_eq!((counts.queued, counts.sent, counts.failed), (0, 1, 1), "{backend:?}");
        assert!(s.finish_message("new", a, MessageStatus::Queued, NOW, "").await.is_err(), "not an end state");
        // Pruning removes finished messages older than the cut only.
        assert_eq!(s.prune_messages(NOW + 6).await.unwrap(), 1);
        assert!(s.message("old").await.unwrap().is_none());
        assert!(s.message("new").await.unwrap().is_some());
        s.close().await;
        db.drop_database().await;
    }
}

#[tokio::test]
async fn a_message_enqueued_without_a_code_round_trips() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let s = store(&db).await;
    let notice = QueuedMessage {
        code_id: None,
        channel: "email".into(),
        recipient: "a@example.com".into(),
        ..message("n", NOW)
    };
    s.enqueue_message(&notice).await.unwrap();
    assert_eq!(s.message("n").await.unwrap().unwrap(), notice);
    s.close().await;
    db.drop_database().await;
}
