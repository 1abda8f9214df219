//! Sent one-time codes (e-mail, SMS, voice call): six random digits, stored
//! only as a keyed hash bound to purpose and destination, single use,
//! short-lived, five tries at most. Issuing one is guarded by a resend
//! cool-down and by caps per destination, account and IP (hourly and daily),
//! so the server cannot be used to pump messages to someone's numbers. The
//! message itself is queued for the delivery workers, never sent inline.

use twostep_domain::audit_kind::AuditKind;
use twostep_domain::{MAX_CODE_TRIES, code_matches, generate_code, hash_code, mask_email, mask_phone, normalize_email};

use crate::crypto::new_id;
use crate::error::{AppError, AppResult};
use crate::metrics::AuthCounters;
use crate::ports::{AccountRecord, Channel, Message, SentCode};
use crate::{App, RequestMeta};

pub const PURPOSE_STEP_UP: &str = "step_up";

const HOUR_S: i64 = 3600;
const DAY_S: i64 = 86_400;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeSent {
    pub channel: Channel,
    pub sent_to: String,
    pub expires_at: i64,
    pub resend_after_s: i64,
}

/// `sent_to` as the API shows it.
pub fn masked_destination(channel: Channel, destination: &str) -> String {
    match channel {
        Channel::Email => mask_email(destination),
        Channel::Sms | Channel::Voice => mask_phone(destination),
        Channel::Webhook => String::new(),
    }
}

impl App {
    /// Issues a code for `purpose` to `destination` and queues the message.
    /// Any earlier live code of the same purpose dies, so only the newest
    /// code the user received works.
    pub async fn issue_code(
        &self,
        account: &AccountRecord,
        purpose: &str,
        channel: Channel,
        destination: &str,
        ttl_s: i64,
        meta: &RequestMeta,
    ) -> AppResult<CodeSent> {
        let account_id = account.id.as_str();
        let now = self.now();
        // A code whose delivery failed has been retired, so it never holds
        // the user here waiting for a message that will not come.
        if let Some(live) = self.store.live_code(account_id, purpose, now).await? {
            let wait = live.created_at + self.settings.resend_after_s - now;
            if wait > 0 {
                AuthCounters::bump(&self.counters.rate_limited);
                return Err(AppError::TooManyAttempts { retry_after_s: wait });
            }
        }
        self.check_send_caps(account_id, destination, meta).await?;
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
        self.store.retire_codes(account_id, purpose, now).await?;
        self.store.create_code(&record).await?;
        let minutes = (ttl_s + 59) / 60;
        // In the account's language, also to an address it does not have yet
        // (a new phone, recovery): it is for the same person.
        let lang = self.language_of(account);
        let (subject, body) = self.code_message(lang, channel, purpose, &code, minutes);
        let message = Message { channel, to: destination.to_owned(), subject, body };
        self.enqueue(&message, Some(&record.id), record.expires_at).await?;
        Ok(CodeSent {
            channel,
            sent_to: masked_destination(channel, destination),
            expires_at: record.expires_at,
            resend_after_s: self.settings.resend_after_s,
        })
    }

    /// An e-mailed code for `purpose` when `email` (normalised) is the
    /// address of an account `eligible` accepts, audited as `kind`; nothing
    /// otherwise. Answers no sooner than the refusal floor after `arrived`,
    /// so whether a code went cannot be timed, and a code sent a moment ago
    /// (which still works) answers the same as a new one.
    pub(crate) async fn code_to_account_address(
        &self,
        email: &str,
        purpose: &str,
        kind: AuditKind,
        eligible: fn(&AccountRecord) -> bool,
        arrived: tokio::time::Instant,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        if let Some(account) = self.store.account_by_email(email).await?.filter(eligible) {
            let ttl = self.settings.code_ttl_s;
            match self.issue_code(&account, purpose, Channel::Email, &account.email, ttl, meta).await {
                Ok(_) | Err(AppError::TooManyAttempts { .. }) => {}
                Err(e) => return Err(e),
            }
            self.audit(kind, Some(&account.id), meta, "").await?;
        }
        tokio::time::sleep_until(arrived + std::time::Duration::from_millis(self.settings.refusal_floor_ms)).await;
        Ok(())
    }

    /// The account of `email` when `code` is the e-mailed code for
    /// `purpose` it was sent. Every refusal (no such account, a wrong or
    /// used code, too many tries) answers no sooner than the refusal floor
    /// after `arrived`, so an address without an account cannot be told
    /// apart by the time a wrong code takes.
    pub(crate) async fn account_by_address_code(
        &self,
        email: &str,
        purpose: &str,
        code: &str,
        arrived: tokio::time::Instant,
    ) -> AppResult<AccountRecord> {
        let email = normalize_email(email)?;
        let verified = match self.store.account_by_email(&email).await? {
            Some(account) => {
                self.verify_sent_code_on(&account.id, purpose, Channel::Email, code).await.map(|_| account)
            }
            None => Err(AppError::InvalidCode),
        };
        if verified.is_err() {
            tokio::time::sleep_until(arrived + std::time::Duration::from_millis(self.settings.refusal_floor_ms)).await;
        }
        verified
    }

