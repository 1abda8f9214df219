//! What recovery needs from storage: cases, their tokens, answers and
//! sealed documents, the account's security answers, and the one-transaction
//! writes that must happen all together or not at all: every decision on a
//! case (opening, submission, first approval, approval, rejection, the
//! owner's cancel, freezing, lifting a freeze) lands with its audit entries
//! and the notices that tell the owner, or none of them does.
//! Every change to a case is conditional on the version the rules checked,
//! so two requests racing on one case (approve against reject, two submits)
//! have exactly one winner, and the loser writes nothing.

use async_trait::async_trait;
use twostep_domain::recovery::{RecoveryCase, RecoveryStep, ResetItem};

use crate::ports::{AuditEvent, QueuedMessage, StoreResult};

/// A case as stored: the part the rules see plus what the reviewer reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseRecord {
    pub case: RecoveryCase,
    pub updated_at: i64,
    pub open_ip: String,
    pub open_user_agent: String,
    pub submit_ip: Option<String>,
    pub submit_user_agent: Option<String>,
    pub answers_total: i64,
    pub answers_right: i64,
    pub country: Option<String>,
    pub id_type: Option<String>,
    pub risk_score: Option<i64>,
    /// The risk signals as JSON, frozen at submission.
    pub risk_signals: Option<String>,
    pub first_approved_at: Option<i64>,
    pub first_approval_note: Option<String>,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
    pub cancelled_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub documents_purged_at: Option<i64>,
    /// Whether the case was opened from a password reset and, approved,
    /// sets the password chosen then.
    pub sets_password: bool,
}

/// A case being opened.
#[derive(Clone, Debug)]
pub struct NewCase {
    pub id: String,
    pub account_id: String,
    pub token_hash: String,
    pub required_steps: Vec<RecoveryStep>,
    pub created_at: i64,
    pub expires_at: i64,
    pub ip: String,
    pub user_agent: String,
    /// The hash of the password an approval sets (a case opened from a
    /// password reset, with the e-mailed code standing in for the password).
    pub new_password_hash: Option<String>,
}

/// What a decision writes besides its change, in the same transaction: its
/// audit entries and the notices that tell the owner (shared with the
/// sensitive account changes, see [`crate::ports::Effects`]).
pub use crate::ports::Effects;

/// What opening a case writes with it, in the same transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opening {
    /// The hash of the cancel code the notices carry.
    pub cancel_token_hash: String,
    /// The `recovery_opened` entry and the notices to the account's current
    /// channels.
    pub effects: Effects,
    /// Appended before `effects.audit` if an open case of the account is
    /// superseded; the store sets its `detail` to `case <superseded case id>`.
    pub superseded: AuditEvent,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpenOutcome {
    /// Opened; an earlier open case of the account, if any, was cancelled.
    Opened { superseded: Option<String> },
    /// The account has a case under review: it must be decided or cancelled first.
    Busy,
}

/// One change to a case, applied only over the version that was checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaseChange {
    /// "Confirm restore"; forgets any codes sent for the previous choice.
    Items {
        reset: Vec<ResetItem>,
        new_phone: Option<String>,
        new_email: Option<String>,
        required_steps: Vec<RecoveryStep>,
    },
    CodesSent {
        phone_target: Option<String>,
        email_target: String,
    },
    /// Codes proven so far; `done` when the step is complete.
    CodesProven {
        phone: bool,
        email: bool,
        done: bool,
    },
    Submitted {
        risk_score: i64,
        risk_signals: String,
        ip: String,
        user_agent: String,
        cancel_token_hash: String,
    },
    FirstApproval {
        reviewer_id: String,
        note: String,
    },
    Rejected {
        reviewer_id: String,
        reason: String,
    },
    /// `reason` is kept as the decision note: [`CANCELLED_BY_OWNER`] or [`SUPERSEDED`].
    Cancelled {
        reason: String,
    },
}

/// Decision note of a case stopped with the owner's cancel code.
pub const CANCELLED_BY_OWNER: &str = "cancelled with the owner's cancel code";
/// Decision note of an open case replaced by a newer one.
pub const SUPERSEDED: &str = "superseded by a newer case";

/// One answered question's outcome: `right`, `wrong` or `blank`. What the
/// user typed is never stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerOutcome {
    pub question_id: String,
    pub outcome: String,
}

/// A document image, sealed by the keyring for its case and slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDocument {
    pub slot: String,
    pub content_type: String,
    pub width: i64,
    pub height: i64,
    pub size_bytes: i64,
    pub sealed: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentInfo {
    pub slot: String,
    pub content_type: String,
    pub width: i64,
    pub height: i64,
    pub size_bytes: i64,
    pub created_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityRecord {
    pub country: String,
    pub id_type: String,
    pub documents: Vec<NewDocument>,
}

/// Everything an approval changes, written in one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalPlan {
    pub case_id: String,
    pub version: i64,
    pub account_id: String,
    pub reviewer_id: String,
    pub note: String,
    pub now: i64,
    pub hold_until: i64,
    pub remove_authenticator: bool,
    /// Every passkey of the account goes.
    pub remove_passkeys: bool,
    pub new_phone: Option<String>,
    pub new_email: Option<String>,
    /// Sets the password the case was opened with.
    pub set_password: bool,
    pub audit: Vec<AuditEvent>,
    /// The notices to the account's old and new channels, queued in the
    /// same transaction: an approval is never in force without them.
    pub notices: Vec<QueuedMessage>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApprovalOutcome {
    Approved,
    /// The case changed meanwhile (another decision or a cancel won).
    Lost,
    /// The new e-mail address now belongs to another account; nothing changed.
    EmailTaken,
}

/// A security question the account set, with its answer's hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityAnswer {
    pub question_id: String,
    pub answer_hash: String,
    pub created_at: i64,
}

