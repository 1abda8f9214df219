//! Request extractors: JSON bodies with contract-shaped errors, the caller's
//! IP and user agent, and the bearer-token session.

use std::net::SocketAddr;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use twostep_app::RequestMeta;

use crate::AppState;
use crate::client_address::TrustedProxies;
use crate::error::ApiError;

/// `Json<T>` whose rejections are the API's error bodies (400 naming the
/// field, 413 for an oversized body, 415 for a wrong content type).
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => ApiError::invalid(clean_serde_message(&e.body_text())),
        JsonRejection::JsonSyntaxError(_) => ApiError::invalid("body: not valid JSON"),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the body as application/json.",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "The request body is too large.")
        }
        _ => ApiError::invalid("body: could not be read"),
    }
}

/// serde says e.g. "Failed to deserialize the JSON body into the target type:
/// email: invalid type: integer `5`, expected a string at line 1 column 10";
/// keep the part that names the field.
fn clean_serde_message(text: &str) -> String {
    let text = text.split_once("target type: ").map(|(_, rest)| rest).unwrap_or(text);
    let text = text.split(" at line ").next().unwrap_or(text);
    if let Some(field) = text.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
        return format!("{field}: is required");
    }
    text.chars().take(200).collect()
}

/// The caller's address and user agent.
pub struct Meta(pub RequestMeta);

impl<S: Send + Sync> FromRequestParts<S> for Meta
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        Ok(Meta(request_meta(parts, &state.trusted_proxies)))
    }
}

/// The client's address: the peer's, or behind trusted proxies the one they
/// report (see `client_address`). None when the connection's address is
/// unknown (a router called without a socket).
pub fn client_ip(parts: &Parts, proxies: &TrustedProxies) -> Option<std::net::IpAddr> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
    if proxies.is_empty() {
        return Some(peer.to_canonical());
    }
    // Lossy: bytes a client put on the left must not hide the proxies' hops.
    let forwarded: Vec<String> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    Some(proxies.client(peer, forwarded.iter().map(String::as_str)))
}

pub fn request_meta(parts: &Parts, proxies: &TrustedProxies) -> RequestMeta {
    let ip = client_ip(parts, proxies).map(|ip| ip.to_string());
    let user_agent =
        parts.headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("").chars().take(256).collect();
    RequestMeta {
        ip: ip.unwrap_or_else(|| "unknown".into()),
        user_agent,
        language: request_language(parts),
        device_token: crate::pages::device_cookie(&parts.headers).map(twostep_app::devices::DeviceToken),
    }
}

/// The language the request's `Accept-Language` asks for, among those the
/// catalogues have.
pub fn request_language(parts: &Parts) -> Option<twostep_app::Lang> {
    let header = parts.headers.get(axum::http::header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    twostep_app::Lang::negotiate(header)
}

/// A signed-in caller: the account and the token that proved it.
pub struct Authed {
    pub account_id: String,
    pub token: String,
}

pub fn bearer(parts: &Parts) -> Option<String> {
    let value = parts.headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

impl<S: Send + Sync> FromRequestParts<S> for Authed
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = bearer(parts).ok_or_else(|| ApiError::from(twostep_app::AppError::Unauthorized))?;
        let account_id = state.app.authenticate(&token).await?;
        Ok(Authed { account_id, token })
    }
}
