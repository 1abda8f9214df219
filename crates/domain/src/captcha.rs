//! Proof-of-work "captcha": the client must find a decimal `nonce` such that
//! SHA-256(`salt` ‖ `nonce`) starts with `difficulty_bits` zero bits.
//!
//! Owns only the arithmetic. Issuing salts, expiring them and refusing a
//! salt that was already redeemed belong to the application layer.

use sha2::{Digest, Sha256};

/// Longest nonce accepted: `u64::MAX` has 20 digits, and a bound keeps an
/// attacker from making us hash megabytes.
const MAX_NONCE_DIGITS: usize = 20;

/// Number of zero bits at the start of `hash`, most significant bit first.
pub fn leading_zero_bits(hash: &[u8]) -> u32 {
    let mut bits = 0;
    for &b in hash {
        if b == 0 {
            bits += 8;
        } else {
            return bits + b.leading_zeros();
        }
    }
    bits
}

fn nonce_is_valid(nonce: &str) -> bool {
    (1..=MAX_NONCE_DIGITS).contains(&nonce.len()) && nonce.bytes().all(|b| b.is_ascii_digit())
}

fn meets(prefix: &Sha256, nonce: &str, difficulty_bits: u32) -> bool {
    let mut h = prefix.clone();
    h.update(nonce.as_bytes());
    leading_zero_bits(&h.finalize()) >= difficulty_bits
}

/// Whether `nonce` solves the puzzle for `salt`.
pub fn pow_ok(salt: &str, nonce: &str, difficulty_bits: u32) -> bool {
    if !nonce_is_valid(nonce) {
        return false;
    }
    let mut prefix = Sha256::new();
    prefix.update(salt.as_bytes());
    meets(&prefix, nonce, difficulty_bits)
}

/// Finds the smallest solving nonce by counting up from 0.
///
/// Expected work is 2^`difficulty_bits` hashes, so this is for tests,
/// benchmarks and reference clients with realistic difficulties (well below
/// 64 bits); it never returns for impossible ones (above 256).
pub fn solve(salt: &str, difficulty_bits: u32) -> String {
    let mut prefix = Sha256::new();
    prefix.update(salt.as_bytes());
    let mut n: u64 = 0;
    loop {
        let nonce = n.to_string();
        if meets(&prefix, &nonce, difficulty_bits) {
            return nonce;
        }
        n = n.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_leading_zeros() {
        assert_eq!(leading_zero_bits(&[]), 0);
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        assert_eq!(leading_zero_bits(&[0x01]), 7);
        assert_eq!(leading_zero_bits(&[0x00, 0x00, 0x10]), 19);
        assert_eq!(leading_zero_bits(&[0x00; 32]), 256);
    }

    #[test]
    fn zero_difficulty_accepts_any_valid_nonce() {
        assert!(pow_ok("salt", "0", 0));
        assert!(pow_ok("salt", "12345678901234567890", 0));
        assert_eq!(solve("salt", 0), "0");
    }

    #[test]
    fn solves_and_verifies() {
        for bits in [8, 12] {
            let salt = format!("test-salt-{bits}");
            let nonce = solve(&salt, bits);
            assert!(pow_ok(&salt, &nonce, bits));
            let digest = Sha256::digest(format!("{salt}{nonce}").as_bytes());
            assert!(leading_zero_bits(&digest) >= bits);
            // Smallest solution, so every smaller nonce must fail.
            let n: u64 = nonce.parse().unwrap();
            if n > 0 {
                assert!(!pow_ok(&salt, &(n - 1).to_string(), bits));
            }
        }
    }

    #[test]
    fn wrong_nonce_fails() {
        let salt = "wrong-nonce";
        let nonce = solve(salt, 12);
        // Deterministic for this salt: the first solution is not 0, so 0 is wrong.
        assert_ne!(nonce, "0");
        assert!(!pow_ok(salt, "0", 12));
        assert!(pow_ok(salt, "0", 0));
        assert!(!pow_ok(salt, &nonce, 256));
    }

    #[test]
    fn rejects_non_decimal_nonces() {
        for nonce in ["", "-1", "+1", "1.0", "0x10", " 1", "1 ", "١", "123456789012345678901"] {
            assert!(!pow_ok("salt", nonce, 0), "{nonce:?}");
        }
    }
}
