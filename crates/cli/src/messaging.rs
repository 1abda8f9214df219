//! Settings of sent codes and their delivery: SMTP for e-mail, HTTP
//! providers for SMS and voice (generic or the Twilio preset), the message
//! templates, the sending caps and the queue's retry policy. Each is a flag,
//! a `TWOSTEP_*` variable and a config-file key (the same keys, listed in
//! `FileConfig`). Passwords, tokens and auth headers are `Secret`s, so they
//! never reach `Debug` output or a log line. Outbound TLS: an extra CA
//! bundle and a client certificate for every transport (`outbound_*`), each
//! replaceable per transport (`smtp_*`, `sms_*`, `voice_*`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use twostep_app::Settings;
use twostep_delivery::{
    BodyFormat, ClientTls, GenericHttpConfig, HttpProviderConfig, Providers, Secret, SmtpConfig, TransportTls,
    TwilioConfig,
};

use crate::config::FileConfig;

#[derive(Args, Debug, Clone, Default)]
pub struct MessagingArgs {
    /// SMTP server for e-mail; without it e-mail goes to the dev outbox
    #[arg(long, env = "TWOSTEP_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP port [default: 25, 587 or 465 by TLS mode]
    #[arg(long, env = "TWOSTEP_SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// none, starttls or implicit [default: starttls]
    #[arg(long, env = "TWOSTEP_SMTP_TLS")]
    pub smtp_tls: Option<String>,
    #[arg(long, env = "TWOSTEP_SMTP_USER")]
    pub smtp_user: Option<String>,
    #[arg(long, env = "TWOSTEP_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<Secret>,
    /// Sender, e.g. "twostep <no-reply@example.com>" (required with --smtp-host)
    #[arg(long, env = "TWOSTEP_SMTP_FROM")]
    pub smtp_from: Option<String>,

    /// generic or twilio [default: twilio when --sms-twilio-account-sid is set, generic when --sms-url is]
    #[arg(long, env = "TWOSTEP_SMS_PROVIDER")]
    pub sms_provider: Option<String>,
    /// Generic provider: the URL messages are sent to
    #[arg(long, env = "TWOSTEP_SMS_URL")]
    pub sms_url: Option<String>,
    /// Generic provider: POST, PUT or PATCH [default: POST]
    #[arg(long, env = "TWOSTEP_SMS_METHOD")]
    pub sms_method: Option<String>,
    /// Generic provider: one header, "Name: value" (e.g. "Authorization: Bearer …")
    #[arg(long, env = "TWOSTEP_SMS_AUTH_HEADER", hide_env_values = true)]
    pub sms_auth_header: Option<Secret>,
    /// Generic provider: request body with {to} and {message} [default: by format]
    #[arg(long, env = "TWOSTEP_SMS_BODY_TEMPLATE")]
    pub sms_body_template: Option<String>,
    /// Generic provider: json or form [default: json]
    #[arg(long, env = "TWOSTEP_SMS_BODY_FORMAT")]
    pub sms_body_format: Option<String>,
    /// Twilio preset: account SID
    #[arg(long, env = "TWOSTEP_SMS_TWILIO_ACCOUNT_SID")]
    pub sms_twilio_account_sid: Option<String>,
    /// Twilio preset: auth token
    #[arg(long, env = "TWOSTEP_SMS_TWILIO_AUTH_TOKEN", hide_env_values = true)]
    pub sms_twilio_auth_token: Option<Secret>,
    /// Twilio preset: API base URL [default: https://api.twilio.com]
    #[arg(long, env = "TWOSTEP_SMS_TWILIO_API_BASE")]
    pub sms_twilio_api_base: Option<String>,
    /// Twilio preset: the sending number
    #[arg(long, env = "TWOSTEP_SMS_FROM")]
    pub sms_from: Option<String>,

