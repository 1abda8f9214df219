//! Masked renderings of contact details, for showing a user *where* a code
//! was sent without disclosing the full address to whoever sees the screen
//! (or a log line, or the API response of a half-authenticated login).

const DOT: char = '\u{2022}';

/// `alice@example.com` → `a•••@example.com`.
///
/// Always exactly three dots, so the mask does not leak the local part's
/// length. The domain stays visible because it helps the user recognise
/// which address is meant.
pub fn mask_email(email: &str) -> String {
    let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
    let mut out = String::with_capacity(email.len() + 9);
    out.extend(local.chars().next());
    out.extend([DOT; 3]);
    out.push('@');
    out.push_str(domain);
    out
}

/// `+447911123789` → `+44••••••789`: the leading 3 characters ("+" and,
/// usually, the country code), always six dots, and the trailing 3. A fixed
/// number of dots keeps the length of the number hidden too. Numbers under 8
/// characters show only their last 2.
pub fn mask_phone(e164: &str) -> String {
    let chars: Vec<char> = e164.chars().collect();
    let n = chars.len();
    let (head, tail) = match n {
        0..=2 => (0, 0),
        3..=7 => (0, 2),
        _ => (3, 3),
    };
    let mut out: String = chars[..head].iter().collect();
    out.extend(std::iter::repeat_n(DOT, 6));
    out.extend(&chars[n - tail..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_example() {
        assert_eq!(mask_email("alice@example.com"), "a•••@example.com");
        assert_eq!(mask_email("a@example.com"), "a•••@example.com");
        assert_eq!(mask_email("élodie@exämple.fr"), "é•••@exämple.fr");
        assert_eq!(mask_email("not-an-email"), "n•••@");
        assert_eq!(mask_email(""), "•••@");
    }

    #[test]
    fn phone_example() {
        assert_eq!(mask_phone("+447911123789"), "+44••••••789");
        assert_eq!(mask_phone("+12345678"), "+12••••••678");
        assert_eq!(mask_phone("+1234567"), "+12••••••567");
        assert_eq!(mask_phone("+123456"), "••••••56");
    }

    #[test]
    fn short_phones() {
        assert_eq!(mask_phone("123"), "••••••23");
        assert_eq!(mask_phone("12"), "••••••");
        assert_eq!(mask_phone(""), "••••••");
    }
}
