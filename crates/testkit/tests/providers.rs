//! Real providers: a real SMTP conversation with the sink in testkit, and a
//! real local HTTP server standing in for the SMS and voice providers. What
//! arrives is asserted (the code, the address, the credentials, the masked
//! forms), as is what a provider outage does: a provider failing twice then
//! recovering delivers exactly once; one that never recovers gets the message
//! marked failed and counted, the server unharmed, the user free to ask again.

mod common;

use std::time::Duration;

use common::{assert_error, ok};
use serde_json::{Value, json};
use twostep_delivery::{
    BodyFormat, GenericHttpConfig, HttpProviderConfig, Providers, Secret, SmtpConfig, SmtpTls, TwilioConfig,
};
use twostep_testkit::provider_stub::{ProviderRequest, ProviderStub};
use twostep_testkit::smtp_sink::SmtpSink;
use twostep_testkit::{Backend, TestServer, db::BOTH, extract_code, oathtool, test_settings};

const PW: &str = "correct horse battery";
const PHONE: &str = "+447911123456";

fn smtp(sink: &SmtpSink) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port: Some(sink.port),
        tls: SmtpTls::None,
        username: Some("mailer".into()),
        password: Some(Secret::new("smtp-secret")),
        from: "twostep <no-reply@twostep.test>".into(),
        timeout: Duration::from_secs(5),
    }
}

