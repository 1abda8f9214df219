//! The audit log, the development outbox, withdrawals and the health probe.

use async_trait::async_trait;
use futures_util::TryStreamExt;
use sqlx::Row;
use twostep_app::ports::{
    AuditEvent, AuditStore, HealthStore, OutboxMessage, OutboxStore, StoreError, StoreResult, Withdrawal,
    WithdrawalStore,
};
use twostep_domain::audit_chain::{AuditFields, ChainBreak, ChainHead, ChainVerifier, StoredEntry, entry_hash};

use crate::{SqlStore, db_err};

/// Appends one audit event, chained to the one before (its hash covers the
/// previous entry's hash and every field), on `conn`: a transaction whose
/// other writes the event records (so both land or neither does), or one of
/// its own (`append_audit`). See `insert_audits`.
pub(crate) async fn insert_audit(conn: &mut sqlx::AnyConnection, e: &AuditEvent) -> StoreResult<()> {
    insert_audits(conn, &[e]).await
}

/// Appends events in order, each chained to the one before, with three
/// statements however many there are (a batch of sign-ins seals its entries
/// together). The first statement creates or row-locks the chain head, so on
/// PostgreSQL concurrent appends queue behind it until their transaction
/// ends; SQLite has a single writer already. Call it last in a transaction,
/// after its other row locks, so lock order is the same everywhere.
pub(crate) async fn insert_audits(conn: &mut sqlx::AnyConnection, events: &[&AuditEvent]) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let head = sqlx::query(
        "INSERT INTO audit_head (id, last_hash, entries) VALUES (1, '', 0) \
         ON CONFLICT (id) DO UPDATE SET entries = audit_head.entries RETURNING last_hash",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut prev: String = head.try_get(0).map_err(db_err)?;
    let mut links = Vec::with_capacity(events.len());
    for e in events {
        let hash = entry_hash(&prev, &fields(e));
        links.push((std::mem::replace(&mut prev, hash.clone()), hash));
    }
    // Rows take their sequence numbers in the order of the VALUES list.
    let sql = format!(
        "INSERT INTO audit_log (at, account_id, kind, ip, user_agent, detail, prev_hash, hash) VALUES {}",
        crate::sql::values(events.len(), 8)
    );
    let mut insert = crate::sql::statement(sql, events.len());
    for (e, (prev_hash, hash)) in events.iter().zip(&links) {
        insert = insert
            .bind(e.at)
            .bind(e.account_id.as_deref())
            .bind(&e.kind)
            .bind(&e.ip)
            .bind(&e.user_agent)
            .bind(&e.detail)
            .bind(prev_hash)
            .bind(hash);
    }
    insert.execute(&mut *conn).await.map_err(db_err)?;
    sqlx::query("UPDATE audit_head SET last_hash = $1, entries = entries + $2 WHERE id = 1")
        .bind(&prev)
        .bind(events.len() as i64)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Benchmark only (`BenchOnly::without_audit_chain`): the entries with no
/// hashes and the chain head untouched, to measure what the chain costs.
pub(crate) async fn insert_audits_unchained(conn: &mut sqlx::AnyConnection, events: &[&AuditEvent]) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO audit_log (at, account_id, kind, ip, user_agent, detail) VALUES {}",
        crate::sql::values(events.len(), 6)
    );
    let mut insert = crate::sql::statement(sql, events.len());
    for e in events {
        insert = insert
            .bind(e.at)
            .bind(e.account_id.as_deref())
            .bind(&e.kind)
            .bind(&e.ip)
            .bind(&e.user_agent)
            .bind(&e.detail);
    }
    insert.execute(&mut *conn).await.map_err(db_err)?;
    Ok(())
}

fn fields(e: &AuditEvent) -> AuditFields<'_> {
    AuditFields {
        at: e.at,
        account_id: e.account_id.as_deref(),
        kind: &e.kind,
        ip: &e.ip,
        user_agent: &e.user_agent,
        detail: &e.detail,
    }
}

/// Chains entries written before the chain existed (run once, by the
/// migration that adds it, under the migration lock).
pub(crate) async fn chain_existing_audit(conn: &mut sqlx::AnyConnection) -> StoreResult<()> {
    let rows = sqlx::query("SELECT seq, at, account_id, kind, ip, user_agent, detail FROM audit_log ORDER BY seq")
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    if rows.is_empty() {
        return Ok(());
    }
    let mut prev = String::new();
    for r in &rows {
        let seq: i64 = r.try_get(0).map_err(db_err)?;
        let e = event_of(r, 1)?;
        let hash = entry_hash(&prev, &fields(&e));
        sqlx::query("UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3")
            .bind(&prev)
            .bind(&hash)
            .bind(seq)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        prev = hash;
    }
    sqlx::query("INSERT INTO audit_head (id, last_hash, entries) VALUES (1, $1, $2)")
        .bind(&prev)
        .bind(rows.len() as i64)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// The event in the six columns from `first` on (at, account_id, kind, ip,
/// user_agent, detail).
fn event_of(r: &sqlx::any::AnyRow, first: usize) -> StoreResult<AuditEvent> {
    Ok(AuditEvent {
        at: r.try_get(first).map_err(db_err)?,
        account_id: r.try_get(first + 1).map_err(db_err)?,
        kind: r.try_get(first + 2).map_err(db_err)?,
        ip: r.try_get(first + 3).map_err(db_err)?,
        user_agent: r.try_get(first + 4).map_err(db_err)?,
        detail: r.try_get(first + 5).map_err(db_err)?,
    })
}

impl SqlStore {
    /// Checks the audit log's hash chain from the first entry to the head;
    /// returns the number of entries and the head hash, or the first break.
    pub async fn verify_audit_chain(&self) -> StoreResult<Result<(i64, String), ChainBreak>> {
        let head = sqlx::query("SELECT last_hash, entries FROM audit_head WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| {
                Ok::<_, StoreError>(ChainHead {
                    last_hash: r.try_get(0).map_err(db_err)?,
                    entries: r.try_get(1).map_err(db_err)?,
                })
            })
            .transpose()?;
        let mut rows = sqlx::query(
            "SELECT seq, at, account_id, kind, ip, user_agent, detail, prev_hash, hash FROM audit_log ORDER BY seq",
        )
        .fetch(&self.pool);
        let mut verifier = ChainVerifier::new();
        while let Some(r) = rows.try_next().await.map_err(db_err)? {
            let e = event_of(&r, 1)?;
            let entry = StoredEntry {
                seq: r.try_get(0).map_err(db_err)?,
                at: e.at,
                account_id: e.account_id,
                kind: e.kind,
                ip: e.ip,
                user_agent: e.user_agent,
                detail: e.detail,
                prev_hash: r.try_get(7).map_err(db_err)?,
                hash: r.try_get(8).map_err(db_err)?,
            };
            if let Err(b) = verifier.push(&entry) {
                return Ok(Err(b));
            }
        }
        Ok(verifier.finish(head.as_ref()).map(|n| (n, head.map(|h| h.last_hash).unwrap_or_default())))
    }
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn append_audit(&self, e: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        insert_audit(&mut tx, e).await?;
        tx.commit().await.map_err(db_err)
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

    fn sign_in_groups(&self) -> (u64, u64) {
        self.signins.groups()
    }
}
