//! Staff review: the queue (riskiest first), a case's evidence, its
//! documents, approval and rejection, and lifting a freeze (admins only).
//! Only staff who pass the staff gate (`crate::staff`) get here, never for
//! their own account; a staff account's case is flagged and high risk. Every
//! decision (an approval, the first of two, a rejection, lifting a freeze)
//! writes everything it changes, its audit entries and notices included, in
//! one transaction over the case version it checked, so an approval racing a
//! rejection (or a cancel) has exactly one winner, the loser writes nothing,
//! and a crash leaves a decision whole or absent; a high-risk case needs two
//! different reviewers.

use twostep_domain::audit_kind::AuditKind;
use twostep_domain::hold::extend_hold;
use twostep_domain::recovery::{Approval, CaseStatus, ResetItem, ReviewRefusal};
use twostep_domain::risk::is_high_risk;
use twostep_domain::staff::StaffDuty;

use super::document_context;
use super::port::{AnswerOutcome, ApprovalOutcome, ApprovalPlan, CaseChange, CaseRecord, DocumentInfo, Effects};
use crate::error::{AppError, AppResult};
use crate::ports::{AccountRecord, AuditEvent, Channel};
use crate::staff::flag_staff_case;
use crate::{App, RequestMeta};

/// One line of the review queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueEntry {
    pub case_id: String,
    pub account_id: String,
    pub status: CaseStatus,
    pub submitted_at: Option<i64>,
    pub reset_items: Vec<ResetItem>,
    /// With the `staff_account` signal's points when the account is staff.
    pub risk_score: Option<i64>,
    /// The account holds a staff role: flagged, and always high risk.
    pub staff_account: bool,
}

/// Everything a reviewer sees about a case.
#[derive(Clone, Debug)]
pub struct CaseEvidence {
    pub record: CaseRecord,
    /// The account's current e-mail and phone (unmasked: staff only).
    pub account_email: String,
    pub account_phone: Option<String>,
    pub account_created_at: i64,
    pub account_frozen_at: Option<i64>,
    /// The account's passkeys: when each was added and last used.
    pub passkeys: Vec<crate::passkeys::PasskeyRecord>,
    pub answers: Vec<AnswerOutcome>,
    pub documents: Vec<DocumentInfo>,
    pub high_risk: bool,
    /// The account holds a staff role (the `staff_account` signal is first).
    pub staff_account: bool,
    /// Approvals still needed before the reset happens (0 once decided).
    pub approvals_remaining: i64,
    /// The new e-mail belongs to another account: approval would fail.
    pub new_email_taken: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalResult {
    pub status: CaseStatus,
    pub approvals_remaining: i64,
    pub hold_until: Option<i64>,
}

fn refusal(e: ReviewRefusal) -> AppError {
    match e {
        ReviewRefusal::OwnAccount => AppError::Forbidden,
        other => AppError::Conflict(other.to_string()),
    }
}

impl App {
    /// A staff account named by e-mail (the command line's `--reviewer`),
    /// if it may review now.
    pub async fn staff_by_email(&self, email: &str) -> AppResult<AccountRecord> {
        let email = twostep_domain::normalize_email(email)?;
        let account = self.store.account_by_email(&email).await?.ok_or(AppError::NotFound)?;
        self.require_staff(&account.id).await
    }

    async fn staff_case(&self, staff_id: &str, case_id: &str) -> AppResult<CaseRecord> {
        self.require_staff(staff_id).await?;
        let record = self.store.case_by_id(case_id).await?.ok_or(AppError::NotFound)?;
        if record.case.account_id == staff_id {
            return Err(AppError::Forbidden);
        }
        Ok(record)
    }

    /// Two reviewers: a score at the threshold, or a staff account's case.
    fn is_high_risk(&self, record: &CaseRecord, staff_account: bool) -> bool {
        is_high_risk(record.risk_score, staff_account, self.settings.recovery.high_risk_score)
    }

    /// Whether the case's account holds a staff role now.
    async fn is_staff_case(&self, record: &CaseRecord) -> AppResult<bool> {
        Ok(self.account(&record.case.account_id).await?.role.is_staff())
    }

