//! Passkeys (WebAuthn): registered in sudo mode, used as the second step,
//! for a sign-in with nothing typed, for sudo mode and for a password reset.
//! The checks of the browser's answers (CBOR, COSE keys, signatures, user
//! verification, origin) are webauthn-rs's; this module keeps the ceremony
//! states in the database (single use, five minutes), ties each to what it
//! was started for, and records each use over the signature counter it was
//! checked against, so a copied authenticator replaying an older counter is
//! refused and its owner told.

pub mod port;
mod signin;

use data_encoding::BASE64URL_NOPAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use twostep_domain::audit_kind::AuditKind;
use webauthn_rs::prelude::{
    AuthenticationResult, Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};

use crate::account_changes::{Told, hold_sentence};
use crate::crypto::{new_id, token_hash};
use crate::error::{AppError, AppResult};
use crate::ports::{AccountChange, AccountChangeOutcome, AccountRecord, Effects};
use crate::{App, RequestMeta};
pub use port::{CeremonyPurpose, PasskeyChallenge, PasskeyRecord};

/// Passkeys an account may hold.
pub const MAX_PASSKEYS: i64 = 10;
/// How long a ceremony may take, from its options to the browser's answer.
pub const CEREMONY_TTL_S: i64 = 300;
/// Ceremonies an account may start a minute (second steps, sudo mode,
/// resets, registrations: each already needs a password, a session or an
/// e-mailed code).
const CEREMONIES_PER_ACCOUNT_PER_MINUTE: i64 = 20;
/// Sign-ins with nothing typed started a minute from one IP (an IPv6 /64),
/// and from everywhere: at most five minutes of these are stored.
const SIGN_IN_CEREMONIES_PER_IP_PER_MINUTE: i64 = 30;
const SIGN_IN_CEREMONIES_PER_MINUTE: i64 = 6_000;
/// A passkey's name, in characters.
const MAX_NAME_CHARS: usize = 64;

/// The options a browser passes to `navigator.credentials.create()` or
/// `.get()` (as `publicKey`), and the ceremony they belong to.
#[derive(Clone, Debug)]
pub struct CeremonyStart {
    pub challenge_id: String,
    pub options: serde_json::Value,
    pub expires_at: i64,
}

/// A browser's answer to a ceremony: its id and the credential, as the
/// browser's `PublicKeyCredential` serialised to JSON (binary fields
/// base64url).
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
pub struct PasskeyAnswer {
    pub challenge_id: String,
    pub credential: serde_json::Value,
}

impl PasskeyAnswer {
    /// The answer carried where a code would be (a sudo or reset proof).
    pub fn to_secret(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_secret(secret: &str) -> AppResult<Self> {
        serde_json::from_str(secret).map_err(|_| AppError::invalid("passkey", "must be {challenge_id, credential}"))
    }
}

/// The WebAuthn user handle of an account: a hash of its id, so that an
/// authenticator learns nothing of the account but this number.
pub fn user_handle(account_id: &str) -> Uuid {
    let digest = Sha256::new().chain_update(b"twostep passkey user\0").chain_update(account_id).finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

pub fn credential_id_text(raw: &[u8]) -> String {
    BASE64URL_NOPAD.encode(raw)
}

fn parse<T: DeserializeOwned>(field: &str, value: &serde_json::Value) -> AppResult<T> {
    serde_json::from_value(value.clone())
        .map_err(|_| AppError::invalid(field, "is not a credential as the browser returns it"))
}

fn to_json<T: Serialize>(value: &T) -> AppResult<String> {
    serde_json::to_string(value).map_err(|e| AppError::Internal(e.to_string()))
}

fn from_json<T: DeserializeOwned>(text: &str) -> AppResult<T> {
    serde_json::from_str(text).map_err(|e| AppError::Internal(format!("stored passkey state: {e}")))
}

/// The relying party: its id is `--public-url`'s host name, its origin
/// that URL's origin (a public URL may carry a path). Browsers refuse an IP
/// address as the id, so then there is none and passkeys are off.
pub fn relying_party(settings: &crate::Settings) -> Option<Webauthn> {
    let url = Url::parse(&settings.public_url).ok()?;
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_owned();
    if host.is_empty() || host.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let origin = Url::parse(&url.origin().ascii_serialization()).ok()?;
    WebauthnBuilder::new(&host, &origin)
        .and_then(|b| {
            b.rp_name(&settings.issuer).timeout(std::time::Duration::from_secs(CEREMONY_TTL_S as u64)).build()
        })
        .ok()
}

/// A passkey's name as given: trimmed, 1 to 64 characters, no control
/// characters.
pub fn valid_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(AppError::invalid("name", "must be 1 to 64 characters"));
    }
    Ok(name.to_owned())
}

