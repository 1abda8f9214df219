//! The master key's check value in the database: the public id of the key
//! the first instance started with (a truncated SHA-256, never the key).
//! Every instance compares its own key with it before it serves, so an
//! instance started with another key (a data directory without the key file,
//! a wrong mounted secret) refuses to start instead of sealing values that
//! no other instance can open.

use sqlx::Row;
use twostep_app::ports::StoreError;

use crate::{SqlStore, db_err, unix_now};

impl SqlStore {
    /// The key id recorded for this database, if any.
    pub async fn master_key_check(&self) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT key_id FROM master_key_check WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| r.try_get::<String, _>("key_id")).transpose().map_err(db_err)
    }

    /// Records `key_id` unless a value is recorded already; returns the value
    /// recorded, so of two instances racing on an empty database the one that
    /// lost sees the winner's key and refuses.
    pub async fn record_master_key_check(&self, key_id: &str) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO master_key_check (id, key_id, recorded_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
        )
        .bind(key_id.to_owned())
        .bind(unix_now())
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        self.master_key_check().await?.ok_or_else(|| StoreError::other("the master key check was not recorded"))
    }

    /// A finished key rotation: the new key becomes the one instances must
    /// have. Conditional on the old value, so a second rotation racing this
    /// one cannot be overwritten silently.
    pub async fn replace_master_key_check(&self, old_id: &str, new_id: &str) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE master_key_check SET key_id = $1, recorded_at = $2 WHERE id = 1 AND key_id = $3")
                .bind(new_id.to_owned())
                .bind(unix_now())
                .bind(old_id.to_owned())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets the recorded key: an import into an empty database brings the
    /// check value of the data it loads (an instance may have started on the
    /// empty database before and recorded its own).
    pub async fn clear_master_key_check(&self) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM master_key_check").execute(&self.pool).await.map_err(db_err)?;
        Ok(())
    }
}
