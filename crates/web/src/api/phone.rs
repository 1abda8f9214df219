//! Binding a phone number: `POST /api/v1/me/phone` texts a code to the new
//! number, `POST /api/v1/me/phone/confirm` binds it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::login::{CodeBody, CodeSentResponse};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Authed, Meta};

#[derive(Deserialize, ToSchema)]
pub struct PhoneBody {
    /// In international (E.164) form, e.g. `+447911123456`; spaces and dashes are ignored.
    pub phone: String,
}

#[derive(Serialize, ToSchema)]
pub struct PhoneBoundResponse {
    pub ok: bool,
    /// The bound number, masked.
    pub phone: String,
}

/// Start binding a phone
///
/// Needs sudo mode. Sends an SMS code to `phone` (E.164, e.g. +447911123456); confirm it with `POST
/// /api/v1/me/phone/confirm` within `--code-ttl-s`.
#[utoipa::path(post, path = "/api/v1/me/phone", tag = "me", security(("bearer" = [])), request_body = PhoneBody,
    responses((status = 202, description = "An SMS code was sent to the new number", body = CodeSentResponse),
              (status = 400, description = "invalid_request: not a valid E.164 number", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 409, description = "already bound", body = ErrorBody),
              (status = 429, description = "resend cool-down or a sending cap", body = ErrorBody)))]
pub async fn start(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
    ApiJson(b): ApiJson<PhoneBody>,
) -> ApiResult<Response> {
    let sent = s.app.start_phone_binding(&auth.account_id, &auth.token, &b.phone, &meta).await?;
    Ok((StatusCode::ACCEPTED, Json(CodeSentResponse::from(sent))).into_response())
}

/// Bind the phone
///
/// Needs sudo mode. The code sent by `POST /api/v1/me/phone` binds that number; replacing or adding a phone starts
/// the withdrawal hold and tells the account's channels.
#[utoipa::path(post, path = "/api/v1/me/phone/confirm", tag = "me", security(("bearer" = [])), request_body = CodeBody,
    responses((status = 200, description = "Phone bound; replacing one pauses withdrawals", body = PhoneBoundResponse),
              (status = 400, body = ErrorBody), (status = 401, description = "invalid_code or unauthorized", body = ErrorBody),
              (status = 409, description = "the code was just used, or the number changed meanwhile; nothing was changed",
               body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn confirm(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
    ApiJson(b): ApiJson<CodeBody>,
) -> ApiResult<Json<PhoneBoundResponse>> {
    let phone = s.app.confirm_phone_binding(&auth.account_id, &auth.token, &b.code, &meta).await?;
    Ok(Json(PhoneBoundResponse { ok: true, phone }))
}
