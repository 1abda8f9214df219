//! The account-takeover paths an outside attack found, each tried again as
//! the attacker did, through the HTTP API, on SQLite and PostgreSQL:
//! a repeated sign-up (1), a stolen session adding its own factor (2),
//! sign-up telling who has an account (3), a password change leaving a
//! thief's recovery case alive (4), and codes crossing channels or an
//! e-mail code standing in for a stronger factor (9).

mod common;

use common::{assert_error, ok};
use serde_json::{Value, json};
use twostep_testkit::db::BOTH;
use twostep_testkit::recovery::{PW, open_case, totp_owner};
use twostep_testkit::{TestServer, oathtool};

async fn sign_in_totp(s: &TestServer, email: &str, password: &str, key: &str) -> String {
    let login = ok(&s.login(email, password).await, 200);
    s.clock.advance(30);
    let path = format!("/api/v1/login/{}/totp", login["login_id"].as_str().unwrap());
    let r = ok(&s.post(&path, json!({"code": oathtool(key, s.now())}), None).await, 200);
    r["session_token"].as_str().unwrap().to_owned()
}

fn withdrawal(code: Option<&str>) -> Value {
    json!({"asset": "ETH", "amount": "1", "address": "0xthief", "code": code})
}

/// Finding 1: B signs up again with A's unconfirmed address; A's code must
/// activate A's password, never B's. A sign-up on a confirmed address
/// changes nothing and tells the owner.
#[tokio::test]
async fn a_repeated_sign_up_never_takes_the_account() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        let email = "alice@example.com";
        ok(&s.post("/api/v1/accounts", json!({"email": email, "password": "alice's password"}), None).await, 202);
        let alice_code = s.outbox_code(email).await;
        s.clock.advance(5);
        ok(&s.post("/api/v1/accounts", json!({"email": email, "password": "bob's password!"}), None).await, 202);
        let bob_code = s.outbox_code(email).await;
        assert_ne!(alice_code, bob_code, "each sign-up has its own code");
        // Nobody can sign in before a confirmation (the newest sign-up's
        // password is told it must confirm first).
        assert_error(&s.login(email, "bob's password!").await, 403, "email_unverified");
        ok(&s.post("/api/v1/accounts/verify-email", json!({"email": email, "code": alice_code}), None).await, 200);
        assert_error(&s.login(email, "bob's password!").await, 401, "invalid_credentials");
        let me = ok(&s.login(email, "alice's password").await, 200);
        assert_eq!(me["status"], "authenticated", "{me}");
        // Bob's code died with the confirmation.
        let late = s.post("/api/v1/accounts/verify-email", json!({"email": email, "code": bob_code}), None).await;
        assert_error(&late, 401, "invalid_code");

        // On the confirmed account a sign-up changes nothing; Alice is told.
        let before = s.messages_to(email).await.len();
        ok(&s.post("/api/v1/accounts", json!({"email": email, "password": "carol's password"}), None).await, 202);
        assert_error(&s.login(email, "carol's password").await, 401, "invalid_credentials");
        assert_eq!(ok(&s.login(email, "alice's password").await, 200)["status"], "authenticated");
        let messages = s.messages_to(email).await;
        assert_eq!(messages.len(), before + 1);
        assert!(messages[0]["body"].as_str().unwrap().contains("tried to create"), "{}", messages[0]);
        s.stop().await;
    }
}

/// Finding 3: sign-up answers alike for an unknown, an unconfirmed and a
/// confirmed address, sign-up after sign-up, with no account id.
#[tokio::test]
async fn sign_up_does_not_tell_who_has_an_account() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        s.verified_account("known@example.com", PW).await;
        ok(&s.post("/api/v1/accounts", json!({"email": "pending@example.com", "password": PW}), None).await, 202);
        let mut answers = Vec::new();
        for email in ["known@example.com", "pending@example.com", "nobody@example.com"] {
            let mut seq = Vec::new();
            for i in 0..6 {
                let (status, body) = s
                    .post("/api/v1/accounts", json!({"email": email, "password": format!("password {i}")}), None)
                    .await;
                let code = body["error"]["code"].clone();
                assert!(body.get("account_id").is_none(), "{body}");
                seq.push((status.as_u16(), if code.is_null() { body.clone() } else { code }));
            }
            answers.push(seq);
        }
        // The per-address cap (5 an hour) is counted before the look-up,
        // so it bites at the same sign-up for every address.
        // The known and the unconfirmed address each had one sign-up before.
        assert_eq!(answers[0], answers[1], "confirmed and unconfirmed addresses answer alike");
        assert_eq!(answers[0][..5], answers[2][1..], "and like an unknown one, one sign-up ahead");
        assert_eq!(answers[2][0], (202, json!({"status": "confirmation_sent"})));
        assert_eq!(answers[2][5].0, 429, "{:?}", answers[2]);
        s.stop().await;
    }
}

