//! The second step of signing in, in as few round trips as the rules allow:
//! one read for everything the decision needs, then the writes of successes
//! (the completed attempt, the used step, the device, the session, the audit
//! entry) and refusals (the counted failure everywhere) applied many sign-ins
//! at a time by `group_commit`, each kind of write one statement for the
//! whole group.
//! The conditional writes inside keep every single-use rule: of two
//! concurrent callers exactly one completes.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use sqlx::{AnyConnection, AnyPool, Row};
use twostep_app::devices::port::{Device, DeviceFacts};
use twostep_app::ports::{
    AuditEvent, FailureState, SignInContext, SignInFailure, SignInOutcome, SignInSuccess, StoreError, StoreResult,
    TotpFactor,
};
use twostep_domain::{LoginAttempt, LoginState};

use crate::accounts::{ACCOUNT_COLUMNS, account_from_row};
use crate::sql::{Query, by_ids, statement};
use crate::{SqlStore, db_err};

static CONTEXT_SQL: LazyLock<String> = LazyLock::new(|| {
    let account_columns: Vec<String> = ACCOUNT_COLUMNS.split(',').map(|c| format!("a.{}", c.trim())).collect();
    format!(
        "SELECT l.id AS l_id, l.account_id AS l_account_id, l.state AS l_state, l.failures AS l_failures, \
         l.expires_at AS l_expires_at, {}, \
         f.sealed_secret AS f_sealed_secret, f.last_step AS f_last_step, f.created_at AS f_created_at, \
         (SELECT COUNT(*) FROM failures x WHERE x.subject = $2 || a.email AND x.at > $3) AS recent_failures, \
         s.consecutive AS s_consecutive, s.last_failure_at AS s_last_failure_at, \
         a.device_confirmation AS a_device_confirmation, \
         CAST(CASE WHEN EXISTS (SELECT 1 FROM withdrawals w WHERE w.account_id = a.id) THEN 1 ELSE 0 END \
         AS BIGINT) AS a_withdrawals, \
         d.id AS d_id, d.first_seen_at AS d_first_seen_at, d.last_seen_at AS d_last_seen_at, d.ip AS d_ip, \
         d.user_agent AS d_user_agent, d.confirmed_at AS d_confirmed_at \
         FROM login_attempts l JOIN accounts a ON a.id = l.account_id \
         LEFT JOIN totp_factors f ON f.account_id = a.id \
         LEFT JOIN failure_streaks s ON s.subject = $2 || a.email \
         LEFT JOIN devices d ON d.account_id = a.id AND d.token_hash = $4 \
         WHERE l.id = $1",
        account_columns.join(", ")
    )
});

impl SqlStore {
    pub(crate) async fn sign_in_context_impl(
        &self,
        login_id: &str,
        prefix: &str,
        since: i64,
        device_token_hash: &str,
    ) -> StoreResult<Option<SignInContext>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(CONTEXT_SQL.as_str()))
            .bind(login_id)
            .bind(prefix)
            .bind(since)
            .bind(device_token_hash)
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
        let device_id: Option<String> = row.try_get("d_id").map_err(db_err)?;
        let known = match device_id {
            Some(id) => Some(Device {
                id,
                account_id: account.id.clone(),
                token_hash: device_token_hash.to_owned(),
                first_seen_at: row.try_get("d_first_seen_at").map_err(db_err)?,
                last_seen_at: row.try_get("d_last_seen_at").map_err(db_err)?,
                ip: row.try_get("d_ip").map_err(db_err)?,
                user_agent: row.try_get("d_user_agent").map_err(db_err)?,
                confirmed_at: row.try_get("d_confirmed_at").map_err(db_err)?,
            }),
            None => None,
        };
        let device = DeviceFacts {
            known,
            choice: row.try_get("a_device_confirmation").map_err(db_err)?,
            has_withdrawals: row.try_get::<i64, _>("a_withdrawals").map_err(db_err)? > 0,
        };
        Ok(Some(SignInContext {
            attempt: LoginAttempt {
                id: row.try_get("l_id").map_err(db_err)?,
                account_id: row.try_get("l_account_id").map_err(db_err)?,
                state: LoginState::try_from(state.as_str()).map_err(|e| StoreError::other(e.to_string()))?,
                failures: row.try_get("l_failures").map_err(db_err)?,
                expires_at: row.try_get("l_expires_at").map_err(db_err)?,
            },
            account,
            totp,
            failures: FailureState { recent, consecutive: consecutive.unwrap_or(0), last_failure_at },
            device,
        }))
    }
}

/// One sign-in's writes.
#[derive(Debug)]
pub(crate) enum Write {
    Success(SignInSuccess),
    Failure(SignInFailure),
}

/// What one sign-in's writes did: a success's outcome, or a refusal's
/// consecutive second-factor failures (None: not counted, see `apply`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Written {
    Success(SignInOutcome),
    Failure(Option<i64>),
}

