//! Settings of sent codes and their delivery: SMTP for e-mail, HTTP
//! providers for SMS and voice (generic or the Twilio preset), the message
//! templates, the sending caps and the queue's retry policy, each declared
//! once below (flag, `TWOSTEP_*` variable, config-file key, default).
//! Passwords, tokens and auth headers are `Secret`s, so they never reach
//! `Debug` output or a log line. Outbound TLS: an extra CA bundle and a
//! client certificate for every transport (`outbound_*`), each replaceable
//! per transport (`smtp_*`, `sms_*`, `voice_*`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use clap::builder::RangedU64ValueParser;
use twostep_app::Settings;
use twostep_delivery::{
    BodyFormat, ClientTls, GenericHttpConfig, HttpProviderConfig, Providers, Secret, SmtpConfig, SmtpTls, TransportTls,
    TwilioConfig,
};

use crate::layers::describe;

/// `--smtp-tls`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTlsMode {
    None,
    Starttls,
    #[value(alias = "tls")]
    Implicit,
}

impl From<SmtpTlsMode> for SmtpTls {
    fn from(m: SmtpTlsMode) -> Self {
        match m {
            SmtpTlsMode::None => SmtpTls::None,
            SmtpTlsMode::Starttls => SmtpTls::StartTls,
            SmtpTlsMode::Implicit => SmtpTls::Implicit,
        }
    }
}

/// `--sms-provider`, `--voice-provider`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderKind {
    Generic,
    Twilio,
}

/// `--sms-method`, `--voice-method`: the generic provider's request method.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
#[value(rename_all = "UPPER")]
pub enum HttpMethod {
    Post,
    Put,
    Patch,
}

impl HttpMethod {
    fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
        }
    }
}

/// `--sms-body-format`, `--voice-body-format`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFormatArg {
    Json,
    Form,
}

impl From<BodyFormatArg> for BodyFormat {
    fn from(f: BodyFormatArg) -> Self {
        match f {
            BodyFormatArg::Json => BodyFormat::Json,
            BodyFormatArg::Form => BodyFormat::Form,
        }
    }
}

const TWILIO_API_BASE: &str = "https://api.twilio.com";

#[derive(Args, Debug, Clone)]
pub struct MessagingArgs {
    /// SMTP server for e-mail; without it e-mail goes to the dev outbox
    #[arg(long, env = "TWOSTEP_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP port [default: 25, 587 or 465 by TLS mode]
    #[arg(long, env = "TWOSTEP_SMTP_PORT", allow_negative_numbers = true, value_parser = clap::value_parser!(u16).range(1..))]
    pub smtp_port: Option<u16>,
    /// SMTP transport security
    #[arg(long, env = "TWOSTEP_SMTP_TLS", value_enum, ignore_case = true, default_value_t = SmtpTlsMode::Starttls)]
    pub smtp_tls: SmtpTlsMode,
    /// SMTP login name
    #[arg(long, env = "TWOSTEP_SMTP_USER")]
    pub smtp_user: Option<String>,
    /// SMTP password
    #[arg(long, env = "TWOSTEP_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<Secret>,
    /// Sender, e.g. "twostep <no-reply@example.com>" (required with --smtp-host)
    #[arg(long, env = "TWOSTEP_SMTP_FROM")]
    pub smtp_from: Option<String>,

