//! Helpers for storage contract suites: run a check on a fresh database of
//! each backend (dropped afterwards, even when the check panics), and start
//! racers together behind a barrier so that conditional writes really race.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Barrier;
use twostep_app::crypto::new_id;
use twostep_app::ports::{
    AccountStore, CreateOutcome, LoginStore, NewAccount, NewLoginAttempt, QueuedMessage, StoreResult,
};
use twostep_domain::{LoginAttempt, LoginState, MessageStatus, Role};
use twostep_store::SqlStore;

use crate::db::{BOTH, Backend, TestDatabase};

pub fn label(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

pub async fn connect(url: &str, l: &str) -> SqlStore {
    SqlStore::connect(url, &Default::default()).await.unwrap_or_else(|e| panic!("{l}: connect: {e}"))
}

/// While `on`, every write to the audit log fails (a trigger aborts the
/// insert), to show that what an entry records fails with it. `l` is the
/// backend's label.
pub async fn refuse_audit_writes(s: &SqlStore, l: &str, on: bool) {
    use sqlx::Executor;
    let sqlite = l == label(Backend::Sqlite);
    let sql = match (on, sqlite) {
        (true, true) => {
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log refused'); END"
        }
        (true, false) => {
            "CREATE OR REPLACE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'audit log refused'; END $$; \
             CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit()"
        }
        (false, true) => "DROP TRIGGER refuse_audit",
        (false, false) => "DROP TRIGGER refuse_audit ON audit_log",
    };
    s.pool().execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql))).await.unwrap_or_else(|e| panic!("{l}: {e}"));
}

/// A pending login attempt of the account, created at `FIXTURES_AT` and
/// expiring ten minutes later; returns its id.
pub async fn pending_attempt(s: &SqlStore, account_id: &str) -> String {
    let attempt = LoginAttempt {
        id: new_id(),
        account_id: account_id.into(),
        state: LoginState::Pending,
        failures: 0,
        expires_at: FIXTURES_AT + 600,
    };
    let login = NewLoginAttempt {
        attempt: attempt.clone(),
        created_at: FIXTURES_AT,
        ip: "192.0.2.1".into(),
        user_agent: "ua".into(),
        audit: None,
    };
    s.create_login(&login).await.expect("a pending login attempt");
    attempt.id
}

/// When the fixtures below are created.
pub const FIXTURES_AT: i64 = 1_700_000_000;

/// A fresh verified user account (password hash `hash-1`); returns its id.
pub async fn account(s: &SqlStore, l: &str) -> String {
    let id = new_id();
    let a = NewAccount {
        email: format!("{id}@example.test"),
        id: id.clone(),
        password_hash: "hash-1".into(),
        role: Role::User,
        verified: true,
        created_at: FIXTURES_AT,
        language: None,
    };
    let created = s.create_account(&a).await.unwrap();
    assert!(matches!(created, CreateOutcome::Created), "{l}: create_account: {created:?}");
    id
}

/// A notice (no code) queued at `now` for `to` on `channel`, kept a day.
pub fn notice(channel: &str, to: &str, now: i64) -> QueuedMessage {
    QueuedMessage {
        id: new_id(),
        channel: channel.into(),
        recipient: to.into(),
        sealed: vec![1],
        code_id: None,
        status: MessageStatus::Queued,
        attempts: 0,
        created_at: now,
        next_attempt_at: now,
        expires_at: now + 86_400,
        finished_at: None,
        last_error: String::new(),
    }
}

/// Runs `f` on a fresh, unmigrated database of each backend (given its URL),
/// dropping the database afterwards even when `f` panics.
pub async fn each_database<F, Fut>(f: F)
where
    F: Fn(String, &'static str) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    for backend in BOTH {
        let db = TestDatabase::create(backend).await;
        let outcome = tokio::spawn(f(db.url.clone(), label(backend))).await;
        db.drop_database().await;
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.try_into_panic().unwrap_or_else(|e| Box::new(e.to_string())));
        }
    }
}

/// Runs `f` on a fresh, migrated store of each backend, then closes the pool
/// and drops the database.
pub async fn each_backend<F, Fut>(f: F)
where
    F: Fn(SqlStore, &'static str) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let f = Arc::new(f);
    each_database(move |url, l| {
        let f = f.clone();
        async move {
            let store = connect(&url, l).await;
            store.migrate().await.unwrap_or_else(|e| panic!("{l}: migrate: {e}"));
            f(store.clone(), l).await;
            store.close().await;
        }
    })
    .await;
}

/// Starts `n` copies of an operation at once (behind a barrier; each gets its
/// index) and collects their results, so that conditional writes really race.
pub async fn race<T, F, Fut>(n: usize, f: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let spawn = |(barrier, op): (Arc<Barrier>, Fut)| {
        tokio::spawn(async move {
            barrier.wait().await;
            op.await
        })
    };
    let tasks: Vec<_> = (0..n).map(|i| spawn((barrier.clone(), f(i)))).collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.expect("racing task panicked"));
    }
    out
}

/// `race!(n, [vars] => op)`: `n` racers, each with its own clones of `vars`.
#[macro_export]
macro_rules! race {
    ($n:expr, [$($v:ident),*] => $op:expr) => {
        $crate::contract::race($n, |_| {
            $(let $v = $v.clone();)*
            async move { $op }
        })
        .await
    };
}

/// How many racers won; every racer must have got an answer, not an error.
pub fn winners(l: &str, results: &[StoreResult<bool>]) -> usize {
    results.iter().filter(|r| *r.as_ref().unwrap_or_else(|e| panic!("{l}: racer failed: {e}"))).count()
}

/// Full-field equality for records that do not implement `PartialEq`.
pub fn same<A: std::fmt::Debug, B: std::fmt::Debug>(l: &str, what: &str, got: A, want: B) {
    assert_eq!(format!("{got:?}"), format!("{want:?}"), "{l}: {what}");
}
