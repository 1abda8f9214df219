//! Password length policy. Hashing lives in the application layer; this
//! module only decides which passwords are acceptable.

use crate::error::DomainError;

/// Shortest accepted password, in Unicode scalar values.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted password: generous for passphrases, yet bounded so the
/// password hash cannot be fed megabytes.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Checks the length rules, reporting errors against `field` so the same rule
/// serves "password", "new_password" and so on.
///
/// Length is counted in `char`s, not bytes, so non-Latin passwords are not
/// penalised for their UTF-8 size.
pub fn validate_password(field: &'static str, pw: &str) -> Result<(), DomainError> {
    let n = pw.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(DomainError::invalid(field, format!("must be at least {MIN_PASSWORD_CHARS} characters")));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(DomainError::invalid(field, format!("must be at most {MAX_PASSWORD_CHARS} characters")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert!(validate_password("password", "1234567").is_err());
        assert!(validate_password("password", "12345678").is_ok());
        assert!(validate_password("password", &"x".repeat(128)).is_ok());
        assert!(validate_password("password", &"x".repeat(129)).is_err());
        assert!(validate_password("password", "").is_err());
    }

    #[test]
    fn counts_chars_not_bytes() {
        // 8 chars but 24 bytes: accepted.
        assert!(validate_password("password", "密码密码密码密码").is_ok());
        // 4 chars but 16 bytes: refused.
        assert!(validate_password("password", "🔑🔑🔑🔑").is_err());
        // 128 chars but 512 bytes: accepted.
        assert!(validate_password("password", &"🔑".repeat(128)).is_ok());
    }

    #[test]
    fn reports_given_field() {
        match validate_password("new_password", "short") {
            Err(DomainError::InvalidField { field, .. }) => assert_eq!(field, "new_password"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
