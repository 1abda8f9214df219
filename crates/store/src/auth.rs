//! Sign-in state: login attempts, authenticators, captcha challenges, sent
//! codes and sessions. Every "use once" rule is a conditional write whose
//! affected-row count says who won.

use async_trait::async_trait;
use sqlx::Row;
use twostep_app::ports::{
    AuditEvent, CaptchaChallenge, CaptchaStore, CodeStore, LoginStore, NewLoginAttempt, SentCode, SessionInfo,
    SessionStore, SignInContext, SignInFailure, SignInOutcome, SignInSuccess, StoreError, StoreResult, TotpFactor,
    TotpSetup, TotpStore,
};
use twostep_domain::sudo::{ProofFactor, SessionProof};
use twostep_domain::{LoginAttempt, LoginState};

use crate::{SqlStore, db_err};

/// Appends `audit` (when given) to the transaction that made the change it
/// records, and commits both.
async fn audited(mut tx: sqlx::Transaction<'_, sqlx::Any>, audit: Option<&AuditEvent>) -> StoreResult<()> {
    if let Some(event) = audit {
        crate::records::insert_audit(&mut tx, event).await?;
    }
    tx.commit().await.map_err(db_err)
}

#[async_trait]
impl LoginStore for SqlStore {
    async fn create_login(&self, l: &NewLoginAttempt) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO login_attempts (id, account_id, state, failures, created_at, expires_at, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&l.attempt.id)
        .bind(&l.attempt.account_id)
        .bind(l.attempt.state.as_str())
        .bind(l.attempt.failures)
        .bind(l.created_at)
        .bind(l.attempt.expires_at)
        .bind(&l.ip)
        .bind(&l.user_agent)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        audited(tx, l.audit.as_ref()).await
    }

    async fn login_by_id(&self, id: &str) -> StoreResult<Option<LoginAttempt>> {
        let row = sqlx::query("SELECT id, account_id, state, failures, expires_at FROM login_attempts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let state: String = row.try_get("state").map_err(db_err)?;
        Ok(Some(LoginAttempt {
            id: row.try_get("id").map_err(db_err)?,
            account_id: row.try_get("account_id").map_err(db_err)?,
            state: LoginState::try_from(state.as_str()).map_err(|e| StoreError::other(e.to_string()))?,
            failures: row.try_get("failures").map_err(db_err)?,
            expires_at: row.try_get("expires_at").map_err(db_err)?,
        }))
    }

    async fn add_login_failure(&self, id: &str, max_failures: i64) -> StoreResult<Option<i64>> {
        let row = sqlx::query(
            "UPDATE login_attempts SET failures = failures + 1, \
             state = CASE WHEN failures + 1 >= $1 THEN 'dead' ELSE state END \
             WHERE id = $2 AND state = 'pending' RETURNING failures",
        )
        .bind(max_failures)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| r.try_get::<i64, _>(0).map_err(db_err)).transpose()
    }

    async fn complete_login(&self, id: &str, now: i64, max_failures: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE login_attempts SET state = 'completed' \
             WHERE id = $1 AND state = 'pending' AND expires_at > $2 AND failures < $3",
        )
        .bind(id)
        .bind(now)
        .bind(max_failures)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn sign_in_context(
        &self,
        login_id: &str,
        subject_prefix: &str,
        since: i64,
        device_token_hash: &str,
    ) -> StoreResult<Option<SignInContext>> {
        self.sign_in_context_impl(login_id, subject_prefix, since, device_token_hash).await
    }

    async fn complete_sign_in(&self, success: &SignInSuccess) -> StoreResult<SignInOutcome> {
        match self.signins.write(crate::signin::Write::Success(success.clone())).await? {
            crate::signin::Written::Success(outcome) => Ok(outcome),
            crate::signin::Written::Failure(_) => Err(StoreError::other("a success was applied as a refusal")),
        }
    }

    async fn fail_sign_in(&self, failure: &SignInFailure) -> StoreResult<Option<i64>> {
        match self.signins.write(crate::signin::Write::Failure(failure.clone())).await? {
            crate::signin::Written::Failure(consecutive) => Ok(consecutive),
            crate::signin::Written::Success(_) => Err(StoreError::other("a refusal was applied as a success")),
        }
    }
}

