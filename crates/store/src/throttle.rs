//! Rate-limit windows and failure streaks, shared by every instance.

use async_trait::async_trait;
use sqlx::Row;
use twostep_app::ports::{FailureState, StoreResult, ThrottleStore};

use crate::{db_err, SqlStore};

#[async_trait]
impl ThrottleStore for SqlStore {
    async fn hit(&self, bucket: &str, window_start: i64) -> StoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO rate_counters (bucket, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_counters.hits + 1 RETURNING hits",
        )
        .bind(bucket)
        .bind(window_start)
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        row.try_get(0).map_err(db_err)
    }

    async fn hits(&self, bucket: &str, window_start: i64) -> StoreResult<i64> {
        let row = sqlx::query("SELECT hits FROM rate_counters WHERE bucket = $1 AND window_start = $2")
            .bind(bucket)
            .bind(window_start)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?;
        Ok(row.map(|r| r.try_get::<i64, _>(0)).transpose().map_err(db_err)?.unwrap_or(0))
    }

    async fn record_failure(&self, subject: &str, now: i64, window_s: i64) -> StoreResult<FailureState> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        count_failure(&mut conn, subject, now).await?;
        drop(conn);
        self.failure_state(subject, now, window_s).await
    }

    async fn failure_state(&self, subject: &str, now: i64, window_s: i64) -> StoreResult<FailureState> {
        let recent: i64 = sqlx::query("SELECT COUNT(*) FROM failures WHERE subject = $1 AND at > $2")
            .bind(subject)
            .bind(now - window_s)
            .fetch_one(&self.reader)
            .await
            .map_err(db_err)?
            .try_get(0)
            .map_err(db_err)?;
        if recent == 0 {
            return Ok(FailureState::default());
        }
        let streak = sqlx::query("SELECT consecutive, last_failure_at FROM failure_streaks WHERE subject = $1")
            .bind(subject)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?;
        let (consecutive, last_failure_at) = match streak {
            Some(row) => (row.try_get(0).map_err(db_err)?, Some(row.try_get(1).map_err(db_err)?)),
            None => (0, None),
        };
        Ok(FailureState { recent, consecutive, last_failure_at })
    }

    async fn clear_failures(&self, subject: &str) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        forget_failures(&mut conn, subject).await
    }

    async fn prune_throttle(&self, before: i64) -> StoreResult<()> {
        for sql in [
            "DELETE FROM rate_counters WHERE window_start < $1",
            "DELETE FROM failures WHERE at < $1",
            "DELETE FROM captcha_challenges WHERE expires_at < $1",
            "DELETE FROM login_attempts WHERE expires_at < $1",
            "DELETE FROM sent_codes WHERE expires_at < $1",
            "DELETE FROM totp_setups WHERE expires_at < $1",
            "DELETE FROM sessions WHERE expires_at < $1",
        ] {
            sqlx::query(sql).bind(before).execute(&self.pool).await.map_err(db_err)?;
        }
        Ok(())
    }
}

/// Counts one failure of `subject`: a row for the window and one more in its
/// streak. Takes a connection so that it can join a larger transaction.
pub(crate) async fn count_failure(conn: &mut sqlx::AnyConnection, subject: &str, now: i64) -> StoreResult<()> {
    sqlx::query("INSERT INTO failures (subject, at) VALUES ($1, $2)")
        .bind(subject)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    sqlx::query(
        "INSERT INTO failure_streaks (subject, consecutive, last_failure_at) VALUES ($1, 1, $2) \
         ON CONFLICT (subject) DO UPDATE SET consecutive = failure_streaks.consecutive + 1, \
         last_failure_at = excluded.last_failure_at",
    )
    .bind(subject)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Forgets every failure of `subject` (after a success).
pub(crate) async fn forget_failures(conn: &mut sqlx::AnyConnection, subject: &str) -> StoreResult<()> {
    for sql in ["DELETE FROM failures WHERE subject = $1", "DELETE FROM failure_streaks WHERE subject = $1"] {
        sqlx::query(sql).bind(subject).execute(&mut *conn).await.map_err(db_err)?;
    }
    Ok(())
}
