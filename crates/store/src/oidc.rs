//! The OpenID Connect provider's tables in SQL (see
//! `twostep_app::oidc::port`). Codes and refresh tokens are used up by
//! conditional writes, so that of two racing exchanges one wins and the
//! other is seen as a reuse; a grant counts only while its session is live.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use twostep_app::oidc::port::{
    AccountApp, ClientRecord, CodeExchange, CodeRecord, EndedGrant, FeedEntry, GrantRecord, OidcStore, PendingRequest,
    RefreshOutcome, SigningKeyRecord, TokenKind, TokenLookup, TokenRecord,
};
use twostep_app::ports::{AuditEvent, QueuedMessage, StoreResult};

use crate::queue::insert_message;
use crate::records::insert_audit;
use crate::{SqlStore, db_err};

/// The feed's one row, made at the end of the audit log the first time.
async fn ensure_feed_row(conn: &mut AnyConnection) -> StoreResult<()> {
    sqlx::query(
        // `WHERE true`: SQLite reads an upsert after a bare SELECT as a join.
        "INSERT INTO oidc_feed (id, last_seq) SELECT 1, COALESCE(MAX(seq), 0) FROM audit_log WHERE true \
         ON CONFLICT (id) DO NOTHING",
    )
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// The condition that grant `g`'s session is live at `$now` (the bound
/// parameter named by `now`): not revoked or expired, its account not
/// frozen, opened in the account's current security epoch.
fn session_live(now: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM sessions s JOIN accounts a ON a.id = s.account_id \
         WHERE s.token_hash = g.session_hash AND s.revoked_at IS NULL AND s.expires_at > {now} \
         AND a.frozen_at IS NULL AND s.epoch = a.security_epoch)"
    )
}

const CLIENT_COLUMNS: &str = "id, name, secret_hash, redirect_uris, post_logout_redirect_uris, first_party, \
     backchannel_logout_uri, webhook_url, webhook_secret, created_at";

