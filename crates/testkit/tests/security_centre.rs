//! The security centre through the HTTP API, on SQLite and PostgreSQL:
//! a forgotten password reset with the authenticator or the phone (every
//! session ended, the hold, every channel told with the freeze link); the
//! same answer for unknown addresses; a thief holding only the mailbox
//! cannot reset an account with a second factor; the owner's freeze from
//! the link in an e-mail and with a code, without a session; the
//! anti-phishing phrase on the first line of every e-mail and never in a
//! text message or an API answer.

mod common;

use common::{assert_error, ok};
use serde_json::{Value, json};
use twostep_testkit::db::BOTH;
use twostep_testkit::{Backend, TestServer, oathtool};
use twostep_web::time::rfc3339;

const PW: &str = "correct horse battery";
const NEW_PW: &str = "a new and long password";
const H24: i64 = 24 * 3600;

async fn withdraw(s: &TestServer, token: &str, code: &str) -> (reqwest::StatusCode, Value) {
    let w = json!({"asset": "ETH", "amount": "1", "address": "0xexample", "code": code});
    s.post("/api/v1/withdrawals", w, Some(token)).await
}

/// Asks for a reset of `email` and opens it with the e-mailed code.
async fn open_reset(s: &TestServer, email: &str) -> Value {
    let asked = ok(&s.post("/api/v1/password-reset", json!({"email": email}), None).await, 202);
    assert_eq!(asked["status"], "code_sent");
    let code = s.code_to(email).await;
    ok(&s.post("/api/v1/password-reset/verify", json!({"email": email, "code": code}), None).await, 200)
}

fn reset_path(reset: &Value, tail: &str) -> String {
    format!("/api/v1/password-reset/{}/{tail}", reset["reset_id"].as_str().expect("reset_id"))
}

/// The newest e-mail to `email` whose body contains `needle`.
async fn mail_with(s: &TestServer, email: &str, needle: &str) -> String {
    s.messages_to(email)
        .await
        .iter()
        .filter_map(|m| m["body"].as_str())
        .find(|b| b.contains(needle))
        .unwrap_or_else(|| panic!("no e-mail to {email} with {needle:?}"))
        .to_owned()
}

/// Signs in with the password and an authenticator code.
async fn totp_session(s: &TestServer, email: &str, password: &str, key: &str) -> String {
    let login = ok(&s.login(email, password).await, 200);
    let path = format!("/api/v1/login/{}/totp", login["login_id"].as_str().unwrap());
    let done = ok(&s.post(&path, json!({"code": oathtool(key, s.now())}), None).await, 200);
    done["session_token"].as_str().unwrap().to_owned()
}

