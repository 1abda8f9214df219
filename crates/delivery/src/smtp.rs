//! E-mail over SMTP (lettre, rustls on ring). One connection per message:
//! codes are few and far between, and a fresh connection never inherits a
//! half-broken session from an earlier failure. What the relay's certificate
//! must chain to, and the client certificate, come from `tls.rs`.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::Tls;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use twostep_app::ports::{Delivery, DeliveryError, Message};

use crate::secret::Secret;
use crate::tls::{TlsTrust, describe};

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text; only for a relay on the same host or a test sink.
    None,
    /// Plain connection upgraded with STARTTLS, which is required.
    StartTls,
    /// TLS from the first byte ("SMTPS", port 465).
    Implicit,
}

impl FromStr for SmtpTls {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(SmtpTls::None),
            "starttls" => Ok(SmtpTls::StartTls),
            "implicit" | "tls" => Ok(SmtpTls::Implicit),
            _ => Err(format!("SMTP TLS mode must be none, starttls or implicit, not {s:?}")),
        }
    }
}

impl SmtpTls {
    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::None => 25,
            SmtpTls::StartTls => 587,
            SmtpTls::Implicit => 465,
        }
    }
}

#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub host: String,
    /// Default: 25, 587 or 465 by TLS mode.
    pub port: Option<u16>,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// `twostep <no-reply@example.com>` or a bare address.
    pub from: String,
    pub timeout: Duration,
}

pub struct SmtpDelivery {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    tls: SmtpTls,
    /// `host:port`, for reports.
    address: String,
    authenticates: bool,
}

impl SmtpDelivery {
    /// A transport that trusts the public roots and the system's CAs only.
    pub fn new(config: &SmtpConfig) -> Result<Self, String> {
        Self::with_trust(config, &TlsTrust::default())
    }

    pub fn with_trust(config: &SmtpConfig, trust: &TlsTrust) -> Result<Self, String> {
        crate::install_tls_provider();
        let from: Mailbox = config.from.parse().map_err(|e| format!("SMTP from address {:?}: {e}", config.from))?;
        let port = config.port.unwrap_or(config.tls.default_port());
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone())
            .port(port)
            .timeout(Some(config.timeout));
        let tls = || trust.smtp_parameters(&config.host);
        builder = match config.tls {
            SmtpTls::None => builder.tls(Tls::None),
            SmtpTls::StartTls => builder.tls(Tls::Required(tls()?)),
            SmtpTls::Implicit => builder.tls(Tls::Wrapper(tls()?)),
        };
        match (&config.username, &config.password) {
            (Some(user), Some(password)) => {
                builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
            }
            (None, None) => {}
            _ => return Err("SMTP user and password go together".into()),
        }
        let address = format!("{}:{port}", config.host);
        Ok(Self {
            transport: builder.build(),
            from,
            tls: config.tls,
            address,
            authenticates: config.username.is_some(),
        })
    }

    /// What this transport talks to, e.g. `smtp starttls relay.example.com:587`.
    pub fn target(&self) -> String {
        let mode = match self.tls {
            SmtpTls::None => "plain",
            SmtpTls::StartTls => "starttls",
            SmtpTls::Implicit => "implicit-tls",
        };
        format!("smtp {mode} {}", self.address)
    }

    /// Connects as for a message (EHLO, STARTTLS or the TLS handshake, AUTH)
    /// and says goodbye without sending anything.
    pub async fn check(&self) -> Result<String, String> {
        match self.transport.test_connection().await {
            Ok(true) => {
                let steps = match self.tls {
                    SmtpTls::None => "EHLO (no TLS)",
                    SmtpTls::StartTls => "EHLO, STARTTLS with a trusted certificate",
                    SmtpTls::Implicit => "TLS handshake with a trusted certificate, EHLO",
                };
                let auth = if self.authenticates { ", AUTH" } else { "" };
                Ok(format!("{steps}{auth} accepted"))
            }
            Ok(false) => Err("the server closed the connection".into()),
            Err(e) => Err(describe(&e)),
        }
    }
}

#[async_trait]
impl Delivery for SmtpDelivery {
    async fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        // The stored address is a bare `local@domain`; it is sent to exactly
        // that, never re-read as a mailbox with a display name.
        let address: lettre::Address =
            message.to.parse().map_err(|_| DeliveryError::permanent("not a deliverable address"))?;
        let to = Mailbox::new(None, address);
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(message.body.clone())
            .map_err(|e| DeliveryError::permanent(format!("building the e-mail: {e}")))?;
        match self.transport.send(email).await {
            Ok(_) => Ok(()),
            // 5xx: the server refused this message for good (no such mailbox…).
            Err(e) if e.is_permanent() => Err(DeliveryError::permanent(format!("smtp: {}", describe(&e)))),
            // A refused certificate is retried too: the relay may be mid-renewal.
            Err(e) => Err(DeliveryError::temporary(format!("smtp: {}", describe(&e)))),
        }
    }
}