fn lines(s: String) -> Vec<String> {
    s.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

fn client_from_row(row: &AnyRow) -> StoreResult<ClientRecord> {
    Ok(ClientRecord {
        id: row.try_get("id").map_err(db_err)?,
        name: row.try_get("name").map_err(db_err)?,
        secret_hash: row.try_get("secret_hash").map_err(db_err)?,
        redirect_uris: lines(row.try_get("redirect_uris").map_err(db_err)?),
        post_logout_redirect_uris: lines(row.try_get("post_logout_redirect_uris").map_err(db_err)?),
        first_party: row.try_get::<i64, _>("first_party").map_err(db_err)? != 0,
        backchannel_logout_uri: row.try_get("backchannel_logout_uri").map_err(db_err)?,
        webhook_url: row.try_get("webhook_url").map_err(db_err)?,
        webhook_secret: row.try_get("webhook_secret").map_err(db_err)?,
        created_at: row.try_get("created_at").map_err(db_err)?,
    })
}

fn grant_from_row(row: &AnyRow) -> StoreResult<GrantRecord> {
    Ok(GrantRecord {
        id: row.try_get("id").map_err(db_err)?,
        client_id: row.try_get("client_id").map_err(db_err)?,
        account_id: row.try_get("account_id").map_err(db_err)?,
        session_hash: row.try_get("session_hash").map_err(db_err)?,
        grant: row.try_get("grant_facts").map_err(db_err)?,
        created_at: row.try_get("created_at").map_err(db_err)?,
        revoked_at: row.try_get("revoked_at").map_err(db_err)?,
    })
}

fn code_from_row(row: &AnyRow) -> StoreResult<CodeRecord> {
    Ok(CodeRecord {
        code_hash: row.try_get("code_hash").map_err(db_err)?,
        client_id: row.try_get("client_id").map_err(db_err)?,
        account_id: row.try_get("account_id").map_err(db_err)?,
        session_hash: row.try_get("session_hash").map_err(db_err)?,
        grant: row.try_get("grant_facts").map_err(db_err)?,
        created_at: row.try_get("created_at").map_err(db_err)?,
        expires_at: row.try_get("expires_at").map_err(db_err)?,
        grant_id: row.try_get("grant_id").map_err(db_err)?,
    })
}

async fn insert_tokens(conn: &mut AnyConnection, tokens: &[TokenRecord]) -> StoreResult<()> {
    for t in tokens {
        sqlx::query(
            "INSERT INTO oidc_tokens (token_hash, grant_id, kind, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&t.token_hash)
        .bind(&t.grant_id)
        .bind(t.kind.as_str())
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

/// Revokes a grant and deletes its tokens; whether it was standing.
async fn revoke(conn: &mut AnyConnection, grant_id: &str, now: i64) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE oidc_grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(grant_id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    sqlx::query("DELETE FROM oidc_tokens WHERE grant_id = $1")
        .bind(grant_id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected() == 1)
}

#[async_trait]
impl OidcStore for SqlStore {
    async fn add_client(&self, c: &ClientRecord) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO oidc_clients (id, name, secret_hash, redirect_uris, post_logout_redirect_uris, first_party, \
             backchannel_logout_uri, webhook_url, webhook_secret, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&c.id)
        .bind(&c.name)
        .bind(c.secret_hash.as_deref())
        .bind(c.redirect_uris.join("\n"))
        .bind(c.post_logout_redirect_uris.join("\n"))
        .bind(i64::from(c.first_party))
        .bind(&c.backchannel_logout_uri)
        .bind(&c.webhook_url)
        .bind(c.webhook_secret.as_deref())
        .bind(c.created_at)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn client(&self, id: &str) -> StoreResult<Option<ClientRecord>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM oidc_clients WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.reader).await.map_err(db_err)?;
        row.as_ref().map(client_from_row).transpose()
    }

    async fn clients(&self) -> StoreResult<Vec<ClientRecord>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM oidc_clients ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.reader).await.map_err(db_err)?;
        rows.iter().map(client_from_row).collect()
    }

    async fn remove_client(&self, id: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        for sql in [
            "DELETE FROM oidc_tokens WHERE grant_id IN (SELECT id FROM oidc_grants WHERE client_id = $1)",
            "DELETE FROM oidc_grants WHERE client_id = $1",
            "DELETE FROM oidc_codes WHERE client_id = $1",
            "DELETE FROM oidc_requests WHERE client_id = $1",
            "DELETE FROM oidc_consents WHERE client_id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await.map_err(db_err)?;
        }
        let done =
            sqlx::query("DELETE FROM oidc_clients WHERE id = $1").bind(id).execute(&mut *tx).await.map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        let rows = sqlx::query(
            "SELECT kid, sealed_key, public_jwk, created_at, retired_at FROM oidc_signing_keys \
             ORDER BY created_at DESC, kid DESC",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                Ok(SigningKeyRecord {
                    kid: row.try_get("kid").map_err(db_err)?,
                    sealed_key: row.try_get("sealed_key").map_err(db_err)?,
                    public_jwk: row.try_get("public_jwk").map_err(db_err)?,
                    created_at: row.try_get("created_at").map_err(db_err)?,
                    retired_at: row.try_get("retired_at").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn add_signing_key(&self, key: &SigningKeyRecord, only_if_none: bool) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // The feed's row serialises key changes on both backends.
        ensure_feed_row(&mut tx).await?;
        sqlx::query("UPDATE oidc_feed SET last_seq = last_seq WHERE id = 1").execute(&mut *tx).await.map_err(db_err)?;
        if only_if_none {
            let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM oidc_signing_keys WHERE retired_at IS NULL")
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?
                .try_get("n")
                .map_err(db_err)?;
            if n > 0 {
                return Ok(false);
            }
        }
        sqlx::query("UPDATE oidc_signing_keys SET retired_at = $1 WHERE retired_at IS NULL")
            .bind(key.created_at)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO oidc_signing_keys (kid, sealed_key, public_jwk, created_at, retired_at) \
             VALUES ($1, $2, $3, $4, NULL)",
        )
        .bind(&key.kid)
        .bind(&key.sealed_key)
        .bind(&key.public_jwk)
        .bind(key.created_at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn create_request(&self, r: &PendingRequest) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query("DELETE FROM oidc_requests WHERE expires_at <= $1")
            .bind(r.created_at)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO oidc_requests (id, client_id, request, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&r.id)
        .bind(&r.client_id)
        .bind(&r.request)
        .bind(r.created_at)
        .bind(r.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn request(&self, id: &str, now: i64) -> StoreResult<Option<PendingRequest>> {
        let row = sqlx::query(
            "SELECT id, client_id, request, created_at, expires_at, proved_factor, proved_at, proved_session \
             FROM oidc_requests WHERE id = $1 AND expires_at > $2",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|row| {
            let factor: Option<String> = row.try_get("proved_factor").map_err(db_err)?;
            let at: Option<i64> = row.try_get("proved_at").map_err(db_err)?;
            let session: Option<String> = row.try_get("proved_session").map_err(db_err)?;
            Ok(PendingRequest {
                id: row.try_get("id").map_err(db_err)?,
                client_id: row.try_get("client_id").map_err(db_err)?,
                request: row.try_get("request").map_err(db_err)?,
                created_at: row.try_get("created_at").map_err(db_err)?,
                expires_at: row.try_get("expires_at").map_err(db_err)?,
                proof: match (factor, at, session) {
                    (Some(f), Some(a), Some(s)) => Some((f, a, s)),
                    _ => None,
                },
            })
        })
        .transpose()
    }

    async fn prove_request(&self, id: &str, factor: &str, at: i64, session_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE oidc_requests SET proved_factor = $1, proved_at = $2, proved_session = $3 \
             WHERE id = $4 AND expires_at > $2",
        )
        .bind(factor)
        .bind(at)
        .bind(session_hash)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_request(&self, id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM oidc_requests WHERE id = $1").bind(id).execute(&self.pool).await.map_err(db_err)?;
        Ok(())
    }

    async fn create_oidc_code(&self, c: &CodeRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO oidc_codes (code_hash, client_id, account_id, session_hash, grant_facts, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&c.code_hash)
        .bind(&c.client_id)
        .bind(&c.account_id)
        .bind(&c.session_hash)
        .bind(&c.grant)
        .bind(c.created_at)
        .bind(c.expires_at)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn code(&self, code_hash: &str, now: i64) -> StoreResult<Option<CodeRecord>> {
        let row = sqlx::query(
            "SELECT code_hash, client_id, account_id, session_hash, grant_facts, created_at, expires_at, grant_id \
             FROM oidc_codes WHERE code_hash = $1 AND (grant_id IS NOT NULL OR expires_at > $2)",
        )
        .bind(code_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(code_from_row).transpose()
    }

    async fn exchange_code(
        &self,
        code_hash: &str,
        grant: &GrantRecord,
        tokens: &[TokenRecord],
        audit: &AuditEvent,
        reused: &AuditEvent,
        now: i64,
    ) -> StoreResult<CodeExchange> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // Of two exchanges racing, the second waits on this row and then
        // finds it used: one grant, and the reuse ends it.
        let taken = sqlx::query(
            "UPDATE oidc_codes SET grant_id = $1 WHERE code_hash = $2 AND grant_id IS NULL AND expires_at > $3",
        )
        .bind(&grant.id)
        .bind(code_hash)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if taken.rows_affected() != 1 {
            let first: Option<String> = sqlx::query("SELECT grant_id FROM oidc_codes WHERE code_hash = $1")
                .bind(code_hash)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?
                .map(|r| r.try_get("grant_id"))
                .transpose()
                .map_err(db_err)?
                .flatten();
            let Some(first) = first else { return Ok(CodeExchange::Gone) };
            if revoke(&mut tx, &first, now).await? {
                insert_audit(&mut tx, reused).await?;
            }
            tx.commit().await.map_err(db_err)?;
            return Ok(CodeExchange::Reused);
        }
        let sql = format!(
            "INSERT INTO oidc_grants (id, client_id, account_id, session_hash, grant_facts, created_at) \
             SELECT $1, $2, $3, g.session_hash, $5, $6 FROM (SELECT $4 AS session_hash) g WHERE {}",
            session_live("$6")
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&grant.id)
            .bind(&grant.client_id)
            .bind(&grant.account_id)
            .bind(&grant.session_hash)
            .bind(&grant.grant)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() != 1 {
            tx.commit().await.map_err(db_err)?;
            return Ok(CodeExchange::SessionEnded);
        }
        insert_tokens(&mut tx, tokens).await?;
        // The application now knows the account: since this sign-in for a
        // first-party application, since the consent for another.
        sqlx::query(
            "INSERT INTO oidc_consents (account_id, client_id, scope, created_at) VALUES ($1, $2, '', $3) \
             ON CONFLICT (account_id, client_id) DO NOTHING",
        )
        .bind(&grant.account_id)
        .bind(&grant.client_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(CodeExchange::Opened)
    }

    async fn token(&self, token_hash: &str, now: i64) -> StoreResult<Option<TokenLookup>> {
        let sql = format!(
            "SELECT g.id, g.client_id, g.account_id, g.session_hash, g.grant_facts, g.created_at, g.revoked_at, \
             t.kind, CASE WHEN {} THEN 1 ELSE 0 END AS live \
             FROM oidc_tokens t JOIN oidc_grants g ON g.id = t.grant_id WHERE t.token_hash = $1 AND t.expires_at > $2",
            session_live("$2")
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let kind: String = row.try_get("kind").map_err(db_err)?;
        Ok(Some(TokenLookup {
            grant: grant_from_row(&row)?,
            kind: if kind == "refresh" { TokenKind::Refresh } else { TokenKind::Access },
            session_live: row.try_get::<i64, _>("live").map_err(db_err)? == 1,
        }))
    }

    async fn rotate_refresh(
        &self,
        used: &str,
        fresh: &[TokenRecord],
        now: i64,
        reused: &AuditEvent,
    ) -> StoreResult<RefreshOutcome> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let sql = format!(
            "UPDATE oidc_tokens SET used_at = $1 WHERE token_hash = $2 AND kind = 'refresh' AND used_at IS NULL \
             AND expires_at > $1 AND EXISTS (SELECT 1 FROM oidc_grants g WHERE g.id = oidc_tokens.grant_id \
             AND g.revoked_at IS NULL AND {}) RETURNING grant_id",
            session_live("$1")
        );
        let won = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .bind(used)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if won.is_some() {
            // The access tokens of the rotated-out refresh token go with it.
            sqlx::query(
                "DELETE FROM oidc_tokens WHERE kind = 'access' AND grant_id = (SELECT grant_id FROM oidc_tokens \
                 WHERE token_hash = $1)",
            )
            .bind(used)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            insert_tokens(&mut tx, fresh).await?;
            tx.commit().await.map_err(db_err)?;
            return Ok(RefreshOutcome::Rotated);
        }
        let row = sqlx::query("SELECT grant_id, used_at FROM oidc_tokens WHERE token_hash = $1 AND kind = 'refresh'")
            .bind(used)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        let Some(row) = row else { return Ok(RefreshOutcome::Invalid) };
        let used_at: Option<i64> = row.try_get("used_at").map_err(db_err)?;
        if used_at.is_none() {
            return Ok(RefreshOutcome::Invalid);
        }
        let grant_id: String = row.try_get("grant_id").map_err(db_err)?;
        if revoke(&mut tx, &grant_id, now).await? {
            insert_audit(&mut tx, reused).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(RefreshOutcome::Reused)
    }

    async fn revoke_grant(&self, grant_id: &str, now: i64, audit: Option<&AuditEvent>) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let revoked = revoke(&mut tx, grant_id, now).await?;
        if let Some(audit) = audit.filter(|_| revoked) {
            insert_audit(&mut tx, audit).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(revoked)
    }

    async fn revoke_client_access(
        &self,
        account_id: &str,
        client_id: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let grants: Vec<String> =
            sqlx::query("SELECT id FROM oidc_grants WHERE account_id = $1 AND client_id = $2 AND revoked_at IS NULL")
                .bind(account_id)
                .bind(client_id)
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?
                .iter()
                .map(|r| r.try_get("id").map_err(db_err))
                .collect::<StoreResult<_>>()?;
        let mut ended = 0;
        for g in &grants {
            ended += u64::from(revoke(&mut tx, g, now).await?);
        }
        for sql in [
            "DELETE FROM oidc_consents WHERE account_id = $1 AND client_id = $2",
            "DELETE FROM oidc_codes WHERE account_id = $1 AND client_id = $2 AND grant_id IS NULL",
        ] {
            sqlx::query(sql).bind(account_id).bind(client_id).execute(&mut *tx).await.map_err(db_err)?;
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(ended)
    }

    async fn consent(&self, account_id: &str, client_id: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT scope FROM oidc_consents WHERE account_id = $1 AND client_id = $2")
            .bind(account_id)
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| r.try_get("scope").map_err(db_err)).transpose()
    }

    async fn save_consent(&self, account_id: &str, client_id: &str, scope: &str, now: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO oidc_consents (account_id, client_id, scope, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, client_id) DO UPDATE SET scope = excluded.scope",
        )
        .bind(account_id)
        .bind(client_id)
        .bind(scope)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn account_apps(&self, account_id: &str, now: i64) -> StoreResult<Vec<AccountApp>> {
        let sql = format!(
            "SELECT c.id, c.name, \
             (SELECT COUNT(*) FROM oidc_grants g WHERE g.client_id = c.id AND g.account_id = $1 \
              AND g.revoked_at IS NULL AND {live}) AS live_grants, \
             (SELECT created_at FROM oidc_consents k WHERE k.client_id = c.id AND k.account_id = $1) AS consented_at, \
             (SELECT MAX(created_at) FROM oidc_grants g WHERE g.client_id = c.id AND g.account_id = $1) AS last_used_at \
             FROM oidc_clients c WHERE EXISTS (SELECT 1 FROM oidc_consents k WHERE k.client_id = c.id \
             AND k.account_id = $1) ORDER BY c.name, c.id",
            live = session_live("$2")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(now)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                let consented_at: Option<i64> = row.try_get("consented_at").map_err(db_err)?;
                let last: Option<i64> = row.try_get("last_used_at").map_err(db_err)?;
                Ok(AccountApp {
                    client_id: row.try_get("id").map_err(db_err)?,
                    name: row.try_get("name").map_err(db_err)?,
                    live_grants: row.try_get("live_grants").map_err(db_err)?,
                    consented_at,
                    last_used_at: last.or(consented_at).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn client_knows_account(&self, client_id: &str, account_id: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 AS k FROM oidc_consents WHERE client_id = $1 AND account_id = $2")
            .bind(client_id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(row.is_some())
    }

    async fn clients_of_account(&self, account_id: &str, at: i64) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT client_id FROM oidc_consents WHERE account_id = $1 AND created_at <= $2 ORDER BY client_id",
        )
        .bind(account_id)
        .bind(at)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(|r| r.try_get("client_id").map_err(db_err)).collect()
    }

    async fn live_grant_sessions(&self, client_id: &str, account_id: &str, now: i64) -> StoreResult<Vec<String>> {
        let sql = format!(
            "SELECT DISTINCT g.session_hash FROM oidc_grants g WHERE g.client_id = $1 AND g.account_id = $2 \
             AND g.revoked_at IS NULL AND {}",
            session_live("$3")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(client_id)
            .bind(account_id)
            .bind(now)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| r.try_get("session_hash").map_err(db_err)).collect()
    }

    async fn feed_after_cursor(&self, limit: i64) -> StoreResult<(i64, Vec<FeedEntry>)> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        ensure_feed_row(&mut conn).await?;
        drop(conn);
        let cursor: i64 = sqlx::query("SELECT last_seq FROM oidc_feed WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?
            .try_get("last_seq")
            .map_err(db_err)?;
        let rows = sqlx::query("SELECT seq, at, account_id, kind FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(cursor)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        let entries = rows
            .iter()
            .map(|row| {
                Ok(FeedEntry {
                    seq: row.try_get("seq").map_err(db_err)?,
                    at: row.try_get("at").map_err(db_err)?,
                    account_id: row.try_get::<Option<String>, _>("account_id").map_err(db_err)?.unwrap_or_default(),
                    kind: row.try_get("kind").map_err(db_err)?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((cursor, entries))
    }

    async fn advance_feed(
        &self,
        from: i64,
        to: i64,
        messages: &[QueuedMessage],
        told: &[String],
        now: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let moved = sqlx::query("UPDATE oidc_feed SET last_seq = $1 WHERE id = 1 AND last_seq = $2")
            .bind(to)
            .bind(from)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if moved.rows_affected() != 1 {
            return Ok(false);
        }
        for m in messages {
            insert_message(&mut tx, m).await?;
        }
        for grant_id in told {
            sqlx::query(
                "UPDATE oidc_grants SET logout_sent_at = $1, revoked_at = COALESCE(revoked_at, $1) WHERE id = $2",
            )
            .bind(now)
            .bind(grant_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            sqlx::query("DELETE FROM oidc_tokens WHERE grant_id = $1")
                .bind(grant_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn ended_grants(&self, account_id: &str, now: i64, limit: i64) -> StoreResult<Vec<EndedGrant>> {
        let sql = format!(
            "SELECT g.id, g.client_id, g.account_id, g.session_hash FROM oidc_grants g \
             WHERE g.account_id = $1 AND g.logout_sent_at IS NULL AND (g.revoked_at IS NOT NULL OR NOT {}) \
             ORDER BY g.created_at LIMIT $3",
            session_live("$2")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                Ok(EndedGrant {
                    grant_id: row.try_get("id").map_err(db_err)?,
                    client_id: row.try_get("client_id").map_err(db_err)?,
                    account_id: row.try_get("account_id").map_err(db_err)?,
                    session_hash: row.try_get("session_hash").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn prune_oidc(&self, now: i64, before: i64) -> StoreResult<u64> {
        let mut pruned = 0;
        for (sql, at) in [
            ("DELETE FROM oidc_requests WHERE expires_at <= $1", now),
            ("DELETE FROM oidc_codes WHERE expires_at <= $1", now - 3600),
            ("DELETE FROM oidc_tokens WHERE expires_at <= $1", now),
            ("DELETE FROM oidc_grants WHERE logout_sent_at IS NOT NULL AND logout_sent_at <= $1", before),
        ] {
            pruned += sqlx::query(sql).bind(at).execute(&self.pool).await.map_err(db_err)?.rows_affected();
        }
        Ok(pruned)
    }
}
