//! One-time codes sent to the user (SMS, voice call, e-mail).
//!
//! Owns generation and the at-rest form: only a peppered HMAC of the code is
//! stored, bound to what the code is for and where it was sent, so a leaked
//! table reveals nothing usable and a code can never be replayed for another
//! purpose or destination. Expiry and try counting stay with the caller.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How many wrong guesses a single sent code tolerates before it is burnt.
/// With 10^6 codes this keeps the guessing odds at 5 in a million per send.
pub const MAX_CODE_TRIES: i64 = 5;

const CODE_LEN: usize = 6;
const CODE_SPACE: u32 = 1_000_000;
/// Largest multiple of `CODE_SPACE` that fits in a u32; draws at or above it
/// are rejected so the remainder is exactly uniform.
const ACCEPT_BELOW: u32 = (u32::MAX / CODE_SPACE) * CODE_SPACE;

/// A uniformly random 6-digit code, zero-padded ("004217" is as likely as
/// any other).
///
/// Rejection sampling is used instead of `RngExt::random_range` because
/// rand 0.10 documents a small bias there unless its `unbiased` feature is on.
pub fn generate_code<R: rand::CryptoRng + ?Sized>(rng: &mut R) -> String {
    loop {
        let x = rng.next_u32();
        if x < ACCEPT_BELOW {
            return format!("{:06}", x % CODE_SPACE);
        }
    }
}

/// HMAC-SHA256 over length-prefixed `purpose`, `destination` and `code`.
///
/// Length prefixes make the encoding injective: ("ab", "c") and ("a", "bc")
/// hash differently, so no field can bleed into its neighbour.
pub fn hash_code(pepper: &[u8], purpose: &str, destination: &str, code: &str) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(pepper).expect("HMAC accepts keys of any length");
    for field in [purpose, destination, code] {
        mac.update(&(field.len() as u64).to_be_bytes());
        mac.update(field.as_bytes());
    }
    mac.finalize().into_bytes().into()
}

/// Whether `code` is the one whose hash is `expected`. Malformed input is
/// refused before hashing so "123456 " or full-width digits never match.
pub fn code_matches(expected: &[u8], pepper: &[u8], purpose: &str, destination: &str, code: &str) -> bool {
    if code.len() != CODE_LEN || !code.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let actual = hash_code(pepper, purpose, destination, code);
    same_secret(&actual, expected)
}

/// The first code in a message's text: a word of exactly six digits (with
/// the punctuation around it). Six digits inside a longer word, such as a
/// link's token, are not a code.
pub fn code_in_text(text: &str) -> Option<&str> {
    text.split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .find(|w| w.len() == CODE_LEN && w.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether two secrets (codes, their hashes, tokens) are equal, in a time
/// that depends on their lengths only, never on where they first differ.
/// Every check of something typed against something kept goes through here;
/// `crates/testkit/tests/timing.rs` times it.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    #[test]
    fn a_code_is_a_word_of_six_digits_never_part_of_a_link() {
        assert_eq!(code_in_text("Your twostep code is \u{2068}042917\u{2069}. It expires"), Some("042917"));
        assert_eq!(code_in_text("code d’annulation : 123456"), Some("123456"));
        let link = "Not you? https://example.test/freeze?t=5f0a.Ab123456_x-654321Q and 1234567 or 12345";
        assert_eq!(code_in_text(link), None);
        assert_eq!(code_in_text(&format!("{link}\nThen 777777.")), Some("777777"));
    }

    /// Replays fixed u32 values, to drive the rejection loop deterministically.
    struct Scripted(Vec<u32>);

    impl rand::TryRng for Scripted {
        type Error = Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Infallible> {
            Ok(self.0.remove(0))
        }
        fn try_next_u64(&mut self) -> Result<u64, Infallible> {
            Ok(u64::from(self.0.remove(0)))
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
            dst.fill(0);
            Ok(())
        }
    }
    impl rand::TryCryptoRng for Scripted {}

    const PEPPER: &[u8] = b"test pepper";

    #[test]
    fn generated_codes_are_six_digits() {
        let mut rng = rand::rng();
        for _ in 0..1000 {
            let c = generate_code(&mut rng);
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn zero_pads_and_rejects_biased_draws() {
        let mut rng = Scripted(vec![u32::MAX, ACCEPT_BELOW, 4217]);
        assert_eq!(generate_code(&mut rng), "004217");
        let mut rng = Scripted(vec![ACCEPT_BELOW - 1]);
        assert_eq!(generate_code(&mut rng), "999999");
        let mut rng = Scripted(vec![0]);
        assert_eq!(generate_code(&mut rng), "000000");
    }

    #[test]
    fn matches_only_same_purpose_destination_and_code() {
        let h = hash_code(PEPPER, "login", "+447911123789", "123456");
        assert!(code_matches(&h, PEPPER, "login", "+447911123789", "123456"));
        assert!(!code_matches(&h, PEPPER, "login", "+447911123789", "123457"));
        assert!(!code_matches(&h, PEPPER, "reset", "+447911123789", "123456"));
        assert!(!code_matches(&h, PEPPER, "login", "+447911123780", "123456"));
        assert!(!code_matches(&h, b"other pepper", "login", "+447911123789", "123456"));
        assert!(!code_matches(&h[..31], PEPPER, "login", "+447911123789", "123456"));
    }

    #[test]
    fn encoding_is_injective() {
        assert_ne!(hash_code(PEPPER, "ab", "c", "123456"), hash_code(PEPPER, "a", "bc", "123456"));
        assert_ne!(hash_code(PEPPER, "", "x123456", ""), hash_code(PEPPER, "", "x", "123456"));
    }

    #[test]
    fn malformed_codes_never_match() {
        for code in ["12345", "1234567", "12a456", " 123456", "123456 ", "１２３４５６", ""] {
            let h = hash_code(PEPPER, "login", "a@example.com", code);
            assert!(!code_matches(&h, PEPPER, "login", "a@example.com", code), "{code:?}");
        }
    }
}
