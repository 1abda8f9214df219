//! Rate-limit windows and failure streaks, shared by every instance.

use async_trait::async_trait;
use sqlx::Row;
use twostep_app::ports::{FailureState, StoreResult, ThrottleStore};

use crate::sql::{Query, by_ids, statement, values};
use crate::{SqlStore, db_err};

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

    async fn unhit(&self, bucket: &str, window_start: i64) -> StoreResult<()> {
        sqlx::query("UPDATE rate_counters SET hits = hits - 1 WHERE bucket = $1 AND window_start = $2 AND hits > 0")
            .bind(bucket)
            .bind(window_start)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
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
        count_failures(&mut conn, &[(subject, now)]).await?;
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
        forget_failures(&mut conn, &[subject]).await
    }

    async fn prune_throttle(&self, before: i64) -> StoreResult<()> {
        for sql in [
            "DELETE FROM rate_counters WHERE window_start < $1",
            "DELETE FROM failures WHERE at < $1",
            "DELETE FROM captcha_challenges WHERE expires_at < $1",
            "DELETE FROM login_attempts WHERE expires_at < $1",
            "DELETE FROM password_resets WHERE expires_at < $1",
            "DELETE FROM sent_codes WHERE expires_at < $1",
            "DELETE FROM totp_setups WHERE expires_at < $1",
            "DELETE FROM sessions WHERE expires_at < $1",
        ] {
            sqlx::query(sql).bind(before).execute(&self.pool).await.map_err(db_err)?;
        }
        Ok(())
    }
}

/// Counts one failure of each subject at its time: a row for the window and
/// one more in its streak. Subjects must be distinct (the streak upsert may
/// change a row once). Takes a connection so that it can join a larger
/// transaction; two statements however many subjects there are.
pub(crate) async fn count_failures(conn: &mut sqlx::AnyConnection, failures: &[(&str, i64)]) -> StoreResult<()> {
    if failures.is_empty() {
        return Ok(());
    }
    fn bind_all<'a>(mut q: Query<'a>, failures: &[(&'a str, i64)]) -> Query<'a> {
        for (subject, at) in failures {
            q = q.bind(*subject).bind(*at);
        }
        q
    }
    let rows = values(failures.len(), 2);
    bind_all(statement(format!("INSERT INTO failures (subject, at) VALUES {rows}"), failures.len()), failures)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    let upsert = format!(
        "INSERT INTO failure_streaks (subject, consecutive, last_failure_at) \
         SELECT v.column1, 1, v.column2 FROM (VALUES {rows}) AS v WHERE true \
         ON CONFLICT (subject) DO UPDATE SET consecutive = failure_streaks.consecutive + 1, \
         last_failure_at = excluded.last_failure_at"
    );
    bind_all(statement(upsert, failures.len()), failures).execute(&mut *conn).await.map_err(db_err)?;
    Ok(())
}

/// Forgets every failure of the subjects (after a success).
pub(crate) async fn forget_failures(conn: &mut sqlx::AnyConnection, subjects: &[&str]) -> StoreResult<()> {
    if subjects.is_empty() {
        return Ok(());
    }
    for table in ["failures", "failure_streaks"] {
        by_ids(&format!("DELETE FROM {table} WHERE subject IN ({{}})"), subjects)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}