    /// SMS provider [default: twilio when --sms-twilio-account-sid is set, generic when --sms-url is]
    #[arg(long, env = "TWOSTEP_SMS_PROVIDER", value_enum, ignore_case = true)]
    pub sms_provider: Option<ProviderKind>,
    /// Generic provider: the URL messages are sent to
    #[arg(long, env = "TWOSTEP_SMS_URL")]
    pub sms_url: Option<String>,
    /// Generic provider: the request method
    #[arg(long, env = "TWOSTEP_SMS_METHOD", value_enum, ignore_case = true, default_value_t = HttpMethod::Post)]
    pub sms_method: HttpMethod,
    /// Generic provider: one header, "Name: value" (e.g. "Authorization: Bearer …")
    #[arg(long, env = "TWOSTEP_SMS_AUTH_HEADER", hide_env_values = true)]
    pub sms_auth_header: Option<Secret>,
    /// Generic provider: request body with {to} and {message} [default: by format]
    #[arg(long, env = "TWOSTEP_SMS_BODY_TEMPLATE")]
    pub sms_body_template: Option<String>,
    /// Generic provider: the request body's format
    #[arg(long, env = "TWOSTEP_SMS_BODY_FORMAT", value_enum, ignore_case = true, default_value_t = BodyFormatArg::Json)]
    pub sms_body_format: BodyFormatArg,
    /// Twilio preset: account SID
    #[arg(long, env = "TWOSTEP_SMS_TWILIO_ACCOUNT_SID")]
    pub sms_twilio_account_sid: Option<String>,
    /// Twilio preset: auth token
    #[arg(long, env = "TWOSTEP_SMS_TWILIO_AUTH_TOKEN", hide_env_values = true)]
    pub sms_twilio_auth_token: Option<Secret>,
    /// Twilio preset: API base URL
    #[arg(long, env = "TWOSTEP_SMS_TWILIO_API_BASE", default_value = TWILIO_API_BASE)]
    pub sms_twilio_api_base: String,
    /// Twilio preset: the sending number
    #[arg(long, env = "TWOSTEP_SMS_FROM")]
    pub sms_from: Option<String>,

    /// Voice provider, as for SMS [default: twilio when --voice-twilio-account-sid is set, generic when --voice-url is]
    #[arg(long, env = "TWOSTEP_VOICE_PROVIDER", value_enum, ignore_case = true)]
    pub voice_provider: Option<ProviderKind>,
    /// Generic provider: the URL calls are placed through
    #[arg(long, env = "TWOSTEP_VOICE_URL")]
    pub voice_url: Option<String>,
    /// Generic provider: the request method
    #[arg(long, env = "TWOSTEP_VOICE_METHOD", value_enum, ignore_case = true, default_value_t = HttpMethod::Post)]
    pub voice_method: HttpMethod,
    /// Generic provider: one header, "Name: value"
    #[arg(long, env = "TWOSTEP_VOICE_AUTH_HEADER", hide_env_values = true)]
    pub voice_auth_header: Option<Secret>,
    /// Generic provider: request body with {to} and {message} [default: by format]
    #[arg(long, env = "TWOSTEP_VOICE_BODY_TEMPLATE")]
    pub voice_body_template: Option<String>,
    /// Generic provider: the request body's format
    #[arg(long, env = "TWOSTEP_VOICE_BODY_FORMAT", value_enum, ignore_case = true, default_value_t = BodyFormatArg::Json)]
    pub voice_body_format: BodyFormatArg,
    /// Twilio preset: account SID
    #[arg(long, env = "TWOSTEP_VOICE_TWILIO_ACCOUNT_SID")]
    pub voice_twilio_account_sid: Option<String>,
    /// Twilio preset: auth token
    #[arg(long, env = "TWOSTEP_VOICE_TWILIO_AUTH_TOKEN", hide_env_values = true)]
    pub voice_twilio_auth_token: Option<Secret>,
    /// Twilio preset: API base URL
    #[arg(long, env = "TWOSTEP_VOICE_TWILIO_API_BASE", default_value = TWILIO_API_BASE)]
    pub voice_twilio_api_base: String,
    /// Twilio preset: the calling number
    #[arg(long, env = "TWOSTEP_VOICE_FROM")]
    pub voice_from: Option<String>,
    /// Seconds an HTTP provider or the SMTP server may take, 1 to 60
    #[arg(long, env = "TWOSTEP_PROVIDER_TIMEOUT_S", default_value_t = 10, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub provider_timeout_s: u64,

    /// SMS text; {code}, {minutes}, {app} are filled in
    #[arg(long, env = "TWOSTEP_SMS_TEMPLATE", default_value_t = Settings::default().templates.sms)]
    pub sms_template: String,
    /// Text spoken on a voice call; {code} is read digit by digit
    #[arg(long, env = "TWOSTEP_VOICE_TEMPLATE", default_value_t = Settings::default().templates.voice)]
    pub voice_template: String,
    /// Subject of the e-mail carrying a code
    #[arg(long, env = "TWOSTEP_EMAIL_CODE_SUBJECT", default_value_t = Settings::default().templates.email_subject)]
    pub email_code_subject: String,
    /// Body of the e-mail carrying a code; {code}, {minutes}, {app} are filled in; a paragraph on what the code is
    /// for follows it
    #[arg(long, env = "TWOSTEP_EMAIL_CODE_TEMPLATE", default_value_t = Settings::default().templates.email_body)]
    pub email_code_template: String,

