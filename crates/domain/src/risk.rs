//! The risk score of a recovery case: a sum of points from signals the
//! reviewer can read one by one, so a number never stands without its
//! reasons. Higher is riskier; at or above the high-risk threshold two
//! different reviewers must approve.
//!
//! The weights are deliberately simple and documented here rather than
//! learned: a reviewer must be able to explain why a case scored what it did.

/// The default score from which a case needs two reviewers.
pub const DEFAULT_HIGH_RISK_SCORE: i64 = 50;

/// Everything the score looks at, gathered by the caller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RiskInputs {
    /// The e-mail code was proven (the address the account will have).
    pub email_code_proven: bool,
    /// The account will have a phone, so a phone code was needed.
    pub phone_code_needed: bool,
    pub phone_code_proven: bool,
    /// Questions asked (own and account-fact) and how many were right.
    pub questions_asked: i64,
    pub questions_right: i64,
    /// The account has its own security questions on file.
    pub has_own_questions: bool,
    /// The own questions were set or changed shortly before the case opened.
    pub questions_changed_recently: bool,
    /// The case's IP address had signed in to this account before.
    pub ip_seen_before: bool,
    /// The case's user agent had signed in to this account before.
    pub user_agent_seen_before: bool,
    pub account_age_days: i64,
    /// Earlier recovery cases of this account in the last 90 days.
    pub earlier_cases: i64,
    /// Earlier cases that staff rejected or the owner cancelled.
    pub earlier_refused: i64,
    pub resets_authenticator: bool,
    pub resets_phone: bool,
    pub resets_email: bool,
    pub identity_provided: bool,
    /// The owner used a cancel code ("this wasn't me") before this case:
    /// any later case is high risk, whatever else it proves.
    pub owner_objected: bool,
    /// The account holds a staff role (reviewer or admin).
    pub staff_account: bool,
}

/// One reason for the score.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RiskSignal {
    /// Stable identifier, e.g. `ip_not_seen`.
    pub name: &'static str,
    pub points: i64,
    /// One sentence for the reviewer.
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RiskAssessment {
    /// 0 to 100.
    pub score: i64,
    pub signals: Vec<RiskSignal>,
}

impl RiskAssessment {
    pub fn is_high(&self, threshold: i64) -> bool {
        self.score >= threshold
    }
}

/// Name of the signal of a case on a staff account.
pub const STAFF_ACCOUNT_SIGNAL: &str = "staff_account";

/// A case on an account that holds a staff role: whoever wins it may get the
/// console, other people's documents and a vote on their cases. Such a case
/// is high risk whatever its score (two reviewers), and the account holds
/// no staff power after a reset until an admin confirms it.
pub fn staff_account_signal() -> RiskSignal {
    RiskSignal {
        name: STAFF_ACCOUNT_SIGNAL,
        points: DEFAULT_HIGH_RISK_SCORE,
        detail: "staff account: the account holds a staff role (reviewer or admin).".into(),
    }
}

/// Whether a case needs two reviewers: its score reaches the threshold, or
/// it is a staff account's case.
pub fn is_high_risk(score: Option<i64>, staff_account: bool, threshold: i64) -> bool {
    staff_account || score.unwrap_or(100) >= threshold
}