impl App {
    /// The relying party, built once from the settings (see
    /// [`relying_party`]); refused when passkeys are off.
    pub fn webauthn(&self) -> AppResult<&Webauthn> {
        self.relying_party.as_deref().ok_or_else(|| {
            AppError::Conflict(
                "passkeys need --public-url with a host name (such as localhost), not an IP address".into(),
            )
        })
    }

    /// Whether passkeys can be used with this server's `--public-url`.
    pub fn passkeys_available(&self) -> bool {
        self.relying_party.is_some()
    }

    /// Keeps a ceremony's server half. One tied to an account is limited
    /// per account, so that nobody else's requests use up its room; a
    /// sign-in with nothing typed, per IP and over all.
    async fn keep_ceremony<S: Serialize>(
        &self,
        purpose: CeremonyPurpose,
        account_id: Option<&str>,
        subject: &str,
        state: &S,
        options: serde_json::Value,
        meta: &RequestMeta,
    ) -> AppResult<CeremonyStart> {
        match account_id {
            Some(id) => {
                self.rate_limit(&format!("passkey:account:{id}"), 60, CEREMONIES_PER_ACCOUNT_PER_MINUTE).await?;
            }
            None => {
                let ip = format!("passkey-sign-in:ip:{}", meta.limit_key());
                self.rate_limit(&ip, 60, SIGN_IN_CEREMONIES_PER_IP_PER_MINUTE).await?;
                self.rate_limit("passkey-sign-in:all", 60, SIGN_IN_CEREMONIES_PER_MINUTE).await?;
            }
        }
        let now = self.now();
        let challenge = PasskeyChallenge {
            id: new_id(),
            purpose: purpose.as_str().into(),
            account_id: account_id.map(str::to_owned),
            subject: subject.to_owned(),
            state: to_json(state)?,
            ip: meta.limit_key(),
            created_at: now,
            expires_at: now + CEREMONY_TTL_S,
        };
        self.store.create_passkey_challenge(&challenge).await?;
        Ok(CeremonyStart { challenge_id: challenge.id, options, expires_at: challenge.expires_at })
    }

    /// Takes a ceremony once; refused unless it is live and was started for
    /// this purpose, account and subject.
    async fn take_ceremony(
        &self,
        id: &str,
        purpose: CeremonyPurpose,
        account_id: Option<&str>,
        subject: &str,
    ) -> AppResult<PasskeyChallenge> {
        if id.is_empty() || id.len() > 64 {
            return Err(AppError::InvalidCode);
        }
        let c = self.store.take_passkey_challenge(id).await?.ok_or(AppError::InvalidCode)?;
        let fits = c.purpose == purpose.as_str()
            && c.expires_at > self.now()
            && c.subject == subject
            && (account_id.is_none() || c.account_id.as_deref() == account_id);
        if !fits {
            return Err(AppError::InvalidCode);
        }
        Ok(c)
    }

    /// `GET /me/passkeys`.
    pub async fn passkeys(&self, account_id: &str) -> AppResult<Vec<PasskeyRecord>> {
        Ok(self.store.passkeys(account_id).await?)
    }

