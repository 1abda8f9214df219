//! E-mail address normalisation: the one canonical form used as a login name,
//! as the uniqueness key, as the key of the per-address caps, and as the exact
//! address mail is sent to. Deliberately simpler than RFC 5322 (no display
//! names, quoted local parts, comments, encoded words or IP literals) because
//! only a bare, typeable `local@domain` is wanted, and anything a mailer could
//! read differently from us (`x<a@example.com>` is a mailbox at example.com
//! with the display name "x") must be refused rather than stored.
//!
//! One person, one address: text that looks the same must not become two
//! accounts. So the address is put through Unicode NFKC (fullwidth `ａ` is `a`,
//! `＠` is `@`), lowercased, and its domain through IDNA (UTS 46) to the ASCII
//! form DNS and SMTP use; invisible characters (zero-width spaces, joiners,
//! text-direction marks), control characters and local parts mixing scripts
//! (a Cyrillic `а` among Latin letters, UTS 39's "highly restrictive" level)
//! are refused. Look-alikes are thus either refused or land on the same
//! address; a look-alike domain shows as its `xn--` form.

use unicode_normalization::UnicodeNormalization;
use unicode_security::{GeneralSecurityProfile, RestrictionLevel, RestrictionLevelDetection};

use crate::error::DomainError;

const FIELD: &str = "email";
const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 253;
const MAX_TOTAL: usize = 254;
/// Longer input is refused before any Unicode work is spent on it.
const MAX_INPUT_BYTES: usize = 4 * MAX_TOTAL;
/// ASCII punctuation allowed in a local part: RFC 5322's `atext` without `?`,
/// so no RFC 2047 encoded word (`=?utf-8?q?…?=`) can be spelled in one.
const LOCAL_PUNCTUATION: &str = "!#$%&'*+-/=^_`{|}~.";

/// Trims, folds and checks `input`; returns the address as stored and sent.
///
/// The whole address is lowercased, including the local part: RFC 5321 lets
/// servers treat it case-sensitively, but in practice none do, and two
/// accounts differing only in case would be a support and phishing hazard.
/// Lengths are counted in characters, the domain's in its ASCII form.
/// Normalising a normalised address changes nothing.
pub fn normalize_email(input: &str) -> Result<String, DomainError> {
    let err = |m: &str| Err(DomainError::invalid(FIELD, m));
    let raw = input.trim();
    if raw.is_empty() {
        return err("is required");
    }
    if raw.len() > MAX_INPUT_BYTES {
        return err("is too long");
    }
    if raw.chars().any(is_invisible) {
        return err("must not contain invisible or text-direction characters");
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return err("must not contain spaces or control characters");
    }
    // Lowercasing can leave text that is not NFKC (rarely), so fold again.
    let email: String = raw.nfkc().collect::<String>().to_lowercase().nfkc().collect();
    if email.chars().any(|c| c.is_whitespace() || c.is_control() || is_invisible(c)) {
        return err("must not contain spaces or control characters");
    }
    if email.chars().any(|c| "<>\"(),:;[]\\?".contains(c)) {
        return err("must be a bare address such as name@example.com, without a name, quotes, brackets or comments");
    }
    let mut parts = email.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return err("must contain exactly one @");
    };
    check_local(local)?;
    let domain = ascii_domain(domain)?;
    let email = format!("{local}@{domain}");
    if email.chars().count() > MAX_TOTAL {
        return err("is too long");
    }
    Ok(email)
}

fn check_local(local: &str) -> Result<(), DomainError> {
    let err = |m: &str| Err(DomainError::invalid(FIELD, m));
    if local.is_empty() || local.chars().count() > MAX_LOCAL {
        return err("the part before @ must be 1 to 64 characters");
    }
    let allowed = |c: char| {
        if c.is_ascii() { c.is_ascii_alphanumeric() || LOCAL_PUNCTUATION.contains(c) } else { c.identifier_allowed() }
    };
    if !local.chars().all(allowed) {
        return err("the part before @ may only hold letters, digits and . ! # $ % & ' * + - / = ^ _ ` { | } ~");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return err("the part before @ must not start or end with a dot or hold two in a row");
    }
    // ASCII punctuation is in every script; what is left must not mix
    // scripts that hold look-alikes (Latin with Cyrillic or Greek, ...).
    if !single_script(local) {
        return err("the part before @ must not mix letters of different scripts (e.g. Latin and Cyrillic)");
    }
    Ok(())
}