/// Scores a case from its signals.
pub fn assess(r: &RiskInputs) -> RiskAssessment {
    let mut signals = Vec::new();
    let mut add = |name: &'static str, points: i64, detail: String| {
        if points != 0 {
            signals.push(RiskSignal { name, points, detail });
        }
    };
    if !r.email_code_proven {
        add("email_code_not_proven", 30, "The e-mail code was not proven.".into());
    }
    if r.phone_code_needed && !r.phone_code_proven {
        add("phone_code_not_proven", 20, "The phone code was not proven.".into());
    }
    if r.questions_asked > 0 {
        let wrong = (r.questions_asked - r.questions_right).clamp(0, r.questions_asked);
        // Round half up without floating point.
        let points = (25 * wrong * 2 + r.questions_asked) / (2 * r.questions_asked);
        add("answers_wrong", points, format!("{wrong} of {} answers were wrong or blank.", r.questions_asked));
    } else {
        add("no_answers", 15, "No questions were answered.".into());
    }
    if !r.has_own_questions {
        add("no_security_questions", 10, "The account had no security questions on file.".into());
    } else if r.questions_changed_recently {
        add(
            "questions_changed_recently",
            10,
            "The security questions were set or changed in the 7 days before the case.".into(),
        );
    }
    if !r.ip_seen_before {
        add("ip_not_seen", 15, "The IP address never signed in to this account.".into());
    }
    if !r.user_agent_seen_before {
        add("user_agent_not_seen", 5, "The browser never signed in to this account.".into());
    }
    if r.account_age_days < 7 {
        add("account_new", 15, format!("The account is {} days old.", r.account_age_days.max(0)));
    } else if r.account_age_days < 30 {
        add("account_young", 8, format!("The account is {} days old.", r.account_age_days));
    }
    if r.earlier_cases > 0 {
        add(
            "earlier_cases",
            (10 * r.earlier_cases).min(20),
            format!("{} earlier recovery cases in 90 days.", r.earlier_cases),
        );
    }
    if r.earlier_refused > 0 {
        add(
            "earlier_refused",
            15,
            format!("{} earlier cases were rejected or cancelled by the owner.", r.earlier_refused),
        );
    }
    if r.resets_email {
        add("resets_email", 20, "The e-mail address is being replaced.".into());
    }
    if r.resets_phone {
        add("resets_phone", 10, "The phone number is being replaced.".into());
    }
    if r.resets_authenticator {
        add("resets_authenticator", 5, "The authenticator is being removed.".into());
    }
    if !r.identity_provided {
        add("no_identity", 15, "No identity documents were provided.".into());
    }
    if r.owner_objected {
        add(
            "owner_objected",
            100,
            "The owner objected to an earlier recovery of this account with a cancel code.".into(),
        );
    }
    if r.staff_account {
        signals.insert(0, staff_account_signal());
    }
    let score = signals.iter().map(|s| s.points).sum::<i64>().clamp(0, 100);
    RiskAssessment { score, signals }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_objection_makes_every_later_case_high_risk() {
        let best = RiskInputs {
            email_code_proven: true,
            questions_asked: 3,
            questions_right: 3,
            has_own_questions: true,
            ip_seen_before: true,
            user_agent_seen_before: true,
            account_age_days: 400,
            identity_provided: true,
            ..Default::default()
        };
        assert!(!assess(&best).is_high(DEFAULT_HIGH_RISK_SCORE));
        let objected = assess(&RiskInputs { owner_objected: true, ..best });
        assert_eq!(objected.score, 100);
        assert!(objected.signals.iter().any(|s| s.name == "owner_objected"));
    }

    /// The owner of a long-standing account, from a known device, proving
    /// everything and only replacing the authenticator.
    fn owner() -> RiskInputs {
        RiskInputs {
            email_code_proven: true,
            phone_code_needed: true,
            phone_code_proven: true,
            questions_asked: 4,
            questions_right: 4,
            has_own_questions: true,
            questions_changed_recently: false,
            ip_seen_before: true,
            user_agent_seen_before: true,
            account_age_days: 400,
            earlier_cases: 0,
            earlier_refused: 0,
            resets_authenticator: true,
            resets_phone: false,
            resets_email: false,
            identity_provided: true,
            owner_objected: false,
            staff_account: false,
        }
    }

    fn names(a: &RiskAssessment) -> Vec<&'static str> {
        a.signals.iter().map(|s| s.name).collect()
    }

    #[test]
    fn a_clean_case_is_low_risk_with_its_reasons() {
        let a = assess(&owner());
        assert_eq!(a.score, 5);
        assert_eq!(names(&a), ["resets_authenticator"]);
        assert!(!a.is_high(DEFAULT_HIGH_RISK_SCORE));
    }

    #[test]
    fn each_signal_adds_its_points() {
        type Case = (fn(&mut RiskInputs), &'static str, i64);
        let cases: Vec<Case> = vec![
            (|r| r.email_code_proven = false, "email_code_not_proven", 30),
            (|r| r.phone_code_proven = false, "phone_code_not_proven", 20),
            (|r| r.questions_right = 2, "answers_wrong", 13),
            (|r| r.questions_right = 0, "answers_wrong", 25),
            (|r| r.questions_asked = 0, "no_answers", 15),
            (|r| r.has_own_questions = false, "no_security_questions", 10),
            (|r| r.questions_changed_recently = true, "questions_changed_recently", 10),
            (|r| r.ip_seen_before = false, "ip_not_seen", 15),
            (|r| r.user_agent_seen_before = false, "user_agent_not_seen", 5),
            (|r| r.account_age_days = 2, "account_new", 15),
            (|r| r.account_age_days = 20, "account_young", 8),
            (|r| r.earlier_cases = 1, "earlier_cases", 10),
            (|r| r.earlier_cases = 5, "earlier_cases", 20),
            (|r| r.earlier_refused = 1, "earlier_refused", 15),
            (|r| r.resets_email = true, "resets_email", 20),
            (|r| r.resets_phone = true, "resets_phone", 10),
            (|r| r.identity_provided = false, "no_identity", 15),
            (|r| r.staff_account = true, "staff_account", 50),
        ];
        for (change, name, points) in cases {
            let mut r = owner();
            change(&mut r);
            let a = assess(&r);
            let s = a.signals.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!(s.points, points, "{name}");
            assert_eq!(a.score, 5 + points, "{name}");
            assert!(!s.detail.is_empty());
        }
        // No phone on the account: no phone code needed, no points for it.
        let r = RiskInputs { phone_code_needed: false, phone_code_proven: false, ..owner() };
        assert_eq!(assess(&r).score, 5);
    }

    #[test]
    fn a_stranger_replacing_everything_is_high_risk_and_capped() {
        let r = RiskInputs {
            email_code_proven: false,
            phone_code_needed: true,
            phone_code_proven: false,
            questions_asked: 3,
            questions_right: 0,
            has_own_questions: false,
            ip_seen_before: false,
            user_agent_seen_before: false,
            account_age_days: 0,
            earlier_cases: 3,
            earlier_refused: 2,
            resets_authenticator: true,
            resets_phone: true,
            resets_email: true,
            identity_provided: false,
            ..owner()
        };
        let a = assess(&r);
        assert_eq!(a.score, 100);
        assert!(a.is_high(DEFAULT_HIGH_RISK_SCORE));
        // Replacing the e-mail on a new account crosses the line on its own.
        let r = RiskInputs { resets_email: true, account_age_days: 1, questions_changed_recently: true, ..owner() };
        assert_eq!(assess(&r).score, 5 + 20 + 15 + 10);
        assert!(assess(&r).is_high(DEFAULT_HIGH_RISK_SCORE));
    }

    #[test]
    fn a_staff_accounts_case_is_flagged_first_and_always_high_risk() {
        let a = assess(&RiskInputs { staff_account: true, ..owner() });
        assert_eq!(a.signals[0].name, STAFF_ACCOUNT_SIGNAL);
        assert!(a.signals[0].detail.starts_with("staff account"));
        // Even under a threshold no score reaches, and before submission.
        assert!(is_high_risk(Some(a.score), true, 101));
        assert!(is_high_risk(None, true, 101));
        assert!(!is_high_risk(Some(5), false, DEFAULT_HIGH_RISK_SCORE));
        assert!(is_high_risk(None, false, DEFAULT_HIGH_RISK_SCORE));
    }
}
