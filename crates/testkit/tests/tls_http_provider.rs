//! SMS over HTTPS to a provider whose certificate comes from a private CA (a
//! real rustls server on loopback, the CA made with `openssl`). With the CA
//! given, the code arrives and binds the phone; without it every attempt is
//! refused with the certificate problem named, retried, and the message
//! marked failed. A provider that demands a client certificate gets one.

mod common;

use std::time::Duration;

use common::{ok, queued_to, until_queue_done};
use serde_json::{Value, json};
use twostep_delivery::{BodyFormat, ClientTls, GenericHttpConfig, HttpProviderConfig, Providers, TransportTls};
use twostep_testkit::provider_stub::ProviderStub;
use twostep_testkit::test_ca::TestCa;
use twostep_testkit::{Backend, TestServer, db::BOTH, extract_code, settings_with_three_attempts, test_settings};

const PW: &str = "correct horse battery";
const PHONE: &str = "+447911123456";

fn sms_to(stub: &ProviderStub, trust: ClientTls) -> Providers {
    Providers {
        sms: Some(HttpProviderConfig::Generic(GenericHttpConfig {
            url: format!("{}/v1/sms", stub.url),
            method: "POST".into(),
            auth_header: None,
            body_template: None,
            format: BodyFormat::Json,
        })),
        http_timeout: Duration::from_secs(5),
        tls: TransportTls { sms: trust, ..Default::default() },
        ..Providers::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sms_code_arrives_over_https_from_a_private_ca() {
    let ca = TestCa::create("twostep test CA");
    let stub = ProviderStub::start_tls(&ca.server_cert("sms", &["localhost"]), None).await;
    for backend in BOTH {
        let s = TestServer::start_with_providers(backend, test_settings(), sms_to(&stub, ca.trusted())).await;
        let token = s.sudo_session_via_outbox_table("grace@example.com", PW).await;
        let seen = stub.requests().len();
        ok(&s.post("/api/v1/me/phone", json!({"phone": PHONE}), Some(&token)).await, 202);
        let request = stub.wait_for(seen + 1).await.remove(seen);
        let body: Value = serde_json::from_str(&request.body).unwrap();
        assert_eq!(body["to"], PHONE);
        let code = extract_code(body["message"].as_str().unwrap()).unwrap();
        ok(&s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await, 200);
        s.stop().await;
    }
    assert!(stub.failed_handshakes().is_empty(), "{:?}", stub.failed_handshakes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_ca_the_provider_is_refused_by_name_retried_then_the_message_failed() {
    let ca = TestCa::create("twostep test CA");
    let stub = ProviderStub::start_tls(&ca.server_cert("sms", &["localhost"]), None).await;
    for backend in BOTH {
        let s = TestServer::start_with_providers(
            backend,
            settings_with_three_attempts(),
            sms_to(&stub, ClientTls::default()),
        )
        .await;
        let token = s.sudo_session_via_outbox_table("heidi@example.com", PW).await;
        let refused = stub.failed_handshakes().len();
        ok(&s.post("/api/v1/me/phone", json!({"phone": PHONE}), Some(&token)).await, 202);
        until_queue_done(&s).await;
        let (status, attempts, error) = queued_to(&s, PHONE).await.remove(0);
        assert_eq!((status.as_str(), attempts), ("failed", 3), "{backend:?}: retried, then failed: {error}");
        assert!(error.contains("invalid peer certificate: UnknownIssuer"), "{error}");
        assert!(error.contains("--sms-ca-file"), "the error says what to do: {error}");
        // Three real attempts reached the provider and stopped at the handshake.
        assert_eq!(stub.failed_handshakes().len() - refused, 3, "{:?}", stub.failed_handshakes());
        s.stop().await;
    }
    assert!(stub.requests().is_empty(), "nothing got through: {:?}", stub.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_demands_a_client_certificate_gets_one() {
    let ca = TestCa::create("twostep test CA");
    let client = ca.client_cert("sms-client", "twostep-sms");
    let stub = ProviderStub::start_tls(&ca.server_cert("sms", &["localhost"]), Some(&ca.cert)).await;
    let with_cert =
        ClientTls { client_cert: Some(client.cert.clone()), client_key: Some(client.key.clone()), ..ca.trusted() };
    let s = TestServer::start_with_providers(Backend::Sqlite, test_settings(), sms_to(&stub, with_cert)).await;
    let token = s.sudo_session_via_outbox_table("ivan@example.com", PW).await;
    ok(&s.post("/api/v1/me/phone", json!({"phone": PHONE}), Some(&token)).await, 202);
    let request = stub.wait_for(1).await.remove(0);
    let body: Value = serde_json::from_str(&request.body).unwrap();
    let code = extract_code(body["message"].as_str().unwrap()).unwrap();
    ok(&s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await, 200);
    s.stop().await;

    let s =
        TestServer::start_with_providers(Backend::Sqlite, settings_with_three_attempts(), sms_to(&stub, ca.trusted()))
            .await;
    let token = s.sudo_session_via_outbox_table("judy@example.com", PW).await;
    ok(&s.post("/api/v1/me/phone", json!({"phone": PHONE}), Some(&token)).await, 202);
    until_queue_done(&s).await;
    let (status, _, error) = queued_to(&s, PHONE).await.remove(0);
    assert_eq!(status, "failed", "{error}");
    assert!(error.contains("client certificate"), "{error}");
    assert!(stub.failed_handshakes().iter().any(|e| e.contains("certificate")), "{:?}", stub.failed_handshakes());
    assert_eq!(stub.requests().len(), 1, "only the request with the certificate arrived");
    s.stop().await;
}
