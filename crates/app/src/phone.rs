//! Binding a phone number to an account: a code goes by SMS to the NEW
//! number, and only typing it back binds the number. The pending number is
//! not stored apart: it is the destination of the live "bind_phone" code,
//! so a confirmation can only ever bind the number that received the code.
//! Replacing a bound phone pauses withdrawals (the contact-change hold) and
//! the number replaced gets a text about it; the account's e-mail is told
//! either way. The number, the code used up, the hold, the audit entry and
//! the notices are written in one transaction.

use twostep_domain::audit_kind::AuditKind;
use twostep_domain::{mask_phone, normalize_phone};

use crate::account_changes::hold_sentence;
use crate::codes::CodeSent;
use crate::error::{AppError, AppResult};
use crate::limits::step_up_subject;
use crate::ports::{AccountChange, AccountChangeOutcome, AccountChangePlan, AuditEvent, Channel, Effects, SignOut};
use crate::{App, RequestMeta};

pub const PURPOSE_BIND_PHONE: &str = "bind_phone";

impl App {
    /// `POST /me/phone`: validates the number and texts it a code.
    pub async fn start_phone_binding(
        &self,
        account_id: &str,
        session_token: &str,
        phone: &str,
        meta: &RequestMeta,
    ) -> AppResult<CodeSent> {
        self.rate_limit(&format!("codes:ip:{}", meta.limit_key()), 60, self.settings.codes_per_ip_per_minute).await?;
        let phone = normalize_phone(phone)?;
        let account = self.require_sudo(account_id, session_token).await?;
        self.limit_cost("phone-bindings", self.settings.costs.phone_bindings, account_id, meta).await?;
        if account.phone.as_deref() == Some(phone.as_str()) {
            return Err(AppError::Conflict("this number is already bound to the account".into()));
        }
        let sent =
            self.issue_code(&account, PURPOSE_BIND_PHONE, Channel::Sms, &phone, self.settings.code_ttl_s, meta).await?;
        self.audit(AuditKind::PhoneBindingStarted, Some(account_id), meta, &mask_phone(&phone)).await?;
        Ok(sent)
    }

    /// `POST /me/phone/confirm`: binds the number the code was sent to.
    /// Returns the bound number, masked.
    pub async fn confirm_phone_binding(
        &self,
        account_id: &str,
        session_token: &str,
        code: &str,
        meta: &RequestMeta,
    ) -> AppResult<String> {
        self.rate_limit(&format!("codes:ip:{}", meta.limit_key()), 60, self.settings.codes_per_ip_per_minute).await?;
        let account = self.require_sudo(account_id, session_token).await?;
        let factors = self.account_factors(&account).await?;
        let subject = step_up_subject(account_id);
        self.check_throttle(&subject).await?;
        // Checked here, used up in the binding's own transaction: a copy of
        // the right code racing this one then finds it used and binds nothing.
        let proven = match self.check_sent_code(account_id, PURPOSE_BIND_PHONE, None, Some(Channel::Sms), code).await {
            Ok(c) => c,
            Err(AppError::InvalidCode) => {
                self.record_failure(&subject).await?;
                self.audit(AuditKind::PhoneBindingFailed, Some(account_id), meta, "").await?;
                return Err(AppError::InvalidCode);
            }
            Err(e) => return Err(e),
        };
        let phone = proven.destination;
        let now = self.now();
        let masked = mask_phone(&phone);
        let replaced = account.phone.as_deref().is_some_and(|old| old != phone);
        let lang = self.language_of(&account);
        let hold_s = self.settings.hold_after_contact_change_s;
        let with_hold = |id: &str| {
            self.text(lang, id, &[("phone", masked.as_str().into()), ("hold", hold_sentence(lang, hold_s).into())])
        };
        let (kind, hold_until, body) = if replaced {
            (AuditKind::PhoneReplaced, (hold_s > 0).then_some(now + hold_s), with_hold("mail-phone-replaced-body"))
        } else if factors.adding_needs_hold() {
            // A first phone beside the authenticator may be a thief's, added
            // to pass the withdrawal step-up later: withdrawals wait.
            (AuditKind::PhoneBound, (hold_s > 0).then_some(now + hold_s), with_hold("mail-phone-added-hold-body"))
        } else {
            let body = self.text(lang, "mail-phone-added-body", &[("phone", masked.as_str().into())]);
            (AuditKind::PhoneBound, None, body)
        };
        // The e-mail address is told either way; the number replaced is told
        // too, as its owner may have lost only the e-mail to an attacker.
        let mut notices = vec![self.sealed_notice(
            Channel::Email,
            &account.email,
            &self.text(lang, "mail-phone-changed-subject", &[]),
            &body,
        )?];
        if let Some(old) = account.phone.as_deref().filter(|_| replaced) {
            notices.push(self.sealed_notice(Channel::Sms, old, "", &body)?);
        }
        // The number, the code used up, the hold of a replacement, the audit
        // entry and the notices: all or nothing, and only over the number
        // the account had when this was decided.
        let plan = AccountChangePlan {
            account_id: account_id.to_owned(),
            now,
            change: AccountChange::Phone { code_id: proven.id, phone, previous: account.phone.clone() },
            hold_until,
            sign_out: SignOut::Nobody,
            clear_failures: Some(subject),
            effects: Effects {
                audit: vec![AuditEvent { at: now, ..self.audit_event(kind, Some(account_id), meta, &masked) }],
                notices,
            },
        };
        match self.apply_account_change(&plan).await? {
            AccountChangeOutcome::Applied { .. } => Ok(masked),
            // The right code, taken a moment ago by a concurrent request (a
            // double submission): not a guess, so not counted as one.
            AccountChangeOutcome::CodeUsed => Err(AppError::Conflict("this code has just been used".into())),
            AccountChangeOutcome::Changed => {
                Err(AppError::Conflict("the phone number changed meanwhile; try again".into()))
            }
        }
    }
}
