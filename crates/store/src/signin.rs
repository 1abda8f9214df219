//! The second step of signing in, in as few round trips as the rules allow:
//! one read for everything the decision needs, one transaction for all the
//! writes of a success (the used step, the completed attempt, the session,
//! the audit entry) and one for a refusal. The conditional writes inside keep
//! every single-use rule: of two concurrent callers exactly one completes.

use std::sync::LazyLock;

use sqlx::Row;
use twostep_app::ports::{
    FailureState, SignInContext, SignInFailure, SignInOutcome, SignInSuccess, StoreError, StoreResult, TotpFactor,
};
use twostep_domain::{LoginAttempt, LoginState};

use crate::accounts::{account_from_row, ACCOUNT_COLUMNS};
use crate::{db_err, SqlStore};

static CONTEXT_SQL: LazyLock<String> = LazyLock::new(|| {
    let account_columns: Vec<String> = ACCOUNT_COLUMNS.split(',').map(|c| format!("a.{}", c.trim())).collect();
    format!(
        "SELECT l.id AS l_id, l.account_id AS l_account_id, l.state AS l_state, l.failures AS l_failures, \
         l.expires_at AS l_expires_at, {}, \
         f.sealed_secret AS f_sealed_secret, f.last_step AS f_last_step, f.created_at AS f_created_at, \
         (SELECT COUNT(*) FROM failures x WHERE x.subject = $2 || a.email AND x.at > $3) AS recent_failures, \
         s.consecutive AS s_consecutive, s.last_failure_at AS s_last_failure_at \
         FROM login_attempts l JOIN accounts a ON a.id = l.account_id \
         LEFT JOIN totp_factors f ON f.account_id = a.id \
         LEFT JOIN failure_streaks s ON s.subject = $2 || a.email \
         WHERE l.id = $1",
        account_columns.join(", ")
    )
});

impl SqlStore {
    pub(crate) async fn sign_in_context_impl(&self, login_id: &str, prefix: &str, since: i64) -> StoreResult<Option<SignInContext>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(CONTEXT_SQL.as_str()))
            .bind(login_id)
            .bind(prefix)
            .bind(since)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let state: String = row.try_get("l_state").map_err(db_err)?;
        let account = account_from_row(&row)?;
        let sealed: Option<Vec<u8>> = row.try_get("f_sealed_secret").map_err(db_err)?;
        let totp = match sealed {
            Some(sealed_secret) => Some(TotpFactor {
                account_id: account.id.clone(),
                sealed_secret,
                last_step: row.try_get("f_last_step").map_err(db_err)?,
                created_at: row.try_get("f_created_at").map_err(db_err)?,
            }),
            None => None,
        };
        let recent: i64 = row.try_get("recent_failures").map_err(db_err)?;
        let consecutive: Option<i64> = row.try_get("s_consecutive").map_err(db_err)?;
        let last_failure_at: Option<i64> = row.try_get("s_last_failure_at").map_err(db_err)?;
        Ok(Some(SignInContext {
            attempt: LoginAttempt {
                id: row.try_get("l_id").map_err(db_err)?,
                account_id: row.try_get("l_account_id").map_err(db_err)?,
                state: LoginState::try_from(state.as_str()).map_err(|e| StoreError::Other(e.to_string()))?,
                failures: row.try_get("l_failures").map_err(db_err)?,
                expires_at: row.try_get("l_expires_at").map_err(db_err)?,
            },
            account,
            totp,
            failures: FailureState { recent, consecutive: consecutive.unwrap_or(0), last_failure_at },
        }))
    }

    pub(crate) async fn complete_sign_in_impl(&self, s: &SignInSuccess) -> StoreResult<SignInOutcome> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        if let Some(step) = s.totp_step {
            let advanced = sqlx::query("UPDATE totp_factors SET last_step = $1 WHERE account_id = $2 AND last_step < $1")
                .bind(step)
                .bind(&s.account_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            if advanced.rows_affected() != 1 {
                return Ok(SignInOutcome::CodeAlreadyUsed);
            }
        }
        let completed = sqlx::query(
            "UPDATE login_attempts SET state = 'completed' \
             WHERE id = $1 AND state = 'pending' AND expires_at > $2 AND failures < $3",
        )
        .bind(&s.login_id)
        .bind(s.now)
        .bind(s.max_failures)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if completed.rows_affected() != 1 {
            return Ok(SignInOutcome::AttemptClosed);
        }
        sqlx::query("INSERT INTO sessions (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(&s.session_token_hash)
            .bind(&s.account_id)
            .bind(s.now)
            .bind(s.session_expires_at)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if s.clear_second_factor_failures {
            sqlx::query("UPDATE accounts SET second_factor_failures = 0 WHERE id = $1")
                .bind(&s.account_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        if let Some(subject) = &s.clear_subject {
            crate::throttle::forget_failures(&mut tx, subject).await?;
        }
        crate::records::insert_audit(&mut *tx, &s.audit).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(SignInOutcome::Completed)
    }

    pub(crate) async fn fail_sign_in_impl(&self, f: &SignInFailure) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query(
            "UPDATE login_attempts SET failures = failures + 1, \
             state = CASE WHEN failures + 1 >= $1 THEN 'dead' ELSE state END \
             WHERE id = $2 AND state = 'pending'",
        )
        .bind(f.max_failures)
        .bind(&f.login_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        // Rows are locked in the order a success locks them (attempt,
        // account, throttle, audit head): two sign-ins of one account, one
        // failing and one succeeding, deadlocked on PostgreSQL otherwise.
        let consecutive: i64 = sqlx::query(
            "UPDATE accounts SET second_factor_failures = second_factor_failures + 1 WHERE id = $1 \
             RETURNING second_factor_failures",
        )
        .bind(&f.account_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .map(|r| r.try_get::<i64, _>(0))
        .transpose()
        .map_err(db_err)?
        .unwrap_or(0);
        crate::throttle::count_failure(&mut tx, &f.subject, f.now).await?;
        crate::records::insert_audit(&mut *tx, &f.audit).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(consecutive)
    }
}
