//! Races over real HTTP on both backends: many requests carrying one secret
//! (a TOTP code, a sent code, a captcha solution, a login attempt id, a
//! cancel code, a review decision) start together behind a barrier, and
//! exactly one may win, every time. Afterwards the audit chain, appended to
//! by all those racing transactions, must still verify. The runtime has
//! several threads, so the racers run in parallel, not only interleaved.

mod common;

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use twostep_app::ports::AuditStore;
use twostep_domain::Role;
use twostep_testkit::contract::race;
use twostep_testkit::db::BOTH;
use twostep_testkit::recovery::{submitted_case, totp_owner};
use twostep_testkit::{TestServer, oathtool};

const PW: &str = "correct horse battery";
const PHONE: &str = "+447911123456";
/// Racers per race: more than the 2 cores, and than SQLite's one writer.
const N: usize = 16;

type Answer = (StatusCode, Value);

/// Posts `body` to `path` from `n` tasks at once; each racer's body may differ.
async fn race_posts(
    s: &Arc<TestServer>,
    n: usize,
    path: impl Fn(usize) -> String,
    body: impl Fn(usize) -> Value,
    token: Option<&str>,
) -> Vec<Answer> {
    race(n, |i| {
        let (s, path, body, token) = (s.clone(), path(i), body(i), token.map(str::to_owned));
        async move { s.post(&path, body, token.as_deref()).await }
    })
    .await
}

fn wins(answers: &[Answer], status: u16) -> usize {
    answers.iter().filter(|a| a.0.as_u16() == status).count()
}

fn no_server_errors(l: &str, answers: &[Answer]) {
    for a in answers {
        assert!(!a.0.is_server_error(), "{l}: {a:?}");
    }
}

async fn finish(l: &str, s: Arc<TestServer>) {
    let chain = s.store.verify_audit_chain().await.unwrap();
    assert!(chain.is_ok(), "{l}: audit chain after the races: {chain:?}");
    Arc::try_unwrap(s).ok().expect("racers done").stop().await;
}