/// The token of the freeze link in `body`.
fn freeze_token(body: &str) -> String {
    let (_, rest) = body.split_once("/freeze?t=").unwrap_or_else(|| panic!("no freeze link in {body:?}"));
    rest.split_whitespace().next().unwrap().to_owned()
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_the_authenticator() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        let email = "forgot@example.com";
        s.verified_account(email, PW).await;
        let old = s.session(email, PW).await;
        let key = s.enrol_totp(&old).await;

        let reset = open_reset(&s, email).await;
        assert_eq!(reset["methods"], json!(["totp"]), "{backend:?}");
        assert_eq!(reset["frozen"], false);
        // The mailbox alone is not enough beside an authenticator.
        assert_error(
            &s.post(&reset_path(&reset, "complete"), json!({"new_password": NEW_PW}), None).await,
            400,
            "invalid_request",
        );
        let wrong = json!({"new_password": NEW_PW, "method": "totp", "code": "000000"});
        assert_error(&s.post(&reset_path(&reset, "complete"), wrong, None).await, 401, "invalid_code");
        s.clock.advance(30);
        let right = json!({"new_password": NEW_PW, "method": "totp", "code": oathtool(&key, s.now())});
        let done = ok(&s.post(&reset_path(&reset, "complete"), right.clone(), None).await, 200);
        let reset_at = s.now();
        assert_eq!(done["status"], "password_reset");
        assert_eq!(done["withdrawals_blocked_until"], json!(rfc3339(reset_at + H24)));
        // Used once.
        assert_error(&s.post(&reset_path(&reset, "complete"), right, None).await, 409, "conflict");

        // Every session ended; the old password is gone, the new one signs in.
        assert_error(&s.get("/api/v1/me", Some(&old)).await, 401, "unauthorized");
        assert_error(&s.login(email, PW).await, 401, "invalid_credentials");
        s.clock.advance(30);
        let token = totp_session(&s, email, NEW_PW, &key).await;
        s.clock.advance(30);
        let held = withdraw(&s, &token, &oathtool(&key, s.now())).await;
        assert_error(&held, 403, "security_hold");
        assert_eq!(held.1["error"]["until"], json!(rfc3339(reset_at + H24)));

        // The owner hears of it, with the link that freezes the account.
        let notice = mail_with(&s, email, "was reset").await;
        assert!(notice.contains("/freeze?t="), "{notice}");
        let activity = ok(&s.get("/api/v1/me/activity", Some(&token)).await, 200);
        let kinds: Vec<&str> =
            activity["events"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
        for kind in ["password_reset_requested", "password_reset_started", "password_reset_failed", "password_reset"] {
            assert!(kinds.contains(&kind), "{backend:?}: {kind} in {kinds:?}");
        }
        s.stop().await;
    }
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_the_phone_and_every_channel_is_told() {
    let s = TestServer::start(Backend::Sqlite).await;
    let email = "phone-reset@example.com";
    let phone = "+447911123456";
    s.verified_account(email, PW).await;
    let token = s.session(email, PW).await;
    s.sudo_password(&token).await;
    ok(&s.post("/api/v1/me/phone", json!({"phone": phone}), Some(&token)).await, 202);
    let code = s.code_to(phone).await;
    ok(&s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await, 200);

    let reset = open_reset(&s, email).await;
    assert_eq!(reset["methods"], json!(["sms", "voice"]));
    let sent = ok(&s.post(&reset_path(&reset, "code"), json!({"channel": "sms"}), None).await, 202);
    assert_eq!(sent["channel"], "sms");
    let code = s.code_to(phone).await;
    // A code sent by SMS does not pass as the voice call's.
    let as_voice = json!({"new_password": NEW_PW, "method": "voice", "code": code});
    assert_error(&s.post(&reset_path(&reset, "complete"), as_voice, None).await, 401, "invalid_code");
    let body = json!({"new_password": NEW_PW, "method": "sms", "code": code});
    ok(&s.post(&reset_path(&reset, "complete"), body, None).await, 200);
    // The phone is told in one line with the freeze link; the e-mail too.
    let sms = mail_with(&s, phone, "password was reset").await;
    assert!(sms.contains("/freeze?t="), "{sms}");
    mail_with(&s, email, "was reset").await;
    s.stop().await;
}

#[tokio::test]
async fn the_reset_answers_the_same_for_unknown_addresses() {
    let s = TestServer::start(Backend::Sqlite).await;
    s.verified_account("known@example.com", PW).await;
    let known = ok(&s.post("/api/v1/password-reset", json!({"email": "known@example.com"}), None).await, 202);
    let unknown = ok(&s.post("/api/v1/password-reset", json!({"email": "nobody@example.com"}), None).await, 202);
    assert_eq!(known, unknown);
    assert!(s.messages_to("nobody@example.com").await.is_empty());
    // The code's e-mail says what it is for, and what to do if nobody asked.
    let body = mail_with(&s, "known@example.com", "asked to reset your password").await;
    assert!(body.contains("your password stays as it is"), "{body}");
    assert!(!body.contains("change it"), "a reset code is no sign the password is known: {body}");
    // No code is worth anything for an address without an account.
    let guess = json!({"email": "nobody@example.com", "code": "123456"});
    assert_error(&s.post("/api/v1/password-reset/verify", guess, None).await, 401, "invalid_code");
    assert_error(
        &s.post("/api/v1/password-reset", json!({"email": "not an address"}), None).await,
        400,
        "invalid_request",
    );
    // Limited per address, whoever asks.
    let mut last = (reqwest::StatusCode::OK, Value::Null);
    for _ in 0..6 {
        last = s.post("/api/v1/password-reset", json!({"email": "nobody@example.com"}), None).await;
    }
    assert_error(&last, 429, "too_many_attempts");
    s.stop().await;
}

/// A thief who holds the mailbox but not the authenticator: the reset
/// needs the second factor, guessing it locks, and the e-mail code is no
/// stand-in for it.
#[tokio::test]
async fn a_thief_with_only_the_mailbox_cannot_reset_an_account_with_a_second_factor() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        let email = "mailbox@example.com";
        s.verified_account(email, PW).await;
        let token = s.session(email, PW).await;
        s.enrol_totp(&token).await;
        let reset = open_reset(&s, email).await;
        let as_email = json!({"new_password": NEW_PW, "method": "email", "code": "123456"});
        assert_error(&s.post(&reset_path(&reset, "complete"), as_email, None).await, 400, "invalid_request");
        assert_error(&s.post(&reset_path(&reset, "code"), json!({"channel": "sms"}), None).await, 409, "conflict");
        let mut last = (reqwest::StatusCode::OK, Value::Null);
        for i in 0..12 {
            let guess = json!({"new_password": NEW_PW, "method": "totp", "code": format!("{:06}", 100_000 + i)});
            last = s.post(&reset_path(&reset, "complete"), guess, None).await;
            if last.0 == 429 {
                break;
            }
            assert_error(&last, 401, "invalid_code");
        }
        assert_error(&last, 429, "too_many_attempts");
        // The owner's password still works.
        assert_eq!(s.login(email, PW).await.0, 200, "{backend:?}");
        s.stop().await;
    }
}