/// Finding 2: with only a session, a thief cannot add a factor, remove the
/// owner's, pass the withdrawal step-up or change what protects the account.
#[tokio::test]
async fn a_stolen_session_cannot_add_a_factor_or_pass_the_step_up() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        let owner = totp_owner(&s, "owner@example.com").await;
        // The thief's copy of a session the owner opened an hour ago.
        let stolen = sign_in_totp(&s, &owner.email, PW, &owner.backup_key).await;
        s.clock.advance(3600);
        let step_up = |r: &(reqwest::StatusCode, Value)| {
            assert_error(r, 403, "step_up_required");
            assert_eq!(r.1["error"]["methods"], json!(["totp"]), "{}", r.1);
        };
        step_up(&s.post("/api/v1/me/phone", json!({"phone": "+447911123401"}), Some(&stolen)).await);
        step_up(&s.post("/api/v1/me/totp/disable", json!({}), Some(&stolen)).await);
        step_up(&s.post("/api/v1/withdrawals", withdrawal(None), Some(&stolen)).await);
        step_up(&s.post("/api/v1/me/totp", json!({}), Some(&stolen)).await);
        let questions = json!({"answers": [{"question_id": "first_pet", "answer": "Thief"},
                                           {"question_id": "birth_city", "answer": "Nowhere"}]});
        step_up(&s.call("PUT", "/api/v1/me/security-questions", Some(questions), Some(&stolen)).await);
        let pw = json!({"current_password": PW, "new_password": "thief's new password"});
        step_up(&s.post("/api/v1/me/password", pw, Some(&stolen)).await);
        // An e-mail code never stands in for the authenticator.
        step_up(&s.post("/api/v1/me/code", json!({"channel": "email"}), Some(&stolen)).await);
        let by_mail = json!({"method": "email", "code": "123456"});
        step_up(&s.post("/api/v1/me/sudo", by_mail, Some(&stolen)).await);
        let by_password = json!({"method": "password", "password": PW});
        step_up(&s.post("/api/v1/me/sudo", by_password, Some(&stolen)).await);
        // A wrong authenticator code proves nothing.
        let wrong = s.post("/api/v1/me/sudo", json!({"method": "totp", "code": "000000"}), Some(&stolen)).await;
        assert_error(&wrong, 401, "invalid_code");
        step_up(&s.post("/api/v1/me/phone", json!({"phone": "+447911123401"}), Some(&stolen)).await);
        // Nothing reached the thief's number; the owner's factors stand.
        assert!(s.messages_to("+447911123401").await.is_empty());
        let me = ok(&s.get("/api/v1/me", Some(&stolen)).await, 200);
        assert_eq!(me["factors"], json!({"totp": true, "phone": false, "email": true}));

        // The owner, with the authenticator, may: sudo for a few minutes.
        s.sudo_totp(&stolen, &owner.backup_key).await;
        ok(&s.post("/api/v1/me/phone", json!({"phone": "+447911123402"}), Some(&stolen)).await, 202);
        s.clock.advance(601);
        step_up(&s.post("/api/v1/me/phone/confirm", json!({"code": "000000"}), Some(&stolen)).await);
        s.stop().await;
    }
}

