//! SMS and voice calls over HTTP providers: a generic provider described
//! entirely by configuration (URL, method, an auth header, a body template
//! with `{to}` and `{message}`, JSON or form-encoded), and a
//! Twilio-compatible preset. Only the provider's status code is kept from
//! its answer: providers echo the message back, and the message holds a code.
//! HTTPS trusts what `tls.rs` says (system store, public roots, extra CAs)
//! and presents its client certificate if one is configured.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use twostep_app::messages::render;
use twostep_app::ports::{Delivery, DeliveryError, Message};

use crate::secret::Secret;
use crate::tls::{TlsTrust, describe};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFormat {
    Json,
    Form,
}

impl FromStr for BodyFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(BodyFormat::Json),
            "form" => Ok(BodyFormat::Form),
            _ => Err(format!("body format must be json or form, not {s:?}")),
        }
    }
}

impl BodyFormat {
    pub fn default_template(self) -> &'static str {
        match self {
            BodyFormat::Json => r#"{"to": "{to}", "message": "{message}"}"#,
            BodyFormat::Form => "to={to}&message={message}",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            BodyFormat::Json => "application/json",
            BodyFormat::Form => "application/x-www-form-urlencoded",
        }
    }

    /// A value escaped for where the template puts it: inside a JSON string,
    /// or as a form field value.
    fn escape(self, value: &str) -> String {
        match self {
            BodyFormat::Json => {
                let quoted = serde_json::to_string(value).unwrap_or_default();
                quoted[1..quoted.len().saturating_sub(1).max(1)].to_owned()
            }
            BodyFormat::Form => form_urlencoded(value),
        }
    }
}

