//! Every security hold of the API refuses a withdrawal with 403
//! `security_hold` and its `until`: a factor added beside another, the
//! authenticator removed or replaced, the phone replaced (24 hours each,
//! from the change), and a recovery (48 hours, in the seed story test). An
//! account's first second factor is not a change and holds nothing; a
//! replacement is recognised however long the account's history, and the
//! notices say how long the hold configured is. Binding an authenticator
//! and replacing a phone tell the owner, a replaced phone number included.

mod common;

use common::{assert_error, ok};
use serde_json::{Value, json};
use twostep_app::{RequestMeta, Settings};
use twostep_domain::audit_kind::AuditKind;
use twostep_testkit::{Backend, TestServer, oathtool, test_settings};
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
    // A first authenticator: no hold.
    let key = s.enrol_totp(&token).await;
    s.clock.advance(30);
    let first = withdraw(&s, &token, &oathtool(&key, s.now())).await;
    assert_eq!(first.0, 201, "{}", first.1);

    // A phone added beside it (it could be a thief's): 24 hours from the binding.
    s.sudo_totp(&token, &key).await;
    ok(&s.post("/api/v1/me/phone", json!({"phone": "+447911123456"}), Some(&token)).await, 202);
    let code = s.code_to("+447911123456").await;
    ok(&s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await, 200);
    let bound_at = s.now();
    s.clock.advance(30);
    assert_eq!(hold_until(&withdraw(&s, &token, &oathtool(&key, s.now())).await), json!(rfc3339(bound_at + H24)));

    // Removed, once that hold is over: 24 hours from the removal.
    s.clock.advance(H24 + 60);
    let token = s.session_with_totp("hold@example.com", &key).await;
    s.clock.advance(30);
    ok(&s.post("/api/v1/me/totp/disable", json!({"code": oathtool(&key, s.now())}), Some(&token)).await, 200);
    let removed_at = s.now();
    assert_eq!(hold_until(&withdraw(&s, &token, "000000").await), json!(rfc3339(removed_at + H24)));

    // Replaced, once that hold is over: 24 hours from the new one.
    s.clock.advance(H24 + 60);
    let token = s.session_with_code("hold@example.com").await;
    s.sudo_sms(&token, "+447911123456").await;
    let key = s.enrol_totp_in_sudo(&token).await;
    let replaced_at = s.now();
    s.clock.advance(30);
    assert_eq!(hold_until(&withdraw(&s, &token, &oathtool(&key, s.now())).await), json!(rfc3339(replaced_at + H24)));

    // The phone replaced: 24 hours from the change.
    s.clock.advance(H24 + 60);
    let token = s.session_with_totp("hold@example.com", &key).await;
    s.sudo_totp(&token, &key).await;
    ok(&s.post("/api/v1/me/phone", json!({"phone": "+447911123789"}), Some(&token)).await, 202);
    let code = s.code_to("+447911123789").await;
    ok(&s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await, 200);
    let changed_at = s.now();
    s.clock.advance(30);
    assert_eq!(hold_until(&withdraw(&s, &token, &oathtool(&key, s.now())).await), json!(rfc3339(changed_at + H24)));
    s.stop().await;
}

#[tokio::test]
async fn a_replacement_is_recognised_however_long_the_account_history() {
    let s = TestServer::start(Backend::Sqlite).await;
    let account_id = s.verified_account("long@example.com", PW).await;
    let token = s.session("long@example.com", PW).await;
    let key = s.enrol_totp(&token).await;
    s.clock.advance(30);
    ok(&s.post("/api/v1/me/totp/disable", json!({"code": oathtool(&key, s.now())}), Some(&token)).await, 200);
    s.clock.advance(H24 + 60);
    // Far more security events since the first authenticator was bound
    // than any page of history holds.
    let meta = RequestMeta { ip: "192.0.2.1".into(), user_agent: "test".into(), ..Default::default() };
    for _ in 0..1_050 {
        s.app.audit(AuditKind::StepUpCodeSent, Some(&account_id), &meta, "email").await.unwrap();
    }
    let token = s.session("long@example.com", PW).await;
    let key = s.enrol_totp(&token).await;
    let replaced_at = s.now();
    s.clock.advance(30);
    assert_eq!(hold_until(&withdraw(&s, &token, &oathtool(&key, s.now())).await), json!(rfc3339(replaced_at + H24)));
    s.stop().await;
}