#[async_trait]
pub trait RecoveryStore: Send + Sync {
    /// Closes the account's expired open case, cancels its live open case
    /// (a new start supersedes it) and inserts `case` with its cancel token,
    /// audit entries and notices, all in one transaction, unless a case is
    /// under review (then nothing is written). At most one open or pending
    /// case per account, always.
    async fn open_case(&self, case: &NewCase, opening: &Opening, now: i64) -> StoreResult<OpenOutcome>;
    async fn case_by_id(&self, id: &str) -> StoreResult<Option<CaseRecord>>;
    async fn case_by_token(&self, token_hash: &str) -> StoreResult<Option<CaseRecord>>;
    async fn case_by_cancel_token(&self, token_hash: &str) -> StoreResult<Option<CaseRecord>>;
    /// Newest first.
    async fn cases_of_account(&self, account_id: &str) -> StoreResult<Vec<CaseRecord>>;
    /// Ids of cases starting with `prefix` (lowercase hex), in id order, at
    /// most `limit`: how an operator's short case id is resolved.
    async fn case_ids_with_prefix(&self, prefix: &str, limit: i64) -> StoreResult<Vec<String>>;
    /// Oldest submission first.
    async fn cases_with_status(&self, status: &str, limit: i64) -> StoreResult<Vec<CaseRecord>>;
    /// Applies `change` if the case is still at `version`; false otherwise.
    /// For the owner's steps, which tell nobody; a decision is `decide_case`.
    async fn update_case(&self, case_id: &str, version: i64, now: i64, change: &CaseChange) -> StoreResult<bool>;
    /// A decision on a case (submission, first approval, rejection, the
    /// owner's cancel): applies `change` if the case is still at `version`
    /// and, in the same transaction, appends the audit entries and queues
    /// the notices of `effects`. False, with nothing written, otherwise.
    async fn decide_case(
        &self,
        case_id: &str,
        version: i64,
        now: i64,
        change: &CaseChange,
        effects: &Effects,
    ) -> StoreResult<bool>;
    /// Another cancel token for the case (one per notice sent).
    async fn add_cancel_token(&self, case_id: &str, token_hash: &str, now: i64) -> StoreResult<()>;
    /// Records the answers and marks the questions step done, together.
    async fn record_answers(
        &self,
        case_id: &str,
        version: i64,
        now: i64,
        answers: &[AnswerOutcome],
        right: i64,
    ) -> StoreResult<bool>;
    async fn case_answers(&self, case_id: &str) -> StoreResult<Vec<AnswerOutcome>>;
    /// Stores the documents and marks the identity step done, together.
    async fn record_identity(
        &self,
        case_id: &str,
        version: i64,
        now: i64,
        identity: &IdentityRecord,
    ) -> StoreResult<bool>;
    async fn case_documents(&self, case_id: &str) -> StoreResult<Vec<DocumentInfo>>;
    /// (content type, sealed bytes) of one document.
    async fn case_document(&self, case_id: &str, slot: &str) -> StoreResult<Option<(String, Vec<u8>)>>;
    /// The approval transaction: case approved, items reset, sessions and
    /// pending sign-ins revoked, the hold raised, audit entries appended,
    /// notices queued.
    async fn approve_case(&self, plan: &ApprovalPlan) -> StoreResult<ApprovalOutcome>;
    /// The owner's cancel after approval, in one transaction: the case is
    /// cancelled, the account frozen, its sessions revoked, the audit
    /// entries appended and the notices queued.
    async fn cancel_and_freeze(
        &self,
        case_id: &str,
        version: i64,
        account_id: &str,
        now: i64,
        effects: &Effects,
    ) -> StoreResult<bool>;
    /// Lifts a freeze and appends `audit` in one transaction; false, with
    /// nothing written, if the account was not frozen.
    async fn unfreeze_account(&self, account_id: &str, audit: &AuditEvent) -> StoreResult<bool>;
    /// Marks open cases idle past their expiry as expired; returns how many.
    async fn expire_idle_cases(&self, now: i64) -> StoreResult<u64>;
    /// Deletes the documents of cases closed at or before `closed_before`;
    /// returns how many documents went. Safe to run from several instances.
    async fn purge_documents(&self, closed_before: i64, now: i64) -> StoreResult<u64>;
    /// Replaces the account's security questions.
    async fn set_security_answers(&self, account_id: &str, answers: &[(String, String)], now: i64) -> StoreResult<()>;
    async fn security_answers(&self, account_id: &str) -> StoreResult<Vec<SecurityAnswer>>;
    /// (asset, time) of the account's most recent withdrawal request.
    async fn last_withdrawal(&self, account_id: &str) -> StoreResult<Option<(String, i64)>>;
}
