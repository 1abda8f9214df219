//! Registering applications (`twostep clients add|list|remove`): exact
//! redirect URIs over HTTPS (plain HTTP only to this machine), a secret
//! shown once and kept as a hash, a webhook secret sealed.

use openidconnect::url::{Host, Url};
use rand::RngExt;

use super::feed::webhook_secret_context;
use super::port::ClientRecord;
use crate::App;
use crate::crypto::{new_token, token_hash};
use crate::error::{AppError, AppResult};

/// An application to register.
#[derive(Clone, Debug, Default)]
pub struct NewClient {
    pub id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// A browser or mobile application: no secret, PKCE required.
    pub public: bool,
    pub first_party: bool,
    pub backchannel_logout_uri: Option<String>,
    pub webhook_url: Option<String>,
}

/// What is shown once, at registration.
pub struct ClientCreated {
    pub client_secret: Option<String>,
    pub webhook_secret: Option<String>,
}

/// An address an application receives people or requests at: absolute,
/// no fragment, HTTPS, or HTTP to this machine only (development).
pub fn check_app_url(field: &str, value: &str) -> AppResult<()> {
    let url = Url::parse(value).map_err(|_| AppError::invalid(field, format!("{value:?} is not an absolute URL")))?;
    if url.fragment().is_some() {
        return Err(AppError::invalid(field, format!("{value:?} must not have a fragment")));
    }
    let loopback = match url.host() {
        Some(Host::Domain(d)) => d == "localhost",
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(AppError::invalid(field, format!("{value:?} must be https (http only to localhost)"))),
    }
}

impl App {
    pub async fn add_client(&self, c: &NewClient) -> AppResult<ClientCreated> {
        let id_ok =
            (1..=64).contains(&c.id.len()) && c.id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !id_ok {
            return Err(AppError::invalid("id", "1 to 64 letters, digits, '-', '_' or '.'"));
        }
        if c.name.trim().is_empty() || c.name.chars().count() > 80 {
            return Err(AppError::invalid("name", "1 to 80 characters"));
        }
        if c.redirect_uris.is_empty() {
            return Err(AppError::invalid("redirect_uri", "at least one"));
        }
        for uri in &c.redirect_uris {
            check_app_url("redirect_uri", uri)?;
        }
        for uri in &c.post_logout_redirect_uris {
            check_app_url("post_logout_redirect_uri", uri)?;
        }
        for uri in c.backchannel_logout_uri.iter().chain(&c.webhook_url) {
            check_app_url("url", uri)?;
        }
        let client_secret = (!c.public).then(new_token);
        let webhook_secret = c.webhook_url.as_ref().map(|_| {
            let bytes: [u8; 32] = rand::rng().random();
            format!("whsec_{}", data_encoding::BASE64.encode(&bytes))
        });
        let record = ClientRecord {
            id: c.id.clone(),
            name: c.name.trim().to_owned(),
            secret_hash: client_secret.as_deref().map(token_hash),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            first_party: c.first_party,
            backchannel_logout_uri: c.backchannel_logout_uri.clone().unwrap_or_default(),
            webhook_url: c.webhook_url.clone().unwrap_or_default(),
            webhook_secret: webhook_secret
                .as_ref()
                .map(|s| self.keyring.seal(&webhook_secret_context(&c.id), s.as_bytes())),
            created_at: self.now(),
        };
        if !self.store.add_client(&record).await? {
            return Err(AppError::Conflict(format!("an application {:?} is registered already", c.id)));
        }
        // The first application brings the signing key (made here when
        // there is none), so no request waits for (or races to make) it.
        self.signing_key().await?;
        Ok(ClientCreated { client_secret, webhook_secret })
    }

    pub async fn clients(&self) -> AppResult<Vec<ClientRecord>> {
        Ok(self.store.clients().await?)
    }

    pub async fn remove_client(&self, id: &str) -> AppResult<()> {
        if self.store.remove_client(id).await? { Ok(()) } else { Err(AppError::NotFound) }
    }
}