/// The notices of a password change, a phone replaced and an authenticator
/// removed name the service as configured and the hold as long as it is.
#[tokio::test]
async fn notices_name_the_issuer_and_the_configured_hold() {
    let settings = Settings {
        issuer: "Acme Exchange".into(),
        hold_after_password_change_s: 2 * 3600,
        hold_after_authenticator_change_s: 90 * 60,
        hold_after_contact_change_s: 3 * 86_400,
        ..test_settings()
    };
    let s = TestServer::start_with(Backend::Sqlite, settings).await;
    let email = "told@example.com";
    s.verified_account(email, PW).await;
    let token = s.session(email, PW).await;
    let key = s.enrol_totp(&token).await;
    s.sudo_totp(&token, &key).await;
    for phone in ["+447911123456", "+447911123789"] {
        ok(&s.post("/api/v1/me/phone", json!({"phone": phone}), Some(&token)).await, 202);
        let code = s.code_to(phone).await;
        ok(&s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await, 200);
        s.clock.advance(60);
    }
    assert_newest_notice(&s, email, "Your phone number changed", "Acme Exchange", "paused for 3 days").await;
    ok(&s.post("/api/v1/me/totp/disable", json!({"code": oathtool(&key, s.now())}), Some(&token)).await, 200);
    assert_newest_notice(&s, email, "Authenticator removed", "Acme Exchange", "paused for 90 minutes").await;
    s.clock.advance(60);
    ok(&s.post("/api/v1/me/code", json!({"channel": "sms"}), Some(&token)).await, 202);
    let code = s.code_to("+447911123789").await;
    let change = json!({"current_password": PW, "new_password": "another horse battery", "code": code});
    ok(&s.post("/api/v1/me/password", change, Some(&token)).await, 200);
    assert_newest_notice(&s, email, "Your password was changed", "Acme Exchange", "paused for 2 hours").await;
    s.stop().await;
}

async fn assert_newest_notice(s: &TestServer, to: &str, subject: &str, issuer: &str, hold: &str) {
    s.settle().await;
    let outbox = ok(&s.get(&format!("/api/v1/dev/outbox?to={to}"), None).await, 200);
    let body = outbox["messages"][0]["body"].as_str().unwrap_or_default();
    assert!(body.starts_with(subject), "the newest message is not {subject:?}: {body:?}");
    assert!(body.contains(&format!("your {issuer} account")), "{body:?}");
    assert!(body.contains(hold) && !body.contains("twostep"), "{body:?}");
}

trait SignIn {
    async fn session_with_code(&self, email: &str) -> String;
    async fn session_with_totp(&self, email: &str, key: &str) -> String;
}

impl SignIn for TestServer {
    /// Signs in with an SMS code (the account has no authenticator, but a
    /// phone; the e-mail is no second factor).
    async fn session_with_code(&self, email: &str) -> String {
        let login = ok(&self.login(email, PW).await, 200);
        let id = login["login_id"].as_str().unwrap();
        ok(&self.post(&format!("/api/v1/login/{id}/code"), json!({"channel": "sms"}), None).await, 202);
        let code = self.code_to("+447911123456").await;
        let r = ok(
            &self.post(&format!("/api/v1/login/{id}/code/verify"), json!({"channel": "sms", "code": code}), None).await,
            200,
        );
        r["session_token"].as_str().unwrap().to_owned()
    }

