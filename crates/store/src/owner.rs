//! The owner-wins rules in SQL: sign-ups waiting for their code, proofs
//! given in a session, the channels an account replaced, and the owner's
//! objection that stops every live recovery case (and freezes the account
//! when something was already reset).

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use twostep_app::owner_port::{ConfirmOutcome, Objection, ObjectionOutcome, OwnerStore, Registration};
use twostep_app::ports::{AuditEvent, Channel, NewAccount, QueuedMessage, StoreResult};
use twostep_domain::MAX_CODE_TRIES;
use twostep_domain::sudo::SessionProof;

use crate::accounts::{language_code, language_from};
use crate::records::insert_audits;
use crate::recovery::{close_pending_sign_ins, revoke_sessions, write_effects};
use crate::{SqlStore, db_err};

const REGISTRATION_COLUMNS: &str =
    "id, email, password_hash, code_hash, created_at, expires_at, ip, user_agent, language";

fn registration_from_row(row: &AnyRow) -> StoreResult<Registration> {
    Ok(Registration {
        id: row.try_get("id").map_err(db_err)?,
        email: row.try_get("email").map_err(db_err)?,
        password_hash: row.try_get("password_hash").map_err(db_err)?,
        code_hash: row.try_get("code_hash").map_err(db_err)?,
        created_at: row.try_get("created_at").map_err(db_err)?,
        expires_at: row.try_get("expires_at").map_err(db_err)?,
        ip: row.try_get("ip").map_err(db_err)?,
        user_agent: row.try_get("user_agent").map_err(db_err)?,
        language: language_from(row)?,
    })
}

