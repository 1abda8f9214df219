//! The login attempt state machine: a login that passed the password step
//! and now waits for the second factor.
//!
//! ```text
//! Pending --correct code--> Completed
//! Pending --wrong code (MAX-th)--> Dead
//! ```
//!
//! Expiry is not a state: it is derived from `expires_at` and the clock the
//! caller passes in, so no background job is needed to flip rows.

use crate::error::DomainError;

/// Wrong second-factor codes one attempt survives. After that the user must
/// start over with the password, which puts the guesser back behind the
/// password throttle.
pub const MAX_SECOND_FACTOR_FAILURES: i64 = 5;

/// Stored state of a login attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginState {
    Pending,
    Completed,
    Dead,
}

impl LoginState {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginState::Pending => "pending",
            LoginState::Completed => "completed",
            LoginState::Dead => "dead",
        }
    }
}

impl TryFrom<&str> for LoginState {
    type Error = DomainError;

    fn try_from(s: &str) -> Result<Self, DomainError> {
        match s {
            "pending" => Ok(LoginState::Pending),
            "completed" => Ok(LoginState::Completed),
            "dead" => Ok(LoginState::Dead),
            _ => Err(DomainError::invalid("state", "must be one of pending, completed, dead")),
        }
    }
}

/// Why an attempt can no longer take a second-factor code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoginRefusal {
    #[error("the login attempt has expired")]
    Expired,
    #[error("the login attempt is already finished")]
    Finished,
    #[error("too many wrong codes for this login attempt")]
    TooManyFailures,
}

/// A login that passed the password step.
#[derive(Clone, Debug)]
pub struct LoginAttempt {
    pub id: String,
    pub account_id: String,
    pub state: LoginState,
    pub failures: i64,
    pub expires_at: i64,
}

impl LoginAttempt {
    /// Whether a second-factor code may be checked against this attempt now.
    ///
    /// Failures are checked before expiry so a burnt attempt is reported as
    /// such even after it would also have expired; the failure count is
    /// checked as well as the state in case a row was written with a stale
    /// state.
    pub fn check_usable(&self, now: i64) -> Result<(), LoginRefusal> {
        if self.state == LoginState::Dead || self.failures >= MAX_SECOND_FACTOR_FAILURES {
            return Err(LoginRefusal::TooManyFailures);
        }
        if self.state == LoginState::Completed {
            return Err(LoginRefusal::Finished);
        }
        if now >= self.expires_at {
            return Err(LoginRefusal::Expired);
        }
        Ok(())
    }
}

/// The state to store after one more wrong code.
pub fn after_failure(failures_before: i64) -> LoginState {
    if failures_before.saturating_add(1) >= MAX_SECOND_FACTOR_FAILURES { LoginState::Dead } else { LoginState::Pending }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(state: LoginState, failures: i64) -> LoginAttempt {
        LoginAttempt { id: "la_1".into(), account_id: "acc_1".into(), state, failures, expires_at: 1_000 }
    }

    #[test]
    fn state_strings() {
        for s in [LoginState::Pending, LoginState::Completed, LoginState::Dead] {
            assert_eq!(LoginState::try_from(s.as_str()), Ok(s));
        }
        assert_eq!(LoginState::Pending.as_str(), "pending");
        assert_eq!(LoginState::Completed.as_str(), "completed");
        assert_eq!(LoginState::Dead.as_str(), "dead");
        assert!(matches!(LoginState::try_from("Pending"), Err(DomainError::InvalidField { field: "state", .. })));
    }

    #[test]
    fn pending_is_usable_until_expiry() {
        let a = attempt(LoginState::Pending, 0);
        assert_eq!(a.check_usable(0), Ok(()));
        assert_eq!(a.check_usable(999), Ok(()));
        assert_eq!(a.check_usable(1_000), Err(LoginRefusal::Expired));
        assert_eq!(a.check_usable(5_000), Err(LoginRefusal::Expired));
    }

    #[test]
    fn refusals() {
        assert_eq!(attempt(LoginState::Completed, 0).check_usable(0), Err(LoginRefusal::Finished));
        assert_eq!(attempt(LoginState::Dead, 0).check_usable(0), Err(LoginRefusal::TooManyFailures));
        assert_eq!(
            attempt(LoginState::Pending, MAX_SECOND_FACTOR_FAILURES).check_usable(0),
            Err(LoginRefusal::TooManyFailures)
        );
        assert_eq!(attempt(LoginState::Pending, 4).check_usable(0), Ok(()));
        // Too many failures wins over expiry and completion.
        assert_eq!(attempt(LoginState::Dead, 0).check_usable(9_999), Err(LoginRefusal::TooManyFailures));
        assert_eq!(attempt(LoginState::Completed, 7).check_usable(0), Err(LoginRefusal::TooManyFailures));
        assert_eq!(attempt(LoginState::Completed, 0).check_usable(9_999), Err(LoginRefusal::Finished));
    }

    #[test]
    fn failures_lead_to_dead() {
        assert_eq!(after_failure(0), LoginState::Pending);
        assert_eq!(after_failure(3), LoginState::Pending);
        assert_eq!(after_failure(4), LoginState::Dead);
        assert_eq!(after_failure(5), LoginState::Dead);
        assert_eq!(after_failure(i64::MAX), LoginState::Dead);

        // Walking the machine: the fifth wrong code kills the attempt.
        let mut a = attempt(LoginState::Pending, 0);
        for _ in 0..MAX_SECOND_FACTOR_FAILURES {
            assert_eq!(a.check_usable(0), Ok(()));
            a.state = after_failure(a.failures);
            a.failures += 1;
        }
        assert_eq!(a.state, LoginState::Dead);
        assert_eq!(a.check_usable(0), Err(LoginRefusal::TooManyFailures));
    }
}
