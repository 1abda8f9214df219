//! Accounts.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;
use twostep_app::Lang;
use twostep_app::ports::{AccountRecord, AccountStore, CreateOutcome, NewAccount, StoreError, StoreResult};
use twostep_domain::Role;

use crate::{SqlStore, db_err};

pub(crate) const ACCOUNT_COLUMNS: &str = "id, email, password_hash, email_verified_at, phone, role, created_at, frozen_at, \
     withdrawals_blocked_until, second_factor_failures, owner_objected_at, language";

pub(crate) fn account_from_row(row: &AnyRow) -> StoreResult<AccountRecord> {
    let role: String = row.try_get("role").map_err(db_err)?;
    Ok(AccountRecord {
        id: row.try_get("id").map_err(db_err)?,
        email: row.try_get("email").map_err(db_err)?,
        password_hash: row.try_get("password_hash").map_err(db_err)?,
        email_verified_at: row.try_get("email_verified_at").map_err(db_err)?,
        phone: row.try_get("phone").map_err(db_err)?,
        role: Role::try_from(role.as_str()).map_err(|e| StoreError::other(e.to_string()))?,
        created_at: row.try_get("created_at").map_err(db_err)?,
        frozen_at: row.try_get("frozen_at").map_err(db_err)?,
        withdrawals_blocked_until: row.try_get("withdrawals_blocked_until").map_err(db_err)?,
        second_factor_failures: row.try_get("second_factor_failures").map_err(db_err)?,
        owner_objected_at: row.try_get("owner_objected_at").map_err(db_err)?,
        language: language_from(row)?,
    })
}

/// The `language` column: a code the catalogues have, or '' for the
/// server's default (a code this build no longer has reads as that too).
pub(crate) fn language_from(row: &AnyRow) -> StoreResult<Option<Lang>> {
    let code: String = row.try_get("language").map_err(db_err)?;
    Ok(Lang::parse(&code))
}

pub(crate) fn language_code(language: Option<Lang>) -> &'static str {
    language.map_or("", Lang::code)
}

impl SqlStore {
    async fn execute_one(&self, sql: &'static str, id: &str) -> StoreResult<u64> {
        let done = sqlx::query(sql).bind(id).execute(&self.pool).await.map_err(db_err)?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl AccountStore for SqlStore {
    async fn create_account(&self, a: &NewAccount) -> StoreResult<CreateOutcome> {
        let verified_at = a.verified.then_some(a.created_at);
        let done = sqlx::query(
            "INSERT INTO accounts (id, email, password_hash, email_verified_at, role, created_at, language) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (email) DO NOTHING",
        )
        .bind(&a.id)
        .bind(&a.email)
        .bind(&a.password_hash)
        .bind(verified_at)
        .bind(a.role.as_str())
        .bind(a.created_at)
        .bind(language_code(a.language))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 1 {
            return Ok(CreateOutcome::Created);
        }
        match self.account_by_email(&a.email).await? {
            Some(existing) => Ok(CreateOutcome::EmailTaken(existing)),
            None => Err(StoreError::other("account insert conflicted on another key")),
        }
    }

    async fn account_by_email(&self, email: &str) -> StoreResult<Option<AccountRecord>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email = $1");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(email).fetch_optional(&self.reader).await.map_err(db_err)?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn account_by_id(&self, id: &str) -> StoreResult<Option<AccountRecord>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.reader).await.map_err(db_err)?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn mark_email_verified(&self, id: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE accounts SET email_verified_at = $1 WHERE id = $2 AND email_verified_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn set_password(&self, id: &str, hash: &str) -> StoreResult<()> {
        sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn replace_password_hash(&self, id: &str, current: &str, new: &str) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
            .bind(new)
            .bind(id)
            .bind(current)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn extend_withdrawal_hold(&self, id: &str, until: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE accounts SET withdrawals_blocked_until = $1 WHERE id = $2 \
             AND (withdrawals_blocked_until IS NULL OR withdrawals_blocked_until < $1)",
        )
        .bind(until)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn add_second_factor_failure(&self, id: &str) -> StoreResult<i64> {
        let row = sqlx::query(
            "UPDATE accounts SET second_factor_failures = second_factor_failures + 1 WHERE id = $1 \
             RETURNING second_factor_failures",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| r.try_get::<i64, _>(0).map_err(db_err)).transpose().map(|n| n.unwrap_or(0))
    }

    async fn clear_second_factor_failures(&self, id: &str) -> StoreResult<()> {
        self.execute_one(
            "UPDATE accounts SET second_factor_failures = 0 WHERE id = $1 AND second_factor_failures <> 0",
            id,
        )
        .await?;
        Ok(())
    }

    async fn set_phone(&self, id: &str, phone: Option<&str>) -> StoreResult<()> {
        sqlx::query("UPDATE accounts SET phone = $1 WHERE id = $2")
            .bind(phone)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn set_role(&self, id: &str, role: Role) -> StoreResult<()> {
        sqlx::query("UPDATE accounts SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
