//! Security questions: the catalogue users pick from, the normal form
//! answers are compared in, and questions built from account facts (when
//! the account was opened, ...). Answers are evidence for a reviewer, never
//! an authenticator on their own.

use crate::error::DomainError;

/// The catalogue: (question_id, text). Ids are stable; texts may be reworded.
pub const CATALOGUE: &[(&str, &str)] = &[
    ("first_pet", "What was the name of your first pet?"),
    ("birth_city", "In which city were you born?"),
    ("first_school", "What was the name of your first school?"),
    ("childhood_friend", "What was the first name of your childhood best friend?"),
    ("first_car", "What was the make and model of your first car?"),
    ("parents_meeting_city", "In which city did your parents meet?"),
    ("first_job", "What was your first job?"),
    ("favourite_teacher", "What was the surname of your favourite teacher?"),
];

/// At least this many questions must be set, at most `MAX_OWN_QUESTIONS`.
pub const MIN_OWN_QUESTIONS: usize = 2;
pub const MAX_OWN_QUESTIONS: usize = 5;
/// Longest accepted answer, in characters.
pub const MAX_ANSWER_CHARS: usize = 100;

/// The text of a catalogue question.
pub fn catalogue_text(question_id: &str) -> Option<&'static str> {
    CATALOGUE.iter().find(|(id, _)| *id == question_id).map(|(_, t)| *t)
}

/// The comparison form of an answer: lowercase, every run of spaces or
/// punctuation collapsed to one space, trimmed. "  St. Louis " and
/// "st louis" are the same answer.
pub fn normalize_answer(answer: &str) -> String {
    let lower = answer.to_lowercase();
    lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Checks a set of own answers: known questions, no repeats, 2 to 5 of
/// them, each answer non-empty after normalising and at most 100 characters.
/// Returns (question_id, normalised answer) pairs.
pub fn validate_own_answers(answers: &[(String, String)]) -> Result<Vec<(String, String)>, DomainError> {
    if !(MIN_OWN_QUESTIONS..=MAX_OWN_QUESTIONS).contains(&answers.len()) {
        return Err(DomainError::invalid("answers", "choose 2 to 5 questions from the catalogue"));
    }
    let mut out: Vec<(String, String)> = Vec::with_capacity(answers.len());
    for (id, answer) in answers {
        if catalogue_text(id).is_none() {
            return Err(DomainError::invalid("question_id", format!("{id:?} is not in the catalogue")));
        }
        if out.iter().any(|(seen, _)| seen == id) {
            return Err(DomainError::invalid("question_id", format!("{id:?} is given twice")));
        }
        if answer.chars().count() > MAX_ANSWER_CHARS {
            return Err(DomainError::invalid("answer", "must be at most 100 characters"));
        }
        let normal = normalize_answer(answer);
        if normal.is_empty() {
            return Err(DomainError::invalid("answer", "must contain letters or digits"));
        }
        out.push((id.clone(), normal));
    }
    Ok(out)
}

/// Questions built from what the account's records know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FactQuestion {
    /// Month and year the account was opened.
    AccountOpened,
    /// Month and year the authenticator was added.
    AuthenticatorAdded,
    /// The asset of the most recent withdrawal.
    LastWithdrawalAsset,
}

