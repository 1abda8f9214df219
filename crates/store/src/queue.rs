//! The outbound message queue. Claiming is a lease taken by one conditional
//! UPDATE (portable to both backends, no row locks held across the send):
//! whoever's UPDATE matched the row owns the message until `claimed_until`,
//! and `attempts`, bumped by the claim, is the token every later write of
//! that worker must present, so a worker whose lease lapsed cannot finish a
//! message another worker has since claimed.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use twostep_app::ports::{MessageQueueStore, QueueCounts, QueuedMessage, StoreError, StoreResult};
use twostep_domain::MessageStatus;

use crate::{SqlStore, db_err};

const COLUMNS: &str = "id, channel, recipient, sealed_text, code_id, status, attempts, created_at, next_attempt_at, \
     expires_at, finished_at, last_error";

/// Provider errors are short by construction; cap them anyway.
const MAX_ERROR_CHARS: usize = 300;

fn message_from_row(row: &AnyRow) -> StoreResult<QueuedMessage> {
    let status: String = row.try_get("status").map_err(db_err)?;
    Ok(QueuedMessage {
        id: row.try_get("id").map_err(db_err)?,
        channel: row.try_get("channel").map_err(db_err)?,
        recipient: row.try_get("recipient").map_err(db_err)?,
        sealed: row.try_get("sealed_text").map_err(db_err)?,
        code_id: row.try_get("code_id").map_err(db_err)?,
        status: MessageStatus::try_from(status.as_str()).map_err(|e| StoreError::other(e.to_string()))?,
        attempts: row.try_get("attempts").map_err(db_err)?,
        created_at: row.try_get("created_at").map_err(db_err)?,
        next_attempt_at: row.try_get("next_attempt_at").map_err(db_err)?,
        expires_at: row.try_get("expires_at").map_err(db_err)?,
        finished_at: row.try_get("finished_at").map_err(db_err)?,
        last_error: row.try_get("last_error").map_err(db_err)?,
    })
}

fn short(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

/// Queues a message on `conn`: on its own, or inside the transaction of
/// the change it tells about (an approval).
pub(crate) async fn insert_message(conn: &mut AnyConnection, m: &QueuedMessage) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO message_queue (id, channel, recipient, sealed_text, code_id, status, attempts, created_at, \
         next_attempt_at, expires_at, finished_at, last_error) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&m.id)
    .bind(&m.channel)
    .bind(&m.recipient)
    .bind(&m.sealed)
    .bind(m.code_id.as_deref())
    .bind(m.status.as_str())
    .bind(m.attempts)
    .bind(m.created_at)
    .bind(m.next_attempt_at)
    .bind(m.expires_at)
    .bind(m.finished_at)
    .bind(short(&m.last_error))
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl MessageQueueStore for SqlStore {
    async fn enqueue_message(&self, m: &QueuedMessage) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        insert_message(&mut conn, m).await
    }

    async fn due_messages(&self, now: i64, limit: i64) -> StoreResult<Vec<QueuedMessage>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM message_queue WHERE status = 'queued' AND next_attempt_at <= $1 \
             AND (claimed_until IS NULL OR claimed_until < $1) ORDER BY next_attempt_at, created_at, id LIMIT $2"
        );
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now).bind(limit).fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(message_from_row).collect()
    }

    async fn claim_message(&self, id: &str, now: i64, lease_until: i64) -> StoreResult<Option<i64>> {
        // `next_attempt_at <= now` as well: a message another worker has just
        // rescheduled (and released) must wait for its backoff.
        let row = sqlx::query(
            "UPDATE message_queue SET claimed_until = $1, attempts = attempts + 1 \
             WHERE id = $2 AND status = 'queued' AND next_attempt_at <= $3 \
             AND (claimed_until IS NULL OR claimed_until < $3) RETURNING attempts",
        )
        .bind(lease_until)
        .bind(id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| r.try_get::<i64, _>(0).map_err(db_err)).transpose()
    }

    async fn retry_message(&self, id: &str, attempt: i64, next_attempt_at: i64, error: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE message_queue SET claimed_until = NULL, next_attempt_at = $1, last_error = $2 \
             WHERE id = $3 AND attempts = $4 AND status = 'queued'",
        )
        .bind(next_attempt_at)
        .bind(short(error))
        .bind(id)
        .bind(attempt)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn finish_message(
        &self,
        id: &str,
        attempt: i64,
        status: MessageStatus,
        now: i64,
        error: &str,
    ) -> StoreResult<bool> {
        if status == MessageStatus::Queued {
            return Err(StoreError::other("a message is finished as sent or failed"));
        }
        let done = sqlx::query(
            "UPDATE message_queue SET status = $1, finished_at = $2, claimed_until = NULL, last_error = $3, \
             sealed_text = $4 WHERE id = $5 AND attempts = $6 AND status = 'queued'",
        )
        .bind(status.as_str())
        .bind(now)
        .bind(short(error))
        .bind(Vec::<u8>::new())
        .bind(id)
        .bind(attempt)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn message(&self, id: &str) -> StoreResult<Option<QueuedMessage>> {
        let sql = format!("SELECT {COLUMNS} FROM message_queue WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await.map_err(db_err)?;
        row.as_ref().map(message_from_row).transpose()
    }

    async fn queue_counts(&self) -> StoreResult<QueueCounts> {
        let rows = sqlx::query("SELECT status, channel, COUNT(*) FROM message_queue GROUP BY status, channel")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        let mut counts = QueueCounts::default();
        for row in rows {
            let status: String = row.try_get(0).map_err(db_err)?;
            let channel: String = row.try_get(1).map_err(db_err)?;
            let n: i64 = row.try_get(2).map_err(db_err)?;
            match status.as_str() {
                "queued" => counts.queued += n,
                "sent" => counts.sent += n,
                "failed" => counts.failed += n,
                _ => {}
            }
            if status == "failed" && channel == "webhook" {
                counts.webhooks_failed += n;
            }
        }
        Ok(counts)
    }

    async fn pending_now(&self, now: i64) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM message_queue WHERE status = 'queued' AND next_attempt_at <= $1")
            .bind(now)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        row.try_get(0).map_err(db_err)
    }

    async fn prune_messages(&self, before: i64) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM message_queue WHERE status <> 'queued' AND finished_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}
