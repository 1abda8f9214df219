//! New-device confirmation and the account's devices. A device is a random
//! token this server issued at a sign-in (never one the client chose),
//! stored as a hash. A sign-in whose second step (or password, for an
//! account without a second factor) succeeds on a device the account has
//! not confirmed, when the rule in `twostep_domain::device` asks for it,
//! opens no session: the account's e-mail gets "Was this you?" with a link
//! whose page approves or denies that one sign-in, and the client then takes
//! its session with `finish_device_sign_in`. Deny freezes the account. This
//! module owns those steps, the device list, "sign out this device",
//! "forget it" and the owner's choice; the second step itself stays in
//! `login.rs`, the SQL in the store crate.

pub mod port;

use twostep_domain::audit_kind::AuditKind;
use twostep_domain::device::{self as rules, DeviceDecision, OwnerChoice};

use crate::crypto::{new_id, new_token, token_hash};
use crate::error::{AppError, AppResult};
use crate::login::Session;
use crate::ports::{AccountRecord, Channel};
use crate::{App, RequestMeta};
use port::{Device, DeviceConfirmation, DeviceFacts, DeviceSession, DeviceWrite};

/// Why an account was frozen, for the audit log.
pub const FROZEN_BY_DENIAL: &str = "by the owner, denying a new device's sign-in from the e-mail";

/// Devices kept per account: past it the oldest unconfirmed go, so sign-ins
/// from ever new clients cost bounded rows.
pub const MAX_DEVICES: i64 = 30;

/// The device token a request carries (the page cookie or the API field);
/// `Debug` leaves it out.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DeviceToken(pub String);

impl std::fmt::Debug for DeviceToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceToken(..)")
    }
}

/// A sign-in waiting for the e-mail's approval.
#[derive(Clone)]
pub struct PendingConfirmation {
    pub login_id: String,
    pub expires_at: i64,
    /// The device token for the client to keep and send when it finishes.
    pub device_token: String,
}

impl std::fmt::Debug for PendingConfirmation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingConfirmation")
            .field("login_id", &self.login_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The device a sign-in comes from, as far as the sign-in got.
#[derive(Clone, Debug)]
pub(crate) struct SignInDevice {
    pub id: String,
    pub token: String,
    pub needs_confirmation: bool,
    /// What the sign-in writes of it: a new device is added; a known one
    /// is marked seen only when last seen a while ago or from elsewhere (a
    /// device seen a moment ago from the same place is not written again).
    pub write: DeviceWrite,
}

/// How stale a device's "last seen" may get before a sign-in rewrites it.
const LAST_SEEN_GRAIN_S: i64 = 60;

/// The device token the client presented, if it could be one of ours.
pub(crate) fn presented_token(meta: &RequestMeta) -> Option<&str> {
    meta.device_token.as_ref().map(|t| t.0.as_str()).filter(|t| !t.is_empty() && t.len() <= 256)
}

/// A device as its owner sees it: no token, the browser in words and a
/// place only where the IP says one offline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceView {
    pub device_id: String,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    pub ip: String,
    pub place: Option<rules::CoarsePlace>,
    /// In the API's words; pages use [`browser_words`] on `user_agent`.
    pub browser: String,
    pub user_agent: String,
    pub confirmed: bool,
    pub current: bool,
}

/// What the e-mail's link page shows before the person answers.
#[derive(Clone, Debug)]
pub struct ConfirmationView {
    pub user_agent: String,
    pub ip: String,
    pub place: Option<rules::CoarsePlace>,
    pub at: i64,
    pub decision: Option<DeviceDecision>,
    pub expired: bool,
}

/// The client of a user agent in words of `lang` ("Firefox sous Linux").
pub fn browser_words(lang: crate::Lang, user_agent: &str) -> String {
    use twostep_i18n::{text, text_with};
    match rules::browser(user_agent) {
        rules::Browser::Unknown => text(lang, "device-browser-unknown"),
        rules::Browser::Other => text(lang, "device-browser-other"),
        rules::Browser::Known { family, system: Some(system) } => {
            text_with(lang, "device-browser-on", &[("browser", family.into()), ("system", system.into())])
        }
        rules::Browser::Known { family, system: None } => family.to_owned(),
    }
}

