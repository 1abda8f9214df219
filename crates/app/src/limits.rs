//! Rate limits and brute-force throttling. Every counter lives in the store,
//! so limits survive restarts and hold across server instances.

use crate::error::{AppError, AppResult};
use crate::metrics::AuthCounters;
use crate::{App, RequestMeta};

const HOUR_S: i64 = 3600;

/// A cap per account and one per IP address, each per hour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HourlyCap {
    pub per_account: i64,
    pub per_ip: i64,
}

/// What bounds the calls that cost the server a password hash, a row or a
/// message, so that neither one signed-in account nor one address can make
/// it spend without end (see SECURITY.md, "What one request can cost").
#[derive(Clone, Debug)]
pub struct CostLimits {
    /// `PUT /me/security-questions`: five argon2 hashes, a row each.
    pub security_questions: HourlyCap,
    /// `POST /me/totp`: a sealed enrolment row and a QR code.
    pub totp_setups: HourlyCap,
    /// `POST /me/phone`: a code and a text (also under the code caps).
    pub phone_bindings: HourlyCap,
    /// `POST /me/password`: two argon2 hashes.
    pub password_changes: HourlyCap,
    /// Identity uploads: up to 30 MiB read and three images sealed.
    pub uploads: HourlyCap,
    /// `POST /password-reset`: a code e-mailed (also under the code caps)
    /// and a reset row; counted per address, whoever asks, and per IP.
    pub password_resets: HourlyCap,
    /// `POST /freeze/code`: codes to one address per hour.
    pub freeze_codes_per_address: i64,
    /// A notice of one kind to one address goes at most once per window;
    /// the rest of the window's are collapsed into it.
    pub notice_window_s: i64,
}

impl Default for CostLimits {
    fn default() -> Self {
        Self {
            security_questions: HourlyCap { per_account: 5, per_ip: 20 },
            totp_setups: HourlyCap { per_account: 10, per_ip: 30 },
            phone_bindings: HourlyCap { per_account: 5, per_ip: 20 },
            password_changes: HourlyCap { per_account: 5, per_ip: 20 },
            uploads: HourlyCap { per_account: 20, per_ip: 40 },
            password_resets: HourlyCap { per_account: 5, per_ip: 20 },
            freeze_codes_per_address: 5,
            notice_window_s: 900,
        }
    }
}

impl App {
    /// Counts one request against a fixed window of `window_s` seconds and
    /// refuses once more than `limit` arrived in the window.
    pub async fn rate_limit(&self, bucket: &str, window_s: i64, limit: i64) -> AppResult<()> {
        let now = self.now();
        let window_start = now - now.rem_euclid(window_s);
        let count = self.store.hit(bucket, window_start).await?;
        if count > limit {
            AuthCounters::bump(&self.counters.rate_limited);
            return Err(AppError::TooManyAttempts { retry_after_s: (window_start + window_s - now).max(1) });
        }
        Ok(())
    }

    /// Refuses while the subject (an e-mail's sign-in, an account's step-up)
    /// is throttled after repeated failures.
    pub async fn check_throttle(&self, subject: &str) -> AppResult<()> {
        let now = self.now();
        let policy = &self.settings.failures;
        let state = self.store.failure_state(subject, now, policy.window_s).await?;
        if let Some(wait) = policy.retry_after(now, state.recent, state.consecutive, state.last_failure_at) {
            AuthCounters::bump(&self.counters.rate_limited);
            return Err(AppError::TooManyAttempts { retry_after_s: wait });
        }
        Ok(())
    }

    /// Counts one costly call against its caps: per IP first (so a refused
    /// account still costs its sender), then per account. A client looping
    /// past a cap it has already used up is refused on a read, with nothing
    /// written: the loop costs the database no write lock.
    pub(crate) async fn limit_cost(
        &self,
        what: &str,
        cap: HourlyCap,
        account_id: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let (by_ip, by_account) = (format!("{what}:ip:{}", meta.limit_key()), format!("{what}:account:{account_id}"));
        let now = self.now();
        let window_start = now - now.rem_euclid(HOUR_S);
        for (bucket, limit) in [(&by_account, cap.per_account), (&by_ip, cap.per_ip)] {
            if self.store.hits(bucket, window_start).await? >= limit {
                AuthCounters::bump(&self.counters.rate_limited);
                return Err(AppError::TooManyAttempts { retry_after_s: (window_start + HOUR_S - now).max(1) });
            }
        }
        self.rate_limit(&by_ip, HOUR_S, cap.per_ip).await?;
        self.rate_limit(&by_account, HOUR_S, cap.per_account).await
    }

    /// The upload caps, in two halves: by IP before the case token is even
    /// looked up, by account once it is known.
    pub(crate) async fn upload_limit_by_ip(&self, meta: &RequestMeta) -> AppResult<()> {
        self.rate_limit(&format!("uploads:ip:{}", meta.limit_key()), HOUR_S, self.settings.costs.uploads.per_ip).await
    }

    pub(crate) async fn upload_limit_by_account(&self, account_id: &str) -> AppResult<()> {
        self.rate_limit(&format!("uploads:account:{account_id}"), HOUR_S, self.settings.costs.uploads.per_account).await
    }

    pub async fn record_failure(&self, subject: &str) -> AppResult<()> {
        let now = self.now();
        self.store.record_failure(subject, now, self.settings.failures.window_s).await?;
        Ok(())
    }
}

/// Sign-in failures are counted per e-mail address (known or not), so the
/// throttle answers the same for accounts that do not exist.
pub const LOGIN_SUBJECT_PREFIX: &str = "login:";

pub fn login_subject(email: &str) -> String {
    format!("{LOGIN_SUBJECT_PREFIX}{email}")
}

pub fn step_up_subject(account_id: &str) -> String {
    format!("step-up:{account_id}")
}