#[tokio::test]
async fn the_owner_freezes_the_account_from_the_link_in_an_e_mail_without_a_session() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        let email = "stolen-phone@example.com";
        s.verified_account(email, PW).await;
        let token = s.session(email, PW).await;
        // Any e-mail to the account carries the link: here a step-up code's.
        ok(&s.post("/api/v1/me/code", json!({"channel": "email"}), Some(&token)).await, 202);
        let link = freeze_token(&mail_with(&s, email, "/freeze?t=").await);
        let mut forged = link.clone();
        forged.pop();
        forged.push(if link.ends_with('A') { 'B' } else { 'A' });
        assert_error(&s.post("/api/v1/freeze", json!({"token": forged}), None).await, 404, "not_found");
        assert_eq!(ok(&s.post("/api/v1/freeze", json!({"token": link}), None).await, 200)["status"], "frozen");
        // Frozen: the session ends, the password signs in no more.
        assert_error(&s.get("/api/v1/me", Some(&token)).await, 401, "unauthorized");
        assert_error(&s.login(email, PW).await, 403, "forbidden");
        // A reset cannot undo it: only a lost-2FA case or staff.
        let reset = open_reset(&s, email).await;
        assert_eq!(reset["frozen"], true, "{backend:?}");
        assert_error(
            &s.post(&reset_path(&reset, "complete"), json!({"new_password": NEW_PW}), None).await,
            403,
            "forbidden",
        );
        mail_with(&s, email, "is frozen").await;
        // Again: the same answer.
        ok(&s.post("/api/v1/freeze", json!({"token": link}), None).await, 200);
        s.stop().await;
    }
}

