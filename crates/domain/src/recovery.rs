//! The lost-2FA recovery case as a state machine: which status a case is in
//! at a given time, which steps it needs and has done, and which transition
//! each request may make. Pure: time arrives as unix seconds, and the store
//! applies a transition only if the case is still the version checked here.
//!
//! ```text
//!            choose items, codes, questions, identity (in that order)
//!   open ───────────────────────────────────────────────┐
//!    │ \── 7 days idle ──> expired                        │ submit
//!    │  \─ cancel token ──> cancelled                     v
//!    │                          ^              pending_review ──reject──> rejected
//!    │                          └── cancel token ──┘  │
//!    │                                                 └─approve (1 or 2 reviewers)─> approved
//!    │                                        cancel token during the hold: account frozen
//! ```
//!
//! Expiry is derived from `expires_at` (renewed by every step), so no job
//! has to flip rows for the rules to hold. Only open cases expire: a case
//! under review waits for staff, not for its owner.

use crate::error::DomainError;

/// A case left without progress this long expires.
pub const CASE_IDLE_EXPIRY_S: i64 = 7 * 24 * 3600;
/// Recovery codes live 10 minutes unless configured otherwise (NIST SP 800-63B).
pub const DEFAULT_RECOVERY_CODE_TTL_S: i64 = 600;
/// The longest recovery-code lifetime the setting accepts (the exchange convention).
pub const MAX_RECOVERY_CODE_TTL_S: i64 = 1800;
/// The shortest recovery-code lifetime the setting accepts.
pub const MIN_RECOVERY_CODE_TTL_S: i64 = 60;
/// Withdrawals stay blocked this long after an approved recovery.
pub const DEFAULT_RECOVERY_HOLD_S: i64 = 48 * 3600;

/// Checks a configured recovery-code lifetime against the allowed range.
pub fn recovery_code_ttl(configured_s: i64) -> Result<i64, DomainError> {
    if (MIN_RECOVERY_CODE_TTL_S..=MAX_RECOVERY_CODE_TTL_S).contains(&configured_s) {
        Ok(configured_s)
    } else {
        Err(DomainError::invalid("recovery_code_ttl_s", "must be between 60 and 1800 seconds (30 minutes)"))
    }
}

/// Where a case stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CaseStatus {
    Open,
    PendingReview,
    Approved,
    Rejected,
    Cancelled,
    Expired,
}

impl CaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::PendingReview => "pending_review",
            CaseStatus::Approved => "approved",
            CaseStatus::Rejected => "rejected",
            CaseStatus::Cancelled => "cancelled",
            CaseStatus::Expired => "expired",
        }
    }

    /// Whether the case still blocks a new one for its account.
    pub fn is_active(self) -> bool {
        matches!(self, CaseStatus::Open | CaseStatus::PendingReview)
    }
}

impl TryFrom<&str> for CaseStatus {
    type Error = DomainError;

    fn try_from(s: &str) -> Result<Self, DomainError> {
        Ok(match s {
            "open" => CaseStatus::Open,
            "pending_review" => CaseStatus::PendingReview,
            "approved" => CaseStatus::Approved,
            "rejected" => CaseStatus::Rejected,
            "cancelled" => CaseStatus::Cancelled,
            "expired" => CaseStatus::Expired,
            _ => {
                return Err(DomainError::invalid(
                    "status",
                    "must be one of open, pending_review, approved, rejected, cancelled, expired",
                ));
            }
        })
    }
}

/// What a recovery can restore.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResetItem {
    /// Remove the authenticator so the user can bind a new one.
    Authenticator,
    /// Replace (or add) the phone number.
    Phone,
    /// Remove every passkey, so the user can register new ones.
    Passkeys,
    /// Replace the e-mail address.
    Email,
    /// Set the password chosen when the case was opened from "Forgot your
    /// password?" (never chosen as an item: such a case always has it).
    Password,
}

impl ResetItem {
    pub const ALL: [ResetItem; 5] =
        [ResetItem::Authenticator, ResetItem::Phone, ResetItem::Passkeys, ResetItem::Email, ResetItem::Password];