/// The domain in the ASCII form DNS and SMTP use (`xn--` labels), after
/// UTS 46 mapping (case, width and compatibility forms folded) with the
/// strict rules: letters, digits and hyphens only, DNS lengths.
fn ascii_domain(domain: &str) -> Result<String, DomainError> {
    let err = |m: &str| Err(DomainError::invalid(FIELD, m));
    if domain.is_empty() || domain.chars().count() > MAX_DOMAIN {
        return err("the domain must be 1 to 253 characters");
    }
    let edge = |c: char| c == '.' || c == '-';
    if domain.starts_with(edge) || domain.ends_with(edge) {
        return err("the domain must not start or end with '.' or '-'");
    }
    // Not in the original rule list, but "a@b..com" can never be delivered.
    if domain.contains("..") {
        return err("the domain must not contain empty labels");
    }
    let Ok(ascii) = idna::domain_to_ascii_strict(domain) else {
        return err("the domain is not a valid domain name");
    };
    if ascii.is_empty() || ascii.len() > MAX_DOMAIN || ascii.ends_with('.') {
        return err("the domain is not a valid domain name");
    }
    if !ascii.contains('.') {
        return err("the domain must contain a dot");
    }
    let (unicode, checked) = idna::domain_to_unicode(&ascii);
    if checked.is_err() || !unicode.split('.').all(single_script) {
        return err("the domain must not mix letters of different scripts (e.g. Latin and Cyrillic)");
    }
    Ok(ascii)
}

/// Whether the letters of `text` stay within one script, or one of the
/// combinations UTS 39 calls "highly restrictive" (Latin with Han and Kana,
/// with Han and Bopomofo, with Han and Hangul), which hold no look-alikes.
fn single_script(text: &str) -> bool {
    let letters: String = text.chars().filter(|c| !c.is_ascii_punctuation()).collect();
    letters.as_str().detect_restriction_level() <= RestrictionLevel::HighlyRestrictive
}