#[tokio::test]
async fn the_owner_freezes_the_account_with_a_code_and_the_answer_is_the_same_for_every_address() {
    let s = TestServer::start(Backend::Sqlite).await;
    let email = "freeze-code@example.com";
    s.verified_account(email, PW).await;
    let known = ok(&s.post("/api/v1/freeze/code", json!({"email": email}), None).await, 202);
    let unknown = ok(&s.post("/api/v1/freeze/code", json!({"email": "nobody@example.com"}), None).await, 202);
    assert_eq!(known["status"], unknown["status"]);
    let wrong = json!({"email": email, "code": "000000"});
    assert_error(&s.post("/api/v1/freeze", wrong, None).await, 401, "invalid_code");
    let code = s.code_to(email).await;
    ok(&s.post("/api/v1/freeze", json!({"email": email, "code": code}), None).await, 200);
    assert_error(&s.login(email, PW).await, 403, "forbidden");
    assert_error(&s.post("/api/v1/freeze", json!({"email": email}), None).await, 400, "invalid_request");
    s.stop().await;
}

#[tokio::test]
async fn every_e_mail_carries_the_anti_phishing_phrase_and_no_text_message_does() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        let email = "phrase@example.com";
        let phone = "+447911123999";
        s.verified_account(email, PW).await;
        let token = s.session(email, PW).await;
        let set = json!({"phrase": "  purple   heron "});
        assert_error(
            &s.call("PUT", "/api/v1/me/anti-phishing", Some(set.clone()), Some(&token)).await,
            403,
            "step_up_required",
        );
        s.sudo_password(&token).await;
        let short = json!({"phrase": "abc"});
        assert_error(
            &s.call("PUT", "/api/v1/me/anti-phishing", Some(short), Some(&token)).await,
            400,
            "invalid_request",
        );
        ok(&s.call("PUT", "/api/v1/me/anti-phishing", Some(set), Some(&token)).await, 200);
        let me = ok(&s.get("/api/v1/me", Some(&token)).await, 200);
        assert_eq!(me["anti_phishing_phrase_set"], true);
        assert!(!me.to_string().contains("heron"), "{me}");

        // A phone, a step-up code, a reset code: every e-mail shows the
        // phrase on its first line; the texts never do.
        ok(&s.post("/api/v1/me/phone", json!({"phone": phone}), Some(&token)).await, 202);
        let code = s.code_to(phone).await;
        ok(&s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await, 200);
        ok(&s.post("/api/v1/password-reset", json!({"email": email}), None).await, 202);
        s.settle().await;
        let mails = s.messages_to(email).await;
        let after: Vec<&str> = mails.iter().filter_map(|m| m["body"].as_str()).take(3).collect();
        assert!(after.len() == 3, "{backend:?}: {mails:?}");
        for mail in &after {
            // The outbox keeps the subject, a blank line, then the text.
            let (_, text) = mail.split_once("\n\n").unwrap();
            assert!(
                text.lines().next().unwrap().ends_with("anti-phishing phrase: purple heron"),
                "{backend:?}: {mail:?}"
            );
        }
        for text in s.messages_to(phone).await {
            assert!(!text["body"].as_str().unwrap().contains("heron"), "{text}");
        }
        // Removed: the e-mails after it go without.
        s.sudo_sms(&token, phone).await;
        ok(&s.call("DELETE", "/api/v1/me/anti-phishing", None, Some(&token)).await, 200);
        s.settle().await;
        let newest = s.messages_to(email).await[0]["body"].as_str().unwrap().to_owned();
        assert!(newest.contains("removed") && !newest.contains("heron"), "{newest}");
        s.stop().await;
    }
}

