//! What wraps every request: its id and access log line, a time limit, and a
//! last line of defence against a panicking handler. The panic and the time
//! limit answer with the contract's error body like any other refusal, so a
//! client never sees a dropped connection.
//!
//! The access log line (target `twostep::access`) carries the method, the
//! matched route (its template: `/api/v1/recovery/{case_id}`, never the
//! path a client typed nor its query string, which may hold an e-mail
//! address or a token), the status and the duration. Bodies are never
//! logged. Every log line written while the request runs carries its id.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use tracing::Instrument;

use crate::AppState;
use crate::error::ApiError;

pub const REQUEST_ID: &str = "x-request-id";

/// An incoming request id is kept if it is short and plain (a proxy's or
/// load balancer's id, so their logs and ours line up); anything else is
/// replaced, so a client cannot write arbitrary text into our logs.
fn incoming_id(request: &Request) -> Option<String> {
    let id = request.headers().get(REQUEST_ID)?.to_str().ok()?;
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    (!id.is_empty() && id.len() <= 64 && id.chars().all(plain)).then(|| id.to_owned())
}

pub async fn request_context(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = incoming_id(&request).unwrap_or_else(twostep_app::crypto::new_id);
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let (parts, body) = request.into_parts();
    let client = crate::extract::client_ip(&parts, &state.trusted_proxies);
    let request = Request::from_parts(parts, body);
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = next.run(request).instrument(span.clone()).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    span.in_scope(|| {
        tracing::info!(
            target: "twostep::access",
            method = %method,
            route = route.as_deref().unwrap_or("unmatched"),
            status = response.status().as_u16(),
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            client = client.map(|c| c.to_string()).as_deref().unwrap_or("unknown"),
            "request"
        )
    });
    response
}

/// A panic in a handler becomes a 500 with the contract's body; the
/// connection and the process carry on.
pub async fn catch_panic(request: Request, next: Next) -> Response {
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            tracing::error!(%detail, "a request handler panicked");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on our side.")
                .into_response()
        }
    }
}

/// A request still running after `--request-timeout-s` (reading a slow
/// body included) is answered 503 and its work dropped.
pub async fn time_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(state.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(limit_s = state.request_timeout.as_secs_f64(), "a request ran out of time");
            ApiError {
                retry_after_s: Some(1),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "The request took too long; try again.")
            }
            .into_response()
        }
    }
}