/// Remembers the account's phone (`sms`) or e-mail before it is replaced.
/// Runs inside the replacing transaction, before the account row changes.
pub(crate) async fn remember_channel(
    conn: &mut AnyConnection,
    account_id: &str,
    channel: Channel,
    now: i64,
) -> StoreResult<()> {
    let column = match channel {
        Channel::Email => "email",
        Channel::Sms | Channel::Voice => "phone",
        Channel::Webhook => return Ok(()),
    };
    let sql = format!(
        "INSERT INTO former_channels (account_id, channel, destination, replaced_at) \
         SELECT id, $2, {column}, $3 FROM accounts WHERE id = $1 AND {column} IS NOT NULL"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .bind(channel.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl OwnerStore for SqlStore {
    async fn create_registration(&self, r: &Registration, keep: i64) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO registrations (id, email, password_hash, code_hash, created_at, expires_at, ip, user_agent, \
             language) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&r.id)
        .bind(&r.email)
        .bind(&r.password_hash)
        .bind(&r.code_hash)
        .bind(r.created_at)
        .bind(r.expires_at)
        .bind(&r.ip)
        .bind(&r.user_agent)
        .bind(language_code(r.language))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        // The expired ones of the address, and the oldest beyond `keep`.
        sqlx::query(
            "DELETE FROM registrations WHERE email = $1 AND (expires_at <= $2 OR id NOT IN \
             (SELECT id FROM registrations WHERE email = $1 ORDER BY created_at DESC, id DESC LIMIT $3))",
        )
        .bind(&r.email)
        .bind(r.created_at)
        .bind(keep)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn live_registrations(&self, email: &str, now: i64) -> StoreResult<Vec<Registration>> {
        let sql = format!(
            "SELECT {REGISTRATION_COLUMNS} FROM registrations WHERE email = $1 AND expires_at > $2 AND tries < $3 \
             ORDER BY created_at DESC, id DESC"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(email)
            .bind(now)
            .bind(MAX_CODE_TRIES)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(registration_from_row).collect()
    }

    async fn count_registration_try(&self, email: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE registrations SET tries = tries + 1 WHERE email = $1 AND expires_at > $2")
            .bind(email)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn confirm_registration(
        &self,
        registration_id: &str,
        a: &NewAccount,
        now: i64,
        audit: &[AuditEvent],
    ) -> StoreResult<ConfirmOutcome> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // Taking the registration is the conditional write: of two racing
        // confirmations one deletes it, the other finds nothing.
        let taken = sqlx::query(
            "DELETE FROM registrations WHERE id = $1 AND email = $2 AND expires_at > $3 AND tries < $4 \
             RETURNING password_hash, language",
        )
        .bind(registration_id)
        .bind(&a.email)
        .bind(now)
        .bind(MAX_CODE_TRIES)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(row) = taken else { return Ok(ConfirmOutcome::Gone) };
        let password_hash: String = row.try_get(0).map_err(db_err)?;
        // The account speaks the language its sign-up asked for.
        let language: String = row.try_get(1).map_err(db_err)?;
        sqlx::query("DELETE FROM registrations WHERE email = $1")
            .bind(&a.email)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        // A never-confirmed account of the address (made before sign-ups
        // waited for their code) belongs to nobody: the confirmed one wins.
        sqlx::query("DELETE FROM accounts WHERE email = $1 AND email_verified_at IS NULL")
            .bind(&a.email)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let created = sqlx::query(
            "INSERT INTO accounts (id, email, password_hash, email_verified_at, role, created_at, language) \
             VALUES ($1, $2, $3, $4, $5, $4, $6) ON CONFLICT (email) DO NOTHING",
        )
        .bind(&a.id)
        .bind(&a.email)
        .bind(&password_hash)
        .bind(now)
        .bind(a.role.as_str())
        .bind(&language)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if created.rows_affected() != 1 {
            return Ok(ConfirmOutcome::Gone);
        }
        insert_audits(&mut tx, &audit.iter().collect::<Vec<_>>()).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(ConfirmOutcome::Created)
    }

    async fn record_session_proof(&self, token_hash: &str, proof: SessionProof) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE sessions SET proof_factor = $1, proof_at = $2 WHERE token_hash = $3 AND revoked_at IS NULL",
        )
        .bind(proof.factor.as_str())
        .bind(proof.at)
        .bind(token_hash)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn former_channels(&self, account_id: &str, since: i64) -> StoreResult<Vec<(Channel, String)>> {
        let rows = sqlx::query(
            "SELECT DISTINCT channel, destination FROM former_channels WHERE account_id = $1 AND replaced_at >= $2",
        )
        .bind(account_id)
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut out = Vec::new();
        for row in rows {
            let channel: String = row.try_get(0).map_err(db_err)?;
            if let Some(channel) = Channel::parse(&channel) {
                out.push((channel, row.try_get(1).map_err(db_err)?));
            }
        }
        Ok(out)
    }

    async fn object(&self, o: &Objection) -> StoreResult<ObjectionOutcome> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // Cases first, then sign-in attempts, the account and its sessions,
        // then notices and the audit head: the order of every transaction.
        let rows = sqlx::query(
            "UPDATE recovery_cases SET status = 'cancelled', cancelled_at = $2, closed_at = $2, decision_note = $3, \
             active_account_id = NULL, version = version + 1, updated_at = $2 \
             WHERE account_id = $1 AND (status = 'pending_review' OR (status = 'open' AND expires_at > $2)) \
             RETURNING id",
        )
        .bind(&o.account_id)
        .bind(o.now)
        .bind(&o.reason)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        let stopped =
            rows.iter().map(|r| r.try_get::<String, _>(0).map_err(db_err)).collect::<StoreResult<Vec<_>>>()?;
        if let Some(case_id) = &o.approved_case {
            sqlx::query(
                "UPDATE recovery_cases SET status = 'cancelled', cancelled_at = $2, version = version + 1, \
                 updated_at = $2 WHERE id = $1 AND account_id = $3 AND status = 'approved'",
            )
            .bind(case_id)
            .bind(o.now)
            .bind(&o.account_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        if o.freeze {
            close_pending_sign_ins(&mut tx, &o.account_id).await?;
        }
        // Not an objection (the owner's own freeze): the same row lock, so
        // the order of locks stays, with the objection's time left alone.
        let query = if o.objected {
            sqlx::query("UPDATE accounts SET owner_objected_at = $2 WHERE id = $1 RETURNING frozen_at")
                .bind(&o.account_id)
                .bind(o.now)
        } else {
            sqlx::query("UPDATE accounts SET frozen_at = frozen_at WHERE id = $1 RETURNING frozen_at")
                .bind(&o.account_id)
        };
        let row = query.fetch_optional(&mut *tx).await.map_err(db_err)?;
        let was_frozen = match row {
            Some(r) => r.try_get::<Option<i64>, _>(0).map_err(db_err)?.is_some(),
            None => false,
        };
        let froze = o.freeze && !was_frozen && {
            let done = sqlx::query(
                "UPDATE accounts SET frozen_at = $2, security_epoch = security_epoch + 1 \
                 WHERE id = $1 AND frozen_at IS NULL",
            )
            .bind(&o.account_id)
            .bind(o.now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            done.rows_affected() == 1
        };
        if froze {
            revoke_sessions(&mut tx, &o.account_id, o.now).await?;
        }
        let mut audit = o.audit.clone();
        audit.extend(
            stopped
                .iter()
                .map(|id| AuditEvent { detail: format!("case {id}: {}", o.reason), ..o.stopped_event.clone() }),
        );
        if froze {
            audit.push(o.frozen_event.clone());
        }
        let notices: &[QueuedMessage] = if stopped.is_empty() && !froze { &[] } else { &o.notices };
        write_effects(&mut tx, &audit, notices).await?;
        tx.commit().await.map_err(db_err)?;
        let frozen = froze || was_frozen;
        Ok(ObjectionOutcome { stopped, froze, frozen })
    }
}