    /// Codes sent to one phone number or address per hour
    #[arg(long, env = "TWOSTEP_CODES_PER_DESTINATION_PER_HOUR",
          default_value_t = Settings::default().codes_per_destination_per_hour, allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(0..))]
    pub codes_per_destination_per_hour: i64,
    /// Codes sent to one phone number or address per day
    #[arg(long, env = "TWOSTEP_CODES_PER_DESTINATION_PER_DAY",
          default_value_t = Settings::default().codes_per_destination_per_day, allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(0..))]
    pub codes_per_destination_per_day: i64,
    /// Codes sent for one account per hour
    #[arg(long, env = "TWOSTEP_CODES_PER_ACCOUNT_PER_HOUR",
          default_value_t = Settings::default().codes_per_account_per_hour, allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(0..))]
    pub codes_per_account_per_hour: i64,
    /// Codes sent for one account per day
    #[arg(long, env = "TWOSTEP_CODES_PER_ACCOUNT_PER_DAY",
          default_value_t = Settings::default().codes_per_account_per_day, allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(0..))]
    pub codes_per_account_per_day: i64,
    /// Codes sent at the request of one IP per hour
    #[arg(long, env = "TWOSTEP_CODES_SENT_PER_IP_PER_HOUR",
          default_value_t = Settings::default().codes_sent_per_ip_per_hour, allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(0..))]
    pub codes_sent_per_ip_per_hour: i64,
    /// Seconds between asking for a code and asking again
    #[arg(long, env = "TWOSTEP_RESEND_AFTER_S",
          default_value_t = Settings::default().resend_after_s, allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(0..))]
    pub resend_after_s: i64,
    /// Withdrawal hold after the phone number is replaced, in seconds
    #[arg(long, env = "TWOSTEP_HOLD_AFTER_CONTACT_CHANGE_S",
          default_value_t = Settings::default().hold_after_contact_change_s, allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(0..))]
    pub hold_after_contact_change_s: i64,

    /// Delivery attempts per message before it is marked failed
    #[arg(long, env = "TWOSTEP_DELIVERY_MAX_ATTEMPTS",
          default_value_t = Settings::default().outbound.retry.max_attempts, allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(1..))]
    pub delivery_max_attempts: i64,
    /// Seconds to wait after the first failed attempt, doubling after each
    #[arg(long, env = "TWOSTEP_DELIVERY_RETRY_BASE_S",
          default_value_t = Settings::default().outbound.retry.base_delay_s, allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(0..))]
    pub delivery_retry_base_s: i64,
    /// Delivery workers per instance, 1 to 64
    #[arg(long, env = "TWOSTEP_DELIVERY_WORKERS", default_value_t = Settings::default().outbound.workers,
          allow_negative_numbers = true, value_parser = RangedU64ValueParser::<usize>::new().range(1..=64))]
    pub delivery_workers: usize,

    /// PEM file of CAs trusted for outbound TLS (SMTP, SMS, voice) besides the system store and public roots
    #[arg(long, env = "TWOSTEP_OUTBOUND_CA_FILE")]
    pub outbound_ca_file: Option<PathBuf>,
    /// PEM client certificate (leaf first) presented to relays and providers that ask for one
    #[arg(long, env = "TWOSTEP_OUTBOUND_CLIENT_CERT")]
    pub outbound_client_cert: Option<PathBuf>,
    /// PEM private key of the client certificate [default: in the certificate file]
    #[arg(long, env = "TWOSTEP_OUTBOUND_CLIENT_KEY")]
    pub outbound_client_key: Option<PathBuf>,
    /// CA bundle for the SMTP server only, in place of --outbound-ca-file
    #[arg(long, env = "TWOSTEP_SMTP_CA_FILE")]
    pub smtp_ca_file: Option<PathBuf>,
    /// Client certificate for the SMTP server only, in place of --outbound-client-cert
    #[arg(long, env = "TWOSTEP_SMTP_CLIENT_CERT")]
    pub smtp_client_cert: Option<PathBuf>,
    /// PEM private key of --smtp-client-cert [default: in the certificate file]
    #[arg(long, env = "TWOSTEP_SMTP_CLIENT_KEY")]
    pub smtp_client_key: Option<PathBuf>,
    /// CA bundle for the SMS provider only, in place of --outbound-ca-file
    #[arg(long, env = "TWOSTEP_SMS_CA_FILE")]
    pub sms_ca_file: Option<PathBuf>,
    /// Client certificate for the SMS provider only, in place of --outbound-client-cert
    #[arg(long, env = "TWOSTEP_SMS_CLIENT_CERT")]
    pub sms_client_cert: Option<PathBuf>,
    /// PEM private key of --sms-client-cert [default: in the certificate file]
    #[arg(long, env = "TWOSTEP_SMS_CLIENT_KEY")]
    pub sms_client_key: Option<PathBuf>,
    /// CA bundle for the voice provider only, in place of --outbound-ca-file
    #[arg(long, env = "TWOSTEP_VOICE_CA_FILE")]
    pub voice_ca_file: Option<PathBuf>,
    /// Client certificate for the voice provider only, in place of --outbound-client-cert
    #[arg(long, env = "TWOSTEP_VOICE_CLIENT_CERT")]
    pub voice_client_cert: Option<PathBuf>,
    /// PEM private key of --voice-client-cert [default: in the certificate file]
    #[arg(long, env = "TWOSTEP_VOICE_CLIENT_KEY")]
    pub voice_client_key: Option<PathBuf>,
}

