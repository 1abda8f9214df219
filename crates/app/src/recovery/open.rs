//! Opening a case from a sign-in that passed the password step, the owner's
//! view of it, "confirm restore" (what to reset) and the codes sent to the
//! phone and the e-mail address the account will have after the reset.

use twostep_domain::audit_kind::AuditKind;
use twostep_domain::phone::normalize_phone;
use twostep_domain::recovery::{CaseStatus, RecoveryCase, RecoveryStep, ResetItem};
use twostep_domain::{DomainError, MAX_SECOND_FACTOR_FAILURES, normalize_email, validate_password};

use super::port::{CaseChange, CaseRecord, Effects, NewCase, OpenOutcome, Opening};
use super::{conflict, email_code_purpose, phone_code_purpose};
use crate::crypto::{new_id, new_token, token_hash};
use crate::error::{AppError, AppResult};
use crate::ports::{AccountRecord, AuditEvent, Channel};
use crate::{App, Lang, RequestMeta};

/// The answer to opening a case. The token is shown once; only its hash is
/// kept, and `Debug` leaves it out.
#[derive(Clone)]
pub struct OpenedCase {
    pub case_id: String,
    pub case_token: String,
    pub withdrawals_disabled_hours: i64,
    pub items: Vec<ResetItem>,
}

impl std::fmt::Debug for OpenedCase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedCase")
            .field("case_id", &self.case_id)
            .field("withdrawals_disabled_hours", &self.withdrawals_disabled_hours)
            .field("items", &self.items)
            .finish_non_exhaustive()
    }
}

/// The refusal of a second case while one is under way (pages tell it
/// apart from other conflicts by this text).
pub const RECOVERY_UNDER_WAY: &str = "a recovery of this account is already under way (waiting for review, or \
                                      started elsewhere); if it is not yours, stop it with the cancel code we sent \
                                      to your e-mail and phone";

/// What the case's owner sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseView {
    pub case_id: String,
    pub status: CaseStatus,
    pub reset_items: Vec<ResetItem>,
    pub required_steps: Vec<RecoveryStep>,
    /// (step, done) for codes, questions and identity.
    pub steps: Vec<(RecoveryStep, bool)>,
    /// While the case is open: when it expires unless there is progress.
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub submitted_at: Option<i64>,
    pub decided_at: Option<i64>,
    /// Why staff rejected it (only for a rejected case).
    pub rejection_reason: Option<String>,
    /// End of the withdrawal hold an approval set.
    pub hold_until: Option<i64>,
    /// Which of the codes were proven (a wrong one is asked again alone).
    pub phone_code_proven: bool,
    pub email_code_proven: bool,
    /// Whether the case was withdrawn by the person who opened it.
    pub withdrawn: bool,
    /// Whether the case, opened from a password reset, sets the password.
    pub sets_password: bool,
}

impl CaseView {
    /// The view of `record`, with what was decided about it.
    pub fn of_record(record: &CaseRecord, now: i64) -> Self {
        let mut view = Self::of(&record.case, now);
        if view.status == CaseStatus::Rejected {
            view.rejection_reason = record.decision_note.clone();
        }
        view.decided_at = record.case.decided_at.or(record.cancelled_at);
        view.withdrawn = record.decision_note.as_deref() == Some(super::cancel::WITHDRAWN_BY_REQUESTER);
        view.sets_password = record.sets_password;
        view
    }

    pub fn of(case: &RecoveryCase, now: i64) -> Self {
        let status = case.status_at(now);
        Self {
            created_at: case.created_at,
            submitted_at: case.submitted_at,
            decided_at: case.decided_at,
            rejection_reason: None,
            hold_until: case.hold_until,
            phone_code_proven: case.phone_verified_at.is_some(),
            email_code_proven: case.email_verified_at.is_some(),
            withdrawn: false,
            sets_password: false,
            case_id: case.id.clone(),
            status,
            reset_items: case.reset_items.clone(),
            required_steps: case.required_steps.clone(),
            steps: RecoveryStep::ORDER.iter().map(|&s| (s, case.step_done(s))).collect(),
            expires_at: (status == CaseStatus::Open).then_some(case.expires_at),
        }
    }
}

