//! Sudo mode: before a sensitive change a signed-in person proves, again, a
//! factor the account already has (`twostep_domain::sudo` says which); the
//! proof is kept on the session for a few minutes (`Settings::sudo_ttl_s`),
//! so one proof covers the steps of one change (start and confirm an
//! enrolment). A session alone — stolen, say — never changes a factor, the
//! password, the questions, or asks for a withdrawal.

use twostep_domain::audit_kind::AuditKind;
use twostep_domain::sudo::{self, AccountFactors, ProofFactor, SessionProof, SudoRefusal};

use crate::codes::PURPOSE_STEP_UP;
use crate::crypto::token_hash;
use crate::error::{AppError, AppResult};
use crate::limits::step_up_subject;
use crate::passkeys::{CeremonyPurpose, PasskeyAnswer};
use crate::ports::{AccountRecord, Channel};
use crate::{App, RequestMeta};

/// The answer to a proof: sudo mode lasts until then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SudoGranted {
    pub factor: ProofFactor,
    pub until: i64,
}

pub(crate) fn refusal(r: SudoRefusal) -> AppError {
    match r {
        SudoRefusal::ProofRequired { accepted } => AppError::StepUpRequired { methods: accepted },
    }
}

impl App {
    /// The factors the account holds now.
    pub async fn account_factors(&self, account: &AccountRecord) -> AppResult<AccountFactors> {
        Ok(AccountFactors {
            passkey: !self.store.passkeys(&account.id).await?.is_empty(),
            totp: self.store.totp_factor(&account.id).await?.is_some(),
            phone: account.phone.is_some(),
            email_verified: account.email_verified_at.is_some(),
        })
    }

    /// The account and its factors, refused while it is frozen: no proof
    /// and no change is taken from a frozen account.
    async fn unfrozen_with_factors(&self, account_id: &str) -> AppResult<(AccountRecord, AccountFactors)> {
        let account = self.account(account_id).await?;
        if account.frozen_at.is_some() {
            return Err(AppError::Forbidden);
        }
        let factors = self.account_factors(&account).await?;
        Ok((account, factors))
    }

    /// Refuses unless the session gave a proof that still counts; returns
    /// the account as it is now.
    pub async fn require_sudo(&self, account_id: &str, session_token: &str) -> AppResult<AccountRecord> {
        let (account, factors) = self.unfrozen_with_factors(account_id).await?;
        let session =
            self.store.session(&token_hash(session_token), self.now()).await?.ok_or(AppError::Unauthorized)?;
        sudo::check(session.proof, factors, self.now(), self.settings.sudo_ttl_s).map_err(refusal)?;
        Ok(account)
    }

    /// `POST /me/sudo`: checks a proof by `factor` (`secret` is the code, or
    /// the password) and records it on the session.
    pub async fn prove_factor(
        &self,
        account_id: &str,
        session_token: &str,
        factor: ProofFactor,
        secret: &str,
        meta: &RequestMeta,
    ) -> AppResult<SudoGranted> {
        let (account, factors) = self.unfrozen_with_factors(account_id).await?;
        if !factors.accepts(factor) {
            return Err(AppError::StepUpRequired { methods: factors.accepted() });
        }
        self.check_proof(&account, &token_hash(session_token), factor, secret, meta).await?;
        let now = self.now();
        let proof = SessionProof { factor, at: now };
        if !self.store.record_session_proof(&token_hash(session_token), proof).await? {
            return Err(AppError::Unauthorized);
        }
        self.audit(AuditKind::SudoGranted, Some(account_id), meta, factor.as_str()).await?;
        Ok(SudoGranted { factor, until: now + self.settings.sudo_ttl_s })
    }

    /// Checks one proof by `factor`, throttled per account; failures count
    /// towards the step-up lock.
    /// `session` is the token hash of the session asking (a passkey's
    /// ceremony answers only the session that started it).
    pub(crate) async fn check_proof(
        &self,
        account: &AccountRecord,
        session: &str,
        factor: ProofFactor,
        secret: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.check_proofs(account, session, &[factor], secret, meta).await.map(|_| ())
    }