/// Fills the messaging part of `settings` and returns the providers.
pub fn resolve(a: &MessagingArgs, settings: &mut Settings) -> Result<Providers> {
    let timeout = Duration::from_secs(a.provider_timeout_s);
    let smtp = match &a.smtp_host {
        None => None,
        Some(host) => Some(SmtpConfig {
            host: host.clone(),
            port: a.smtp_port,
            tls: a.smtp_tls.into(),
            username: a.smtp_user.clone(),
            password: a.smtp_password.clone(),
            from: a
                .smtp_from
                .clone()
                .with_context(|| format!("{} is required with --smtp-host", describe("smtp_from")))?,
            timeout,
        }),
    };
    let sms = http_provider(
        "sms",
        HttpFields {
            provider: a.sms_provider,
            url: &a.sms_url,
            method: a.sms_method,
            auth_header: &a.sms_auth_header,
            body_template: &a.sms_body_template,
            body_format: a.sms_body_format,
            account_sid: &a.sms_twilio_account_sid,
            auth_token: &a.sms_twilio_auth_token,
            api_base: &a.sms_twilio_api_base,
            from: &a.sms_from,
        },
    )?;
    let voice = http_provider(
        "voice",
        HttpFields {
            provider: a.voice_provider,
            url: &a.voice_url,
            method: a.voice_method,
            auth_header: &a.voice_auth_header,
            body_template: &a.voice_body_template,
            body_format: a.voice_body_format,
            account_sid: &a.voice_twilio_account_sid,
            auth_token: &a.voice_twilio_auth_token,
            api_base: &a.voice_twilio_api_base,
            from: &a.voice_from,
        },
    )?;

    let t = &mut settings.templates;
    t.sms = a.sms_template.clone();
    t.voice = a.voice_template.clone();
    t.email_subject = a.email_code_subject.clone();
    t.email_body = a.email_code_template.clone();
    settings.templates.validate().map_err(anyhow::Error::msg)?;
    settings.codes_per_destination_per_hour = a.codes_per_destination_per_hour;
    settings.codes_per_destination_per_day = a.codes_per_destination_per_day;
    settings.codes_per_account_per_hour = a.codes_per_account_per_hour;
    settings.codes_per_account_per_day = a.codes_per_account_per_day;
    settings.codes_sent_per_ip_per_hour = a.codes_sent_per_ip_per_hour;
    settings.resend_after_s = a.resend_after_s;
    settings.hold_after_contact_change_s = a.hold_after_contact_change_s;
    settings.outbound.retry.max_attempts = a.delivery_max_attempts;
    settings.outbound.retry.base_delay_s = a.delivery_retry_base_s;
    settings.outbound.workers = a.delivery_workers;
    // A worker's lease must outlive its slowest send.
    settings.outbound.send_timeout_ms = (timeout.as_millis() as u64) + 5_000;
    settings.outbound.lease_s = settings.outbound.lease_s.max(timeout.as_secs() as i64 * 4);
    let tls = outbound_tls(a);
    Ok(Providers { smtp, sms, voice, http_timeout: timeout, tls })
}