    pub fn as_str(self) -> &'static str {
        match self {
            ResetItem::Authenticator => "authenticator",
            ResetItem::Phone => "phone",
            ResetItem::Passkeys => "passkeys",
            ResetItem::Email => "email",
            ResetItem::Password => "password",
        }
    }
}

impl TryFrom<&str> for ResetItem {
    type Error = DomainError;

    fn try_from(s: &str) -> Result<Self, DomainError> {
        match s {
            "authenticator" => Ok(ResetItem::Authenticator),
            "phone" => Ok(ResetItem::Phone),
            "passkeys" => Ok(ResetItem::Passkeys),
            "email" => Ok(ResetItem::Email),
            "password" => Ok(ResetItem::Password),
            _ => Err(DomainError::invalid("reset", "items must be authenticator, phone, passkeys or email")),
        }
    }
}

/// The evidence steps a case may require, in the order they must be taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecoveryStep {
    Codes,
    Questions,
    Identity,
}

impl RecoveryStep {
    pub const ORDER: [RecoveryStep; 3] = [RecoveryStep::Codes, RecoveryStep::Questions, RecoveryStep::Identity];

    pub fn as_str(self) -> &'static str {
        match self {
            RecoveryStep::Codes => "codes",
            RecoveryStep::Questions => "questions",
            RecoveryStep::Identity => "identity",
        }
    }
}

impl TryFrom<&str> for RecoveryStep {
    type Error = DomainError;

    fn try_from(s: &str) -> Result<Self, DomainError> {
        match s {
            "codes" => Ok(RecoveryStep::Codes),
            "questions" => Ok(RecoveryStep::Questions),
            "identity" => Ok(RecoveryStep::Identity),
            _ => Err(DomainError::invalid("steps", "must be codes, questions or identity")),
        }
    }
}

/// Comma-separated storage form of a list of named values, e.g. "codes,identity".
pub fn join_names<T: Copy>(items: &[T], name: fn(T) -> &'static str) -> String {
    items.iter().map(|&i| name(i)).collect::<Vec<_>>().join(",")
}

/// Parses the storage form written by [`join_names`]; sorted and deduplicated.
pub fn parse_names<T>(text: &str) -> Result<Vec<T>, DomainError>
where
    T: for<'a> TryFrom<&'a str, Error = DomainError> + Ord,
{
    let mut out = text.split(',').filter(|s| !s.is_empty()).map(T::try_from).collect::<Result<Vec<_>, _>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// Which steps a case needs: configuration applied to what the case resets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryPolicy {
    /// Steps every case needs.
    pub base_steps: Vec<RecoveryStep>,
    /// Also require identity documents when the e-mail address is replaced.
    pub identity_when_email_reset: bool,
}

impl Default for RecoveryPolicy {
    fn default() -> Self {
        Self { base_steps: RecoveryStep::ORDER.to_vec(), identity_when_email_reset: true }
    }
}

impl RecoveryPolicy {
    /// The steps for a case resetting `items`, in order.
    pub fn required_steps(&self, items: &[ResetItem]) -> Vec<RecoveryStep> {
        let mut steps = self.base_steps.clone();
        if self.identity_when_email_reset && items.contains(&ResetItem::Email) {
            steps.push(RecoveryStep::Identity);
        }
        steps.sort();
        steps.dedup();
        steps
    }
}

/// A recovery case, as far as the rules need to see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryCase {
    pub id: String,
    pub account_id: String,
    /// Stored status; [`RecoveryCase::status_at`] adds expiry.
    pub status: CaseStatus,
    /// Bumped by every change; the store writes only over the version read.
    pub version: i64,
    pub required_steps: Vec<RecoveryStep>,
    pub reset_items: Vec<ResetItem>,
    pub new_phone: Option<String>,
    pub new_email: Option<String>,
    pub items_at: Option<i64>,
    pub codes_sent_at: Option<i64>,
    /// Where the phone code went; None when the account will have no phone.
    pub phone_target: Option<String>,
    pub email_target: Option<String>,
    pub phone_verified_at: Option<i64>,
    pub email_verified_at: Option<i64>,
    pub codes_at: Option<i64>,
    pub questions_at: Option<i64>,
    pub identity_at: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
    pub submitted_at: Option<i64>,
    pub decided_at: Option<i64>,
    /// End of the withdrawal hold set by approval.
    pub hold_until: Option<i64>,
    pub first_approved_by: Option<String>,
}

