//! The OpenID Connect provider's rules, with no I/O: how an application's
//! authorization request is read, when it needs a new sign-in or a fresh
//! second factor, what the ID token says about how the person proved who
//! they are (`amr`, `acr`), and the PKCE check. The protocol's wire types
//! and the signing stay in `app`.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::sudo::{ProofFactor, SessionProof};

/// The `acr` values twostep issues and accepts in `acr_values`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Acr {
    /// Signed in with the password (and perhaps a mailbox code) only: the
    /// account holds no stronger factor.
    Password,
    /// Signed in with a factor stronger than the mailbox (an authenticator,
    /// the phone or a passkey).
    Mfa,
    /// A factor stronger than the mailbox proved for this very request,
    /// after the application asked: what a withdrawal should ask for.
    StepUp,
}

impl Acr {
    pub const ALL: [Acr; 3] = [Acr::Password, Acr::Mfa, Acr::StepUp];

    pub fn as_str(self) -> &'static str {
        match self {
            Acr::Password => "urn:twostep:acr:password",
            Acr::Mfa => "urn:twostep:acr:mfa",
            Acr::StepUp => "urn:twostep:acr:step-up",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// RFC 8176 method references for the factors proved. A passkey always
/// verifies its user (a PIN or biometric on the device), so it counts as
/// two factors by itself.
pub fn amr(factors: &[ProofFactor]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    let mut push = |v: &'static str| {
        if !out.contains(&v) {
            out.push(v)
        }
    };
    for f in factors {
        match f {
            ProofFactor::Password => push("pwd"),
            // Not registered by RFC 8176; documented in docs/api.md.
            ProofFactor::Email => push("email"),
            ProofFactor::Sms => push("sms"),
            ProofFactor::Voice => push("tel"),
            ProofFactor::Totp => push("otp"),
            ProofFactor::Passkey => {
                push("hwk");
                push("user");
            }
        }
    }
    let strong = factors.iter().any(|f| f.is_strong());
    let other = factors.iter().any(|f| !f.is_strong()) || factors.contains(&ProofFactor::Passkey);
    if strong && other {
        push("mfa");
    }
    out
}

/// How a session proved who it is: when it signed in and with what, its
/// latest proof of a factor since (sudo mode), and the proof given for this
/// very request ("Confirm it's you" reached from it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionAuth {
    pub signed_in_at: i64,
    pub sign_in_factors: Vec<ProofFactor>,
    pub proof: Option<SessionProof>,
    /// Only a proof made for the request counts as its step-up: a proof the
    /// owner gave for something else in the same session (perhaps stolen)
    /// does not.
    pub for_request: Option<SessionProof>,
}

impl SessionAuth {
    /// The latest authentication: the sign-in, or a later proof.
    pub fn auth_time(&self) -> i64 {
        [self.proof, self.for_request].iter().flatten().map(|p| p.at).fold(self.signed_in_at, i64::max)
    }

    /// Every factor proved in this session, the proofs included.
    pub fn factors(&self) -> Vec<ProofFactor> {
        let mut out = self.sign_in_factors.clone();
        for p in [self.proof, self.for_request].iter().flatten() {
            if !out.contains(&p.factor) {
                out.push(p.factor);
            }
        }
        out
    }

    /// Proved for the request that began at `since`: by the request's own
    /// proof (a sign-in made through it, or "Confirm it's you" reached from
    /// it), by a strong factor when `strong`. A sign-in the session made
    /// for anything else does not count, however recent: whoever holds a
    /// copy of the session would collect the owner's next sign-in.
    fn proved_for(&self, since: i64, strong: bool) -> bool {
        self.for_request.is_some_and(|p| p.at >= since && (!strong || p.factor.is_strong()))
    }

    /// The `acr` this session earns for a request that began at `asked_at`.
    pub fn acr(&self, asked_at: i64, has_strong: bool) -> Acr {
        if has_strong && self.proved_for(asked_at, true) {
            Acr::StepUp
        } else if self.factors().iter().any(|f| f.is_strong()) {
            Acr::Mfa
        } else {
            Acr::Password
        }
    }
}

/// What an authorization request asks of the session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Freshness {
    /// `prompt=login`: a whole new sign-in.
    pub prompt_login: bool,
    /// `max_age`, in seconds.
    pub max_age: Option<i64>,
    /// `acr_values` asked for `Acr::StepUp`.
    pub step_up: bool,
}

