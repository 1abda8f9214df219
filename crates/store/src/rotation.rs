//! Every value sealed at rest, for key rotation (`twostep_app::rotation`):
//! authenticator secrets and setups, recovery documents and the texts of
//! queued messages. Listed by kind a page at a time in key order (keyset
//! paging, so rows re-sealed meanwhile never shift a page), and only those
//! not yet under the current key: a sealed value begins with the id of the
//! key that sealed it, so the database skips the others without sending
//! them. Replaced by compare-and-swap on the whole sealed value.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;
use twostep_app::ports::{SealedSecret, SecretKind, SecretStore, StoreResult};

use crate::{SqlStore, db_err};

/// Where a kind of secret is stored.
struct Place {
    table: &'static str,
    /// The key column (with `slot`, for documents, the primary key).
    id: &'static str,
    slot: Option<&'static str>,
    sealed: &'static str,
    /// Further condition on the rows that hold a secret.
    holds_secret: &'static str,
}

fn place(kind: SecretKind) -> Place {
    match kind {
        SecretKind::TotpFactor => {
            Place { table: "totp_factors", id: "account_id", slot: None, sealed: "sealed_secret", holds_secret: "" }
        }
        SecretKind::TotpSetup => {
            Place { table: "totp_setups", id: "id", slot: None, sealed: "sealed_secret", holds_secret: "" }
        }
        SecretKind::RecoveryDocument => {
            Place { table: "recovery_documents", id: "case_id", slot: Some("slot"), sealed: "sealed", holds_secret: "" }
        }
        // A sent or given-up message's text is wiped to nothing.
        SecretKind::QueuedMessage => Place {
            table: "message_queue",
            id: "id",
            slot: None,
            sealed: "sealed_text",
            holds_secret: " AND length(sealed_text) > 0",
        },
        SecretKind::AntiPhishingPhrase => Place {
            table: "accounts",
            id: "id",
            slot: None,
            sealed: "anti_phishing_sealed",
            holds_secret: " AND anti_phishing_sealed IS NOT NULL",
        },
        SecretKind::SigningKey => {
            Place { table: "oidc_signing_keys", id: "kid", slot: None, sealed: "sealed_key", holds_secret: "" }
        }
        SecretKind::WebhookSecret => Place {
            table: "oidc_clients",
            id: "id",
            slot: None,
            sealed: "webhook_secret",
            holds_secret: " AND webhook_secret IS NOT NULL",
        },
    }
}

fn secret_from_row(kind: SecretKind, has_slot: bool, row: &AnyRow) -> StoreResult<SealedSecret> {
    Ok(SealedSecret {
        kind,
        id: row.try_get(0).map_err(db_err)?,
        slot: if has_slot { row.try_get(1).map_err(db_err)? } else { String::new() },
        sealed: row.try_get(if has_slot { 2 } else { 1 }).map_err(db_err)?,
    })
}

#[async_trait]
impl SecretStore for SqlStore {
    async fn stale_secrets(
        &self,
        kind: SecretKind,
        current: &[u8],
        after: Option<&SealedSecret>,
        limit: i64,
    ) -> StoreResult<Vec<SealedSecret>> {
        let Place { table, id, slot, sealed, holds_secret } = place(kind);
        // The prefix length is a number of ours, never input; `substr` on a
        // BLOB (SQLite) or bytea (PostgreSQL) counts bytes on both.
        let stale = format!("substr({sealed}, 1, {}) <> $1{holds_secret}", current.len());
        let (after_id, after_slot) = after.map_or(("", ""), |a| (a.id.as_str(), a.slot.as_str()));
        let rows = match slot {
            None => {
                let sql =
                    format!("SELECT {id}, {sealed} FROM {table} WHERE {stale} AND {id} > $2 ORDER BY {id} LIMIT $3");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(current)
                    .bind(after_id)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
            }
            Some(slot) => {
                let sql = format!(
                    "SELECT {id}, {slot}, {sealed} FROM {table} WHERE {stale} \
                     AND ({id} > $2 OR ({id} = $2 AND {slot} > $3)) ORDER BY {id}, {slot} LIMIT $4"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(current)
                    .bind(after_id)
                    .bind(after_slot)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(db_err)?;
        rows.iter().map(|row| secret_from_row(kind, slot.is_some(), row)).collect()
    }

    async fn reseal_secret(&self, secret: &SealedSecret, new: &[u8]) -> StoreResult<bool> {
        let Place { table, id, slot, sealed, .. } = place(secret.kind);
        let slot_matches = slot.map_or(String::new(), |slot| format!(" AND {slot} = $4"));
        let sql = format!("UPDATE {table} SET {sealed} = $1 WHERE {id} = $2 AND {sealed} = $3{slot_matches}");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(new).bind(&secret.id).bind(&secret.sealed);
        if slot.is_some() {
            query = query.bind(&secret.slot);
        }
        let done = query.execute(&self.pool).await.map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }
}
