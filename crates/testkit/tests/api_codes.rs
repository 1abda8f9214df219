//! Sent codes through the API with the dev outbox as the provider: binding
//! a phone, expiry on a fixed clock, the try limit, the resend cool-down,
//! every sending cap, purpose separation and one code raced against itself.

mod common;

use common::{assert_error, ok};
use serde_json::{Value, json};
use twostep_testkit::{Backend, TestServer, db::BOTH, test_settings};

const PW: &str = "correct horse battery";
const PHONE: &str = "+447911123456";

/// A signed-in account with a confirmed e-mail, its session confirmed with
/// the password (sudo mode, as for binding a first phone); returns the token.
async fn account(s: &TestServer, email: &str) -> String {
    s.verified_account(email, PW).await;
    let token = s.session(email, PW).await;
    s.sudo_password(&token).await;
    token
}

async fn bind_phone(s: &TestServer, token: &str, phone: &str) {
    ok(&s.post("/api/v1/me/phone", json!({"phone": phone}), Some(token)).await, 202);
    let code = s.outbox_code(phone).await;
    ok(&s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(token)).await, 200);
}

fn other_than(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

#[tokio::test]
async fn binding_a_phone_texts_the_new_number_and_replacing_it_holds_withdrawals() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        let token = account(&s, "phone@example.com").await;
        for bad in ["07911123456", "+44 7911", "+999123456789", "+449098790000", "not a number", ""] {
            assert_error(
                &s.post("/api/v1/me/phone", json!({"phone": bad}), Some(&token)).await,
                400,
                "invalid_request",
            );
        }
        assert_error(
            &s.post("/api/v1/me/phone", json!({"phone": 447911123456u64}), Some(&token)).await,
            400,
            "invalid_request",
        );
        assert_error(&s.post("/api/v1/me/phone", json!({"phone": PHONE}), None).await, 401, "unauthorized");

        // Spaces and dashes are fine; the number is stored and texted as E.164.
        let sent = ok(&s.post("/api/v1/me/phone", json!({"phone": "+44 7911 123-456"}), Some(&token)).await, 202);
        assert_eq!(sent["channel"], "sms");
        assert_eq!(sent["sent_to"], "+44••••••456");
        assert_eq!(sent["resend_after_s"], 60);
        let code = s.outbox_code(PHONE).await;
        assert_eq!(s.get("/api/v1/me", Some(&token)).await.1["phone"], Value::Null, "not bound before the code");
        let r = s.post("/api/v1/me/phone/confirm", json!({"code": other_than(&code)}), Some(&token)).await;
        assert_error(&r, 401, "invalid_code");
        let bound = ok(&s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await, 200);
        assert_eq!(bound["phone"], "+44••••••456");
        let me = ok(&s.get("/api/v1/me", Some(&token)).await, 200);
        assert_eq!(me["phone"], "+44••••••456");
        assert_eq!(me["factors"]["phone"], true);
        assert_eq!(me["withdrawals_blocked_until"], Value::Null, "a first phone sets no hold");
        s.settle().await;
        let (_, mails) = s.get("/api/v1/dev/outbox?to=phone@example.com", None).await;
        let text = mails["messages"][0]["body"].as_str().unwrap();
        assert!(text.contains("+44••••••456") && !text.contains(PHONE), "masked in the notice: {text}");
        // With the phone bound, changes are confirmed with it. The code is
        // single use, and the same number again is a conflict.
        s.sudo_sms(&token, PHONE).await;
        assert_error(
            &s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await,
            401,
            "invalid_code",
        );
        assert_error(&s.post("/api/v1/me/phone", json!({"phone": PHONE}), Some(&token)).await, 409, "conflict");

        // The login now offers SMS and voice.
        let login = ok(&s.login("phone@example.com", PW).await, 200);
        assert_eq!(login["methods"], json!(["sms", "voice"]));

        // Replacing the phone: the code goes to the NEW number, and a hold
        // starts; the change is confirmed with the phone the account has.
        s.clock.advance(61);
        ok(&s.post("/api/v1/me/phone", json!({"phone": "+447911123789"}), Some(&token)).await, 202);
        let code = s.outbox_code("+447911123789").await;
        ok(&s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await, 200);
        let me = ok(&s.get("/api/v1/me", Some(&token)).await, 200);
        assert_eq!(me["phone"], "+44••••••789");
        let until = time::OffsetDateTime::parse(
            me["withdrawals_blocked_until"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert_eq!(until.unix_timestamp(), s.now() + 86_400);
        let kinds: Vec<String> =
            s.app.store.audit_events(None, 50).await.unwrap().into_iter().map(|e| e.kind).collect();
        assert!(kinds.contains(&"phone_bound".into()) && kinds.contains(&"phone_replaced".into()), "{kinds:?}");
        s.stop().await;
    }
}

#[tokio::test]
async fn a_code_expires_with_the_clock() {
    let s = TestServer::start(Backend::Sqlite).await;
    let token = account(&s, "exp@example.com").await;
    let sent = ok(&s.post("/api/v1/me/phone", json!({"phone": PHONE}), Some(&token)).await, 202);
    let expires = time::OffsetDateTime::parse(
        sent["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(expires.unix_timestamp(), s.now() + 300, "5 minutes by default");
    let code = s.outbox_code(PHONE).await;
    s.clock.advance(300);
    assert_error(&s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await, 401, "invalid_code");
    // A fresh code, used one second before its end, works.
    ok(&s.post("/api/v1/me/phone", json!({"phone": PHONE}), Some(&token)).await, 202);
    let code = s.outbox_code(PHONE).await;
    s.clock.advance(299);
    ok(&s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await, 200);
    s.stop().await;
}

#[tokio::test]
async fn a_code_dies_after_five_wrong_tries() {
    let s = TestServer::start(Backend::Sqlite).await;
    let token = account(&s, "tries@example.com").await;
    bind_phone(&s, &token, PHONE).await;
    s.clock.advance(61);
    ok(&s.post("/api/v1/me/code", json!({"channel": "sms"}), Some(&token)).await, 202);
    let code = s.outbox_code(PHONE).await;
    let w = |code: &str| json!({"asset": "BTC", "amount": "1", "address": "bc1qexample", "code": code});
    for _ in 0..5 {
        assert_error(&s.post("/api/v1/withdrawals", w(other_than(&code)), Some(&token)).await, 401, "invalid_code");
    }
    assert_error(&s.post("/api/v1/withdrawals", w(&code), Some(&token)).await, 401, "invalid_code");
    s.stop().await;
}

#[tokio::test]
async fn asking_again_waits_for_the_cool_down_and_only_the_newest_code_works() {
    let s = TestServer::start(Backend::Sqlite).await;
    let token = account(&s, "again@example.com").await;
    bind_phone(&s, &token, PHONE).await;
    s.clock.advance(3600);
    ok(&s.post("/api/v1/me/code", json!({"channel": "sms"}), Some(&token)).await, 202);
    let first = s.outbox_code(PHONE).await;
    s.clock.advance(20);
    let r = s.post("/api/v1/me/code", json!({"channel": "voice"}), Some(&token)).await;
    assert_error(&r, 429, "too_many_attempts");
    assert_eq!(r.1["error"]["retry_after_s"], 40);
    s.clock.advance(40);
    let sent = ok(&s.post("/api/v1/me/code", json!({"channel": "voice"}), Some(&token)).await, 202);
    assert_eq!(sent["channel"], "voice");
    let (_, voice) = s.get("/api/v1/dev/outbox?to=%2B447911123456", None).await;
    s.settle().await;
    let (_, voice2) = s.get("/api/v1/dev/outbox?to=%2B447911123456", None).await;
    let spoken = voice2["messages"][0]["body"].as_str().unwrap();
    assert_eq!(voice2["messages"][0]["channel"], "voice", "{voice} {voice2}");
    let digits: String = spoken.chars().filter(char::is_ascii_digit).collect();
    assert_eq!(digits.len(), 12, "the code twice, digit by digit: {spoken}");
    let second = digits[..6].to_owned();
    assert_eq!(&digits[6..], second);
    assert!(spoken.contains(&second.chars().map(String::from).collect::<Vec<_>>().join(", ")), "{spoken}");
    let w = |code: &str| json!({"asset": "BTC", "amount": "1", "address": "bc1qexample", "code": code});
    if first != second {
        assert_error(&s.post("/api/v1/withdrawals", w(&first), Some(&token)).await, 401, "invalid_code");
    }
    ok(&s.post("/api/v1/withdrawals", w(&second), Some(&token)).await, 201);
    s.stop().await;
}

/// Sends codes until refused; returns how many were accepted and the refusal.
async fn until_refused(
    s: &TestServer,
    mut send: impl AsyncFnMut(usize) -> (reqwest::StatusCode, Value),
) -> (usize, Value) {
    for i in 0..50 {
        let r = send(i).await;
        if r.0 == 429 {
            assert_error(&r, 429, "too_many_attempts");
            return (i, r.1);
        }
        assert_eq!(r.0, 202, "{}", r.1);
        s.clock.advance(1);
    }
    panic!("never refused");
}

fn no_caps() -> twostep_app::Settings {
    twostep_app::Settings {
        // The clock moves by hours here; one confirmation covers the test.
        sudo_ttl_s: 30 * 86_400,
        resend_after_s: 0,
        codes_per_destination_per_hour: 1000,
        codes_per_destination_per_day: 1000,
        codes_per_account_per_hour: 1000,
        codes_per_account_per_day: 1000,
        codes_sent_per_ip_per_hour: 1000,
        ..test_settings()
    }
}

/// A server with one cap set low, its clock just after midnight UTC so that
/// no hour or day boundary falls inside the test.
async fn capped(settings: twostep_app::Settings) -> TestServer {
    let s = TestServer::start_with(Backend::Sqlite, settings).await;
    s.clock.set(s.now() - s.now().rem_euclid(86_400) + 60);
    s
}

#[tokio::test]
async fn every_sending_cap_answers_429_with_retry_after() {
    let phones: Vec<String> = (0..50).map(|i| format!("+4479111234{i:02}")).collect();
    let hour_left = |s: &TestServer| 3600 - s.now().rem_euclid(3600);
    let day_left = |s: &TestServer| 86_400 - s.now().rem_euclid(86_400);

    // Per destination per hour: three accounts texting one number share it.
    let s = capped(twostep_app::Settings { codes_per_destination_per_hour: 3, ..no_caps() }).await;
    let tokens =
        [account(&s, "d1@example.com").await, account(&s, "d2@example.com").await, account(&s, "d3@example.com").await];
    let (sent, body) =
        until_refused(&s, async |i| s.post("/api/v1/me/phone", json!({"phone": PHONE}), Some(&tokens[i % 3])).await)
            .await;
    assert_eq!(sent, 3, "{body}");
    assert_eq!(body["error"]["retry_after_s"], hour_left(&s));
    // Another number is not affected.
    ok(&s.post("/api/v1/me/phone", json!({"phone": phones[1]}), Some(&tokens[0])).await, 202);
    s.stop().await;

    // Per destination per day.
    let s = capped(twostep_app::Settings { codes_per_destination_per_day: 4, ..no_caps() }).await;
    let t = account(&s, "dd@example.com").await;
    let (sent, body) = until_refused(&s, async |_| {
        s.clock.advance(3600); // a new hour each time: only the daily cap can refuse
        s.post("/api/v1/me/phone", json!({"phone": PHONE}), Some(&t)).await
    })
    .await;
    assert_eq!(sent, 4, "{body}");
    assert_eq!(body["error"]["retry_after_s"], day_left(&s));
    assert!(day_left(&s) > 3600);
    s.stop().await;

    // Per account per hour, over different numbers (the sign-up code went
    // out before the account existed).
    let s = capped(twostep_app::Settings { codes_per_account_per_hour: 3, ..no_caps() }).await;
    let t = account(&s, "ah@example.com").await;
    let (sent, body) =
        until_refused(&s, async |i| s.post("/api/v1/me/phone", json!({"phone": phones[i]}), Some(&t)).await).await;
    assert_eq!(sent, 3, "{body}");
    assert_eq!(body["error"]["retry_after_s"], hour_left(&s));
    s.stop().await;

    // Per account per day.
    let s = capped(twostep_app::Settings { codes_per_account_per_day: 5, ..no_caps() }).await;
    let t = account(&s, "ad@example.com").await;
    let (sent, body) = until_refused(&s, async |i| {
        s.clock.advance(3600);
        s.post("/api/v1/me/phone", json!({"phone": phones[i]}), Some(&t)).await
    })
    .await;
    assert_eq!(sent, 5, "{body}");
    assert_eq!(body["error"]["retry_after_s"], day_left(&s));
    s.stop().await;

    // Per IP per hour, across accounts and numbers; the two sign-up codes
    // came from this IP too.
    let s = capped(twostep_app::Settings { codes_sent_per_ip_per_hour: 6, ..no_caps() }).await;
    let t = account(&s, "ip1@example.com").await;
    let u = account(&s, "ip2@example.com").await;
    let (sent, body) = until_refused(&s, async |i| {
        let token = if i % 2 == 0 { &t } else { &u };
        s.post("/api/v1/me/phone", json!({"phone": phones[i]}), Some(token)).await
    })
    .await;
    assert_eq!(sent, 4, "{body}");
    assert_eq!(body["error"]["retry_after_s"], hour_left(&s));
    // Refused requests send nothing.
    s.settle().await;
    let counts = twostep_app::ports::MessageQueueStore::queue_counts(&s.store).await.unwrap();
    assert_eq!(counts.sent, 6);
    s.stop().await;
}

#[tokio::test]
async fn a_code_works_only_for_the_purpose_it_was_sent_for() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        let token = account(&s, "purpose@example.com").await;
        bind_phone(&s, &token, PHONE).await;
        // With a phone bound, the session is confirmed with it from now on.
        s.sudo_sms(&token, PHONE).await;
        s.clock.advance(61);
        let w = |code: &str| json!({"asset": "BTC", "amount": "1", "address": "bc1qexample", "code": code});

        // A login code is refused for step-up and for binding a phone...
        let login_id = ok(&s.login("purpose@example.com", PW).await, 200)["login_id"].as_str().unwrap().to_owned();
        ok(&s.post(&format!("/api/v1/login/{login_id}/code"), json!({"channel": "sms"}), None).await, 202);
        let login_code = s.outbox_code(PHONE).await;
        assert_error(&s.post("/api/v1/withdrawals", w(&login_code), Some(&token)).await, 401, "invalid_code");
        assert_error(
            &s.post("/api/v1/me/phone/confirm", json!({"code": login_code}), Some(&token)).await,
            401,
            "invalid_code",
        );
        // ...and on another channel than the one it went to (the e-mail is
        // no sign-in method beside a phone; the voice call is one).
        let verify = format!("/api/v1/login/{login_id}/code/verify");
        assert_error(&s.post(&verify, json!({"channel": "email", "code": login_code}), None).await, 409, "conflict");
        assert_error(
            &s.post(&verify, json!({"channel": "voice", "code": login_code}), None).await,
            401,
            "invalid_code",
        );
        // It still works for the login it was sent for.
        ok(&s.post(&verify, json!({"channel": "sms", "code": login_code}), None).await, 200);

        // A step-up code is refused for a login and for binding a phone.
        s.clock.advance(61);
        ok(&s.post("/api/v1/me/code", json!({"channel": "sms"}), Some(&token)).await, 202);
        let step_up = s.outbox_code(PHONE).await;
        let login_id = ok(&s.login("purpose@example.com", PW).await, 200)["login_id"].as_str().unwrap().to_owned();
        let verify = format!("/api/v1/login/{login_id}/code/verify");
        assert_error(&s.post(&verify, json!({"channel": "sms", "code": step_up}), None).await, 401, "invalid_code");
        assert_error(
            &s.post("/api/v1/me/phone/confirm", json!({"code": step_up}), Some(&token)).await,
            401,
            "invalid_code",
        );

        // It still works for its own purpose (and confirms the session).
        ok(&s.post("/api/v1/withdrawals", w(&step_up), Some(&token)).await, 201);

        // A phone-binding code is refused for step-up and for a login.
        ok(&s.post("/api/v1/me/phone", json!({"phone": "+447911123789"}), Some(&token)).await, 202);
        let bind = s.outbox_code("+447911123789").await;
        assert_error(&s.post("/api/v1/withdrawals", w(&bind), Some(&token)).await, 401, "invalid_code");
        assert_error(&s.post(&verify, json!({"channel": "sms", "code": bind}), None).await, 401, "invalid_code");
        ok(&s.post("/api/v1/me/phone/confirm", json!({"code": bind}), Some(&token)).await, 200);
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sent_code_submitted_twice_at_once_succeeds_once() {
    for backend in BOTH {
        let s = TestServer::start_with(backend, twostep_app::Settings { resend_after_s: 60, ..no_caps() }).await;
        let token = account(&s, "race@example.com").await;
        bind_phone(&s, &token, PHONE).await;
        for round in 0..4 {
            s.clock.advance(61);
            let login_id = ok(&s.login("race@example.com", PW).await, 200)["login_id"].as_str().unwrap().to_owned();
            ok(&s.post(&format!("/api/v1/login/{login_id}/code"), json!({"channel": "sms"}), None).await, 202);
            let code = s.outbox_code(PHONE).await;
            let path = format!("/api/v1/login/{login_id}/code/verify");
            let body = json!({"channel": "sms", "code": code});
            let (a, b) = tokio::join!(s.post(&path, body.clone(), None), s.post(&path, body.clone(), None));
            let wins = [&a, &b].iter().filter(|r| r.0 == 200).count();
            assert_eq!(wins, 1, "{backend:?} round {round}: {a:?} {b:?}");
            let loser = if a.0 == 200 { &b } else { &a };
            assert!(loser.0 == 401 || loser.0 == 409, "{loser:?}");

            // The same for a step-up code spent on two withdrawals at once.
            s.clock.advance(61);
            ok(&s.post("/api/v1/me/code", json!({"channel": "sms"}), Some(&token)).await, 202);
            let code = s.outbox_code(PHONE).await;
            let w = json!({"asset": "BTC", "amount": "1", "address": "bc1qexample", "code": code});
            let (a, b) = tokio::join!(
                s.post("/api/v1/withdrawals", w.clone(), Some(&token)),
                s.post("/api/v1/withdrawals", w.clone(), Some(&token))
            );
            let wins = [&a, &b].iter().filter(|r| r.0 == 201).count();
            assert_eq!(wins, 1, "{backend:?} round {round}: {a:?} {b:?}");
        }
        s.stop().await;
    }
}