/// Each transport's CA bundle and client certificate: its own if set, else
/// the `outbound_*` ones. A certificate and its key are taken as a pair.
fn outbound_tls(a: &MessagingArgs) -> TransportTls {
    let shared = ClientTls {
        ca_file: a.outbound_ca_file.clone(),
        client_cert: a.outbound_client_cert.clone(),
        client_key: a.outbound_client_key.clone(),
    };
    let own = |ca_file: &Option<PathBuf>, client_cert: &Option<PathBuf>, client_key: &Option<PathBuf>| {
        let (client_cert, client_key) = match client_cert {
            Some(cert) => (Some(cert.clone()), client_key.clone()),
            None => (shared.client_cert.clone(), shared.client_key.clone()),
        };
        ClientTls { ca_file: ca_file.clone().or(shared.ca_file.clone()), client_cert, client_key }
    };
    TransportTls {
        smtp: own(&a.smtp_ca_file, &a.smtp_client_cert, &a.smtp_client_key),
        sms: own(&a.sms_ca_file, &a.sms_client_cert, &a.sms_client_key),
        voice: own(&a.voice_ca_file, &a.voice_client_cert, &a.voice_client_key),
    }
}

/// One channel's provider settings (`sms_*` or `voice_*`).
struct HttpFields<'a> {
    provider: Option<ProviderKind>,
    url: &'a Option<String>,
    method: HttpMethod,
    auth_header: &'a Option<Secret>,
    body_template: &'a Option<String>,
    body_format: BodyFormatArg,
    account_sid: &'a Option<String>,
    auth_token: &'a Option<Secret>,
    api_base: &'a str,
    from: &'a Option<String>,
}

