//! TOTP secrets as people see them: the base32 "backup key" and the
//! `otpauth://` URI that authenticator apps scan from a QR code.
//!
//! Owns secret generation, the textual encodings and their tolerant parsing.
//! Storing the secret (encrypted) is the store's job, not this module's.

use crate::error::DomainError;
use crate::percent::{percent_decode, percent_encode};
use data_encoding::BASE32_NOPAD;

const FIELD: &str = "backup_key";
const URI_FIELD: &str = "otpauth_uri";

/// How long a backup key is, in base32 characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackupKeyLength {
    /// 80-bit secret: easier to type, still the RFC 4226 minimum (128 bits
    /// recommended, 80 required).
    Chars16,
    /// 160-bit secret: the RFC 4226 recommendation for HMAC-SHA-1.
    Chars32,
}

impl BackupKeyLength {
    /// Secret size in bytes; every 5 bytes become 8 base32 characters.
    pub fn secret_bytes(self) -> usize {
        match self {
            BackupKeyLength::Chars16 => 10,
            BackupKeyLength::Chars32 => 20,
        }
    }

    /// Maps a configured character count to a length, if it is supported.
    pub fn from_chars(n: u32) -> Option<Self> {
        match n {
            16 => Some(BackupKeyLength::Chars16),
            32 => Some(BackupKeyLength::Chars32),
            _ => None,
        }
    }
}

/// A fresh random TOTP secret.
///
/// `rand::CryptoRng` (re-exported from `rand_core` 0.10) is the infallible,
/// cryptographically secure RNG bound, e.g. `rand::rng()` or `SysRng`
/// wrapped in `UnwrapErr`; it rules out fast non-crypto generators.
pub fn generate_secret<R: rand::CryptoRng + ?Sized>(len: BackupKeyLength, rng: &mut R) -> Vec<u8> {
    let mut secret = vec![0u8; len.secret_bytes()];
    rng.fill_bytes(&mut secret);
    secret
}

/// RFC 4648 base32, uppercase, without `=` padding (the sizes we generate
/// never need it, and apps choke on it inside URIs).
pub fn encode_backup_key(secret: &[u8]) -> String {
    BASE32_NOPAD.encode(secret)
}

/// Parses a backup key as a person might type or paste it back.
pub fn parse_backup_key(input: &str) -> Result<Vec<u8>, DomainError> {
    let cleaned: String = input.chars().filter(|c| *c != ' ' && *c != '-').map(|c| c.to_ascii_uppercase()).collect();
    let cleaned = cleaned.trim_end_matches('=');
    if let Some(bad) = cleaned.chars().find(|c| !matches!(c, 'A'..='Z' | '2'..='7')) {
        return Err(DomainError::invalid(
            FIELD,
            format!("unexpected character {bad:?}; only letters A-Z and digits 2-7 are allowed"),
        ));
    }
    if cleaned.len() != 16 && cleaned.len() != 32 {
        return Err(DomainError::invalid(FIELD, format!("must be 16 or 32 characters, got {}", cleaned.len())));
    }
    BASE32_NOPAD.decode(cleaned.as_bytes()).map_err(|e| DomainError::invalid(FIELD, e.to_string()))
}

/// Splits a key into groups of four so it can be read aloud or copied by hand.
pub fn group_backup_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    chars.chunks(4).map(|g| g.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
}

/// The Key URI that authenticator apps import.
///
/// `@` in the account is encoded as `%40`: it is not an RFC 3986 unreserved
/// character, and Google Authenticator decodes it either way.
pub fn otpauth_uri(issuer: &str, account_email: &str, backup_key: &str) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={backup_key}&issuer={issuer}&algorithm=SHA1&digits=6&period=30",
        percent_encode(account_email)
    )
}