#[async_trait]
impl TotpStore for SqlStore {
    async fn create_totp_setup(&self, s: &TotpSetup) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO totp_setups (id, account_id, sealed_secret, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&s.id)
        .bind(&s.account_id)
        .bind(&s.sealed_secret)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn totp_setup(&self, id: &str) -> StoreResult<Option<TotpSetup>> {
        let row =
            sqlx::query("SELECT id, account_id, sealed_secret, created_at, expires_at FROM totp_setups WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(TotpSetup {
            id: row.try_get("id").map_err(db_err)?,
            account_id: row.try_get("account_id").map_err(db_err)?,
            sealed_secret: row.try_get("sealed_secret").map_err(db_err)?,
            created_at: row.try_get("created_at").map_err(db_err)?,
            expires_at: row.try_get("expires_at").map_err(db_err)?,
        }))
    }

    async fn delete_expired_totp_setups(&self, account_id: Option<&str>, now: i64) -> StoreResult<u64> {
        let done = match account_id {
            Some(id) => {
                sqlx::query("DELETE FROM totp_setups WHERE account_id = $1 AND expires_at <= $2").bind(id).bind(now)
            }
            None => sqlx::query("DELETE FROM totp_setups WHERE expires_at <= $1").bind(now),
        }
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn bind_totp(&self, s: &TotpSetup, last_step: i64, now: i64) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        if crate::account_changes::bind_factor(&mut tx, s, last_step, now).await?.is_none() {
            return Ok(false);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn totp_factor(&self, account_id: &str) -> StoreResult<Option<TotpFactor>> {
        let row = sqlx::query(
            "SELECT account_id, sealed_secret, last_step, created_at FROM totp_factors WHERE account_id = $1",
        )
        .bind(account_id)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(TotpFactor {
            account_id: row.try_get("account_id").map_err(db_err)?,
            sealed_secret: row.try_get("sealed_secret").map_err(db_err)?,
            last_step: row.try_get("last_step").map_err(db_err)?,
            created_at: row.try_get("created_at").map_err(db_err)?,
        }))
    }

    async fn advance_totp_step(&self, account_id: &str, step: i64) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE totp_factors SET last_step = $1 WHERE account_id = $2 AND last_step < $1")
            .bind(step)
            .bind(account_id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn remove_totp(&self, account_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM totp_factors WHERE account_id = $1")
            .bind(account_id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl CaptchaStore for SqlStore {
    async fn create_challenge(&self, c: &CaptchaChallenge) -> StoreResult<()> {
        sqlx::query("INSERT INTO captcha_challenges (id, salt, difficulty_bits, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(&c.id)
            .bind(&c.salt)
            .bind(c.difficulty_bits)
            .bind(c.expires_at)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn take_challenge(&self, id: &str, now: i64) -> StoreResult<Option<CaptchaChallenge>> {
        let row = sqlx::query(
            "UPDATE captcha_challenges SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND expires_at > $1 \
             RETURNING id, salt, difficulty_bits, expires_at",
        )
        .bind(now)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(CaptchaChallenge {
            id: row.try_get("id").map_err(db_err)?,
            salt: row.try_get("salt").map_err(db_err)?,
            difficulty_bits: row.try_get("difficulty_bits").map_err(db_err)?,
            expires_at: row.try_get("expires_at").map_err(db_err)?,
        }))
    }
}

#[async_trait]
impl CodeStore for SqlStore {
    async fn create_code(&self, c: &SentCode) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sent_codes (id, account_id, purpose, channel, destination, code_hash, created_at, expires_at, tries) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&c.id)
        .bind(&c.account_id)
        .bind(&c.purpose)
        .bind(&c.channel)
        .bind(&c.destination)
        .bind(&c.code_hash)
        .bind(c.created_at)
        .bind(c.expires_at)
        .bind(c.tries)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn live_code(&self, account_id: &str, purpose: &str, now: i64) -> StoreResult<Option<SentCode>> {
        let row = sqlx::query(
            "SELECT id, account_id, purpose, channel, destination, code_hash, created_at, expires_at, tries \
             FROM sent_codes WHERE account_id = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 \
             ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(account_id)
        .bind(purpose)
        .bind(now)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SentCode {
            id: row.try_get("id").map_err(db_err)?,
            account_id: row.try_get("account_id").map_err(db_err)?,
            purpose: row.try_get("purpose").map_err(db_err)?,
            channel: row.try_get("channel").map_err(db_err)?,
            destination: row.try_get("destination").map_err(db_err)?,
            code_hash: row.try_get("code_hash").map_err(db_err)?,
            created_at: row.try_get("created_at").map_err(db_err)?,
            expires_at: row.try_get("expires_at").map_err(db_err)?,
            tries: row.try_get("tries").map_err(db_err)?,
        }))
    }

    async fn add_code_try(&self, id: &str, max_tries: i64) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE sent_codes SET tries = tries + 1 WHERE id = $1 AND used_at IS NULL AND tries < $2")
                .bind(id)
                .bind(max_tries)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn consume_code(&self, id: &str, now: i64) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE sent_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND expires_at > $1")
                .bind(now)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn retire_codes(&self, account_id: &str, purpose: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE sent_codes SET used_at = $1 WHERE account_id = $2 AND purpose = $3 AND used_at IS NULL")
            .bind(now)
            .bind(account_id)
            .bind(purpose)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn retire_code(&self, id: &str, now: i64) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE sent_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn create_session(
        &self,
        token_hash: &str,
        account_id: &str,
        now: i64,
        expires_at: i64,
        audit: Option<&AuditEvent>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = sqlx::query(
            "INSERT INTO sessions (token_hash, account_id, created_at, expires_at, epoch) \
             SELECT $1, id, $3, $4, security_epoch FROM accounts WHERE id = $2 AND frozen_at IS NULL",
        )
        .bind(token_hash)
        .bind(account_id)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        audited(tx, audit).await?;
        Ok(true)
    }

    async fn session(&self, token_hash: &str, now: i64) -> StoreResult<Option<SessionInfo>> {
        let row = sqlx::query(
            "SELECT s.account_id, s.expires_at, s.created_at, s.factors, s.proof_factor, s.proof_at FROM sessions s \
             JOIN accounts a ON a.id = s.account_id \
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 \
             AND a.frozen_at IS NULL AND s.epoch = a.security_epoch",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let factor: Option<String> = row.try_get("proof_factor").map_err(db_err)?;
        let at: Option<i64> = row.try_get("proof_at").map_err(db_err)?;
        let proof = match (factor.as_deref().and_then(ProofFactor::parse), at) {
            (Some(factor), Some(at)) => Some(SessionProof { factor, at }),
            _ => None,
        };
        Ok(Some(SessionInfo {
            account_id: row.try_get("account_id").map_err(db_err)?,
            expires_at: row.try_get("expires_at").map_err(db_err)?,
            created_at: row.try_get("created_at").map_err(db_err)?,
            factors: row
                .try_get::<String, _>("factors")
                .map_err(db_err)?
                .split(' ')
                .filter_map(ProofFactor::parse)
                .collect(),
            proof,
        }))
    }

    async fn revoke_session(&self, token_hash: &str, now: i64, audit: Option<&AuditEvent>) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(token_hash)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        // A session revoked meanwhile was already ended, and recorded, by
        // whoever won.
        audited(tx, audit.filter(|_| done.rows_affected() == 1)).await
    }

    async fn revoke_sessions(&self, account_id: &str, keep: Option<&str>, now: i64) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL AND token_hash <> $3",
        )
        .bind(now)
        .bind(account_id)
        .bind(keep.unwrap_or(""))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}