fn http_provider(channel: &str, h: HttpFields) -> Result<Option<HttpProviderConfig>> {
    let kind = match (h.provider, h.account_sid, h.url) {
        (Some(k), _, _) => k,
        (None, Some(_), _) => ProviderKind::Twilio,
        (None, None, Some(_)) => ProviderKind::Generic,
        (None, None, None) => return Ok(None),
    };
    let required = |key: &str, why: &str| format!("{} is required {why}", describe(&format!("{channel}_{key}")));
    match kind {
        ProviderKind::Generic => Ok(Some(HttpProviderConfig::Generic(GenericHttpConfig {
            url: h.url.clone().with_context(|| required("url", &format!("for the generic {channel} provider")))?,
            method: h.method.as_str().into(),
            auth_header: h.auth_header.clone(),
            body_template: h.body_template.clone(),
            format: h.body_format.into(),
        }))),
        ProviderKind::Twilio => Ok(Some(HttpProviderConfig::Twilio(TwilioConfig {
            account_sid: h
                .account_sid
                .clone()
                .with_context(|| required("twilio_account_sid", "for the Twilio preset"))?,
            auth_token: h.auth_token.clone().with_context(|| required("twilio_auth_token", "for the Twilio preset"))?,
            from: h.from.clone().with_context(|| required("from", "for the Twilio preset"))?,
            api_base: h.api_base.to_string(),
        }))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings_tests::serve_args;

    fn resolve_flags(args: &[&str], settings: &mut Settings) -> Result<Providers> {
        resolve(&serve_args(args).messaging, settings)
    }

    #[test]
    fn secrets_never_reach_debug_output() {
        let a = serve_args(&[
            "--smtp-host=smtp.example.com",
            "--smtp-from=no-reply@example.com",
            "--smtp-user=mailer",
            "--smtp-password=smtp-pa55word",
            "--sms-url=https://sms.example.com/send",
            "--sms-auth-header=Authorization: Bearer sms-t0ken",
            "--voice-twilio-account-sid=AC123",
            "--voice-twilio-auth-token=twilio-t0ken",
            "--voice-from=+15005550006",
        ])
        .messaging;
        let mut settings = Settings::default();
        let providers = resolve(&a, &mut settings).unwrap();
        let printed = format!("{a:?} {providers:?} {settings:?}");
        for secret in ["smtp-pa55word", "sms-t0ken", "twilio-t0ken"] {
            assert!(!printed.contains(secret), "{secret} leaked: {printed}");
        }
        assert!(printed.contains("smtp.example.com") && printed.contains("AC123"), "the rest is shown");
        assert!(matches!(providers.sms, Some(HttpProviderConfig::Generic(_))));
        assert!(matches!(providers.voice, Some(HttpProviderConfig::Twilio(_))));
        assert_eq!(providers.smtp.unwrap().tls, SmtpTls::StartTls);
    }

    #[test]
    fn each_transport_takes_its_own_tls_files_or_the_shared_ones() {
        let tls = resolve_flags(
            &[
                "--outbound-ca-file=/etc/twostep/company-ca.pem",
                "--outbound-client-cert=/etc/twostep/client.pem",
                "--voice-client-cert=/etc/twostep/voice.pem",
                "--sms-ca-file=/etc/twostep/sms-ca.pem",
                "--outbound-client-key=/etc/twostep/client.key",
            ],
            &mut Settings::default(),
        )
        .unwrap()
        .tls;
        let path = |p: &str| Some(PathBuf::from(p));
        assert_eq!(tls.smtp.ca_file, path("/etc/twostep/company-ca.pem"));
        assert_eq!(
            tls.sms.ca_file,
            path("/etc/twostep/sms-ca.pem"),
            "the transport's own bundle replaces the shared one"
        );
        assert_eq!(tls.voice.ca_file, path("/etc/twostep/company-ca.pem"));
        assert_eq!(
            (tls.smtp.client_cert, tls.smtp.client_key.clone()),
            (path("/etc/twostep/client.pem"), path("/etc/twostep/client.key"))
        );
        assert_eq!(tls.sms.client_key, tls.smtp.client_key);
        // A transport's own certificate comes with its own key (or the key inside it), never the shared key.
        assert_eq!((tls.voice.client_cert, tls.voice.client_key), (path("/etc/twostep/voice.pem"), None));
    }

    #[test]
    fn incomplete_providers_are_refused() {
        let mut s = Settings::default();
        let err = resolve_flags(&["--smtp-host=h"], &mut s).unwrap_err().to_string();
        assert!(err.contains("smtp_from") && err.contains("--smtp-from") && err.contains("TWOSTEP_SMTP_FROM"), "{err}");
        let err = resolve_flags(&["--sms-provider=twilio"], &mut s).unwrap_err().to_string();
        assert!(err.contains("sms_twilio_account_sid"), "{err}");
        let err = resolve_flags(&["--voice-provider=generic"], &mut s).unwrap_err().to_string();
        assert!(err.contains("voice_url"), "{err}");
        let err = resolve_flags(&["--sms-template=hello"], &mut s).unwrap_err().to_string();
        assert!(err.contains("{code}"), "{err}");
        let none = resolve_flags(&[], &mut Settings::default()).unwrap();
        assert!(!none.any());
    }

    #[test]
    fn closed_sets_take_any_case_and_the_old_alias() {
        let p = resolve_flags(
            &[
                "--smtp-host=h",
                "--smtp-from=f",
                "--smtp-tls=TLS",
                "--sms-url=https://x",
                "--sms-method=put",
                "--sms-body-format=FORM",
            ],
            &mut Settings::default(),
        )
        .unwrap();
        assert_eq!(p.smtp.unwrap().tls, SmtpTls::Implicit);
        let Some(HttpProviderConfig::Generic(g)) = p.sms else { panic!("a generic provider") };
        assert_eq!((g.method.as_str(), g.format), ("PUT", BodyFormat::Form));
    }
}
