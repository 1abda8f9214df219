//! Commit durability as each database connection reports it. On SQLite every
//! connection — the writer, each reader and the checkpoint connection — runs
//! with `synchronous = FULL` (the write-ahead log is fsync'd at every commit,
//! so an answered sign-in survives a power cut) unless the operator chose
//! NORMAL; on PostgreSQL commits wait for the log flush (`synchronous_commit
//! = on`).

use sqlx::Row;
use twostep_store::{PoolSettings, SqlStore, SqliteSynchronous};
use twostep_testkit::{Backend, TestDatabase};

/// The readers the store opens for the default settings (see `SqlStore::connect`).
fn expected_readers() -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    PoolSettings::default().max_connections.clamp(1, 2 * cores as u32) as usize
}

/// Connects, signs nothing in but migrates (so the writer has committed), and
/// returns what each connection reports.
async fn settings_of(db: &TestDatabase, settings: &PoolSettings) -> Vec<(&'static str, String)> {
    let store = SqlStore::connect(&db.url, settings).await.unwrap();
    store.migrate().await.unwrap();
    let reported = store.durability().await.unwrap();
    store.close().await;
    reported
}

fn count(reported: &[(&str, String)], role: &str) -> usize {
    reported.iter().filter(|(r, _)| *r == role).count()
}

#[tokio::test]
async fn sqlite_fsyncs_every_commit_on_every_connection_by_default() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let reported = settings_of(&db, &PoolSettings::default()).await;
    assert_eq!(count(&reported, "writer"), 1, "{reported:?}");
    assert_eq!(count(&reported, "reader"), expected_readers(), "{reported:?}");
    assert_eq!(count(&reported, "checkpoint"), 1, "{reported:?}");
    assert!(reported.iter().all(|(_, v)| v == "FULL"), "{reported:?}");
    db.drop_database().await;
}

#[tokio::test]
async fn sqlite_normal_is_an_explicit_choice_applied_to_every_connection() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let normal = PoolSettings { sqlite_synchronous: SqliteSynchronous::Normal, ..PoolSettings::default() };
    let reported = settings_of(&db, &normal).await;
    assert_eq!(reported.len(), 2 + expected_readers(), "{reported:?}");
    assert!(reported.iter().all(|(_, v)| v == "NORMAL"), "{reported:?}");
    // The same file opened again with the default is FULL again: the
    // setting belongs to the connections, not to the database.
    let reported = settings_of(&db, &PoolSettings::default()).await;
    assert!(reported.iter().all(|(_, v)| v == "FULL"), "{reported:?}");
    db.drop_database().await;
}

#[tokio::test]
async fn postgres_commits_wait_for_the_log_flush() {
    let db = TestDatabase::create(Backend::Postgres).await;
    let store = SqlStore::connect(&db.url, &PoolSettings::default()).await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(store.durability().await.unwrap(), vec![("connection", "on".to_owned())]);
    // Several connections of the pool at once, each asked on its own.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(store.pool().acquire().await.unwrap());
    }
    for conn in &mut held {
        let row = sqlx::query("SHOW synchronous_commit").fetch_one(&mut **conn).await.unwrap();
        assert_eq!(row.try_get::<String, _>(0).unwrap(), "on");
    }
    drop(held);
    store.close().await;
    db.drop_database().await;
}
