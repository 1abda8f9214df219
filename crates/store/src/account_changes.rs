//! Sensitive account changes (a new password, a phone bound or replaced, an
//! authenticator bound or removed), each written in one transaction with
//! everything that belongs to it: the withdrawal hold, the sign-out, the
//! throttle reset, the notices and the audit entries. A crash or a database
//! error leaves the change whole or absent, never a new password with the
//! old sessions alive or a replaced phone without its hold and notice.
//!
//! Every change is a conditional write; one whose condition fails (a second
//! concurrent bind, a code used meanwhile, a password changed meanwhile)
//! rolls back and writes nothing. Rows are locked in the order the sign-in
//! transactions use (login attempts, authenticators, sent codes, accounts,
//! sessions, throttle rows), notices are queued next and the audit chain's
//! head is locked last, as in every other transaction.

use async_trait::async_trait;
use sqlx::AnyConnection;
use twostep_app::ports::{
    AccountChange, AccountChangeOutcome, AccountChangePlan, AccountChangeStore, SignOut, StoreResult, TotpSetup,
};

use crate::recovery::write_effects;
use crate::throttle::forget_failures;
use crate::{SqlStore, db_err};

/// Consumes an enrolment and binds its secret, with `last_step` used, if no
/// authenticator is bound; records the first binding of the account. None
/// (and the caller must roll back) when the enrolment was used or an
/// authenticator is bound; otherwise whether one had been bound before.
pub(crate) async fn bind_factor(
    conn: &mut AnyConnection,
    s: &TotpSetup,
    last_step: i64,
    now: i64,
) -> StoreResult<Option<bool>> {
    // Deleting first takes the write lock and decides which confirmation wins.
    let taken = sqlx::query("DELETE FROM totp_setups WHERE id = $1 AND account_id = $2")
        .bind(&s.id)
        .bind(&s.account_id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    if taken.rows_affected() != 1 {
        return Ok(None);
    }
    let bound = sqlx::query(
        "INSERT INTO totp_factors (account_id, sealed_secret, last_step, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (account_id) DO NOTHING",
    )
    .bind(&s.account_id)
    .bind(&s.sealed_secret)
    .bind(last_step)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    if bound.rows_affected() != 1 {
        return Ok(None);
    }
    // Only the account's first binding sets the column; finding it set
    // means an authenticator was bound before, whatever became of it.
    let first =
        sqlx::query("UPDATE accounts SET totp_first_bound_at = $1 WHERE id = $2 AND totp_first_bound_at IS NULL")
            .bind(now)
            .bind(&s.account_id)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    Ok(Some(first.rows_affected() == 0))
}

/// The decision note of a recovery case that a password change stopped.
pub const STOPPED_BY_PASSWORD_CHANGE: &str = "stopped: the password was changed";

/// Raises the account's withdrawal hold to `until`, keeping a later one.
async fn raise_hold(conn: &mut AnyConnection, account_id: &str, until: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE accounts SET withdrawals_blocked_until = $1 WHERE id = $2 \
         AND (withdrawals_blocked_until IS NULL OR withdrawals_blocked_until < $1)",
    )
    .bind(until)
    .bind(account_id)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// The change itself: Ok(replaced authenticator) if it was written, or the
/// refusal (the caller rolls back).
async fn write_change(
    conn: &mut AnyConnection,
    p: &AccountChangePlan,
) -> StoreResult<Result<bool, AccountChangeOutcome>> {
    let id = &p.account_id;
    match &p.change {
        AccountChange::Password { checked_hash, new_hash } => {
            let done = sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
                .bind(new_hash)
                .bind(id)
                .bind(checked_hash)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            Ok(if done.rows_affected() == 1 { Ok(false) } else { Err(AccountChangeOutcome::Changed) })
        }
        AccountChange::Phone { code_id, phone, previous } => {
            let used = sqlx::query(
                "UPDATE sent_codes SET used_at = $1 WHERE id = $2 AND account_id = $3 AND used_at IS NULL \
                 AND expires_at > $1",
            )
            .bind(p.now)
            .bind(code_id)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
            if used.rows_affected() != 1 {
                return Ok(Err(AccountChangeOutcome::CodeUsed));
            }
            if previous.is_some() {
                crate::owner::remember_channel(conn, id, twostep_app::ports::Channel::Sms, p.now).await?;
            }
            // E.164 numbers are never empty, so '' stands for "no number".
            let set = sqlx::query("UPDATE accounts SET phone = $1 WHERE id = $2 AND COALESCE(phone, '') = $3")
                .bind(phone)
                .bind(id)
                .bind(previous.as_deref().unwrap_or(""))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            Ok(if set.rows_affected() == 1 { Ok(false) } else { Err(AccountChangeOutcome::Changed) })
        }
        AccountChange::BindTotp { setup, last_step, replacement_hold_until, .. } => {
            if setup.account_id != *id {
                return Ok(Err(AccountChangeOutcome::Changed));
            }
            match bind_factor(conn, setup, *last_step, p.now).await? {
                None => Ok(Err(AccountChangeOutcome::Changed)),
                Some(false) => Ok(Ok(false)),
                Some(true) => {
                    raise_hold(conn, id, *replacement_hold_until).await?;
                    Ok(Ok(true))
                }
            }
        }
        AccountChange::RemoveTotp => {
            let removed = sqlx::query("DELETE FROM totp_factors WHERE account_id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            Ok(if removed.rows_affected() == 1 { Ok(false) } else { Err(AccountChangeOutcome::Changed) })
        }
        AccountChange::AddPasskey { passkey, max } => {
            let added = passkey.account_id == *id && crate::passkeys::add_passkey(conn, passkey, *max).await?;
            Ok(if added { Ok(false) } else { Err(AccountChangeOutcome::Changed) })
        }
        AccountChange::RemovePasskey { id: passkey_id } => {
            let removed = crate::passkeys::remove_passkey(conn, id, passkey_id).await?;
            Ok(if removed { Ok(false) } else { Err(AccountChangeOutcome::Changed) })
        }
    }
}

#[async_trait]
impl AccountChangeStore for SqlStore {
    async fn apply_account_change(&self, p: &AccountChangePlan) -> StoreResult<AccountChangeOutcome> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        if let AccountChange::Password { .. } = p.change {
            // The owner's new password ends every recovery under way, which
            // someone may have opened with the old one. Cases are locked
            // before sign-in attempts and the account, as everywhere.
            sqlx::query(
                "UPDATE recovery_cases SET status = 'cancelled', cancelled_at = $2, closed_at = $2, \
                 decision_note = $3, active_account_id = NULL, version = version + 1, updated_at = $2 \
                 WHERE account_id = $1 AND (status = 'pending_review' OR (status = 'open' AND expires_at > $2))",
            )
            .bind(&p.account_id)
            .bind(p.now)
            .bind(STOPPED_BY_PASSWORD_CHANGE)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        if let SignOut::AllBut { .. } = p.sign_out {
            // Pending sign-ins first: a sign-in locks its attempt before the
            // account, and so does this, so neither waits on the other in a
            // circle. An attempt completing meanwhile is waited for, and its
            // new session is then revoked below.
            sqlx::query("UPDATE login_attempts SET state = 'dead' WHERE account_id = $1 AND state = 'pending'")
                .bind(&p.account_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        // Dropping the transaction on a refusal rolls it back.
        let replaced_authenticator = match write_change(&mut tx, p).await? {
            Ok(replaced) => replaced,
            Err(refusal) => return Ok(refusal),
        };
        if let Some(until) = p.hold_until {
            raise_hold(&mut tx, &p.account_id, until).await?;
        }
        if let SignOut::AllBut { keep } = &p.sign_out {
            sqlx::query(
                "UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL AND token_hash <> $3",
            )
            .bind(p.now)
            .bind(&p.account_id)
            .bind(keep)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        if let Some(subject) = &p.clear_failures {
            forget_failures(&mut tx, &[subject.as_str()]).await?;
        }
        // A replaced authenticator tells the owner of the replacement, with
        // its hold; a first one, that one was bound.
        let notices = match &p.change {
            AccountChange::BindTotp { replacement_notices, .. } if replaced_authenticator => replacement_notices,
            _ => &p.effects.notices,
        };
        write_effects(&mut tx, &p.effects.audit, notices).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(AccountChangeOutcome::Applied { replaced_authenticator })
    }
}
