//! Binding a phone number to an account: a code goes by SMS to the NEW
//! number, and only typing it back binds the number. The pending number is
//! not stored apart: it is the destination of the live "bind_phone" code,
//! so a confirmation can only ever bind the number that received the code.
//! Replacing a bound phone pauses withdrawals (the contact-change hold) and
//! the account's e-mail is told either way.

use twostep_domain::{mask_phone, normalize_phone};

use crate::codes::CodeSent;
use crate::error::{AppError, AppResult};
use crate::limits::step_up_subject;
use crate::ports::Channel;
use crate::{App, RequestMeta};

pub const PURPOSE_BIND_PHONE: &str = "bind_phone";

impl App {
    /// `POST /me/phone`: validates the number and texts it a code.
    pub async fn start_phone_binding(&self, account_id: &str, phone: &str, meta: &RequestMeta) -> AppResult<CodeSent> {
        self.rate_limit(&format!("codes:ip:{}", meta.ip), 60, self.settings.codes_per_ip_per_minute).await?;
        let phone = normalize_phone(phone)?;
        let account = self.account(account_id).await?;
        if account.frozen_at.is_some() {
            return Err(AppError::Forbidden);
        }
        if account.phone.as_deref() == Some(phone.as_str()) {
            return Err(AppError::Conflict("this number is already bound to the account".into()));
        }
        let sent =
            self.issue_code(account_id, PURPOSE_BIND_PHONE, Channel::Sms, &phone, self.settings.code_ttl_s, meta).await?;
        self.audit("phone_binding_started", Some(account_id), meta, &mask_phone(&phone)).await;
        Ok(sent)
    }

    /// `POST /me/phone/confirm`: binds the number the code was sent to.
    /// Returns the bound number, masked.
    pub async fn confirm_phone_binding(&self, account_id: &str, code: &str, meta: &RequestMeta) -> AppResult<String> {
        self.rate_limit(&format!("codes:ip:{}", meta.ip), 60, self.settings.codes_per_ip_per_minute).await?;
        let subject = step_up_subject(account_id);
        self.check_throttle(&subject).await?;
        let account = self.account(account_id).await?;
        if account.frozen_at.is_some() {
            return Err(AppError::Forbidden);
        }
        let proven = match self.verify_sent_code(account_id, PURPOSE_BIND_PHONE, None, code).await {
            Ok(c) => c,
            Err(AppError::InvalidCode) => {
                self.record_failure(&subject).await?;
                self.audit("phone_binding_failed", Some(account_id), meta, "").await;
                return Err(AppError::InvalidCode);
            }
            Err(e) => return Err(e),
        };
        let phone = proven.destination;
        self.store.set_phone(account_id, Some(&phone)).await?;
        self.store.clear_failures(&subject).await?;
        let masked = mask_phone(&phone);
        let replaced = account.phone.as_deref().is_some_and(|old| old != phone);
        let body = if replaced {
            let until = self.now() + self.settings.hold_after_contact_change_s;
            self.store.extend_withdrawal_hold(account_id, until).await?;
            self.audit("phone_replaced", Some(account_id), meta, &masked).await;
            let hours = self.settings.hold_after_contact_change_s / 3600;
            format!(
                "The phone number of your {app} account was changed to {masked}. Withdrawals are paused for \
                 {hours} hours. If this was not you, start account recovery at once.",
                app = self.settings.issuer
            )
        } else {
            self.audit("phone_bound", Some(account_id), meta, &masked).await;
            format!(
                "The phone number {masked} was added to your {app} account. If this was not you, change your \
                 password and contact support.",
                app = self.settings.issuer
            )
        };
        self.notify(Channel::Email, &account.email, "Your phone number changed", &body).await;
        Ok(masked)
    }
}
