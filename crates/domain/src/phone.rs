//! Phone numbers as the server stores and texts them: E.164 (`+447911123456`),
//! checked against libphonenumber's per-country rules, never a bare string a
//! client sent.
//!
//! Numbers that cost the *receiver's* operator money to reach (premium rate,
//! shared cost) are refused outright: they are the usual target of "SMS
//! pumping", where an attacker makes a server text numbers that pay them.

use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, Type};

use crate::error::DomainError;

/// Longest input accepted before parsing (E.164 has at most 15 digits; this
/// leaves room for spaces and punctuation a person types).
const MAX_INPUT_CHARS: usize = 32;

/// Parses a number written in international form and returns it as E.164.
///
/// Spaces, dashes, dots and parentheses are tolerated ("+44 7911 123-456");
/// the leading `+` and country code are required, so that no default country
/// is guessed for the user. Extensions are refused: a code cannot reach one.
pub fn normalize_phone(input: &str) -> Result<String, DomainError> {
    let invalid = |why: &str| DomainError::invalid("phone", why.to_owned());
    let input = input.trim();
    if input.is_empty() || input.chars().count() > MAX_INPUT_CHARS {
        return Err(invalid("must be a phone number in international form, such as +447911123456"));
    }
    if !input.starts_with('+') {
        return Err(invalid("must start with + and the country code (E.164), such as +447911123456"));
    }
    let allowed = |c: char| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')');
    if !input.chars().all(allowed) || input[1..].contains('+') {
        return Err(invalid("may hold only digits after the leading +"));
    }
    let number = phonenumber::parse(None, input).map_err(|_| invalid("is not a valid phone number"))?;
    if number.extension().is_some() || !number.is_valid_with(&DATABASE) {
        return Err(invalid("is not a valid phone number for its country"));
    }
    match number.number_type(&DATABASE) {
        Type::Mobile | Type::FixedLine | Type::FixedLineOrMobile | Type::PersonalNumber | Type::Voip => {}
        _ => return Err(invalid("cannot receive codes (premium-rate, toll-free or service number)")),
    }
    let e164 = number.format_with(&DATABASE).mode(Mode::E164).to_string();
    // libphonenumber's patterns for some countries (Germany) admit national
    // numbers so long that the whole exceeds E.164's 15 digits (found by
    // fuzzing: +49211682492116820); no network can route those.
    if e164.len() > 1 + E164_MAX_DIGITS {
        return Err(invalid("is longer than the 15 digits E.164 allows"));
    }
    Ok(e164)
}

/// ITU-T E.164: country code and national number together.
const E164_MAX_DIGITS: usize = 15;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_to_e164() {
        assert_eq!(normalize_phone("+447911123456").unwrap(), "+447911123456");
        assert_eq!(normalize_phone(" +44 7911 123-456 ").unwrap(), "+447911123456");
        assert_eq!(normalize_phone("+1 (415) 555-2671").unwrap(), "+14155552671");
        assert_eq!(normalize_phone("+33 6 12 34 56 78").unwrap(), "+33612345678");
        assert_eq!(normalize_phone("+49 1512 3456789").unwrap(), "+4915123456789");
    }

    #[test]
    fn refuses_more_than_fifteen_digits() {
        assert!(normalize_phone("+49211682492116820").is_err());
    }

    #[test]
    fn country_rules_apply() {
        // Right shape, wrong for the country: UK mobiles have 10 national digits.
        assert!(normalize_phone("+4479111234").is_err());
        assert!(normalize_phone("+44791112345678").is_err());
        // No such country code.
        assert!(normalize_phone("+999123456789").is_err());
        // US numbers never start with 0 or 1 after the country code.
        assert!(normalize_phone("+10155552671").is_err());
    }

    #[test]
    fn premium_and_toll_free_numbers_are_refused() {
        // UK premium rate (09…) and freephone (0800…).
        assert!(normalize_phone("+449098790000").is_err());
        assert!(normalize_phone("+448001234567").is_err());
    }

    #[test]
    fn malformed_input_names_the_field() {
        for bad in [
            "",
            "07911123456",
            "447911123456",
            "+44 7911 123456 ext. 12",
            "+44x7911123456",
            "++447911123456",
            "+4479111234561234567890123456789012",
            "+44 7911 123456;",
        ] {
            match normalize_phone(bad) {
                Err(DomainError::InvalidField { field, .. }) => assert_eq!(field, "phone", "{bad:?}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
}