/// What a cancel token does to a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelEffect {
    /// The case stops; nothing had changed on the account yet.
    CancelCase,
    /// The case was approved and its hold still runs: the account is frozen.
    FreezeAccount,
    /// Cancelled before: answering the same again is harmless.
    AlreadyCancelled,
}

/// Why a reviewer may not decide a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReviewRefusal {
    #[error("nobody reviews a recovery of their own account")]
    OwnAccount,
    #[error("the case is not waiting for review")]
    NotPending,
    #[error("a second, different reviewer must approve this high-risk case")]
    SameReviewerTwice,
}

/// What an approval does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Approval {
    /// The case is approved and the reset happens.
    Final,
    /// A high-risk case got its first approval; another reviewer must follow.
    FirstOfTwo,
}

fn conflict(message: &str) -> DomainError {
    DomainError::Conflict(message.to_owned())
}

impl RecoveryCase {
    /// The status at `now`: an open case past its expiry is expired.
    pub fn status_at(&self, now: i64) -> CaseStatus {
        if self.status == CaseStatus::Open && now >= self.expires_at { CaseStatus::Expired } else { self.status }
    }

    /// Whether `step` is done.
    pub fn step_done(&self, step: RecoveryStep) -> bool {
        match step {
            RecoveryStep::Codes => self.codes_at.is_some(),
            RecoveryStep::Questions => self.questions_at.is_some(),
            RecoveryStep::Identity => self.identity_at.is_some(),
        }
    }

    /// The phone code is needed only when the account will have a phone.
    pub fn phone_code_needed(&self) -> bool {
        self.phone_target.is_some()
    }

    /// The expiry after progress at `now`.
    pub fn renewed_expiry(now: i64) -> i64 {
        now.saturating_add(CASE_IDLE_EXPIRY_S)
    }

    fn require_open(&self, now: i64) -> Result<(), DomainError> {
        match self.status_at(now) {
            CaseStatus::Open => Ok(()),
            CaseStatus::Expired => Err(conflict("this recovery case has expired; start a new one")),
            CaseStatus::PendingReview => Err(conflict("this recovery case is already submitted")),
            _ => Err(conflict("this recovery case is closed")),
        }
    }

    /// Refuses `step` unless the items are chosen, every earlier required
    /// step is done, and `step` itself is required and not yet done.
    fn require_turn(&self, now: i64, step: RecoveryStep) -> Result<(), DomainError> {
        self.require_open(now)?;
        if self.items_at.is_none() {
            return Err(conflict("choose what to restore first"));
        }
        if !self.required_steps.contains(&step) {
            return Err(conflict("this case does not need this step"));
        }
        if self.step_done(step) {
            return Err(conflict("this step is already done"));
        }
        let earlier = self.required_steps.iter().filter(|&&s| s < step);
        if let Some(missing) = earlier.into_iter().find(|&&s| !self.step_done(s)) {
            return Err(DomainError::Conflict(format!("finish the {} step first", missing.as_str())));
        }
        Ok(())
    }

    /// "Confirm restore": allowed while the case is open and no code of it
    /// has been proven, so a typo in a new number can still be corrected.
    pub fn check_choose_items(&self, now: i64) -> Result<(), DomainError> {
        self.require_open(now)?;
        if self.phone_verified_at.is_some() || self.email_verified_at.is_some() || self.codes_at.is_some() {
            return Err(conflict("codes were already proven; the items can no longer change"));
        }
        if self.step_done(RecoveryStep::Questions) || self.step_done(RecoveryStep::Identity) {
            return Err(conflict("later steps are done; the items can no longer change"));
        }
        Ok(())
    }

    pub fn check_send_codes(&self, now: i64) -> Result<(), DomainError> {
        self.require_turn(now, RecoveryStep::Codes)
    }

