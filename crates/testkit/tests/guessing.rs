//! Password guessing slows the guesser, not the owner (findings 6 and 10
//! of the takeover review), and a password thief cannot use up or silently
//! replace the owner's recovery (finding 7). Through the HTTP API, with
//! concurrent guesses and clients at separate loopback addresses.

mod common;

use common::{assert_error, ok};
use serde_json::{Value, json};
use twostep_testkit::db::BOTH;
use twostep_testkit::recovery::{PW, totp_owner};
use twostep_testkit::{Backend, TestServer, client_from, solve_pow, test_settings};

async fn puzzle(s: &TestServer, query: &str) -> (Value, u64) {
    let c = ok(&s.get(&format!("/api/v1/captcha{query}"), None).await, 200);
    let bits = c["difficulty_bits"].as_u64().unwrap();
    let nonce = solve_pow(c["salt"].as_str().unwrap(), bits as u32);
    (json!({"challenge_id": c["challenge_id"], "nonce": nonce}), bits)
}

fn login_body(email: &str, password: &str, captcha: Value) -> Value {
    json!({"email": email, "password": password, "captcha": captcha})
}

/// Finding 6: wrong passwords from anyone no longer lock the owner out; the
/// address's puzzles get harder instead, and the owner still gets in.
#[tokio::test]
async fn wrong_passwords_from_anyone_do_not_lock_the_owner_out() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        s.verified_account("owner@example.com", PW).await;
        let (_, base_bits) = puzzle(&s, "").await;
        for i in 0..20 {
            let (captcha, _) = puzzle(&s, "?email=owner%40example.com").await;
            let r =
                s.post("/api/v1/login", login_body("owner@example.com", &format!("guess {i}"), captcha), None).await;
            assert_error(&r, 401, "invalid_credentials");
        }
        // An ordinary puzzle is now too easy for this address: the answer
        // says how hard one must be, and one asked for the address is.
        let (easy, _) = puzzle(&s, "").await;
        let r = s.post("/api/v1/login", login_body("owner@example.com", PW, easy), None).await;
        assert_error(&r, 400, "captcha_failed");
        let needed = r.1["error"]["difficulty_bits"].as_u64().expect("difficulty_bits");
        assert!(needed > base_bits, "{}", r.1);
        let (hard, bits) = puzzle(&s, "?email=owner%40example.com").await;
        assert_eq!(bits, needed);
        let me = ok(&s.post("/api/v1/login", login_body("owner@example.com", PW, hard), None).await, 200);
        assert_eq!(me["status"], "authenticated", "{me}");
        // Another address is untouched.
        s.verified_account("other@example.com", PW).await;
        let (easy, _) = puzzle(&s, "").await;
        ok(&s.post("/api/v1/login", login_body("other@example.com", PW, easy), None).await, 200);
        s.stop().await;
    }
}