/// Where the codes went (masked), and until when they work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodesSentTo {
    pub sent: Vec<(Channel, String)>,
    pub expires_at: i64,
}

impl App {
    /// `POST /login/{login_id}/recovery`: uses up the sign-in attempt and
    /// opens a case. A case still open for the account is superseded; one
    /// under review must be decided or cancelled first. A staff account is
    /// refused (`twostep staff reset` is its way back).
    pub async fn open_recovery(&self, login_id: &str, meta: &RequestMeta) -> AppResult<OpenedCase> {
        self.limit_recovery_openings(meta).await?;
        let (attempt, account) = self.pending_login(login_id).await?;
        self.may_open_recovery(&account, meta).await?;
        if !self.store.complete_login(&attempt.id, self.now(), MAX_SECOND_FACTOR_FAILURES).await? {
            return Err(AppError::Conflict("this sign-in is already complete".into()));
        }
        self.open_case_for(&account, None, meta).await
    }

    /// `POST /password-reset/{reset_id}/recovery`: "Security check not
    /// available" after "Forgot your password?". The e-mailed code stands
    /// in for the password, and the case also sets `new_password` once
    /// approved. Opens for a frozen account too: this case, reviewed by
    /// staff, is the owner's way back.
    pub async fn open_recovery_from_reset(
        &self,
        reset_id: &str,
        new_password: &str,
        meta: &RequestMeta,
    ) -> AppResult<OpenedCase> {
        validate_password("new_password", new_password)?;
        self.limit_recovery_openings(meta).await?;
        let (reset, account) = self.live_password_reset(reset_id).await?;
        self.may_open_recovery(&account, meta).await?;
        let hash = self.hasher.hash(new_password).await?;
        if !self.store.use_password_reset(&reset.id, self.now()).await? {
            return Err(AppError::Conflict("this password reset is finished; start again".into()));
        }
        self.open_case_for(&account, Some(hash), meta).await
    }

    async fn limit_recovery_openings(&self, meta: &RequestMeta) -> AppResult<()> {
        let per_ip = self.settings.recovery.opens_per_ip_per_hour;
        self.rate_limit(&format!("recovery-open:ip:{}", meta.limit_key()), 3600, per_ip).await
    }

    /// The per-account limits, and the refusal of staff accounts.
    async fn may_open_recovery(&self, account: &AccountRecord, meta: &RequestMeta) -> AppResult<()> {
        let r = &self.settings.recovery;
        // Counted per account AND opener first, so that a thief who knows
        // the password cannot use up the owner's own tries; the per-account
        // cap only bounds what one account can cost.
        let opener = format!("recovery-open:account:{}:ip:{}", account.id, meta.limit_key());
        self.rate_limit(&opener, 86_400, r.opens_per_opener_per_day).await?;
        self.rate_limit(&format!("recovery-open:account:{}", account.id), 86_400, r.opens_per_account_per_day).await?;
        // Staff never recover here: their factors are reset by two admins.
        if account.role.is_staff() {
            return Err(self.refuse_staff_recovery(account, meta).await);
        }
        Ok(())
    }

