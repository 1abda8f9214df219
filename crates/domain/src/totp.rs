//! Time-based one-time passwords: RFC 4226 (HOTP) and RFC 6238 (TOTP).
//!
//! Owns code generation and the verification window. Replay protection is
//! expressed through `last_step`: the caller stores the step returned by
//! [`verify`] and passes it back next time, so a code can be used only once.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

/// Length of one TOTP time step in seconds.
pub const STEP_S: i64 = 30;
/// Number of digits in the codes this service issues and accepts.
pub const DIGITS: u32 = 6;

/// HMAC hash function for HOTP. Authenticator apps overwhelmingly support
/// only SHA-1, so that is what [`code_at`] uses; the others exist for the
/// RFC 6238 test vectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HmacAlg {
    Sha1,
    Sha256,
    Sha512,
}

fn mac_bytes(secret: &[u8], msg: &[u8], alg: HmacAlg) -> Vec<u8> {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    const ANY_KEY: &str = "HMAC accepts keys of any length";
    match alg {
        HmacAlg::Sha1 => {
            let mut m = Hmac::<Sha1>::new_from_slice(secret).expect(ANY_KEY);
            m.update(msg);
            m.finalize().into_bytes().to_vec()
        }
        HmacAlg::Sha256 => {
            let mut m = Hmac::<Sha256>::new_from_slice(secret).expect(ANY_KEY);
            m.update(msg);
            m.finalize().into_bytes().to_vec()
        }
        HmacAlg::Sha512 => {
            let mut m = Hmac::<Sha512>::new_from_slice(secret).expect(ANY_KEY);
            m.update(msg);
            m.finalize().into_bytes().to_vec()
        }
    }
}

/// RFC 4226 HOTP value with dynamic truncation.
///
/// `digits` is clamped to `6..=8`: fewer digits would be too weak and more
/// than 9 would overflow the 31-bit truncated value's modulus.
pub fn hotp(secret: &[u8], counter: u64, digits: u32, alg: HmacAlg) -> u32 {
    let digits = digits.clamp(6, 8);
    let mac = mac_bytes(secret, &counter.to_be_bytes(), alg);
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([mac[offset], mac[offset + 1], mac[offset + 2], mac[offset + 3]]) & 0x7fff_ffff;
    bin % 10u32.pow(digits)
}

/// The TOTP step containing `unix_s`. Euclidean division keeps this total
/// (and monotone) even for negative inputs.
pub fn step_at(unix_s: i64) -> i64 {
    unix_s.div_euclid(STEP_S)
}

fn code_for_step(secret: &[u8], step: i64) -> String {
    // Steps before the epoch never occur in practice; mapping them to counter
    // 0 keeps the function total without giving them any special meaning.
    let counter = u64::try_from(step).unwrap_or(0);
    format!("{:06}", hotp(secret, counter, DIGITS, HmacAlg::Sha1))
}

/// The 6-digit SHA-1 code an authenticator app shows at `unix_s`.
pub fn code_at(secret: &[u8], unix_s: i64) -> String {
    code_for_step(secret, step_at(unix_s))
}

