//! The use cases of twostep: register, sign in, enrol an authenticator, send
//! and check codes, bind a phone, change the password, request withdrawals,
//! and drain the outbound message queue. They see the
//! domain rules and the ports (`Store`, `Delivery`, `Clock`) only: no SQL, no
//! HTTP, no vendor.

pub mod account_changes;
pub mod accounts;
pub mod anti_phishing;
pub mod audit;
pub mod centre_port;
pub mod codes;
pub mod crypto;
pub mod devices;
pub mod error;
pub mod freeze;
pub mod limits;
pub mod login;
pub mod messages;
pub mod metrics;
pub mod oidc;
pub mod outbound;
pub mod owner_port;
pub mod passkeys;
pub mod password_reset;
pub mod passwords;
pub mod phone;
pub mod ports;
pub mod recovery;
pub mod rotation;
pub mod security;
pub mod settings;
pub mod staff;
pub mod sudo;
pub mod totp;

use std::sync::Arc;

pub use error::{AppError, AppResult};
pub use settings::Settings;
pub use twostep_i18n::{self as i18n, Lang};

use crypto::Keyring;
use metrics::{AuthCounters, DeliveryCounters};
use passwords::PasswordHasher;
use ports::{Clock, Delivery, Store};

/// Who is asking: recorded in the audit log and used for per-IP limits.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub ip: String,
    pub user_agent: String,
    /// The language the request asked for (`Accept-Language`), if one the
    /// catalogues have; a sign-up records it as the account's language.
    pub language: Option<Lang>,
    /// The device token the request carries (the pages' cookie, the API's
    /// `device_token` field), if any.
    pub device_token: Option<devices::DeviceToken>,
}

impl RequestMeta {
    /// The subject of per-IP limits: an IPv4 address itself, an IPv6
    /// address's /64 (one subscriber's network: whoever holds one has 2^64
    /// addresses to rotate through). The audit log keeps `ip` as it was.
    pub fn limit_key(&self) -> String {
        match self.ip.parse::<std::net::IpAddr>().map(|ip| ip.to_canonical()) {
            Ok(std::net::IpAddr::V6(v6)) => {
                let s = v6.segments();
                let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{net}/64")
            }
            Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
            Err(_) => self.ip.clone(),
        }
    }
}

/// The application: every use case is a method on it.
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub delivery: Arc<dyn Delivery>,
    pub clock: Arc<dyn Clock>,
    pub keyring: Arc<Keyring>,
    pub hasher: PasswordHasher,
    pub settings: Arc<Settings>,
    pub counters: Arc<AuthCounters>,
    pub delivery_counters: Arc<DeliveryCounters>,
    /// Poked on every enqueue so an idle delivery worker sends at once.
    pub outbound_wake: Arc<tokio::sync::Notify>,
    /// The WebAuthn relying party, from `--public-url`; None: passkeys off.
    relying_party: Option<Arc<webauthn_rs::prelude::Webauthn>>,
    /// The OpenID Connect signing key in use, opened once: (key id, key).
    oidc_signer: Arc<std::sync::Mutex<Option<OidcSigner>>>,
}

type OidcSigner = (String, Arc<openidconnect::core::CoreRsaPrivateSigningKey>);

impl App {
    pub fn new(
        store: Arc<dyn Store>,
        delivery: Arc<dyn Delivery>,
        clock: Arc<dyn Clock>,
        keyring: Arc<Keyring>,
        hasher: PasswordHasher,
        settings: Settings,
    ) -> Self {
        Self {
            store,
            delivery,
            clock,
            keyring,
            hasher,
            relying_party: passkeys::relying_party(&settings).map(Arc::new),
            settings: Arc::new(settings),
            counters: Arc::new(AuthCounters::default()),
            delivery_counters: Arc::new(DeliveryCounters::default()),
            outbound_wake: Arc::new(tokio::sync::Notify::new()),
            oidc_signer: Arc::new(std::sync::Mutex::new(None)),
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}

#[cfg(test)]
mod tests {
    use super::RequestMeta;

    #[test]
    fn ipv6_addresses_are_limited_per_64() {
        let key = |ip: &str| RequestMeta { ip: ip.into(), ..Default::default() }.limit_key();
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_eq!(key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(key("cli"), "cli");
    }
}

/// The real clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
    }
}

/// A clock that moves only when told to, for tests of expiry and holds.
#[derive(Debug, Default)]
pub struct FixedClock(std::sync::atomic::AtomicI64);

impl FixedClock {
    pub fn new(at: i64) -> Self {
        Self(std::sync::atomic::AtomicI64::new(at))
    }
    pub fn set(&self, at: i64) {
        self.0.store(at, std::sync::atomic::Ordering::SeqCst);
    }
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}