    async fn open_case_for(
        &self,
        account: &AccountRecord,
        new_password_hash: Option<String>,
        meta: &RequestMeta,
    ) -> AppResult<OpenedCase> {
        let r = &self.settings.recovery;
        let now = self.now();
        let sets_password = new_password_hash.is_some();
        let token = new_token();
        let case = NewCase {
            id: new_id(),
            account_id: account.id.clone(),
            token_hash: token_hash(&token),
            required_steps: r.policy.required_steps(&[]),
            created_at: now,
            expires_at: RecoveryCase::renewed_expiry(now),
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            new_password_hash,
        };
        // The case, its cancel code, its audit entries and the notice to the
        // current channels are written together: no case goes untold.
        let cancel = self.case_cancel_code(&case.id);
        let lang = self.language_of(account);
        let body = self.text(
            lang,
            "mail-recovery-started-body",
            &[("ip", meta.ip.as_str().into()), ("cancel", self.cancel_instructions(lang, &cancel).into())],
        );
        let sms = self.cancel_sms(lang, "sms-recovery-started", &cancel);
        let event = |kind: AuditKind, detail: &str| AuditEvent {
            at: now,
            ..self.audit_event(kind, Some(&account.id), meta, detail)
        };
        let opening = Opening {
            cancel_token_hash: token_hash(&cancel),
            effects: Effects {
                audit: vec![event(AuditKind::RecoveryOpened, &format!("case {}", case.id))],
                notices: self.current_channel_notices_short(
                    account,
                    &self.text(lang, "mail-recovery-started-subject", &[]),
                    &body,
                    &sms,
                )?,
            },
            superseded: event(AuditKind::RecoverySuperseded, ""),
        };
        match self.store.open_case(&case, &opening, now).await? {
            OpenOutcome::Opened { .. } => self.outbound_wake.notify_one(),
            OpenOutcome::Busy => {
                return Err(AppError::Conflict(RECOVERY_UNDER_WAY.into()));
            }
        }
        let mut items = Vec::new();
        if self.store.totp_factor(&account.id).await?.is_some() {
            items.push(ResetItem::Authenticator);
        }
        items.push(ResetItem::Phone);
        if !self.store.passkeys(&account.id).await?.is_empty() {
            items.push(ResetItem::Passkeys);
        }
        items.push(ResetItem::Email);
        if sets_password {
            items.push(ResetItem::Password);
        }
        Ok(OpenedCase { case_id: case.id, case_token: token, withdrawals_disabled_hours: r.hold_s / 3600, items })
    }

    /// `GET /recovery/{case_id}`.
    pub async fn recovery_case(&self, case_id: &str, case_token: &str) -> AppResult<CaseView> {
        let record = self.case_for(case_id, case_token).await?;
        Ok(CaseView::of_record(&record, self.now()))
    }

