//! Sign-up, e-mail confirmation, staff accounts and the account overview.
//! Sign-up answers the same whether or not the address is taken, so that it
//! cannot be used to learn who has an account, and it never changes an
//! account: a sign-up waits as a registration until its own code confirms it.

use twostep_domain::audit_kind::AuditKind;
use twostep_domain::{
    Role, code_matches, generate_code, hash_code, mask_email, mask_phone, normalize_email, validate_password,
};

use crate::crypto::new_id;
use crate::error::{AppError, AppResult};
use crate::metrics::AuthCounters;
use crate::owner_port::{ConfirmOutcome, Registration};
use crate::ports::{AccountRecord, AuditEvent, Channel, CreateOutcome, Message, NewAccount};
use crate::{App, RequestMeta};

/// A sign-up's code is bound to that sign-up: another sign-up's code for
/// the same address does not confirm it.
pub(crate) fn signup_purpose(registration_id: &str) -> String {
    format!("signup:{registration_id}")
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountOverview {
    pub account_id: String,
    pub email: String,
    pub phone: Option<String>,
    pub role: Role,
    pub totp: bool,
    /// How many passkeys the account holds.
    pub passkeys: usize,
    pub phone_bound: bool,
    pub email_verified: bool,
    pub withdrawals_blocked_until: Option<i64>,
    /// Whether the owner set an anti-phishing phrase.
    pub anti_phishing_phrase_set: bool,
}

impl App {
    /// `POST /accounts`. Never changes an existing account and answers the
    /// same whatever the address's state: a new or unconfirmed address gets
    /// a pending sign-up with its own code (the code activates the password
    /// it was sent with and no other); a confirmed account's owner is told
    /// that someone tried. Both paths hash the password, so they take as
    /// long; the limits are counted before the address is looked up.
    pub async fn register(&self, email: &str, password: &str, meta: &RequestMeta) -> AppResult<()> {
        let email = normalize_email(email)?;
        validate_password("password", password)?;
        self.rate_limit(&format!("accounts:ip:{}", meta.limit_key()), 3600, self.settings.accounts_per_ip_per_hour)
            .await?;
        self.rate_limit(&format!("mail:{email}"), 3600, self.settings.emails_per_address_per_hour).await?;
        // The message caps of every code, counted whatever the address's
        // state (the notice to a confirmed address is a message too).
        let st = &self.settings;
        self.rate_limit(&format!("codes-sent:ip:{}", meta.limit_key()), 3600, st.codes_sent_per_ip_per_hour).await?;
        self.rate_limit(&format!("codes:to:{email}"), 3600, st.codes_per_destination_per_hour).await?;
        self.rate_limit(&format!("codes:to:{email}:day"), 86_400, st.codes_per_destination_per_day).await?;
        let hash = self.hasher.hash(password).await?;
        let now = self.now();
        match self.store.account_by_email(&email).await? {
            Some(existing) if existing.email_verified_at.is_some() => {
                self.audit(AuditKind::SignupAttemptOnExisting, Some(&existing.id), meta, "").await?;
                let lang = self.language_of(&existing);
                let body = self.text(lang, "mail-signup-existing-body", &[]);
                let subject = self.text(lang, "mail-signup-existing-subject", &[]);
                self.notify(Channel::Email, &existing.email, &subject, &body).await;
            }
            _ => {
                let id = new_id();
                let code = generate_code(&mut rand::rng());
                let ttl_s = self.settings.signup_code_ttl_s;
                let registration = Registration {
                    id: id.clone(),
                    code_hash: hash_code(self.keyring.code_pepper(), &signup_purpose(&id), &email, &code).to_vec(),
                    email: email.clone(),
                    password_hash: hash,
                    created_at: now,
                    expires_at: now + ttl_s,
                    ip: meta.ip.clone(),
                    user_agent: meta.user_agent.clone(),
                    language: meta.language,
                };
                self.store.create_registration(&registration, self.settings.registrations_per_address).await?;
                let minutes = (ttl_s + 59) / 60;
                let lang = meta.language.unwrap_or(self.settings.language);
                let (subject, body) =
                    self.code_message(lang, Channel::Email, &signup_purpose(&registration.id), &code, minutes);
                let message = Message { channel: Channel::Email, to: email.clone(), subject, body };
                // Linked like any code's message (it is no notice); there is
                // no sent-code row to retire if it fails.
                self.enqueue(&message, Some(&registration.id), registration.expires_at).await?;
            }
        }
        Ok(())
    }

    /// `POST /accounts/verify-email`: the code creates the account with the
    /// password of the sign-up it was sent for. Wrong codes are counted per
    /// address, so the few live codes of an address cannot be guessed.
    pub async fn verify_email(&self, email: &str, code: &str, meta: &RequestMeta) -> AppResult<()> {
        self.rate_limit(&format!("codes:ip:{}", meta.limit_key()), 60, self.settings.codes_per_ip_per_minute).await?;
        let email = normalize_email(email).map_err(|_| AppError::InvalidCode)?;
        let subject = format!("signup:{email}");
        self.check_throttle(&subject).await?;
        let now = self.now();
        let live = self.store.live_registrations(&email, now).await?;
        let pepper = self.keyring.code_pepper();
        let Some(registration) =
            live.iter().find(|r| code_matches(&r.code_hash, pepper, &signup_purpose(&r.id), &email, code))
        else {
            self.store.count_registration_try(&email, now).await?;
            self.record_failure(&subject).await?;
            AuthCounters::bump(&self.counters.sent_codes_rejected);
            return Err(AppError::InvalidCode);
        };
        let account = NewAccount {
            id: new_id(),
            email: email.clone(),
            password_hash: String::new(),
            role: Role::User,
            verified: true,
            created_at: now,
            language: registration.language,
        };
        let audit = [
            AuditEvent { at: now, ..self.audit_event(AuditKind::AccountCreated, Some(&account.id), meta, "") },
            AuditEvent { at: now, ..self.audit_event(AuditKind::EmailVerified, Some(&account.id), meta, "") },
        ];
        match self.store.confirm_registration(&registration.id, &account, now, &audit).await? {
            ConfirmOutcome::Created => {
                self.store.clear_failures(&subject).await?;
                Ok(())
            }
            ConfirmOutcome::Gone => Err(AppError::InvalidCode),
        }
    }

    /// Creates a confirmed staff account (or promotes an existing one).
    pub async fn add_staff(&self, email: &str, password: &str, role: Role) -> AppResult<String> {
        let email = normalize_email(email)?;
        validate_password("password", password)?;
        if !role.is_staff() {
            return Err(AppError::invalid("role", "must be reviewer or admin"));
        }
        let hash = self.hasher.hash(password).await?;
        let account = NewAccount {
            id: new_id(),
            email,
            password_hash: hash.clone(),
            role,
            verified: true,
            created_at: self.now(),
            language: None,
        };
        let meta = RequestMeta {
            ip: "cli".into(),
            user_agent: "twostep staff add".into(),
            language: None,
            device_token: None,
        };
        match self.store.create_account(&account).await? {
            CreateOutcome::Created => {
                self.audit(AuditKind::StaffAdded, Some(&account.id), &meta, role.as_str()).await?;
                Ok(account.id)
            }
            CreateOutcome::EmailTaken(existing) => {
                self.store.set_role(&existing.id, role).await?;
                self.store.set_password(&existing.id, &hash).await?;
                if existing.email_verified_at.is_none() {
                    self.store.mark_email_verified(&existing.id, self.now()).await?;
                }
                self.audit(AuditKind::StaffRoleSet, Some(&existing.id), &meta, role.as_str()).await?;
                Ok(existing.id)
            }
        }
    }

    pub async fn account(&self, account_id: &str) -> AppResult<AccountRecord> {
        self.store.account_by_id(account_id).await?.ok_or(AppError::Unauthorized)
    }

    pub async fn overview(&self, account_id: &str) -> AppResult<AccountOverview> {
        let account = self.account(account_id).await?;
        let totp = self.store.totp_factor(account_id).await?.is_some();
        let now = self.now();
        Ok(AccountOverview {
            account_id: account.id,
            email: mask_email(&account.email),
            phone: account.phone.as_deref().map(mask_phone),
            role: account.role,
            totp,
            passkeys: self.store.passkeys(account_id).await?.len(),
            phone_bound: account.phone.is_some(),
            email_verified: account.email_verified_at.is_some(),
            withdrawals_blocked_until: account.withdrawals_blocked_until.filter(|&t| t > now),
            anti_phishing_phrase_set: self.store.anti_phishing(account_id).await?.is_some(),
        })
    }
}
