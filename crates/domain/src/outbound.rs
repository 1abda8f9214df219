//! Rules of the outbound message queue: the states a queued message moves
//! through and how long to wait before trying a failing provider again.
//!
//! ```text
//! queued --sent--> sent
//! queued --provider error--> queued (later, with backoff)
//! queued --last attempt failed, permanent error or code expired--> failed
//! ```

use crate::error::DomainError;

/// Stored state of a queued message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageStatus {
    Queued,
    Sent,
    Failed,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Queued => "queued",
            MessageStatus::Sent => "sent",
            MessageStatus::Failed => "failed",
        }
    }
}

impl TryFrom<&str> for MessageStatus {
    type Error = DomainError;

    fn try_from(s: &str) -> Result<Self, DomainError> {
        match s {
            "queued" => Ok(MessageStatus::Queued),
            "sent" => Ok(MessageStatus::Sent),
            "failed" => Ok(MessageStatus::Failed),
            _ => Err(DomainError::invalid("status", "must be one of queued, sent, failed")),
        }
    }
}

/// How hard to retry a provider that fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; after the last one the message
    /// is marked failed.
    pub max_attempts: i64,
    /// Wait after the first failed attempt; doubles after each further one.
    pub base_delay_s: i64,
    pub max_delay_s: i64,
}

impl Default for RetryPolicy {
    /// 2, 4, 8, 16 s: a code whose provider is down is given up on after
    /// about half a minute, well inside its 5-minute life, so the user can
    /// ask again (perhaps on another channel) while still at the screen.
    fn default() -> Self {
        Self { max_attempts: 5, base_delay_s: 2, max_delay_s: 60 }
    }
}

/// What to do after attempt number `attempt` (1-based) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    RetryAt(i64),
    GiveUp,
}

impl RetryPolicy {
    pub fn after_failure(&self, attempt: i64, now: i64, permanent: bool, expires_at: i64) -> AfterFailure {
        if permanent || attempt >= self.max_attempts {
            return AfterFailure::GiveUp;
        }
        let doublings = attempt.saturating_sub(1).clamp(0, 62) as u32;
        let delay = self.base_delay_s.max(1).saturating_mul(1i64 << doublings).min(self.max_delay_s.max(1));
        let at = now.saturating_add(delay);
        // A code that will have expired by then is not worth sending.
        if at >= expires_at { AfterFailure::GiveUp } else { AfterFailure::RetryAt(at) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_strings() {
        for s in [MessageStatus::Queued, MessageStatus::Sent, MessageStatus::Failed] {
            assert_eq!(MessageStatus::try_from(s.as_str()), Ok(s));
        }
        assert!(MessageStatus::try_from("done").is_err());
    }

    #[test]
    fn backoff_doubles_then_gives_up() {
        let p = RetryPolicy::default();
        let far = i64::MAX;
        let waits: Vec<_> = (1..=5).map(|a| p.after_failure(a, 100, false, far)).collect();
        assert_eq!(
            waits,
            [
                AfterFailure::RetryAt(102),
                AfterFailure::RetryAt(104),
                AfterFailure::RetryAt(108),
                AfterFailure::RetryAt(116),
                AfterFailure::GiveUp
            ]
        );
        let capped = RetryPolicy { max_attempts: 100, base_delay_s: 10, max_delay_s: 60 };
        assert_eq!(capped.after_failure(50, 0, false, far), AfterFailure::RetryAt(60));
    }

    #[test]
    fn permanent_errors_and_expiry_stop_retries() {
        let p = RetryPolicy::default();
        assert_eq!(p.after_failure(1, 100, true, i64::MAX), AfterFailure::GiveUp);
        assert_eq!(p.after_failure(1, 100, false, 102), AfterFailure::GiveUp);
        assert_eq!(p.after_failure(1, 100, false, 103), AfterFailure::RetryAt(102));
    }
}
