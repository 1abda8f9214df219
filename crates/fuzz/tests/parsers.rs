//! Every parser of attacker bytes in the domain, fuzzed by the bounded loop:
//! backup keys and otpauth URIs, phone numbers, e-mail addresses, the
//! captcha solution, countries and document images (see `src/targets.rs`
//! for what each checks beyond "no panic").

use twostep_domain::otpauth_uri;
use twostep_fuzz::{fuzz, targets};

const N: usize = 100_000;

#[test]
fn backup_keys() {
    fuzz(
        "backup_key",
        &[b"JBSWY3DPEHPK3PXP", b"jbsw y3dp-ehpk 3pxp", b"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", b"===="],
        N,
        targets::backup_key,
    );
}

#[test]
fn otpauth_uris() {
    let seed = otpauth_uri("twostep", "a@example.com", "JBSWY3DPEHPK3PXP");
    let seeds: [&[u8]; 3] =
        [seed.as_bytes(), b"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP", b"otpauth://totp/%41:b?issuer=%zz"];
    fuzz("otpauth_uri", &seeds, N, targets::otpauth);
}

#[test]
fn phone_numbers() {
    let seeds: [&[u8]; 5] = [b"+447911123456", b"+44 7911 123-456", b"+15005550006", b"+33612345678", b"+449098790000"];
    fuzz("phone", &seeds, N / 4, targets::phone);
}

#[test]
fn email_addresses() {
    let seeds: [&[u8]; 4] = [b"alice@example.com", b" Alice@Example.COM ", b"a.b+c@sub.example.org", b"x@y"];
    fuzz("email", &seeds, N, targets::email);
}

#[test]
fn captcha_solutions() {
    // Two bytes of difficulty first: 0, 1, 8 and 300 bits.
    let seeds: [&[u8]; 4] =
        [b"\x00\x000123456789abcdef|12345", b"\x00\x01|7", b"\x00\x08salt|99999999999999999999999", b"\x01\x2csalt|0"];
    fuzz("captcha", &seeds, N, targets::captcha);
}

#[test]
fn countries() {
    fuzz("country", &[b"GB", b"gb", b"ZZ", b"USA"], N, targets::country);
}

#[test]
fn document_images() {
    let png = twostep_testkit::recovery::png_image(320, 320, true);
    let jpeg = twostep_testkit::recovery::jpeg_image(320, 320, true);
    let small = twostep_testkit::recovery::png_image(8, 8, false);
    fuzz("document_image", &[&png, &jpeg, &small], 5_000, targets::document_image);
}