    /// The queue for `status` (pending_review by default), riskiest first,
    /// then oldest submission first.
    pub async fn review_queue(&self, staff_id: &str, status: CaseStatus) -> AppResult<Vec<QueueEntry>> {
        self.require_staff(staff_id).await?;
        self.operator_queue(status).await
    }

    /// The queue as the operator of the machine sees it (`twostep cases list`).
    pub async fn operator_queue(&self, status: CaseStatus) -> AppResult<Vec<QueueEntry>> {
        self.store.expire_idle_cases(self.now()).await?;
        let mut cases = self.store.cases_with_status(status.as_str(), 500).await?;
        let staff = self.staff_account_ids().await?;
        for c in cases.iter_mut().filter(|c| staff.contains(&c.case.account_id)) {
            flag_staff_case(c);
        }
        cases.sort_by_key(|c| (std::cmp::Reverse(c.risk_score.unwrap_or(0)), c.case.submitted_at.unwrap_or(i64::MAX)));
        Ok(cases
            .into_iter()
            .map(|c| QueueEntry {
                staff_account: staff.contains(&c.case.account_id),
                case_id: c.case.id.clone(),
                account_id: c.case.account_id.clone(),
                status: c.case.status_at(self.now()),
                submitted_at: c.case.submitted_at,
                reset_items: c.case.reset_items.clone(),
                risk_score: c.risk_score,
            })
            .collect())
    }

    /// A case's evidence: codes proven, answers' score, documents, signals.
    pub async fn case_evidence(&self, staff_id: &str, case_id: &str) -> AppResult<CaseEvidence> {
        let record = self.staff_case(staff_id, case_id).await?;
        self.evidence_of(record).await
    }

    /// The evidence as the operator of the machine sees it (`twostep cases show`).
    /// Case ids starting with `prefix`, a few at most: the operator's
    /// command line accepts the short id the console shows.
    pub async fn operator_case_ids_starting_with(&self, prefix: &str) -> AppResult<Vec<String>> {
        Ok(self.store.case_ids_with_prefix(prefix, 5).await?)
    }

    pub async fn operator_case_evidence(&self, case_id: &str) -> AppResult<CaseEvidence> {
        let record = self.store.case_by_id(case_id).await?.ok_or(AppError::NotFound)?;
        self.evidence_of(record).await
    }

    async fn evidence_of(&self, mut record: CaseRecord) -> AppResult<CaseEvidence> {
        let case_id = record.case.id.clone();
        let case_id = case_id.as_str();
        let account = self.account(&record.case.account_id).await?;
        let staff_account = account.role.is_staff();
        if staff_account {
            flag_staff_case(&mut record);
        }
        let high_risk = self.is_high_risk(&record, staff_account);
        let approvals_remaining = match (record.case.status, high_risk, &record.case.first_approved_by) {
            (CaseStatus::PendingReview, true, Some(_)) => 1,
            (CaseStatus::PendingReview, true, None) => 2,
            (CaseStatus::PendingReview, false, _) => 1,
            _ => 0,
        };
        let new_email_taken = match &record.case.new_email {
            Some(e) => self.store.account_by_email(e).await?.is_some_and(|a| a.id != account.id),
            None => false,
        };
        Ok(CaseEvidence {
            passkeys: self.store.passkeys(&account.id).await?,
            answers: self.store.case_answers(case_id).await?,
            documents: self.store.case_documents(case_id).await?,
            account_email: account.email,
            account_phone: account.phone,
            account_created_at: account.created_at,
            account_frozen_at: account.frozen_at,
            high_risk,
            staff_account,
            approvals_remaining,
            new_email_taken,
            record,
        })
    }

    /// One document image, opened for a reviewer: (content type, bytes).
    pub async fn case_document(
        &self,
        staff_id: &str,
        case_id: &str,
        slot: &str,
        meta: &RequestMeta,
    ) -> AppResult<(String, Vec<u8>)> {
        let record = self.staff_case(staff_id, case_id).await?;
        let (content_type, sealed) = self.store.case_document(case_id, slot).await?.ok_or(AppError::NotFound)?;
        let mut opened = self
            .keyring
            .open(&document_context(case_id, slot), &sealed)
            .map_err(|e| AppError::Internal(format!("document {case_id}/{slot}: {e}")))?;
        // The reviewer is shown the document itself: handed on, not wiped.
        let bytes = std::mem::take(&mut *opened);
        self.audit(
            AuditKind::RecoveryDocumentViewed,
            Some(staff_id),
            meta,
            &format!("case {}: {slot}", record.case.id),
        )
        .await?;
        Ok((content_type, bytes))
    }