    /// generic or twilio, as for SMS
    #[arg(long, env = "TWOSTEP_VOICE_PROVIDER")]
    pub voice_provider: Option<String>,
    #[arg(long, env = "TWOSTEP_VOICE_URL")]
    pub voice_url: Option<String>,
    #[arg(long, env = "TWOSTEP_VOICE_METHOD")]
    pub voice_method: Option<String>,
    #[arg(long, env = "TWOSTEP_VOICE_AUTH_HEADER", hide_env_values = true)]
    pub voice_auth_header: Option<Secret>,
    #[arg(long, env = "TWOSTEP_VOICE_BODY_TEMPLATE")]
    pub voice_body_template: Option<String>,
    #[arg(long, env = "TWOSTEP_VOICE_BODY_FORMAT")]
    pub voice_body_format: Option<String>,
    #[arg(long, env = "TWOSTEP_VOICE_TWILIO_ACCOUNT_SID")]
    pub voice_twilio_account_sid: Option<String>,
    #[arg(long, env = "TWOSTEP_VOICE_TWILIO_AUTH_TOKEN", hide_env_values = true)]
    pub voice_twilio_auth_token: Option<Secret>,
    #[arg(long, env = "TWOSTEP_VOICE_TWILIO_API_BASE")]
    pub voice_twilio_api_base: Option<String>,
    #[arg(long, env = "TWOSTEP_VOICE_FROM")]
    pub voice_from: Option<String>,
    /// Seconds an HTTP provider or the SMTP server may take [default: 10]
    #[arg(long, env = "TWOSTEP_PROVIDER_TIMEOUT_S")]
    pub provider_timeout_s: Option<u64>,

    /// SMS text; {code}, {minutes}, {app} are filled in
    #[arg(long, env = "TWOSTEP_SMS_TEMPLATE")]
    pub sms_template: Option<String>,
    /// Text spoken on a voice call; {code} is read digit by digit
    #[arg(long, env = "TWOSTEP_VOICE_TEMPLATE")]
    pub voice_template: Option<String>,
    #[arg(long, env = "TWOSTEP_EMAIL_CODE_SUBJECT")]
    pub email_code_subject: Option<String>,
    #[arg(long, env = "TWOSTEP_EMAIL_CODE_TEMPLATE")]
    pub email_code_template: Option<String>,

    /// Codes sent to one phone number or address per hour [default: 5]
    #[arg(long, env = "TWOSTEP_CODES_PER_DESTINATION_PER_HOUR")]
    pub codes_per_destination_per_hour: Option<i64>,
    /// ... per day [default: 10]
    #[arg(long, env = "TWOSTEP_CODES_PER_DESTINATION_PER_DAY")]
    pub codes_per_destination_per_day: Option<i64>,
    /// Codes sent for one account per hour [default: 10]
    #[arg(long, env = "TWOSTEP_CODES_PER_ACCOUNT_PER_HOUR")]
    pub codes_per_account_per_hour: Option<i64>,
    /// ... per day [default: 20]
    #[arg(long, env = "TWOSTEP_CODES_PER_ACCOUNT_PER_DAY")]
    pub codes_per_account_per_day: Option<i64>,
    /// Codes sent at the request of one IP per hour [default: 60]
    #[arg(long, env = "TWOSTEP_CODES_SENT_PER_IP_PER_HOUR")]
    pub codes_sent_per_ip_per_hour: Option<i64>,
    /// Seconds between asking for a code and asking again [default: 60]
    #[arg(long, env = "TWOSTEP_RESEND_AFTER_S")]
    pub resend_after_s: Option<i64>,
    /// Withdrawal hold after the phone number is replaced, in seconds [default: 86400]
    #[arg(long, env = "TWOSTEP_HOLD_AFTER_CONTACT_CHANGE_S")]
    pub hold_after_contact_change_s: Option<i64>,

