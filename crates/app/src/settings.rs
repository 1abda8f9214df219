//! Policy knobs of the use cases. The command line fills them from flags,
//! `TWOSTEP_*` variables and the config file; tests build them directly.

use twostep_domain::{BackupKeyLength, FailurePolicy, RetryPolicy};

use crate::messages::MessageTemplates;

#[derive(Clone, Debug)]
pub struct Settings {
    /// Shown in authenticator apps next to the account.
    pub issuer: String,
    pub public_url: String,
    /// Proof-of-work difficulty; 0 turns the captcha off (tests only).
    pub captcha_bits: u32,
    /// Extra bits added for a client that keeps failing, at most.
    pub captcha_max_extra_bits: u32,
    pub captcha_ttl_s: i64,
    pub backup_key_length: BackupKeyLength,
    pub session_ttl_s: i64,
    pub login_ttl_s: i64,
    pub totp_setup_ttl_s: i64,
    /// Lifetime of a sent one-time code: the second sign-in step, a step-up
    /// ("confirm it's you") and binding a phone. Recovery codes have their
    /// own (`recovery.code_ttl_s`).
    pub code_ttl_s: i64,
    /// Lifetime of the sign-up confirmation code sent by e-mail.
    pub signup_code_ttl_s: i64,
    pub resend_after_s: i64,
    pub failures: FailurePolicy,
    /// A refused password answers no sooner than this after the request
    /// arrived, so that what differs between an unknown address and a known
    /// one (reading the account row) cannot be timed.
    pub refusal_floor_ms: u64,
    /// How long a proof of a factor keeps the session in sudo mode.
    pub sudo_ttl_s: i64,
    /// Wrong passwords one IP may try per hour (a hard limit).
    pub password_failures_per_ip_per_hour: i64,
    /// Past the failure threshold, a refused password for that address
    /// answers no sooner than this.
    pub password_slowdown_ms: u64,
    /// Extra captcha bits an address can need after password failures.
    pub captcha_max_extra_bits_per_address: u32,
    /// Live sign-ups kept per address (each waits for its own code).
    pub registrations_per_address: i64,
    pub hold_after_password_change_s: i64,
    /// The withdrawal hold after a forgotten password is reset.
    pub hold_after_password_reset_s: i64,
    /// How long a password reset opened by its e-mail code lives.
    pub password_reset_ttl_s: i64,
    pub hold_after_authenticator_change_s: i64,
    pub hold_after_contact_change_s: i64,
    pub login_per_ip_per_minute: i64,
    pub accounts_per_ip_per_hour: i64,
    pub captcha_per_ip_per_minute: i64,
    pub codes_per_ip_per_minute: i64,
    pub codes_per_account_per_hour: i64,
    pub emails_per_address_per_hour: i64,
    /// Codes sent (not checked) per IP per hour.
    pub codes_sent_per_ip_per_hour: i64,
    /// Codes per phone number or e-mail address; these caps are what stop
    /// the server being used to pump texts to premium or foreign numbers.
    pub codes_per_destination_per_hour: i64,
    pub codes_per_destination_per_day: i64,
    pub codes_per_account_per_day: i64,
    /// The language of pages whose request names none we have, and of
    /// messages to accounts whose sign-up named none.
    pub language: crate::Lang,
    /// Texts of the messages that carry codes.
    pub templates: MessageTemplates,
    pub outbound: OutboundPolicy,
    /// Lost-2FA recovery: code lifetime, hold, step policy, review, retention.
    pub recovery: crate::recovery::RecoverySettings,
    /// Caps per account and per IP on the calls that cost a hash or a row,
    /// and how notices to the owner are collapsed.
    pub costs: crate::limits::CostLimits,
    /// Which accounts confirm sign-ins from new devices by e-mail.
    pub device_confirmation: twostep_domain::device::DeviceConfirmationPolicy,
}

/// How the delivery workers drain the outbound queue.
#[derive(Clone, Debug)]
pub struct OutboundPolicy {
    pub retry: RetryPolicy,
    /// How long a claimed message is reserved for its worker; longer than
    /// `send_timeout_ms`, so a live worker never loses its claim mid-send.
    pub lease_s: i64,
    pub send_timeout_ms: u64,
    /// Workers wake at once when this instance enqueues; the poll catches
    /// retries falling due and messages enqueued by other instances.
    pub poll_interval_ms: u64,
    /// Delivery workers per instance.
    pub workers: usize,
}

impl Default for OutboundPolicy {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            lease_s: 60,
            send_timeout_ms: 15_000,
            poll_interval_ms: 1_000,
            workers: 4,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            issuer: "twostep".into(),
            public_url: "http://127.0.0.1:8080".into(),
            captcha_bits: 18,
            captcha_max_extra_bits: 4,
            captcha_ttl_s: 300,
            backup_key_length: BackupKeyLength::Chars32,
            session_ttl_s: 12 * 3600,
            login_ttl_s: 600,
            totp_setup_ttl_s: 900,
            code_ttl_s: 300,
            signup_code_ttl_s: 1800,
            resend_after_s: 60,
            failures: FailurePolicy::default(),
            refusal_floor_ms: 250,
            sudo_ttl_s: 600,
            password_failures_per_ip_per_hour: 100,
            password_slowdown_ms: 2000,
            captcha_max_extra_bits_per_address: 6,
            registrations_per_address: 5,
            hold_after_password_change_s: 24 * 3600,
            hold_after_password_reset_s: 24 * 3600,
            password_reset_ttl_s: 15 * 60,
            hold_after_authenticator_change_s: 24 * 3600,
            hold_after_contact_change_s: 24 * 3600,
            login_per_ip_per_minute: 30,
            accounts_per_ip_per_hour: 20,
            captcha_per_ip_per_minute: 60,
            codes_per_ip_per_minute: 30,
            codes_per_account_per_hour: 10,
            emails_per_address_per_hour: 5,
            codes_sent_per_ip_per_hour: 60,
            codes_per_destination_per_hour: 5,
            codes_per_destination_per_day: 10,
            codes_per_account_per_day: 20,
            language: crate::Lang::En,
            templates: MessageTemplates::default(),
            recovery: crate::recovery::RecoverySettings::default(),
            outbound: OutboundPolicy::default(),
            costs: crate::limits::CostLimits::default(),
            device_confirmation: Default::default(),
        }
    }
}
