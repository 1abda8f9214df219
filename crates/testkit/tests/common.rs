//! Shared assertions for the API tests.
#![allow(dead_code)]

use reqwest::StatusCode;
use serde_json::Value;

/// Asserts an error response of the contract: status, code, and a message.
pub fn assert_error(response: &(StatusCode, Value), status: u16, code: &str) {
    let (s, body) = response;
    assert_eq!(s.as_u16(), status, "expected {status} {code}, got {s} {body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

pub fn ok(response: &(StatusCode, Value), status: u16) -> Value {
    let (s, body) = response;
    assert_eq!(s.as_u16(), status, "{body}");
    body.clone()
}

/// One counter from the server's `/metrics`.
pub async fn metric(s: &twostep_testkit::TestServer, name: &str) -> u64 {
    let text = s.client().get(format!("{}/metrics", s.url)).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} in {text}"))
        .parse()
        .unwrap()
}

/// (status, attempts, last error) of each message queued for `recipient`.
pub async fn queued_to(s: &twostep_testkit::TestServer, recipient: &str) -> Vec<(String, i64, String)> {
    sqlx::query_as("SELECT status, attempts, last_error FROM message_queue WHERE recipient = $1 ORDER BY created_at")
        .bind(recipient)
        .fetch_all(s.store.pool())
        .await
        .unwrap()
}

/// Lets every queued message run its course: each time the workers are
/// idle, moves the clock past any backoff, until nothing is left queued.
pub async fn until_queue_done(s: &twostep_testkit::TestServer) {
    use twostep_app::ports::MessageQueueStore;
    for _ in 0..20 {
        s.settle().await;
        if s.store.queue_counts().await.unwrap().queued == 0 {
            return;
        }
        s.clock.advance(60);
    }
    panic!("messages still queued: {:?}", s.store.queue_counts().await.unwrap());
}
