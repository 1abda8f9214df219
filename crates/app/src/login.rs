//! Signing in: the proof-of-work captcha, the password step, the second step
//! (authenticator or a sent code) and sessions. The password step answers the
//! same for an unknown e-mail and a wrong password, in about the same time.

use twostep_domain::audit_kind::AuditKind;
use twostep_domain::sudo::ProofFactor;
use twostep_domain::{
    LoginAttempt, LoginRefusal, LoginState, MAX_SECOND_FACTOR_FAILURES, SecondFactorMethod, captcha, normalize_email,
    totp,
};

use crate::codes::CodeSent;
use crate::crypto::{hex, new_id, new_token, token_hash};
use crate::error::{AppError, AppResult};
use crate::limits::{LOGIN_SUBJECT_PREFIX, login_subject};
use crate::metrics::AuthCounters;
use crate::ports::{
    AccountRecord, CaptchaChallenge, Channel, NewLoginAttempt, SignInContext, SignInFailure, SignInOutcome,
    SignInSuccess,
};
use crate::totp::factor_context;
use crate::{App, RequestMeta};

pub const PURPOSE_LOGIN: &str = "login";

#[derive(Clone, Debug)]
pub struct CaptchaSolution {
    pub challenge_id: String,
    pub nonce: String,
}

#[derive(Clone)]
pub struct Session {
    /// The bearer token, shown once; `Debug` leaves it out.
    pub token: String,
    pub account_id: String,
    pub expires_at: i64,
    /// The token of the device the session was opened on, for the client
    /// to keep (see `devices`); `Debug` leaves it out.
    pub device_token: Option<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("account_id", &self.account_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug)]
pub enum LoginOutcome {
    SecondFactorRequired {
        login_id: String,
        methods: Vec<SecondFactorMethod>,
        expires_at: i64,
    },
    Authenticated(Session),
    /// Every step passed on a device the account has not confirmed: the
    /// e-mail's "Was this you?" is on its way and no session is open yet.
    DeviceConfirmationRequired(crate::devices::PendingConfirmation),
}