    /// Approves a case. Low risk: one approval resets the items. High
    /// risk: the first approval is recorded and a second, different
    /// reviewer's approval does the reset.
    pub async fn approve_recovery(
        &self,
        staff_id: &str,
        case_id: &str,
        note: &str,
        meta: &RequestMeta,
    ) -> AppResult<ApprovalResult> {
        let note = decision_text("note", note)?;
        let record = self.staff_case(staff_id, case_id).await?;
        // A freeze older than the case leaves it to staff: an approval is
        // the owner's way back. A younger one stops everything.
        let frozen_at = self.account(&record.case.account_id).await?.frozen_at;
        if frozen_at.is_some_and(|at| at >= record.case.created_at) {
            return Err(AppError::Conflict(
                "the account is frozen: the owner objected; nothing of it can be approved until it is unfrozen".into(),
            ));
        }
        let high_risk = self.is_high_risk(&record, self.is_staff_case(&record).await?);
        match record.case.check_approve(staff_id, high_risk).map_err(refusal)? {
            Approval::FirstOfTwo => {
                let now = self.now();
                let change = CaseChange::FirstApproval { reviewer_id: staff_id.into(), note: note.clone() };
                let detail = format!("by {staff_id}: {note}");
                let effects = Effects {
                    audit: vec![self.recovery_event(AuditKind::RecoveryFirstApproval, &record, meta, &detail, now)],
                    notices: Vec::new(),
                };
                if !self.decide(&record, now, &change, &effects).await? {
                    // Another reviewer approved (or decided) meanwhile: look again.
                    return Box::pin(self.approve_recovery(staff_id, case_id, &note, meta)).await;
                }
                Ok(ApprovalResult { status: CaseStatus::PendingReview, approvals_remaining: 1, hold_until: None })
            }
            Approval::Final => self.finish_approval(staff_id, record, note, meta).await,
        }
    }

    async fn finish_approval(
        &self,
        staff_id: &str,
        record: CaseRecord,
        note: String,
        meta: &RequestMeta,
    ) -> AppResult<ApprovalResult> {
        let case = &record.case;
        let account = self.account(&case.account_id).await?;
        let now = self.now();
        let hold_until = extend_hold(None, now, self.settings.recovery.hold_s);
        let resets = |i| case.reset_items.contains(&i);
        let items: Vec<&str> = case.reset_items.iter().map(|i| i.as_str()).collect();
        let event = |kind: AuditKind, account_id: &str, detail: String| AuditEvent {
            at: now,
            account_id: Some(account_id.to_owned()),
            kind: kind.as_str().to_owned(),
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.chars().take(256).collect(),
            detail,
        };
        let new_phone = if resets(ResetItem::Phone) { case.new_phone.clone() } else { None };
        let new_email = if resets(ResetItem::Email) { case.new_email.clone() } else { None };
        let lang = self.language_of(&account);
        let body = self.text(
            lang,
            "mail-recovery-approved-body",
            &[
                ("items", self.item_list(lang, items.iter().copied()).into()),
                ("hours", (self.settings.recovery.hold_s / 3600).into()),
            ],
        );
        let subject = self.text(lang, "mail-recovery-approved-subject", &[]);
        // The old channels first: they are where a robbed owner still listens.
        let mut told: Vec<(Channel, &str)> = Vec::new();
        let channels = [
            Some((Channel::Email, account.email.as_str())),
            account.phone.as_deref().map(|p| (Channel::Sms, p)),
            new_email.as_deref().map(|e| (Channel::Email, e)),
            new_phone.as_deref().map(|p| (Channel::Sms, p)),
        ];
        for to in channels.into_iter().flatten() {
            if !told.contains(&to) {
                told.push(to);
            }
        }
        let notices = told
            .into_iter()
            .map(|(channel, to)| {
                let subject = if channel == Channel::Email { subject.as_str() } else { "" };
                self.sealed_notice(channel, to, subject, &body)
            })
            .collect::<AppResult<Vec<_>>>()?;
        let mut audit = vec![
            event(
                AuditKind::RecoveryApproved,
                &case.account_id,
                format!("case {} by {staff_id}: reset {}; hold until {hold_until}; {note}", case.id, items.join(",")),
            ),
            event(
                AuditKind::StaffApprovedRecovery,
                staff_id,
                format!("case {} of account {}", case.id, case.account_id),
            ),
        ];
        if account.frozen_at.is_some() {
            audit.push(event(
                AuditKind::AccountUnfrozen,
                &case.account_id,
                format!("by the approval of case {}", case.id),
            ));
        }
        let plan = ApprovalPlan {
            case_id: case.id.clone(),
            version: case.version,
            account_id: case.account_id.clone(),
            reviewer_id: staff_id.into(),
            note: note.clone(),
            now,
            hold_until,
            remove_authenticator: resets(ResetItem::Authenticator),
            remove_passkeys: resets(ResetItem::Passkeys),
            set_password: record.sets_password,
            new_phone,
            new_email,
            audit,
            notices,
        };
        match self.store.approve_case(&plan).await? {
            ApprovalOutcome::Approved => self.outbound_wake.notify_one(),
            ApprovalOutcome::Lost => {
                return Err(AppError::Conflict("the case was decided or cancelled meanwhile".into()));
            }
            ApprovalOutcome::EmailTaken => {
                return Err(AppError::Conflict(
                    "the new e-mail address belongs to another account; reject this case".into(),
                ));
            }
        }
        Ok(ApprovalResult { status: CaseStatus::Approved, approvals_remaining: 0, hold_until: Some(hold_until) })
    }