fn generic_sms(stub: &ProviderStub) -> HttpProviderConfig {
    HttpProviderConfig::Generic(GenericHttpConfig {
        url: format!("{}/v1/sms", stub.url),
        method: "POST".into(),
        auth_header: Some(Secret::new("Authorization: Bearer sms-token")),
        body_template: Some(r#"{"recipient": "{to}", "text": "{message}", "sender": "twostep"}"#.into()),
        format: BodyFormat::Json,
    })
}

fn twilio(stub: &ProviderStub) -> HttpProviderConfig {
    HttpProviderConfig::Twilio(TwilioConfig {
        account_sid: "AC0123".into(),
        auth_token: Secret::new("twilio-token"),
        from: "+15005550006".into(),
        api_base: stub.url.clone(),
    })
}

fn sms_code(r: &ProviderRequest) -> String {
    let body: Value = serde_json::from_str(&r.body).unwrap_or_else(|_| panic!("JSON body: {}", r.body));
    extract_code(body["text"].as_str().unwrap()).unwrap()
}

/// The digits a TwiML script says, each in its own <Say>.
fn spoken_digits(twiml: &str) -> String {
    twiml
        .split("<Say>")
        .filter_map(|p| p.split("</Say>").next())
        .filter(|w| w.len() == 1 && w.chars().all(|c| c.is_ascii_digit()))
        .collect()
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", data_encoding::BASE64.encode(format!("{user}:{password}").as_bytes()))
}

async fn metric(s: &TestServer, name: &str) -> u64 {
    let text = s.client().get(format!("{}/metrics", s.url)).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} in {text}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_arrive_by_smtp_sms_and_voice_and_a_login_switches_to_them() {
    for backend in BOTH {
        let sink = SmtpSink::start().await;
        let sms = ProviderStub::start().await;
        let voice = ProviderStub::start().await;
        let providers = Providers {
            smtp: Some(smtp(&sink)),
            sms: Some(generic_sms(&sms)),
            voice: Some(twilio(&voice)),
            http_timeout: Duration::from_secs(5),
            ..Providers::default()
        };
        let s = TestServer::start_with_providers(backend, test_settings(), providers).await;
        // With a provider configured the development outbox does not exist.
        assert_error(&s.get("/api/v1/dev/outbox", None).await, 404, "not_found");

        // Sign-up: the code arrives over SMTP, with the credentials.
        let email = "carol@example.com";
        ok(&s.post("/api/v1/accounts", json!({"email": email, "password": PW}), None).await, 202);
        let mail = sink.wait_for(1).await.remove(0);
        assert_eq!(mail.to, [email]);
        assert_eq!(mail.from, "no-reply@twostep.test");
        assert_eq!(mail.auth, Some(("mailer".into(), "smtp-secret".into())));
        assert!(mail.data.contains("Subject: Your twostep code"), "{}", mail.data);
        assert!(mail.data.contains(&format!("To: {email}")), "{}", mail.data);
        let code = extract_code(mail.data.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        ok(&s.post("/api/v1/accounts/verify-email", json!({"email": email, "code": code}), None).await, 200);
        let token = s.session(email, PW).await;
        s.sudo_password(&token).await;

        // Binding the phone: the SMS goes to the generic provider.
        let sent = ok(&s.post("/api/v1/me/phone", json!({"phone": "+44 7911 123456"}), Some(&token)).await, 202);
        assert_eq!(sent["sent_to"], "+44••••••456");
        let r = sms.wait_for(1).await.remove(0);
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/v1/sms"));
        assert_eq!(r.header("authorization"), Some("Bearer sms-token"));
        assert_eq!(r.header("content-type"), Some("application/json"));
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["recipient"], PHONE);
        assert_eq!(body["sender"], "twostep");
        let code = sms_code(&r);
        assert_eq!(body["text"], format!("Your twostep code is {code}. It expires in 5 minutes. Never share it."));
        ok(&s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await, 200);
        // The notice of the new phone goes by e-mail, masked.
        let notice = sink.wait_for(2).await.remove(1);
        assert!(notice.data.contains("+44=E2=80=A2") || notice.data.contains("+44••••••456"), "{}", notice.data);
        assert!(!notice.data.contains(PHONE), "{}", notice.data);
        // An authenticator beside the phone is confirmed with a texted code,
        // and the phone is told of it.
        ok(&s.post("/api/v1/me/code", json!({"channel": "sms"}), Some(&token)).await, 202);
        let step_up = sms_code(&sms.wait_for(2).await[1]);
        ok(&s.post("/api/v1/me/sudo", json!({"method": "sms", "code": step_up}), Some(&token)).await, 200);
        let key = s.enrol_totp_in_sudo(&token).await;
        let told = sms.wait_for(3).await.remove(2);
        assert!(told.body.contains("authenticator was added"), "{}", told.body);

        // Authenticator lost: the login switches to SMS.
        s.clock.advance(61);
        let login = ok(&s.login(email, PW).await, 200);
        assert_eq!(login["methods"], json!(["totp", "sms", "voice"]));
        let id = login["login_id"].as_str().unwrap();
        let sent = ok(&s.post(&format!("/api/v1/login/{id}/code"), json!({"channel": "sms"}), None).await, 202);
        assert_eq!((sent["channel"].as_str(), sent["sent_to"].as_str()), (Some("sms"), Some("+44••••••456")));
        let code = sms_code(&sms.wait_for(4).await[3]);
        let auth = ok(
            &s.post(&format!("/api/v1/login/{id}/code/verify"), json!({"channel": "sms", "code": code}), None).await,
            200,
        );
        assert_eq!(auth["status"], "authenticated");
        ok(&s.get("/api/v1/me", Some(auth["session_token"].as_str().unwrap())).await, 200);

        // And to a voice call, through the Twilio preset.
        s.clock.advance(61);
        let id = ok(&s.login(email, PW).await, 200)["login_id"].as_str().unwrap().to_owned();
        let sent = ok(&s.post(&format!("/api/v1/login/{id}/code"), json!({"channel": "voice"}), None).await, 202);
        assert_eq!(sent["sent_to"], "+44••••••456");
        let call = voice.wait_for(1).await.remove(0);
        assert_eq!(call.path, "/2010-04-01/Accounts/AC0123/Calls.json");
        assert_eq!(call.header("authorization"), Some(basic("AC0123", "twilio-token").as_str()));
        assert_eq!(call.header("content-type"), Some("application/x-www-form-urlencoded"));
        assert_eq!((call.form("To").as_deref(), call.form("From").as_deref()), (Some(PHONE), Some("+15005550006")));
        let script = call.form("Twiml").unwrap();
        let digits = spoken_digits(&script);
        assert_eq!(digits.len(), 12, "each digit alone, twice: {script}");
        assert_eq!(digits[..6], digits[6..]);
        assert!(script.contains(r#"<Pause length="1"/>"#), "{script}");
        let code = &digits[..6];
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let verify = format!("/api/v1/login/{id}/code/verify");
        assert_error(&s.post(&verify, json!({"channel": "voice", "code": wrong}), None).await, 401, "invalid_code");
        ok(&s.post(&verify, json!({"channel": "voice", "code": code}), None).await, 200);
        // The authenticator still works as before.
        s.clock.advance(30);
        let id = ok(&s.login(email, PW).await, 200)["login_id"].as_str().unwrap().to_owned();
        ok(&s.post(&format!("/api/v1/login/{id}/totp"), json!({"code": oathtool(&key, s.now())}), None).await, 200);
        // Codes never travelled anywhere else.
        assert_eq!(sms.requests().len(), 4);
        assert_eq!(voice.requests().len(), 1);
        assert_eq!(metric(&s, "twostep_messages_failed_total").await, 0);
        s.stop().await;
    }
}

#[tokio::test]
async fn twilio_sms_and_a_form_encoded_voice_provider() {
    let sms = ProviderStub::start().await;
    let voice = ProviderStub::start().await;
    let providers = Providers {
        sms: Some(twilio(&sms)),
        voice: Some(HttpProviderConfig::Generic(GenericHttpConfig {
            url: format!("{}/call", voice.url),
            method: "PUT".into(),
            auth_header: Some(Secret::new("X-Api-Key: voice-key")),
            body_template: None,
            format: BodyFormat::Form,
        })),
        ..Providers::default()
    };
    let s = TestServer::start_with_providers(Backend::Sqlite, test_settings(), providers).await;
    // E-mail has no provider here, so it still lands in the (unlisted) outbox table.
    let token = s.sudo_session_via_outbox_table("dan@example.com", PW).await;
    ok(&s.post("/api/v1/me/phone", json!({"phone": PHONE}), Some(&token)).await, 202);
    let r = sms.wait_for(1).await.remove(0);
    assert_eq!(r.path, "/2010-04-01/Accounts/AC0123/Messages.json");
    assert_eq!(r.header("authorization"), Some(basic("AC0123", "twilio-token").as_str()));
    assert_eq!(r.form("To").as_deref(), Some(PHONE));
    let code = extract_code(&r.form("Body").unwrap()).unwrap();
    ok(&s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await, 200);
    s.clock.advance(61);
    ok(&s.post("/api/v1/me/code", json!({"channel": "voice"}), Some(&token)).await, 202);
    let call = voice.wait_for(1).await.remove(0);
    assert_eq!((call.method.as_str(), call.header("x-api-key")), ("PUT", Some("voice-key")));
    assert_eq!(call.form("to").as_deref(), Some(PHONE));
    let spoken = call.form("message").unwrap();
    let digits: String = spoken.chars().filter(char::is_ascii_digit).collect();
    assert_eq!(digits.len(), 12, "{spoken}");
    let w = json!({"asset": "BTC", "amount": "1", "address": "bc1qexample", "code": &digits[..6]});
    ok(&s.post("/api/v1/withdrawals", w, Some(&token)).await, 201);
    s.stop().await;
}

/// Waits until no message is being sent or due now (a failed attempt has
/// been rescheduled), then moves the clock by `delay_s`.
async fn after_attempt_advance(s: &TestServer, delay_s: i64) {
    s.settle().await;
    s.clock.advance(delay_s);
}

/// Lets attempts happen exactly as the default backoff allows (2, 4, 8, 16 s
/// after each failure) until the provider saw `n` requests.
async fn drive_retries(s: &TestServer, stub: &ProviderStub, n: usize) {
    // The first attempt needs no time to pass; count delays from it.
    stub.wait_for(1).await;
    let mut delay = 2;
    while stub.requests().len() < n {
        let seen = stub.requests().len();
        after_attempt_advance(s, delay).await;
        stub.wait_for(seen + 1).await;
        delay *= 2;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_fails_twice_then_recovers_delivers_exactly_once() {
    for backend in BOTH {
        let sink = SmtpSink::start().await;
        let sms = ProviderStub::start().await;
        let providers = Providers { smtp: Some(smtp(&sink)), sms: Some(generic_sms(&sms)), ..Providers::default() };
        let s = TestServer::start_with_providers(backend, test_settings(), providers).await;

        // The SMTP server refuses twice: the sign-up still answers at once.
        sink.refuse_next(2);
        ok(&s.post("/api/v1/accounts", json!({"email": "eve@example.com", "password": PW}), None).await, 202);
        for delay in [2, 4] {
            after_attempt_advance(&s, delay).await;
        }
        sink.wait_for(1).await;
        s.settle().await;
        assert_eq!(sink.refused(), 2);
        let mails = sink.mails();
        assert_eq!(mails.len(), 1, "delivered once");
        let code = extract_code(mails[0].data.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        ok(
            &s.post("/api/v1/accounts/verify-email", json!({"email": "eve@example.com", "code": code}), None).await,
            200,
        );
        let token = s.session("eve@example.com", PW).await;
        s.sudo_password(&token).await;

        // The SMS provider answers 503 twice, then takes the message.
        sms.fail_next(2);
        let started = std::time::Instant::now();
        ok(&s.post("/api/v1/me/phone", json!({"phone": PHONE}), Some(&token)).await, 202);
        assert!(started.elapsed() < Duration::from_secs(2), "the request does not wait for the provider");
        sms.wait_for(1).await;
        // Backoff: without time passing there is no second attempt.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(sms.requests().len(), 1, "{backend:?}");
        drive_retries(&s, &sms, 3).await;
        s.settle().await;
        s.clock.advance(600);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let requests = sms.requests();
        assert_eq!((requests.len(), sms.failed()), (3, 2), "{backend:?}: exactly one delivery");
        let codes: Vec<String> = requests.iter().map(sms_code).collect();
        assert!(codes.iter().all(|c| c == &codes[0]), "the same message each time");
        s.clock.set(s.now() - 600 - 60); // back inside the code's life
        s.sudo_password(&token).await;
        ok(&s.post("/api/v1/me/phone/confirm", json!({"code": codes[0]}), Some(&token)).await, 200);
        assert_eq!(metric(&s, "twostep_message_send_errors_total").await, 4);
        assert_eq!(metric(&s, "twostep_messages_failed_total").await, 0);
        assert!(metric(&s, "twostep_messages_sent_total").await >= 2);
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_never_recovers_fails_the_message_without_harming_the_server() {
    let sms = ProviderStub::start().await;
    let providers = Providers { sms: Some(generic_sms(&sms)), ..Providers::default() };
    let s = TestServer::start_with_providers(Backend::Sqlite, test_settings(), providers).await;
    let token = s.sudo_session_via_outbox_table("frank@example.com", PW).await;
    let asked_at = s.now();
    sms.fail_always(true);
    ok(&s.post("/api/v1/me/phone", json!({"phone": PHONE}), Some(&token)).await, 202);
    drive_retries(&s, &sms, 5).await;
    // Five attempts (the default), then the message is given up on.
    for _ in 0..500 {
        if metric(&s, "twostep_messages_failed_total").await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(metric(&s, "twostep_messages_failed_total").await, 1);
    assert_eq!(metric(&s, "twostep_message_send_errors_total").await, 5);
    s.clock.advance(600);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sms.requests().len(), 5, "no attempt after the last");
    let counts = twostep_app::ports::MessageQueueStore::queue_counts(&s.store).await.unwrap();
    assert_eq!((counts.queued, counts.failed), (0, 1));
    // The server is unharmed.
    assert_eq!(s.get("/healthz", None).await.0, 200);
    assert_eq!(s.get("/readyz", None).await.0, 200);
    ok(&s.get("/api/v1/me", Some(&token)).await, 200);
    // The undelivered code was retired: asking again is not held by the
    // 60 s cool-down, and once the provider is back the new code arrives.
    s.clock.set(s.now() - 600);
    assert!(s.now() - asked_at < 60, "still inside the cool-down: {}", s.now() - asked_at);
    sms.fail_always(false);
    ok(&s.post("/api/v1/me/phone", json!({"phone": PHONE}), Some(&token)).await, 202);
    let code = sms_code(&sms.wait_for(6).await[5]);
    ok(&s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await, 200);
    s.stop().await;
}
