//! "Freeze my account", for the moment a phone is stolen: no sign-in, no
//! withdrawal, every session and pending sign-in ended, every recovery
//! under way stopped, until the owner unfreezes it through a lost-2FA case
//! (opened from "Forgot password") or staff do. Reached without signing in:
//! from the link at the foot of every e-mail to the account, or with the
//! address and a code sent to it. Freezing only ever takes access away, so
//! whoever holds the mailbox may do it; undoing it needs staff.

use subtle::ConstantTimeEq;
use twostep_domain::audit_kind::AuditKind;
use twostep_domain::normalize_email;

use crate::error::{AppError, AppResult};
use crate::owner_port::Objection;
use crate::ports::{AccountRecord, AuditEvent};
use crate::{App, RequestMeta};

/// The purpose of the code that freezes an account.
pub const PURPOSE_FREEZE: &str = "freeze";

/// The decision note of a recovery case a freeze stopped.
pub const STOPPED_BY_FREEZE: &str = "the account was frozen";

/// Why an account was frozen, for the audit log.
pub const FROZEN_FROM_LINK: &str = "by the owner, from the link in an e-mail";
pub const FROZEN_WITH_CODE: &str = "by the owner, with a code sent to the account's address";

impl App {
    /// Freezes the account in one transaction with its audit entry and the
    /// notice to every address and number it had in the last 30 days.
    /// Returns whether this call froze it (false: it already was).
    pub async fn freeze_account(&self, account: &AccountRecord, why: &str, meta: &RequestMeta) -> AppResult<bool> {
        let now = self.now();
        let lang = self.language_of(account);
        let subject = self.text(lang, "mail-frozen-by-owner-subject", &[]);
        let body = self.text(lang, "mail-frozen-by-owner-body", &[]);
        let sms = self.text(lang, "sms-frozen-by-owner", &[]);
        let event = |kind: AuditKind, detail: &str| AuditEvent {
            at: now,
            ..self.audit_event(kind, Some(&account.id), meta, detail)
        };
        let objection = Objection {
            account_id: account.id.clone(),
            now,
            reason: STOPPED_BY_FREEZE.into(),
            freeze: true,
            objected: false,
            approved_case: None,
            audit: Vec::new(),
            stopped_event: event(AuditKind::RecoveryCancelled, ""),
            frozen_event: event(AuditKind::AccountFrozen, why),
            notices: self.every_channel_notices_short(account, now, &subject, &body, &sms).await?,
        };
        let outcome = self.store.object(&objection).await?;
        if outcome.froze {
            self.outbound_wake.notify_one();
        }
        Ok(outcome.froze)
    }

    /// The link at the foot of every e-mail to the account: it opens a page
    /// that asks before it freezes (a mail scanner following links freezes
    /// nothing).
    pub fn freeze_link(&self, account_id: &str) -> String {
        let base = self.settings.public_url.trim_end_matches('/');
        format!("{base}/freeze?t={}", self.freeze_token(account_id))
    }

    /// The catalogue's text `id` (a one-line notice for the phone) with
    /// the account's freeze link as its `link`.
    pub(crate) fn freeze_link_text(&self, lang: twostep_i18n::Lang, id: &str, account_id: &str) -> String {
        self.text(lang, id, &[("link", self.freeze_link(account_id).into())])
    }

    fn freeze_token(&self, account_id: &str) -> String {
        format!("{account_id}.{}", self.keyring.derived_token("freeze", account_id))
    }

    /// `POST /freeze` with the link's token.
    pub async fn freeze_with_link(&self, token: &str, meta: &RequestMeta) -> AppResult<()> {
        self.freeze_limit(meta).await?;
        let account_id = token.split_once('.').map(|(id, _)| id).unwrap_or_default();
        let genuine = token.len() <= 256
            && !account_id.is_empty()
            && bool::from(token.as_bytes().ct_eq(self.freeze_token(account_id).as_bytes()));
        if !genuine {
            self.audit(AuditKind::FreezeRefused, None, meta, "a link that is not ours").await?;
            return Err(AppError::NotFound);
        }
        let account = self.store.account_by_id(account_id).await?.ok_or(AppError::NotFound)?;
        self.freeze_account(&account, FROZEN_FROM_LINK, meta).await?;
        Ok(())
    }

    /// `POST /freeze/code`: a code to the address, if it is an account's.
    /// The answer, and its time, are the same for every address.
    pub async fn send_freeze_code(&self, email: &str, meta: &RequestMeta) -> AppResult<()> {
        let arrived = tokio::time::Instant::now();
        self.freeze_limit(meta).await?;
        let email = normalize_email(email)?;
        self.rate_limit(&format!("freeze-code:email:{email}"), 3600, self.settings.costs.freeze_codes_per_address)
            .await?;
        let eligible = |a: &AccountRecord| a.frozen_at.is_none() && a.email_verified_at.is_some();
        self.code_to_account_address(&email, PURPOSE_FREEZE, AuditKind::FreezeCodeSent, eligible, arrived, meta).await
    }

    /// `POST /freeze` with the address and its code.
    pub async fn freeze_with_code(&self, email: &str, code: &str, meta: &RequestMeta) -> AppResult<()> {
        let arrived = tokio::time::Instant::now();
        self.freeze_limit(meta).await?;
        // Checked even for a frozen account (which is sent no code), so the
        // answer never tells who is frozen.
        let account = self.account_by_address_code(email, PURPOSE_FREEZE, code, arrived).await?;
        self.freeze_account(&account, FROZEN_WITH_CODE, meta).await?;
        Ok(())
    }

    async fn freeze_limit(&self, meta: &RequestMeta) -> AppResult<()> {
        self.rate_limit(&format!("freeze:ip:{}", meta.limit_key()), 60, self.settings.codes_per_ip_per_minute).await
    }
}
