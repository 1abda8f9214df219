//! Message delivery: the only crate that knows vendors. E-mail over SMTP,
//! SMS and voice calls over HTTP providers (a configurable generic one and a
//! Twilio-compatible preset), and the development outbox that stands in for
//! any channel without a provider. Each implements the app's `Delivery`
//! port; the app's queue workers call them, never a request handler.
//! Message bodies hold codes and are never logged.

mod http;
mod outbox;
mod secret;
mod smtp;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use twostep_app::ports::{Channel, Clock, Delivery, DeliveryError, Message, Store};

pub use http::{twiml, BodyFormat, GenericHttpConfig, HttpChannel, HttpDelivery, HttpProviderConfig, TwilioConfig};
pub use outbox::OutboxDelivery;
pub use secret::Secret;
pub use smtp::{SmtpConfig, SmtpDelivery, SmtpTls};

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
}

impl Providers {
    /// The dev outbox route exists only while no provider at all is set.
    pub fn any(&self) -> bool {
        self.smtp.is_some() || self.sms.is_some() || self.voice.is_some()
    }

    /// One `Delivery` that routes each message by its channel.
    pub fn build(&self, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Result<ChannelRouter, String> {
        let outbox: Arc<dyn Delivery> = Arc::new(OutboxDelivery::new(store, clock));
        let timeout = if self.http_timeout.is_zero() { Duration::from_secs(10) } else { self.http_timeout };
        let email: Arc<dyn Delivery> = match &self.smtp {
            Some(c) => Arc::new(SmtpDelivery::new(c)?),
            None => outbox.clone(),
        };
        let http = |c: &Option<HttpProviderConfig>, ch| -> Result<Arc<dyn Delivery>, String> {
            Ok(match c {
                Some(c) => Arc::new(HttpDelivery::new(c, ch, timeout)?),
                None => outbox.clone(),
            })
        };
        Ok(ChannelRouter { sms: http(&self.sms, HttpChannel::Sms)?, voice: http(&self.voice, HttpChannel::Voice)?, email })
    }
}

/// Sends each message through its channel's provider.
pub struct ChannelRouter {
    pub email: Arc<dyn Delivery>,
    pub sms: Arc<dyn Delivery>,
    pub voice: Arc<dyn Delivery>,
}

#[async_trait]
impl Delivery for ChannelRouter {
    async fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        match message.channel {
            Channel::Email => self.email.send(message).await,
            Channel::Sms => self.sms.send(message).await,
            Channel::Voice => self.voice.send(message).await,
        }
    }
}
