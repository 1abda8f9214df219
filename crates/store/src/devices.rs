//! Devices and new-device confirmations in SQL (migration 12). A device's
//! token and a confirmation's link are stored as hashes only. Each answer
//! and each session taken after an approval is a conditional write, so of
//! concurrent callers exactly one wins; every change is written with its
//! audit entry (the audit head locked last, as everywhere).

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use twostep_app::devices::port::{Device, DeviceConfirmation, DeviceSession, DeviceStore, DeviceWrite};
use twostep_app::ports::{AuditEvent, QueuedMessage, SignInSuccess, StoreResult};
use twostep_domain::device::DeviceDecision;

use crate::queue::insert_message;
use crate::records::insert_audit;
use crate::sql::{by_ids, statement, values};
use crate::{SqlStore, db_err};

const DEVICE_COLUMNS: &str = "id, account_id, token_hash, first_seen_at, last_seen_at, ip, user_agent, confirmed_at";
const CONFIRMATION_COLUMNS: &str = "login_id, account_id, device_id, link_hash, created_at, expires_at, ip, \
                                    user_agent, decision, decided_at, finished_at, password_digest, factors";

fn device_from_row(row: &AnyRow) -> StoreResult<Device> {
    Ok(Device {
        id: row.try_get("id").map_err(db_err)?,
        account_id: row.try_get("account_id").map_err(db_err)?,
        token_hash: row.try_get("token_hash").map_err(db_err)?,
        first_seen_at: row.try_get("first_seen_at").map_err(db_err)?,
        last_seen_at: row.try_get("last_seen_at").map_err(db_err)?,
        ip: row.try_get("ip").map_err(db_err)?,
        user_agent: row.try_get("user_agent").map_err(db_err)?,
        confirmed_at: row.try_get("confirmed_at").map_err(db_err)?,
    })
}

fn confirmation_from_row(row: &AnyRow) -> StoreResult<DeviceConfirmation> {
    let decision: String = row.try_get("decision").map_err(db_err)?;
    Ok(DeviceConfirmation {
        login_id: row.try_get("login_id").map_err(db_err)?,
        account_id: row.try_get("account_id").map_err(db_err)?,
        device_id: row.try_get("device_id").map_err(db_err)?,
        link_hash: row.try_get("link_hash").map_err(db_err)?,
        created_at: row.try_get("created_at").map_err(db_err)?,
        expires_at: row.try_get("expires_at").map_err(db_err)?,
        ip: row.try_get("ip").map_err(db_err)?,
        user_agent: row.try_get("user_agent").map_err(db_err)?,
        decision: DeviceDecision::parse(&decision),
        decided_at: row.try_get("decided_at").map_err(db_err)?,
        finished_at: row.try_get("finished_at").map_err(db_err)?,
        password_digest: row.try_get("password_digest").map_err(db_err)?,
        factors: row.try_get("factors").map_err(db_err)?,
    })
}

/// Opens a session on a device for an account that is not frozen, stamped
/// with its security epoch; false when nothing was written.
async fn insert_session(conn: &mut AnyConnection, s: &DeviceSession) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO sessions (token_hash, account_id, created_at, expires_at, epoch, device_id, factors) \
         SELECT $1, id, $3, $4, security_epoch, $5, $6 FROM accounts WHERE id = $2 AND frozen_at IS NULL",
    )
    .bind(&s.token_hash)
    .bind(&s.account_id)
    .bind(s.now)
    .bind(s.expires_at)
    .bind(&s.device_id)
    .bind(&s.factors)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(done.rows_affected() == 1)
}

