//! Lost-2FA recovery ("Security check not available"): a user who lost the
//! authenticator and the phone opens a case after the password step, proves
//! who they are step by step, and staff decide. This module owns the use
//! cases of that flow and its settings; the rules are in
//! `twostep_domain::recovery`, the storage behind `RecoveryStore`.
//!
//! - `open`: opening a case, the owner's view of it, "confirm restore", codes
//! - `evidence`: questions, identity documents, submission
//! - `questions`: the account's own security questions and account facts
//! - `cancel`: the owner's "this wasn't me" token, and the expiry/purge job
//! - `review`: the staff queue, evidence, approval and rejection
//! - `signals`: gathering what the risk score looks at
//!
//! It must not reach around the rules: every change to a case is checked
//! by the domain state machine and written over the version checked. A
//! decision (opening, submission, first approval, approval, rejection, the
//! owner's cancel, lifting a freeze) seals its notices and builds its audit
//! entries first, then hands them to the store with the change: they land in
//! its one transaction or not at all, so neither a lost race nor a crash
//! leaves a decision untold or unaudited.

mod cancel;
mod evidence;
mod open;
pub mod port;
mod questions;
mod review;
mod signals;

pub use cancel::CancelOutcome;
pub use evidence::IdentitySubmission;
pub use open::{CaseView, CodesSentTo, OpenedCase, RECOVERY_UNDER_WAY};
pub use questions::Question;
pub use review::{ApprovalResult, CaseEvidence, QueueEntry};

use twostep_domain::DomainError;
use twostep_domain::recovery::{DEFAULT_RECOVERY_CODE_TTL_S, DEFAULT_RECOVERY_HOLD_S, RecoveryPolicy};
use twostep_domain::risk::DEFAULT_HIGH_RISK_SCORE;

use crate::crypto::token_hash;
use twostep_domain::audit_kind::AuditKind;

use crate::error::{AppError, AppResult};
use crate::ports::{AccountRecord, AuditEvent, Channel, QueuedMessage};
use crate::{App, RequestMeta};
use port::{CaseRecord, Effects};

/// Recovery knobs; the command line fills them, tests build them directly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoverySettings {
    /// Lifetime of a case's codes: 10 minutes by default, 30 at most.
    pub code_ttl_s: i64,
    /// Withdrawal hold from the approval time.
    pub hold_s: i64,
    /// Which steps a case needs.
    pub policy: RecoveryPolicy,
    /// From this risk score on, two different reviewers must approve.
    pub high_risk_score: i64,
    /// Documents are deleted this long after the case is closed.
    pub document_retention_s: i64,
    pub opens_per_account_per_day: i64,
    /// Cases one opener (an IP address) may open for one account per day.
    pub opens_per_opener_per_day: i64,
    pub opens_per_ip_per_hour: i64,
    /// Every step call of one case counts here (codes, answers, uploads, ...).
    pub calls_per_case_per_hour: i64,
}

impl Default for RecoverySettings {
    fn default() -> Self {
        Self {
            code_ttl_s: DEFAULT_RECOVERY_CODE_TTL_S,
            hold_s: DEFAULT_RECOVERY_HOLD_S,
            policy: RecoveryPolicy::default(),
            high_risk_score: DEFAULT_HIGH_RISK_SCORE,
            document_retention_s: 30 * 86_400,
            opens_per_account_per_day: 20,
            opens_per_opener_per_day: 3,
            opens_per_ip_per_hour: 20,
            calls_per_case_per_hour: 60,
        }
    }
}

/// Code purposes are bound to the case, so a code of one case (or of a
/// sign-in) never passes for another.
pub fn email_code_purpose(case_id: &str) -> String {
    format!("recovery-email:{case_id}")
}

pub fn phone_code_purpose(case_id: &str) -> String {
    format!("recovery-phone:{case_id}")
}

/// The context a document is sealed under: bound to its case and slot, so a
/// sealed image copied to another case or slot does not open.
pub fn document_context(case_id: &str, slot: &str) -> String {
    format!("recovery-doc:{case_id}:{slot}")
}