    /// Rejects a case; nothing on the account changes. One reviewer suffices.
    pub async fn reject_recovery(
        &self,
        staff_id: &str,
        case_id: &str,
        reason: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let reason = decision_text("reason", reason)?;
        let record = self.staff_case(staff_id, case_id).await?;
        record.case.check_reject(staff_id).map_err(refusal)?;
        let now = self.now();
        let account = self.account(&record.case.account_id).await?;
        let change = CaseChange::Rejected { reviewer_id: staff_id.into(), reason: reason.clone() };
        let staff_event =
            self.audit_event(AuditKind::StaffRejectedRecovery, Some(staff_id), meta, &format!("case {case_id}"));
        let effects = Effects {
            audit: vec![
                self.recovery_event(
                    AuditKind::RecoveryRejected,
                    &record,
                    meta,
                    &format!("by {staff_id}: {reason}"),
                    now,
                ),
                AuditEvent { at: now, ..staff_event },
            ],
            notices: self.current_channel_notices(
                &account,
                &self.text(self.language_of(&account), "mail-recovery-rejected-subject", &[]),
                &self.text(self.language_of(&account), "mail-recovery-rejected-body", &[]),
            )?,
        };
        if !self.decide(&record, now, &change, &effects).await? {
            return Err(AppError::Conflict("the case was decided or cancelled meanwhile".into()));
        }
        Ok(())
    }

    /// Lifts a freeze set by a cancel code after approval (staff looked).
    pub async fn unfreeze_account(
        &self,
        staff_id: &str,
        account_id: &str,
        note: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let note = decision_text("note", note)?;
        let staff = self.require_duty(staff_id, StaffDuty::Unfreeze).await?;
        if staff.id == account_id {
            return Err(AppError::Forbidden);
        }
        let audit =
            self.audit_event(AuditKind::AccountUnfrozen, Some(account_id), meta, &format!("by {staff_id}: {note}"));
        if !self.store.unfreeze_account(account_id, &audit).await? {
            return Err(AppError::Conflict("the account is not frozen".into()));
        }
        Ok(())
    }
}

/// A reviewer's note or reason: required, at most 1000 characters.
fn decision_text(field: &str, text: &str) -> AppResult<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::invalid(field, "is required"));
    }
    if text.chars().count() > 1000 {
        return Err(AppError::invalid(field, "must be at most 1000 characters"));
    }
    Ok(text.to_owned())
}