/// Parses a URI produced by [`otpauth_uri`] (or a compatible app), returning
/// `(issuer, account, secret)`. Parameters we cannot honour (another
/// algorithm, digit count or period) are rejected rather than ignored, since
/// the resulting codes would never verify.
pub fn parse_otpauth_uri(uri: &str) -> Result<(String, String, Vec<u8>), DomainError> {
    let rest = uri
        .strip_prefix("otpauth://totp/")
        .ok_or_else(|| DomainError::invalid(URI_FIELD, "must start with otpauth://totp/"))?;
    let (label, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (label_issuer, account) = match label.split_once(':') {
        Some((i, a)) => (Some(decode(i)?), decode(a)?),
        None => (None, decode(label)?),
    };
    let mut secret = None;
    let mut param_issuer = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = decode(value)?;
        match key {
            "secret" => secret = Some(parse_backup_key(&value)?),
            "issuer" => param_issuer = Some(value),
            "algorithm" if value.eq_ignore_ascii_case("SHA1") => {}
            "digits" if value == "6" => {}
            "period" if value == "30" => {}
            "algorithm" | "digits" | "period" => {
                return Err(DomainError::invalid(URI_FIELD, format!("unsupported {key}")));
            }
            _ => {}
        }
    }
    let issuer = match (label_issuer, param_issuer) {
        (Some(l), Some(p)) if l != p => {
            return Err(DomainError::invalid(URI_FIELD, "issuer in label and parameter differ"));
        }
        (Some(i), _) | (None, Some(i)) => i,
        (None, None) => return Err(DomainError::invalid(URI_FIELD, "missing issuer")),
    };
    if account.is_empty() {
        return Err(DomainError::invalid(URI_FIELD, "missing account name"));
    }
    let secret = secret.ok_or_else(|| DomainError::invalid(URI_FIELD, "missing secret"))?;
    Ok((issuer, account, secret))
}

