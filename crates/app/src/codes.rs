//! Sent one-time codes (e-mail today; SMS and voice use the same machinery):
//! six random digits, stored only as a keyed hash, single use, short-lived,
//! five tries at most, and bound to one purpose.

use twostep_domain::{code_matches, generate_code, hash_code, mask_email, mask_phone, MAX_CODE_TRIES};

use crate::crypto::new_id;
use crate::error::{AppError, AppResult};
use crate::metrics::AuthCounters;
use crate::ports::{Channel, Message, SentCode};
use crate::{App, RequestMeta};

pub const PURPOSE_STEP_UP: &str = "step_up";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeSent {
    pub channel: Channel,
    pub sent_to: String,
    pub expires_at: i64,
    pub resend_after_s: i64,
}

impl App {
    /// Issues a code to `destination` and hands it to delivery.
    pub async fn issue_code(
        &self,
        account_id: &str,
        purpose: &str,
        channel: Channel,
        destination: &str,
        ttl_s: i64,
    ) -> AppResult<CodeSent> {
        let now = self.now();
        if let Some(live) = self.store.live_code(account_id, purpose, now).await? {
            let wait = live.created_at + self.settings.resend_after_s - now;
            if wait > 0 {
                return Err(AppError::TooManyAttempts { retry_after_s: wait });
            }
        }
        self.rate_limit(&format!("codes:account:{account_id}"), 3600, self.settings.codes_per_account_per_hour)
            .await?;
        let code = generate_code(&mut rand::rng());
        let record = SentCode {
            id: new_id(),
            account_id: account_id.to_owned(),
            purpose: purpose.to_owned(),
            channel: channel.as_str().to_owned(),
            destination: destination.to_owned(),
            code_hash: hash_code(self.keyring.code_pepper(), purpose, destination, &code).to_vec(),
            created_at: now,
            expires_at: now + ttl_s,
            tries: 0,
        };
        self.store.create_code(&record).await?;
        let minutes = (ttl_s + 59) / 60;
        let body = match channel {
            Channel::Voice => {
                let spaced: Vec<String> = code.chars().map(|c| c.to_string()).collect();
                format!("Your twostep code is {}. Again: {}.", spaced.join(", "), spaced.join(", "))
            }
            _ => format!("Your twostep code is {code}. It expires in {minutes} minutes. Never share it."),
        };
        let message =
            Message { channel, to: destination.to_owned(), subject: "Your twostep code".into(), body };
        self.delivery.send(&message).await.map_err(|e| AppError::Internal(e.to_string()))?;
        let sent_to = match channel {
            Channel::Email => mask_email(destination),
            Channel::Sms | Channel::Voice => mask_phone(destination),
        };
        Ok(CodeSent { channel, sent_to, expires_at: now + ttl_s, resend_after_s: self.settings.resend_after_s })
    }

    pub async fn send_email_code(&self, account_id: &str, email: &str, purpose: &str, ttl_s: i64) -> AppResult<CodeSent> {
        self.issue_code(account_id, purpose, Channel::Email, email, ttl_s).await
    }

    /// Checks a sent code for this account and purpose and uses it up.
    pub async fn verify_sent_code(&self, account_id: &str, purpose: &str, code: &str) -> AppResult<()> {
        let now = self.now();
        let rejected = || {
            AuthCounters::bump(&self.counters.sent_codes_rejected);
            AppError::InvalidCode
        };
        let Some(live) = self.store.live_code(account_id, purpose, now).await? else {
            return Err(rejected());
        };
        if !self.store.add_code_try(&live.id, MAX_CODE_TRIES).await? {
            return Err(rejected());
        }
        if !code_matches(&live.code_hash, self.keyring.code_pepper(), purpose, &live.destination, code) {
            return Err(rejected());
        }
        if !self.store.consume_code(&live.id, now).await? {
            return Err(rejected());
        }
        Ok(())
    }

    /// `POST /me/code`: a code for a sensitive action, on the chosen channel.
    pub async fn send_step_up_code(&self, account_id: &str, channel: Channel, meta: &RequestMeta) -> AppResult<CodeSent> {
        self.rate_limit(&format!("codes:ip:{}", meta.ip), 60, self.settings.codes_per_ip_per_minute).await?;
        let account = self.account(account_id).await?;
        let destination = match channel {
            Channel::Email => account.email.clone(),
            Channel::Sms | Channel::Voice => {
                account.phone.clone().ok_or_else(|| AppError::Conflict("no phone is bound to this account".into()))?
            }
        };
        let sent = self.issue_code(account_id, PURPOSE_STEP_UP, channel, &destination, self.settings.code_ttl_s).await?;
        self.audit("step_up_code_sent", Some(account_id), meta, channel.as_str()).await;
        Ok(sent)
    }

    /// Accepts a current authenticator code, or else a sent step-up code.
    pub async fn verify_step_up(&self, account_id: &str, code: &str, meta: &RequestMeta) -> AppResult<()> {
        let subject = crate::limits::step_up_subject(account_id);
        self.check_throttle(&subject).await?;
        let by_totp = if self.store.totp_factor(account_id).await?.is_some() {
            self.use_totp_code(account_id, code, meta).await
        } else {
            Err(AppError::InvalidCode)
        };
        let outcome = match by_totp {
            Err(AppError::InvalidCode) => self.verify_sent_code(account_id, PURPOSE_STEP_UP, code).await,
            other => other,
        };
        match outcome {
            Ok(()) => {
                self.store.clear_failures(&subject).await?;
                Ok(())
            }
            Err(AppError::InvalidCode) => {
                self.record_failure(&subject).await?;
                self.audit("step_up_failed", Some(account_id), meta, "").await;
                Err(AppError::InvalidCode)
            }
            Err(e) => Err(e),
        }
    }
}
