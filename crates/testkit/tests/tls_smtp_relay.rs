//! E-mail over TLS to a real MTA: an instance of Debian's Postfix on
//! loopback whose certificate comes from a private CA made with `openssl`,
//! as most internal relays are set up. With the CA given, a sign-up code is
//! delivered over STARTTLS and over implicit TLS and Postfix's `Received`
//! header records the TLS session; with a client certificate, a relay that
//! demands one verifies it. Without the CA, or when the relay is reached by
//! a name its certificate does not carry, every attempt is refused with the
//! certificate problem named, retried, and the message marked failed.

mod common;

use std::time::Duration;

use common::{metric, ok, queued_to, until_queue_done};
use serde_json::json;
use twostep_delivery::{ClientTls, Providers, SmtpConfig, SmtpTls, TransportTls};
use twostep_testkit::postfix::{DeliveredMail, Postfix};
use twostep_testkit::test_ca::{CertPair, TestCa};
use twostep_testkit::{Backend, TestServer, db::BOTH, extract_code, settings_with_three_attempts, test_settings};

const PW: &str = "correct horse battery";

/// A Postfix instance with a certificate for `localhost` from a private CA.
/// (Postfix first: it stops before the CA's files go.)
struct Relay {
    postfix: Postfix,
    client: CertPair,
    ca: TestCa,
}

fn relay() -> Relay {
    let ca = TestCa::create("twostep test CA");
    let server = ca.server_cert("relay", &["localhost"]);
    let client = ca.client_cert("mailer", "twostep-mailer");
    Relay { postfix: Postfix::start(&server, &ca.cert), client, ca }
}

fn smtp(host: &str, port: u16, tls: SmtpTls) -> SmtpConfig {
    SmtpConfig {
        host: host.into(),
        port: Some(port),
        tls,
        username: None,
        password: None,
        from: "twostep <no-reply@twostep.test>".into(),
        timeout: Duration::from_secs(10),
    }
}

fn through(smtp: SmtpConfig, trust: ClientTls) -> Providers {
    Providers { smtp: Some(smtp), tls: TransportTls { smtp: trust, ..Default::default() }, ..Providers::default() }
}

