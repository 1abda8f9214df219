//! The OpenID Connect provider's protocol endpoints, as the specifications
//! shape them (form bodies, OAuth error objects), documented in docs/api.md
//! beside the OpenAPI document: discovery, JWKS, token, userinfo and
//! revocation. The browser's side (authorize, consent, logout) is in
//! `pages::oidc`; the action check, a JSON API route, is here too and in
//! the OpenAPI document.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use twostep_app::oidc::tokens::{ActionCheck, ClientCredentials, OAuthError, TokenRequest};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Meta, bearer};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery).options(preflight))
        .route("/oauth2/jwks", get(jwks).options(preflight))
        .route("/oauth2/token", axum::routing::post(token).options(preflight))
        .route("/oauth2/userinfo", get(userinfo).post(userinfo).options(preflight))
        .route("/oauth2/revoke", axum::routing::post(revoke).options(preflight))
        .layer(axum::middleware::from_fn(cors))
}

async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// CORS for applications that run in the browser (public clients, which
/// exchange their code with PKCE from the page). These endpoints read no
/// cookie: every credential is in the request itself, so a page that can
/// call them holds nothing it could not send from its own server. Any
/// origin may call them, never with credentials (no
/// `Access-Control-Allow-Credentials`); `OPTIONS` answers a preflight. The
/// headers go on every answer, `Origin` or not, so a cached JWKS or
/// discovery document serves every caller alike.
async fn cors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let preflight = request.method() == axum::http::Method::OPTIONS;
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    if preflight {
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("authorization, content-type"));
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    } else {
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("www-authenticate, retry-after"));
    }
    response
}

/// An answer no cache may keep (tokens, and what they unlock).
fn no_store(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn oauth_error(e: OAuthError, basic: bool) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = serde_json::json!({ "error": e.error, "error_description": e.description });
    let mut response = no_store((status, Json(body)).into_response());
    if status == StatusCode::UNAUTHORIZED && basic {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"twostep\""));
    }
    if let Some(s) = e.retry_after_s
        && let Ok(v) = HeaderValue::from_str(&s.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

fn server_error(e: twostep_app::AppError) -> Response {
    oauth_error(OAuthError::from(e), false)
}

async fn discovery(State(s): State<AppState>) -> Response {
    match s.app.discovery() {
        Ok(d) => Json(d).into_response(),
        Err(e) => server_error(e),
    }
}

async fn jwks(State(s): State<AppState>) -> Response {
    match s.app.jwks().await {
        Ok(keys) => {
            let mut r = Json(keys).into_response();
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
            r
        }
        Err(e) => server_error(e),
    }
}

/// RFC 6749 2.3.1: `client_id:client_secret`, each form-urlencoded, in
/// base64, in the Authorization header; or both in the form.
fn client_credentials(
    headers: &HeaderMap,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<(ClientCredentials, bool), OAuthError> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"));
    let Some((_, b64)) = header else {
        let creds = ClientCredentials {
            client_id: form_id.unwrap_or_default().to_owned(),
            client_secret: form_secret.filter(|s| !s.is_empty()).map(str::to_owned),
        };
        return Ok((creds, false));
    };
    let basic = data_encoding::BASE64
        .decode(b64.trim().as_bytes())
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            let decode = |s: &str| serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}")).ok()?.pop();
            Some((decode(id)?.1, decode(secret)?.1))
        });
    // A Basic header that says nothing is refused, not passed over for
    // the form; and one client authenticates one way (RFC 6749 2.3).
    let Some((client_id, secret)) = basic else {
        return Err(OAuthError::new(401, "invalid_client", "malformed HTTP Basic credentials"));
    };
    if form_secret.is_some_and(|s| !s.is_empty()) {
        return Err(OAuthError::new(400, "invalid_request", "authenticate with HTTP Basic or the form, not both"));
    }
    Ok((ClientCredentials { client_id, client_secret: Some(secret) }, true))
}

fn form<T: for<'de> Deserialize<'de>>(headers: &HeaderMap, body: &Bytes) -> Result<T, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(OAuthError::new(400, "invalid_request", "send application/x-www-form-urlencoded"));
    }
    serde_urlencoded::from_bytes(body).map_err(|_| OAuthError::new(400, "invalid_request", "malformed form"))
}