impl App {
    /// A puzzle for the next sign-in. Given the address it is for, it is as
    /// hard as that address's recent password failures demand (see
    /// [`App::login`]); a client that keeps failing gets harder ones too.
    pub async fn issue_captcha(&self, for_email: Option<&str>, meta: &RequestMeta) -> AppResult<CaptchaChallenge> {
        self.rate_limit(&format!("captcha:ip:{}", meta.limit_key()), 60, self.settings.captcha_per_ip_per_minute)
            .await?;
        let now = self.now();
        let failures =
            self.store.hits(&format!("captcha-fail:ip:{}", meta.limit_key()), now - now.rem_euclid(900)).await?;
        let ip_extra = ((failures / 5) as u32).min(self.settings.captcha_max_extra_bits);
        let address_extra = match for_email.and_then(|e| normalize_email(e).ok()) {
            Some(email) => {
                let (bucket, start) = self.password_failure_bucket(&email);
                self.address_extra_bits(self.store.hits(&bucket, start).await?)
            }
            None => 0,
        };
        let mut salt = [0u8; 16];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut salt);
        let bits = self.settings.captcha_bits;
        let challenge = CaptchaChallenge {
            id: new_id(),
            salt: hex(&salt),
            difficulty_bits: i64::from(if bits > 0 { bits + ip_extra.max(address_extra) } else { 0 }),
            expires_at: now + self.settings.captcha_ttl_s,
        };
        self.store.create_challenge(&challenge).await?;
        Ok(challenge)
    }

    /// The fixed window that counts an address's password failures.
    fn password_failure_bucket(&self, email: &str) -> (String, i64) {
        let now = self.now();
        let window = self.settings.failures.window_s.max(60);
        (format!("pw-fail:email:{email}"), now - now.rem_euclid(window))
    }

    /// Extra captcha bits for an address with `failures` recent password
    /// failures: none below the threshold, then one more bit every five.
    fn address_extra_bits(&self, failures: i64) -> u32 {
        let over = failures - self.settings.failures.threshold + 1;
        if over <= 0 {
            return 0;
        }
        (((over + 4) / 5) as u32).min(self.settings.captcha_max_extra_bits_per_address)
    }

    /// Checks the captcha, which must be at least `min_bits` hard.
    async fn check_captcha(
        &self,
        solution: Option<&CaptchaSolution>,
        min_bits: u32,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        if self.settings.captcha_bits == 0 {
            return Ok(());
        }
        let challenge = match solution {
            Some(s) => self.store.take_challenge(&s.challenge_id, self.now()).await?.map(|c| (s, c)),
            None => None,
        };
        let ok = challenge.as_ref().is_some_and(|(s, c)| {
            c.difficulty_bits >= i64::from(min_bits)
                && captcha::pow_ok(&c.salt, &s.nonce, c.difficulty_bits.max(0) as u32)
        });
        if !ok {
            AuthCounters::bump(&self.counters.captcha_failed);
            let now = self.now();
            self.store.hit(&format!("captcha-fail:ip:{}", meta.limit_key()), now - now.rem_euclid(900)).await?;
            if challenge.is_some_and(|(_, c)| c.difficulty_bits < i64::from(min_bits)) {
                return Err(AppError::CaptchaTooEasy { difficulty_bits: min_bits });
            }
            return Err(AppError::CaptchaFailed);
        }
        Ok(())
    }

    /// The password step. Failures are reserved before the password is
    /// checked, per IP and per address, so concurrent guesses cannot
    /// overshoot a limit. Per IP the limit is hard (429). Per address there
    /// is none, as a guesser must not lock the owner out: past the threshold
    /// each further guess needs a harder puzzle (the owner solves one once)
    /// and a refusal answers later.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        captcha: Option<&CaptchaSolution>,
        meta: &RequestMeta,
    ) -> AppResult<LoginOutcome> {
        let arrived = tokio::time::Instant::now();
        self.rate_limit(&format!("login:ip:{}", meta.limit_key()), 60, self.settings.login_per_ip_per_minute).await?;
        let email = normalize_email(email).ok();
        let now = self.now();
        let ip_bucket = (format!("pw-fail:ip:{}", meta.limit_key()), now - now.rem_euclid(3600));
        let address_bucket = email.as_deref().map(|e| self.password_failure_bucket(e));
        let reserved_by_address = match &address_bucket {
            Some((bucket, start)) => self.store.hit(bucket, *start).await?,
            None => 0,
        };
        let release = |with_ip: bool| {
            let (ip, address) = (ip_bucket.clone(), address_bucket.clone());
            async move {
                if with_ip {
                    self.store.unhit(&ip.0, ip.1).await?;
                }
                if let Some((bucket, start)) = address {
                    self.store.unhit(&bucket, start).await?;
                }
                AppResult::Ok(())
            }
        };
        let min_bits = self.settings.captcha_bits + self.address_extra_bits(reserved_by_address - 1);
        if let Err(e) = self.check_captcha(captcha, min_bits, meta).await {
            release(false).await?;
            return Err(e);
        }
        if self.store.hit(&ip_bucket.0, ip_bucket.1).await? > self.settings.password_failures_per_ip_per_hour {
            release(true).await?;
            AuthCounters::bump(&self.counters.rate_limited);
            return Err(AppError::TooManyAttempts { retry_after_s: (ip_bucket.1 + 3600 - now).max(1) });
        }
        let account = match &email {
            Some(e) => self.store.account_by_email(e).await?,
            None => None,
        };
        // An address still waiting for its code: the password of its newest
        // sign-up is checked instead, at the same cost.
        let pending = match (&account, &email) {
            (None, Some(e)) => self.store.live_registrations(e, now).await?.into_iter().next(),
            _ => None,
        };
        let hash = account.as_ref().map(|a| a.password_hash.clone()).or(pending.map(|r| r.password_hash));
        let ok = self.hasher.verify(password, hash.as_deref()).await?;
        let account = match account {
            Some(a) if ok => a,
            None if ok => {
                release(true).await?;
                return Err(AppError::EmailUnverified);
            }
            other => {
                AuthCounters::bump(&self.counters.logins_failed);
                self.audit(AuditKind::LoginPasswordFailed, other.as_ref().map(|a| a.id.as_str()), meta, "").await?;
                let mut floor = std::time::Duration::from_millis(self.settings.refusal_floor_ms);
                if reserved_by_address > self.settings.failures.threshold {
                    floor = floor.max(std::time::Duration::from_millis(self.settings.password_slowdown_ms));
                }
                tokio::time::sleep_until(arrived + floor).await;
                return Err(AppError::InvalidCredentials);
            }
        };
        release(true).await?;
        if account.email_verified_at.is_none() {
            return Err(AppError::EmailUnverified);
        }
        if account.frozen_at.is_some() {
            return Err(AppError::Forbidden);
        }
        self.upgrade_password_hash(&account, password).await;
        let methods = self.methods(&account).await?;
        let now = self.now();
        if methods.is_empty() {
            // No second factor: the password alone signs in.
            return self.single_step_sign_in(&account, ProofFactor::Password, AuditKind::LoginPasswordOk, meta).await;
        }
        let attempt = LoginAttempt {
            id: new_id(),
            account_id: account.id.clone(),
            state: LoginState::Pending,
            failures: 0,
            expires_at: now + self.settings.login_ttl_s,
        };
        let record = NewLoginAttempt {
            attempt: attempt.clone(),
            created_at: now,
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            audit: Some(self.audit_event(AuditKind::LoginPasswordOk, Some(&account.id), meta, "")),
        };
        self.store.create_login(&record).await?;
        Ok(LoginOutcome::SecondFactorRequired { login_id: attempt.id, methods, expires_at: attempt.expires_at })
    }

    /// A sign-in that one step completes (the password of an account with
    /// no second factor, a passkey): recorded with its session, unless the
    /// device must first be confirmed from the e-mail; `step` is the audit
    /// entry of the step that passed when the device must wait.
    pub(crate) async fn single_step_sign_in(
        &self,
        account: &AccountRecord,
        factor: ProofFactor,
        step: AuditKind,
        meta: &RequestMeta,
    ) -> AppResult<LoginOutcome> {
        let subject = login_subject(&account.email);
        let device = self.sign_in_device(account, meta).await?;
        self.record_device(&device).await?;
        if device.needs_confirmation {
            let audit = self.audit_event(step, Some(&account.id), meta, "");
            self.store.append_audit(&audit).await?;
            self.store.clear_failures(&subject).await?;
            let (login_id, expires_at) = (new_id(), self.now() + self.settings.login_ttl_s);
            let pending = self
                .request_device_confirmation(account, &login_id, expires_at, &device, factor.as_str(), meta)
                .await?;
            return Ok(LoginOutcome::DeviceConfirmationRequired(pending));
        }
        let session = self.open_session(&account.id, factor, &subject, &device, meta).await?;
        Ok(LoginOutcome::Authenticated(session))
    }

    /// After a password checked against a hash made with other parameters
    /// than the configured ones (older or cheaper settings), stores a new
    /// hash of it, unless the password changed meanwhile. A failure here
    /// never refuses the sign-in: the old hash still works, and the next
    /// sign-in tries again.
    async fn upgrade_password_hash(&self, account: &AccountRecord, password: &str) {
        if !self.hasher.needs_rehash(&account.password_hash) {
            return;
        }
        let replaced = match self.hasher.hash(password).await {
            Ok(new) => self
                .store
                .replace_password_hash(&account.id, &account.password_hash, &new)
                .await
                .map_err(AppError::from),
            Err(e) => Err(e),
        };
        match replaced {
            Ok(true) => tracing::info!(account = %account.id, "password hash re-made with the configured parameters"),
            Ok(false) => {}
            Err(e) => tracing::warn!(account = %account.id, error = %e, "password hash not re-made"),
        }
    }

    /// What the account can use at the second step, strongest first. An
    /// account with no passkey, authenticator or phone has no second factor.
    pub async fn methods(&self, account: &AccountRecord) -> AppResult<Vec<SecondFactorMethod>> {
        let mut methods = Vec::new();
        // The strongest first: a passkey cannot be relayed by a phishing page.
        if !self.store.passkeys(&account.id).await?.is_empty() {
            methods.push(SecondFactorMethod::Passkey);
        }
        if self.store.totp_factor(&account.id).await?.is_some() {
            methods.push(SecondFactorMethod::Totp);
        }
        if account.phone.is_some() {
            methods.push(SecondFactorMethod::Sms);
            methods.push(SecondFactorMethod::Voice);
        }
        // No e-mail code: beside an authenticator or a phone it would let
        // the password and the mailbox together stand in for them.
        Ok(methods)
    }

    /// Loads a pending login attempt with everything the second step needs
    /// (one read) and applies every refusal rule.
    /// The device the client presented is read with it (none for `None`).
    pub(crate) async fn pending_sign_in(&self, login_id: &str, meta: Option<&RequestMeta>) -> AppResult<SignInContext> {
        let now = self.now();
        let policy = &self.settings.failures;
        let device_token_hash = meta.and_then(crate::devices::presented_token).map(token_hash).unwrap_or_default();
        let ctx = self
            .store
            .sign_in_context(login_id, LOGIN_SUBJECT_PREFIX, now - policy.window_s, &device_token_hash)
            .await?
            .ok_or(AppError::NotFound)?;
        match ctx.attempt.check_usable(now) {
            Ok(()) => {}
            Err(LoginRefusal::Expired) => return Err(AppError::Unauthorized),
            Err(LoginRefusal::Finished) => return Err(AppError::Conflict("this sign-in is already complete".into())),
            Err(LoginRefusal::TooManyFailures) => return Err(AppError::TooManyAttempts { retry_after_s: 1 }),
        }
        let f = ctx.failures;
        if let Some(wait) = policy.retry_after(now, f.recent, f.consecutive, f.last_failure_at) {
            AuthCounters::bump(&self.counters.rate_limited);
            return Err(AppError::TooManyAttempts { retry_after_s: wait });
        }
        if policy.second_factor_locked(ctx.account.second_factor_failures) {
            return Err(AppError::TooManyAttempts { retry_after_s: policy.max_delay_s });
        }
        if ctx.account.frozen_at.is_some() {
            return Err(AppError::Forbidden);
        }
        Ok(ctx)
    }

    /// Loads a pending login attempt and applies every refusal rule.
    pub(crate) async fn pending_login(&self, login_id: &str) -> AppResult<(LoginAttempt, AccountRecord)> {
        let ctx = self.pending_sign_in(login_id, None).await?;
        Ok((ctx.attempt, ctx.account))
    }

    pub async fn login_with_totp(&self, login_id: &str, code: &str, meta: &RequestMeta) -> AppResult<LoginOutcome> {
        let ctx = self.pending_sign_in(login_id, Some(meta)).await?;
        let Some(factor) = &ctx.totp else {
            return Err(AppError::Conflict("no authenticator is bound; choose another method".into()));
        };
        let secret = self
            .keyring
            .open(&factor_context(&ctx.account.id), &factor.sealed_secret)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let now = self.now();
        match totp::verify(&secret, code, now, Some(factor.last_step)) {
            Some(step) => self.complete_second_step(&ctx, ProofFactor::Totp, Some(step), None, meta).await,
            None => {
                let replayed = totp::verify(&secret, code, now, None).is_some();
                if replayed {
                    self.count_totp_replay(&ctx.account.id);
                } else {
                    AuthCounters::bump(&self.counters.totp_rejected);
                }
                Err(self.fail_second_step(&ctx, replayed, meta).await?)
            }
        }
    }

    pub async fn login_send_code(
        &self,
        login_id: &str,
        method: SecondFactorMethod,
        meta: &RequestMeta,
    ) -> AppResult<CodeSent> {
        self.rate_limit(&format!("codes:ip:{}", meta.limit_key()), 60, self.settings.codes_per_ip_per_minute).await?;
        let (_attempt, account) = self.pending_login(login_id).await?;
        let (channel, destination) = self.code_destination(&account, method).await?;
        let sent =
            self.issue_code(&account, PURPOSE_LOGIN, channel, &destination, self.settings.code_ttl_s, meta).await?;
        self.audit(AuditKind::LoginCodeSent, Some(&account.id), meta, channel.as_str()).await?;
        Ok(sent)
    }

    pub async fn login_verify_code(
        &self,
        login_id: &str,
        method: SecondFactorMethod,
        code: &str,
        meta: &RequestMeta,
    ) -> AppResult<LoginOutcome> {
        let ctx = self.pending_sign_in(login_id, Some(meta)).await?;
        let (channel, destination) = self.code_destination(&ctx.account, method).await?;
        match self.check_sent_code(&ctx.account.id, PURPOSE_LOGIN, Some(&destination), Some(channel), code).await {
            Ok(live) => self.complete_second_step(&ctx, proof_factor(method), None, Some(live.id), meta).await,
            Err(AppError::InvalidCode) => Err(self.fail_second_step(&ctx, false, meta).await?),
            Err(e) => Err(e),
        }
    }

    async fn code_destination(
        &self,
        account: &AccountRecord,
        method: SecondFactorMethod,
    ) -> AppResult<(Channel, String)> {
        if !self.methods(account).await?.contains(&method) {
            return Err(AppError::Conflict("this method is not available for this account".into()));
        }
        match method {
            SecondFactorMethod::Email => Ok((Channel::Email, account.email.clone())),
            SecondFactorMethod::Sms => Ok((Channel::Sms, account.phone.clone().unwrap_or_default())),
            SecondFactorMethod::Voice => Ok((Channel::Voice, account.phone.clone().unwrap_or_default())),
            SecondFactorMethod::Totp | SecondFactorMethod::Passkey => {
                Err(AppError::invalid("channel", "must be sms, voice or email"))
            }
        }
    }

    /// All the writes of a successful second step, in one transaction: the
    /// authenticator step or sent code used, the attempt completed, the
    /// session opened, the throttle cleared, the audit entry. On a device
    /// that must first be confirmed, the same without the session, and then
    /// the e-mail's "Was this you?".
    pub(crate) async fn complete_second_step(
        &self,
        ctx: &SignInContext,
        factor: ProofFactor,
        totp_step: Option<i64>,
        sent_code_id: Option<String>,
        meta: &RequestMeta,
    ) -> AppResult<LoginOutcome> {
        let device = self.sign_in_device_from(&ctx.account, meta, ctx.device.clone()).await?;
        let held = device.needs_confirmation;
        let token = new_token();
        let now = self.now();
        let account_id = ctx.account.id.clone();
        let failures = ctx.failures;
        let success = SignInSuccess {
            login_id: ctx.attempt.id.clone(),
            account_id: account_id.clone(),
            totp_step,
            sent_code_id,
            session_token_hash: token_hash(&token),
            session_expires_at: now + self.settings.session_ttl_s,
            now,
            max_failures: MAX_SECOND_FACTOR_FAILURES,
            clear_subject: (failures.recent > 0 || failures.consecutive > 0).then(|| login_subject(&ctx.account.email)),
            clear_second_factor_failures: ctx.account.second_factor_failures > 0,
            audit: if held {
                self.audit_event(
                    AuditKind::SecondFactorOk,
                    Some(&account_id),
                    meta,
                    "waiting for the new device's confirmation",
                )
            } else {
                self.audit_event(AuditKind::LoginOk, Some(&account_id), meta, "")
            },
            device_id: Some(device.id.clone()),
            device_write: device.write.clone(),
            factors: format!("password {}", factor.as_str()),
            held_for_device: held,
        };
        match self.store.complete_sign_in(&success).await? {
            SignInOutcome::Completed if held => {
                let pending = self
                    .request_device_confirmation(
                        &ctx.account,
                        &ctx.attempt.id,
                        ctx.attempt.expires_at,
                        &device,
                        &success.factors,
                        meta,
                    )
                    .await?;
                Ok(LoginOutcome::DeviceConfirmationRequired(pending))
            }
            SignInOutcome::Completed => {
                AuthCounters::bump(&self.counters.logins_ok);
                Ok(LoginOutcome::Authenticated(Session {
                    token,
                    account_id,
                    expires_at: success.session_expires_at,
                    device_token: Some(device.token),
                }))
            }
            SignInOutcome::CodeAlreadyUsed => {
                if totp_step.is_some() {
                    self.count_totp_replay(&account_id);
                }
                Err(self.fail_second_step(ctx, totp_step.is_some(), meta).await?)
            }
            SignInOutcome::AttemptClosed => Err(AppError::Conflict("this sign-in is already complete".into())),
        }
    }

    /// Counts a refused second-step code against the attempt, the sign-in
    /// throttle and the account's lock, with its audit entries (the refusal,
    /// the replay when it was one, the lock-out when it caused one), in one
    /// transaction; returns the error to answer.
    pub(crate) async fn fail_second_step(
        &self,
        ctx: &SignInContext,
        replayed: bool,
        meta: &RequestMeta,
    ) -> AppResult<AppError> {
        let account_id = ctx.account.id.as_str();
        let failure = SignInFailure {
            login_id: ctx.attempt.id.clone(),
            account_id: account_id.to_owned(),
            max_failures: MAX_SECOND_FACTOR_FAILURES,
            subject: login_subject(&ctx.account.email),
            now: self.now(),
            window_s: self.settings.failures.window_s,
            audit: self.audit_event(AuditKind::SecondFactorFailed, Some(account_id), meta, ""),
            replayed: replayed.then(|| self.audit_event(AuditKind::TotpCodeReplayed, Some(account_id), meta, "")),
            lock_after: self.settings.failures.lock_after_consecutive,
            locked: self.audit_event(AuditKind::SecondFactorLocked, Some(account_id), meta, ""),
        };
        let Some(consecutive) = self.store.fail_sign_in(&failure).await? else {
            return Ok(AppError::Conflict("this sign-in is already complete".into()));
        };
        AuthCounters::bump(&self.counters.logins_failed);
        if consecutive == self.settings.failures.lock_after_consecutive {
            tracing::warn!(account_id, "second factor locked after consecutive failures");
        }
        Ok(if replayed { AppError::CodeAlreadyUsed } else { AppError::InvalidCode })
    }

    async fn open_session(
        &self,
        account_id: &str,
        factor: ProofFactor,
        subject: &str,
        device: &crate::devices::SignInDevice,
        meta: &RequestMeta,
    ) -> AppResult<Session> {
        let token = new_token();
        let now = self.now();
        let expires_at = now + self.settings.session_ttl_s;
        let audit = self.audit_event(AuditKind::LoginOk, Some(account_id), meta, "");
        let session = crate::devices::port::DeviceSession {
            token_hash: token_hash(&token),
            account_id: account_id.to_owned(),
            device_id: device.id.clone(),
            now,
            expires_at,
            factors: factor.as_str().to_owned(),
        };
        if !self.store.open_device_session(&session, Some(&audit)).await? {
            // Frozen after the password step read the account.
            return Err(AppError::Forbidden);
        }
        self.store.clear_failures(subject).await?;
        AuthCounters::bump(&self.counters.logins_ok);
        Ok(Session { token, account_id: account_id.to_owned(), expires_at, device_token: Some(device.token.clone()) })
    }

    /// The account behind a bearer token, if the session is live.
    pub async fn authenticate(&self, token: &str) -> AppResult<String> {
        if token.is_empty() || token.len() > 256 {
            return Err(AppError::Unauthorized);
        }
        let session = self.store.session(&token_hash(token), self.now()).await?.ok_or(AppError::Unauthorized)?;
        Ok(session.account_id)
    }

    pub async fn logout(&self, token: &str, meta: &RequestMeta) -> AppResult<()> {
        let account_id = self.authenticate(token).await?;
        let audit = self.audit_event(AuditKind::Logout, Some(&account_id), meta, "");
        self.store.revoke_session(&token_hash(token), self.now(), Some(&audit)).await?;
        Ok(())
    }
}

/// The factor a second-step method proves.
fn proof_factor(method: SecondFactorMethod) -> ProofFactor {
    match method {
        SecondFactorMethod::Totp => ProofFactor::Totp,
        SecondFactorMethod::Sms => ProofFactor::Sms,
        SecondFactorMethod::Voice => ProofFactor::Voice,
        SecondFactorMethod::Email => ProofFactor::Email,
        SecondFactorMethod::Passkey => ProofFactor::Passkey,
    }
}
