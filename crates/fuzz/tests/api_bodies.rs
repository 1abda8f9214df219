//! JSON bodies of the auth and account routes, fuzzed through the router
//! (`oneshot`, no sockets) of a real app on a temporary SQLite database:
//! valid seed bodies mutated by value (wrong types, huge strings, deep
//! nesting, odd Unicode, missing and extra fields) and by byte, sent with
//! the right, a wrong or no content type. The second-step routes name live
//! login attempts of accounts with an authenticator (and now and then an
//! unknown one), so the bodies reach the code checks. Every answer must be
//! below 500, and every error must have the contract's shape.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;
use twostep_fuzz::{Rng, fuzz, mutate_json};
use twostep_testkit::{Backend, TestServer, test_settings};
use twostep_web::AppState;

const PW: &str = "correct horse battery";
const N: usize = 20_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_route_bodies() {
    let settings = twostep_app::Settings { captcha_bits: 0, ..test_settings() };
    let s = TestServer::start_with(Backend::Sqlite, settings).await;
    s.verified_account("fuzz@example.com", PW).await;
    let token = s.session("fuzz@example.com", PW).await;
    // Live second steps: 8 accounts with an authenticator, 8 attempts each.
    let mut logins = Vec::new();
    for i in 0..8 {
        let email = format!("fuzz{i}@example.com");
        s.verified_account(&email, PW).await;
        let owner = s.session(&email, PW).await;
        s.enrol_totp(&owner).await;
        for _ in 0..8 {
            let (status, v) = s.login(&email, PW).await;
            assert_eq!(status, 200, "{v}");
            logins.push(v["login_id"].as_str().unwrap().to_owned());
        }
    }
    let router = twostep_web::app(AppState::new(s.app.clone(), true));
    let login = "LOGIN";
    let routes: Vec<(&str, String, bool, Value)> = vec![
        ("POST", "/api/v1/accounts".into(), false, json!({"email": "new@example.com", "password": PW})),
        ("POST", "/api/v1/accounts/verify-email".into(), false, json!({"email": "fuzz@example.com", "code": "123456"})),
        (
            "POST",
            "/api/v1/login".into(),
            false,
            json!({"email": "fuzz@example.com", "password": "wrong", "captcha": {"challenge_id": "x", "nonce": "1"}}),
        ),
        ("POST", format!("/api/v1/login/{login}/totp"), false, json!({"code": "123456"})),
        ("POST", format!("/api/v1/login/{login}/code"), false, json!({"channel": "email"})),
        ("POST", format!("/api/v1/login/{login}/code/verify"), false, json!({"channel": "sms", "code": "123456"})),
        ("POST", format!("/api/v1/login/{login}/recovery"), false, json!({})),
        ("POST", "/api/v1/recovery/cancel".into(), false, json!({"cancel_token": "abc"})),
        (
            "POST",
            "/api/v1/me/totp/confirm".into(),
            true,
            json!({"setup_id": "x", "backup_key": "JBSWY3DPEHPK3PXP", "code": "123456"}),
        ),
        ("POST", "/api/v1/me/totp/disable".into(), true, json!({"code": "123456"})),
        ("POST", "/api/v1/me/phone".into(), true, json!({"phone": "+447911123456"})),
        ("POST", "/api/v1/me/phone/confirm".into(), true, json!({"code": "123456"})),
        ("POST", "/api/v1/me/code".into(), true, json!({"channel": "email"})),
        (
            "POST",
            "/api/v1/me/password".into(),
            true,
            json!({"current_password": "wrong one", "new_password": "another password", "code": "1"}),
        ),
        (
            "PUT",
            "/api/v1/me/security-questions".into(),
            true,
            json!({"answers": [{"question_id": "first_pet", "answer": "Rex"}]}),
        ),
        (
            "POST",
            "/api/v1/withdrawals".into(),
            true,
            json!({"asset": "BTC", "amount": "1", "address": "bc1q", "code": "123456"}),
        ),
        ("POST", "/api/v1/admin/recovery-cases/x/approve".into(), true, json!({"note": "ok"})),
    ];
    // The fuzz input picks the route, the kind of mutation and its seed.
    let seeds: Vec<Vec<u8>> = (0..routes.len() as u8).map(|i| vec![i, 0, 0, 0, 0, 0, 0, 0, 0]).collect();
    let seed_refs: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
    let handle = tokio::runtime::Handle::current();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let mut codes_checked = 0usize;
    let ran = tokio::task::block_in_place(|| {
        fuzz("api_bodies", &seed_refs, N, |input| {
            let (method, path, auth, seed) = &routes[usize::from(input.first().copied().unwrap_or(0)) % routes.len()];
            let mut rng = Rng::new(input.iter().fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(*b))));
            let h = rng.next_u64();
            let pick = rng.next_u64() as usize % (logins.len() + 1);
            let unknown = "00000000000000000000000000000000".to_owned();
            let path = path.replace("LOGIN", logins.get(pick).unwrap_or(&unknown));
            let body: Vec<u8> = match h % 4 {
                0 => seed.to_string().into_bytes(),
                1 | 2 => mutate_json(&mut rng, seed).to_string().into_bytes(),
                _ => twostep_fuzz::mutate(&mut rng, seed.to_string().as_bytes(), input.get(1..).unwrap_or_default()),
            };
            let content_type = match (h >> 8) % 16 {
                0 => None,
                1 => Some("text/plain"),
                2 => Some("application/json; charset=latin1"),
                _ => Some("application/json"),
            };
            let mut req = Request::builder().method(*method).uri(path.as_str());
            if let Some(ct) = content_type {
                req = req.header("content-type", ct);
            }
            if *auth {
                req = req.header("authorization", format!("Bearer {token}"));
            }
            let req = req.body(Body::from(body.clone())).unwrap();
            let (status, bytes) = handle.block_on(async {
                let resp = router.clone().oneshot(req).await.unwrap();
                let status = resp.status();
                (status, axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap())
            });
            *statuses.entry(status.as_u16()).or_default() += 1;
            if path.starts_with("/api/v1/login/")
                && serde_json::from_slice::<Value>(&bytes).is_ok_and(|v| v["error"]["code"] == "invalid_code")
            {
                codes_checked += 1;
            }
            let shown = String::from_utf8_lossy(&body).chars().take(300).collect::<String>();
            assert!(
                status.as_u16() < 500,
                "{method} {path} answered {status} to {shown:?}: {}",
                String::from_utf8_lossy(&bytes)
            );
            if !status.is_success() {
                let v: Value = serde_json::from_slice(&bytes)
                    .unwrap_or_else(|_| panic!("{method} {path}: {status} without a JSON error body"));
                assert!(v["error"]["code"].is_string() && v["error"]["message"].is_string(), "{method} {path}: {v}");
                if status == StatusCode::TOO_MANY_REQUESTS {
                    assert!(v["error"]["retry_after_s"].is_i64(), "{v}");
                }
            }
        })
    });
    assert!(ran >= N);
    println!("auth route answers by status: {statuses:?}");
    // The loop must get past the extractors into the use cases, not only
    // collect 400s: successes and the use cases' own refusals must show.
    assert!(statuses.keys().any(|s| *s < 300) && statuses.contains_key(&401), "{statuses:?}");
    // And the second step's bodies must reach the code check itself.
    println!("second-step codes checked and refused: {codes_checked}");
    assert!(codes_checked > 0, "no second-step body reached a code check");
    s.stop().await;
}
