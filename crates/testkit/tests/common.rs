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