    /// `POST /me/passkeys/registration`: the options to create a passkey,
    /// in sudo mode. Discoverable (a passkey signs in with nothing typed),
    /// user verification required, no attestation.
    pub async fn start_passkey_registration(
        &self,
        account_id: &str,
        session_token: &str,
        meta: &RequestMeta,
    ) -> AppResult<CeremonyStart> {
        let account = self.require_sudo(account_id, session_token).await?;
        let webauthn = self.webauthn()?;
        let existing = self.store.passkeys(account_id).await?;
        if existing.len() as i64 >= MAX_PASSKEYS {
            return Err(AppError::Conflict(format!("an account holds at most {MAX_PASSKEYS} passkeys")));
        }
        let exclude = existing
            .iter()
            .map(|p| from_json::<Passkey>(&p.credential).map(|k| k.cred_id().clone()))
            .collect::<AppResult<Vec<_>>>()?;
        let (ccr, state) = webauthn
            .start_passkey_registration(user_handle(account_id), &account.email, &account.email, Some(exclude))
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let mut options = serde_json::to_value(&ccr.public_key).map_err(|e| AppError::Internal(e.to_string()))?;
        // A discoverable credential (a passkey that names its account), so
        // that it also signs in with nothing typed.
        options["authenticatorSelection"]["residentKey"] = "required".into();
        options["authenticatorSelection"]["requireResidentKey"] = true.into();
        self.keep_ceremony(
            CeremonyPurpose::Register,
            Some(account_id),
            &token_hash(session_token),
            &state,
            options,
            meta,
        )
        .await
    }

    /// `POST /me/passkeys`: the browser's new credential, verified, stored
    /// under `name`. Beside another strong factor it may be a thief's, so
    /// withdrawals wait; the owner is told on the channels the account had.
    pub async fn finish_passkey_registration(
        &self,
        account_id: &str,
        session_token: &str,
        name: &str,
        answer: &PasskeyAnswer,
        meta: &RequestMeta,
    ) -> AppResult<PasskeyRecord> {
        let name = valid_name(name)?;
        let account = self.require_sudo(account_id, session_token).await?;
        let credential: RegisterPublicKeyCredential = parse("credential", &answer.credential)?;
        let ceremony = self
            .take_ceremony(
                &answer.challenge_id,
                CeremonyPurpose::Register,
                Some(account_id),
                &token_hash(session_token),
            )
            .await?;
        let state: PasskeyRegistration = from_json(&ceremony.state)?;
        let passkey = self.webauthn()?.finish_passkey_registration(&credential, &state).map_err(|e| {
            tracing::info!(account_id, error = %e, "passkey registration refused");
            AppError::invalid("credential", "the authenticator's answer did not verify")
        })?;
        let factors = self.account_factors(&account).await?;
        let now = self.now();
        let record = PasskeyRecord {
            id: new_id(),
            account_id: account_id.to_owned(),
            credential_id: credential_id_text(passkey.cred_id()),
            name: name.clone(),
            credential: to_json(&passkey)?,
            sign_count: 0,
            created_at: now,
            last_used_at: None,
        };
        let lang = self.language_of(&account);
        let hold_s = self.settings.hold_after_authenticator_change_s;
        let beside = factors.adding_needs_hold() && hold_s > 0;
        let hold = if beside { hold_sentence(lang, hold_s) } else { String::new() };
        let body = self.text(lang, "mail-passkey-added-body", &[("name", name.as_str().into()), ("hold", hold.into())]);
        let told = Told {
            kind: AuditKind::PasskeyRegistered,
            detail: &name,
            subject: "mail-passkey-added-subject",
            body,
            sms: Some(self.freeze_link_text(lang, "sms-passkey-added", &account.id)),
        };
        let change = AccountChange::AddPasskey { passkey: record.clone(), max: MAX_PASSKEYS };
        let plan = self.factor_change_plan(&account, change, beside.then_some(now + hold_s), told, meta)?;
        match self.apply_account_change(&plan).await? {
            AccountChangeOutcome::Applied { .. } => Ok(record),
            AccountChangeOutcome::CodeUsed | AccountChangeOutcome::Changed => Err(AppError::Conflict(format!(
                "this passkey is registered already, or the account holds {MAX_PASSKEYS}"
            ))),
        }
    }

    /// `PATCH /me/passkeys/{id}`: a new name, in sudo mode: the name is
    /// quoted in the owner's security e-mails, so a session alone must not
    /// choose what they say.
    pub async fn rename_passkey(
        &self,
        account_id: &str,
        session_token: &str,
        id: &str,
        name: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let name = valid_name(name)?;
        self.rate_limit(&format!("passkey-rename:{account_id}"), 3600, 30).await?;
        self.require_sudo(account_id, session_token).await?;
        let effects = Effects {
            audit: vec![self.audit_event(AuditKind::PasskeyRenamed, Some(account_id), meta, &name)],
            notices: vec![],
        };
        if !self.store.rename_passkey(account_id, id, &name, &effects).await? {
            return Err(AppError::NotFound);
        }
        Ok(())
    }