/// Default-ignorable code points (Unicode's DerivedCoreProperties), which
/// include every text-direction control: they draw as nothing.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}'..='\u{1160}' | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
        | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}'
        | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(input: &str) -> bool {
        matches!(normalize_email(input), Err(DomainError::InvalidField { field: "email", .. }))
    }

    fn message(input: &str) -> String {
        match normalize_email(input) {
            Err(DomainError::InvalidField { message, .. }) => message,
            other => panic!("{input:?} was not refused: {other:?}"),
        }
    }

    #[test]
    fn normalises() {
        assert_eq!(normalize_email("  Alice@Example.COM \n").unwrap(), "alice@example.com");
        assert_eq!(normalize_email("a.b+tag@sub.example.org").unwrap(), "a.b+tag@sub.example.org");
        assert_eq!(normalize_email("o'brien_x-y@example.com").unwrap(), "o'brien_x-y@example.com");
        // The local part keeps its letters; the domain takes its DNS form.
        assert_eq!(normalize_email("ÉLODIE@exämple.fr").unwrap(), "élodie@xn--exmple-cua.fr");
        assert_eq!(normalize_email("élodie@xn--exmple-cua.fr").unwrap(), "élodie@xn--exmple-cua.fr");
        assert_eq!(normalize_email("алиса@пример.рф").unwrap(), "алиса@xn--e1afmkfd.xn--p1ai");
        assert_eq!(normalize_email("山田@example.jp").unwrap(), "山田@example.jp");
    }

    #[test]
    fn look_alikes_fold_to_the_same_address() {
        for look_alike in [
            "ａｌｉｃｅ@example.com",       // fullwidth letters
            "alice＠example.com",           // fullwidth at sign
            "alice@ｅｘａｍｐｌｅ．ｃｏｍ", // fullwidth domain and dot
            "ALICE@EXAMPLE.COM",
            "alice@example。com",        // ideographic full stop (UTS 46)
            "\u{1d41a}lice@example.com", // mathematical bold a
        ] {
            assert_eq!(normalize_email(look_alike).unwrap(), "alice@example.com", "{look_alike:?}");
        }
        // A composed and a decomposed é are one address.
        assert_eq!(
            normalize_email("e\u{301}lodie@example.fr").unwrap(),
            normalize_email("\u{e9}lodie@example.fr").unwrap()
        );
    }

    #[test]
    fn look_alikes_that_cannot_fold_are_refused() {
        for (input, says) in [
            ("al\u{200b}ice@example.com", "invisible"), // zero-width space
            ("alice\u{200d}@example.com", "invisible"), // zero-width joiner
            ("\u{feff}alice@example.com", "invisible"), // byte-order mark
            ("alice\u{ad}@example.com", "invisible"),   // soft hyphen
            ("\u{202e}moc.elpmaxe@ecila", "invisible"), // right-to-left override
            ("alice\u{2066}@example.com", "invisible"), // left-to-right isolate
            ("alice@exa\u{200c}mple.com", "invisible"), // zero-width non-joiner
            ("\u{430}lice@example.com", "scripts"),     // Cyrillic а among Latin
            ("p\u{430}ypal@example.com", "scripts"),
            ("\u{3bf}mega@example.com", "scripts"), // Greek ο among Latin
            ("alice@ex\u{430}mple.com", "scripts"), // Cyrillic а in the domain
            ("alice\u{1}@example.com", "control"),
            ("alice\u{85}@example.com", "control"),
        ] {
            assert!(message(input).contains(says), "{input:?}: {}", message(input));
        }
    }

    #[test]
    fn only_a_bare_address_is_accepted() {
        for input in [
            "x<a@example.com>",
            "a0<bomb@example.com>",
            "Alice <alice@example.com>",
            "<alice@example.com>",
            "\"alice\"@example.com",
            "\"a@b\"@example.com",
            "alice(comment)@example.com",
            "alice@example.com(comment)",
            "=?utf-8?q?bomb=40evil.com?=@example.com",
            "=?utf-8?b?Ym9tYkBldmlsLmNvbQ==?=@example.com",
            "alice@[127.0.0.1]",
            "a,b@example.com",
            "a;b@example.com",
            "a:b@example.com",
            "a\\b@example.com",
            "x＜a@example.com＞", // fullwidth brackets fold to brackets first
        ] {
            assert!(rejected(input), "{input:?}");
        }
        assert!(message("x<a@example.com>").contains("bare address"));
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
            "alice@exa_mple.com",
            "alice@exam!ple.com",
            ".alice@example.com",
            "alice.@example.com",
            "al..ice@example.com",
            "al ice@example.com",
            "alice@exa\tmple.com",
            "alice\u{0}@example.com",
            "alice@example.com\u{7f}",
            "alice\u{a0}x@example.com",
            "alice\u{3000}x@example.com",
            "al☃ice@example.com",        // a symbol, not a letter
            "alice\u{e000}@example.com", // private use
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
        let d61 = "d".repeat(61);
        let domain249 = format!("{d61}.{d61}.{d61}.{}.com", "d".repeat(59));
        assert_eq!(domain249.len(), 249);
        assert!(normalize_email(&format!("a@{domain249}")).is_ok());
        // A 253-char domain is allowed on its own, but the total would be 255.
        let domain253 = format!("{d61}.{d61}.{d61}.{}.com", "d".repeat(63));
        assert_eq!(domain253.len(), 253);
        assert!(rejected(&format!("a@{domain253}")));
        let domain254 = format!("d{domain253}");
        assert!(rejected(&format!("a@{domain254}")));
        // A label over 63 characters is not a DNS name.
        assert!(rejected(&format!("a@{}.com", "d".repeat(64))));
        // Exactly 254 total.
        let domain = format!("{}.{}.{}.com", "d".repeat(61), "d".repeat(61), "d".repeat(254 - 64 - 1 - 4 - 124));
        assert!(normalize_email(&format!("{local64}@{domain}")).is_ok());
        assert!(rejected(&format!("{local64}@d{domain}")));
        // Huge input is refused without being folded.
        assert!(message(&"a".repeat(100_000)).contains("too long"));
    }

    #[test]
    fn normalising_twice_changes_nothing() {
        for input in [
            "ÉLODIE@exämple.fr",
            "ａｌｉｃｅ@ｅｘａｍｐｌｅ．ｃｏｍ",
            "İstanbul@example.com",
            "ß@straße.de",
            "山田@例え.jp",
        ] {
            let once = normalize_email(input).unwrap();
            assert_eq!(normalize_email(&once).unwrap(), once, "{input:?}");
        }
    }
}