    /// The caps on sending: per IP, per destination and per account, each
    /// per hour and per day. Counted in the database, so they hold across
    /// restarts and instances.
    async fn check_send_caps(&self, account_id: &str, destination: &str, meta: &RequestMeta) -> AppResult<()> {
        let s = &self.settings;
        self.rate_limit(&format!("codes-sent:ip:{}", meta.limit_key()), HOUR_S, s.codes_sent_per_ip_per_hour).await?;
        self.rate_limit(&format!("codes:to:{destination}"), HOUR_S, s.codes_per_destination_per_hour).await?;
        self.rate_limit(&format!("codes:to:{destination}:day"), DAY_S, s.codes_per_destination_per_day).await?;
        self.rate_limit(&format!("codes:account:{account_id}"), HOUR_S, s.codes_per_account_per_hour).await?;
        self.rate_limit(&format!("codes:account:{account_id}:day"), DAY_S, s.codes_per_account_per_day).await?;
        Ok(())
    }

    /// Checks a sent code for this account and purpose and uses it up.
    /// With `expected_to`, the code must also have been sent there (a code
    /// that went by e-mail does not pass as the SMS one). Returns the code's
    /// record: its destination is what the user proved they control.
    pub async fn verify_sent_code(
        &self,
        account_id: &str,
        purpose: &str,
        expected_to: Option<&str>,
        code: &str,
    ) -> AppResult<SentCode> {
        let live = self.check_sent_code(account_id, purpose, expected_to, None, code).await?;
        self.consume_checked_code(live).await
    }

    /// Checks a sent code that must have gone out on `channel` (an SMS code
    /// does not pass as the voice call's) and uses it up.
    pub async fn verify_sent_code_on(
        &self,
        account_id: &str,
        purpose: &str,
        channel: Channel,
        code: &str,
    ) -> AppResult<SentCode> {
        let live = self.check_sent_code(account_id, purpose, None, Some(channel), code).await?;
        self.consume_checked_code(live).await
    }

    async fn consume_checked_code(&self, live: SentCode) -> AppResult<SentCode> {
        if !self.store.consume_code(&live.id, self.now()).await? {
            // The right code, taken a moment ago by a concurrent request (a
            // double submission): not a guess, so not counted as one.
            return Err(AppError::Conflict("this code has just been used".into()));
        }
        Ok(live)
    }

    /// Checks a sent code (counting the try) without using it up: for a
    /// caller that uses it up in a transaction of its own.
    pub(crate) async fn check_sent_code(
        &self,
        account_id: &str,
        purpose: &str,
        expected_to: Option<&str>,
        expected_channel: Option<Channel>,
        code: &str,
    ) -> AppResult<SentCode> {
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
        if expected_to.is_some_and(|to| to != live.destination)
            || expected_channel.is_some_and(|c| c.as_str() != live.channel)
        {
            return Err(rejected());
        }
        if !code_matches(&live.code_hash, self.keyring.code_pepper(), purpose, &live.destination, code) {
            return Err(rejected());
        }
        Ok(live)
    }

    /// `POST /me/code`: a code for a sensitive action, on the chosen channel.
    pub async fn send_step_up_code(
        &self,
        account_id: &str,
        channel: Channel,
        meta: &RequestMeta,
    ) -> AppResult<CodeSent> {
        self.rate_limit(&format!("codes:ip:{}", meta.limit_key()), 60, self.settings.codes_per_ip_per_minute).await?;
        let account = self.account(account_id).await?;
        let factors = self.account_factors(&account).await?;
        let factor = match channel {
            Channel::Email => twostep_domain::sudo::ProofFactor::Email,
            Channel::Sms => twostep_domain::sudo::ProofFactor::Sms,
            Channel::Voice => twostep_domain::sudo::ProofFactor::Voice,
            Channel::Webhook => return Err(AppError::invalid("channel", "must be sms, voice or email")),
        };
        if !factors.accepts(factor) {
            // An e-mail code never stands in for the authenticator or the
            // phone the account has.
            return Err(AppError::StepUpRequired { methods: factors.accepted() });
        }
        let destination = match channel {
            Channel::Email => account.email.clone(),
            Channel::Sms | Channel::Voice => {
                account.phone.clone().ok_or_else(|| AppError::Conflict("no phone is bound to this account".into()))?
            }
            Channel::Webhook => return Err(AppError::invalid("channel", "must be sms, voice or email")),
        };
        let sent =
            self.issue_code(&account, PURPOSE_STEP_UP, channel, &destination, self.settings.code_ttl_s, meta).await?;
        self.audit(AuditKind::StepUpCodeSent, Some(account_id), meta, channel.as_str()).await?;
        Ok(sent)
    }
}