/// What must happen before the request can be answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    Nothing,
    /// A new sign-in (password and second factor).
    SignIn,
    /// A fresh proof of a factor the account holds (its strongest), in the
    /// session: "Confirm it's you".
    Proof,
}

impl Freshness {
    /// What the session must still do for a request that began at
    /// `asked_at`, at `now`. `has_strong`: the account holds a factor
    /// stronger than its mailbox, so only such a factor refreshes it.
    pub fn need(&self, auth: &SessionAuth, asked_at: i64, now: i64, has_strong: bool) -> Need {
        // prompt=login: a whole sign-in after the request, made through it.
        if self.prompt_login && (auth.signed_in_at < asked_at || !auth.proved_for(asked_at, false)) {
            return Need::SignIn;
        }
        // max_age=0, or the step-up acr: a proof given for the request.
        if (self.step_up || self.max_age == Some(0)) && !auth.proved_for(asked_at, has_strong) {
            return Need::Proof;
        }
        if let Some(max_age) = self.max_age
            && max_age > 0
            && auth.auth_time() < now - max_age
        {
            return Need::Proof;
        }
        Need::Nothing
    }
}

/// PKCE (RFC 7636): whether `verifier` answers `challenge` by `S256`.
pub fn pkce_s256_matches(verifier: &str, challenge: &str) -> bool {
    if !valid_pkce_value(verifier) {
        return false;
    }
    let digest = Sha256::digest(verifier.as_bytes());
    let computed = data_encoding::BASE64URL_NOPAD.encode(&digest);
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

/// A code verifier or challenge: 43 to 128 unreserved characters.
pub fn valid_pkce_value(v: &str) -> bool {
    (43..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// The scopes twostep grants; others asked for are ignored (Core 3.1.2.1).
pub const SCOPES: [&str; 3] = ["openid", "email", "offline_access"];

/// The granted scopes of a request's `scope`, in a stable order; None
/// without `openid` (not an OpenID Connect request).
pub fn granted_scopes(scope: &str) -> Option<Vec<&'static str>> {
    let asked: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
    if !asked.contains(&"openid") {
        return None;
    }
    Some(SCOPES.into_iter().filter(|s| asked.contains(s)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session whose proof `proof` was made for the request.
    fn auth(signed_in_at: i64, factors: &[ProofFactor], proof: Option<(ProofFactor, i64)>) -> SessionAuth {
        SessionAuth {
            signed_in_at,
            sign_in_factors: factors.to_vec(),
            proof: None,
            for_request: proof.map(|(factor, at)| SessionProof { factor, at }),
        }
    }

    #[test]
    fn amr_names_each_factor_and_mfa_only_for_two_kinds() {
        assert_eq!(amr(&[ProofFactor::Password]), vec!["pwd"]);
        assert_eq!(amr(&[ProofFactor::Password, ProofFactor::Totp]), vec!["pwd", "otp", "mfa"]);
        assert_eq!(amr(&[ProofFactor::Password, ProofFactor::Sms]), vec!["pwd", "sms", "mfa"]);
        assert_eq!(amr(&[ProofFactor::Passkey]), vec!["hwk", "user", "mfa"]);
        assert_eq!(amr(&[ProofFactor::Totp]), vec!["otp"]);
        assert_eq!(amr(&[ProofFactor::Password, ProofFactor::Email]), vec!["pwd", "email"]);
    }

    #[test]
    fn max_age_zero_and_the_step_up_acr_need_a_strong_proof_after_the_request() {
        let asked = 1000;
        let f = Freshness { max_age: Some(0), ..Default::default() };
        let old = auth(500, &[ProofFactor::Password, ProofFactor::Totp], None);
        assert_eq!(f.need(&old, asked, asked + 5, true), Need::Proof);
        // The password typed again is not enough where an authenticator exists.
        let pwd = auth(500, &[ProofFactor::Password, ProofFactor::Totp], Some((ProofFactor::Password, 1001)));
        assert_eq!(f.need(&pwd, asked, asked + 5, true), Need::Proof);
        let totp = auth(500, &[ProofFactor::Password, ProofFactor::Totp], Some((ProofFactor::Totp, 1001)));
        assert_eq!(f.need(&totp, asked, asked + 5, true), Need::Nothing);
        assert_eq!(totp.acr(asked, true), Acr::StepUp);
        assert_eq!(totp.auth_time(), 1001);
        // A proof from before the request does not count.
        let before = auth(500, &[ProofFactor::Password, ProofFactor::Totp], Some((ProofFactor::Totp, 999)));
        assert_eq!(f.need(&before, asked, asked + 5, true), Need::Proof);
        assert_eq!(before.acr(asked, true), Acr::Mfa);
        let step_up = Freshness { step_up: true, ..Default::default() };
        assert_eq!(step_up.need(&before, asked, asked + 5, true), Need::Proof);
        assert_eq!(step_up.need(&totp, asked, asked + 5, true), Need::Nothing);
        // A whole sign-in after the request, but not made through it (the
        // owner's, in a session a thief copies), is no step-up either.
        let later = auth(1002, &[ProofFactor::Password, ProofFactor::Totp], None);
        assert_eq!(step_up.need(&later, asked, asked + 5, true), Need::Proof);
        assert_eq!(f.need(&later, asked, asked + 5, true), Need::Proof);
        assert_eq!(later.acr(asked, true), Acr::Mfa);
        // A proof in the session, but not for this request (the owner's
        // own sudo mode, in a session a thief also holds), is no step-up.
        let elsewhere = SessionAuth {
            proof: Some(SessionProof { factor: ProofFactor::Totp, at: 1001 }),
            for_request: None,
            ..auth(500, &[ProofFactor::Password, ProofFactor::Totp], None)
        };
        assert_eq!(step_up.need(&elsewhere, asked, asked + 5, true), Need::Proof);
        assert_eq!(f.need(&elsewhere, asked, asked + 5, true), Need::Proof);
        assert_eq!(elsewhere.acr(asked, true), Acr::Mfa);
        assert_eq!(elsewhere.auth_time(), 1001);
        // Without a strong factor, the password again is the proof.
        let plain = auth(500, &[ProofFactor::Password], Some((ProofFactor::Password, 1001)));
        assert_eq!(f.need(&plain, asked, asked + 5, false), Need::Nothing);
        assert_eq!(plain.acr(asked, false), Acr::Password);
        assert_eq!(f.need(&auth(500, &[ProofFactor::Password], None), asked, asked + 5, false), Need::Proof);
    }

    #[test]
    fn prompt_login_needs_a_sign_in_through_the_request_and_max_age_counts_from_the_latest() {
        let f = Freshness { prompt_login: true, ..Default::default() };
        let s = auth(500, &[ProofFactor::Password, ProofFactor::Totp], Some((ProofFactor::Totp, 1500)));
        assert_eq!(f.need(&s, 1000, 1600, true), Need::SignIn);
        // A new sign-in counts only when made through the request.
        let new = auth(1100, &[ProofFactor::Password, ProofFactor::Totp], None);
        assert_eq!(f.need(&new, 1000, 1200, true), Need::SignIn);
        let through = auth(1100, &[ProofFactor::Password, ProofFactor::Totp], Some((ProofFactor::Totp, 1100)));
        assert_eq!(f.need(&through, 1000, 1200, true), Need::Nothing);
        // A proof for the request in an older session is no new sign-in.
        assert_eq!(f.need(&s, 1000, 1600, true), Need::SignIn);
        let m = Freshness { max_age: Some(300), ..Default::default() };
        assert_eq!(m.need(&s, 1000, 1700, true), Need::Nothing);
        assert_eq!(m.need(&s, 1000, 1801, true), Need::Proof);
        assert_eq!(Freshness::default().need(&s, 1000, 99_999, true), Need::Nothing);
    }

    #[test]
    fn pkce_matches_the_rfc_7636_example_only() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_s256_matches(verifier, challenge));
        assert!(!pkce_s256_matches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj", challenge));
        assert!(!pkce_s256_matches("short", challenge));
        assert!(!valid_pkce_value("has space in it and is long enough to pass the length test ok"));
    }

    #[test]
    fn scopes_need_openid_and_drop_the_unknown() {
        assert_eq!(granted_scopes("openid email profile"), Some(vec!["openid", "email"]));
        assert_eq!(granted_scopes("email"), None);
        assert_eq!(granted_scopes("openid offline_access"), Some(vec!["openid", "offline_access"]));
        assert_eq!(Acr::parse("urn:twostep:acr:step-up"), Some(Acr::StepUp));
    }
}
