//! RFC 3986 percent-encoding for `otpauth://` URIs. Small enough to own
//! rather than pull in a URL crate for two functions.

/// Encodes every byte except RFC 3986 unreserved characters, with uppercase
/// hex as the RFC recommends.
pub(crate) fn percent_encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// Decodes `%XX` escapes. `+` is left as is: it means a space only in HTML
/// form encoding, which Key URIs are not.
pub(crate) fn percent_decode(s: &str) -> Result<String, &'static str> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or("malformed percent-encoding")?;
            let (Some(hi), Some(lo)) = (hex_value(hex[0]), hex_value(hex[1])) else {
                return Err("malformed percent-encoding");
            };
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "not valid UTF-8")
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_reserved_and_non_ascii() {
        assert_eq!(percent_encode("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(percent_encode("a b@c:d/e?f&g=h+i%"), "a%20b%40c%3Ad%2Fe%3Ff%26g%3Dh%2Bi%25");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }

    #[test]
    fn decodes_both_cases_and_round_trips() {
        assert_eq!(percent_decode("a%40b%2fc+d").unwrap(), "a@b/c+d");
        for s in ["", "plain", "Acme & Co: Ünïcode? 100%", "\u{1F511}\u{0}"] {
            assert_eq!(percent_decode(&percent_encode(s)).unwrap(), s);
        }
    }

    #[test]
    fn rejects_malformed() {
        for s in ["%", "%4", "a%G0", "%+1", "%-1", "%FF", "%C3"] {
            assert!(percent_decode(s).is_err(), "{s:?}");
        }
    }
}
