//! Every security hold of the API refuses a withdrawal with 403
//! `security_hold` and its `until`: the authenticator removed, the
//! authenticator replaced, the phone replaced (24 hours each, from the
//! change), and a recovery (48 hours, in the seed story test). A first
//! authenticator or a first phone is not a change and holds nothing.

mod common;

use common::{assert_error, ok};
use serde_json::{json, Value};
use twostep_testkit::{oathtool, Backend, TestServer};
use twostep_web::time::rfc3339;

const PW: &str = "correct horse battery";
const H24: i64 = 24 * 3600;

async fn withdraw(s: &TestServer, token: &str, code: &str) -> (reqwest::StatusCode, Value) {
    let w = json!({"asset": "ETH", "amount": "1", "address": "0xexample", "code": code});
    s.post("/api/v1/withdrawals", w, Some(token)).await
}

fn hold_until(r: &(reqwest::StatusCode, Value)) -> Value {
    assert_error(r, 403, "security_hold");
    r.1["error"]["until"].clone()
}

#[tokio::test]
async fn removing_or_replacing_the_authenticator_and_replacing_the_phone_hold_withdrawals() {
    let s = TestServer::start(Backend::Sqlite).await;
    s.verified_account("hold@example.com", PW).await;
    let token = s.session("hold@example.com", PW).await;
    // A first authenticator and a first phone: no hold.
    let key = s.enrol_totp(&token).await;
    ok(&s.post("/api/v1/me/phone", json!({"phone": "+447911123456"}), Some(&token)).await, 202);
    let code = s.code_to("+447911123456").await;
    ok(&s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await, 200);
    s.clock.advance(30);
    let first = withdraw(&s, &token, &oathtool(&key, s.now())).await;
    assert_eq!(first.0, 201, "{}", first.1);

    // Removed: 24 hours from the removal.
    s.clock.advance(30);
    ok(&s.post("/api/v1/me/totp/disable", json!({"code": oathtool(&key, s.now())}), Some(&token)).await, 200);
    let removed_at = s.now();
    assert_eq!(hold_until(&withdraw(&s, &token, "000000").await), json!(rfc3339(removed_at + H24)));

    // Replaced, once that hold is over: 24 hours from the new one.
    s.clock.advance(H24 + 60);
    let token = s.session_with_code("hold@example.com").await;
    let key = s.enrol_totp(&token).await;
    let replaced_at = s.now();
    s.clock.advance(30);
    assert_eq!(hold_until(&withdraw(&s, &token, &oathtool(&key, s.now())).await), json!(rfc3339(replaced_at + H24)));

    // The phone replaced: 24 hours from the change.
    s.clock.advance(H24 + 60);
    let token = s.session_with_totp("hold@example.com", &key).await;
    ok(&s.post("/api/v1/me/phone", json!({"phone": "+447911123789"}), Some(&token)).await, 202);
    let code = s.code_to("+447911123789").await;
    ok(&s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await, 200);
    let changed_at = s.now();
    s.clock.advance(30);
    assert_eq!(hold_until(&withdraw(&s, &token, &oathtool(&key, s.now())).await), json!(rfc3339(changed_at + H24)));
    s.stop().await;
}

trait SignIn {
    async fn session_with_code(&self, email: &str) -> String;
    async fn session_with_totp(&self, email: &str, key: &str) -> String;
}

impl SignIn for TestServer {
    /// Signs in with an e-mail code (the account has no authenticator, but a phone).
    async fn session_with_code(&self, email: &str) -> String {
        let login = ok(&self.login(email, PW).await, 200);
        let id = login["login_id"].as_str().unwrap();
        ok(&self.post(&format!("/api/v1/login/{id}/code"), json!({"channel": "email"}), None).await, 202);
        let code = self.code_to(email).await;
        let r = ok(&self.post(&format!("/api/v1/login/{id}/code/verify"), json!({"channel": "email", "code": code}), None).await, 200);
        r["session_token"].as_str().unwrap().to_owned()
    }

    async fn session_with_totp(&self, email: &str, key: &str) -> String {
        let login = ok(&self.login(email, PW).await, 200);
        let id = login["login_id"].as_str().unwrap();
        let r = ok(&self.post(&format!("/api/v1/login/{id}/totp"), json!({"code": oathtool(key, self.now())}), None).await, 200);
        r["session_token"].as_str().unwrap().to_owned()
    }
}
