//! Names for second-factor methods and account roles, and their stable
//! string forms as stored in the database and used in the API.

use crate::error::DomainError;
use std::fmt;

/// How a user proves the second factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecondFactorMethod {
    /// A WebAuthn passkey: a signature by a key the account registered,
    /// bound to this site's origin (the one factor a phishing page cannot
    /// relay).
    Passkey,
    /// Authenticator app code.
    Totp,
    Sms,
    Voice,
    Email,
}

impl SecondFactorMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SecondFactorMethod::Passkey => "passkey",
            SecondFactorMethod::Totp => "totp",
            SecondFactorMethod::Sms => "sms",
            SecondFactorMethod::Voice => "voice",
            SecondFactorMethod::Email => "email",
        }
    }
}

impl TryFrom<&str> for SecondFactorMethod {
    type Error = DomainError;

    /// Exact, lowercase match: these strings are identifiers, not user prose.
    fn try_from(s: &str) -> Result<Self, DomainError> {
        match s {
            "passkey" => Ok(SecondFactorMethod::Passkey),
            "totp" => Ok(SecondFactorMethod::Totp),
            "sms" => Ok(SecondFactorMethod::Sms),
            "voice" => Ok(SecondFactorMethod::Voice),
            "email" => Ok(SecondFactorMethod::Email),
            _ => Err(DomainError::invalid("channel", "must be one of passkey, totp, sms, voice, email")),
        }
    }
}

impl fmt::Display for SecondFactorMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an account may do beyond its own security settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    User,
    /// Reviews held withdrawals and reset requests.
    Reviewer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
        }
    }

    /// Staff may see other people's accounts.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Reviewer | Role::Admin)
    }
}

impl TryFrom<&str> for Role {
    type Error = DomainError;

    fn try_from(s: &str) -> Result<Self, DomainError> {
        match s {
            "user" => Ok(Role::User),
            "reviewer" => Ok(Role::Reviewer),
            "admin" => Ok(Role::Admin),
            _ => Err(DomainError::invalid("role", "must be one of user, reviewer, admin")),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_round_trip() {
        use SecondFactorMethod::*;
        for m in [Totp, Sms, Voice, Email] {
            assert_eq!(SecondFactorMethod::try_from(m.as_str()), Ok(m));
            assert_eq!(m.to_string(), m.as_str());
        }
        assert_eq!(Totp.as_str(), "totp");
        assert_eq!(Sms.as_str(), "sms");
        assert_eq!(Voice.as_str(), "voice");
        assert_eq!(Email.as_str(), "email");
    }

    #[test]
    fn method_rejects_unknown() {
        for s in ["", "TOTP", "push", " sms"] {
            match SecondFactorMethod::try_from(s) {
                Err(DomainError::InvalidField { field, .. }) => assert_eq!(field, "channel"),
                other => panic!("{s:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn roles() {
        for r in [Role::User, Role::Reviewer, Role::Admin] {
            assert_eq!(Role::try_from(r.as_str()), Ok(r));
        }
        assert_eq!(Role::User.as_str(), "user");
        assert_eq!(Role::Reviewer.as_str(), "reviewer");
        assert_eq!(Role::Admin.as_str(), "admin");
        assert!(!Role::User.is_staff());
        assert!(Role::Reviewer.is_staff());
        assert!(Role::Admin.is_staff());
        assert!(matches!(Role::try_from("root"), Err(DomainError::InvalidField { field: "role", .. })));
    }
}