async fn delivered_to(postfix: &Postfix, to: &str) -> DeliveredMail {
    for _ in 0..200 {
        if let Some(m) = postfix.mails().into_iter().find(|m| m.header("Delivered-To").as_deref() == Some(to)) {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("nothing delivered to {to}; Postfix's log:\n{}", postfix.log());
}

async fn sign_up(s: &TestServer, email: &str) {
    ok(&s.post("/api/v1/accounts", json!({"email": email, "password": PW}), None).await, 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_up_code_arrives_through_postfix_over_starttls_and_implicit_tls() {
    let relay = relay();
    for backend in BOTH {
        for (tls, port, listener) in [
            (SmtpTls::StartTls, relay.postfix.starttls_port, "starttls.mx.test"),
            (SmtpTls::Implicit, relay.postfix.implicit_port, "implicit.mx.test"),
        ] {
            let s = TestServer::start_with_providers(
                backend,
                test_settings(),
                through(smtp("localhost", port, tls), relay.ca.trusted()),
            )
            .await;
            let email = format!(
                "{}-{}@example.com",
                format!("{backend:?}").to_lowercase(),
                listener.split('.').next().unwrap()
            );
            sign_up(&s, &email).await;
            let mail = delivered_to(&relay.postfix, &email).await;
            let received = mail.header("Received").unwrap();
            assert!(received.contains(&format!("by {listener} (Postfix) with ESMTPS")), "{received}");
            assert!(received.contains("(using TLSv1.3 with cipher"), "{received}");
            assert_eq!(mail.header("Subject").as_deref(), Some("Your twostep code"));
            let code = extract_code(mail.body()).unwrap_or_else(|| panic!("no code in {}", mail.raw));
            ok(&s.post("/api/v1/accounts/verify-email", json!({"email": email, "code": code}), None).await, 200);
            assert_eq!(queued_to(&s, &email).await, [("sent".to_owned(), 1, String::new())], "{backend:?} {listener}");
            s.session(&email, PW).await;
            s.stop().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_ca_the_certificate_is_refused_by_name_retried_then_the_message_failed() {
    let relay = relay();
    for backend in BOTH {
        for (tls, port) in
            [(SmtpTls::StartTls, relay.postfix.starttls_port), (SmtpTls::Implicit, relay.postfix.implicit_port)]
        {
            let providers = through(smtp("localhost", port, tls), ClientTls::default());
            let s = TestServer::start_with_providers(backend, settings_with_three_attempts(), providers).await;
            let email = format!("untrusted-{}-{port}@example.com", format!("{backend:?}").to_lowercase());
            sign_up(&s, &email).await;
            until_queue_done(&s).await;
            let rows = queued_to(&s, &email).await;
            assert_eq!(rows.len(), 1, "{rows:?}");
            let (status, attempts, error) = &rows[0];
            assert_eq!((status.as_str(), *attempts), ("failed", 3), "{backend:?} {tls:?}: retried, then failed");
            assert!(error.contains("invalid peer certificate: UnknownIssuer"), "{error}");
            assert!(error.contains("--outbound-ca-file"), "the error says what to do: {error}");
            assert_eq!(metric(&s, "twostep_message_send_errors_total").await, 3);
            assert_eq!(metric(&s, "twostep_messages_failed_total").await, 1);
            s.stop().await;
        }
    }
    // Postfix never got a message: the client stopped at the certificate.
    assert!(relay.postfix.mails().is_empty(), "{:?}", relay.postfix.mails());
    assert!(relay.postfix.log().contains("SSL_accept error from localhost"), "{}", relay.postfix.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_name_is_checked_even_with_the_ca_given() {
    let relay = relay();
    // The certificate names `localhost`; the relay is configured by address.
    let providers = through(smtp("127.0.0.1", relay.postfix.starttls_port, SmtpTls::StartTls), relay.ca.trusted());
    let s = TestServer::start_with_providers(Backend::Sqlite, settings_with_three_attempts(), providers).await;
    sign_up(&s, "by-address@example.com").await;
    until_queue_done(&s).await;
    let (status, attempts, error) = queued_to(&s, "by-address@example.com").await.remove(0);
    assert_eq!((status.as_str(), attempts), ("failed", 3));
    assert!(error.contains("certificate not valid for name \"127.0.0.1\""), "{error}");
    assert!(error.contains("the host name the certificate names"), "{error}");
    assert!(relay.postfix.mails().is_empty());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_demands_a_client_certificate_verifies_twostep_s() {
    let relay = relay();
    let port = relay.postfix.mutual_port;
    let with_cert = ClientTls {
        client_cert: Some(relay.client.cert.clone()),
        client_key: Some(relay.client.key.clone()),
        ..relay.ca.trusted()
    };
    let s = TestServer::start_with_providers(
        Backend::Sqlite,
        test_settings(),
        through(smtp("localhost", port, SmtpTls::StartTls), with_cert),
    )
    .await;
    sign_up(&s, "mutual@example.com").await;
    let received = delivered_to(&relay.postfix, "mutual@example.com").await.header("Received").unwrap();
    assert!(received.contains("by mutual.mx.test (Postfix) with ESMTPS"), "{received}");
    assert!(received.contains("Client CN \"twostep-mailer\", Issuer \"twostep test CA\" (verified OK)"), "{received}");
    s.stop().await;

    // Without the certificate the relay ends the handshake, and the error says so.
    let s = TestServer::start_with_providers(
        Backend::Sqlite,
        settings_with_three_attempts(),
        through(smtp("localhost", port, SmtpTls::StartTls), relay.ca.trusted()),
    )
    .await;
    sign_up(&s, "no-cert@example.com").await;
    until_queue_done(&s).await;
    let (status, attempts, error) = queued_to(&s, "no-cert@example.com").await.remove(0);
    assert_eq!((status.as_str(), attempts), ("failed", 3), "{error}");
    assert!(error.contains("client certificate"), "{error}");
    assert_eq!(relay.postfix.mails().len(), 1);
    s.stop().await;
}