fn form_urlencoded(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A provider described by configuration.
#[derive(Clone, Debug)]
pub struct GenericHttpConfig {
    pub url: String,
    pub method: String,
    /// `Name: value`, e.g. `Authorization: Bearer …` or `X-Api-Key: …`.
    pub auth_header: Option<Secret>,
    /// With `{to}` and `{message}`; the format's default when None.
    pub body_template: Option<String>,
    pub format: BodyFormat,
}

/// Twilio's REST API, or anything that speaks it.
#[derive(Clone, Debug)]
pub struct TwilioConfig {
    pub account_sid: String,
    pub auth_token: Secret,
    /// The sending number (E.164) or messaging service.
    pub from: String,
    /// `https://api.twilio.com` unless pointed at a compatible service.
    pub api_base: String,
}

#[derive(Clone, Debug)]
pub enum HttpProviderConfig {
    Generic(GenericHttpConfig),
    Twilio(TwilioConfig),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpChannel {
    Sms,
    Voice,
}

enum Request {
    Generic {
        method: Method,
        header: Option<(HeaderName, HeaderValue)>,
        template: String,
        format: BodyFormat,
        url: String,
    },
    Twilio(TwilioConfig),
}

/// Sends SMS or places voice calls through one HTTP provider.
pub struct HttpDelivery {
    client: reqwest::Client,
    channel: HttpChannel,
    request: Request,
}

/// An HTTPS client that never follows redirects (a provider's or an
/// application's answer is what counts), trusting `trust`.
pub(crate) fn client(timeout: Duration, trust: &TlsTrust) -> Result<reqwest::Client, String> {
    crate::install_tls_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .tls_backend_preconfigured(trust.rustls_config()?)
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

impl HttpDelivery {
    /// A provider client that trusts the public roots and the system's CAs only.
    pub fn new(config: &HttpProviderConfig, channel: HttpChannel, timeout: Duration) -> Result<Self, String> {
        Self::with_trust(config, channel, timeout, &TlsTrust::default())
    }

    pub fn with_trust(
        config: &HttpProviderConfig,
        channel: HttpChannel,
        timeout: Duration,
        trust: &TlsTrust,
    ) -> Result<Self, String> {
        let client = client(timeout, trust)?;
        let request = match config {
            HttpProviderConfig::Generic(g) => {
                reqwest::Url::parse(&g.url).map_err(|e| format!("provider URL {:?}: {e}", g.url))?;
                let method = Method::from_str(&g.method.to_ascii_uppercase())
                    .ok()
                    .filter(|m| [Method::POST, Method::PUT, Method::PATCH].contains(m))
                    .ok_or_else(|| format!("provider method must be POST, PUT or PATCH, not {:?}", g.method))?;
                let header = g.auth_header.as_ref().map(|h| parse_header(h.expose())).transpose()?;
                let template = g.body_template.clone().unwrap_or_else(|| g.format.default_template().to_owned());
                if !template.contains("{message}") || !template.contains("{to}") {
                    return Err("the provider body template must contain {to} and {message}".into());
                }
                Request::Generic { method, header, template, format: g.format, url: g.url.clone() }
            }
            HttpProviderConfig::Twilio(t) => {
                reqwest::Url::parse(&t.api_base).map_err(|e| format!("Twilio API base {:?}: {e}", t.api_base))?;
                if t.account_sid.is_empty() || t.from.is_empty() {
                    return Err("the Twilio preset needs an account SID and a from number".into());
                }
                Request::Twilio(t.clone())
            }
        };
        Ok(Self { client, channel, request })
    }

    /// The provider's origin (`https://host:port`): never the path or query,
    /// which may carry an account id or a token.
    pub fn target(&self) -> String {
        let url = match &self.request {
            Request::Generic { url, .. } => url.as_str(),
            Request::Twilio(t) => t.api_base.as_str(),
        };
        match reqwest::Url::parse(url) {
            Ok(u) => u.origin().ascii_serialization(),
            Err(_) => "(invalid URL)".into(),
        }
    }

    /// Connects to the provider's origin as for a message (TCP, TLS
    /// handshake with the same trust and client certificate) and asks for
    /// `HEAD /`: any HTTP answer proves the connection, and nothing is sent.
    pub async fn check(&self) -> Result<String, String> {
        let origin = self.target();
        let response = self.client.head(format!("{origin}/")).send().await.map_err(|e| describe(&e.without_url()))?;
        let tls = if origin.starts_with("https:") {
            "TLS handshake with a trusted certificate, "
        } else {
            "plain HTTP (no TLS), "
        };
        Ok(format!("{tls}HEAD / answered {}", response.status()))
    }

    fn build(&self, message: &Message) -> reqwest::RequestBuilder {
        match &self.request {
            Request::Generic { method, header, template, format, url } => {
                let body = render(
                    template,
                    &[("to", &format.escape(&message.to)), ("message", &format.escape(&message.body))],
                );
                let mut req =
                    self.client.request(method.clone(), url).header("content-type", format.content_type()).body(body);
                if let Some((name, value)) = header {
                    req = req.header(name.clone(), value.clone());
                }
                req
            }
            Request::Twilio(t) => {
                let base = t.api_base.trim_end_matches('/');
                let (resource, content) = match self.channel {
                    HttpChannel::Sms => ("Messages.json", ("Body", message.body.clone())),
                    HttpChannel::Voice => ("Calls.json", ("Twiml", twiml(&message.body))),
                };
                let url = format!("{base}/2010-04-01/Accounts/{}/{resource}", t.account_sid);
                let form = [("To", message.to.as_str()), ("From", t.from.as_str()), (content.0, content.1.as_str())];
                self.client.post(url).basic_auth(&t.account_sid, Some(t.auth_token.expose())).form(&form)
            }
        }
    }
}

fn parse_header(line: &str) -> Result<(HeaderName, HeaderValue), String> {
    // The error never repeats the value: it is a credential.
    let (name, value) = line.split_once(':').ok_or("the auth header must look like `Name: value`")?;
    let name = HeaderName::from_str(name.trim()).map_err(|_| "the auth header name is not valid")?;
    let mut value = HeaderValue::from_str(value.trim()).map_err(|_| "the auth header value is not valid")?;
    value.set_sensitive(true);
    Ok((name, value))
}

/// The call script: each digit said on its own followed by a pause, so the
/// code is read slowly; the voice template (by default) says it twice.
pub fn twiml(text: &str) -> String {
    fn say(out: &mut String, words: &str) {
        let words = words.trim_matches(|c: char| c.is_whitespace() || c == ',');
        if !words.is_empty() {
            out.push_str("<Say>");
            out.push_str(&xml_escape(words));
            out.push_str("</Say>");
        }
    }
    let mut out = String::from(r#"<?xml version="1.0" encoding="UTF-8"?><Response><Pause length="1"/>"#);
    let mut words = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            say(&mut out, &words);
            words.clear();
            out.push_str(&format!(r#"<Say>{c}</Say><Pause length="1"/>"#));
        } else {
            words.push(c);
        }
    }
    say(&mut out, &words);
    out.push_str("</Response>");
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

#[async_trait]
impl Delivery for HttpDelivery {
    async fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        let response = self.build(message).send().await.map_err(|e| {
            // Without the URL (it may hold a token); the body is never in it.
            DeliveryError::temporary(format!("provider unreachable: {}", describe(&e.without_url())))
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let reason = format!("provider answered {status}");
        // Other 4xx answers refuse this very message (a number the provider
        // cannot reach, a rejected request): sending it again cannot help.
        let retryable = status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT;
        Err(if retryable { DeliveryError::temporary(reason) } else { DeliveryError::permanent(reason) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_for_their_format() {
        assert_eq!(BodyFormat::Json.escape(r#"say "hi"\n"#), r#"say \"hi\"\\n"#);
        assert_eq!(BodyFormat::Json.escape(""), "");
        assert_eq!(BodyFormat::Form.escape("+44 7911&x=1"), "%2B44+7911%26x%3D1");
    }

    #[test]
    fn the_call_script_reads_each_digit_alone() {
        let x = twiml("Your code is: 1, 2. Again: 1, 2.");
        assert_eq!(
            x,
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Response><Pause length="1"/>"#,
                r#"<Say>Your code is:</Say><Say>1</Say><Pause length="1"/><Say>2</Say><Pause length="1"/>"#,
                r#"<Say>. Again:</Say><Say>1</Say><Pause length="1"/><Say>2</Say><Pause length="1"/><Say>.</Say>"#,
                "</Response>"
            )
        );
        assert!(twiml("<b>&").contains("<Say>&lt;b&gt;&amp;</Say>"));
    }

    #[test]
    fn bad_settings_are_refused_without_echoing_secrets() {
        let generic = |method: &str, header: &str, template: Option<&str>| {
            HttpProviderConfig::Generic(GenericHttpConfig {
                url: "http://127.0.0.1:9/send".into(),
                method: method.into(),
                auth_header: Some(Secret::new(header)),
                body_template: template.map(str::to_owned),
                format: BodyFormat::Json,
            })
        };
        let ok = HttpDelivery::new(
            &generic("post", "Authorization: Bearer t0ken", None),
            HttpChannel::Sms,
            Duration::from_secs(1),
        );
        assert!(ok.is_ok());
        let bad =
            HttpDelivery::new(&generic("GET", "Authorization: x", None), HttpChannel::Sms, Duration::from_secs(1));
        assert!(bad.err().unwrap().contains("POST"));
        let err =
            HttpDelivery::new(&generic("POST", "no colon s3cret", None), HttpChannel::Sms, Duration::from_secs(1))
                .err()
                .unwrap();
        assert!(!err.contains("s3cret"), "{err}");
        let err = HttpDelivery::new(
            &generic("POST", "A: b", Some("{\"m\": \"{message}\"}")),
            HttpChannel::Sms,
            Duration::from_secs(1),
        );
        assert!(err.err().unwrap().contains("{to}"));
    }
}