/// "2026-11-29 21:40 UTC": a time in a message, whatever its language.
pub fn utc_minutes(unix_s: i64) -> String {
    let (y, m, d) = twostep_domain::questions::civil_date(unix_s);
    let secs = unix_s.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", secs / 3600, secs % 3600 / 60)
}

impl App {
    /// Finds the device of a sign-in that has passed its checks, or makes a
    /// new one, and says whether it needs the e-mail's confirmation. Nothing
    /// of the device is written here: its `write` goes with the sign-in's
    /// own (`SignInSuccess::device_write`, or `record_device`). A confirmation
    /// to send is counted here, per account and per IP (429 past the caps),
    /// before anything of the sign-in is used up.
    pub(crate) async fn sign_in_device(&self, account: &AccountRecord, meta: &RequestMeta) -> AppResult<SignInDevice> {
        let known = match presented_token(meta) {
            Some(t) => self.store.device_by_token(&account.id, &token_hash(t)).await?,
            None => None,
        };
        let (choice, has_withdrawals) = self.store.device_policy_facts(&account.id).await?;
        self.sign_in_device_from(account, meta, DeviceFacts { known, choice, has_withdrawals }).await
    }

    /// `sign_in_device` with the facts already read (the second step reads
    /// them with its context).
    pub(crate) async fn sign_in_device_from(
        &self,
        account: &AccountRecord,
        meta: &RequestMeta,
        facts: DeviceFacts,
    ) -> AppResult<SignInDevice> {
        let now = self.now();
        let presented = presented_token(meta);
        let known = facts.known;
        let (device, token, write) = match (known, presented) {
            (Some(device), Some(t)) => {
                let seen = now - device.last_seen_at >= LAST_SEEN_GRAIN_S
                    || device.ip != meta.ip
                    || device.user_agent != meta.user_agent;
                let write = if seen {
                    DeviceWrite::Seen { ip: meta.ip.clone(), user_agent: meta.user_agent.clone() }
                } else {
                    DeviceWrite::Nothing
                };
                (device, t.to_owned(), write)
            }
            _ => {
                // A token this server issued is kept (another account signed
                // in from this browser); anything else is replaced.
                let token = match presented {
                    Some(t) if self.store.device_token_issued(&token_hash(t)).await? => t.to_owned(),
                    _ => new_token(),
                };
                let device = Device {
                    id: new_id(),
                    account_id: account.id.clone(),
                    token_hash: token_hash(&token),
                    first_seen_at: now,
                    last_seen_at: now,
                    ip: meta.ip.clone(),
                    user_agent: meta.user_agent.clone(),
                    confirmed_at: None,
                };
                (device.clone(), token, DeviceWrite::Add { device, keep: MAX_DEVICES })
            }
        };
        let must = rules::must_confirm(
            self.settings.device_confirmation,
            OwnerChoice::from_stored(&facts.choice),
            account.role,
            facts.has_withdrawals,
        );
        let needs_confirmation = must && device.confirmed_at.is_none();
        if needs_confirmation {
            let hour = now - now.rem_euclid(3600);
            let caps = [
                (format!("device-mail:account:{}", account.id), self.settings.emails_per_address_per_hour),
                (format!("device-mail:ip:{}", meta.limit_key()), self.settings.codes_sent_per_ip_per_hour),
            ];
            for (bucket, cap) in caps {
                if self.store.hit(&bucket, hour).await? > cap {
                    return Err(AppError::TooManyAttempts { retry_after_s: (hour + 3600 - now).max(1) });
                }
            }
        }
        Ok(SignInDevice { id: device.id, token, needs_confirmation, write })
    }

    /// Writes a sign-in's device on its own, for the sign-ins that are not
    /// group-committed (the password alone, for an account without a
    /// second factor).
    pub(crate) async fn record_device(&self, device: &SignInDevice) -> AppResult<()> {
        match &device.write {
            DeviceWrite::Nothing => {}
            DeviceWrite::Add { device, keep } => self.store.add_device(device, *keep).await?,
            DeviceWrite::Seen { ip, user_agent } => {
                self.store.touch_device(&device.id, self.now(), ip, user_agent).await?;
            }
        }
        Ok(())
    }

