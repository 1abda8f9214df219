//! SQLite write-ahead-log checkpoints off the write path. Left to SQLite, the
//! commit that fills the log to 1,000 pages copies them into the database
//! file and waits for the disk, and every sign-in queued behind that commit
//! waits too (the 99.9th percentile of a sign-in wave was 70 ms). Here a task
//! of its own copies what the log holds every `EVERY` without blocking the
//! writer (a passive checkpoint); the writer keeps an automatic checkpoint
//! only as a backstop, should this task fall far behind.

use std::sync::Weak;
use std::time::Duration;

use sqlx::{AnyPool, Row};

/// How often the log is copied into the database file.
const EVERY: Duration = Duration::from_millis(200);
/// The writer's own checkpoint threshold, in pages (about 80 MB of log).
pub(crate) const BACKSTOP_PAGES: u32 = 20_000;

/// Runs checkpoints on `pool` (a connection of their own) until the store
/// owning `alive` is dropped or the pool is closed.
pub(crate) fn start(pool: AnyPool, alive: Weak<()>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if alive.upgrade().is_none() || pool.is_closed() {
                return;
            }
            match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&pool).await {
                Ok(row) if row.try_get::<i64, _>(0).unwrap_or(0) != 0 => tracing::debug!("checkpoint busy"),
                Ok(_) => {}
                Err(e) if pool.is_closed() => return tracing::debug!(error = %e, "checkpoints stopped"),
                Err(e) => tracing::warn!(error = %e, "checkpoint failed"),
            }
        }
    });
}
