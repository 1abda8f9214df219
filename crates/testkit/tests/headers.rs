//! Security headers on every response: every operation of the served
//! OpenAPI document is called (signed in and not, with an empty body), plus
//! the successful calls that return secrets, the fallbacks and the pages.
//! Each answer must carry nosniff, a CSP with frame-ancestors 'none',
//! X-Frame-Options DENY and Cache-Control no-store, and any cookie must be
//! HttpOnly and SameSite.

use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use twostep_testkit::{Backend, TestServer, oathtool};

const PW: &str = "correct horse battery";

fn check(what: &str, status: u16, headers: &HeaderMap) {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(get("x-content-type-options"), "nosniff", "{what} ({status})");
    assert!(
        get("content-security-policy").contains("frame-ancestors 'none'"),
        "{what} ({status}): CSP {:?}",
        get("content-security-policy")
    );
    assert_eq!(get("x-frame-options"), "DENY", "{what} ({status})");
    if !what.contains("/assets/") {
        assert!(
            get("cache-control").contains("no-store"),
            "{what} ({status}): cache-control {:?}",
            get("cache-control")
        );
    }
    for cookie in headers.get_all("set-cookie") {
        let c = cookie.to_str().unwrap().to_ascii_lowercase();
        assert!(c.contains("httponly"), "{what}: cookie without HttpOnly: {c}");
        assert!(c.contains("samesite=lax") || c.contains("samesite=strict"), "{what}: cookie without SameSite: {c}");
        assert!(c.contains("path=/"), "{what}: cookie without a path: {c}");
    }
}

async fn send(
    s: &TestServer,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> (u16, HeaderMap, Value) {
    let mut req =
        s.client().request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), format!("{}{path}", s.url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    let body = r.json().await.unwrap_or(Value::Null);
    check(&format!("{method} {path}"), status, &headers);
    (status, headers, body)
}

#[tokio::test]
async fn every_api_operation_answers_with_the_security_headers() {
    let s = TestServer::start(Backend::Sqlite).await;
    s.verified_account("headers@example.com", PW).await;
    let token = s.session("headers@example.com", PW).await;
    s.sudo_password(&token).await;

    // The answers that carry secrets, each a success.
    let (status, _, setup) = send(&s, "POST", "/api/v1/me/totp", Some(json!({})), Some(&token)).await;
    assert_eq!(status, 201);
    let key = setup["backup_key"].as_str().unwrap().to_owned();
    let confirm = json!({"setup_id": setup["setup_id"], "backup_key": key, "code": oathtool(&key, s.now())});
    assert_eq!(send(&s, "POST", "/api/v1/me/totp/confirm", Some(confirm), Some(&token)).await.0, 200);
    s.clock.advance(30);
    let captcha = s.solved_captcha().await;
    let login = json!({"email": "headers@example.com", "password": PW, "captcha": captcha});
    let (status, _, attempt) = send(&s, "POST", "/api/v1/login", Some(login), None).await;
    assert_eq!(status, 200);
    let path = format!("/api/v1/login/{}/totp", attempt["login_id"].as_str().unwrap());
    let (status, _, session) = send(&s, "POST", &path, Some(json!({"code": oathtool(&key, s.now())})), None).await;
    assert_eq!(status, 200, "{session}");
    assert!(session["session_token"].is_string());

    // Every documented operation, signed in and not.
    let (_, _, doc) = send(&s, "GET", "/api/openapi.json", None, None).await;
    let mut calls = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let concrete: String = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "00000000000000000000000000000000" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let m = method.to_ascii_uppercase();
            let body = (m != "GET").then(|| json!({}));
            for t in [None, Some(token.as_str())] {
                send(&s, &m, &concrete, body.clone(), t).await;
                calls += 1;
            }
        }
    }
    assert!(calls >= 80, "only {calls} calls: is the OpenAPI document complete?");

    // The fallbacks, and a body that is too large.
    send(&s, "GET", "/api/v1/no-such-route", None, None).await;
    send(&s, "DELETE", "/api/v1/login", None, None).await;
    let big = json!({"email": "x".repeat(100_000), "password": PW});
    assert_eq!(send(&s, "POST", "/api/v1/accounts", Some(big), None).await.0, 413);
    s.stop().await;
}

#[tokio::test]
async fn pages_answer_with_the_security_headers_and_safe_cookies() {
    let s = TestServer::start(Backend::Sqlite).await;
    let pages = [
        "/",
        "/signup",
        "/confirm",
        "/login",
        "/login/second-step",
        "/account",
        "/account/authenticator",
        "/account/phone",
        "/account/password",
        "/account/activity",
        "/account/withdraw",
        "/dev/outbox",
        "/assets/app.css",
        "/assets/app.js",
        "/assets/pow-worker.js",
    ];
    let mut cookies = 0;
    for page in pages {
        let (_, headers, _) = send(&s, "GET", page, None, None).await;
        cookies += headers.get_all("set-cookie").iter().count();
    }
    for form in ["/signup", "/login", "/logout", "/account/code"] {
        send(&s, "POST", form, None, None).await;
    }
    assert!(cookies > 0, "no page set a cookie: the cookie checks checked nothing");
    s.stop().await;
}
