//! Passkeys and WebAuthn ceremonies in SQL (see
//! `twostep_app::passkeys::port`). Adding and removing a passkey are account
//! changes, written in `account_changes.rs` with their effects.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use twostep_app::passkeys::port::{PasskeyChallenge, PasskeyRecord, PasskeyStore};
use twostep_app::ports::{Effects, StoreResult};

use crate::recovery::{write_effects, write_one_with_effects};
use crate::{SqlStore, db_err};

const PASSKEY_COLUMNS: &str = "id, account_id, credential_id, name, credential, sign_count, created_at, last_used_at";

fn passkey_from_row(row: &AnyRow) -> StoreResult<PasskeyRecord> {
    Ok(PasskeyRecord {
        id: row.try_get("id").map_err(db_err)?,
        account_id: row.try_get("account_id").map_err(db_err)?,
        credential_id: row.try_get("credential_id").map_err(db_err)?,
        name: row.try_get("name").map_err(db_err)?,
        credential: row.try_get("credential").map_err(db_err)?,
        sign_count: row.try_get("sign_count").map_err(db_err)?,
        created_at: row.try_get("created_at").map_err(db_err)?,
        last_used_at: row.try_get("last_used_at").map_err(db_err)?,
    })
}

/// Adds a passkey unless its credential is registered anywhere or the
/// account would then hold more than `max`; whether it was added (the
/// caller rolls back otherwise). The account row is locked after the insert
/// and before the count, so that of two registrations racing for the last
/// place the second counts the first (passkeys before the account, the
/// order the recovery approval takes them in too).
pub(crate) async fn add_passkey(conn: &mut AnyConnection, p: &PasskeyRecord, max: i64) -> StoreResult<bool> {
    let added = sqlx::query(
        "INSERT INTO passkeys (id, account_id, credential_id, name, credential, sign_count, created_at, last_used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (credential_id) DO NOTHING",
    )
    .bind(&p.id)
    .bind(&p.account_id)
    .bind(&p.credential_id)
    .bind(&p.name)
    .bind(&p.credential)
    .bind(p.sign_count)
    .bind(p.created_at)
    .bind(p.last_used_at)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    if added.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query("UPDATE accounts SET second_factor_failures = second_factor_failures WHERE id = $1")
        .bind(&p.account_id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    let held: i64 = sqlx::query("SELECT COUNT(*) AS n FROM passkeys WHERE account_id = $1")
        .bind(&p.account_id)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?
        .try_get("n")
        .map_err(db_err)?;
    Ok(held <= max)
}

/// Removes one passkey of the account; whether there was one.
pub(crate) async fn remove_passkey(conn: &mut AnyConnection, account_id: &str, id: &str) -> StoreResult<bool> {
    let removed = sqlx::query("DELETE FROM passkeys WHERE id = $1 AND account_id = $2")
        .bind(id)
        .bind(account_id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(removed.rows_affected() == 1)
}

#[async_trait]
impl PasskeyStore for SqlStore {
    async fn passkeys(&self, account_id: &str) -> StoreResult<Vec<PasskeyRecord>> {
        let sql = format!("SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE account_id = $1 ORDER BY created_at, id");
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_id).fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(passkey_from_row).collect()
    }

    async fn passkey_by_credential(&self, credential_id: &str) -> StoreResult<Option<PasskeyRecord>> {
        let sql = format!("SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(credential_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(passkey_from_row).transpose()
    }

    async fn rename_passkey(&self, account_id: &str, id: &str, name: &str, effects: &Effects) -> StoreResult<bool> {
        let write = sqlx::query("UPDATE passkeys SET name = $1 WHERE id = $2 AND account_id = $3")
            .bind(name.to_owned())
            .bind(id.to_owned())
            .bind(account_id.to_owned());
        write_one_with_effects(self, write, effects).await
    }

    async fn record_passkey_use(
        &self,
        id: &str,
        checked_count: i64,
        new_count: i64,
        credential: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE passkeys SET sign_count = $3, credential = $4, last_used_at = $5 WHERE id = $1 AND sign_count = $2",
        )
        .bind(id)
        .bind(checked_count)
        .bind(new_count)
        .bind(credential)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn create_passkey_challenge(&self, c: &PasskeyChallenge) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query("DELETE FROM passkey_challenges WHERE expires_at <= $1")
            .bind(c.created_at)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO passkey_challenges (id, purpose, account_id, subject, state, ip, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&c.id)
        .bind(&c.purpose)
        .bind(&c.account_id)
        .bind(&c.subject)
        .bind(&c.state)
        .bind(&c.ip)
        .bind(c.created_at)
        .bind(c.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn take_passkey_challenge(&self, id: &str) -> StoreResult<Option<PasskeyChallenge>> {
        let row = sqlx::query(
            "DELETE FROM passkey_challenges WHERE id = $1 \
             RETURNING id, purpose, account_id, subject, state, ip, created_at, expires_at",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(PasskeyChallenge {
            id: row.try_get("id").map_err(db_err)?,
            purpose: row.try_get("purpose").map_err(db_err)?,
            account_id: row.try_get("account_id").map_err(db_err)?,
            subject: row.try_get("subject").map_err(db_err)?,
            state: row.try_get("state").map_err(db_err)?,
            ip: row.try_get("ip").map_err(db_err)?,
            created_at: row.try_get("created_at").map_err(db_err)?,
            expires_at: row.try_get("expires_at").map_err(db_err)?,
        }))
    }

    async fn record_effects(&self, effects: &Effects) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        write_effects(&mut tx, &effects.audit, &effects.notices).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }
}
