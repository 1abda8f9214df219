//! The security centre in SQL: forgotten-password resets and the sealed
//! anti-phishing phrase (see `twostep_app::centre_port`).

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;
use twostep_app::centre_port::{PasswordReset, SecurityCentreStore};
use twostep_app::ports::{Effects, StoreResult};

use crate::{SqlStore, db_err};

fn reset_from_row(row: &AnyRow) -> StoreResult<PasswordReset> {
    Ok(PasswordReset {
        id: row.try_get("id").map_err(db_err)?,
        account_id: row.try_get("account_id").map_err(db_err)?,
        created_at: row.try_get("created_at").map_err(db_err)?,
        expires_at: row.try_get("expires_at").map_err(db_err)?,
        used_at: row.try_get("used_at").map_err(db_err)?,
        ip: row.try_get("ip").map_err(db_err)?,
        user_agent: row.try_get("user_agent").map_err(db_err)?,
    })
}

#[async_trait]
impl SecurityCentreStore for SqlStore {
    async fn create_password_reset(&self, r: &PasswordReset, keep: i64) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO password_resets (id, account_id, created_at, expires_at, used_at, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&r.id)
        .bind(&r.account_id)
        .bind(r.created_at)
        .bind(r.expires_at)
        .bind(r.used_at)
        .bind(&r.ip)
        .bind(&r.user_agent)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query(
            "DELETE FROM password_resets WHERE account_id = $1 AND id NOT IN \
             (SELECT id FROM password_resets WHERE account_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2)",
        )
        .bind(&r.account_id)
        .bind(keep)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn password_reset(&self, reset_id: &str) -> StoreResult<Option<PasswordReset>> {
        let row = sqlx::query(
            "SELECT id, account_id, created_at, expires_at, used_at, ip, user_agent FROM password_resets WHERE id = $1",
        )
        .bind(reset_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(reset_from_row).transpose()
    }

    async fn use_password_reset(&self, reset_id: &str, now: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE password_resets SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(reset_id)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_anti_phishing(&self, account_id: &str, sealed: Option<&[u8]>, effects: &Effects) -> StoreResult<bool> {
        let write = sqlx::query("UPDATE accounts SET anti_phishing_sealed = $2 WHERE id = $1")
            .bind(account_id.to_owned())
            .bind(sealed.map(<[u8]>::to_vec));
        crate::recovery::write_one_with_effects(self, write, effects).await
    }

    async fn anti_phishing(&self, account_id: &str) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT anti_phishing_sealed FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(match row {
            Some(r) => r.try_get::<Option<Vec<u8>>, _>(0).map_err(db_err)?,
            None => None,
        })
    }
}
