//! Enrolling, using and removing the authenticator (RFC 6238 TOTP). The
//! secret is the backup key the user writes down; it is sealed at rest and a
//! code is accepted once, by a conditional write of the last used step.
//! Binding and removing an authenticator are written in one transaction
//! with their hold, audit entry and notice to the account's e-mail (a
//! binding that replaces an earlier authenticator says so, with its hold).

use qrcode::QrCode;
use qrcode::render::svg;
use subtle::ConstantTimeEq;
use twostep_domain::audit_kind::AuditKind;
use twostep_domain::{encode_backup_key, generate_secret, otpauth_uri, parse_backup_key, totp};

use crate::account_changes::{Told, hold_sentence};
use crate::crypto::new_id;
use zeroize::Zeroizing;

use crate::error::{AppError, AppResult};
use crate::metrics::AuthCounters;
use crate::ports::{AccountChange, AccountChangeOutcome, AccountChangePlan, AuditEvent, Effects, SignOut, TotpSetup};
use crate::{App, RequestMeta};

/// What the owner is shown once to set up an authenticator. The key, the
/// URI and the QR code all carry the secret: `Debug` shows none of them.
#[derive(Clone)]
pub struct TotpEnrolment {
    pub setup_id: String,
    pub backup_key: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpEnrolment").field("setup_id", &self.setup_id).finish_non_exhaustive()
    }
}

pub fn factor_context(account_id: &str) -> String {
    format!("totp:{account_id}")
}

pub fn setup_context(setup_id: &str) -> String {
    format!("totp-setup:{setup_id}")
}

/// Draws the otpauth URI as an SVG QR code, locally (no chart service).
pub fn qr_svg(data: &str) -> String {
    match QrCode::new(data.as_bytes()) {
        Ok(code) => code.render::<svg::Color<'_>>().min_dimensions(200, 200).quiet_zone(true).build(),
        Err(_) => String::new(),
    }
}

impl App {
    pub async fn start_totp_enrolment(
        &self,
        account_id: &str,
        session_token: &str,
        meta: &RequestMeta,
    ) -> AppResult<TotpEnrolment> {
        let account = self.require_sudo(account_id, session_token).await?;
        self.limit_cost("totp-setups", self.settings.costs.totp_setups, account_id, meta).await?;
        self.store.delete_expired_totp_setups(Some(account_id), self.now()).await?;
        if self.store.totp_factor(account_id).await?.is_some() {
            return Err(AppError::Conflict("an authenticator is already bound; disable it first".into()));
        }
        let secret = Zeroizing::new(generate_secret(self.settings.backup_key_length, &mut rand::rng()));
        let now = self.now();
        let setup_id = new_id();
        let setup = TotpSetup {
            id: setup_id.clone(),
            account_id: account_id.to_owned(),
            sealed_secret: self.keyring.seal(&setup_context(&setup_id), &secret),
            created_at: now,
            expires_at: now + self.settings.totp_setup_ttl_s,
        };
        self.store.create_totp_setup(&setup).await?;
        let backup_key = encode_backup_key(&secret);
        let uri = otpauth_uri(&self.settings.issuer, &account.email, &backup_key);
        self.audit(AuditKind::TotpEnrolmentStarted, Some(account_id), meta, "").await?;
        Ok(TotpEnrolment { setup_id, qr_svg: qr_svg(&uri), otpauth_uri: uri, backup_key })
    }

