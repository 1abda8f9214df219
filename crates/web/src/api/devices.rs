//! New-device confirmation over the API: finishing a sign-in the e-mail
//! approved, answering the e-mail's link, the account's devices ("sign out
//! this device", "forget it") and the owner's choice.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use twostep_app::AppError;
use twostep_app::devices::{DeviceToken, DeviceView};
use twostep_domain::device::DeviceDecision;
use utoipa::ToSchema;

use crate::AppState;
use crate::api::login::LoginResponse;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Authed, Meta};
use crate::time::rfc3339;

/// The request's device: the body's token wins over a cookie.
pub fn with_device(mut meta: twostep_app::RequestMeta, token: Option<String>) -> twostep_app::RequestMeta {
    if let Some(t) = token {
        meta.device_token = Some(DeviceToken(t));
    }
    meta
}

#[derive(Deserialize, ToSchema)]
pub struct DeviceTokenBody {
    /// The `device_token` the sign-in answered with.
    #[schema(max_length = 256)]
    pub device_token: Option<String>,
}

/// Sign in, last step: take the session a new device's e-mail approved
///
/// After a sign-in answered `status: device_confirmation_required`, the account's e-mail got "Was this you?" with
/// a link. Once the person approved it there, this call (with the `device_token` of that answer) returns
/// `status: authenticated` with the `session_token`; call it again after the person says they clicked, or poll
/// it every few seconds. 409 `conflict` while no answer came yet, 403 `forbidden` when it was denied (the account
/// is then frozen), 401 `unauthorized` once the sign-in expired (`expires_at`), 404 for an unknown `login_id` or
/// another device's token. The session is handed out once.
#[utoipa::path(post, path = "/api/v1/login/{login_id}/device", tag = "login", request_body = DeviceTokenBody,
    params(("login_id" = String, Path)),
    responses((status = 200, body = LoginResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "still waiting for the e-mail's answer, or already done", body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn finish(
    State(s): State<AppState>,
    Meta(meta): Meta,
    Path(login_id): Path<String>,
    ApiJson(b): ApiJson<DeviceTokenBody>,
) -> ApiResult<Json<LoginResponse>> {
    let meta = with_device(meta, b.device_token);
    let session = s.app.finish_device_sign_in(&login_id, &meta).await?;
    Ok(Json(LoginResponse::authenticated(session)))
}

#[derive(Deserialize, ToSchema)]
pub struct AnswerBody {
    /// The token of the e-mail's link (its `token` parameter).
    #[schema(max_length = 256)]
    pub token: String,
    /// `approve` or `deny`.
    #[schema(pattern = "^(approve|deny)$")]
    pub answer: String,
}

#[derive(Serialize, ToSchema)]
pub struct AnswerResponse {
    /// `approved` or `denied`.
    pub status: String,
    /// True after a denial: the account is frozen.
    pub account_frozen: bool,
}

/// Answer "Was this you?" for a new device
///
/// What the e-mail's page does when the person presses a button (opening the link only shows them). `approve`
/// lets that one sign-in take its session (`POST /api/v1/login/{login_id}/device`) and remembers the device;
/// `deny` ends it and freezes the account: no sign-in, no withdrawal, every session ended, every channel told,
/// until the owner recovers it or staff lift the freeze. A link answers once, while its sign-in lives: 409
/// afterwards; 404 for an unknown link.
#[utoipa::path(post, path = "/api/v1/device-confirmation", tag = "login", request_body = AnswerBody,
    responses((status = 200, body = AnswerResponse), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn answer(
    State(s): State<AppState>,
    Meta(meta): Meta,
    ApiJson(b): ApiJson<AnswerBody>,
) -> ApiResult<Json<AnswerResponse>> {
    let decision = match b.answer.as_str() {
        "approve" => DeviceDecision::Approved,
        "deny" => DeviceDecision::Denied,
        _ => return Err(AppError::invalid("answer", "must be approve or deny").into()),
    };
    s.app.answer_device_confirmation(&b.token, decision, &meta).await?;
    Ok(Json(AnswerResponse { status: decision.as_str().into(), account_frozen: decision == DeviceDecision::Denied }))
}

#[derive(Serialize, ToSchema)]
pub struct DeviceEntry {
    pub device_id: String,
    pub first_seen_at: String,
    pub last_seen_at: String,
    /// Of its latest sign-in.
    pub ip: String,
    /// `this_computer` (loopback) or `private_network`, else null: no geo-IP database is used.
    pub place: Option<String>,
    /// Browser and system in words, from the user agent ("Firefox on Linux").
    pub browser: String,
    /// Whether the account's e-mail approved it.
    pub confirmed: bool,
    /// The device of this session.
    pub current: bool,
}

impl From<DeviceView> for DeviceEntry {
    fn from(d: DeviceView) -> Self {
        Self {
            device_id: d.device_id,
            first_seen_at: rfc3339(d.first_seen_at),
            last_seen_at: rfc3339(d.last_seen_at),
            ip: d.ip,
            place: d.place.map(|p| p.as_str().to_owned()),
            browser: d.browser,
            confirmed: d.confirmed,
            current: d.current,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DevicesResponse {
    pub devices: Vec<DeviceEntry>,
    /// Whether sign-ins from new devices need the e-mail's confirmation.
    pub new_device_confirmation: bool,
}

/// The account's devices
///
/// Every browser or client the account signed in from, most recently seen first: first and last seen, the IP of
/// the latest sign-in with a coarse place where the address alone tells one, the browser, whether the e-mail
/// approved it and which is this session's. No token is ever shown.
#[utoipa::path(get, path = "/api/v1/me/devices", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = DevicesResponse), (status = 401, body = ErrorBody)))]
pub async fn list(State(s): State<AppState>, auth: Authed) -> ApiResult<Json<DevicesResponse>> {
    let devices = s.app.devices(&auth.account_id, &auth.token).await?;
    let account = s.app.account(&auth.account_id).await?;
    Ok(Json(DevicesResponse {
        devices: devices.into_iter().map(DeviceEntry::from).collect(),
        new_device_confirmation: s.app.device_confirmation_enabled(&account).await?,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct SignedOutResponse {
    pub sessions_ended: u64,
}

/// Sign out one device
///
/// Ends every session of the device (this session's own too, when it is this device). The device stays known, so
/// its next sign-in needs no new confirmation. A session alone may do it, as it only takes access away. 404 for a
/// device of another account.
#[utoipa::path(post, path = "/api/v1/me/devices/{device_id}/sign-out", tag = "me", security(("bearer" = [])),
    params(("device_id" = String, Path)),
    responses((status = 200, body = SignedOutResponse), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn sign_out(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
    Path(device_id): Path<String>,
) -> ApiResult<Json<SignedOutResponse>> {
    let ended = s.app.sign_out_device(&auth.account_id, &device_id, &meta).await?;
    Ok(Json(SignedOutResponse { sessions_ended: ended }))
}

/// Forget one device
///
/// Ends every session of the device and deletes it: its next sign-in is a new device's, with the e-mail's
/// confirmation where that applies. 404 for a device of another account.
#[utoipa::path(delete, path = "/api/v1/me/devices/{device_id}", tag = "me", security(("bearer" = [])),
    params(("device_id" = String, Path)),
    responses((status = 204, description = "Forgotten"), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn forget(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
    Path(device_id): Path<String>,
) -> ApiResult<StatusCode> {
    s.app.forget_device(&auth.account_id, &device_id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct ConfirmationSettingBody {
    pub enabled: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ConfirmationSettingResponse {
    /// Whether new devices now need the e-mail's confirmation (staff always do).
    pub new_device_confirmation: bool,
}

/// Switch new-device confirmation on or off
///
/// `enabled: true` needs a session only (it adds protection); `enabled: false` needs sudo mode (`POST
/// /api/v1/me/sudo`, else 403 `step_up_required`). The account's e-mail and phone are told either way. Staff
/// accounts always confirm new devices.
#[utoipa::path(put, path = "/api/v1/me/device-confirmation", tag = "me", security(("bearer" = [])),
    request_body = ConfirmationSettingBody,
    responses((status = 200, body = ConfirmationSettingResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_confirmation(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
    ApiJson(b): ApiJson<ConfirmationSettingBody>,
) -> ApiResult<Json<ConfirmationSettingResponse>> {
    let now_on = s.app.set_device_confirmation(&auth.account_id, &auth.token, b.enabled, &meta).await?;
    Ok(Json(ConfirmationSettingResponse { new_device_confirmation: now_on }))
}
