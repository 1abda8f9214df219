//! Health, readiness, metrics, the OpenAPI document and the dev outbox.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::time::rfc3339;

#[derive(Serialize, ToSchema)]
pub struct StatusResponse {
    pub status: String,
}

/// Liveness
///
/// 200 while the process is up.
#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, body = StatusResponse)))]
pub async fn healthz() -> Json<StatusResponse> {
    Json(StatusResponse { status: "ok".into() })
}

/// Readiness
///
/// 200 when the database answers; 503 otherwise.
#[utoipa::path(get, path = "/readyz", tag = "service",
    responses((status = 200, body = StatusResponse), (status = 503, body = ErrorBody)))]
pub async fn readyz(State(s): State<AppState>) -> Response {
    match s.app.store.ping().await {
        Ok(()) => Json(StatusResponse { status: "ready".into() }).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "The database does not answer.")
                .into_response()
        }
    }
}

/// Prometheus metrics
///
/// Counters and histograms in the Prometheus text format; may ask for a bearer token or live on its own listener
/// (`--metrics-token`, `--metrics-listen`).
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"),
              (status = 401, description = "a metrics token is set and was not sent", body = ErrorBody),
              (status = 404, description = "metrics are served on a listener of their own", body = ErrorBody)))]
pub async fn metrics(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if s.metrics_access.separate_listener {
        return ApiError::not_found().into_response();
    }
    metrics_text(State(s), headers).await
}

/// `/metrics` wherever it is served: checks the token (when one is set) in
/// constant time, then renders.
pub async fn metrics_text(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &s.metrics_access.token {
        let sent =
            headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        let ok = sent.is_some_and(|sent| bool::from(sent.as_bytes().ct_eq(token.as_bytes())));
        if !ok {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Send the metrics token as a bearer token.",
            )
            .into_response();
        }
    }
    let mut counters = s.app.counters.snapshot();
    counters.extend(s.app.delivery_counters.snapshot());
    let (groups, writes) = s.app.store.sign_in_groups();
    counters.push(("twostep_signin_groups_total", "Second sign-in steps' group transactions committed.", groups));
    counters.push(("twostep_signin_group_writes_total", "Second sign-in steps committed in those groups.", writes));
    // The queue is shared by every instance; a database that does not answer
    // leaves its gauges out rather than failing the scrape.
    let mut gauges = Vec::new();
    match s.app.store.queue_counts().await {
        Ok(q) => {
            gauges.push(("twostep_outbound_queue_pending", "Messages queued and not yet delivered.", q.queued));
            gauges.push(("twostep_outbound_queue_failed", "Messages given up on, kept until pruned.", q.failed));
            gauges.push((
                "twostep_webhooks_dead_letter",
                "Webhooks and logout tokens to applications given up on, kept until pruned.",
                q.webhooks_failed,
            ));
        }
        Err(e) => tracing::warn!(error = %e, "metrics: the outbound queue could not be counted"),
    }
    let text = s.http_metrics.render(&counters, &gauges);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

#[derive(Deserialize, IntoParams)]
pub struct OutboxQuery {
    /// A phone number or e-mail address; all messages when absent.
    pub to: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OutboxEntry {
    pub id: String,
    pub channel: String,
    pub to: String,
    pub body: String,
    pub sent_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct OutboxResponse {
    /// Newest first.
    pub messages: Vec<OutboxEntry>,
}

/// Development outbox: messages that would have been sent
///
/// Exists only while no e-mail, SMS or voice provider is configured. Messages to `to` (an e-mail address or phone
/// number), newest first; `body` holds the code. For trying the API by hand and for tests.
#[utoipa::path(get, path = "/api/v1/dev/outbox", tag = "dev", params(OutboxQuery),
    responses((status = 200, description = "Only when no provider is configured", body = OutboxResponse)))]
pub async fn outbox(
    State(s): State<AppState>,
    query: Result<Query<OutboxQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<OutboxResponse>> {
    let Query(q) = query.map_err(|_| ApiError::invalid("to: must be a single value"))?;
    let to = q.to.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let to = to.map(|t| twostep_domain::normalize_email(t).unwrap_or_else(|_| t.to_owned()));
    let messages = s.app.store.outbox_for(to.as_deref(), 100).await.map_err(twostep_app::AppError::from)?;
    Ok(Json(OutboxResponse {
        messages: messages
            .into_iter()
            .map(|m| OutboxEntry { id: m.id, channel: m.channel, to: m.to, body: m.body, sent_at: rfc3339(m.sent_at) })
            .collect(),
    }))
}