/// Checks `code` against the steps around `now_unix` (one step of clock drift
/// either way). Returns the matched step, which the caller must persist and
/// pass back as `last_step` so the same code (or an older one) is refused.
pub fn verify(secret: &[u8], code: &str, now_unix: i64, last_step: Option<i64>) -> Option<i64> {
    let given = code.as_bytes();
    let well_formed = given.len() == DIGITS as usize && given.iter().all(u8::is_ascii_digit);
    let now = step_at(now_unix);
    let mut best = None;
    // Every candidate is computed and compared, even for a code of the wrong
    // shape, so timing reveals neither which step (if any) matched nor that
    // the shape was checked first.
    for step in [now.saturating_sub(1), now, now.saturating_add(1)] {
        let expected = code_for_step(secret, step);
        let matched = crate::codes::same_secret(expected.as_bytes(), given);
        let fresh = last_step.is_none_or(|last| step > last);
        if well_formed && matched && fresh {
            best = Some(step);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED1: &[u8] = b"12345678901234567890";
    const SEED256: &[u8] = b"12345678901234567890123456789012";
    const SEED512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    #[test]
    fn rfc6238_appendix_b() {
        let vectors: [(i64, u32, u32, u32); 6] = [
            (59, 94287082, 46119246, 90693936),
            (1111111109, 7081804, 68084774, 25091201),
            (1111111111, 14050471, 67062674, 99943326),
            (1234567890, 89005924, 91819424, 93441116),
            (2000000000, 69279037, 90698825, 38618901),
            (20000000000, 65353130, 77737706, 47863826),
        ];
        for (t, s1, s256, s512) in vectors {
            let c = step_at(t) as u64;
            assert_eq!(hotp(SEED1, c, 8, HmacAlg::Sha1), s1, "sha1 t={t}");
            assert_eq!(hotp(SEED256, c, 8, HmacAlg::Sha256), s256, "sha256 t={t}");
            assert_eq!(hotp(SEED512, c, 8, HmacAlg::Sha512), s512, "sha512 t={t}");
        }
        // The same vectors, 6-digit and zero-padded, through the public helper.
        assert_eq!(code_at(SEED1, 1111111109), "081804");
        assert_eq!(code_at(SEED1, 59), "287082");
    }

    #[test]
    fn rfc4226_appendix_d() {
        let expected = [755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489];
        for (counter, want) in expected.into_iter().enumerate() {
            assert_eq!(hotp(SEED1, counter as u64, 6, HmacAlg::Sha1), want);
        }
    }

    #[test]
    fn step_at_floors() {
        assert_eq!(step_at(0), 0);
        assert_eq!(step_at(29), 0);
        assert_eq!(step_at(30), 1);
        assert_eq!(step_at(-1), -1);
        assert_eq!(step_at(i64::MIN), i64::MIN.div_euclid(30));
    }

    #[test]
    fn verify_window() {
        let now = 1_700_000_015;
        let s = step_at(now);
        for delta in -1..=1 {
            let code = code_at(SEED1, now + delta * STEP_S);
            assert_eq!(verify(SEED1, &code, now, None), Some(s + delta));
        }
        for delta in [-2, 2] {
            let code = code_at(SEED1, now + delta * STEP_S);
            assert_eq!(verify(SEED1, &code, now, None), None);
        }
    }

    #[test]
    fn verify_refuses_replay() {
        let now = 1_700_000_015;
        let s = step_at(now);
        let code = code_at(SEED1, now);
        assert_eq!(verify(SEED1, &code, now, Some(s - 1)), Some(s));
        assert_eq!(verify(SEED1, &code, now, Some(s)), None);
        assert_eq!(verify(SEED1, &code, now, Some(s + 1)), None);
        let prev = code_at(SEED1, now - STEP_S);
        assert_eq!(verify(SEED1, &prev, now, Some(s - 1)), None);
    }

    #[test]
    fn verify_rejects_malformed() {
        let now = 1_700_000_015;
        let good = code_at(SEED1, now);
        assert!(verify(SEED1, &good, now, None).is_some());
        for bad in ["12345", "1234567", "12a456", " 123456", "", "１２３４５６"] {
            assert_eq!(verify(SEED1, bad, now, None), None, "{bad:?}");
        }
        assert_eq!(verify(SEED1, &format!(" {good}"), now, None), None);
        assert_eq!(verify(SEED1, &format!("{good}\n"), now, None), None);
    }

    #[test]
    fn extreme_times_do_not_panic() {
        for t in [i64::MIN, -1, 0, i64::MAX] {
            let code = code_at(SEED1, t);
            assert_eq!(code.len(), 6);
            let _ = verify(SEED1, &code, t, Some(i64::MAX));
            let _ = verify(SEED1, &code, t, None);
        }
    }
}