/// Ends a device's sessions, and its sign-ins held for the e-mail's
/// approval (approved or not) that have not taken their session yet.
async fn revoke_device_sessions(conn: &mut AnyConnection, device_id: &str, now: i64) -> StoreResult<u64> {
    sqlx::query("UPDATE device_confirmations SET finished_at = $1 WHERE device_id = $2 AND finished_at IS NULL")
        .bind(now)
        .bind(device_id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    let done = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE device_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(device_id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected())
}

/// Deletes a device with its confirmations (no foreign key does it, see the
/// migration).
async fn delete_device(conn: &mut AnyConnection, device_id: &str) -> StoreResult<()> {
    for sql in ["DELETE FROM device_confirmations WHERE device_id = $1", "DELETE FROM devices WHERE id = $1"] {
        sqlx::query(sql).bind(device_id).execute(&mut *conn).await.map_err(db_err)?;
    }
    Ok(())
}

/// Records new devices, each account then keeping at most its `keep`: past
/// it the oldest unconfirmed devices go (never the new one), so ever new
/// clients cost bounded rows and confirmed devices stay. At most one device
/// per account.
async fn insert_devices(conn: &mut AnyConnection, added: &[(&Device, i64)]) -> StoreResult<()> {
    if added.is_empty() {
        return Ok(());
    }
    let sql = format!("INSERT INTO devices ({DEVICE_COLUMNS}) VALUES {}", values(added.len(), 8));
    let mut q = statement(sql, added.len());
    for (d, _) in added {
        q = q
            .bind(&d.id)
            .bind(&d.account_id)
            .bind(&d.token_hash)
            .bind(d.first_seen_at)
            .bind(d.last_seen_at)
            .bind(&d.ip)
            .bind(&d.user_agent)
            .bind(d.confirmed_at);
    }
    q.execute(&mut *conn).await.map_err(db_err)?;
    let accounts: Vec<&str> = added.iter().map(|(d, _)| d.account_id.as_str()).collect();
    let q = by_ids("SELECT account_id, COUNT(*) FROM devices WHERE account_id IN ({}) GROUP BY account_id", &accounts);
    let mut counts = HashMap::new();
    for row in q.fetch_all(&mut *conn).await.map_err(db_err)? {
        counts.insert(row.try_get::<String, _>(0).map_err(db_err)?, row.try_get::<i64, _>(1).map_err(db_err)?);
    }
    for (d, keep) in added {
        let over = counts.get(&d.account_id).copied().unwrap_or(0) - keep;
        if over <= 0 {
            continue;
        }
        let dropped: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM devices WHERE account_id = $1 AND id <> $2 AND confirmed_at IS NULL \
             ORDER BY last_seen_at, id LIMIT $3",
        )
        .bind(&d.account_id)
        .bind(&d.id)
        .bind(over)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
        for id in &dropped {
            delete_device(conn, id).await?;
        }
    }
    Ok(())
}

/// The device writes of the second steps that won a group commit (its
/// `signin.rs`): new devices added, known ones marked seen.
pub(crate) async fn write_sign_in_devices(conn: &mut AnyConnection, won: &[&SignInSuccess]) -> StoreResult<()> {
    let mut added = Vec::new();
    let mut seen = Vec::new();
    for s in won {
        match (&s.device_write, s.device_id.as_deref()) {
            (DeviceWrite::Add { device, keep }, _) => added.push((device, *keep)),
            (DeviceWrite::Seen { ip, user_agent }, Some(id)) => {
                seen.push((id, s.now, ip.as_str(), user_agent.as_str()))
            }
            _ => {}
        }
    }
    insert_devices(conn, &added).await?;
    if !seen.is_empty() {
        let sql = format!(
            "UPDATE devices SET last_seen_at = v.column2, ip = v.column3, user_agent = v.column4 \
             FROM (VALUES {}) AS v WHERE devices.id = v.column1",
            values(seen.len(), 4)
        );
        let mut q = statement(sql, seen.len());
        for (id, now, ip, user_agent) in &seen {
            q = q.bind(*id).bind(*now).bind(*ip).bind(*user_agent);
        }
        q.execute(&mut *conn).await.map_err(db_err)?;
    }
    Ok(())
}

