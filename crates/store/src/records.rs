//! The audit log, the development outbox, withdrawals and the health probe.

use async_trait::async_trait;
use sqlx::Row;
use twostep_app::ports::{
    AuditEvent, AuditStore, HealthStore, OutboxMessage, OutboxStore, StoreResult, Withdrawal, WithdrawalStore,
};

use crate::{db_err, SqlStore};

/// Appends one audit event through `executor`: the pool, or a transaction
/// whose other writes the event records (so both land or neither does).
pub(crate) async fn insert_audit<'e, E>(executor: E, e: &AuditEvent) -> StoreResult<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query("INSERT INTO audit_log (at, account_id, kind, ip, user_agent, detail) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(e.at)
        .bind(e.account_id.as_deref())
        .bind(&e.kind)
        .bind(&e.ip)
        .bind(&e.user_agent)
        .bind(&e.detail)
        .execute(executor)
        .await
        .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn append_audit(&self, e: &AuditEvent) -> StoreResult<()> {
        insert_audit(&self.pool, e).await
    }

    async fn audit_events(&self, account_id: Option<&str>, limit: i64) -> StoreResult<Vec<AuditEvent>> {
        let query = match account_id {
            Some(id) => sqlx::query(
                "SELECT at, account_id, kind, ip, user_agent, detail FROM audit_log WHERE account_id = $1 \
                 ORDER BY seq DESC LIMIT $2",
            )
            .bind(id.to_owned()),
            None => sqlx::query(
                "SELECT at, account_id, kind, ip, user_agent, detail FROM audit_log WHERE $1 = '' ORDER BY seq DESC LIMIT $2",
            )
            .bind(String::new()),
        };
        let rows = query.bind(limit).fetch_all(&self.reader).await.map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(AuditEvent {
                    at: r.try_get("at").map_err(db_err)?,
                    account_id: r.try_get("account_id").map_err(db_err)?,
                    kind: r.try_get("kind").map_err(db_err)?,
                    ip: r.try_get("ip").map_err(db_err)?,
                    user_agent: r.try_get("user_agent").map_err(db_err)?,
                    detail: r.try_get("detail").map_err(db_err)?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl OutboxStore for SqlStore {
    async fn push_outbox(&self, m: &OutboxMessage) -> StoreResult<()> {
        sqlx::query("INSERT INTO outbox (id, channel, recipient, body, sent_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&m.id)
            .bind(&m.channel)
            .bind(&m.to)
            .bind(&m.body)
            .bind(m.sent_at)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn outbox_for(&self, to: Option<&str>, limit: i64) -> StoreResult<Vec<OutboxMessage>> {
        let rows = sqlx::query(
            "SELECT id, channel, recipient, body, sent_at FROM outbox WHERE ($1 = '' OR recipient = $1) \
             ORDER BY seq DESC LIMIT $2",
        )
        .bind(to.unwrap_or("").to_owned())
        .bind(limit)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(OutboxMessage {
                    id: r.try_get("id").map_err(db_err)?,
                    channel: r.try_get("channel").map_err(db_err)?,
                    to: r.try_get("recipient").map_err(db_err)?,
                    body: r.try_get("body").map_err(db_err)?,
                    sent_at: r.try_get("sent_at").map_err(db_err)?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl WithdrawalStore for SqlStore {
    async fn create_withdrawal(&self, w: &Withdrawal) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO withdrawals (id, account_id, asset, amount, address, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'requested', $6)",
        )
        .bind(&w.id)
        .bind(&w.account_id)
        .bind(&w.asset)
        .bind(&w.amount)
        .bind(&w.address)
        .bind(w.created_at)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }
}

#[async_trait]
impl HealthStore for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(db_err)?;
        Ok(())
    }
}
