//! Each kind of code lives as long as its own setting says, and every
//! message and page that carries or asks for it states that lifetime: the
//! sign-up code (`signup_code_ttl_s`) and the codes sent to sign in, to
//! confirm it's you or to bind a phone (`code_ttl_s`).

mod common;

use common::{assert_error, ok};
use serde_json::json;
use twostep_app::Settings;
use twostep_testkit::{Backend, TestServer, extract_code, test_settings};

const PW: &str = "correct horse battery";

fn settings() -> Settings {
    Settings { signup_code_ttl_s: 600, code_ttl_s: 120, ..test_settings() }
}

/// The newest message to `to` in the development outbox.
async fn newest_body(s: &TestServer, to: &str) -> String {
    s.settle().await;
    let body = ok(&s.get(&format!("/api/v1/dev/outbox?to={to}"), None).await, 200);
    body["messages"][0]["body"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_sign_up_code_states_and_keeps_its_own_lifetime() {
    let s = TestServer::start_with(Backend::Sqlite, settings()).await;
    let email = "life@example.com";
    ok(&s.post("/api/v1/accounts", json!({"email": email, "password": PW}), None).await, 202);
    let text = newest_body(&s, email).await;
    assert!(text.contains("expires in 10 minutes"), "{text}");
    let page = s.client().get(format!("{}/confirm?email={email}", s.url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("valid for 10 minutes"), "the confirmation page states the configured lifetime");

    // Past its lifetime the code is refused; a new sign-up's code works.
    let stale = extract_code(&text).unwrap();
    s.clock.advance(601);
    let r = s.post("/api/v1/accounts/verify-email", json!({"email": email, "code": stale}), None).await;
    assert_error(&r, 401, "invalid_code");
    ok(&s.post("/api/v1/accounts", json!({"email": email, "password": PW}), None).await, 202);
    let fresh = extract_code(&newest_body(&s, email).await).unwrap();
    s.clock.advance(590);
    ok(&s.post("/api/v1/accounts/verify-email", json!({"email": email, "code": fresh}), None).await, 200);
    s.stop().await;
}

#[tokio::test]
async fn a_sent_code_states_and_keeps_the_code_lifetime() {
    let s = TestServer::start_with(Backend::Sqlite, settings()).await;
    let email = "stepup@example.com";
    s.verified_account(email, PW).await;
    let token = s.session(email, PW).await;

    // A step-up code by e-mail (the account has no stronger factor).
    let sent = ok(&s.post("/api/v1/me/code", json!({"channel": "email"}), Some(&token)).await, 202);
    let text = newest_body(&s, email).await;
    assert!(text.contains("expires in 2 minutes"), "{text}");
    let expires_at = sent["expires_at"].as_str().unwrap();
    assert_eq!(expires_at, twostep_web::time::rfc3339(s.now() + 120), "{sent}");

    let stale = extract_code(&text).unwrap();
    s.clock.advance(121);
    let r = s.post("/api/v1/me/sudo", json!({"method": "email", "code": stale}), Some(&token)).await;
    assert_error(&r, 401, "invalid_code");

    ok(&s.post("/api/v1/me/code", json!({"channel": "email"}), Some(&token)).await, 202);
    let fresh = extract_code(&newest_body(&s, email).await).unwrap();
    s.clock.advance(110);
    ok(&s.post("/api/v1/me/sudo", json!({"method": "email", "code": fresh}), Some(&token)).await, 200);
    s.stop().await;
}