    /// Delivery attempts per message before it is marked failed [default: 5]
    #[arg(long, env = "TWOSTEP_DELIVERY_MAX_ATTEMPTS")]
    pub delivery_max_attempts: Option<i64>,
    /// Wait after the first failed attempt, doubling after each [default: 2]
    #[arg(long, env = "TWOSTEP_DELIVERY_RETRY_BASE_S")]
    pub delivery_retry_base_s: Option<i64>,
    /// Delivery workers per instance [default: 4]
    #[arg(long, env = "TWOSTEP_DELIVERY_WORKERS")]
    pub delivery_workers: Option<usize>,

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
    #[arg(long, env = "TWOSTEP_SMTP_CLIENT_KEY")]
    pub smtp_client_key: Option<PathBuf>,
    /// CA bundle for the SMS provider only, in place of --outbound-ca-file
    #[arg(long, env = "TWOSTEP_SMS_CA_FILE")]
    pub sms_ca_file: Option<PathBuf>,
    /// Client certificate for the SMS provider only, in place of --outbound-client-cert
    #[arg(long, env = "TWOSTEP_SMS_CLIENT_CERT")]
    pub sms_client_cert: Option<PathBuf>,
    #[arg(long, env = "TWOSTEP_SMS_CLIENT_KEY")]
    pub sms_client_key: Option<PathBuf>,
    /// CA bundle for the voice provider only, in place of --outbound-ca-file
    #[arg(long, env = "TWOSTEP_VOICE_CA_FILE")]
    pub voice_ca_file: Option<PathBuf>,
    /// Client certificate for the voice provider only, in place of --outbound-client-cert
    #[arg(long, env = "TWOSTEP_VOICE_CLIENT_CERT")]
    pub voice_client_cert: Option<PathBuf>,
    #[arg(long, env = "TWOSTEP_VOICE_CLIENT_KEY")]
    pub voice_client_key: Option<PathBuf>,
}

macro_rules! pick {
    ($a:expr, $f:expr, $field:ident) => {
        $a.$field.clone().or($f.$field.clone())
    };
}

/// Fills the messaging part of `settings` and returns the providers.
pub fn resolve(a: &MessagingArgs, f: &FileConfig, settings: &mut Settings) -> Result<Providers> {
    let timeout = Duration::from_secs(pick!(a, f, provider_timeout_s).unwrap_or(10).clamp(1, 60));
    let smtp = match pick!(a, f, smtp_host) {
        None => None,
        Some(host) => Some(SmtpConfig {
            host,
            port: pick!(a, f, smtp_port),
            tls: pick!(a, f, smtp_tls).as_deref().unwrap_or("starttls").parse().map_err(anyhow::Error::msg)?,
            username: pick!(a, f, smtp_user),
            password: pick!(a, f, smtp_password),
            from: pick!(a, f, smtp_from).context("smtp_from is required with smtp_host")?,
            timeout,
        }),
    };
    let sms = http_provider(
        "sms",
        HttpFields {
            provider: pick!(a, f, sms_provider),
            url: pick!(a, f, sms_url),
            method: pick!(a, f, sms_method),
            auth_header: pick!(a, f, sms_auth_header),
            body_template: pick!(a, f, sms_body_template),
            body_format: pick!(a, f, sms_body_format),
            account_sid: pick!(a, f, sms_twilio_account_sid),
            auth_token: pick!(a, f, sms_twilio_auth_token),
            api_base: pick!(a, f, sms_twilio_api_base),
            from: pick!(a, f, sms_from),
        },
    )?;
    let voice = http_provider(
        "voice",
        HttpFields {
            provider: pick!(a, f, voice_provider),
            url: pick!(a, f, voice_url),
            method: pick!(a, f, voice_method),
            auth_header: pick!(a, f, voice_auth_header),
            body_template: pick!(a, f, voice_body_template),
            body_format: pick!(a, f, voice_body_format),
            account_sid: pick!(a, f, voice_twilio_account_sid),
            auth_token: pick!(a, f, voice_twilio_auth_token),
            api_base: pick!(a, f, voice_twilio_api_base),
            from: pick!(a, f, voice_from),
        },
    )?;

    let t = &mut settings.templates;
    for (target, value) in [
        (&mut t.sms, pick!(a, f, sms_template)),
        (&mut t.voice, pick!(a, f, voice_template)),
        (&mut t.email_subject, pick!(a, f, email_code_subject)),
        (&mut t.email_body, pick!(a, f, email_code_template)),
    ] {
        if let Some(v) = value {
            *target = v;
        }
    }
    settings.templates.validate().map_err(anyhow::Error::msg)?;
    let caps = [
        (&mut settings.codes_per_destination_per_hour, pick!(a, f, codes_per_destination_per_hour)),
        (&mut settings.codes_per_destination_per_day, pick!(a, f, codes_per_destination_per_day)),
        (&mut settings.codes_per_account_per_hour, pick!(a, f, codes_per_account_per_hour)),
        (&mut settings.codes_per_account_per_day, pick!(a, f, codes_per_account_per_day)),
        (&mut settings.codes_sent_per_ip_per_hour, pick!(a, f, codes_sent_per_ip_per_hour)),
        (&mut settings.resend_after_s, pick!(a, f, resend_after_s)),
        (&mut settings.hold_after_contact_change_s, pick!(a, f, hold_after_contact_change_s)),
        (&mut settings.outbound.retry.max_attempts, pick!(a, f, delivery_max_attempts)),
        (&mut settings.outbound.retry.base_delay_s, pick!(a, f, delivery_retry_base_s)),
    ];
    for (target, value) in caps {
        if let Some(v) = value {
            if v < 0 {
                bail!("code caps, delays and attempts cannot be negative");
            }
            *target = v;
        }
    }
    if settings.outbound.retry.max_attempts < 1 {
        bail!("delivery_max_attempts must be at least 1");
    }
    if let Some(w) = pick!(a, f, delivery_workers) {
        settings.outbound.workers = w.clamp(1, 64);
    }
    // A worker's lease must outlive its slowest send.
    settings.outbound.send_timeout_ms = (timeout.as_millis() as u64) + 5_000;
    settings.outbound.lease_s = settings.outbound.lease_s.max(timeout.as_secs() as i64 * 4);
    let tls = outbound_tls(a, f);
    Ok(Providers { smtp, sms, voice, http_timeout: timeout, tls })
}

