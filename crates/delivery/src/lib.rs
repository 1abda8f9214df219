//! Message delivery: the only crate that knows vendors. E-mail over SMTP,
//! SMS and voice calls over HTTP providers (a configurable generic one and a
//! Twilio-compatible preset), and the development outbox that stands in for
//! any channel without a provider. Each implements the app's `Delivery`
//! port; the app's queue workers call them, never a request handler.
//! Message bodies hold codes and are never logged. Outbound TLS (trusted
//! CAs, client certificates, naming a refused certificate) is `tls.rs`.

mod http;
mod outbox;
mod secret;
mod smtp;
mod tls;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use twostep_app::ports::{Channel, Clock, Delivery, DeliveryError, Message, Store};

pub use http::{BodyFormat, GenericHttpConfig, HttpChannel, HttpDelivery, HttpProviderConfig, TwilioConfig, twiml};
pub use outbox::OutboxDelivery;
pub use secret::Secret;
pub use smtp::{SmtpConfig, SmtpDelivery, SmtpTls};
pub use tls::{ClientTls, TlsTrust, TransportTls, describe, system_roots};

/// Makes ring the process's TLS provider (reqwest is built without one, to
/// keep aws-lc out). Safe to call many times; the first call wins.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The configured providers; a channel left None goes to the dev outbox.
#[derive(Clone, Debug, Default)]
pub struct Providers {
    pub smtp: Option<SmtpConfig>,
    pub sms: Option<HttpProviderConfig>,
    pub voice: Option<HttpProviderConfig>,
    /// HTTP providers' request timeout.
    pub http_timeout: Duration,
    /// What each transport's TLS trusts besides the system store and the
    /// public roots, and the client certificate it presents.
    pub tls: TransportTls,
}

impl Providers {
    /// The dev outbox route exists only while no provider at all is set.
    pub fn any(&self) -> bool {
        self.smtp.is_some() || self.sms.is_some() || self.voice.is_some()
    }

    /// One `Delivery` that routes each message by its channel.
    pub fn build(&self, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Result<ChannelRouter, String> {
        let outbox: Arc<dyn Delivery> = Arc::new(OutboxDelivery::new(store, clock));
        let t = self.transports()?;
        let or_outbox = |d: Option<Arc<dyn Delivery>>| d.unwrap_or_else(|| outbox.clone());
        let timeout = if self.http_timeout.is_zero() { Duration::from_secs(10) } else { self.http_timeout };
        Ok(ChannelRouter {
            email: or_outbox(t.email.map(|d| d as Arc<dyn Delivery>)),
            sms: or_outbox(t.sms.map(|d| d as Arc<dyn Delivery>)),
            voice: or_outbox(t.voice.map(|d| d as Arc<dyn Delivery>)),
            // Applications' own endpoints, registered with `twostep clients
            // add`: always real, never the outbox.
            webhook: Arc::new(webhook::WebhookDelivery::new(timeout)?),
        })
    }

    /// The configured transports, their TLS files read and checked.
    fn transports(&self) -> Result<Transports, String> {
        let timeout = if self.http_timeout.is_zero() { Duration::from_secs(10) } else { self.http_timeout };
        let trust = |name: &str, t: &ClientTls| t.load().map_err(|e| format!("{name} TLS: {e}"));
        let email = match &self.smtp {
            Some(c) => Some(Arc::new(SmtpDelivery::with_trust(c, &trust("SMTP", &self.tls.smtp)?)?)),
            None => None,
        };
        let http = |c: &Option<HttpProviderConfig>, ch, name, t| -> Result<Option<Arc<HttpDelivery>>, String> {
            match c {
                Some(c) => Ok(Some(Arc::new(HttpDelivery::with_trust(c, ch, timeout, &trust(name, t)?)?))),
                None => Ok(None),
            }
        };
        Ok(Transports {
            email,
            sms: http(&self.sms, HttpChannel::Sms, "SMS provider", &self.tls.sms)?,
            voice: http(&self.voice, HttpChannel::Voice, "voice provider", &self.tls.voice)?,
        })
    }

    /// Connects to every configured transport as a message would, sending
    /// nothing: one line per channel, for `twostep check-delivery` and the
    /// log at start-up. An error building a transport is an error here too.
    pub async fn check(&self) -> Result<Vec<TransportCheck>, String> {
        let t = self.transports()?;
        let email = async {
            match &t.email {
                Some(d) => TransportCheck { channel: "e-mail", target: d.target(), outcome: d.check().await.into() },
                None => TransportCheck::outbox("e-mail"),
            }
        };
        let http = |channel, d: &Option<Arc<HttpDelivery>>| {
            let d = d.clone();
            async move {
                match d {
                    Some(d) => TransportCheck { channel, target: d.target(), outcome: d.check().await.into() },
                    None => TransportCheck::outbox(channel),
                }
            }
        };
        let (email, sms, voice) = tokio::join!(email, http("sms", &t.sms), http("voice", &t.voice));
        Ok(vec![email, sms, voice])
    }
}

struct Transports {
    email: Option<Arc<SmtpDelivery>>,
    sms: Option<Arc<HttpDelivery>>,
    voice: Option<Arc<HttpDelivery>>,
}

/// How one channel's test connection went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckOutcome {
    /// No provider: messages go to the development outbox.
    Outbox,
    Ok(String),
    Failed(String),
}

impl From<Result<String, String>> for CheckOutcome {
    fn from(r: Result<String, String>) -> Self {
        match r {
            Ok(s) => CheckOutcome::Ok(s),
            Err(e) => CheckOutcome::Failed(e),
        }
    }
}

#[derive(Clone, Debug)]
pub struct TransportCheck {
    /// `e-mail`, `sms` or `voice`.
    pub channel: &'static str,
    /// What was connected to: `smtp starttls host:port`, `https://host:port`.
    pub target: String,
    pub outcome: CheckOutcome,
}

impl TransportCheck {
    fn outbox(channel: &'static str) -> Self {
        Self { channel, target: String::new(), outcome: CheckOutcome::Outbox }
    }

    pub fn failed(&self) -> bool {
        matches!(self.outcome, CheckOutcome::Failed(_))
    }
}

impl std::fmt::Display for TransportCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.outcome {
            CheckOutcome::Outbox => write!(f, "{}: not configured (development outbox)", self.channel),
            CheckOutcome::Ok(how) => write!(f, "{}: {}: ok: {how}", self.channel, self.target),
            CheckOutcome::Failed(why) => write!(f, "{}: {}: FAILED: {why}", self.channel, self.target),
        }
    }
}

/// Sends each message through its channel's provider.
pub struct ChannelRouter {
    pub email: Arc<dyn Delivery>,
    pub sms: Arc<dyn Delivery>,
    pub voice: Arc<dyn Delivery>,
    pub webhook: Arc<dyn Delivery>,
}

#[async_trait]
impl Delivery for ChannelRouter {
    async fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        match message.channel {
            Channel::Email => self.email.send(message).await,
            Channel::Sms => self.sms.send(message).await,
            Channel::Voice => self.voice.send(message).await,
            Channel::Webhook => self.webhook.send(message).await,
        }
    }
}
