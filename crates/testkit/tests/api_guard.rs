//! Refusals: brute force, lockout, rate limits, the captcha, e-mail
//! confirmation, bad input, and the service endpoints (OpenAPI, metrics).

mod common;

use common::{assert_error, ok};
use serde_json::{Value, json};
use twostep_testkit::{Backend, TestServer, db::BOTH, oathtool, test_settings};

const PW: &str = "correct horse battery";

async fn totp_account(s: &TestServer, email: &str) -> String {
    s.verified_account(email, PW).await;
    let token = s.session(email, PW).await;
    s.enrol_totp(&token).await
}

async fn login_id(s: &TestServer, email: &str) -> String {
    let body = ok(&s.login(email, PW).await, 200);
    body["login_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_login_attempt_dies_after_five_wrong_codes_and_the_account_backs_off() {
    let s = TestServer::start(Backend::Sqlite).await;
    let key = totp_account(&s, "bf@example.com").await;
    s.clock.advance(30);
    let id = login_id(&s, "bf@example.com").await;
    let path = format!("/api/v1/login/{id}/totp");
    for _ in 0..5 {
        assert_error(&s.post(&path, json!({"code": "000000"}), None).await, 401, "invalid_code");
    }
    // Dead: even the right code is refused.
    let r = s.post(&path, json!({"code": oathtool(&key, s.now())}), None).await;
    assert_error(&r, 429, "too_many_attempts");
    assert!(r.1["error"]["retry_after_s"].as_i64().unwrap() >= 1);

    // Five more failures on a new attempt make ten in 15 minutes: the next
    // second step, even with the right code, is throttled with a growing
    // delay (the password step itself is not: guessing codes needs the
    // password, and the password step must not lock its owner out).
    let id = login_id(&s, "bf@example.com").await;
    for _ in 0..5 {
        assert_error(
            &s.post(&format!("/api/v1/login/{id}/totp"), json!({"code": "111111"}), None).await,
            401,
            "invalid_code",
        );
    }
    let id = login_id(&s, "bf@example.com").await;
    let r = s.post(&format!("/api/v1/login/{id}/totp"), json!({"code": oathtool(&key, s.now())}), None).await;
    assert_error(&r, 429, "too_many_attempts");
    assert_eq!(r.1["error"]["retry_after_s"], 60);
    s.clock.advance(61);
    assert_error(
        &s.post(&format!("/api/v1/login/{id}/totp"), json!({"code": "222222"}), None).await,
        401,
        "invalid_code",
    );
    let r = s.post(&format!("/api/v1/login/{id}/totp"), json!({"code": oathtool(&key, s.now())}), None).await;
    assert_eq!(r.1["error"]["retry_after_s"], 120, "backing off: {r:?}");
    // After the wait the owner gets in, and success clears the streak.
    s.clock.advance(121);
    let id = login_id(&s, "bf@example.com").await;
    ok(&s.post(&format!("/api/v1/login/{id}/totp"), json!({"code": oathtool(&key, s.now())}), None).await, 200);
    login_id(&s, "bf@example.com").await;
    s.stop().await;
}

#[tokio::test]
async fn one_hundred_consecutive_failures_lock_the_second_factor() {
    let s = TestServer::start(Backend::Sqlite).await;
    let key = totp_account(&s, "lock@example.com").await;
    let mut failures = 0;
    while failures < 100 {
        s.clock.advance(3 * 3600); // past every throttle window
        let id = login_id(&s, "lock@example.com").await;
        for _ in 0..5 {
            assert_error(
                &s.post(&format!("/api/v1/login/{id}/totp"), json!({"code": "999999"}), None).await,
                401,
                "invalid_code",
            );
            failures += 1;
        }
    }
    s.clock.advance(3 * 3600);
    let id = login_id(&s, "lock@example.com").await;
    let r = s.post(&format!("/api/v1/login/{id}/totp"), json!({"code": oathtool(&key, s.now())}), None).await;
    assert_error(&r, 429, "too_many_attempts");
    let kinds: Vec<Value> =
        s.app.store.audit_events(None, 500).await.unwrap().into_iter().map(|e| json!(e.kind)).collect();
    assert!(kinds.contains(&json!("second_factor_locked")));
    s.stop().await;
}

#[tokio::test]
async fn unknown_email_and_wrong_password_are_indistinguishable() {
    let s = TestServer::start(Backend::Sqlite).await;
    s.verified_account("known@example.com", PW).await;
    let unknown = s.login("nobody@example.com", PW).await;
    let wrong = s.login("known@example.com", "wrong password").await;
    assert_error(&unknown, 401, "invalid_credentials");
    assert_eq!(unknown, wrong, "same status and body");
    // Both need harder puzzles after the same number of failures, so that
    // reveals nothing either.
    for _ in 0..9 {
        s.login("nobody@example.com", PW).await;
        s.login("known@example.com", "wrong password").await;
    }
    let unknown = s.login("nobody@example.com", PW).await;
    let wrong = s.login("known@example.com", "wrong password").await;
    assert_error(&unknown, 400, "captcha_failed");
    assert_eq!(unknown.1["error"]["difficulty_bits"], 9, "{}", unknown.1);
    assert_eq!(unknown, wrong);
    s.stop().await;
}

#[tokio::test]
async fn per_ip_limits_answer_429_with_retry_after() {
    let mut settings = test_settings();
    settings.login_per_ip_per_minute = 3;
    settings.accounts_per_ip_per_hour = 2;
    let s = TestServer::start_with(Backend::Sqlite, settings).await;
    for _ in 0..3 {
        assert_error(&s.login("x@example.com", PW).await, 401, "invalid_credentials");
    }
    let r = s.login("x@example.com", PW).await;
    assert_error(&r, 429, "too_many_attempts");
    let wait = r.1["error"]["retry_after_s"].as_i64().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    for i in 0..2 {
        ok(&s.post("/api/v1/accounts", json!({"email": format!("n{i}@example.com"), "password": PW}), None).await, 202);
    }
    assert_error(
        &s.post("/api/v1/accounts", json!({"email": "n9@example.com", "password": PW}), None).await,
        429,
        "too_many_attempts",
    );
    s.stop().await;
}

#[tokio::test]
async fn the_captcha_is_required_single_use_expiring_and_checked() {
    let s = TestServer::start(Backend::Sqlite).await;
    s.verified_account("cap@example.com", PW).await;
    let login = |captcha: Value| {
        s.post("/api/v1/login", json!({"email": "cap@example.com", "password": PW, "captcha": captcha}), None)
    };
    assert_error(
        &s.post("/api/v1/login", json!({"email": "cap@example.com", "password": PW}), None).await,
        400,
        "captcha_failed",
    );
    let (_, c) = s.get("/api/v1/captcha", None).await;
    assert_eq!(c["difficulty_bits"], 8);
    // A nonce that does not meet the difficulty.
    let salt = c["salt"].as_str().unwrap();
    let bad = (0u64..).map(|n| n.to_string()).find(|n| !twostep_domain::captcha::pow_ok(salt, n, 8)).unwrap();
    assert_error(&login(json!({"challenge_id": c["challenge_id"], "nonce": bad})).await, 400, "captcha_failed");
    let solved = s.solved_captcha().await;
    ok(&login(solved.clone()).await, 200);
    assert_error(&login(solved).await, 400, "captcha_failed");
    let solved = s.solved_captcha().await;
    s.clock.advance(301);
    assert_error(&login(solved).await, 400, "captcha_failed");
    assert_error(&login(json!({"challenge_id": "nope", "nonce": "1"})).await, 400, "captcha_failed");
    s.stop().await;
}

#[tokio::test]
async fn e_mail_confirmation_codes_are_checked_and_sign_up_reveals_nothing() {
    let s = TestServer::start(Backend::Sqlite).await;
    ok(&s.post("/api/v1/accounts", json!({"email": "new@example.com", "password": PW}), None).await, 202);
    assert_error(&s.login("new@example.com", PW).await, 403, "email_unverified");
    // Unconfirmed: a wrong password still gets the generic answer.
    assert_error(&s.login("new@example.com", "wrong password").await, 401, "invalid_credentials");
    let code = s.outbox_code("new@example.com").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        assert_error(
            &s.post("/api/v1/accounts/verify-email", json!({"email": "new@example.com", "code": wrong}), None).await,
            401,
            "invalid_code",
        );
    }
    // Five tries spent the code: the right one no longer works.
    assert_error(
        &s.post("/api/v1/accounts/verify-email", json!({"email": "new@example.com", "code": code}), None).await,
        401,
        "invalid_code",
    );
    // Signing up again sends a fresh code.
    s.clock.advance(61);
    ok(&s.post("/api/v1/accounts", json!({"email": "new@example.com", "password": PW}), None).await, 202);
    let code = s.outbox_code("new@example.com").await;
    ok(&s.post("/api/v1/accounts/verify-email", json!({"email": "new@example.com", "code": code}), None).await, 200);
    assert_error(
        &s.post("/api/v1/accounts/verify-email", json!({"email": "new@example.com", "code": code}), None).await,
        401,
        "invalid_code",
    );
    assert_error(
        &s.post("/api/v1/accounts/verify-email", json!({"email": "ghost@example.com", "code": code}), None).await,
        401,
        "invalid_code",
    );

    // A taken address answers 202 like any other; the owner is told instead.
    let before = s.get("/api/v1/dev/outbox?to=new@example.com", None).await.1["messages"].as_array().unwrap().len();
    let r = ok(
        &s.post("/api/v1/accounts", json!({"email": "NEW@example.com", "password": "another password"}), None).await,
        202,
    );
    assert_eq!(r, json!({"status": "confirmation_sent"}));
    s.settle().await;
    let messages = s.get("/api/v1/dev/outbox?to=new@example.com", None).await.1["messages"].clone();
    assert_eq!(messages.as_array().unwrap().len(), before + 1);
    assert!(messages[0]["body"].as_str().unwrap().contains("tried to create"));
    assert!(twostep_testkit::extract_code(messages[0]["body"].as_str().unwrap()).is_none());
    assert_error(&s.login("new@example.com", "another password").await, 401, "invalid_credentials");
    s.session("new@example.com", PW).await;
    s.stop().await;
}