async fn totp_login(s: &TestServer, email: &str) -> String {
    let (status, body) = s.login(email, PW).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["login_id"].as_str().expect("second_factor_required").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_totp_code_on_many_login_attempts_signs_in_once() {
    for backend in BOTH {
        let l = format!("{backend:?}");
        let s = Arc::new(TestServer::start(backend).await);
        s.verified_account("totp-race@example.com", PW).await;
        let token = s.session("totp-race@example.com", PW).await;
        let key = s.enrol_totp(&token).await;
        for round in 0..3 {
            // The losers count as failures for the address: wait out the lockout.
            s.clock.advance(2 * 3600);
            let mut logins = Vec::new();
            for _ in 0..N {
                logins.push(totp_login(&s, "totp-race@example.com").await);
            }
            let code = oathtool(&key, s.now());
            let answers =
                race_posts(&s, N, |i| format!("/api/v1/login/{}/totp", logins[i]), |_| json!({"code": code}), None)
                    .await;
            no_server_errors(&l, &answers);
            assert_eq!(wins(&answers, 200), 1, "{l} round {round}: {answers:?}");
            assert!(
                answers.iter().filter(|a| a.0 != 200).all(|a| a.1["error"]["code"] == "invalid_code"),
                "{l}: {answers:?}"
            );
        }
        finish(&l, s).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_codes_completing_one_login_attempt_make_one_session() {
    for backend in BOTH {
        let l = format!("{backend:?}");
        let s = Arc::new(TestServer::start(backend).await);
        s.verified_account("attempt-race@example.com", PW).await;
        let token = s.session("attempt-race@example.com", PW).await;
        let key = s.enrol_totp(&token).await;
        for round in 0..5 {
            // Past the last used step, the previous step's code and the current
            // one are both acceptable, so the two logins share only the attempt id.
            s.clock.advance(2 * 3600);
            let login = totp_login(&s, "attempt-race@example.com").await;
            let codes = [oathtool(&key, s.now() - 30), oathtool(&key, s.now())];
            let path = format!("/api/v1/login/{login}/totp");
            let answers = race_posts(&s, 2, |_| path.clone(), |i| json!({"code": codes[i]}), None).await;
            no_server_errors(&l, &answers);
            assert_eq!(wins(&answers, 200), 1, "{l} round {round}: {answers:?}");
        }
        finish(&l, s).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_sent_code_is_accepted_once() {
    for backend in BOTH {
        let l = format!("{backend:?}");
        let s = Arc::new(TestServer::start(backend).await);
        // The texted code that finishes a sign-in (it belongs to the account,
        // so any of its pending attempts may present it), raced on N attempts.
        s.verified_account("code-race@example.com", PW).await;
        let token = s.session("code-race@example.com", PW).await;
        s.sudo_password(&token).await;
        assert_eq!(
            s.post("/api/v1/me/phone", json!({"phone": "+447911123456"}), Some(&token)).await.0,
            StatusCode::ACCEPTED
        );
        let code = s.outbox_code("+447911123456").await;
        assert_eq!(s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await.0, StatusCode::OK);
        for round in 0..2 {
            // The losers count as failures for the address: wait out the lockout.
            s.clock.advance(2 * 3600);
            let mut logins = Vec::new();
            for _ in 0..N {
                logins.push(totp_login(&s, "code-race@example.com").await);
            }
            let sent = s.post(&format!("/api/v1/login/{}/code", logins[0]), json!({"channel": "sms"}), None).await;
            assert_eq!(sent.0, StatusCode::ACCEPTED, "{l}: {sent:?}");
            let code = s.outbox_code("+447911123456").await;
            let path = |i: usize| format!("/api/v1/login/{}/code/verify", logins[i]);
            let answers = race_posts(&s, N, path, |_| json!({"channel": "sms", "code": code}), None).await;
            no_server_errors(&l, &answers);
            assert_eq!(wins(&answers, 200), 1, "{l} round {round}: {answers:?}");
        }
        // Many submissions of the right code on one attempt (a double-clicking
        // user, a retrying client): one signs in; the others are told the code
        // was just used (409), or, past the code's five tries, that it is
        // refused — never enough failures to kill the attempt being won.
        for (round, copies) in [2, 4, 5, 9].into_iter().enumerate() {
            s.clock.advance(2 * 3600);
            let login = totp_login(&s, "code-race@example.com").await;
            let sent = s.post(&format!("/api/v1/login/{login}/code"), json!({"channel": "sms"}), None).await;
            assert_eq!(sent.0, StatusCode::ACCEPTED, "{l}: {sent:?}");
            let code = s.outbox_code("+447911123456").await;
            let path = format!("/api/v1/login/{login}/code/verify");
            let answers =
                race_posts(&s, copies, |_| path.clone(), |_| json!({"channel": "sms", "code": code}), None).await;
            no_server_errors(&l, &answers);
            assert_eq!(wins(&answers, 200), 1, "{l} one-attempt round {round}: {answers:?}");
            // Copies within the code's tries lose as 409; those past them may
            // be refused (401) if they are refused before the winner commits.
            assert_eq!(
                wins(&answers, 409) + wins(&answers, 401),
                copies - 1,
                "{l} one-attempt round {round}: {answers:?}"
            );
            assert!(wins(&answers, 401) <= copies.saturating_sub(5), "{l} one-attempt round {round}: {answers:?}");
        }
        // An SMS step-up code on many withdrawals: exactly one is recorded.
        s.verified_account("withdraw-race@example.com", PW).await;
        let token = s.session("withdraw-race@example.com", PW).await;
        s.sudo_password(&token).await;
        let (status, _) = s.post("/api/v1/me/phone", json!({"phone": PHONE}), Some(&token)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{l}");
        let code = s.outbox_code(PHONE).await;
        let (status, body) = s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&token)).await;
        assert_eq!(status, StatusCode::OK, "{l}: {body}");
        for round in 0..2 {
            s.clock.advance(2 * 3600);
            let (status, body) = s.post("/api/v1/me/code", json!({"channel": "sms"}), Some(&token)).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{l}: {body}");
            let code = s.outbox_code(PHONE).await;
            let body = |_| json!({"asset": "BTC", "amount": "1", "address": "bc1qexample", "code": code});
            let answers = race_posts(&s, N, |_| "/api/v1/withdrawals".into(), body, Some(&token)).await;
            no_server_errors(&l, &answers);
            assert_eq!(wins(&answers, 201), 1, "{l} withdrawal round {round}: {answers:?}");
        }
        finish(&l, s).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_captcha_solution_is_accepted_once() {
    for backend in BOTH {
        let l = format!("{backend:?}");
        let s = Arc::new(TestServer::start(backend).await);
        s.verified_account("captcha-race@example.com", PW).await;
        for round in 0..3 {
            let captcha = s.solved_captcha().await;
            let body = |_| json!({"email": "captcha-race@example.com", "password": PW, "captcha": captcha});
            let answers = race_posts(&s, N, |_| "/api/v1/login".into(), body, None).await;
            no_server_errors(&l, &answers);
            assert_eq!(wins(&answers, 200), 1, "{l} round {round}: {answers:?}");
            assert!(
                answers.iter().filter(|a| a.0 != 200).all(|a| a.1["error"]["code"] == "captcha_failed"),
                "{l}: {answers:?}"
            );
        }
        finish(&l, s).await;
    }
}

async fn audit_kinds(s: &TestServer, account_id: &str, kind: &str) -> usize {
    s.store.audit_events(Some(account_id), 1000).await.unwrap().iter().filter(|e| e.kind == kind).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_cancel_code_used_many_times_cancels_once() {
    for backend in BOTH {
        let l = format!("{backend:?}");
        let s = Arc::new(TestServer::start(backend).await);
        // Before approval: the case is cancelled once, the owner told once.
        let owner = totp_owner(&s, "cancel-race@example.com").await;
        submitted_case(&s, &owner, json!({"reset": ["authenticator"]})).await;
        let cancel = s.cancel_code_to(&owner.email).await.expect("cancel code");
        let answers =
            race_posts(&s, N, |_| "/api/v1/recovery/cancel".into(), |_| json!({"cancel_token": cancel}), None).await;
        no_server_errors(&l, &answers);
        assert!(answers.iter().all(|a| a.0 == 200), "{l}: {answers:?}");
        let stopped = answers.iter().filter(|a| a.1["status"] == "cancelled").count();
        assert_eq!(stopped, 1, "exactly one stopped the case; the rest found nothing to stop: {l}: {answers:?}");
        assert!(answers.iter().all(|a| a.1["status"] == "cancelled" || a.1["status"] == "nothing_to_stop"), "{l}");
        assert_eq!(audit_kinds(&s, &owner.account_id, "recovery_cancelled").await, 1, "{l}");

        // After approval, during the hold: the account is frozen once.
        let owner = totp_owner(&s, "freeze-race@example.com").await;
        let case = submitted_case(&s, &owner, json!({"reset": ["authenticator"]})).await;
        let cancel = s.cancel_code_to(&owner.email).await.expect("cancel code");
        let rev = s.staff_with_authenticator("rev-cancel@example.com", Role::Reviewer).await.token;
        let approve = format!("/api/v1/admin/recovery-cases/{}/approve", case.id);
        let (status, body) = s.post(&approve, json!({"note": "ok"}), Some(&rev)).await;
        assert_eq!(status, StatusCode::OK, "{l}: {body}");
        let answers =
            race_posts(&s, N, |_| "/api/v1/recovery/cancel".into(), |_| json!({"cancel_token": cancel}), None).await;
        no_server_errors(&l, &answers);
        assert!(answers.iter().all(|a| a.0 == 200 || a.0 == 409), "{l}: {answers:?}");
        assert!(answers.iter().filter(|a| a.0 == 200).all(|a| a.1["account_frozen"] == true), "{l}: {answers:?}");
        assert_eq!(audit_kinds(&s, &owner.account_id, "account_frozen").await, 1, "{l}");
        let (status, body) = s.login(&owner.email, PW).await;
        assert!(status.is_client_error(), "{l}: a frozen account signs in: {body}");
        finish(&l, s).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approve_racing_reject_decides_once() {
    for backend in BOTH {
        let l = format!("{backend:?}");
        let s = Arc::new(TestServer::start(backend).await);
        let alice = s.staff_with_authenticator("alice-staff@example.com", Role::Reviewer).await.token;
        let bob = s.staff_with_authenticator("bob-staff@example.com", Role::Admin).await.token;
        for round in 0..3 {
            let owner = totp_owner(&s, &format!("decide-{round}@example.com")).await;
            let case = submitted_case(&s, &owner, json!({"reset": ["authenticator"]})).await;
            let base = format!("/api/v1/admin/recovery-cases/{}", case.id);
            let answers = race(8, |i| {
                let (s, base, alice, bob) = (s.clone(), base.clone(), alice.clone(), bob.clone());
                async move {
                    if i % 2 == 0 {
                        s.post(&format!("{base}/approve"), json!({"note": "fine"}), Some(&alice)).await
                    } else {
                        s.post(&format!("{base}/reject"), json!({"reason": "no"}), Some(&bob)).await
                    }
                }
            })
            .await;
            no_server_errors(&l, &answers);
            assert_eq!(wins(&answers, 200), 1, "{l} round {round}: {answers:?}");
            assert!(
                answers.iter().filter(|a| a.0 != 200).all(|a| a.1["error"]["code"] == "conflict"),
                "{l}: {answers:?}"
            );
            let winner = answers.iter().find(|a| a.0 == 200).unwrap().1["status"].clone();
            let (_, now) = s.get(&case.path(""), Some(&case.token)).await;
            assert_eq!(now["status"], winner, "{l}: the stored decision is the winner's");
            let approved = audit_kinds(&s, &owner.account_id, "recovery_approved").await;
            let rejected = audit_kinds(&s, &owner.account_id, "recovery_rejected").await;
            assert_eq!(approved + rejected, 1, "{l}: one decision in the audit log");
        }
        finish(&l, s).await;
    }
}