/// Password and authenticator both lost: the e-mailed code opens a lost-2FA
/// case that also sets the new password; once staff approve it, the owner
/// signs in with the new password, without the old authenticator, and
/// withdrawals wait out the 48-hour hold.
#[tokio::test]
async fn with_nothing_left_the_reset_opens_a_recovery_that_sets_the_new_password() {
    use twostep_domain::Role;
    use twostep_testkit::recovery::{Case, submit_case, totp_owner};
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        let owner = totp_owner(&s, "lost-everything@example.com").await;
        let reset = open_reset(&s, &owner.email).await;
        let short = json!({"new_password": "short"});
        assert_error(&s.post(&reset_path(&reset, "recovery"), short, None).await, 400, "invalid_request");
        let opened = ok(&s.post(&reset_path(&reset, "recovery"), json!({"new_password": NEW_PW}), None).await, 201);
        assert!(opened["items"].as_array().unwrap().contains(&json!("password")), "{opened}");
        // The reset is used up by the case.
        let again = json!({"new_password": NEW_PW, "method": "totp", "code": "123456"});
        assert_error(&s.post(&reset_path(&reset, "complete"), again, None).await, 409, "conflict");
        let case = Case {
            id: opened["case_id"].as_str().unwrap().into(),
            token: opened["case_token"].as_str().unwrap().into(),
        };
        let case = submit_case(&s, &owner, case, json!({"reset": ["authenticator"]})).await;
        let view = ok(&s.get(&case.path(""), Some(&case.token)).await, 200);
        assert_eq!(view["reset_items"], json!(["authenticator", "password"]), "{backend:?}");
        // Nobody can choose the password item on an ordinary case.
        let ordinary = totp_owner(&s, "ordinary@example.com").await;
        let other = twostep_testkit::recovery::open_case(&s, &ordinary.email).await;
        let chosen = json!({"reset": ["password"]});
        assert_error(&s.post(&other.path("items"), chosen, Some(&other.token)).await, 400, "invalid_request");

        let rev = s.staff_with_authenticator("rev@example.com", Role::Reviewer).await.token;
        let approve = format!("/api/v1/admin/recovery-cases/{}/approve", case.id);
        ok(&s.post(&approve, json!({"note": "passport matches"}), Some(&rev)).await, 200);
        let approved_at = s.now();
        assert_error(&s.login(&owner.email, PW).await, 401, "invalid_credentials");
        let token = s.session(&owner.email, NEW_PW).await;
        let held = withdraw(&s, &token, "123456").await;
        assert_error(&held, 403, "security_hold");
        assert_eq!(held.1["error"]["until"], json!(rfc3339(approved_at + 48 * 3600)));
        s.stop().await;
    }
}

/// The owner froze the account when the phone was stolen; the way back is
/// a lost-2FA case opened from "Forgot your password?", which staff
/// approve: it lifts the freeze.
#[tokio::test]
async fn a_frozen_owner_gets_back_in_through_a_reviewed_recovery() {
    use twostep_domain::Role;
    use twostep_testkit::recovery::{Case, submit_case, totp_owner};
    let s = TestServer::start(Backend::Sqlite).await;
    let owner = totp_owner(&s, "froze-it@example.com").await;
    ok(&s.post("/api/v1/freeze/code", json!({"email": owner.email}), None).await, 202);
    let code = s.code_to(&owner.email).await;
    ok(&s.post("/api/v1/freeze", json!({"email": owner.email, "code": code}), None).await, 200);
    s.clock.advance(60);
    let reset = open_reset(&s, &owner.email).await;
    assert_eq!(reset["frozen"], true);
    let opened = ok(&s.post(&reset_path(&reset, "recovery"), json!({"new_password": NEW_PW}), None).await, 201);
    let case =
        Case { id: opened["case_id"].as_str().unwrap().into(), token: opened["case_token"].as_str().unwrap().into() };
    let case = submit_case(&s, &owner, case, json!({"reset": ["authenticator"]})).await;
    let rev = s.staff_with_authenticator("rev@example.com", Role::Reviewer).await.token;
    ok(
        &s.post(&format!("/api/v1/admin/recovery-cases/{}/approve", case.id), json!({"note": "ok"}), Some(&rev)).await,
        200,
    );
    let token = s.session(&owner.email, NEW_PW).await;
    let activity = ok(&s.get("/api/v1/me/activity", Some(&token)).await, 200);
    assert!(activity.to_string().contains("account_unfrozen"), "{activity}");
    s.stop().await;
}
