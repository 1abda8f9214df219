//! Recovery cases, their cancel tokens, answers and sealed documents, and the
//! account's security answers. Every change to a case is an UPDATE over the
//! version the use case checked (`WHERE id = $1 AND version = $2`), so of two
//! racing requests exactly one changes the row. Multi-table changes (answers,
//! documents, and every decision: opening, submission, first approval,
//! approval, rejection, cancel, freezing, unfreezing, each with its audit
//! entries and notices) run in one transaction that starts with its
//! conditional write, so SQLite takes the write lock first and the loser of a
//! race never half-applies anything. The audit chain's head is locked last.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use twostep_app::ports::{AuditEvent, Channel, QueuedMessage, StoreError, StoreResult};
use twostep_app::recovery::port::{
    AnswerOutcome, ApprovalOutcome, ApprovalPlan, CaseChange, CaseRecord, DocumentInfo, Effects, IdentityRecord,
    NewCase, OpenOutcome, Opening, RecoveryStore, SUPERSEDED, SecurityAnswer,
};
use twostep_domain::recovery::{CaseStatus, RecoveryCase, RecoveryStep, ResetItem, join_names, parse_names};

use crate::queue::insert_message;
use crate::records::{insert_audit, insert_audits};
use crate::{SqlStore, db_err};

const CASE_COLUMNS: [&str; 42] = [
    "id",
    "account_id",
    "status",
    "version",
    "required_steps",
    "reset_items",
    "new_phone",
    "new_email",
    "items_at",
    "codes_sent_at",
    "phone_target",
    "email_target",
    "phone_verified_at",
    "email_verified_at",
    "codes_at",
    "questions_at",
    "answers_total",
    "answers_right",
    "identity_at",
    "country",
    "id_type",
    "created_at",
    "updated_at",
    "expires_at",
    "open_ip",
    "open_user_agent",
    "submitted_at",
    "submit_ip",
    "submit_user_agent",
    "risk_score",
    "risk_signals",
    "first_approved_by",
    "first_approved_at",
    "first_approval_note",
    "decided_by",
    "decided_at",
    "decision_note",
    "hold_until",
    "cancelled_at",
    "closed_at",
    "documents_purged_at",
    "new_password_hash",
];

/// `SELECT` list of the case columns, each prefixed with `alias.`.
fn case_columns(alias: &str) -> String {
    CASE_COLUMNS.iter().map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}

fn other(e: impl std::fmt::Display) -> StoreError {
    StoreError::other(e.to_string())
}

fn case_from_row(row: &AnyRow) -> StoreResult<CaseRecord> {
    let get_s = |c: &str| row.try_get::<String, _>(c).map_err(db_err);
    let get_os = |c: &str| row.try_get::<Option<String>, _>(c).map_err(db_err);
    let get_i = |c: &str| row.try_get::<i64, _>(c).map_err(db_err);
    let get_oi = |c: &str| row.try_get::<Option<i64>, _>(c).map_err(db_err);
    let status = get_s("status")?;
    let case = RecoveryCase {
        id: get_s("id")?,
        account_id: get_s("account_id")?,
        status: CaseStatus::try_from(status.as_str()).map_err(other)?,
        version: get_i("version")?,
        required_steps: parse_names::<RecoveryStep>(&get_s("required_steps")?).map_err(other)?,
        reset_items: parse_names::<ResetItem>(&get_s("reset_items")?).map_err(other)?,
        new_phone: get_os("new_phone")?,
        new_email: get_os("new_email")?,
        items_at: get_oi("items_at")?,
        codes_sent_at: get_oi("codes_sent_at")?,
        phone_target: get_os("phone_target")?,
        email_target: get_os("email_target")?,
        phone_verified_at: get_oi("phone_verified_at")?,
        email_verified_at: get_oi("email_verified_at")?,
        codes_at: get_oi("codes_at")?,
        questions_at: get_oi("questions_at")?,
        identity_at: get_oi("identity_at")?,
        created_at: get_i("created_at")?,
        expires_at: get_i("expires_at")?,
        submitted_at: get_oi("submitted_at")?,
        decided_at: get_oi("decided_at")?,
        hold_until: get_oi("hold_until")?,
        first_approved_by: get_os("first_approved_by")?,
    };
    Ok(CaseRecord {
        case,
        updated_at: get_i("updated_at")?,
        open_ip: get_s("open_ip")?,
        open_user_agent: get_s("open_user_agent")?,
        submit_ip: get_os("submit_ip")?,
        submit_user_agent: get_os("submit_user_agent")?,
        answers_total: get_i("answers_total")?,
        answers_right: get_i("answers_right")?,
        country: get_os("country")?,
        id_type: get_os("id_type")?,
        risk_score: get_oi("risk_score")?,
        risk_signals: get_os("risk_signals")?,
        first_approved_at: get_oi("first_approved_at")?,
        first_approval_note: get_os("first_approval_note")?,
        decided_by: get_os("decided_by")?,
        decision_note: get_os("decision_note")?,
        cancelled_at: get_oi("cancelled_at")?,
        closed_at: get_oi("closed_at")?,
        documents_purged_at: get_oi("documents_purged_at")?,
        sets_password: get_os("new_password_hash")?.is_some(),
    })
}