    pub fn check_verify_codes(&self, now: i64) -> Result<(), DomainError> {
        self.require_turn(now, RecoveryStep::Codes)?;
        if self.codes_sent_at.is_none() {
            return Err(conflict("ask for the codes first"));
        }
        Ok(())
    }

    /// Whether both needed codes are proven (the step is then done).
    pub fn codes_complete(&self) -> bool {
        self.email_verified_at.is_some() && (!self.phone_code_needed() || self.phone_verified_at.is_some())
    }

    pub fn check_answer_questions(&self, now: i64) -> Result<(), DomainError> {
        self.require_turn(now, RecoveryStep::Questions)
    }

    pub fn check_identity(&self, now: i64) -> Result<(), DomainError> {
        self.require_turn(now, RecoveryStep::Identity)
    }

    pub fn check_submit(&self, now: i64) -> Result<(), DomainError> {
        self.require_open(now)?;
        if self.items_at.is_none() {
            return Err(conflict("choose what to restore first"));
        }
        if let Some(missing) = self.required_steps.iter().find(|&&s| !self.step_done(s)) {
            return Err(DomainError::Conflict(format!("finish the {} step first", missing.as_str())));
        }
        Ok(())
    }

    /// What the owner's cancel token does now.
    pub fn check_cancel(&self, now: i64) -> Result<CancelEffect, DomainError> {
        match self.status_at(now) {
            CaseStatus::Open | CaseStatus::PendingReview => Ok(CancelEffect::CancelCase),
            CaseStatus::Cancelled => Ok(CancelEffect::AlreadyCancelled),
            CaseStatus::Approved => match self.hold_until {
                Some(until) if now < until => Ok(CancelEffect::FreezeAccount),
                _ => Err(conflict("the recovery was approved and its hold has ended; contact support")),
            },
            CaseStatus::Rejected => Err(conflict("this recovery was already rejected")),
            CaseStatus::Expired => Err(conflict("this recovery case has expired")),
        }
    }

    /// Whether `reviewer_id` may reject the case now.
    pub fn check_reject(&self, reviewer_id: &str) -> Result<(), ReviewRefusal> {
        if reviewer_id == self.account_id {
            return Err(ReviewRefusal::OwnAccount);
        }
        if self.status != CaseStatus::PendingReview {
            return Err(ReviewRefusal::NotPending);
        }
        Ok(())
    }