    async fn session_with_totp(&self, email: &str, key: &str) -> String {
        let login = ok(&self.login(email, PW).await, 200);
        let id = login["login_id"].as_str().unwrap();
        let r = ok(
            &self.post(&format!("/api/v1/login/{id}/totp"), json!({"code": oathtool(key, self.now())}), None).await,
            200,
        );
        r["session_token"].as_str().unwrap().to_owned()
    }
}

/// Binding an authenticator tells the account's e-mail; a replacement says
/// withdrawals are paused and to start recovery. A phone replaced is told to
/// the e-mail and, by SMS, to the number replaced; a first phone texts no one
/// but the new number its code.
#[tokio::test]
async fn binding_an_authenticator_or_replacing_the_phone_tells_the_owner() {
    let settings =
        Settings { issuer: "Acme Exchange".into(), hold_after_authenticator_change_s: 90 * 60, ..test_settings() };
    let s = TestServer::start_with(Backend::Sqlite, settings).await;
    let email = "bound@example.com";
    s.verified_account(email, PW).await;
    let token = s.session(email, PW).await;

    let key = s.enrol_totp(&token).await;
    let body = newest_body(&s, email).await;
    assert!(body.starts_with("Authenticator added"), "{body:?}");
    assert!(body.contains("your Acme Exchange account") && !body.contains("paused"), "{body:?}");

    s.clock.advance(30);
    ok(&s.post("/api/v1/me/totp/disable", json!({"code": oathtool(&key, s.now())}), Some(&token)).await, 200);
    s.clock.advance(60);
    let key = s.enrol_totp(&token).await;
    let body = newest_body(&s, email).await;
    assert!(body.starts_with("Authenticator replaced"), "{body:?}");
    assert!(body.contains("your Acme Exchange account") && body.contains("paused for 90 minutes"), "{body:?}");
    assert!(body.contains("start account recovery at once"), "{body:?}");

    // A phone beside the authenticator: its code goes to the new number,
    // the e-mail is told (with the hold), no one else.
    let (first, second) = ("+447911123456", "+447911123789");
    s.sudo_totp(&token, &key).await;
    let before = s.messages_to(email).await.len();
    ok(&s.post("/api/v1/me/phone", json!({"phone": first}), Some(&token)).await, 202);
    let code = s.code_to(first).await;
    ok(&s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await, 200);
    let texts = s.messages_to(first).await;
    assert_eq!(texts.len(), 1, "only the binding code went to the new number: {texts:?}");
    assert!(texts.iter().all(|m| m["channel"] == "sms"), "{texts:?}");
    assert_eq!(s.messages_to(second).await.len(), 0);
    let mails = s.messages_to(email).await;
    assert_eq!(mails.len(), before + 1, "{mails:?}");
    assert!(newest_body(&s, email).await.contains("was added to your Acme Exchange account"));

    // Replaced: the e-mail and the number replaced are told.
    s.clock.advance(60);
    ok(&s.post("/api/v1/me/phone", json!({"phone": second}), Some(&token)).await, 202);
    let code = s.code_to(second).await;
    ok(&s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await, 200);
    let body = newest_body(&s, email).await;
    assert!(body.starts_with("Your phone number changed") && body.contains("start account recovery"), "{body:?}");
    let texts = s.messages_to(first).await;
    assert_eq!(texts.len(), 2, "the number replaced is told: {texts:?}");
    assert_eq!(texts[0]["channel"], "sms", "{texts:?}");
    let sms = texts[0]["body"].as_str().unwrap_or_default();
    assert!(sms.contains("phone number of your Acme Exchange account was changed"), "{sms:?}");
    assert!(sms.contains("start account recovery at once"), "{sms:?}");
    // The new number got its code and nothing else.
    assert_eq!(s.messages_to(second).await.len(), 1);
    s.stop().await;
}

async fn newest_body(s: &TestServer, to: &str) -> String {
    let messages = s.messages_to(to).await;
    messages.first().and_then(|m| m["body"].as_str()).unwrap_or_else(|| panic!("no message to {to}")).to_owned()
}