/// Kills every pending sign-in of an account. A transaction that also
/// changes the account runs this before touching the account's row: the
/// second sign-in step locks the attempt first and the account after it
/// (`signin::apply`), and the opposite order would let the two deadlock.
pub(crate) async fn close_pending_sign_ins(conn: &mut AnyConnection, account_id: &str) -> StoreResult<()> {
    sqlx::query("UPDATE login_attempts SET state = 'dead' WHERE account_id = $1 AND state = 'pending'")
        .bind(account_id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Revokes every session of an account, including one a sign-in completed
/// just before `close_pending_sign_ins` (which waited for it to commit).
pub(crate) async fn revoke_sessions(conn: &mut AnyConnection, account_id: &str, now: i64) -> StoreResult<()> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(account_id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Queues a decision's notices and appends its audit entries, inside the
/// decision's transaction. The audit chain's head is row-locked last, after
/// every other row the transaction touches, as in every other transaction.
pub(crate) async fn write_effects(
    conn: &mut AnyConnection,
    audit: &[AuditEvent],
    notices: &[QueuedMessage],
) -> StoreResult<()> {
    for notice in notices {
        insert_message(&mut *conn, notice).await?;
    }
    insert_audits(&mut *conn, &audit.iter().collect::<Vec<_>>()).await
}

/// One conditional write and, when it changed exactly one row, its
/// effects, in one transaction; whether it changed one.
pub(crate) async fn write_one_with_effects<'q>(
    store: &SqlStore,
    write: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    effects: &Effects,
) -> StoreResult<bool> {
    let mut tx = store.pool.begin().await.map_err(db_err)?;
    let done = write.execute(&mut *tx).await.map_err(db_err)?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    write_effects(&mut tx, &effects.audit, &effects.notices).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(true)
}

impl SqlStore {
    async fn one_case(&self, sql: String, key: &str) -> StoreResult<Option<CaseRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(key.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(case_from_row).transpose()
    }
}

#[async_trait]
impl RecoveryStore for SqlStore {
    async fn open_case(&self, c: &NewCase, opening: &Opening, now: i64) -> StoreResult<OpenOutcome> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query(
            "UPDATE recovery_cases SET status = 'expired', closed_at = expires_at, active_account_id = NULL, \
             version = version + 1 WHERE active_account_id = $1 AND status = 'open' AND expires_at <= $2",
        )
        .bind(&c.account_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let superseded = sqlx::query(
            "UPDATE recovery_cases SET status = 'cancelled', cancelled_at = $1, closed_at = $1, decision_note = $2, \
             active_account_id = NULL, version = version + 1, updated_at = $1 \
             WHERE active_account_id = $3 AND status = 'open' AND open_ip = $4 RETURNING id",
        )
        .bind(now)
        .bind(SUPERSEDED)
        .bind(&c.account_id)
        .bind(&c.ip)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .map(|r| r.try_get::<String, _>(0).map_err(db_err))
        .transpose()?;
        let inserted = sqlx::query(
            "INSERT INTO recovery_cases (id, account_id, active_account_id, token_hash, status, required_steps, \
             created_at, updated_at, expires_at, open_ip, open_user_agent, new_password_hash) \
             VALUES ($1, $2, $2, $3, 'open', $4, $5, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
        )
        .bind(&c.id)
        .bind(&c.account_id)
        .bind(&c.token_hash)
        .bind(join_names(&c.required_steps, RecoveryStep::as_str))
        .bind(c.created_at)
        .bind(c.expires_at)
        .bind(&c.ip)
        .bind(&c.user_agent)
        .bind(&c.new_password_hash)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if inserted.rows_affected() != 1 {
            return Ok(OpenOutcome::Busy);
        }
        sqlx::query("INSERT INTO recovery_cancel_tokens (token_hash, case_id, created_at) VALUES ($1, $2, $3)")
            .bind(&opening.cancel_token_hash)
            .bind(&c.id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let superseded_event =
            superseded.as_ref().map(|old| AuditEvent { detail: format!("case {old}"), ..opening.superseded.clone() });
        let audit: Vec<AuditEvent> =
            superseded_event.into_iter().chain(opening.effects.audit.iter().cloned()).collect();
        // A retry from the same opener: the owner was told of the first case,
        // and its cancel code stops this one too.
        let notices: &[QueuedMessage] = if superseded.is_some() { &[] } else { &opening.effects.notices };
        write_effects(&mut tx, &audit, notices).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(OpenOutcome::Opened { superseded })
    }

    async fn case_by_id(&self, id: &str) -> StoreResult<Option<CaseRecord>> {
        self.one_case(format!("SELECT {} FROM recovery_cases c WHERE c.id = $1", case_columns("c")), id).await
    }

    async fn case_by_token(&self, token_hash: &str) -> StoreResult<Option<CaseRecord>> {
        self.one_case(format!("SELECT {} FROM recovery_cases c WHERE c.token_hash = $1", case_columns("c")), token_hash)
            .await
    }

    async fn case_by_cancel_token(&self, token_hash: &str) -> StoreResult<Option<CaseRecord>> {
        let sql = format!(
            "SELECT {} FROM recovery_cases c JOIN recovery_cancel_tokens t ON t.case_id = c.id WHERE t.token_hash = $1",
            case_columns("c")
        );
        self.one_case(sql, token_hash).await
    }

    async fn cases_of_account(&self, account_id: &str) -> StoreResult<Vec<CaseRecord>> {
        let sql = format!(
            "SELECT {} FROM recovery_cases c WHERE c.account_id = $1 ORDER BY c.created_at DESC, c.id DESC",
            case_columns("c")
        );
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_id).fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(case_from_row).collect()
    }

    async fn case_ids_with_prefix(&self, prefix: &str, limit: i64) -> StoreResult<Vec<String>> {
        // Hex only, so the pattern has no wildcard but the trailing one.
        if !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Vec::new());
        }
        sqlx::query_scalar("SELECT id FROM recovery_cases WHERE id LIKE $1 ORDER BY id LIMIT $2")
            .bind(format!("{}%", prefix.to_ascii_lowercase()))
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)
    }

    async fn cases_with_status(&self, status: &str, limit: i64) -> StoreResult<Vec<CaseRecord>> {
        let sql = format!(
            "SELECT {} FROM recovery_cases c WHERE c.status = $1 ORDER BY c.submitted_at, c.created_at, c.id LIMIT $2",
            case_columns("c")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(status)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(case_from_row).collect()
    }

    async fn update_case(&self, case_id: &str, version: i64, now: i64, change: &CaseChange) -> StoreResult<bool> {
        self.decide_case(case_id, version, now, change, &Effects::default()).await
    }

    async fn decide_case(
        &self,
        case_id: &str,
        version: i64,
        now: i64,
        change: &CaseChange,
        effects: &Effects,
    ) -> StoreResult<bool> {
        // $1 id, $2 version, $3 now, $4 the renewed expiry; then the change's own values.
        // A frozen account's cases do not move on (rejecting or cancelling
        // one still may: that changes nothing on the account), except one
        // opened after the freeze: the owner's way back, which staff review.
        const OPEN: &str = "WHERE id = $1 AND version = $2 AND status = 'open' AND expires_at > $3 \
                            AND NOT EXISTS (SELECT 1 FROM accounts f WHERE f.id = account_id \
                            AND f.frozen_at >= recovery_cases.created_at)";
        const PENDING: &str = "WHERE id = $1 AND version = $2 AND status = 'pending_review'";
        const NOT_FROZEN: &str = "AND NOT EXISTS (SELECT 1 FROM accounts f WHERE f.id = account_id \
                                  AND f.frozen_at >= recovery_cases.created_at)";
        // Every change renews the expiry; it only matters while the case is open.
        const RENEW: &str = "version = version + 1, updated_at = $3, expires_at = $4";
        let renewed = RecoveryCase::renewed_expiry(now);
        let q = |sql: String| {
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(case_id.to_owned()).bind(version).bind(now).bind(renewed)
        };
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = match change {
            CaseChange::Items { reset, new_phone, new_email, required_steps } => q(format!(
                "UPDATE recovery_cases SET reset_items = $5, new_phone = $6, new_email = $7, required_steps = $8, \
                 items_at = $3, codes_sent_at = NULL, phone_target = NULL, email_target = NULL, {RENEW} {OPEN}"
            ))
            .bind(join_names(reset, ResetItem::as_str))
            .bind(new_phone.clone())
            .bind(new_email.clone())
            .bind(join_names(required_steps, RecoveryStep::as_str)),
            CaseChange::CodesSent { phone_target, email_target } => q(format!(
                "UPDATE recovery_cases SET codes_sent_at = $3, phone_target = $5, email_target = $6, {RENEW} {OPEN}"
            ))
            .bind(phone_target.clone())
            .bind(email_target.clone()),
            CaseChange::CodesProven { phone, email, done } => q(format!(
                "UPDATE recovery_cases SET phone_verified_at = COALESCE(phone_verified_at, $5), \
                 email_verified_at = COALESCE(email_verified_at, $6), codes_at = COALESCE(codes_at, $7), {RENEW} {OPEN}"
            ))
            .bind(phone.then_some(now))
            .bind(email.then_some(now))
            .bind(done.then_some(now)),
            CaseChange::Submitted { risk_score, risk_signals, ip, user_agent, .. } => q(format!(
                "UPDATE recovery_cases SET status = 'pending_review', submitted_at = $3, risk_score = $5, \
                 risk_signals = $6, submit_ip = $7, submit_user_agent = $8, {RENEW} {OPEN}"
            ))
            .bind(*risk_score)
            .bind(risk_signals.clone())
            .bind(ip.clone())
            .bind(user_agent.clone()),
            CaseChange::FirstApproval { reviewer_id, note } => q(format!(
                "UPDATE recovery_cases SET first_approved_by = $5, first_approved_at = $3, first_approval_note = $6, \
                 {RENEW} {PENDING} AND first_approved_by IS NULL {NOT_FROZEN}"
            ))
            .bind(reviewer_id.clone())
            .bind(note.clone()),
            CaseChange::Rejected { reviewer_id, reason } => q(format!(
                "UPDATE recovery_cases SET status = 'rejected', decided_by = $5, decided_at = $3, decision_note = $6, \
                 closed_at = $3, active_account_id = NULL, {RENEW} {PENDING}"
            ))
            .bind(reviewer_id.clone())
            .bind(reason.clone()),
            CaseChange::Cancelled { reason } => q(format!(
                "UPDATE recovery_cases SET status = 'cancelled', cancelled_at = $3, closed_at = $3, decision_note = $5, \
                 active_account_id = NULL, {RENEW} \
                 WHERE id = $1 AND version = $2 AND status IN ('open', 'pending_review')"
            ))
            .bind(reason.clone()),
        }
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected()
            == 1;
        if !done {
            return Ok(false);
        }
        if let CaseChange::Submitted { cancel_token_hash, .. } = change {
            // The case's one cancel code is usually known already; a new one
            // (the master key rotated since opening) is added beside it.
            sqlx::query(
                "INSERT INTO recovery_cancel_tokens (token_hash, case_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (token_hash) DO NOTHING",
            )
            .bind(cancel_token_hash)
            .bind(case_id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        write_effects(&mut tx, &effects.audit, &effects.notices).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn add_cancel_token(&self, case_id: &str, token_hash: &str, now: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO recovery_cancel_tokens (token_hash, case_id, created_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(case_id)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn record_answers(
        &self,
        case_id: &str,
        version: i64,
        now: i64,
        answers: &[AnswerOutcome],
        right: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = sqlx::query(
            "UPDATE recovery_cases SET questions_at = $3, answers_total = $5, answers_right = $6, \
             version = version + 1, updated_at = $3, expires_at = $4 \
             WHERE id = $1 AND version = $2 AND status = 'open' AND expires_at > $3 AND questions_at IS NULL",
        )
        .bind(case_id)
        .bind(version)
        .bind(now)
        .bind(RecoveryCase::renewed_expiry(now))
        .bind(answers.len() as i64)
        .bind(right)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        for a in answers {
            sqlx::query("INSERT INTO recovery_answers (case_id, question_id, outcome) VALUES ($1, $2, $3)")
                .bind(case_id)
                .bind(&a.question_id)
                .bind(&a.outcome)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn case_answers(&self, case_id: &str) -> StoreResult<Vec<AnswerOutcome>> {
        let rows =
            sqlx::query("SELECT question_id, outcome FROM recovery_answers WHERE case_id = $1 ORDER BY question_id")
                .bind(case_id)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(AnswerOutcome {
                    question_id: r.try_get("question_id").map_err(db_err)?,
                    outcome: r.try_get("outcome").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn record_identity(
        &self,
        case_id: &str,
        version: i64,
        now: i64,
        identity: &IdentityRecord,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = sqlx::query(
            "UPDATE recovery_cases SET identity_at = $3, country = $5, id_type = $6, \
             version = version + 1, updated_at = $3, expires_at = $4 \
             WHERE id = $1 AND version = $2 AND status = 'open' AND expires_at > $3 AND identity_at IS NULL",
        )
        .bind(case_id)
        .bind(version)
        .bind(now)
        .bind(RecoveryCase::renewed_expiry(now))
        .bind(&identity.country)
        .bind(&identity.id_type)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        for d in &identity.documents {
            sqlx::query(
                "INSERT INTO recovery_documents (case_id, slot, content_type, width, height, size_bytes, sealed, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(case_id)
            .bind(&d.slot)
            .bind(&d.content_type)
            .bind(d.width)
            .bind(d.height)
            .bind(d.size_bytes)
            .bind(&d.sealed)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn case_documents(&self, case_id: &str) -> StoreResult<Vec<DocumentInfo>> {
        let rows = sqlx::query(
            "SELECT slot, content_type, width, height, size_bytes, created_at FROM recovery_documents \
             WHERE case_id = $1 ORDER BY created_at, slot",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(DocumentInfo {
                    slot: r.try_get("slot").map_err(db_err)?,
                    content_type: r.try_get("content_type").map_err(db_err)?,
                    width: r.try_get("width").map_err(db_err)?,
                    height: r.try_get("height").map_err(db_err)?,
                    size_bytes: r.try_get("size_bytes").map_err(db_err)?,
                    created_at: r.try_get("created_at").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn case_document(&self, case_id: &str, slot: &str) -> StoreResult<Option<(String, Vec<u8>)>> {
        let row = sqlx::query("SELECT content_type, sealed FROM recovery_documents WHERE case_id = $1 AND slot = $2")
            .bind(case_id)
            .bind(slot)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| Ok((r.try_get("content_type").map_err(db_err)?, r.try_get("sealed").map_err(db_err)?))).transpose()
    }

    async fn approve_case(&self, p: &ApprovalPlan) -> StoreResult<ApprovalOutcome> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let won = sqlx::query(
            "UPDATE recovery_cases SET status = 'approved', decided_by = $3, decided_at = $4, decision_note = $5, \
             hold_until = $6, closed_at = $4, active_account_id = NULL, version = version + 1, updated_at = $4 \
             WHERE id = $1 AND version = $2 AND status = 'pending_review' \
             AND NOT EXISTS (SELECT 1 FROM accounts f WHERE f.id = $7 AND f.frozen_at >= recovery_cases.created_at)",
        )
        .bind(&p.case_id)
        .bind(p.version)
        .bind(&p.reviewer_id)
        .bind(p.now)
        .bind(&p.note)
        .bind(p.hold_until)
        .bind(&p.account_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if won.rows_affected() != 1 {
            return Ok(ApprovalOutcome::Lost);
        }
        // Rows in the order every transaction takes them: sign-in attempts,
        // authenticator, account, sessions, then notices and the audit head.
        close_pending_sign_ins(&mut tx, &p.account_id).await?;
        if p.remove_authenticator {
            for sql in
                ["DELETE FROM totp_factors WHERE account_id = $1", "DELETE FROM totp_setups WHERE account_id = $1"]
            {
                sqlx::query(sql).bind(&p.account_id).execute(&mut *tx).await.map_err(db_err)?;
            }
        }
        if p.remove_passkeys {
            sqlx::query("DELETE FROM passkeys WHERE account_id = $1")
                .bind(&p.account_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        if p.new_email.is_some() {
            crate::owner::remember_channel(&mut tx, &p.account_id, Channel::Email, p.now).await?;
        }
        if p.new_phone.is_some() {
            crate::owner::remember_channel(&mut tx, &p.account_id, Channel::Sms, p.now).await?;
        }
        if let Some(email) = &p.new_email {
            let moved = sqlx::query(
                "UPDATE accounts SET email = $1, email_verified_at = $2 WHERE id = $3 \
                 AND NOT EXISTS (SELECT 1 FROM accounts other WHERE other.email = $1 AND other.id <> $3)",
            )
            .bind(email)
            .bind(p.now)
            .bind(&p.account_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if moved.rows_affected() != 1 {
                return Ok(ApprovalOutcome::EmailTaken);
            }
        }
        if let Some(phone) = &p.new_phone {
            sqlx::query("UPDATE accounts SET phone = $1 WHERE id = $2")
                .bind(phone)
                .bind(&p.account_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        if p.set_password {
            sqlx::query(
                "UPDATE accounts SET password_hash = (SELECT c.new_password_hash FROM recovery_cases c \
                 WHERE c.id = $1 AND c.new_password_hash IS NOT NULL) WHERE id = $2 AND EXISTS \
                 (SELECT 1 FROM recovery_cases c WHERE c.id = $1 AND c.new_password_hash IS NOT NULL)",
            )
            .bind(&p.case_id)
            .bind(&p.account_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        // A freeze still in force is older than the case (a younger one made
        // the approval lose above): the approved case is the way back.
        sqlx::query(
            "UPDATE accounts SET second_factor_failures = 0, security_epoch = security_epoch + 1, frozen_at = NULL, \
             withdrawals_blocked_until = CASE WHEN withdrawals_blocked_until IS NULL OR withdrawals_blocked_until < $1 \
             THEN $1 ELSE withdrawals_blocked_until END WHERE id = $2",
        )
        .bind(p.hold_until)
        .bind(&p.account_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        // Reset factors leave a staff role without power until an admin
        // confirms the account (`twostep staff confirm`).
        sqlx::query("UPDATE accounts SET unconfirmed_reset_at = $1 WHERE id = $2")
            .bind(p.now)
            .bind(&p.account_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        revoke_sessions(&mut tx, &p.account_id, p.now).await?;
        write_effects(&mut tx, &p.audit, &p.notices).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(ApprovalOutcome::Approved)
    }

    async fn cancel_and_freeze(
        &self,
        case_id: &str,
        version: i64,
        account_id: &str,
        now: i64,
        effects: &Effects,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let won = sqlx::query(
            "UPDATE recovery_cases SET status = 'cancelled', cancelled_at = $3, version = version + 1, updated_at = $3 \
             WHERE id = $1 AND version = $2 AND status = 'approved' AND account_id = $4",
        )
        .bind(case_id)
        .bind(version)
        .bind(now)
        .bind(account_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if won.rows_affected() != 1 {
            return Ok(false);
        }
        // Attempts before the account, as in the second sign-in step.
        close_pending_sign_ins(&mut tx, account_id).await?;
        sqlx::query("UPDATE accounts SET frozen_at = $1, security_epoch = security_epoch + 1 WHERE id = $2 AND frozen_at IS NULL")
            .bind(now)
            .bind(account_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        revoke_sessions(&mut tx, account_id, now).await?;
        write_effects(&mut tx, &effects.audit, &effects.notices).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn unfreeze_account(&self, account_id: &str, audit: &AuditEvent) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = sqlx::query("UPDATE accounts SET frozen_at = NULL WHERE id = $1 AND frozen_at IS NOT NULL")
            .bind(account_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn expire_idle_cases(&self, now: i64) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE recovery_cases SET status = 'expired', closed_at = expires_at, active_account_id = NULL, \
             version = version + 1 WHERE status = 'open' AND expires_at <= $1",
        )
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn purge_documents(&self, closed_before: i64, now: i64) -> StoreResult<u64> {
        let gone = sqlx::query(
            "DELETE FROM recovery_documents WHERE case_id IN \
             (SELECT id FROM recovery_cases WHERE closed_at IS NOT NULL AND closed_at <= $1)",
        )
        .bind(closed_before)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        sqlx::query(
            "UPDATE recovery_cases SET documents_purged_at = $1 \
             WHERE closed_at IS NOT NULL AND closed_at <= $2 AND identity_at IS NOT NULL AND documents_purged_at IS NULL",
        )
        .bind(now)
        .bind(closed_before)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(gone.rows_affected())
    }

    async fn set_security_answers(&self, account_id: &str, answers: &[(String, String)], now: i64) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query("DELETE FROM security_answers WHERE account_id = $1")
            .bind(account_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        for (question_id, hash) in answers {
            sqlx::query(
                "INSERT INTO security_answers (account_id, question_id, answer_hash, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(account_id)
            .bind(question_id)
            .bind(hash)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn security_answers(&self, account_id: &str) -> StoreResult<Vec<SecurityAnswer>> {
        let rows = sqlx::query(
            "SELECT question_id, answer_hash, created_at FROM security_answers WHERE account_id = $1 ORDER BY question_id",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(SecurityAnswer {
                    question_id: r.try_get("question_id").map_err(db_err)?,
                    answer_hash: r.try_get("answer_hash").map_err(db_err)?,
                    created_at: r.try_get("created_at").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn last_withdrawal(&self, account_id: &str) -> StoreResult<Option<(String, i64)>> {
        let row = sqlx::query(
            "SELECT asset, created_at FROM withdrawals WHERE account_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| Ok((r.try_get("asset").map_err(db_err)?, r.try_get("created_at").map_err(db_err)?))).transpose()
    }
}
