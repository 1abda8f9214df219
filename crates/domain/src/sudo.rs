//! Sudo mode and factor strength: which proof a signed-in person must give,
//! and how recently, before a sensitive change (a factor, the password, the
//! e-mail, the security questions) or a withdrawal.
//!
//! A session alone is never enough: whoever stole it must still prove a
//! factor the account ALREADY has. The strongest factors the account holds
//! set the bar: with an authenticator or a phone, only one of those counts
//! (an e-mail code or the password would let a mailbox or a leaked password
//! stand in for the second factor); with neither, the password typed again
//! or a code to the confirmed e-mail address counts.

/// A factor by which a person proved who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProofFactor {
    /// The password typed again.
    Password,
    /// A code sent to the account's confirmed e-mail address.
    Email,
    /// A code sent by SMS to the account's phone.
    Sms,
    /// A code read out by a voice call to the account's phone.
    Voice,
    /// A code of the bound authenticator.
    Totp,
    /// A signature by one of the account's passkeys.
    Passkey,
}

impl ProofFactor {
    pub fn as_str(self) -> &'static str {
        match self {
            ProofFactor::Password => "password",
            ProofFactor::Email => "email",
            ProofFactor::Sms => "sms",
            ProofFactor::Voice => "voice",
            ProofFactor::Totp => "totp",
            ProofFactor::Passkey => "passkey",
        }
    }

    pub const ALL: [ProofFactor; 6] = [
        ProofFactor::Password,
        ProofFactor::Email,
        ProofFactor::Sms,
        ProofFactor::Voice,
        ProofFactor::Totp,
        ProofFactor::Passkey,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// A possession factor other than the mailbox: these outrank the
    /// e-mail code and the password.
    pub fn is_strong(self) -> bool {
        matches!(self, ProofFactor::Sms | ProofFactor::Voice | ProofFactor::Totp | ProofFactor::Passkey)
    }
}

/// The factors an account holds now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccountFactors {
    /// At least one passkey.
    pub passkey: bool,
    pub totp: bool,
    pub phone: bool,
    pub email_verified: bool,
}

impl AccountFactors {
    /// Whether the account holds a factor stronger than its mailbox.
    pub fn has_strong(self) -> bool {
        self.passkey || self.totp || self.phone
    }

    /// The proofs that count for this account, strongest first.
    pub fn accepted(self) -> Vec<ProofFactor> {
        let mut out = Vec::new();
        if self.passkey {
            out.push(ProofFactor::Passkey);
        }
        if self.totp {
            out.push(ProofFactor::Totp);
        }
        if self.phone {
            out.extend([ProofFactor::Sms, ProofFactor::Voice]);
        }
        if out.is_empty() {
            out.push(ProofFactor::Password);
            if self.email_verified {
                out.push(ProofFactor::Email);
            }
        }
        out
    }

    /// Whether a proof by `factor` counts for this account.
    pub fn accepts(self, factor: ProofFactor) -> bool {
        self.accepted().contains(&factor)
    }

    /// Whether adding a factor now must pause withdrawals: a second factor
    /// added beside an existing one may be a thief's, added to pass the
    /// withdrawal step-up later.
    pub fn adding_needs_hold(self) -> bool {
        self.has_strong()
    }
}

/// A proof given in this session: by what, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionProof {
    pub factor: ProofFactor,
    pub at: i64,
}

/// Why a sensitive change is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SudoRefusal {
    /// No proof in this session, an old one, or one by a factor that no
    /// longer counts; the caller must prove one of `accepted` first.
    ProofRequired { accepted: Vec<ProofFactor> },
}

/// Whether a session whose latest proof is `proof` may make a sensitive
/// change now: the proof must be younger than `max_age_s` and by a factor
/// this account accepts (so a proof by e-mail given before a phone was
/// bound does not count afterwards).
pub fn check(
    proof: Option<SessionProof>,
    factors: AccountFactors,
    now: i64,
    max_age_s: i64,
) -> Result<SessionProof, SudoRefusal> {
    match proof {
        Some(p) if p.at <= now && now - p.at < max_age_s && factors.accepts(p.factor) => Ok(p),
        _ => Err(SudoRefusal::ProofRequired { accepted: factors.accepted() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn factors(totp: bool, phone: bool) -> AccountFactors {
        AccountFactors { passkey: false, totp, phone, email_verified: true }
    }

    #[test]
    fn strong_factors_set_the_bar() {
        use ProofFactor::*;
        assert_eq!(factors(true, false).accepted(), vec![Totp]);
        assert_eq!(factors(false, true).accepted(), vec![Sms, Voice]);
        assert_eq!(factors(true, true).accepted(), vec![Totp, Sms, Voice]);
        assert_eq!(factors(false, false).accepted(), vec![Password, Email]);
        let unconfirmed = AccountFactors { passkey: false, totp: false, phone: false, email_verified: false };
        assert_eq!(unconfirmed.accepted(), vec![Password]);
        for f in [Password, Email] {
            assert!(!factors(true, false).accepts(f), "{f:?} must not stand in for an authenticator");
            assert!(!factors(false, true).accepts(f), "{f:?} must not stand in for a phone");
        }
        // A passkey is the strongest, offered first; alone it still shuts
        // out the password and the mailbox.
        let with_passkey = |totp| AccountFactors { passkey: true, totp, phone: false, email_verified: true };
        assert_eq!(with_passkey(true).accepted(), vec![Passkey, Totp]);
        assert_eq!(with_passkey(false).accepted(), vec![Passkey]);
        assert!(with_passkey(false).adding_needs_hold());
    }

    #[test]
    fn a_proof_must_be_recent_and_still_count() {
        let totp_now = SessionProof { factor: ProofFactor::Totp, at: NOW - 10 };
        assert_eq!(check(Some(totp_now), factors(true, false), NOW, 300), Ok(totp_now));
        // Too old.
        let old = SessionProof { at: NOW - 300, ..totp_now };
        assert!(check(Some(old), factors(true, false), NOW, 300).is_err());
        // From the future (a clock jump): refused.
        let future = SessionProof { at: NOW + 5, ..totp_now };
        assert!(check(Some(future), factors(true, false), NOW, 300).is_err());
        // None at all.
        assert_eq!(
            check(None, factors(false, true), NOW, 300),
            Err(SudoRefusal::ProofRequired { accepted: vec![ProofFactor::Sms, ProofFactor::Voice] })
        );
        // A password proof given before a phone was bound no longer counts.
        let by_password = SessionProof { factor: ProofFactor::Password, at: NOW - 5 };
        assert!(check(Some(by_password), factors(false, false), NOW, 300).is_ok());
        assert!(check(Some(by_password), factors(false, true), NOW, 300).is_err());
    }

    #[test]
    fn adding_beside_an_existing_factor_holds_withdrawals() {
        assert!(!factors(false, false).adding_needs_hold());
        assert!(factors(true, false).adding_needs_hold());
        assert!(factors(false, true).adding_needs_hold());
    }

    #[test]
    fn names_round_trip() {
        for f in ProofFactor::ALL {
            assert_eq!(ProofFactor::parse(f.as_str()), Some(f));
        }
        assert_eq!(ProofFactor::parse("push"), None);
    }
}