    /// Binds the authenticator once the user typed the backup key back (proof
    /// it was written down) and a current code (proof the app has it).
    pub async fn confirm_totp_enrolment(
        &self,
        account_id: &str,
        session_token: &str,
        setup_id: &str,
        backup_key: &str,
        code: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let account = self.require_sudo(account_id, session_token).await?;
        let factors = self.account_factors(&account).await?;
        self.store.delete_expired_totp_setups(Some(account_id), self.now()).await?;
        let subject = crate::limits::step_up_subject(account_id);
        self.check_throttle(&subject).await?;
        let now = self.now();
        let setup = match self.store.totp_setup(setup_id).await? {
            Some(s) if s.account_id == account_id && s.expires_at > now => s,
            _ => return Err(AppError::NotFound),
        };
        let secret = self
            .keyring
            .open(&setup_context(&setup.id), &setup.sealed_secret)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let typed = Zeroizing::new(parse_backup_key(backup_key)?);
        if !bool::from(typed.ct_eq(&secret)) {
            return Err(AppError::invalid("backup_key", "does not match the key shown; check what you wrote down"));
        }
        let Some(step) = totp::verify(&secret, code, now, None) else {
            self.record_failure(&subject).await?;
            AuthCounters::bump(&self.counters.totp_rejected);
            return Err(AppError::InvalidCode);
        };
        let bound = TotpSetup { sealed_secret: self.keyring.seal(&factor_context(account_id), &secret), ..setup };
        // The owner hears of either; which one goes is decided in the
        // transaction, by whether an authenticator was ever bound before.
        let lang = self.language_of(&account);
        let hold_s = self.settings.hold_after_authenticator_change_s;
        // Added beside a phone, it may be a thief's: withdrawals wait.
        let beside = factors.adding_needs_hold() && hold_s > 0;
        let added_hold = if beside { hold_sentence(lang, hold_s) } else { String::new() };
        let added = self.text(lang, "mail-totp-added-body", &[("hold", added_hold.into())]);
        let replaced = self.text(lang, "mail-totp-replaced-body", &[("hold", hold_sentence(lang, hold_s).into())]);
        // The authenticator, the enrolment used up, the hold when it replaces
        // one bound before (the same hold as removing one, counted from
        // now; the store knows from the account's own record whether one
        // ever was), the audit entry and the notice: all or nothing, and only
        // if the enrolment is unused and no authenticator is bound.
        let plan = AccountChangePlan {
            account_id: account_id.to_owned(),
            now,
            change: AccountChange::BindTotp {
                setup: bound,
                last_step: step,
                replacement_hold_until: now + hold_s,
                replacement_notices: self.current_channel_notices(
                    &account,
                    &self.text(lang, "mail-totp-replaced-subject", &[]),
                    &replaced,
                )?,
            },
            hold_until: beside.then_some(now + hold_s),
            sign_out: SignOut::Nobody,
            clear_failures: Some(subject),
            effects: Effects {
                audit: vec![AuditEvent {
                    at: now,
                    ..self.audit_event(AuditKind::TotpEnrolled, Some(account_id), meta, "")
                }],
                notices: self.current_channel_notices(
                    &account,
                    &self.text(lang, "mail-totp-added-subject", &[]),
                    &added,
                )?,
            },
        };
        match self.apply_account_change(&plan).await? {
            AccountChangeOutcome::Applied { .. } => Ok(()),
            AccountChangeOutcome::CodeUsed | AccountChangeOutcome::Changed => {
                Err(AppError::Conflict("this enrolment was already used or another authenticator is bound".into()))
            }
        }
    }

    pub async fn disable_totp(
        &self,
        account_id: &str,
        session_token: &str,
        code: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        if self.store.totp_factor(account_id).await?.is_none() {
            return Err(AppError::Conflict("no authenticator is bound".into()));
        }
        let account = self.sudo_or_code(account_id, session_token, code, meta).await?;
        let now = self.now();
        let hold_s = self.settings.hold_after_authenticator_change_s;
        let lang = self.language_of(&account);
        let body = self.text(lang, "mail-totp-removed-body", &[("hold", hold_sentence(lang, hold_s).into())]);
        // The removal, its hold, the audit entry and the notice: all or
        // nothing; a removal that finds nothing left to remove writes none.
        let told =
            Told { kind: AuditKind::TotpDisabled, detail: "", subject: "mail-totp-removed-subject", body, sms: None };
        let plan = self.factor_change_plan(
            &account,
            AccountChange::RemoveTotp,
            (hold_s > 0).then_some(now + hold_s),
            told,
            meta,
        )?;
        match self.apply_account_change(&plan).await? {
            AccountChangeOutcome::Applied { .. } => Ok(()),
            AccountChangeOutcome::CodeUsed | AccountChangeOutcome::Changed => {
                Err(AppError::Conflict("no authenticator is bound".into()))
            }
        }
    }

    /// Checks an authenticator code and records its step as used. A code
    /// already used (even by a concurrent request) is refused and logged.
    pub async fn use_totp_code(&self, account_id: &str, code: &str, meta: &RequestMeta) -> AppResult<()> {
        let Some(factor) = self.store.totp_factor(account_id).await? else {
            return Err(AppError::InvalidCode);
        };
        let secret = self
            .keyring
            .open(&factor_context(account_id), &factor.sealed_secret)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let now = self.now();
        match totp::verify(&secret, code, now, Some(factor.last_step)) {
            Some(step) if self.store.advance_totp_step(account_id, step).await? => Ok(()),
            Some(_) => self.refuse_replay(account_id, meta).await,
            None if totp::verify(&secret, code, now, None).is_some() => self.refuse_replay(account_id, meta).await,
            None => {
                AuthCounters::bump(&self.counters.totp_rejected);
                Err(AppError::InvalidCode)
            }
        }
    }

    /// Refuses a code presented again: the refusal is its audit entry, so
    /// when that cannot be written the request fails.
    async fn refuse_replay(&self, account_id: &str, meta: &RequestMeta) -> AppResult<()> {
        self.count_totp_replay(account_id);
        self.audit(AuditKind::TotpCodeReplayed, Some(account_id), meta, "").await?;
        Err(AppError::CodeAlreadyUsed)
    }

    /// Counts and logs a code presented again (ASVS 2.8.4/2.8.5); the caller
    /// audits it with the refusal.
    pub(crate) fn count_totp_replay(&self, account_id: &str) {
        AuthCounters::bump(&self.counters.totp_replayed);
        AuthCounters::bump(&self.counters.totp_rejected);
        tracing::warn!(account_id, "authenticator code replayed");
    }
}