impl FactQuestion {
    pub fn id(self) -> &'static str {
        match self {
            FactQuestion::AccountOpened => "fact:account_opened",
            FactQuestion::AuthenticatorAdded => "fact:authenticator_added",
            FactQuestion::LastWithdrawalAsset => "fact:last_withdrawal_asset",
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            FactQuestion::AccountOpened => "In which month and year did you open your account? (e.g. 2024-03)",
            FactQuestion::AuthenticatorAdded => {
                "In which month and year did you add your authenticator app? (e.g. 2024-03)"
            }
            FactQuestion::LastWithdrawalAsset => "Which asset did you last withdraw? (e.g. BTC)",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        [FactQuestion::AccountOpened, FactQuestion::AuthenticatorAdded, FactQuestion::LastWithdrawalAsset]
            .into_iter()
            .find(|q| q.id() == id)
    }
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// (year, month 1-12) of a unix time, in UTC.
pub fn year_month(unix_s: i64) -> (i64, u32) {
    let (year, month, _) = civil_date(unix_s);
    (year, month)
}

/// (year, month 1-12, day 1-31) of a unix time, in UTC.
pub fn civil_date(unix_s: i64) -> (i64, u32, u32) {
    // Civil-from-days (Howard Hinnant), valid for the whole i64 day range we use.
    let days = unix_s.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Reads "2024-03", "03/2024", "3 2024", "March 2024" or "mar 2024" as (year, month).
pub fn parse_year_month(answer: &str) -> Option<(i64, u32)> {
    let words: Vec<String> = normalize_answer(answer).split(' ').map(str::to_owned).collect();
    if words.len() != 2 {
        return None;
    }
    let month_of = |w: &str| -> Option<u32> {
        if let Ok(n) = w.parse::<u32>() {
            return (1..=12).contains(&n).then_some(n);
        }
        let by_name = MONTHS.iter().position(|m| w.len() >= 3 && m.starts_with(w));
        by_name.map(|i| i as u32 + 1)
    };
    let year_of = |w: &str| w.parse::<i64>().ok().filter(|y| (1970..=9999).contains(y) && w.len() == 4);
    let (a, b) = (&words[0], &words[1]);
    match (year_of(a), year_of(b)) {
        (Some(y), None) => month_of(b).map(|m| (y, m)),
        (None, Some(y)) => month_of(a).map(|m| (y, m)),
        _ => None,
    }
}

/// Whether a year-month answer names the month of `fact_at`.
pub fn year_month_matches(answer: &str, fact_at: i64) -> bool {
    parse_year_month(answer) == Some(year_month(fact_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_compared_without_case_spaces_or_punctuation() {
        assert_eq!(normalize_answer("  St. Louis "), "st louis");
        assert_eq!(normalize_answer("ST  LOUIS"), "st louis");
        assert_eq!(normalize_answer("Ødegaard-Ås"), "ødegaard ås");
        assert_eq!(normalize_answer(" .. "), "");
    }

    #[test]
    fn own_answers_are_checked() {
        let a = |pairs: &[(&str, &str)]| {
            validate_own_answers(&pairs.iter().map(|(q, a)| (q.to_string(), a.to_string())).collect::<Vec<_>>())
        };
        assert_eq!(
            a(&[("first_pet", " Rex "), ("birth_city", "Paris")]).unwrap(),
            vec![("first_pet".into(), "rex".into()), ("birth_city".into(), "paris".into())]
        );
        assert!(a(&[("first_pet", "Rex")]).is_err(), "too few");
        assert!(a(&[("first_pet", "Rex"), ("first_pet", "Max")]).is_err(), "repeated");
        assert!(a(&[("first_pet", "Rex"), ("shoe_size", "9")]).is_err(), "unknown");
        assert!(a(&[("first_pet", "Rex"), ("birth_city", "!!")]).is_err(), "empty");
        let long = "x".repeat(101);
        assert!(a(&[("first_pet", "Rex"), ("birth_city", &long)]).is_err(), "long");
        let six: Vec<(&str, &str)> = CATALOGUE.iter().take(6).map(|(id, _)| (*id, "a")).collect();
        assert!(a(&six).is_err(), "too many");
    }

    #[test]
    fn year_and_month_of_a_time() {
        assert_eq!(year_month(0), (1970, 1));
        assert_eq!(year_month(1_700_000_000), (2023, 11)); // 2023-11-14
        assert_eq!(year_month(951_782_400), (2000, 2)); // 2000-02-29
        assert_eq!(year_month(951_868_800), (2000, 3)); // 2000-03-01
        assert_eq!(year_month(1_704_067_199), (2023, 12)); // 2023-12-31T23:59:59
        assert_eq!(year_month(1_704_067_200), (2024, 1));
    }

    #[test]
    fn year_month_answers() {
        let t = 1_700_000_000; // November 2023
        for ok in ["2023-11", "11/2023", "November 2023", "nov 2023", "2023 11", " 2023.11 "] {
            assert!(year_month_matches(ok, t), "{ok}");
        }
        for bad in ["2023-10", "2022-11", "November", "2023", "13/2023", "no 2023", "23-11", ""] {
            assert!(!year_month_matches(bad, t), "{bad}");
        }
    }

    #[test]
    fn fact_ids_round_trip() {
        for q in [FactQuestion::AccountOpened, FactQuestion::AuthenticatorAdded, FactQuestion::LastWithdrawalAsset] {
            assert_eq!(FactQuestion::from_id(q.id()), Some(q));
            assert!(catalogue_text(q.id()).is_none(), "fact ids never clash with the catalogue");
        }
        assert_eq!(FactQuestion::from_id("first_pet"), None);
    }
}
