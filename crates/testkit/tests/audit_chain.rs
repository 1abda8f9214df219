//! The audit log's hash chain on both backends: appends racing from many
//! tasks still form one unbroken chain, entries written before the chain
//! existed are chained by the migration, and an edited, removed or
//! reordered entry is found and named.

use sqlx::Executor;
use twostep_app::ports::{AuditEvent, AuditStore};
use twostep_store::SqlStore;
use twostep_testkit::contract::{each_backend, race};

fn event(i: usize) -> AuditEvent {
    AuditEvent {
        at: 1_700_000_000 + i as i64,
        account_id: (!i.is_multiple_of(3)).then(|| format!("acc-{}", i % 5)),
        kind: "login_failed".into(),
        ip: format!("192.0.2.{}", i % 250),
        user_agent: "ua".into(),
        detail: format!("event {i}"),
    }
}

async fn append(s: &SqlStore, n: usize) {
    for i in 0..n {
        s.append_audit(&event(i)).await.unwrap();
    }
}

async fn exec(s: &SqlStore, sql: &str) {
    s.pool().execute(sqlx::AssertSqlSafe(sql.to_owned())).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The sequence number of the `n`th entry (1-based) in log order.
async fn seq_of(s: &SqlStore, n: i64) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT seq FROM audit_log ORDER BY seq LIMIT 1 OFFSET {}", n - 1)))
        .fetch_one(s.pool())
        .await
        .unwrap()
}

async fn broken_at(s: &SqlStore, l: &str) -> Option<i64> {
    match s.verify_audit_chain().await.unwrap() {
        Ok(ok) => panic!("{l}: tampering not found: {ok:?}"),
        Err(b) => b.seq,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_form_one_chain() {
    each_backend(|s, l| async move {
        assert_eq!(s.verify_audit_chain().await.unwrap().unwrap().0, 0, "{l}: empty log");
        for round in 0..3 {
            let results = race(32, |i| {
                let s = s.clone();
                async move { s.append_audit(&event(round * 100 + i)).await }
            })
            .await;
            assert!(results.iter().all(Result::is_ok), "{l}: {results:?}");
        }
        let (entries, head) = s.verify_audit_chain().await.unwrap().unwrap_or_else(|b| panic!("{l}: {b}"));
        assert_eq!(entries, 96, "{l}");
        assert_eq!(head.len(), 64, "{l}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_edited_entry_is_named() {
    each_backend(|s, l| async move {
        append(&s, 6).await;
        let target = seq_of(&s, 4).await;
        exec(&s, &format!("UPDATE audit_log SET detail = 'nothing happened' WHERE seq = {target}")).await;
        assert_eq!(broken_at(&s, l).await, Some(target), "{l}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_edited_time_account_or_address_is_named() {
    each_backend(|s, l| async move {
        append(&s, 6).await;
        for (n, edit) in [(2, "at = at + 1"), (3, "account_id = NULL"), (5, "ip = '203.0.113.9'")] {
            let target = seq_of(&s, n).await;
            exec(&s, &format!("UPDATE audit_log SET {edit} WHERE seq = {target}")).await;
        }
        assert_eq!(broken_at(&s, l).await, Some(seq_of(&s, 2).await), "{l}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_removed_entry_is_found() {
    each_backend(|s, l| async move {
        append(&s, 6).await;
        let (third, fourth) = (seq_of(&s, 3).await, seq_of(&s, 4).await);
        exec(&s, &format!("DELETE FROM audit_log WHERE seq = {third}")).await;
        assert_eq!(broken_at(&s, l).await, Some(fourth), "{l}: a gap names the entry after it");
        // The first entry, and the last one (the head still counts it).
        let (first, second) = (seq_of(&s, 1).await, seq_of(&s, 2).await);
        exec(&s, &format!("DELETE FROM audit_log WHERE seq = {first}")).await;
        assert_eq!(broken_at(&s, l).await, Some(second), "{l}: first entry removed");
    })
    .await;
    each_backend(|s, l| async move {
        append(&s, 6).await;
        let last = seq_of(&s, 6).await;
        exec(&s, &format!("DELETE FROM audit_log WHERE seq = {last}")).await;
        assert_eq!(broken_at(&s, l).await, Some(last), "{l}: last entry removed");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reordered_entries_are_found() {
    each_backend(|s, l| async move {
        append(&s, 6).await;
        // Swap every column but the sequence number between entries 2 and 5.
        let (a, b) = (seq_of(&s, 2).await, seq_of(&s, 5).await);
        let cols = "at, account_id, kind, ip, user_agent, detail, prev_hash, hash";
        exec(&s, &format!("CREATE TABLE swap AS SELECT seq, {cols} FROM audit_log WHERE seq IN ({a}, {b})")).await;
        for (to, from) in [(a, b), (b, a)] {
            let set: Vec<String> =
                cols.split(", ").map(|c| format!("{c} = (SELECT {c} FROM swap WHERE seq = {from})")).collect();
            exec(&s, &format!("UPDATE audit_log SET {} WHERE seq = {to}", set.join(", "))).await;
        }
        exec(&s, "DROP TABLE swap").await;
        assert_eq!(broken_at(&s, l).await, Some(a), "{l}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn entries_from_before_the_chain_are_chained_by_the_migration() {
    each_backend(|s, l| async move {
        append(&s, 4).await;
        // Back to the schema before the chain: entries without hashes.
        for sql in [
            "ALTER TABLE audit_log DROP COLUMN prev_hash",
            "ALTER TABLE audit_log DROP COLUMN hash",
            "DROP TABLE audit_head",
            "DELETE FROM twostep_migrations WHERE version = 4",
        ] {
            exec(&s, sql).await;
        }
        assert_eq!(s.migrate().await.unwrap(), vec![4], "{l}");
        append(&s, 2).await;
        assert_eq!(s.verify_audit_chain().await.unwrap().unwrap().0, 6, "{l}");
        let recent = s.audit_events(None, 10).await.unwrap();
        assert_eq!(recent.len(), 6, "{l}");
    })
    .await;
}
