//! HTTP: `fn app(state) -> Router` with the JSON API of `docs/api.md`, the
//! OpenAPI document generated from the same handlers that serve the routes
//! (so the two cannot disagree), metrics and security headers. Only this
//! crate knows HTTP.

pub mod api;
pub mod client_address;
pub mod error;
pub mod extract;
pub mod layers;
pub mod metrics;
mod openapi_errors;
pub mod pages;
pub mod time;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use twostep_app::App;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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
    /// Proxies whose `X-Forwarded-For` entries are believed (none by default).
    pub trusted_proxies: Arc<client_address::TrustedProxies>,
    /// A request still running after this is answered 503.
    pub request_timeout: std::time::Duration,
    /// The dev outbox route exists only when no provider is configured.
    pub outbox_enabled: bool,
    /// Who may read `/metrics`, and where.
    pub metrics_access: MetricsAccess,
    /// Upload bytes all requests together may hold in memory.
    pub upload_budget: api::upload::UploadBudget,
}

/// `/metrics` can be kept from strangers: behind a bearer token, on a
/// listener of its own (then the main listener answers 404), or both.
#[derive(Clone, Default)]
pub struct MetricsAccess {
    pub token: Option<Arc<str>>,
    pub separate_listener: bool,
}

/// `--request-timeout-s`: long enough for three 10 MiB images over a slow link.
pub const DEFAULT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

impl AppState {
    pub fn new(app: App, outbox_enabled: bool) -> Self {
        Self {
            app,
            http_metrics: Arc::new(HttpMetrics::default()),
            trusted_proxies: Arc::new(client_address::TrustedProxies::none()),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            outbox_enabled,
            metrics_access: MetricsAccess::default(),
            upload_budget: api::upload::UploadBudget::default(),
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "twostep", description = "Account security: sign-in with a second factor and safe recovery."),
    modifiers(&BearerAuth),
    tags((name = "accounts"), (name = "login"), (name = "me"), (name = "passkeys"), (name = "security centre"), (name = "recovery"), (name = "applications"), (name = "staff"), (name = "service"),
        (name = "dev"))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // An application's server: HTTP Basic with its client id and secret.
        components.add_security_scheme(
            "client",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
    }
}

/// The routes and their OpenAPI description, built together.
pub fn api_router(outbox_enabled: bool) -> OpenApiRouter<AppState> {
    use api::{admin, centre, devices, login, me, passkeys, phone, recovery, service, upload};
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
        .routes(routes!(devices::finish))
        .routes(routes!(devices::answer))
        .routes(routes!(devices::list))
        .routes(routes!(devices::sign_out))
        .routes(routes!(devices::forget))
        .routes(routes!(devices::set_confirmation))
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
        .routes(routes!(me::sudo))
        .routes(routes!(me::stop_recoveries))
        .routes(routes!(passkeys::list, passkeys::add))
        .routes(routes!(passkeys::registration))
        .routes(routes!(passkeys::rename, passkeys::remove))
        .routes(routes!(passkeys::sudo_options))
        .routes(routes!(passkeys::login_options))
        .routes(routes!(passkeys::login_passkey))
        .routes(routes!(passkeys::sign_in_options))
        .routes(routes!(passkeys::sign_in))
        .routes(routes!(passkeys::reset_options))
        .routes(routes!(centre::set_phrase, centre::remove_phrase))
        .routes(routes!(centre::request_reset))
        .routes(routes!(centre::verify_reset))
        .routes(routes!(centre::reset_code))
        .routes(routes!(centre::complete_reset))
        .routes(routes!(centre::reset_recovery))
        .routes(routes!(centre::freeze_code))
        .routes(routes!(centre::freeze))
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
        .routes(routes!(recovery::withdraw))
        .routes(routes!(recovery::cancel))
        .merge(upload::router())
        .routes(routes!(admin::queue))
        .routes(routes!(admin::case_evidence))
        .routes(routes!(admin::document))
        .routes(routes!(admin::approve))
        .routes(routes!(admin::reject))
        .routes(routes!(admin::audit))
        .routes(routes!(admin::unfreeze))
        .routes(routes!(admin::staff))
        .routes(routes!(api::oidc::check_action));
    if outbox_enabled { router.routes(routes!(service::outbox)) } else { router }
}

/// The OpenAPI document of every route this server serves.
pub fn openapi_document(outbox_enabled: bool) -> utoipa::openapi::OpenApi {
    let mut doc = api_router(outbox_enabled).into_openapi();
    openapi_errors::document_common_errors(&mut doc);
    doc
}

/// This OpenAPI document
///
/// The OpenAPI 3.1 description of every /api route of this server.
#[utoipa::path(get, path = "/api/openapi.json", tag = "service",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json")))]
async fn openapi_json(State(s): State<AppState>) -> Response {
    Json(openapi_document(s.outbox_enabled)).into_response()
}

pub fn app(state: AppState) -> Router {
    let (router, _doc) = api_router(state.outbox_enabled).split_for_parts();
    router
        .merge(pages::routes(&state))
        .merge(api::oidc::router())
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "This method is not allowed here.")
        })
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(middleware::from_fn(layers::catch_panic))
        .layer(middleware::from_fn_with_state(state.clone(), layers::time_limit))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(middleware::from_fn_with_state(state.clone(), layers::request_context))
        .with_state(state)
}

/// The router of a listener that serves `/metrics` only (see [`MetricsAccess`]).
pub fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(api::service::metrics_text))
        .fallback(|| async { ApiError::not_found() })
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Labels from closed sets only: a method HTTP defines and a route this
    // server has, anything else `other` (a client's own tokens add nothing).
    let method = metrics::method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    let route = route.as_ref().map_or(metrics::OTHER, MatchedPath::as_str);
    state.http_metrics.observe(method, route, response.status().as_u16(), started.elapsed().as_secs_f64());
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