#[tokio::test]
async fn bad_input_gets_the_contract_error_never_a_500() {
    let s = TestServer::start(Backend::Sqlite).await;
    let raw = |path: &str, body: &'static str, ctype: &'static str| {
        let req = s.client().post(format!("{}{path}", s.url)).header("content-type", ctype).body(body);
        async move {
            let r = req.send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    assert_error(&raw("/api/v1/accounts", "{not json", "application/json").await, 400, "invalid_request");
    let r = raw("/api/v1/accounts", r#"{"email": 5, "password": "x"}"#, "application/json").await;
    assert_error(&r, 400, "invalid_request");
    assert!(r.1["error"]["message"].as_str().unwrap().contains("email"));
    let r = raw("/api/v1/accounts", r#"{"email": "a@example.com"}"#, "application/json").await;
    assert_error(&r, 400, "invalid_request");
    assert!(r.1["error"]["message"].as_str().unwrap().contains("password"));
    assert_error(&raw("/api/v1/accounts", "{}", "text/plain").await, 415, "unsupported_media_type");
    let big: &'static str =
        Box::leak(format!("{{\"email\": \"{}\", \"password\": \"x\"}}", "a".repeat(100_000)).into_boxed_str());
    assert_error(&raw("/api/v1/accounts", big, "application/json").await, 413, "payload_too_large");
    let r = s.post("/api/v1/accounts", json!({"email": "not-an-email", "password": PW}), None).await;
    assert_error(&r, 400, "invalid_request");
    let r = s.post("/api/v1/accounts", json!({"email": "ok@example.com", "password": "short"}), None).await;
    assert_error(&r, 400, "invalid_request");
    let r = s.post("/api/v1/accounts", json!({"email": "ok@example.com", "password": "x".repeat(129)}), None).await;
    assert_error(&r, 400, "invalid_request");
    assert_error(&s.post("/api/v1/login/unknown/totp", json!({"code": "123456"}), None).await, 404, "not_found");
    assert_error(&s.post("/api/v1/login/unknown/code", json!({"channel": "fax"}), None).await, 400, "invalid_request");
    assert_error(&s.get("/api/v1/me", None).await, 401, "unauthorized");
    assert_error(&s.get("/api/v1/me", Some("forged-token")).await, 401, "unauthorized");
    assert_error(&s.get("/api/v1/nothing-here", None).await, 404, "not_found");
    assert_error(&s.call("DELETE", "/api/v1/login", None, None).await, 405, "method_not_allowed");
    let token = {
        s.verified_account("in@example.com", PW).await;
        s.session("in@example.com", PW).await
    };
    s.sudo_password(&token).await;
    let w = json!({"asset": "BTC", "amount": "-1", "address": "x", "code": "123456"});
    assert_error(&s.post("/api/v1/withdrawals", w, Some(&token)).await, 400, "invalid_request");
    let r = s
        .post("/api/v1/me/totp/confirm", json!({"setup_id": "nope", "backup_key": "AAAA", "code": "1"}), Some(&token))
        .await;
    assert_error(&r, 404, "not_found");
    let r =
        s.post("/api/v1/me/totp/confirm", json!({"setup_id": 1, "backup_key": [], "code": null}), Some(&token)).await;
    assert_error(&r, 400, "invalid_request");
    s.stop().await;
}

#[tokio::test]
async fn openapi_documents_every_route_and_metrics_count_requests() {
    let s = TestServer::start(Backend::Sqlite).await;
    let doc = ok(&s.get("/api/openapi.json", None).await, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let expected = [
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/metrics"),
        ("get", "/api/openapi.json"),
        ("post", "/api/v1/accounts"),
        ("post", "/api/v1/accounts/verify-email"),
        ("get", "/api/v1/captcha"),
        ("post", "/api/v1/login"),
        ("post", "/api/v1/login/{login_id}/totp"),
        ("post", "/api/v1/login/{login_id}/code"),
        ("post", "/api/v1/login/{login_id}/code/verify"),
        ("post", "/api/v1/logout"),
        ("get", "/api/v1/me"),
        ("post", "/api/v1/me/totp"),
        ("post", "/api/v1/me/totp/confirm"),
        ("post", "/api/v1/me/totp/disable"),
        ("post", "/api/v1/me/password"),
        ("get", "/api/v1/me/activity"),
        ("post", "/api/v1/me/code"),
        ("post", "/api/v1/withdrawals"),
        ("get", "/api/v1/dev/outbox"),
        ("post", "/api/v1/me/phone"),
        ("post", "/api/v1/me/phone/confirm"),
        // Lost-2FA recovery and staff review.
        ("get", "/api/v1/security-questions"),
        ("put", "/api/v1/me/security-questions"),
        ("post", "/api/v1/login/{login_id}/recovery"),
        ("get", "/api/v1/recovery/{case_id}"),
        ("post", "/api/v1/recovery/{case_id}/items"),
        ("post", "/api/v1/recovery/{case_id}/codes"),
        ("post", "/api/v1/recovery/{case_id}/codes/verify"),
        ("get", "/api/v1/recovery/{case_id}/questions"),
        ("post", "/api/v1/recovery/{case_id}/answers"),
        ("post", "/api/v1/recovery/{case_id}/identity"),
        ("post", "/api/v1/recovery/{case_id}/submit"),
        ("post", "/api/v1/recovery/cancel"),
        ("get", "/api/v1/admin/recovery-cases"),
        ("get", "/api/v1/admin/recovery-cases/{case_id}"),
        ("get", "/api/v1/admin/recovery-cases/{case_id}/documents/{slot}"),
        ("post", "/api/v1/admin/recovery-cases/{case_id}/approve"),
        ("post", "/api/v1/admin/recovery-cases/{case_id}/reject"),
        ("get", "/api/v1/admin/audit"),
        ("post", "/api/v1/admin/accounts/{account_id}/unfreeze"),
        ("get", "/api/v1/admin/staff"),
    ];
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in expected {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} missing from the document");
    }
    // And every documented operation is served (none answers 404/405 for want of a route).
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace("{login_id}", "0");
            let (status, body) = s.call(&method.to_uppercase(), &concrete, Some(json!({})), None).await;
            let unrouted = status == 405 || (status == 404 && !path.contains('{'));
            assert!(!unrouted, "{method} {path} documented but not served: {status} {body}");
            assert!(status.as_u16() < 500, "{method} {path}: {status}");
        }
    }
    // Schemas are there for request and response bodies.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "LoginBody",
        "LoginResponse",
        "ErrorBody",
        "MeResponse",
        "TotpSetupResponse",
        "PhoneBody",
        "PhoneBoundResponse",
    ] {
        assert!(schemas.contains_key(name), "{name}");
    }

    s.verified_account("m@example.com", PW).await;
    s.session("m@example.com", PW).await;
    s.login("m@example.com", "wrong password").await;
    let (status, _) = s.get("/healthz", None).await;
    assert_eq!(status, 200);
    assert_eq!(s.get("/readyz", None).await.0, 200);
    let text = s.client().get(format!("{}/metrics", s.url)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("twostep_logins_ok_total 1"), "{text}");
    assert!(text.contains("twostep_logins_failed_total 1"), "{text}");
    assert!(
        text.contains(r#"twostep_http_requests_total{method="POST",route="/api/v1/login",status="200"}"#),
        "{text}"
    );
    assert!(text.contains("twostep_http_request_duration_seconds_bucket"), "{text}");
    s.stop().await;
}

/// The value of an unlabelled series in the `/metrics` text.
async fn metric(s: &TestServer, name: &str) -> i64 {
    let text = s.client().get(format!("{}/metrics", s.url)).send().await.unwrap().text().await.unwrap();
    let value =
        text.lines().find_map(|l| l.strip_prefix(&format!("{name} "))).unwrap_or_else(|| panic!("{name} in {text}"));
    value.parse().unwrap_or_else(|e| panic!("{name}: {value}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_sign_in_groups_and_the_outbound_queue() {
    for backend in BOTH {
        let mut s = TestServer::start(backend).await;
        let email = "groups@example.com";
        let token = {
            s.verified_account(email, PW).await;
            s.session(email, PW).await
        };
        let key = s.enrol_totp(&token).await;
        s.settle().await;
        let (groups, writes) =
            (metric(&s, "twostep_signin_groups_total").await, metric(&s, "twostep_signin_group_writes_total").await);
        assert_eq!(metric(&s, "twostep_outbound_queue_failed").await, 0, "{backend:?}");

        // A second sign-in step is committed in a group of its own.
        s.clock.advance(30);
        let body = ok(&s.login(email, PW).await, 200);
        let login_id = body["login_id"].as_str().unwrap();
        let code = oathtool(&key, s.now());
        let auth = ok(&s.post(&format!("/api/v1/login/{login_id}/totp"), json!({"code": code}), None).await, 200);
        assert_eq!(auth["status"], "authenticated", "{backend:?}");
        assert_eq!(metric(&s, "twostep_signin_groups_total").await, groups + 1, "{backend:?}");
        assert_eq!(metric(&s, "twostep_signin_group_writes_total").await, writes + 1, "{backend:?}");

        // With delivery stopped, a message queued stays pending.
        s.stop_delivery();
        let pending = metric(&s, "twostep_outbound_queue_pending").await;
        let (status, body) =
            s.post("/api/v1/accounts", json!({"email": "queued@example.com", "password": PW}), None).await;
        assert_eq!(status, 202, "{backend:?}: {body}");
        assert_eq!(metric(&s, "twostep_outbound_queue_pending").await, pending + 1, "{backend:?}");
        s.stop().await;
    }
}