async fn owns_device(conn: &mut AnyConnection, account_id: &str, device_id: &str) -> StoreResult<bool> {
    let row = sqlx::query("SELECT id FROM devices WHERE id = $1 AND account_id = $2")
        .bind(device_id)
        .bind(account_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(row.is_some())
}

#[async_trait]
impl DeviceStore for SqlStore {
    async fn device_by_token(&self, account_id: &str, token_hash: &str) -> StoreResult<Option<Device>> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE account_id = $1 AND token_hash = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(token_hash)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?;
        row.as_ref().map(device_from_row).transpose()
    }

    async fn device_token_issued(&self, token_hash: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT id FROM devices WHERE token_hash = $1 LIMIT 1")
            .bind(token_hash)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?;
        Ok(row.is_some())
    }

    async fn add_device(&self, d: &Device, keep: i64) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        insert_devices(&mut tx, &[(d, keep)]).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn touch_device(&self, id: &str, now: i64, ip: &str, user_agent: &str) -> StoreResult<()> {
        sqlx::query("UPDATE devices SET last_seen_at = $2, ip = $3, user_agent = $4 WHERE id = $1")
            .bind(id)
            .bind(now)
            .bind(ip)
            .bind(user_agent)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn devices_of(&self, account_id: &str) -> StoreResult<Vec<Device>> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE account_id = $1 ORDER BY last_seen_at DESC, id");
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_id).fetch_all(&self.reader).await.map_err(db_err)?;
        rows.iter().map(device_from_row).collect()
    }

    async fn device_policy_facts(&self, account_id: &str) -> StoreResult<(String, bool)> {
        let row = sqlx::query(
            "SELECT a.device_confirmation, \
             CAST(CASE WHEN EXISTS (SELECT 1 FROM withdrawals w WHERE w.account_id = a.id) THEN 1 ELSE 0 END \
             AS BIGINT) AS withdrawals \
             FROM accounts a WHERE a.id = $1",
        )
        .bind(account_id)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok((String::new(), false)) };
        let withdrawals: i64 = row.try_get("withdrawals").map_err(db_err)?;
        Ok((row.try_get("device_confirmation").map_err(db_err)?, withdrawals > 0))
    }

    async fn set_device_choice(
        &self,
        account_id: &str,
        choice: &str,
        audit: &AuditEvent,
        notices: &[QueuedMessage],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query("UPDATE accounts SET device_confirmation = $2 WHERE id = $1")
            .bind(account_id)
            .bind(choice)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        for notice in notices {
            insert_message(&mut tx, notice).await?;
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn create_device_confirmation(
        &self,
        c: &DeviceConfirmation,
        message: &QueuedMessage,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let sql = format!(
            "INSERT INTO device_confirmations ({CONFIRMATION_COLUMNS}, epoch) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, security_epoch FROM accounts WHERE id = $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&c.login_id)
            .bind(&c.account_id)
            .bind(&c.device_id)
            .bind(&c.link_hash)
            .bind(c.created_at)
            .bind(c.expires_at)
            .bind(&c.ip)
            .bind(&c.user_agent)
            .bind(c.decision.map(|d| d.as_str()).unwrap_or(""))
            .bind(c.decided_at)
            .bind(c.finished_at)
            .bind(&c.password_digest)
            .bind(&c.factors)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        // The account's expired confirmations go with each new one.
        sqlx::query("DELETE FROM device_confirmations WHERE account_id = $1 AND expires_at <= $2")
            .bind(&c.account_id)
            .bind(c.created_at)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        insert_message(&mut tx, message).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn device_confirmation(&self, login_id: &str) -> StoreResult<Option<DeviceConfirmation>> {
        let sql = format!("SELECT {CONFIRMATION_COLUMNS} FROM device_confirmations WHERE login_id = $1");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(login_id).fetch_optional(&self.pool).await.map_err(db_err)?;
        row.as_ref().map(confirmation_from_row).transpose()
    }

    async fn device_confirmation_by_link(&self, link_hash: &str) -> StoreResult<Option<DeviceConfirmation>> {
        let sql = format!("SELECT {CONFIRMATION_COLUMNS} FROM device_confirmations WHERE link_hash = $1");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(link_hash).fetch_optional(&self.pool).await.map_err(db_err)?;
        row.as_ref().map(confirmation_from_row).transpose()
    }

    async fn decide_device(
        &self,
        link_hash: &str,
        decision: DeviceDecision,
        now: i64,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let row = sqlx::query(
            "UPDATE device_confirmations SET decision = $2, decided_at = $3 \
             WHERE link_hash = $1 AND decision = '' AND expires_at > $3 RETURNING device_id",
        )
        .bind(link_hash)
        .bind(decision.as_str())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        // The device is confirmed when its sign-in takes its session, not
        // here: an approval a password change (or reset, freeze, recovery)
        // overtook confirms nothing.
        if row.is_none() {
            return Ok(false);
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn finish_device_sign_in(
        &self,
        login_id: &str,
        session: &DeviceSession,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = sqlx::query(
            "UPDATE device_confirmations SET finished_at = $2 WHERE login_id = $1 AND decision = 'approved' \
             AND finished_at IS NULL AND expires_at > $2 AND device_id = $3 \
             AND epoch = (SELECT security_epoch FROM accounts WHERE id = device_confirmations.account_id)",
        )
        .bind(login_id)
        .bind(session.now)
        .bind(&session.device_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() != 1 || !insert_session(&mut tx, session).await? {
            return Ok(false);
        }
        sqlx::query("UPDATE devices SET confirmed_at = $2 WHERE id = $1 AND confirmed_at IS NULL")
            .bind(&session.device_id)
            .bind(session.now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn open_device_session(&self, session: &DeviceSession, audit: Option<&AuditEvent>) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        if !insert_session(&mut tx, session).await? {
            return Ok(false);
        }
        if let Some(audit) = audit {
            insert_audit(&mut tx, audit).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn session_device(&self, token_hash: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT device_id FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?;
        match row {
            Some(row) => row.try_get::<Option<String>, _>(0).map_err(db_err),
            None => Ok(None),
        }
    }

    async fn sign_out_device(
        &self,
        account_id: &str,
        device_id: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<u64>> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        if !owns_device(&mut tx, account_id, device_id).await? {
            return Ok(None);
        }
        let ended = revoke_device_sessions(&mut tx, device_id, now).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(ended))
    }

    async fn forget_device(
        &self,
        account_id: &str,
        device_id: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        if !owns_device(&mut tx, account_id, device_id).await? {
            return Ok(false);
        }
        revoke_device_sessions(&mut tx, device_id, now).await?;
        delete_device(&mut tx, device_id).await?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }
}