/// Each transport's CA bundle and client certificate: its own if set, else
/// the `outbound_*` ones. A certificate and its key are taken as a pair.
fn outbound_tls(a: &MessagingArgs, f: &FileConfig) -> TransportTls {
    let shared = ClientTls {
        ca_file: pick!(a, f, outbound_ca_file),
        client_cert: pick!(a, f, outbound_client_cert),
        client_key: pick!(a, f, outbound_client_key),
    };
    let own = |ca_file: Option<PathBuf>, client_cert: Option<PathBuf>, client_key: Option<PathBuf>| {
        let (client_cert, client_key) = match client_cert {
            Some(cert) => (Some(cert), client_key),
            None => (shared.client_cert.clone(), shared.client_key.clone()),
        };
        ClientTls { ca_file: ca_file.or(shared.ca_file.clone()), client_cert, client_key }
    };
    TransportTls {
        smtp: own(pick!(a, f, smtp_ca_file), pick!(a, f, smtp_client_cert), pick!(a, f, smtp_client_key)),
        sms: own(pick!(a, f, sms_ca_file), pick!(a, f, sms_client_cert), pick!(a, f, sms_client_key)),
        voice: own(pick!(a, f, voice_ca_file), pick!(a, f, voice_client_cert), pick!(a, f, voice_client_key)),
    }
}

struct HttpFields {
    provider: Option<String>,
    url: Option<String>,
    method: Option<String>,
    auth_header: Option<Secret>,
    body_template: Option<String>,
    body_format: Option<String>,
    account_sid: Option<String>,
    auth_token: Option<Secret>,
    api_base: Option<String>,
    from: Option<String>,
}