    /// Tries `secret` as a proof by each of `factors` in turn (one wrong
    /// secret counts as one failure however many it was tried against);
    /// returns the factor it proved.
    async fn check_proofs(
        &self,
        account: &AccountRecord,
        session: &str,
        factors: &[ProofFactor],
        secret: &str,
        meta: &RequestMeta,
    ) -> AppResult<ProofFactor> {
        let subject = step_up_subject(&account.id);
        self.check_throttle(&subject).await?;
        let mut refused = AppError::InvalidCode;
        for &factor in factors {
            match self.attempt_proof(account, session, factor, secret, meta).await {
                Ok(()) => {
                    self.store.clear_failures(&subject).await?;
                    return Ok(factor);
                }
                Err(e @ (AppError::InvalidCode | AppError::CodeAlreadyUsed | AppError::InvalidCredentials)) => {
                    refused = e
                }
                Err(e) => return Err(e),
            }
        }
        self.record_failure(&subject).await?;
        let tried: Vec<&str> = factors.iter().map(|f| f.as_str()).collect();
        self.audit(AuditKind::StepUpFailed, Some(&account.id), meta, &tried.join(",")).await?;
        Err(refused)
    }

    /// One proof: an authenticator code (its step used up), a step-up code
    /// sent on that very channel (used up), or the password.
    async fn attempt_proof(
        &self,
        account: &AccountRecord,
        session: &str,
        factor: ProofFactor,
        secret: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        match factor {
            ProofFactor::Totp => self.use_totp_code(&account.id, secret, meta).await,
            // `secret` carries the passkey's answer to a sudo ceremony.
            ProofFactor::Passkey => {
                let answer = PasskeyAnswer::from_secret(secret)?;
                self.verify_passkey(CeremonyPurpose::Sudo, account, session, &answer, meta).await.map(|_| ())
            }
            ProofFactor::Password => {
                let long = secret.chars().count() > twostep_domain::MAX_PASSWORD_CHARS;
                if !secret.is_empty() && !long && self.hasher.verify(secret, Some(&account.password_hash)).await? {
                    Ok(())
                } else {
                    Err(AppError::InvalidCredentials)
                }
            }
            ProofFactor::Email | ProofFactor::Sms | ProofFactor::Voice => {
                let channel = match factor {
                    ProofFactor::Email => Channel::Email,
                    ProofFactor::Sms => Channel::Sms,
                    _ => Channel::Voice,
                };
                self.verify_sent_code_on(&account.id, PURPOSE_STEP_UP, channel, secret).await.map(|_| ())
            }
        }
    }

    /// A sensitive change carries either a fresh proof (`code`, checked
    /// against the factors the account accepts) or a session in sudo mode.
    /// A code that passes is recorded on the session as its latest proof.
    pub async fn sudo_or_code(
        &self,
        account_id: &str,
        session_token: &str,
        code: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<AccountRecord> {
        let Some(code) = code.filter(|c| !c.trim().is_empty()) else {
            return self.require_sudo(account_id, session_token).await;
        };
        let (account, factors) = self.unfrozen_with_factors(account_id).await?;
        let candidates = self.code_factors(&account, factors).await?;
        let session = token_hash(session_token);
        let factor = self.check_proofs(&account, &session, &candidates, code, meta).await.map_err(|e| match e {
            AppError::InvalidCredentials => AppError::InvalidCode,
            other => other,
        })?;
        let proof = SessionProof { factor, at: self.now() };
        self.store.record_session_proof(&token_hash(session_token), proof).await?;
        Ok(account)
    }

    /// Which factors a bare `code` field may prove: the authenticator when
    /// the account has one, and the channel of the live step-up code when
    /// that channel counts for the account (an e-mail code does not, beside
    /// an authenticator or a phone).
    async fn code_factors(&self, account: &AccountRecord, factors: AccountFactors) -> AppResult<Vec<ProofFactor>> {
        let mut out = Vec::new();
        if factors.totp {
            out.push(ProofFactor::Totp);
        }
        let live = self.store.live_code(&account.id, PURPOSE_STEP_UP, self.now()).await?;
        let sent = live.as_ref().and_then(|c| match Channel::parse(&c.channel)? {
            Channel::Email => Some(ProofFactor::Email),
            Channel::Sms => Some(ProofFactor::Sms),
            Channel::Voice => Some(ProofFactor::Voice),
            Channel::Webhook => None,
        });
        out.extend(sent.filter(|f| factors.accepts(*f)));
        if out.is_empty() {
            // Nothing a code could prove now (no authenticator, no step-up
            // code waiting on a channel that counts): this one is wrong.
            return Err(AppError::InvalidCode);
        }
        Ok(out)
    }
}