    /// Records the confirmation of a sign-in that passed every step on an
    /// unconfirmed device and sends "Was this you?" to the account's e-mail.
    /// `factors`: what the sign-in proved, kept for the session it takes.
    pub(crate) async fn request_device_confirmation(
        &self,
        account: &AccountRecord,
        login_id: &str,
        expires_at: i64,
        device: &SignInDevice,
        factors: &str,
        meta: &RequestMeta,
    ) -> AppResult<PendingConfirmation> {
        let now = self.now();
        let link = new_token();
        let confirmation = DeviceConfirmation {
            login_id: login_id.to_owned(),
            account_id: account.id.clone(),
            device_id: device.id.clone(),
            link_hash: token_hash(&link),
            created_at: now,
            expires_at,
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            decision: None,
            decided_at: None,
            finished_at: None,
            // Read again: the password step may have re-made the hash.
            password_digest: token_hash(&self.account(&account.id).await?.password_hash),
            factors: factors.to_owned(),
        };
        let lang = self.language_of(account);
        let base = format!("{}/device-confirmation?token={link}", self.settings.public_url.trim_end_matches('/'));
        let place = rules::coarse_place(&meta.ip)
            .map(|p| self.text(lang, &format!("device-place-{}", p.as_str().replace('_', "-")), &[]));
        let ip = match place {
            Some(p) => format!("{} ({p})", meta.ip),
            None => meta.ip.clone(),
        };
        let minutes = ((expires_at - now) / 60).max(1);
        let body = self.text(
            lang,
            "mail-device-confirm-body",
            &[
                ("browser", browser_words(lang, &meta.user_agent).as_str().into()),
                ("ip", ip.as_str().into()),
                ("time", utc_minutes(now).as_str().into()),
                ("approve", format!("{base}&answer=approve").as_str().into()),
                ("deny", format!("{base}&answer=deny").as_str().into()),
                ("minutes", minutes.into()),
            ],
        );
        let subject = self.text(lang, "mail-device-confirm-subject", &[]);
        let message = self.sealed_notice(Channel::Email, &account.email, &subject, &body)?;
        let audit = self.audit_event(AuditKind::DeviceConfirmationSent, Some(&account.id), meta, &device.id);
        self.store.create_device_confirmation(&confirmation, &message, &audit).await?;
        self.outbound_wake.notify_one();
        Ok(PendingConfirmation { login_id: login_id.to_owned(), expires_at, device_token: device.token.clone() })
    }

    /// What the e-mail's link is about, for its page; 404 for an unknown link.
    pub async fn device_confirmation_view(&self, link_token: &str) -> AppResult<ConfirmationView> {
        let c = self.confirmation_by_link(link_token).await?;
        Ok(ConfirmationView {
            user_agent: c.user_agent,
            place: rules::coarse_place(&c.ip),
            ip: c.ip,
            at: c.created_at,
            decision: c.decision,
            expired: c.expires_at <= self.now(),
        })
    }

    async fn confirmation_by_link(&self, link_token: &str) -> AppResult<DeviceConfirmation> {
        if link_token.is_empty() || link_token.len() > 256 {
            return Err(AppError::NotFound);
        }
        self.store.device_confirmation_by_link(&token_hash(link_token)).await?.ok_or(AppError::NotFound)
    }

    /// The answer from the e-mail's link. Approve lets that one sign-in take
    /// its session (which confirms its device); deny ends it and freezes the
    /// account (no sign-in, no withdrawal, every session ended, every
    /// channel told). A link answers once, while its sign-in lives.
    pub async fn answer_device_confirmation(
        &self,
        link_token: &str,
        decision: DeviceDecision,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        self.rate_limit(&format!("device-answer:ip:{}", meta.limit_key()), 60, self.settings.codes_per_ip_per_minute)
            .await?;
        let c = self.confirmation_by_link(link_token).await?;
        let now = self.now();
        if c.decision.is_some() || c.expires_at <= now || !self.same_password(&c).await? {
            return Err(AppError::Conflict("this sign-in was already answered or has expired".into()));
        }
        let kind = match decision {
            DeviceDecision::Approved => AuditKind::DeviceConfirmed,
            DeviceDecision::Denied => AuditKind::DeviceDenied,
        };
        let audit = self.audit_event(kind, Some(&c.account_id), meta, &c.device_id);
        if !self.store.decide_device(&c.link_hash, decision, now, &audit).await? {
            return Err(AppError::Conflict("this sign-in was already answered or has expired".into()));
        }
        if decision == DeviceDecision::Denied {
            self.freeze_for_denied_device(&c.account_id, meta).await?;
        }
        Ok(())
    }

