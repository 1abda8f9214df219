//! Rate limits and brute-force throttling. Every counter lives in the store,
//! so limits survive restarts and hold across server instances.

use crate::error::{AppError, AppResult};
use crate::metrics::AuthCounters;
use crate::App;

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