fn http_provider(channel: &str, h: HttpFields) -> Result<Option<HttpProviderConfig>> {
    let kind = match (h.provider.as_deref(), &h.account_sid, &h.url) {
        (Some(k), _, _) => k.to_ascii_lowercase(),
        (None, Some(_), _) => "twilio".into(),
        (None, None, Some(_)) => "generic".into(),
        (None, None, None) => return Ok(None),
    };
    match kind.as_str() {
        "generic" => Ok(Some(HttpProviderConfig::Generic(GenericHttpConfig {
            url: h.url.with_context(|| format!("{channel}_url is required for the generic {channel} provider"))?,
            method: h.method.unwrap_or_else(|| "POST".into()),
            auth_header: h.auth_header,
            body_template: h.body_template,
            format: h.body_format.as_deref().unwrap_or("json").parse::<BodyFormat>().map_err(anyhow::Error::msg)?,
        }))),
        "twilio" => Ok(Some(HttpProviderConfig::Twilio(TwilioConfig {
            account_sid: h.account_sid.with_context(|| format!("{channel}_twilio_account_sid is required"))?,
            auth_token: h.auth_token.with_context(|| format!("{channel}_twilio_auth_token is required"))?,
            from: h.from.with_context(|| format!("{channel}_from is required for the Twilio preset"))?,
            api_base: h.api_base.unwrap_or_else(|| "https://api.twilio.com".into()),
        }))),
        other => bail!("{channel}_provider must be generic or twilio, not {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use twostep_delivery::SmtpTls;

    #[test]
    fn secrets_never_reach_debug_output() {
        let a = MessagingArgs {
            smtp_host: Some("smtp.example.com".into()),
            smtp_from: Some("no-reply@example.com".into()),
            smtp_user: Some("mailer".into()),
            smtp_password: Some(Secret::new("smtp-pa55word")),
            sms_url: Some("https://sms.example.com/send".into()),
            sms_auth_header: Some(Secret::new("Authorization: Bearer sms-t0ken")),
            voice_twilio_account_sid: Some("AC123".into()),
            voice_twilio_auth_token: Some(Secret::new("twilio-t0ken")),
            voice_from: Some("+15005550006".into()),
            ..Default::default()
        };
        let mut settings = Settings::default();
        let providers = resolve(&a, &FileConfig::default(), &mut settings).unwrap();
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
        let file: FileConfig = toml::from_str(
            "outbound_ca_file = \"/etc/twostep/company-ca.pem\"\n\
             outbound_client_cert = \"/etc/twostep/client.pem\"\n\
             voice_client_cert = \"/etc/twostep/voice.pem\"\n",
        )
        .unwrap();
        let a = MessagingArgs {
            sms_ca_file: Some("/etc/twostep/sms-ca.pem".into()),
            outbound_client_key: Some("/etc/twostep/client.key".into()),
            ..Default::default()
        };
        let tls = resolve(&a, &file, &mut Settings::default()).unwrap().tls;
        let path = |p: &str| Some(PathBuf::from(p));
        assert_eq!(tls.smtp.ca_file, path("/etc/twostep/company-ca.pem"));
        assert_eq!(tls.sms.ca_file, path("/etc/twostep/sms-ca.pem"), "the flag replaces the shared bundle");
        assert_eq!(tls.voice.ca_file, path("/etc/twostep/company-ca.pem"));
        assert_eq!((tls.smtp.client_cert, tls.smtp.client_key.clone()), (path("/etc/twostep/client.pem"), path("/etc/twostep/client.key")));
        assert_eq!(tls.sms.client_key, tls.smtp.client_key);
        // A transport's own certificate comes with its own key (or the key inside it), never the shared key.
        assert_eq!((tls.voice.client_cert, tls.voice.client_key), (path("/etc/twostep/voice.pem"), None));
    }

    #[test]
    fn incomplete_providers_are_refused() {
        let mut s = Settings::default();
        let no_from = MessagingArgs { smtp_host: Some("h".into()), ..Default::default() };
        assert!(resolve(&no_from, &FileConfig::default(), &mut s).unwrap_err().to_string().contains("smtp_from"));
        let twilio = MessagingArgs { sms_provider: Some("twilio".into()), ..Default::default() };
        assert!(resolve(&twilio, &FileConfig::default(), &mut s).is_err());
        let no_code = MessagingArgs { sms_template: Some("hello".into()), ..Default::default() };
        assert!(resolve(&no_code, &FileConfig::default(), &mut s).unwrap_err().to_string().contains("{code}"));
        let none = resolve(&MessagingArgs::default(), &FileConfig::default(), &mut Settings::default()).unwrap();
        assert!(!none.any());
    }
}
