//! Security counters the use cases keep for `/metrics`; the web layer adds the
//! HTTP request counts and latencies.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct AuthCounters {
    pub logins_ok: AtomicU64,
    pub logins_failed: AtomicU64,
    pub totp_rejected: AtomicU64,
    pub totp_replayed: AtomicU64,
    pub sent_codes_rejected: AtomicU64,
    pub captcha_failed: AtomicU64,
    pub rate_limited: AtomicU64,
}

impl AuthCounters {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// (metric name, help, value) for each counter.
    pub fn snapshot(&self) -> Vec<(&'static str, &'static str, u64)> {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            ("twostep_logins_ok_total", "Sign-ins that issued a session.", g(&self.logins_ok)),
            ("twostep_logins_failed_total", "Password or second-factor steps refused.", g(&self.logins_failed)),
            ("twostep_totp_rejected_total", "Authenticator codes rejected.", g(&self.totp_rejected)),
            ("twostep_totp_replayed_total", "Authenticator codes presented a second time.", g(&self.totp_replayed)),
            ("twostep_sent_codes_rejected_total", "E-mail/SMS/voice codes rejected.", g(&self.sent_codes_rejected)),
            ("twostep_captcha_failed_total", "Captcha solutions refused.", g(&self.captcha_failed)),
            ("twostep_rate_limited_total", "Requests answered with too_many_attempts.", g(&self.rate_limited)),
        ]
    }
}

/// What the delivery workers did, for `/metrics`.
#[derive(Debug, Default)]
pub struct DeliveryCounters {
    pub sent: AtomicU64,
    /// Attempts a provider refused or did not answer (retried or not).
    pub send_errors: AtomicU64,
    /// Messages given up on after the last attempt.
    pub failed: AtomicU64,
}

impl DeliveryCounters {
    pub fn snapshot(&self) -> Vec<(&'static str, &'static str, u64)> {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            ("twostep_messages_sent_total", "Messages handed to a provider (or the dev outbox).", g(&self.sent)),
            ("twostep_message_send_errors_total", "Delivery attempts that failed.", g(&self.send_errors)),
            ("twostep_messages_failed_total", "Messages given up on after the last attempt.", g(&self.failed)),
        ]
    }
}
