//! "Forgot your password?": a code to the account's address opens a reset;
//! with it the person proves the account's second factor (authenticator,
//! or a code to its phone) and sets a new password. Every session ends,
//! withdrawals are held (`Settings::hold_after_password_reset_s`), and
//! every address and number the account had hears of it with the freeze
//! link. The mailbox alone never resets an account that has a second
//! factor: when that is lost too, the reset opens a lost-2FA case instead
//! (see `recovery::open`), which staff review, and which then sets the
//! password chosen here.
//!
//! The request answers the same, in the same time, for every address.

use twostep_domain::audit_kind::AuditKind;
use twostep_domain::{SecondFactorMethod, normalize_email, validate_password};

use crate::account_changes::hold_sentence;
use crate::centre_port::PasswordReset;
use crate::codes::CodeSent;
use crate::crypto::new_id;
use crate::error::{AppError, AppResult};
use crate::limits::{login_subject, step_up_subject};
use crate::passkeys::{CeremonyPurpose, PasskeyAnswer};
use crate::ports::{AccountChange, AccountChangeOutcome, AccountChangePlan, AccountRecord, AuditEvent, Channel};
use crate::ports::{Effects, SignOut};
use crate::{App, RequestMeta};

/// The code e-mailed to open a reset.
pub const PURPOSE_PASSWORD_RESET: &str = "password_reset";
/// The code sent to the phone to prove it during a reset.
pub const PURPOSE_RESET_FACTOR: &str = "password_reset_factor";
/// Resets kept per account; older ones are dropped.
const RESETS_KEPT: i64 = 3;

/// A reset opened by its e-mail code: what the person may prove next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResetStarted {
    pub reset_id: String,
    /// The second-factor methods the account has; empty: none, the new
    /// password is enough.
    pub methods: Vec<SecondFactorMethod>,
    pub expires_at: i64,
    /// A frozen account cannot be reset here: only a lost-2FA case, which
    /// staff review, unfreezes it.
    pub frozen: bool,
}

impl App {
    /// `POST /password-reset`: a code to the address, if it belongs to a
    /// confirmed account. Returns when the code would expire; the answer
    /// and its time are the same for every address.
    pub async fn request_password_reset(&self, email: &str, meta: &RequestMeta) -> AppResult<i64> {
        let arrived = tokio::time::Instant::now();
        let cap = self.settings.costs.password_resets;
        self.rate_limit(&format!("password-reset:ip:{}", meta.limit_key()), 3600, cap.per_ip).await?;
        let email = normalize_email(email)?;
        self.rate_limit(&format!("password-reset:email:{email}"), 3600, cap.per_account).await?;
        let eligible = |a: &AccountRecord| a.email_verified_at.is_some();
        let kind = AuditKind::PasswordResetRequested;
        self.code_to_account_address(&email, PURPOSE_PASSWORD_RESET, kind, eligible, arrived, meta).await?;
        Ok(self.now() + self.settings.code_ttl_s)
    }

    /// `POST /password-reset/verify`: the e-mailed code opens a reset.
    pub async fn start_password_reset(&self, email: &str, code: &str, meta: &RequestMeta) -> AppResult<ResetStarted> {
        let arrived = tokio::time::Instant::now();
        self.rate_limit(&format!("codes:ip:{}", meta.limit_key()), 60, self.settings.codes_per_ip_per_minute).await?;
        let account = self.account_by_address_code(email, PURPOSE_PASSWORD_RESET, code, arrived).await?;
        let now = self.now();
        let reset = PasswordReset {
            id: new_id(),
            account_id: account.id.clone(),
            created_at: now,
            expires_at: now + self.settings.password_reset_ttl_s,
            used_at: None,
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.chars().take(256).collect(),
        };
        self.store.create_password_reset(&reset, RESETS_KEPT).await?;
        self.audit(AuditKind::PasswordResetStarted, Some(&account.id), meta, "").await?;
        Ok(ResetStarted {
            reset_id: reset.id,
            methods: self.methods(&account).await?,
            expires_at: reset.expires_at,
            frozen: account.frozen_at.is_some(),
        })
    }

    /// A reset still usable, with its account as it is now.
    pub(crate) async fn live_password_reset(&self, reset_id: &str) -> AppResult<(PasswordReset, AccountRecord)> {
        if reset_id.is_empty() || reset_id.len() > 64 {
            return Err(AppError::NotFound);
        }
        let reset = self.store.password_reset(reset_id).await?.ok_or(AppError::NotFound)?;
        if reset.used_at.is_some() {
            return Err(AppError::Conflict("this password reset is finished; start again".into()));
        }
        if reset.expires_at <= self.now() {
            return Err(AppError::Unauthorized);
        }
        let account = self.account(&reset.account_id).await?;
        Ok((reset, account))
    }

    /// What a reset can still do: its methods, its end, whether frozen.
    pub async fn password_reset_state(&self, reset_id: &str) -> AppResult<ResetStarted> {
        let (reset, account) = self.live_password_reset(reset_id).await?;
        Ok(ResetStarted {
            reset_id: reset.id,
            methods: self.methods(&account).await?,
            expires_at: reset.expires_at,
            frozen: account.frozen_at.is_some(),
        })
    }