async fn token(State(s): State<AppState>, Meta(meta): Meta, headers: HeaderMap, body: Bytes) -> Response {
    let req: TokenRequest = match form(&headers, &body) {
        Ok(r) => r,
        Err(e) => return oauth_error(e, false),
    };
    let (creds, basic) = match client_credentials(&headers, req.client_id.as_deref(), req.client_secret.as_deref()) {
        Ok(c) => c,
        Err(e) => return oauth_error(e, true),
    };
    match s.app.token(&req, &creds, &meta).await {
        Ok(answer) => no_store(Json(answer).into_response()),
        Err(e) => oauth_error(e, basic),
    }
}

#[derive(Deserialize)]
struct RevokeForm {
    token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

async fn revoke(State(s): State<AppState>, Meta(meta): Meta, headers: HeaderMap, body: Bytes) -> Response {
    let req: RevokeForm = match form(&headers, &body) {
        Ok(r) => r,
        Err(e) => return oauth_error(e, false),
    };
    let (creds, basic) = match client_credentials(&headers, req.client_id.as_deref(), req.client_secret.as_deref()) {
        Ok(c) => c,
        Err(e) => return oauth_error(e, true),
    };
    let Some(token) = req.token else {
        return oauth_error(OAuthError::new(400, "invalid_request", "token is missing"), basic);
    };
    match s.app.revoke_token(&token, &creds, &meta).await {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => oauth_error(e, basic),
    }
}

async fn userinfo(State(s): State<AppState>, parts: axum::http::request::Parts) -> Response {
    let unauthorized = || {
        let mut r = no_store(StatusCode::UNAUTHORIZED.into_response());
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
        r
    };
    let Some(token) = bearer(&parts) else { return unauthorized() };
    match s.app.userinfo(&token).await {
        Ok(claims) => no_store(Json(claims).into_response()),
        Err(twostep_app::AppError::Unauthorized) => unauthorized(),
        Err(e) => server_error(e),
    }
}

// ---- the action check -----------------------------------------------------

/// The question of `POST /api/v1/actions/check`.
#[derive(Deserialize, ToSchema)]
pub struct ActionCheckBody {
    /// The account: the `sub` of its ID token.
    #[schema(max_length = 64)]
    pub sub: String,
    /// `withdrawal`, `payout`, `api_key` or `address_book`.
    pub action: String,
    /// An ID token twostep issued to this application after a step-up
    /// (`acr` `urn:twostep:acr:step-up`), at most five minutes old.
    #[serde(default)]
    pub acr_proof: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ActionCheckResponse {
    pub allowed: bool,
    /// `frozen`, `security_hold` or `step_up_required`; absent when allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// With `security_hold`: when the hold ends (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// With `step_up_required`: the `acr_values` to ask for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr_values: Option<String>,
}

/// May this account do this now?
///
/// For an application's server (a confidential client, authenticated with HTTP Basic `client_id:client_secret`),
/// about an account that signed in to it: `allowed`, or refused with the reason. `frozen` (the account is frozen),
/// `security_hold` (withdrawals are held until `until`, after a recovery, a reset or a factor change) or
/// `step_up_required` (ask for a fresh second factor with `acr_values`, then send the new ID token as `acr_proof`).
#[utoipa::path(post, path = "/api/v1/actions/check", tag = "applications",
    security(("client" = [])),
    request_body = ActionCheckBody,
    responses((status = 200, body = ActionCheckResponse),
              (status = 400, body = ErrorBody), (status = 401, description = "client authentication failed", body = ErrorBody),
              (status = 404, description = "no such account for this application", body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn check_action(
    State(s): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ActionCheckBody>,
) -> ApiResult<Json<ActionCheckResponse>> {
    let (creds, basic) = client_credentials(&headers, None, None).unwrap_or_default();
    if !basic {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "Authenticate with HTTP Basic."));
    }
    let check = ActionCheck { sub: body.sub, action: body.action, acr_proof: body.acr_proof };
    let verdict = s.app.check_action(&check, &creds, &meta).await.map_err(|e| {
        let mut api = ApiError::new(
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            match e.error {
                "invalid_client" | "unauthorized_client" => "unauthorized",
                "slow_down" => "too_many_attempts",
                "not_found" => "not_found",
                "server_error" => "internal",
                _ => "invalid_request",
            },
            e.description,
        );
        api.retry_after_s = e.retry_after_s;
        api
    })?;
    Ok(Json(ActionCheckResponse {
        allowed: verdict.allowed,
        reason: verdict.reason.map(str::to_owned),
        until: verdict.until.map(crate::time::rfc3339),
        acr_values: verdict.acr_values.map(str::to_owned),
    }))
}