    /// "Confirm restore": which items to reset, with the new phone and
    /// e-mail address for those replaced.
    pub async fn choose_recovery_items(
        &self,
        case_id: &str,
        case_token: &str,
        reset: &[String],
        new_phone: Option<&str>,
        new_email: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<CaseView> {
        let record = self.case_for(case_id, case_token).await?;
        self.recovery_call(case_id).await?;
        let now = self.now();
        record.case.check_choose_items(now).map_err(conflict)?;
        let mut items = reset.iter().map(|s| ResetItem::try_from(s.as_str())).collect::<Result<Vec<_>, _>>()?;
        // The password is set by a case opened from a reset, always, and by
        // no other.
        if record.sets_password {
            items.push(ResetItem::Password);
        } else if items.contains(&ResetItem::Password) {
            return Err(AppError::invalid(
                "reset",
                "the password is reset by a case opened from \"Forgot your password?\"",
            ));
        }
        items.sort();
        items.dedup();
        if items.is_empty() {
            return Err(AppError::invalid("reset", "choose at least one of authenticator, phone, passkeys, email"));
        }
        let new_phone = match (items.contains(&ResetItem::Phone), new_phone) {
            (true, Some(p)) => Some(normalize_phone(p).map_err(|e| renamed(e, "new_phone"))?),
            (true, None) => return Err(AppError::invalid("new_phone", "is required to reset the phone")),
            (false, Some(_)) => return Err(AppError::invalid("new_phone", "is only for resetting the phone")),
            (false, None) => None,
        };
        let new_email = match (items.contains(&ResetItem::Email), new_email) {
            (true, Some(e)) => Some(normalize_email(e).map_err(|e| renamed(e, "new_email"))?),
            (true, None) => return Err(AppError::invalid("new_email", "is required to reset the e-mail address")),
            (false, Some(_)) => return Err(AppError::invalid("new_email", "is only for resetting the e-mail address")),
            (false, None) => None,
        };
        let account = self.account(&record.case.account_id).await?;
        if new_email.as_deref() == Some(account.email.as_str()) {
            return Err(AppError::invalid("new_email", "is the address the account already has"));
        }
        // Codes sent for an earlier choice went to other addresses: void them.
        if record.case.codes_sent_at.is_some() {
            self.store.retire_codes(&account.id, &email_code_purpose(case_id), now).await?;
            self.store.retire_codes(&account.id, &phone_code_purpose(case_id), now).await?;
        }
        let change = CaseChange::Items {
            required_steps: self.settings.recovery.policy.required_steps(&items),
            reset: items.clone(),
            new_phone,
            new_email,
        };
        self.apply(&record, now, &change).await?;
        let names: Vec<&str> = items.iter().map(|i| i.as_str()).collect();
        self.recovery_audit(AuditKind::RecoveryItemsChosen, &record, meta, &names.join(",")).await?;
        self.recovery_case(case_id, case_token).await
    }

    /// Sends one code to the e-mail address and one to the phone the
    /// account will have (the new one for a reset item, the current one
    /// otherwise). With no phone, the e-mail code alone.
    pub async fn send_recovery_codes(
        &self,
        case_id: &str,
        case_token: &str,
        meta: &RequestMeta,
    ) -> AppResult<CodesSentTo> {
        let record = self.case_for(case_id, case_token).await?;
        self.recovery_call(case_id).await?;
        let case = &record.case;
        case.check_send_codes(self.now()).map_err(conflict)?;
        let account = self.account(&case.account_id).await?;
        let resets = |i| case.reset_items.contains(&i);
        let email_target = if resets(ResetItem::Email) { case.new_email.clone() } else { Some(account.email.clone()) };
        let email_target = email_target.ok_or_else(|| AppError::Internal("email reset without new_email".into()))?;
        let phone_target = if resets(ResetItem::Phone) { case.new_phone.clone() } else { account.phone.clone() };
        let ttl = self.settings.recovery.code_ttl_s;
        let mut sent = Vec::new();
        let mut expires_at = i64::MAX;
        if case.email_verified_at.is_none() {
            let s = self
                .issue_code(&account, &email_code_purpose(case_id), Channel::Email, &email_target, ttl, meta)
                .await?;
            expires_at = expires_at.min(s.expires_at);
            sent.push((Channel::Email, s.sent_to));
        }
        if let Some(phone) = phone_target.as_deref().filter(|_| case.phone_verified_at.is_none()) {
            let s = self.issue_code(&account, &phone_code_purpose(case_id), Channel::Sms, phone, ttl, meta).await?;
            expires_at = expires_at.min(s.expires_at);
            sent.push((Channel::Sms, s.sent_to));
        }
        let change = CaseChange::CodesSent { phone_target: phone_target.clone(), email_target: email_target.clone() };
        self.apply(&record, self.now(), &change).await?;
        let channels: Vec<&str> = sent.iter().map(|(c, _)| c.as_str()).collect();
        self.recovery_audit(AuditKind::RecoveryCodesSent, &record, meta, &channels.join(",")).await?;
        Ok(CodesSentTo { sent, expires_at })
    }

    /// Checks the codes. Each code proven is remembered, so after a typo
    /// only the code still missing has to be sent again.
    pub async fn verify_recovery_codes(
        &self,
        case_id: &str,
        case_token: &str,
        phone_code: Option<&str>,
        email_code: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<CaseView> {
        let record = self.case_for(case_id, case_token).await?;
        self.recovery_call(case_id).await?;
        self.rate_limit(&format!("codes:ip:{}", meta.limit_key()), 60, self.settings.codes_per_ip_per_minute).await?;
        let case = &record.case;
        case.check_verify_codes(self.now()).map_err(conflict)?;
        let need_phone = case.phone_code_needed() && case.phone_verified_at.is_none();
        let need_email = case.email_verified_at.is_none();
        if need_phone && phone_code.is_none() {
            return Err(AppError::invalid("phone_code", "is required"));
        }
        if need_email && email_code.is_none() {
            return Err(AppError::invalid("email_code", "is required"));
        }
        let mut failed = false;
        let mut check = async |purpose: String, target: Option<&str>, code: Option<&str>| -> AppResult<bool> {
            match self.verify_sent_code(&case.account_id, &purpose, target, code.unwrap_or_default()).await {
                Ok(_) => Ok(true),
                Err(AppError::InvalidCode) => {
                    failed = true;
                    Ok(false)
                }
                Err(e) => Err(e),
            }
        };
        let phone_ok =
            need_phone && check(phone_code_purpose(case_id), case.phone_target.as_deref(), phone_code).await?;
        let email_ok =
            need_email && check(email_code_purpose(case_id), case.email_target.as_deref(), email_code).await?;
        if phone_ok || email_ok {
            let mut after = case.clone();
            let now = self.now();
            after.phone_verified_at = after.phone_verified_at.or(phone_ok.then_some(now));
            after.email_verified_at = after.email_verified_at.or(email_ok.then_some(now));
            let change = CaseChange::CodesProven { phone: phone_ok, email: email_ok, done: after.codes_complete() };
            self.apply(&record, now, &change).await?;
        }
        let proven: Vec<&str> = [(phone_ok, "sms"), (email_ok, "email")].iter().filter(|p| p.0).map(|p| p.1).collect();
        if !proven.is_empty() {
            self.recovery_audit(AuditKind::RecoveryCodesProven, &record, meta, &proven.join(",")).await?;
        }
        if failed {
            self.recovery_audit(AuditKind::RecoveryCodeFailed, &record, meta, "").await?;
            return Err(AppError::InvalidCode);
        }
        self.recovery_case(case_id, case_token).await
    }

    /// Writes `change` over the version the rules checked.
    pub(crate) async fn apply(&self, record: &CaseRecord, now: i64, change: &CaseChange) -> AppResult<()> {
        if self.store.update_case(&record.case.id, record.case.version, now, change).await? {
            Ok(())
        } else {
            Err(AppError::Conflict("the case changed meanwhile; load it again".into()))
        }
    }
}

/// How a notice tells the owner to stop a recovery they did not start. The
/// link opens a page that asks before it cancels (a GET never does, so a
/// mail scanner following links stops nothing).
impl App {
    /// How to stop a recovery with its cancel code, for the messages about it.
    pub(crate) fn cancel_instructions(&self, lang: Lang, cancel_token: &str) -> String {
        let args = [("link", self.cancel_link(cancel_token).into()), ("code", cancel_token.into())];
        self.text(lang, "mail-recovery-cancel-instructions", &args)
    }

    /// The SMS form of a recovery notice: one short line (`id`) and the link
    /// that stops it (the cancel page asks before it cancels).
    pub(crate) fn cancel_sms(&self, lang: Lang, id: &str, cancel_token: &str) -> String {
        self.text(lang, id, &[("link", self.cancel_link(cancel_token).into())])
    }

    fn cancel_link(&self, cancel_token: &str) -> String {
        let base = self.settings.public_url.trim_end_matches('/');
        format!("{base}/recovery/cancel?code={cancel_token}")
    }
}

fn renamed(e: DomainError, field: &'static str) -> AppError {
    match e {
        DomainError::InvalidField { message, .. } => AppError::invalid(field, message),
        other => other.into(),
    }
}