    /// `DELETE /me/passkeys/{id}`, in sudo mode: withdrawals wait as after
    /// removing the authenticator, and the owner is told.
    pub async fn remove_passkey(
        &self,
        account_id: &str,
        session_token: &str,
        id: &str,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let account = self.require_sudo(account_id, session_token).await?;
        let passkeys = self.store.passkeys(account_id).await?;
        let passkey = passkeys.iter().find(|p| p.id == id).ok_or(AppError::NotFound)?;
        let now = self.now();
        let hold_s = self.settings.hold_after_authenticator_change_s;
        let lang = self.language_of(&account);
        let body = self.text(
            lang,
            "mail-passkey-removed-body",
            &[("name", passkey.name.as_str().into()), ("hold", hold_sentence(lang, hold_s).into())],
        );
        let told = Told {
            kind: AuditKind::PasskeyRemoved,
            detail: &passkey.name,
            subject: "mail-passkey-removed-subject",
            body,
            sms: Some(self.freeze_link_text(lang, "sms-passkey-removed", &account.id)),
        };
        let change = AccountChange::RemovePasskey { id: id.to_owned() };
        let plan = self.factor_change_plan(&account, change, (hold_s > 0).then_some(now + hold_s), told, meta)?;
        match self.apply_account_change(&plan).await? {
            AccountChangeOutcome::Applied { .. } => Ok(()),
            AccountChangeOutcome::CodeUsed | AccountChangeOutcome::Changed => Err(AppError::NotFound),
        }
    }

    /// The options to sign with one of `account`'s passkeys, for `purpose`
    /// (the second step, sudo mode, a password reset).
    pub(crate) async fn start_passkey_assertion(
        &self,
        purpose: CeremonyPurpose,
        account: &AccountRecord,
        subject: &str,
        meta: &RequestMeta,
    ) -> AppResult<CeremonyStart> {
        let webauthn = self.webauthn()?;
        let keys = self
            .store
            .passkeys(&account.id)
            .await?
            .iter()
            .map(|p| from_json::<Passkey>(&p.credential))
            .collect::<AppResult<Vec<_>>>()?;
        if keys.is_empty() {
            return Err(AppError::Conflict("this account has no passkey".into()));
        }
        let (rcr, state) =
            webauthn.start_passkey_authentication(&keys).map_err(|e| AppError::Internal(e.to_string()))?;
        let options = serde_json::to_value(&rcr.public_key).map_err(|e| AppError::Internal(e.to_string()))?;
        self.keep_ceremony(purpose, Some(&account.id), subject, &state, options, meta).await
    }

    /// Checks a signature by one of `account`'s passkeys against the
    /// ceremony started for `purpose` and `subject`, and records the use.
    /// A refused answer is `InvalidCode` (audited); the callers count it as
    /// they count a wrong code.
    pub(crate) async fn verify_passkey(
        &self,
        purpose: CeremonyPurpose,
        account: &AccountRecord,
        subject: &str,
        answer: &PasskeyAnswer,
        meta: &RequestMeta,
    ) -> AppResult<PasskeyRecord> {
        let credential: PublicKeyCredential = parse("credential", &answer.credential)?;
        let ceremony = self.take_ceremony(&answer.challenge_id, purpose, Some(&account.id), subject).await?;
        let state: PasskeyAuthentication = from_json(&ceremony.state)?;
        let record = self.account_passkey(&account.id, credential.get_credential_id()).await?;
        let checked = self.webauthn()?.finish_passkey_authentication(&credential, &state);
        self.record_passkey_result(account, record, checked, meta).await
    }

    /// The account's passkey with this credential id.
    async fn account_passkey(&self, account_id: &str, raw_id: &[u8]) -> AppResult<PasskeyRecord> {
        match self.store.passkey_by_credential(&credential_id_text(raw_id)).await? {
            Some(p) if p.account_id == account_id => Ok(p),
            _ => Err(AppError::InvalidCode),
        }
    }