    /// `POST /password-reset/{reset_id}/code`: a code to the account's phone.
    pub async fn password_reset_send_code(
        &self,
        reset_id: &str,
        method: SecondFactorMethod,
        meta: &RequestMeta,
    ) -> AppResult<CodeSent> {
        self.rate_limit(&format!("codes:ip:{}", meta.limit_key()), 60, self.settings.codes_per_ip_per_minute).await?;
        let (_, account) = self.live_password_reset(reset_id).await?;
        if account.frozen_at.is_some() {
            return Err(AppError::Forbidden);
        }
        let channel = match method {
            SecondFactorMethod::Sms => Channel::Sms,
            SecondFactorMethod::Voice => Channel::Voice,
            _ => return Err(AppError::invalid("channel", "must be sms or voice")),
        };
        let phone =
            account.phone.clone().ok_or_else(|| AppError::Conflict("no phone is bound to this account".into()))?;
        self.issue_code(&account, PURPOSE_RESET_FACTOR, channel, &phone, self.settings.code_ttl_s, meta).await
    }

    /// `POST /password-reset/{reset_id}/complete`: the proof of the second
    /// factor (when the account has one) and the new password.
    pub async fn complete_password_reset(
        &self,
        reset_id: &str,
        new_password: &str,
        proof: Option<(SecondFactorMethod, &str)>,
        meta: &RequestMeta,
    ) -> AppResult<Option<i64>> {
        validate_password("new_password", new_password)?;
        let (reset, account) = self.live_password_reset(reset_id).await?;
        if account.frozen_at.is_some() {
            return Err(AppError::Forbidden);
        }
        let methods = self.methods(&account).await?;
        let factor = if methods.is_empty() {
            "none"
        } else {
            let (method, code) =
                proof.ok_or_else(|| AppError::invalid("code", "is required: prove your second factor"))?;
            if !methods.contains(&method) {
                return Err(AppError::invalid("method", "is not one of this account's second factors"));
            }
            self.prove_reset_factor(&account, &reset.id, method, code, meta).await?;
            match method {
                SecondFactorMethod::Totp => "totp",
                SecondFactorMethod::Passkey => "passkey",
                _ => "sms",
            }
        };
        let new_hash = self.hasher.hash(new_password).await?;
        let now = self.now();
        if !self.store.use_password_reset(&reset.id, now).await? {
            return Err(AppError::Conflict("this password reset is finished; start again".into()));
        }
        let hold_s = self.settings.hold_after_password_reset_s;
        let lang = self.language_of(&account);
        let body = self.text(
            lang,
            "mail-password-reset-body",
            &[
                ("factor", self.text(lang, &format!("mail-password-reset-factor-{factor}"), &[]).into()),
                ("hold", hold_sentence(lang, hold_s).into()),
            ],
        );
        let sms = self.freeze_link_text(lang, "sms-password-reset", &account.id);
        let subject = self.text(lang, "mail-password-reset-subject", &[]);
        let event = |kind: AuditKind, detail: &str| AuditEvent {
            at: now,
            ..self.audit_event(kind, Some(&account.id), meta, detail)
        };
        let hold_until = (hold_s > 0).then_some(now + hold_s);
        let plan = AccountChangePlan {
            account_id: account.id.clone(),
            now,
            change: AccountChange::Password { checked_hash: account.password_hash.clone(), new_hash },
            hold_until,
            // No session is kept: the reset was made without one.
            sign_out: SignOut::AllBut { keep: String::new() },
            clear_failures: Some(login_subject(&account.email)),
            effects: Effects {
                audit: vec![event(AuditKind::PasswordReset, &format!("second factor: {factor}"))],
                notices: self.every_channel_notices_short(&account, now, &subject, &body, &sms).await?,
            },
        };
        match self.apply_account_change(&plan).await? {
            AccountChangeOutcome::Applied { .. } => Ok(hold_until),
            AccountChangeOutcome::CodeUsed | AccountChangeOutcome::Changed => {
                Err(AppError::Conflict("the password was changed meanwhile; start again".into()))
            }
        }
    }

    /// One proof of the account's second factor, throttled like a step-up:
    /// a wrong code counts towards the account's step-up lock.
    async fn prove_reset_factor(
        &self,
        account: &AccountRecord,
        reset_id: &str,
        method: SecondFactorMethod,
        code: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let subject = step_up_subject(&account.id);
        self.check_throttle(&subject).await?;
        let proved = match method {
            SecondFactorMethod::Totp => self.use_totp_code(&account.id, code, meta).await,
            SecondFactorMethod::Sms | SecondFactorMethod::Voice => {
                let channel = if method == SecondFactorMethod::Sms { Channel::Sms } else { Channel::Voice };
                self.verify_sent_code_on(&account.id, PURPOSE_RESET_FACTOR, channel, code).await.map(|_| ())
            }
            // `code` carries the passkey's answer to the reset's ceremony.
            SecondFactorMethod::Passkey => {
                let answer = PasskeyAnswer::from_secret(code)?;
                self.verify_passkey(CeremonyPurpose::PasswordReset, account, reset_id, &answer, meta).await.map(|_| ())
            }
            SecondFactorMethod::Email => Err(AppError::InvalidCode),
        };
        match proved {
            Ok(()) => self.store.clear_failures(&subject).await.map_err(AppError::from),
            Err(e @ (AppError::InvalidCode | AppError::CodeAlreadyUsed)) => {
                self.record_failure(&subject).await?;
                self.audit(AuditKind::PasswordResetFailed, Some(&account.id), meta, method.as_str()).await?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }
}