/// Finding 2, the other way round: a phone-only account's stolen session
/// cannot enrol a first authenticator, and one without any second factor
/// cannot bind a first phone without the password.
#[tokio::test]
async fn a_stolen_session_cannot_enrol_a_first_factor_either() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        s.verified_account("phone@example.com", PW).await;
        let token = s.session("phone@example.com", PW).await;
        let r = s.post("/api/v1/me/phone", json!({"phone": "+447911123403"}), Some(&token)).await;
        assert_error(&r, 403, "step_up_required");
        assert_eq!(r.1["error"]["methods"], json!(["password", "email"]));
        s.sudo_password(&token).await;
        ok(&s.post("/api/v1/me/phone", json!({"phone": "+447911123403"}), Some(&token)).await, 202);
        let code = s.code_to("+447911123403").await;
        ok(&s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await, 200);
        // Now the phone sets the bar: the password proof given before it no
        // longer counts, so the same session cannot enrol an authenticator.
        let r = s.post("/api/v1/me/totp", json!({}), Some(&token)).await;
        assert_error(&r, 403, "step_up_required");
        assert_eq!(r.1["error"]["methods"], json!(["sms", "voice"]));
        // With the phone's code it can, and the new authenticator, added
        // beside the phone, holds withdrawals and tells the phone too.
        s.sudo_sms(&token, "+447911123403").await;
        let key = {
            let (status, setup) = s.post("/api/v1/me/totp", json!({}), Some(&token)).await;
            assert_eq!(status, 201, "{setup}");
            let key = setup["backup_key"].as_str().unwrap().to_owned();
            let body = json!({"setup_id": setup["setup_id"], "backup_key": key, "code": oathtool(&key, s.now())});
            ok(&s.post("/api/v1/me/totp/confirm", body, Some(&token)).await, 200);
            key
        };
        assert!(!key.is_empty());
        let me = ok(&s.get("/api/v1/me", Some(&token)).await, 200);
        assert!(me["withdrawals_blocked_until"].is_string(), "{me}");
        let texts = s.messages_to("+447911123403").await;
        assert!(texts[0]["body"].as_str().unwrap().contains("authenticator was added"), "{texts:?}");
        s.stop().await;
    }
}

/// Finding 9: a code is used on the channel it went to, and an e-mail code
/// completes neither sign-in nor step-up beside a stronger factor.
#[tokio::test]
async fn codes_stay_on_their_channel_and_the_mailbox_is_not_a_second_factor() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        let phone = "+447911123404";
        s.verified_account("calls@example.com", PW).await;
        let token = s.session("calls@example.com", PW).await;
        s.sudo_password(&token).await;
        ok(&s.post("/api/v1/me/phone", json!({"phone": phone}), Some(&token)).await, 202);
        let code = s.code_to(phone).await;
        ok(&s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await, 200);

        let login = ok(&s.login("calls@example.com", PW).await, 200);
        assert_eq!(login["methods"], json!(["sms", "voice"]), "no e-mail method beside a phone");
        let id = login["login_id"].as_str().unwrap();
        let by_mail = s.post(&format!("/api/v1/login/{id}/code"), json!({"channel": "email"}), None).await;
        assert_error(&by_mail, 409, "conflict");
        ok(&s.post(&format!("/api/v1/login/{id}/code"), json!({"channel": "sms"}), None).await, 202);
        let sms = s.code_to(phone).await;
        let crossed = json!({"channel": "voice", "code": sms});
        assert_error(&s.post(&format!("/api/v1/login/{id}/code/verify"), crossed, None).await, 401, "invalid_code");
        let right = json!({"channel": "sms", "code": sms});
        ok(&s.post(&format!("/api/v1/login/{id}/code/verify"), right, None).await, 200);

        // Step-up: an SMS code does not pass as the voice proof either.
        ok(&s.post("/api/v1/me/code", json!({"channel": "sms"}), Some(&token)).await, 202);
        let sms = s.code_to(phone).await;
        let crossed = s.post("/api/v1/me/sudo", json!({"method": "voice", "code": sms}), Some(&token)).await;
        assert_error(&crossed, 401, "invalid_code");
        s.stop().await;
    }
}

/// Finding 4: the owner's password change ends a recovery case someone
/// opened with the old password, and says so.
#[tokio::test]
async fn a_password_change_stops_a_recovery_opened_with_the_old_password() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        let owner = totp_owner(&s, "victim@example.com").await;
        let case = open_case(&s, &owner.email).await;
        let token = sign_in_totp(&s, &owner.email, PW, &owner.backup_key).await;
        s.clock.advance(30);
        let change = json!({"current_password": PW, "new_password": "the owner's new one",
                            "code": oathtool(&owner.backup_key, s.now())});
        ok(&s.post("/api/v1/me/password", change, Some(&token)).await, 200);
        let view = ok(&s.get(&case.path(""), Some(&case.token)).await, 200);
        assert_eq!(view["status"], "cancelled", "{view}");
        let items = json!({"reset": ["authenticator"]});
        assert_error(&s.post(&case.path("items"), items, Some(&case.token)).await, 409, "conflict");
        assert_error(&s.post(&case.path("submit"), json!({}), Some(&case.token)).await, 409, "conflict");
        let notice = &s.messages_to(&owner.email).await[0];
        assert!(notice["body"].as_str().unwrap().contains("recovery under way was stopped"), "{notice}");
        s.stop().await;
    }
}
