//! Every security event of a sign-in lands with its effect or not at all:
//! while the audit log refuses writes, the password step, the sign-in of an
//! account without a second factor, the second step and logout all fail and
//! change nothing, on both backends.

mod common;

use common::ok;
use serde_json::json;
use twostep_app::ports::AuditStore;
use twostep_testkit::contract::{label, refuse_audit_writes};
use twostep_testkit::{TestServer, db::BOTH, oathtool};

const PW: &str = "correct horse battery";

async fn count(s: &TestServer, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(s.store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_in_events_land_with_their_effect_or_the_request_fails() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        let l = label(backend);
        s.verified_account("plain@example.com", PW).await;
        s.verified_account("guarded@example.com", PW).await;
        let guarded = s.session("guarded@example.com", PW).await;
        let key = s.enrol_totp(&guarded).await;
        let token = s.session("plain@example.com", PW).await;
        // A second step waiting for its code, and the next step's code.
        s.clock.advance(30);
        let login_id = ok(&s.login("guarded@example.com", PW).await, 200)["login_id"].as_str().unwrap().to_owned();
        let code = oathtool(&key, s.now());
        let (sessions, attempts) = (count(&s, "sessions").await, count(&s, "login_attempts").await);

        refuse_audit_writes(&s.store, l, true).await;
        let failed = |r: &(reqwest::StatusCode, serde_json::Value), what: &str| {
            assert!(r.0.is_server_error(), "{l}: {what} answered {} {}", r.0, r.1);
        };
        failed(&s.login("plain@example.com", PW).await, "a sign-in without a second factor");
        failed(&s.login("guarded@example.com", PW).await, "a password step");
        failed(&s.login("plain@example.com", "not the password").await, "a wrong password");
        let second = s.post(&format!("/api/v1/login/{login_id}/totp"), json!({"code": code}), None).await;
        failed(&second, "a second step");
        failed(&s.post("/api/v1/logout", json!({}), Some(&token)).await, "logout");
        assert_eq!(count(&s, "sessions").await, sessions, "{l}: no session opened");
        assert_eq!(count(&s, "login_attempts").await, attempts, "{l}: no password step recorded");
        let me = s.get("/api/v1/me", Some(&token)).await;
        assert_eq!(me.0, 200, "{l}: the session whose logout failed still works: {}", me.1);

        // With the log back, the same code completes the same sign-in: the
        // failed step used nothing.
        refuse_audit_writes(&s.store, l, false).await;
        let done = ok(&s.post(&format!("/api/v1/login/{login_id}/totp"), json!({"code": code}), None).await, 200);
        assert!(done["session_token"].is_string(), "{l}: {done}");
        ok(&s.post("/api/v1/logout", json!({}), Some(&token)).await, 204);
        let kinds: Vec<String> = s.store.audit_events(None, 3).await.unwrap().into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["logout", "login_ok", "login_password_ok"], "{l}");
        s.stop().await;
    }
}