    /// What an approval by `reviewer_id` does, given whether the case is
    /// high-risk (two different reviewers needed).
    pub fn check_approve(&self, reviewer_id: &str, high_risk: bool) -> Result<Approval, ReviewRefusal> {
        self.check_reject(reviewer_id)?;
        if !high_risk {
            return Ok(Approval::Final);
        }
        match self.first_approved_by.as_deref() {
            None => Ok(Approval::FirstOfTwo),
            Some(first) if first == reviewer_id => Err(ReviewRefusal::SameReviewerTwice),
            Some(_) => Ok(Approval::Final),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000;

    fn case() -> RecoveryCase {
        RecoveryCase {
            id: "c1".into(),
            account_id: "acc".into(),
            status: CaseStatus::Open,
            version: 0,
            required_steps: RecoveryStep::ORDER.to_vec(),
            reset_items: vec![],
            new_phone: None,
            new_email: None,
            items_at: None,
            codes_sent_at: None,
            phone_target: None,
            email_target: Some("a@example.com".into()),
            phone_verified_at: None,
            email_verified_at: None,
            codes_at: None,
            questions_at: None,
            identity_at: None,
            created_at: T0,
            expires_at: T0 + CASE_IDLE_EXPIRY_S,
            submitted_at: None,
            decided_at: None,
            hold_until: None,
            first_approved_by: None,
        }
    }

    fn is_conflict(r: Result<(), DomainError>) -> bool {
        matches!(r, Err(DomainError::Conflict(_)))
    }

    #[test]
    fn names_round_trip() {
        for s in [
            CaseStatus::Open,
            CaseStatus::PendingReview,
            CaseStatus::Approved,
            CaseStatus::Rejected,
            CaseStatus::Cancelled,
            CaseStatus::Expired,
        ] {
            assert_eq!(CaseStatus::try_from(s.as_str()), Ok(s));
        }
        assert!(CaseStatus::try_from("Open").is_err());
        for i in ResetItem::ALL {
            assert_eq!(ResetItem::try_from(i.as_str()), Ok(i));
        }
        assert!(ResetItem::try_from("fax").is_err());
        let text = join_names(&[RecoveryStep::Codes, RecoveryStep::Identity], RecoveryStep::as_str);
        assert_eq!(text, "codes,identity");
        assert_eq!(
            parse_names::<RecoveryStep>("identity,codes,codes"),
            Ok(vec![RecoveryStep::Codes, RecoveryStep::Identity])
        );
        assert_eq!(parse_names::<ResetItem>(""), Ok(vec![]));
        assert!(parse_names::<ResetItem>("phone,fax").is_err());
    }

    #[test]
    fn expires_after_seven_idle_days_only_while_open() {
        let c = case();
        assert_eq!(c.status_at(T0), CaseStatus::Open);
        assert_eq!(c.status_at(T0 + CASE_IDLE_EXPIRY_S - 1), CaseStatus::Open);
        assert_eq!(c.status_at(T0 + CASE_IDLE_EXPIRY_S), CaseStatus::Expired);
        assert!(is_conflict(c.check_choose_items(T0 + CASE_IDLE_EXPIRY_S)));
        assert_eq!(c.check_cancel(T0 + CASE_IDLE_EXPIRY_S).unwrap_err(), conflict("this recovery case has expired"));
        // Progress renews the expiry.
        assert_eq!(RecoveryCase::renewed_expiry(T0 + 100), T0 + 100 + 7 * 86_400);
        // A case under review does not expire while staff take their time.
        let pending = RecoveryCase { status: CaseStatus::PendingReview, ..case() };
        assert_eq!(pending.status_at(T0 + 30 * 86_400), CaseStatus::PendingReview);
    }

    #[test]
    fn steps_run_in_order() {
        let mut c = case();
        // Nothing before the items are chosen.
        assert!(is_conflict(c.check_send_codes(T0)));
        assert!(is_conflict(c.check_answer_questions(T0)));
        assert!(is_conflict(c.check_identity(T0)));
        assert!(is_conflict(c.check_submit(T0)));
        assert_eq!(c.check_choose_items(T0), Ok(()));
        c.items_at = Some(T0);
        // Codes must be asked for before they are verified, and come first.
        assert!(is_conflict(c.check_verify_codes(T0)));
        assert_eq!(c.check_send_codes(T0), Ok(()));
        assert_eq!(c.check_answer_questions(T0), Err(DomainError::Conflict("finish the codes step first".into())));
        assert!(is_conflict(c.check_identity(T0)));
        c.codes_sent_at = Some(T0);
        assert_eq!(c.check_verify_codes(T0), Ok(()));
        // The e-mail code alone completes the step when there is no phone.
        assert!(!c.codes_complete());
        c.email_verified_at = Some(T0);
        assert!(c.codes_complete());
        c.codes_at = Some(T0);
        // Once a code is proven the items are fixed.
        assert!(is_conflict(c.check_choose_items(T0)));
        assert!(is_conflict(c.check_send_codes(T0)));
        assert!(is_conflict(c.check_verify_codes(T0)));
        assert!(is_conflict(c.check_identity(T0)));
        assert_eq!(c.check_answer_questions(T0), Ok(()));
        c.questions_at = Some(T0);
        assert!(is_conflict(c.check_answer_questions(T0)));
        assert!(is_conflict(c.check_submit(T0)));
        assert_eq!(c.check_identity(T0), Ok(()));
        c.identity_at = Some(T0);
        assert!(is_conflict(c.check_identity(T0)));
        assert_eq!(c.check_submit(T0), Ok(()));
        // Submitted: every step call is now out of order.
        c.status = CaseStatus::PendingReview;
        assert!(is_conflict(c.check_submit(T0)));
        assert!(is_conflict(c.check_choose_items(T0)));
        assert_eq!(c.check_cancel(T0), Ok(CancelEffect::CancelCase));
    }

    #[test]
    fn both_codes_are_needed_when_the_account_will_have_a_phone() {
        let mut c = case();
        c.phone_target = Some("+447700900123".into());
        c.email_verified_at = Some(T0);
        assert!(!c.codes_complete());
        c.phone_verified_at = Some(T0);
        assert!(c.codes_complete());
    }

    #[test]
    fn policy_decides_the_steps() {
        let p = RecoveryPolicy::default();
        assert_eq!(p.required_steps(&[]), RecoveryStep::ORDER.to_vec());
        let light = RecoveryPolicy { base_steps: vec![RecoveryStep::Codes], identity_when_email_reset: true };
        assert_eq!(light.required_steps(&[ResetItem::Authenticator]), vec![RecoveryStep::Codes]);
        assert_eq!(light.required_steps(&[ResetItem::Email]), vec![RecoveryStep::Codes, RecoveryStep::Identity]);
        // A step the policy does not ask for is refused, and later ones skip it.
        let mut c = RecoveryCase { required_steps: vec![RecoveryStep::Codes, RecoveryStep::Identity], ..case() };
        c.items_at = Some(T0);
        c.codes_at = Some(T0);
        assert!(is_conflict(c.check_answer_questions(T0)));
        assert_eq!(c.check_identity(T0), Ok(()));
        c.identity_at = Some(T0);
        assert_eq!(c.check_submit(T0), Ok(()));
    }

    #[test]
    fn cancel_before_and_during_and_after_the_hold() {
        let mut c = case();
        assert_eq!(c.check_cancel(T0), Ok(CancelEffect::CancelCase));
        c.status = CaseStatus::Cancelled;
        assert_eq!(c.check_cancel(T0), Ok(CancelEffect::AlreadyCancelled));
        let approved_at = T0 + 3600;
        let until = crate::hold::extend_hold(None, approved_at, DEFAULT_RECOVERY_HOLD_S);
        assert_eq!(until, approved_at + 48 * 3600);
        c.status = CaseStatus::Approved;
        c.hold_until = Some(until);
        assert_eq!(c.check_cancel(approved_at), Ok(CancelEffect::FreezeAccount));
        assert_eq!(c.check_cancel(until - 1), Ok(CancelEffect::FreezeAccount));
        // The hold has ended exactly at `until`: too late to cancel.
        assert_eq!(crate::hold::active_hold(Some(until), until), None);
        assert!(c.check_cancel(until).is_err());
        c.status = CaseStatus::Rejected;
        assert!(c.check_cancel(T0).is_err());
    }

    #[test]
    fn review_rules() {
        let mut c = RecoveryCase { status: CaseStatus::PendingReview, ..case() };
        assert_eq!(c.check_approve("acc", false), Err(ReviewRefusal::OwnAccount));
        assert_eq!(c.check_reject("acc"), Err(ReviewRefusal::OwnAccount));
        assert_eq!(c.check_approve("r1", false), Ok(Approval::Final));
        assert_eq!(c.check_approve("r1", true), Ok(Approval::FirstOfTwo));
        c.first_approved_by = Some("r1".into());
        assert_eq!(c.check_approve("r1", true), Err(ReviewRefusal::SameReviewerTwice));
        assert_eq!(c.check_approve("r2", true), Ok(Approval::Final));
        assert_eq!(c.check_reject("r1"), Ok(()));
        c.status = CaseStatus::Cancelled;
        assert_eq!(c.check_approve("r2", true), Err(ReviewRefusal::NotPending));
        assert_eq!(c.check_reject("r2"), Err(ReviewRefusal::NotPending));
        c.status = CaseStatus::Open;
        assert_eq!(c.check_approve("r2", false), Err(ReviewRefusal::NotPending));
    }

    #[test]
    fn code_lifetime_is_ten_minutes_and_at_most_thirty() {
        assert_eq!(DEFAULT_RECOVERY_CODE_TTL_S, 10 * 60);
        assert_eq!(recovery_code_ttl(600), Ok(600));
        assert_eq!(recovery_code_ttl(1800), Ok(1800));
        assert!(recovery_code_ttl(1801).is_err());
        assert!(recovery_code_ttl(59).is_err());
        assert!(recovery_code_ttl(-1).is_err());
    }
}