impl Write {
    /// The rows this write changes, by which two writes may not share a group:
    /// its attempt, its account and its throttle subject.
    pub(crate) fn keys(&self) -> [&str; 3] {
        match self {
            Write::Success(s) => [&s.login_id, &s.account_id, s.clear_subject.as_deref().unwrap_or("")],
            Write::Failure(f) => [&f.login_id, &f.account_id, &f.subject],
        }
    }
}

async fn returned(conn: &mut AnyConnection, q: Query<'_>) -> StoreResult<HashSet<String>> {
    let rows = q.fetch_all(conn).await.map_err(db_err)?;
    rows.iter().map(|r| r.try_get::<String, _>(0).map_err(db_err)).collect()
}

async fn execute(conn: &mut AnyConnection, q: Query<'_>) -> StoreResult<()> {
    q.execute(conn).await.map_err(db_err).map(|_| ())
}

/// Applies the writes of many sign-ins in one transaction and says what each
/// did. No two of `writes` may share a key (`Write::keys`): each statement
/// changes every row at most once. Statements lock rows in the order of the
/// single-sign-in transactions before them: attempts, authenticators, sent
/// codes, accounts, throttle, audit head. `audit_chain` is false only in the
/// benchmark-only mode that measures what the chain costs (`BenchOnly`).
pub(crate) async fn apply(pool: &AnyPool, writes: &[&Write], audit_chain: bool) -> StoreResult<Vec<Written>> {
    let mut successes = Vec::new();
    let mut failures: Vec<&SignInFailure> = Vec::new();
    for w in writes {
        match w {
            Write::Success(s) => successes.push(s),
            Write::Failure(f) => failures.push(f),
        }
    }
    let mut tx = pool.begin().await.map_err(db_err)?;
    let conn: &mut AnyConnection = &mut tx;

    // Successes: complete the pending attempts, then use the steps and codes.
    let mut completed = HashSet::new();
    if !successes.is_empty() {
        let sql = format!(
            "UPDATE login_attempts SET state = 'completed' FROM (VALUES {}) AS v \
             WHERE login_attempts.id = v.column1 AND state = 'pending' AND expires_at > v.column2 \
             AND failures < v.column3 RETURNING id",
            crate::sql::values(successes.len(), 3)
        );
        let mut q = statement(sql, successes.len());
        for s in &successes {
            q = q.bind(&s.login_id).bind(s.now).bind(s.max_failures);
        }
        completed = returned(conn, q).await?;
    }
    let stepped: Vec<_> =
        successes.iter().filter(|s| completed.contains(&s.login_id) && s.totp_step.is_some()).collect();
    let mut advanced = HashSet::new();
    if !stepped.is_empty() {
        let sql = format!(
            "UPDATE totp_factors SET last_step = v.column2 FROM (VALUES {}) AS v \
             WHERE totp_factors.account_id = v.column1 AND totp_factors.last_step < v.column2 RETURNING account_id",
            crate::sql::values(stepped.len(), 2)
        );
        let mut q = statement(sql, stepped.len());
        for s in &stepped {
            q = q.bind(&s.account_id).bind(s.totp_step);
        }
        advanced = returned(conn, q).await?;
    }
    let coded: Vec<_> =
        successes.iter().filter(|s| completed.contains(&s.login_id) && s.sent_code_id.is_some()).collect();
    let mut consumed = HashSet::new();
    if !coded.is_empty() {
        let sql = format!(
            "UPDATE sent_codes SET used_at = v.column2 FROM (VALUES {}) AS v \
             WHERE sent_codes.id = v.column1 AND used_at IS NULL AND expires_at > v.column2 RETURNING id",
            crate::sql::values(coded.len(), 2)
        );
        let mut q = statement(sql, coded.len());
        for s in &coded {
            q = q.bind(s.sent_code_id.as_deref()).bind(s.now);
        }
        consumed = returned(conn, q).await?;
    }
    let used_meanwhile = |s: &SignInSuccess| {
        s.totp_step.is_some() && !advanced.contains(&s.account_id)
            || s.sent_code_id.as_ref().is_some_and(|id| !consumed.contains(id))
    };
    // An attempt whose step or code was used meanwhile stays pending, as it was.
    let replayed: Vec<&str> =
        stepped.iter().chain(&coded).filter(|s| used_meanwhile(s)).map(|s| s.login_id.as_str()).collect();
    if !replayed.is_empty() {
        execute(conn, by_ids("UPDATE login_attempts SET state = 'pending' WHERE id IN ({})", &replayed)).await?;
    }
    let outcome = |s: &SignInSuccess| {
        if !completed.contains(&s.login_id) {
            SignInOutcome::AttemptClosed
        } else if used_meanwhile(s) {
            SignInOutcome::CodeAlreadyUsed
        } else {
            SignInOutcome::Completed
        }
    };
    let won: Vec<&SignInSuccess> =
        successes.iter().copied().filter(|s| outcome(s) == SignInOutcome::Completed).collect();
    // A sign-in held for its new device's e-mail confirmation opens no
    // session here; it takes one once approved (`devices.rs`).
    crate::devices::write_sign_in_devices(conn, &won).await?;
    let opened: Vec<&SignInSuccess> = won.iter().copied().filter(|s| !s.held_for_device).collect();
    if !opened.is_empty() {
        // Stamped with the account's security epoch, and not opened at all
        // for an account frozen meanwhile: a freeze that commits after this
        // statement moves the epoch, so the session never works either way.
        let sql = format!(
            "INSERT INTO sessions (token_hash, account_id, created_at, expires_at, epoch, device_id, factors) \
             SELECT v.column1, v.column2, v.column3, v.column4, a.security_epoch, v.column5, v.column6 \
             FROM (VALUES {}) AS v JOIN accounts a ON a.id = v.column2 WHERE a.frozen_at IS NULL",
            crate::sql::values(opened.len(), 6)
        );
        let mut q = statement(sql, opened.len());
        for s in &opened {
            q = q
                .bind(&s.session_token_hash)
                .bind(&s.account_id)
                .bind(s.now)
                .bind(s.session_expires_at)
                .bind(s.device_id.as_deref())
                .bind(&s.factors);
        }
        execute(conn, q).await?;
    }

    // Refusals: count the failure on the attempt (killing it at the limit).
    // One whose attempt was completed meanwhile is a copy of the right code
    // that lost to its twin (a double submission), not a guess: nothing of
    // it is counted. A dead or expired attempt still counts everywhere else.
    if !failures.is_empty() {
        let sql = format!(
            "UPDATE login_attempts SET failures = failures + 1, \
             state = CASE WHEN failures + 1 >= v.column2 THEN 'dead' ELSE state END \
             FROM (VALUES {}) AS v WHERE login_attempts.id = v.column1 AND state = 'pending' RETURNING id",
            crate::sql::values(failures.len(), 2)
        );
        let mut q = statement(sql, failures.len());
        for f in &failures {
            q = q.bind(&f.login_id).bind(f.max_failures);
        }
        let pending = returned(conn, q).await?;
        let closed: Vec<&str> =
            failures.iter().filter(|f| !pending.contains(&f.login_id)).map(|f| f.login_id.as_str()).collect();
        if !closed.is_empty() {
            let q = by_ids("SELECT id FROM login_attempts WHERE id IN ({}) AND state = 'completed'", &closed);
            let won = returned(conn, q).await?;
            failures.retain(|f| !won.contains(&f.login_id));
        }
    }
    let counted: HashSet<&str> = failures.iter().map(|f| f.login_id.as_str()).collect();

    // Accounts: a success clears the second-factor failures, a refusal adds one.
    let cleared: Vec<&str> =
        won.iter().filter(|s| s.clear_second_factor_failures).map(|s| s.account_id.as_str()).collect();
    if !cleared.is_empty() {
        execute(conn, by_ids("UPDATE accounts SET second_factor_failures = 0 WHERE id IN ({})", &cleared)).await?;
    }
    let mut consecutive = HashMap::new();
    if !failures.is_empty() {
        let ids: Vec<&str> = failures.iter().map(|f| f.account_id.as_str()).collect();
        let q = by_ids(
            "UPDATE accounts SET second_factor_failures = second_factor_failures + 1 WHERE id IN ({}) \
             RETURNING id, second_factor_failures",
            &ids,
        );
        for r in q.fetch_all(&mut *conn).await.map_err(db_err)? {
            consecutive.insert(r.try_get::<String, _>(0).map_err(db_err)?, r.try_get::<i64, _>(1).map_err(db_err)?);
        }
    }

    // Throttle: a success forgets its subject's failures, a refusal counts one.
    let forgotten: Vec<&str> = won.iter().filter_map(|s| s.clear_subject.as_deref()).collect();
    crate::throttle::forget_failures(conn, &forgotten).await?;
    let counted_failures: Vec<(&str, i64)> = failures.iter().map(|f| (f.subject.as_str(), f.now)).collect();
    crate::throttle::count_failures(conn, &counted_failures).await?;

    // The audit entries, chained in the order of `writes`.
    // A counted refusal records itself, the replay it was (if so) and the
    // lock-out it caused (if so).
    let audit: Vec<&AuditEvent> = writes
        .iter()
        .flat_map(|w| match w {
            Write::Success(s) if outcome(s) == SignInOutcome::Completed => vec![&s.audit],
            Write::Success(_) => vec![],
            Write::Failure(f) if counted.contains(f.login_id.as_str()) => {
                let locked = consecutive.get(&f.account_id) == Some(&f.lock_after);
                std::iter::once(&f.audit).chain(&f.replayed).chain(locked.then_some(&f.locked)).collect()
            }
            Write::Failure(_) => vec![],
        })
        .collect();
    if audit_chain {
        crate::records::insert_audits(conn, &audit).await?;
    } else {
        crate::records::insert_audits_unchained(conn, &audit).await?;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(writes
        .iter()
        .map(|w| match w {
            Write::Success(s) => Written::Success(outcome(s)),
            Write::Failure(f) if !counted.contains(f.login_id.as_str()) => Written::Failure(None),
            Write::Failure(f) => Written::Failure(Some(consecutive.get(&f.account_id).copied().unwrap_or(0))),
        })
        .collect())
}
