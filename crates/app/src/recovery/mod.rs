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
//! by the domain state machine and written over the version checked.

mod cancel;
mod evidence;
mod open;
pub mod port;
mod questions;
mod review;
mod signals;

pub use cancel::CancelOutcome;
pub use evidence::IdentitySubmission;
pub use open::{CaseView, CodesSentTo, OpenedCase};
pub use questions::Question;
pub use review::{ApprovalResult, CaseEvidence, QueueEntry};

use twostep_domain::recovery::{DEFAULT_RECOVERY_CODE_TTL_S, DEFAULT_RECOVERY_HOLD_S, RecoveryPolicy};
use twostep_domain::risk::DEFAULT_HIGH_RISK_SCORE;
use twostep_domain::DomainError;

use crate::crypto::token_hash;
use crate::error::{AppError, AppResult};
use crate::ports::Channel;
use crate::{App, RequestMeta};
use port::CaseRecord;

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
            opens_per_account_per_day: 5,
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

    /// Sends `body` to the account's current e-mail and phone (if any).
    pub(crate) async fn notify_current_channels(&self, account_id: &str, subject: &str, body: &str) {
        let Ok(account) = self.account(account_id).await else { return };
        self.notify(Channel::Email, &account.email, subject, body).await;
        if let Some(phone) = &account.phone {
            self.notify(Channel::Sms, phone, "", body).await;
        }
    }

    pub(crate) async fn recovery_audit(&self, kind: &str, record: &CaseRecord, meta: &RequestMeta, detail: &str) {
        let detail = if detail.is_empty() {
            format!("case {}", record.case.id)
        } else {
            format!("case {}: {detail}", record.case.id)
        };
        self.audit(kind, Some(&record.case.account_id), meta, &detail).await;
    }
}
