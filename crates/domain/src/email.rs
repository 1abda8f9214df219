//! E-mail address normalisation: the one canonical form used as a login name
//! and uniqueness key. Deliberately simpler than RFC 5322 (no quoted local
//! parts, comments or IP literals) because only deliverable, typeable
//! addresses matter here.

use crate::error::DomainError;

const FIELD: &str = "email";
const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 253;
const MAX_TOTAL: usize = 254;

/// Trims and lowercases `input`, then checks its shape.
///
/// The whole address is lowercased, including the local part: RFC 5321 lets
/// servers treat it case-sensitively, but in practice none do, and two
/// accounts differing only in case would be a support and phishing hazard.
/// Lengths are counted in characters.
pub fn normalize_email(input: &str) -> Result<String, DomainError> {
    let email = input.trim().to_lowercase();
    let err = |m: &str| Err(DomainError::invalid(FIELD, m));
    if email.is_empty() {
        return err("is required");
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return err("must not contain spaces or control characters");
    }
    if email.chars().count() > MAX_TOTAL {
        return err("is too long");
    }
    let mut parts = email.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return err("must contain exactly one @");
    };
    if local.is_empty() || local.chars().count() > MAX_LOCAL {
        return err("the part before @ must be 1 to 64 characters");
    }
    if domain.is_empty() || domain.chars().count() > MAX_DOMAIN {
        return err("the domain must be 1 to 253 characters");
    }
    if !domain.contains('.') {
        return err("the domain must contain a dot");
    }
    let edge = |c: char| c == '.' || c == '-';
    if domain.starts_with(edge) || domain.ends_with(edge) {
        return err("the domain must not start or end with '.' or '-'");
    }
    // Not in the original rule list, but "a@b..com" can never be delivered.
    if domain.contains("..") {
        return err("the domain must not contain empty labels");
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(input: &str) -> bool {
        matches!(
            normalize_email(input),
            Err(DomainError::InvalidField { field: "email", .. })
        )
    }

    #[test]
    fn normalises() {
        assert_eq!(
            normalize_email("  Alice@Example.COM \n").unwrap(),
            "alice@example.com"
        );
        assert_eq!(
            normalize_email("a.b+tag@sub.example.org").unwrap(),
            "a.b+tag@sub.example.org"
        );
        assert_eq!(
            normalize_email("ÉLODIE@exämple.fr").unwrap(),
            "élodie@exämple.fr"
        );
    }

    #[test]
    fn rejects_bad_shapes() {
        for input in [
            "",
            "   ",
            "alice",
            "alice@",
            "@example.com",
            "a@@example.com",
            "a@b@example.com",
            "alice@localhost",
            "alice@.example.com",
            "alice@example.com.",
            "alice@-example.com",
            "alice@example.com-",
            "alice@example..com",
            "al ice@example.com",
            "alice@exa\tmple.com",
            "alice\u{0}@example.com",
            "alice@example.com\u{7f}",
            "alice\u{a0}x@example.com",
        ] {
            assert!(rejected(input), "{input:?}");
        }
    }

    #[test]
    fn length_limits() {
        let local64 = "a".repeat(64);
        assert!(normalize_email(&format!("{local64}@example.com")).is_ok());
        assert!(rejected(&format!("{}@example.com", "a".repeat(65))));

        // 249-char domain + "a@" = 251 total: fine.
        let domain249 = format!("{}.com", "d".repeat(245));
        assert!(normalize_email(&format!("a@{domain249}")).is_ok());
        // 253-char domain is allowed on its own, but the total would be 255.
        let domain253 = format!("{}.com", "d".repeat(249));
        assert!(rejected(&format!("a@{domain253}")));
        let domain254 = format!("{}.com", "d".repeat(250));
        assert!(rejected(&format!("a@{domain254}")));
        // Exactly 254 total.
        let local = "a".repeat(64);
        let domain = format!("{}.com", "d".repeat(254 - 64 - 1 - 4));
        assert!(normalize_email(&format!("{local}@{domain}")).is_ok());
        let longer = format!("d{domain}");
        assert!(rejected(&format!("{local}@{longer}")));
    }
}
