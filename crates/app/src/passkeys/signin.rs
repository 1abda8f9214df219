//! Signing in with a passkey: as the second step after the password, and
//! with nothing typed (a discoverable passkey names its account). Also the
//! ceremonies of sudo mode and of a password reset.

use twostep_domain::audit_kind::AuditKind;
use twostep_domain::sudo::ProofFactor;
use webauthn_rs::prelude::DiscoverableAuthentication;

use super::{CeremonyPurpose, CeremonyStart, PasskeyAnswer, from_json, parse};
use crate::error::{AppError, AppResult};
use crate::login::LoginOutcome;
use crate::{App, RequestMeta};

impl App {
    /// `POST /login/{login_id}/passkey/options`: the options to sign the
    /// second step of this sign-in.
    pub async fn login_passkey_options(&self, login_id: &str, meta: &RequestMeta) -> AppResult<CeremonyStart> {
        let (_, account) = self.pending_login(login_id).await?;
        self.start_passkey_assertion(CeremonyPurpose::SecondStep, &account, login_id, meta).await
    }

    /// `POST /login/{login_id}/passkey`: the second step by a passkey. A
    /// refused signature counts as a wrong code does.
    pub async fn login_with_passkey(
        &self,
        login_id: &str,
        answer: &PasskeyAnswer,
        meta: &RequestMeta,
    ) -> AppResult<LoginOutcome> {
        let ctx = self.pending_sign_in(login_id, Some(meta)).await?;
        match self.verify_passkey(CeremonyPurpose::SecondStep, &ctx.account, login_id, answer, meta).await {
            Ok(_) => self.complete_second_step(&ctx, ProofFactor::Passkey, None, None, meta).await,
            Err(AppError::InvalidCode) => Err(self.fail_second_step(&ctx, false, meta).await?),
            Err(e) => Err(e),
        }
    }

    /// `POST /passkey-sign-in/options`: the options of a sign-in with
    /// nothing typed; the browser offers the passkeys it holds for this
    /// site.
    pub async fn passkey_sign_in_options(&self, meta: &RequestMeta) -> AppResult<CeremonyStart> {
        let (rcr, state) =
            self.webauthn()?.start_discoverable_authentication().map_err(|e| AppError::Internal(e.to_string()))?;
        let options = serde_json::to_value(&rcr.public_key).map_err(|e| AppError::Internal(e.to_string()))?;
        self.keep_ceremony(CeremonyPurpose::SignIn, None, "", &state, options, meta).await
    }

    /// `POST /passkey-sign-in`: a passkey, with user verification, is the
    /// whole multi-factor sign-in (something held and something known or
    /// been). The same rules as any sign-in: a frozen or locked account is
    /// refused, and a new device may have to be confirmed from the e-mail.
    pub async fn passkey_sign_in(&self, answer: &PasskeyAnswer, meta: &RequestMeta) -> AppResult<LoginOutcome> {
        self.rate_limit(&format!("login:ip:{}", meta.limit_key()), 60, self.settings.login_per_ip_per_minute).await?;
        let credential: webauthn_rs::prelude::PublicKeyCredential = parse("credential", &answer.credential)?;
        let ceremony = self.take_ceremony(&answer.challenge_id, CeremonyPurpose::SignIn, None, "").await?;
        let state: DiscoverableAuthentication = from_json(&ceremony.state)?;
        let webauthn = self.webauthn()?;
        let (handle, raw_id) =
            webauthn.identify_discoverable_authentication(&credential).map_err(|_| AppError::InvalidCode)?;
        let record = self
            .store
            .passkey_by_credential(&super::credential_id_text(raw_id))
            .await?
            .filter(|p| super::user_handle(&p.account_id) == handle)
            .ok_or(AppError::InvalidCode)?;
        // The signature first: nothing of the account's state is said to
        // someone who cannot sign.
        let account = self.account(&record.account_id).await?;
        let key: webauthn_rs::prelude::Passkey = from_json(&record.credential)?;
        let checked = webauthn.finish_discoverable_authentication_v2(&credential, state, &key);
        self.record_passkey_result(&account, record, checked, meta).await?;
        if account.frozen_at.is_some() {
            return Err(AppError::Forbidden);
        }
        if account.email_verified_at.is_none() {
            return Err(AppError::EmailUnverified);
        }
        if self.settings.failures.second_factor_locked(account.second_factor_failures) {
            return Err(AppError::TooManyAttempts { retry_after_s: self.settings.failures.max_delay_s });
        }
        self.single_step_sign_in(&account, ProofFactor::Passkey, AuditKind::SecondFactorOk, meta).await
    }

    /// `POST /me/sudo/passkey-options`: the options to enter sudo mode with
    /// a passkey; the answer goes to `POST /me/sudo` as factor `passkey`.
    /// The ceremony answers only the session that started it.
    pub async fn sudo_passkey_options(
        &self,
        account_id: &str,
        session_token: &str,
        meta: &RequestMeta,
    ) -> AppResult<CeremonyStart> {
        let account = self.account(account_id).await?;
        if account.frozen_at.is_some() {
            return Err(AppError::Forbidden);
        }
        let session = crate::crypto::token_hash(session_token);
        self.start_passkey_assertion(CeremonyPurpose::Sudo, &account, &session, meta).await
    }

    /// `POST /password-reset/{reset_id}/passkey-options`: the options to
    /// prove the account's passkey during a password reset.
    pub async fn password_reset_passkey_options(&self, reset_id: &str, meta: &RequestMeta) -> AppResult<CeremonyStart> {
        let (_, account) = self.live_password_reset(reset_id).await?;
        if account.frozen_at.is_some() {
            return Err(AppError::Forbidden);
        }
        self.start_passkey_assertion(CeremonyPurpose::PasswordReset, &account, reset_id, meta).await
    }
}