pub(crate) fn conflict(e: DomainError) -> AppError {
    AppError::from(e)
}

impl App {
    /// The case behind a case token. A token of another case answers
    /// not_found, exactly like an unknown case.
    pub(crate) async fn case_for(&self, case_id: &str, case_token: &str) -> AppResult<CaseRecord> {
        if case_token.is_empty() || case_token.len() > 256 {
            return Err(AppError::Unauthorized);
        }
        let record = self.store.case_by_token(&token_hash(case_token)).await?.ok_or(AppError::Unauthorized)?;
        if record.case.id != case_id {
            return Err(AppError::NotFound);
        }
        Ok(record)
    }

    /// Counts one step call against the case's hourly budget.
    pub(crate) async fn recovery_call(&self, case_id: &str) -> AppResult<()> {
        let limit = self.settings.recovery.calls_per_case_per_hour;
        self.rate_limit(&format!("recovery:case:{case_id}"), 3600, limit).await
    }

    /// `body` for the account's current e-mail and phone (if any), sealed
    /// for the queue: the notices of a decision, written in its transaction.
    pub(crate) fn current_channel_notices(
        &self,
        account: &AccountRecord,
        subject: &str,
        body: &str,
    ) -> AppResult<Vec<QueuedMessage>> {
        self.current_channel_notices_short(account, subject, body, body)
    }

    /// Like [`App::current_channel_notices`], with a short text for the
    /// phone: an SMS carries one line and a link, never the e-mail's detail.
    pub(crate) fn current_channel_notices_short(
        &self,
        account: &AccountRecord,
        subject: &str,
        body: &str,
        sms: &str,
    ) -> AppResult<Vec<QueuedMessage>> {
        let mut notices = vec![self.sealed_notice(Channel::Email, &account.email, subject, body)?];
        if let Some(phone) = &account.phone {
            notices.push(self.sealed_notice(Channel::Sms, phone, "", sms)?);
        }
        Ok(notices)
    }

    /// The one cancel code of a case, told in every notice about it.
    pub(crate) fn case_cancel_code(&self, case_id: &str) -> String {
        self.keyring.derived_token("recovery cancel", case_id)
    }

    /// The audit entry of a decision on a case, at `now`, for its transaction.
    pub(crate) fn recovery_event(
        &self,
        kind: AuditKind,
        record: &CaseRecord,
        meta: &RequestMeta,
        detail: &str,
        now: i64,
    ) -> AuditEvent {
        let event = self.audit_event(kind, Some(&record.case.account_id), meta, &case_detail(record, detail));
        AuditEvent { at: now, ..event }
    }

    /// Audits an owner's step on its own: a step tells nobody and decides
    /// nothing (a decision goes through [`App::decide`]).
    pub(crate) async fn recovery_audit(
        &self,
        kind: AuditKind,
        record: &CaseRecord,
        meta: &RequestMeta,
        detail: &str,
    ) -> AppResult<()> {
        self.audit(kind, Some(&record.case.account_id), meta, &case_detail(record, detail)).await
    }

    /// Writes a decision over the version the rules checked, together with
    /// its audit entries and notices; false (nothing written) if the case
    /// changed meanwhile. Wakes a sender once the notices are in the queue.
    pub(crate) async fn decide(
        &self,
        record: &CaseRecord,
        now: i64,
        change: &port::CaseChange,
        effects: &Effects,
    ) -> AppResult<bool> {
        let won = self.store.decide_case(&record.case.id, record.case.version, now, change, effects).await?;
        if won && !effects.notices.is_empty() {
            self.outbound_wake.notify_one();
        }
        Ok(won)
    }
}

/// `case <id>`, then `: detail` if there is one.
fn case_detail(record: &CaseRecord, detail: &str) -> String {
    if detail.is_empty() { format!("case {}", record.case.id) } else { format!("case {}: {detail}", record.case.id) }
}