    /// Freezes the account whose owner denied a sign-in: the same freeze
    /// as the owner's "freeze my account" (every session and recovery ended,
    /// every address and number of the last 30 days told).
    async fn freeze_for_denied_device(&self, account_id: &str, meta: &RequestMeta) -> AppResult<()> {
        let account = self.account(account_id).await?;
        self.freeze_account(&account, FROZEN_BY_DENIAL, meta).await?;
        Ok(())
    }

    /// Whether the account's password is still the one the sign-in used: a
    /// change or reset since ends the sign-in, as it ends pending ones.
    async fn same_password(&self, c: &DeviceConfirmation) -> AppResult<bool> {
        let account = self.account(&c.account_id).await?;
        Ok(token_hash(&account.password_hash) == c.password_digest)
    }

    /// The client of a sign-in waiting for the e-mail takes its session once
    /// approved. It must hold the device token the sign-in was given: the
    /// `login_id` alone opens nothing. 409 while waiting, 403 once denied.
    pub async fn finish_device_sign_in(&self, login_id: &str, meta: &RequestMeta) -> AppResult<Session> {
        self.rate_limit(&format!("device-finish:ip:{}", meta.limit_key()), 60, self.settings.login_per_ip_per_minute)
            .await?;
        if login_id.is_empty() || login_id.len() > 64 {
            return Err(AppError::NotFound);
        }
        let c = self.store.device_confirmation(login_id).await?.ok_or(AppError::NotFound)?;
        let token = meta.device_token.as_ref().map(|t| t.0.clone()).unwrap_or_default();
        let device = match token.len() {
            1..=256 => self.store.device_by_token(&c.account_id, &token_hash(&token)).await?,
            _ => None,
        };
        if device.as_ref().map(|d| d.id.as_str()) != Some(c.device_id.as_str()) {
            return Err(AppError::NotFound);
        }
        let now = self.now();
        match c.decision {
            Some(DeviceDecision::Denied) => return Err(AppError::Forbidden),
            _ if c.finished_at.is_some() => {
                return Err(AppError::Conflict("this sign-in is already complete".into()));
            }
            _ if c.expires_at <= now || !self.same_password(&c).await? => return Err(AppError::Unauthorized),
            None => return Err(AppError::Conflict("waiting for the confirmation from the e-mail".into())),
            Some(DeviceDecision::Approved) => {}
        }
        let session_token = new_token();
        let session = DeviceSession {
            token_hash: token_hash(&session_token),
            account_id: c.account_id.clone(),
            device_id: c.device_id.clone(),
            now,
            expires_at: now + self.settings.session_ttl_s,
            // What the sign-in proved, and the mailbox that approved it
            // (a confirmation from before this was kept: the password).
            factors: format!("{} email", if c.factors.is_empty() { "password" } else { &c.factors }),
        };
        let audit = self.audit_event(AuditKind::LoginOk, Some(&c.account_id), meta, "new device confirmed by e-mail");
        if !self.store.finish_device_sign_in(login_id, &session, &audit).await? {
            let account = self.account(&c.account_id).await?;
            if account.frozen_at.is_some() {
                return Err(AppError::Forbidden);
            }
            return Err(AppError::Conflict("this sign-in is already complete".into()));
        }
        self.store.touch_device(&c.device_id, now, &meta.ip, &meta.user_agent).await?;
        Ok(Session {
            token: session_token,
            account_id: c.account_id,
            expires_at: session.expires_at,
            device_token: Some(token),
        })
    }