    /// After webauthn-rs checked an answer: refuses a failed one (a counter
    /// gone back also tells the owner), and records a good one over the
    /// counter stored now, so two uses racing with one counter value
    /// cannot both pass.
    async fn record_passkey_result(
        &self,
        account: &AccountRecord,
        record: PasskeyRecord,
        checked: Result<AuthenticationResult, WebauthnError>,
        meta: &RequestMeta,
    ) -> AppResult<PasskeyRecord> {
        let result = match checked {
            Ok(r) => r,
            Err(WebauthnError::CredentialPossibleCompromise) => {
                return Err(self.suspect_clone(account, &record, meta).await?);
            }
            Err(e) => {
                tracing::info!(account_id = %account.id, error = %e, "passkey signature refused");
                self.audit(AuditKind::PasskeyRefused, Some(&account.id), meta, &record.name).await?;
                return Err(AppError::InvalidCode);
            }
        };
        let counter = i64::from(result.counter());
        if (counter > 0 || record.sign_count > 0) && counter <= record.sign_count {
            return Err(self.suspect_clone(account, &record, meta).await?);
        }
        let mut passkey: Passkey = from_json(&record.credential)?;
        passkey.update_credential(&result);
        let now = self.now();
        let stored = to_json(&passkey)?;
        if !self.store.record_passkey_use(&record.id, record.sign_count, counter, &stored, now).await? {
            self.audit(AuditKind::PasskeyRefused, Some(&account.id), meta, "used meanwhile").await?;
            return Err(AppError::InvalidCode);
        }
        Ok(PasskeyRecord { sign_count: counter, credential: stored, last_used_at: Some(now), ..record })
    }

    /// A signature counter at or below the stored one: a copy of the key
    /// may be in use. Refused, audited, and the owner told.
    async fn suspect_clone(
        &self,
        account: &AccountRecord,
        record: &PasskeyRecord,
        meta: &RequestMeta,
    ) -> AppResult<AppError> {
        tracing::warn!(account_id = %account.id, passkey = %record.id, "passkey signature counter went back");
        let lang = self.language_of(account);
        let body = self.text(lang, "mail-passkey-clone-body", &[("name", record.name.as_str().into())]);
        let subject = self.text(lang, "mail-passkey-clone-subject", &[]);
        // The owner hears of it at most three times an hour, however often
        // the copy is tried.
        let now = self.now();
        let told = self.store.hit(&format!("passkey-clone:{}", account.id), now - now.rem_euclid(3600)).await?;
        let sms = self.freeze_link_text(lang, "sms-passkey-clone", &account.id);
        let notices =
            if told <= 3 { self.current_channel_notices_short(account, &subject, &body, &sms)? } else { vec![] };
        let effects = Effects {
            audit: vec![self.audit_event(AuditKind::PasskeyCloneSuspected, Some(&account.id), meta, &record.name)],
            notices,
        };
        self.store.record_effects(&effects).await?;
        self.notices_queued(&effects.notices).await;
        Ok(AppError::InvalidCode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(valid_name("  Laptop ").unwrap(), "Laptop");
        assert!(valid_name("   ").is_err());
        assert!(valid_name(&"x".repeat(65)).is_err());
        assert!(valid_name("tab\there").is_err());
        assert_eq!(valid_name(&"é".repeat(64)).unwrap().chars().count(), 64);
    }

    #[test]
    fn a_user_handle_is_stable_and_says_nothing_of_the_account() {
        assert_eq!(user_handle("a1"), user_handle("a1"));
        assert_ne!(user_handle("a1"), user_handle("a2"));
        assert!(!user_handle("a1").to_string().contains("a1"));
    }

    #[test]
    fn an_answer_travels_as_a_secret_and_back() {
        let answer = PasskeyAnswer { challenge_id: "c1".into(), credential: serde_json::json!({"id": "x"}) };
        let back = PasskeyAnswer::from_secret(&answer.to_secret()).unwrap();
        assert_eq!((back.challenge_id, back.credential), (answer.challenge_id, answer.credential));
        assert!(PasskeyAnswer::from_secret("123456").is_err(), "a code is not a passkey's answer");
    }
}
