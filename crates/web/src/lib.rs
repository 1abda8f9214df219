//! HTTP: `fn app(state) -> Router` with the JSON API of `shared/API.md`, the
//! OpenAPI document generated from the same handlers that serve the routes
//! (so the two cannot disagree), metrics and security headers. Only this
//! crate knows HTTP.

pub mod api;
pub mod error;
pub mod extract;
pub mod metrics;
mod openapi_errors;
pub mod pages;
pub mod time;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use twostep_app::App;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::metrics::HttpMetrics;

/// JSON bodies are small; uploads (recovery documents) get their own limit.
pub const JSON_BODY_LIMIT: usize = 64 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub http_metrics: Arc<HttpMetrics>,
    /// Take the client address from `X-Forwarded-For` (behind a trusted proxy only).
    pub trust_forwarded_for: bool,
    /// The dev outbox route exists only when no provider is configured.
    pub outbox_enabled: bool,
}

impl AppState {
    pub fn new(app: App, outbox_enabled: bool) -> Self {
        Self { app, http_metrics: Arc::new(HttpMetrics::default()), trust_forwarded_for: false, outbox_enabled }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "twostep", description = "Account security: sign-in with a second factor and safe recovery."),
    modifiers(&BearerAuth),
    tags((name = "accounts"), (name = "login"), (name = "me"), (name = "recovery"), (name = "staff"), (name = "service"),
        (name = "dev"))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

/// The routes and their OpenAPI description, built together.
pub fn api_router(outbox_enabled: bool) -> OpenApiRouter<AppState> {
    use api::{admin, login, me, phone, recovery, service, upload};
    let router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(service::healthz))
        .routes(routes!(service::readyz))
        .routes(routes!(service::metrics))
        .routes(routes!(openapi_json))
        .routes(routes!(login::register))
        .routes(routes!(login::verify_email))
        .routes(routes!(login::captcha))
        .routes(routes!(login::login))
        .routes(routes!(login::login_totp))
        .routes(routes!(login::login_code))
        .routes(routes!(login::login_code_verify))
        .routes(routes!(login::logout))
        .routes(routes!(me::me))
        .routes(routes!(me::totp_start))
        .routes(routes!(me::totp_confirm))
        .routes(routes!(me::totp_disable))
        .routes(routes!(me::step_up_code))
        .routes(routes!(phone::start))
        .routes(routes!(phone::confirm))
        .routes(routes!(me::change_password))
        .routes(routes!(me::activity))
        .routes(routes!(me::withdraw))
        .routes(routes!(recovery::catalogue))
        .routes(routes!(recovery::set_security_questions))
        .routes(routes!(recovery::open_case))
        .routes(routes!(recovery::get_case))
        .routes(routes!(recovery::choose_items))
        .routes(routes!(recovery::send_codes))
        .routes(routes!(recovery::verify_codes))
        .routes(routes!(recovery::case_questions))
        .routes(routes!(recovery::answer_questions))
        .routes(routes!(recovery::submit))
        .routes(routes!(recovery::cancel))
        .merge(upload::router())
        .routes(routes!(admin::queue))
        .routes(routes!(admin::case_evidence))
        .routes(routes!(admin::document))
        .routes(routes!(admin::approve))
        .routes(routes!(admin::reject))
        .routes(routes!(admin::audit))
        .routes(routes!(admin::unfreeze))
        .routes(routes!(admin::staff));
    if outbox_enabled {
        router.routes(routes!(service::outbox))
    } else {
        router
    }
}

/// The OpenAPI document of every route this server serves.
pub fn openapi_document(outbox_enabled: bool) -> utoipa::openapi::OpenApi {
    let mut doc = api_router(outbox_enabled).into_openapi();
    openapi_errors::document_common_errors(&mut doc);
    doc
}

#[utoipa::path(get, path = "/api/openapi.json", tag = "service",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json")))]
async fn openapi_json(State(s): State<AppState>) -> Response {
    Json(openapi_document(s.outbox_enabled)).into_response()
}

pub fn app(state: AppState) -> Router {
    let (router, _doc) = api_router(state.outbox_enabled).split_for_parts();
    router
        .merge(pages::routes(&state))
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "This method is not allowed here.")
        })
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    state.http_metrics.observe(&method, &route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: &'static str, value: &'static str| {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "x-frame-options", "DENY");
    set(headers, "referrer-policy", "no-referrer");
    set(headers, "content-security-policy", "default-src 'none'; frame-ancestors 'none'");
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