fn decode(s: &str) -> Result<String, DomainError> {
    percent_decode(s).map_err(|m| DomainError::invalid(URI_FIELD, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(e: DomainError) -> &'static str {
        match e {
            DomainError::InvalidField { field, .. } => field,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn lengths() {
        assert_eq!(BackupKeyLength::from_chars(16), Some(BackupKeyLength::Chars16));
        assert_eq!(BackupKeyLength::from_chars(32), Some(BackupKeyLength::Chars32));
        assert_eq!(BackupKeyLength::from_chars(24), None);
        assert_eq!(BackupKeyLength::Chars16.secret_bytes(), 10);
        assert_eq!(BackupKeyLength::Chars32.secret_bytes(), 20);
    }

    #[test]
    fn rfc4648_vectors() {
        assert_eq!(encode_backup_key(b""), "");
        assert_eq!(encode_backup_key(b"f"), "MY");
        assert_eq!(encode_backup_key(b"fo"), "MZXQ");
        assert_eq!(encode_backup_key(b"foo"), "MZXW6");
        assert_eq!(encode_backup_key(b"foob"), "MZXW6YQ");
        assert_eq!(encode_backup_key(b"fooba"), "MZXW6YTB");
        assert_eq!(encode_backup_key(b"foobar"), "MZXW6YTBOI");
        assert_eq!(encode_backup_key(b"12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn round_trips_both_lengths() {
        let mut rng = rand::rng();
        for len in [BackupKeyLength::Chars16, BackupKeyLength::Chars32] {
            let secret = generate_secret(len, &mut rng);
            assert_eq!(secret.len(), len.secret_bytes());
            let key = encode_backup_key(&secret);
            assert_eq!(key.len(), len.secret_bytes() * 8 / 5);
            assert_eq!(parse_backup_key(&key).unwrap(), secret);
            assert_eq!(parse_backup_key(&group_backup_key(&key)).unwrap(), secret);
        }
    }

    #[test]
    fn parse_is_tolerant() {
        let secret = b"12345678901234567890".to_vec();
        for input in [
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
            "gezd gnbv gy3t qojq gezd gnbv gy3t qojq",
            "GEZD-GNBV-GY3T-QOJQ-GEZD-GNBV-GY3T-QOJQ",
            "  gEzDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ==== ",
        ] {
            assert_eq!(parse_backup_key(input).unwrap(), secret, "{input:?}");
        }
        assert_eq!(parse_backup_key("MZXW 6YTB OIMZ XW6Y").unwrap().len(), 10);
    }

    #[test]
    fn parse_rejects() {
        for input in [
            "",
            "MZXW6YTBOI",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQA",
            "GEZDGNBVGY3TQOJ1",
            "GEZDGNBVGY3TQOJ0",
            "GEZDGNBVGY3TQOJ8",
            "GEZDGNBVGY3TQ_JQ",
            "GEZDGNBV\tGY3TQOJQ",
            "GEZDGNBV==GY3TQOJQ",
            "GEZDGNBVGY3TQOJÉ",
        ] {
            let err = parse_backup_key(input).unwrap_err();
            assert_eq!(field_of(err), "backup_key", "{input:?}");
        }
    }

    #[test]
    fn grouping() {
        assert_eq!(group_backup_key("ABCDEFGHIJKLMNOP"), "ABCD EFGH IJKL MNOP");
        assert_eq!(group_backup_key("ABCDEF"), "ABCD EF");
        assert_eq!(group_backup_key(""), "");
    }

    #[test]
    fn uri_format() {
        let uri = otpauth_uri("Two Step", "alice.b+x@example.com", "JBSWY3DPEHPK3PXP");
        assert_eq!(
            uri,
            "otpauth://totp/Two%20Step:alice.b%2Bx%40example.com?secret=JBSWY3DPEHPK3PXP\
             &issuer=Two%20Step&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(
            otpauth_uri("twostep", "a@b.co", "JBSWY3DPEHPK3PXP"),
            "otpauth://totp/twostep:a%40b.co?secret=JBSWY3DPEHPK3PXP\
             &issuer=twostep&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn uri_round_trip() {
        let secret = b"12345678901234567890";
        let key = encode_backup_key(secret);
        for (issuer, email) in [("twostep", "a@example.com"), ("Acme & Co: Ünïcode?", "x_y~z-1.2+tag@sub.example.org")]
        {
            let uri = otpauth_uri(issuer, email, &key);
            let (i, a, s) = parse_otpauth_uri(&uri).unwrap();
            assert_eq!((i.as_str(), a.as_str(), s.as_slice()), (issuer, email, &secret[..]));
        }
    }

    #[test]
    fn uri_parse_rejects() {
        let key = "JBSWY3DPEHPK3PXP";
        for uri in [
            "otpauth://hotp/x:a?secret=JBSWY3DPEHPK3PXP&issuer=x".to_string(),
            "otpauth://totp/x:a?issuer=x".to_string(),
            format!("otpauth://totp/x:a?secret={key}&issuer=y"),
            format!("otpauth://totp/a?secret={key}"),
            format!("otpauth://totp/x:?secret={key}&issuer=x"),
            format!("otpauth://totp/x:a?secret={key}&algorithm=SHA256"),
            format!("otpauth://totp/x:a?secret={key}&digits=8"),
            format!("otpauth://totp/x:a?secret={key}&period=60"),
            format!("otpauth://totp/x:a%4?secret={key}"),
            format!("otpauth://totp/x:a%+1?secret={key}"),
            format!("otpauth://totp/x:a%FF?secret={key}"),
            "otpauth://totp/x:a?secret=NOT-A-KEY".to_string(),
        ] {
            let err = parse_otpauth_uri(&uri).unwrap_err();
            assert!(matches!(err, DomainError::InvalidField { .. }), "{uri}");
        }
        let (i, a, _) = parse_otpauth_uri(&format!("otpauth://totp/a?secret={key}&issuer=x")).unwrap();
        assert_eq!((i.as_str(), a.as_str()), ("x", "a"));
    }
}