    /// The account's devices, the one of this session marked `current`.
    pub async fn devices(&self, account_id: &str, session_token: &str) -> AppResult<Vec<DeviceView>> {
        let current = self.store.session_device(&token_hash(session_token)).await?;
        Ok(self
            .store
            .devices_of(account_id)
            .await?
            .into_iter()
            .map(|d| DeviceView {
                current: current.as_deref() == Some(d.id.as_str()),
                place: rules::coarse_place(&d.ip),
                browser: rules::browser_name(&d.user_agent),
                user_agent: d.user_agent,
                device_id: d.id,
                first_seen_at: d.first_seen_at,
                last_seen_at: d.last_seen_at,
                ip: d.ip,
                confirmed: d.confirmed_at.is_some(),
            })
            .collect())
    }

    /// "Sign out this device": ends its sessions. A session alone may, as it
    /// only takes access away. Returns how many sessions ended.
    pub async fn sign_out_device(&self, account_id: &str, device_id: &str, meta: &RequestMeta) -> AppResult<u64> {
        let audit = self.audit_event(AuditKind::DeviceSignedOut, Some(account_id), meta, device_id);
        self.store.sign_out_device(account_id, device_id, self.now(), &audit).await?.ok_or(AppError::NotFound)
    }

    /// "Forget it": ends its sessions and deletes it, so its next sign-in is
    /// a new device (and needs the e-mail's confirmation where that applies).
    pub async fn forget_device(&self, account_id: &str, device_id: &str, meta: &RequestMeta) -> AppResult<()> {
        let audit = self.audit_event(AuditKind::DeviceForgotten, Some(account_id), meta, device_id);
        if !self.store.forget_device(account_id, device_id, self.now(), &audit).await? {
            return Err(AppError::NotFound);
        }
        Ok(())
    }

    /// Whether new devices of this account need the e-mail's confirmation.
    pub async fn device_confirmation_enabled(&self, account: &AccountRecord) -> AppResult<bool> {
        let (choice, has_withdrawals) = self.store.device_policy_facts(&account.id).await?;
        Ok(rules::must_confirm(
            self.settings.device_confirmation,
            OwnerChoice::from_stored(&choice),
            account.role,
            has_withdrawals,
        ))
    }

    /// The owner switches new-device confirmation on (a session suffices:
    /// it only adds protection) or off (sudo mode). Every channel of the
    /// account is told. Returns whether it now applies (staff always
    /// confirm, and the server's `off` turns it off for everyone).
    pub async fn set_device_confirmation(
        &self,
        account_id: &str,
        session_token: &str,
        on: bool,
        meta: &RequestMeta,
    ) -> AppResult<bool> {
        let account =
            if on { self.account(account_id).await? } else { self.require_sudo(account_id, session_token).await? };
        if account.frozen_at.is_some() {
            return Err(AppError::Forbidden);
        }
        let choice = if on { OwnerChoice::On } else { OwnerChoice::Off };
        let lang = self.language_of(&account);
        let id = if on { "mail-device-setting-on-body" } else { "mail-device-setting-off-body" };
        let body = self.text(lang, id, &[]);
        let subject = self.text(lang, "mail-device-setting-subject", &[]);
        let notices = self.current_channel_notices(&account, &subject, &body)?;
        let audit = self.audit_event(AuditKind::DeviceConfirmationSetting, Some(account_id), meta, choice.as_str());
        self.store.set_device_choice(account_id, choice.as_str(), &audit, &notices).await?;
        self.outbound_wake.notify_one();
        self.device_confirmation_enabled(&account).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_messages() {
        assert_eq!(utc_minutes(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_minutes(1_795_902_000), "2026-11-28 21:40 UTC");
        assert_eq!(utc_minutes(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn browsers_in_the_persons_language() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
        assert_eq!(browser_words(crate::Lang::En, firefox), "Firefox on Linux");
        assert_eq!(browser_words(crate::Lang::Fr, firefox), "Firefox sous Linux");
        assert_eq!(browser_words(crate::Lang::Fr, ""), "un navigateur inconnu");
        assert_eq!(browser_words(crate::Lang::En, "<script>"), "another app or browser");
    }

    #[test]
    fn tokens_stay_out_of_debug() {
        let t = DeviceToken("secret-token".into());
        assert!(!format!("{t:?}").contains("secret"));
        let p = PendingConfirmation { login_id: "l".into(), expires_at: 1, device_token: "secret-token".into() };
        assert!(!format!("{p:?}").contains("secret"));
    }
}
