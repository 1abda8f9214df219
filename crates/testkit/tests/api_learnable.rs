//! The API can be learned from what the server says: every operation of the
//! served OpenAPI document has a summary and a description, and a refused
//! code says when it was refused for having been used already.

mod common;

use common::{assert_error, ok};
use serde_json::json;
use twostep_testkit::{Backend, TOTP_STEP_S, TestServer, oathtool};

const PW: &str = "correct horse battery";

#[tokio::test]
async fn every_operation_has_a_summary_and_a_description() {
    let s = TestServer::start(Backend::Sqlite).await;
    let doc = ok(&s.get("/api/openapi.json", None).await, 200);
    let mut missing = Vec::new();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            operations += 1;
            let summary = op["summary"].as_str().unwrap_or("").trim();
            let description = op["description"].as_str().unwrap_or("").trim();
            // A description that only repeats the summary teaches nothing.
            if summary.is_empty() || description.is_empty() || description == summary {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(operations >= 45, "{operations} operations");
    assert!(missing.is_empty(), "operations without a summary or a description: {missing:?}");

    // The recovery steps can be followed from the document alone: each
    // says which token it takes or what comes next.
    let op = |method: &str, path: &str| doc["paths"][path][method]["description"].as_str().unwrap().to_owned();
    let open = op("post", "/api/v1/login/{login_id}/recovery");
    assert!(open.contains("case_token") && open.contains("/items"), "{open}");
    assert!(op("post", "/api/v1/recovery/{case_id}/items").contains("/codes"));
    assert!(op("post", "/api/v1/recovery/{case_id}/submit").contains("pending_review"));
    // And the captcha's hashing is spelled out.
    let captcha = op("get", "/api/v1/captcha");
    assert!(captcha.contains("SHA-256") && captcha.contains("UTF-8") && captcha.contains("decimal"), "{captcha}");
    s.stop().await;
}

/// Straight after enrolling, the enrolment code's time step is used: signing
/// in with the same code is refused, and the refusal says to wait for the
/// next code (which then works).
#[tokio::test]
async fn a_used_code_is_refused_saying_wait_for_the_next_one() {
    let s = TestServer::start(Backend::Sqlite).await;
    s.verified_account("replay@example.com", PW).await;
    let token = s.session("replay@example.com", PW).await;
    let key = s.enrol_totp(&token).await;
    let used = oathtool(&key, s.now());

    let login = ok(&s.login("replay@example.com", PW).await, 200);
    let path = format!("/api/v1/login/{}/totp", login["login_id"].as_str().unwrap());
    let r = s.post(&path, json!({"code": used}), None).await;
    assert_error(&r, 401, "invalid_code");
    let message = r.1["error"]["message"].as_str().unwrap();
    assert!(message.contains("already used") && message.contains("wait for the next code"), "{message}");

    // A wrong code does not claim to have been used.
    let wrong = if used == "000000" { "111111" } else { "000000" };
    let r = s.post(&path, json!({"code": wrong}), None).await;
    assert_error(&r, 401, "invalid_code");
    assert!(!r.1["error"]["message"].as_str().unwrap().contains("wait for the next code"), "{}", r.1);

    s.clock.advance(TOTP_STEP_S);
    let done = ok(&s.post(&path, json!({"code": oathtool(&key, s.now())}), None).await, 200);
    assert_eq!(done["status"], "authenticated", "{done}");
    s.stop().await;
}