/// Finding 10: concurrent guesses cannot overshoot — failures are reserved
/// before the password is checked, per address and per IP.
#[tokio::test]
async fn concurrent_guesses_cannot_overshoot_the_limits() {
    for backend in BOTH {
        let settings = twostep_app::Settings { password_failures_per_ip_per_hour: 40, ..test_settings() };
        let s = std::sync::Arc::new(TestServer::start_with(backend, settings).await);
        s.verified_account("target@example.com", PW).await;
        let threshold = s.app.settings.failures.threshold as usize;
        // 64 guesses for one address, each with an ordinary solved puzzle,
        // from 8 addresses at once: only `threshold` are checked at all.
        let mut puzzles = Vec::new();
        for _ in 0..64 {
            puzzles.push(puzzle(&s, "").await.0);
        }
        let mut set = tokio::task::JoinSet::new();
        for (i, captcha) in puzzles.into_iter().enumerate() {
            let s = s.clone();
            let client = client_from(&format!("127.0.0.{}", 10 + i % 8));
            set.spawn(async move {
                let body = login_body("target@example.com", &format!("guess {i}"), captcha);
                s.call_with(&client, "POST", "/api/v1/login", Some(body), None).await
            });
        }
        let (mut checked, mut harder) = (0, 0);
        while let Some(r) = set.join_next().await {
            let r = r.unwrap();
            match r.1["error"]["code"].as_str() {
                Some("invalid_credentials") => checked += 1,
                Some("captcha_failed") => harder += 1,
                other => panic!("unexpected {other:?}: {}", r.1),
            }
        }
        assert_eq!(checked, threshold, "exactly the threshold of guesses was checked");
        assert_eq!(harder, 64 - threshold);

        // 100 guesses at once from one IP, each for another address: the
        // per-IP limit of 40 holds exactly.
        let mut puzzles = Vec::new();
        for _ in 0..100 {
            puzzles.push(puzzle(&s, "").await.0);
        }
        let client = client_from("127.0.0.99");
        let mut set = tokio::task::JoinSet::new();
        for (i, captcha) in puzzles.into_iter().enumerate() {
            let (s, client) = (s.clone(), client.clone());
            set.spawn(async move {
                let body = login_body(&format!("nobody{i}@example.com"), "guess", captcha);
                s.call_with(&client, "POST", "/api/v1/login", Some(body), None).await
            });
        }
        let (mut checked, mut refused) = (0, 0);
        while let Some(r) = set.join_next().await {
            let r = r.unwrap();
            match r.1["error"]["code"].as_str() {
                Some("invalid_credentials") => checked += 1,
                Some("too_many_attempts") => refused += 1,
                other => panic!("unexpected {other:?}: {}", r.1),
            }
        }
        assert_eq!((checked, refused), (40, 60));
        std::sync::Arc::into_inner(s).unwrap().stop().await;
    }
}

/// Finding 7: one thief with the password cannot use up the owner's tries
/// to open a recovery, nor replace the owner's case, and the owner hears
/// once per case, not once per retry.
#[tokio::test]
async fn a_password_thief_cannot_block_or_replace_the_owners_recovery() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        // The default: three openings a day per account and opener.
        let recovery = twostep_app::recovery::RecoverySettings::default();
        assert_eq!(recovery.opens_per_opener_per_day, 3);
        let s = TestServer::start_with(backend, twostep_app::Settings { recovery, ..test_settings() }).await;
        let owner = totp_owner(&s, "owner@example.com").await;
        let thief = client_from("127.0.0.2");
        let mine = client_from("127.0.0.3");
        let open_from = |client: reqwest::Client| {
            let (s, email) = (&s, owner.email.clone());
            async move {
                let login = ok(&s.login(&email, PW).await, 200);
                let path = format!("/api/v1/login/{}/recovery", login["login_id"].as_str().unwrap());
                s.call_with(&client, "POST", &path, Some(json!({})), None).await
            }
        };
        let notices = |messages: Vec<Value>| {
            messages.iter().filter(|m| m["body"].as_str().unwrap_or("").contains("started recovering")).count()
        };
        let before = notices(s.messages_to(&owner.email).await);
        // The thief retries from one address: each supersedes the last,
        // the owner is told once, and the opener's cap ends it.
        for _ in 0..3 {
            ok(&open_from(thief.clone()).await, 201);
        }
        assert_error(&open_from(thief.clone()).await, 429, "too_many_attempts");
        assert_eq!(notices(s.messages_to(&owner.email).await), before + 1);
        // The owner, elsewhere, is not silently replacing the thief's case,
        // nor is the owner's own budget spent.
        let r = open_from(mine.clone()).await;
        assert_error(&r, 409, "conflict");
        assert!(r.1["error"]["message"].as_str().unwrap().contains("cancel code"), "{}", r.1);
        // The cancel code from the one notice stops the thief's case ...
        let code = s.cancel_code_to(&owner.email).await.expect("a cancel code");
        let stopped = ok(&s.post("/api/v1/recovery/cancel", json!({"cancel_token": code}), None).await, 200);
        assert_eq!(stopped["status"], "cancelled");
        assert_eq!(stopped["cases_stopped"], 1);
        // ... and the owner opens one of their own.
        let opened = ok(&open_from(mine.clone()).await, 201);
        assert!(opened["case_id"].is_string());
        s.stop().await;
    }
}
