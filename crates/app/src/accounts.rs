//! Sign-up, e-mail confirmation, staff accounts and the account overview.
//! Sign-up answers the same whether or not the address is taken, so that it
//! cannot be used to learn who has an account.

use twostep_domain::{mask_email, mask_phone, normalize_email, validate_password, Role};

use crate::crypto::new_id;
use crate::error::{AppError, AppResult};
use crate::ports::{AccountRecord, Channel, CreateOutcome, NewAccount};
use crate::{App, RequestMeta};

pub const PURPOSE_VERIFY_EMAIL: &str = "verify_email";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountOverview {
    pub account_id: String,
    pub email: String,
    pub phone: Option<String>,
    pub role: Role,
    pub totp: bool,
    pub phone_bound: bool,
    pub email_verified: bool,
    pub withdrawals_blocked_until: Option<i64>,
}

impl App {
    pub async fn register(&self, email: &str, password: &str, meta: &RequestMeta) -> AppResult<String> {
        let email = normalize_email(email)?;
        validate_password("password", password)?;
        self.rate_limit(&format!("accounts:ip:{}", meta.limit_key()), 3600, self.settings.accounts_per_ip_per_hour).await?;
        self.rate_limit(&format!("mail:{email}"), 3600, self.settings.emails_per_address_per_hour).await?;
        // Hash before looking the address up, so both answers take as long.
        let hash = self.hasher.hash(password).await?;
        let account = NewAccount {
            id: new_id(),
            email: email.clone(),
            password_hash: hash.clone(),
            role: Role::User,
            verified: false,
            created_at: self.now(),
        };
        match self.store.create_account(&account).await? {
            CreateOutcome::Created => {
                self.audit("account_created", Some(&account.id), meta, "").await;
                self.send_email_code(&account.id, &email, PURPOSE_VERIFY_EMAIL, self.settings.email_verify_ttl_s, meta)
                    .await?;
                Ok(account.id)
            }
            CreateOutcome::EmailTaken(existing) if existing.email_verified_at.is_none() => {
                // Whoever confirms the address owns the account, with the
                // password of the latest sign-up.
                self.store.replace_unverified_password(&existing.id, &hash).await?;
                self.audit("signup_repeated", Some(&existing.id), meta, "").await;
                self.send_email_code(&existing.id, &email, PURPOSE_VERIFY_EMAIL, self.settings.email_verify_ttl_s, meta)
                    .await?;
                Ok(existing.id)
            }
            CreateOutcome::EmailTaken(existing) => {
                self.audit("signup_attempt_on_existing", Some(&existing.id), meta, "").await;
                self.notify(
                    Channel::Email,
                    &existing.email,
                    "Sign-up attempt with your address",
                    "Someone tried to create a twostep account with your e-mail address. \
                     You already have an account; if this was you, sign in instead.",
                )
                .await;
                Ok(new_id())
            }
        }
    }

    pub async fn verify_email(&self, email: &str, code: &str, meta: &RequestMeta) -> AppResult<()> {
        self.rate_limit(&format!("codes:ip:{}", meta.limit_key()), 60, self.settings.codes_per_ip_per_minute).await?;
        let email = normalize_email(email).map_err(|_| AppError::InvalidCode)?;
        let Some(account) = self.store.account_by_email(&email).await? else {
            return Err(AppError::InvalidCode);
        };
        if account.email_verified_at.is_some() {
            return Err(AppError::InvalidCode);
        }
        self.verify_sent_code(&account.id, PURPOSE_VERIFY_EMAIL, None, code).await?;
        self.store.mark_email_verified(&account.id, self.now()).await?;
        self.audit("email_verified", Some(&account.id), meta, "").await;
        Ok(())
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
        };
        let meta = RequestMeta { ip: "cli".into(), user_agent: "twostep staff add".into() };
        match self.store.create_account(&account).await? {
            CreateOutcome::Created => {
                self.audit("staff_added", Some(&account.id), &meta, role.as_str()).await;
                Ok(account.id)
            }
            CreateOutcome::EmailTaken(existing) => {
                self.store.set_role(&existing.id, role).await?;
                self.store.set_password(&existing.id, &hash).await?;
                if existing.email_verified_at.is_none() {
                    self.store.mark_email_verified(&existing.id, self.now()).await?;
                }
                self.audit("staff_role_set", Some(&existing.id), &meta, role.as_str()).await;
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
            phone_bound: account.phone.is_some(),
            email_verified: account.email_verified_at.is_some(),
            withdrawals_blocked_until: account.withdrawals_blocked_until.filter(|&t| t > now),
        })
    }
}
