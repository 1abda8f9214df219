//! Passkeys over the API: registering, listing, renaming and removing them
//! (`/me/passkeys`), and the ceremonies that sign with one: the second step,
//! a sign-in with nothing typed, sudo mode and a password reset. Every
//! ceremony is two calls: `…/options` gives what the browser passes to
//! `navigator.credentials.create()` or `.get()` as `publicKey` (binary
//! fields base64url), with a `challenge_id`; the browser's answer goes back
//! with that id, once, within five minutes.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use twostep_app::passkeys::{CeremonyStart, PasskeyAnswer, PasskeyRecord};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::devices::with_device;
use crate::api::login::LoginResponse;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Authed, Meta};
use crate::time::rfc3339;

#[derive(Serialize, ToSchema)]
pub struct CeremonyResponse {
    pub challenge_id: String,
    /// `PublicKeyCredentialCreationOptions` or `…RequestOptions` as JSON,
    /// binary fields base64url.
    #[schema(value_type = Object)]
    pub public_key: serde_json::Value,
    pub expires_at: String,
}

impl From<CeremonyStart> for CeremonyResponse {
    fn from(c: CeremonyStart) -> Self {
        CeremonyResponse { challenge_id: c.challenge_id, public_key: c.options, expires_at: rfc3339(c.expires_at) }
    }
}

/// A browser's answer to a ceremony.
#[derive(Deserialize, Serialize, ToSchema, Clone)]
pub struct PasskeyAnswerBody {
    #[schema(max_length = 64)]
    pub challenge_id: String,
    /// The `PublicKeyCredential` the browser returned, as JSON (its
    /// `toJSON()`, binary fields base64url).
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

impl From<PasskeyAnswerBody> for PasskeyAnswer {
    fn from(b: PasskeyAnswerBody) -> Self {
        PasskeyAnswer { challenge_id: b.challenge_id, credential: b.credential }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

impl From<PasskeyRecord> for PasskeyView {
    fn from(p: PasskeyRecord) -> Self {
        PasskeyView {
            id: p.id,
            name: p.name,
            created_at: rfc3339(p.created_at),
            last_used_at: p.last_used_at.map(rfc3339),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PasskeyList {
    pub passkeys: Vec<PasskeyView>,
}

/// Your passkeys
///
/// Each with its name, when it was added and when it last signed.
#[utoipa::path(get, path = "/api/v1/me/passkeys", tag = "passkeys", security(("bearer" = [])),
    responses((status = 200, body = PasskeyList), (status = 401, body = ErrorBody)))]
pub async fn list(State(s): State<AppState>, auth: Authed) -> ApiResult<Json<PasskeyList>> {
    let passkeys = s.app.passkeys(&auth.account_id).await?.into_iter().map(PasskeyView::from).collect();
    Ok(Json(PasskeyList { passkeys }))
}

/// Add a passkey: the options
///
/// Needs sudo mode. The options to pass to `navigator.credentials.create()`: a discoverable credential with user
/// verification, no attestation, for the relying party `--public-url` names (its host must be a name, such as
/// `localhost`, not an IP address: else 409). At most 10 passkeys an account.
#[utoipa::path(post, path = "/api/v1/me/passkeys/registration", tag = "passkeys", security(("bearer" = [])),
    responses((status = 200, body = CeremonyResponse), (status = 401, body = ErrorBody),
              (status = 403, description = "step_up_required", body = ErrorBody),
              (status = 409, description = "10 passkeys already, or passkeys are off with this --public-url", body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn registration(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
) -> ApiResult<Json<CeremonyResponse>> {
    Ok(Json(s.app.start_passkey_registration(&auth.account_id, &auth.token, &meta).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct AddPasskeyBody {
    /// 1 to 64 characters, such as "Laptop".
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    #[schema(max_length = 64)]
    pub challenge_id: String,
    /// The `PublicKeyCredential` that `navigator.credentials.create()` returned, as JSON.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// Add a passkey
///
/// Needs sudo mode. The browser's new credential, checked against the options of
/// `POST /api/v1/me/passkeys/registration`. Beside an authenticator, a phone or another passkey, withdrawals are held
/// (24 hours by default), as a new factor may be a thief's; the owner is told by e-mail and SMS.
#[utoipa::path(post, path = "/api/v1/me/passkeys", tag = "passkeys", security(("bearer" = [])),
    request_body = AddPasskeyBody,
    responses((status = 201, body = PasskeyView), (status = 400, description = "the name, or a credential that does \
               not verify", body = ErrorBody), (status = 401, description = "invalid_code: the ceremony is unknown, \
               used or expired", body = ErrorBody), (status = 403, description = "step_up_required", body = ErrorBody),
              (status = 409, description = "registered already, or 10 passkeys", body = ErrorBody)))]
pub async fn add(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
    ApiJson(b): ApiJson<AddPasskeyBody>,
) -> ApiResult<Response> {
    let answer = PasskeyAnswer { challenge_id: b.challenge_id, credential: b.credential };
    let added = s.app.finish_passkey_registration(&auth.account_id, &auth.token, &b.name, &answer, &meta).await?;
    Ok((StatusCode::CREATED, Json(PasskeyView::from(added))).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct RenameBody {
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
}

/// Rename a passkey
///
/// Needs sudo mode: the name is quoted in the owner's security e-mails. 1 to 64 characters; at most 30 renames an
/// account an hour.
#[utoipa::path(patch, path = "/api/v1/me/passkeys/{passkey_id}", tag = "passkeys", security(("bearer" = [])),
    params(("passkey_id" = String, Path)), request_body = RenameBody,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 429, description = "30 renames an hour", body = ErrorBody)))]
pub async fn rename(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
    Path(passkey_id): Path<String>,
    ApiJson(b): ApiJson<RenameBody>,
) -> ApiResult<StatusCode> {
    s.app.rename_passkey(&auth.account_id, &auth.token, &passkey_id, &b.name, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a passkey
///
/// Needs sudo mode. Withdrawals are held (24 hours by default) and the owner is told.
#[utoipa::path(delete, path = "/api/v1/me/passkeys/{passkey_id}", tag = "passkeys", security(("bearer" = [])),
    params(("passkey_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody),
              (status = 403, description = "step_up_required", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
    Path(passkey_id): Path<String>,
) -> ApiResult<StatusCode> {
    s.app.remove_passkey(&auth.account_id, &auth.token, &passkey_id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Confirm it is you with a passkey: the options
///
/// The answer goes to `POST /api/v1/me/sudo` with `method: passkey` and `passkey: {challenge_id, credential}`.
#[utoipa::path(post, path = "/api/v1/me/sudo/passkey-options", tag = "passkeys", security(("bearer" = [])),
    responses((status = 200, body = CeremonyResponse), (status = 401, body = ErrorBody),
              (status = 409, description = "the account has no passkey", body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn sudo_options(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
) -> ApiResult<Json<CeremonyResponse>> {
    Ok(Json(s.app.sudo_passkey_options(&auth.account_id, &auth.token, &meta).await?.into()))
}

/// Sign in, step two, with a passkey: the options
///
/// The options to pass to `navigator.credentials.get()` for this sign-in, listing the account's passkeys. The
/// answer goes to `POST /api/v1/login/{login_id}/passkey` within five minutes.
#[utoipa::path(post, path = "/api/v1/login/{login_id}/passkey/options", tag = "login",
    params(("login_id" = String, Path)),
    responses((status = 200, body = CeremonyResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "the account has no passkey", body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login_options(
    State(s): State<AppState>,
    Meta(meta): Meta,
    Path(login_id): Path<String>,
) -> ApiResult<Json<CeremonyResponse>> {
    Ok(Json(s.app.login_passkey_options(&login_id, &meta).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct PasskeySignInBody {
    #[schema(max_length = 64)]
    pub challenge_id: String,
    /// The `PublicKeyCredential` that `navigator.credentials.get()` returned, as JSON.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
    /// As in `POST /api/v1/login`.
    #[schema(max_length = 256)]
    pub device_token: Option<String>,
}

/// Sign in, step two: a passkey
///
/// Finishes a sign-in with a passkey's answer to the options of `POST /api/v1/login/{login_id}/passkey/options`.
/// A refused answer (a wrong signature, a ceremony used or expired, a signature counter gone back, which also tells
/// the owner) counts as a wrong code. Answers as `POST /api/v1/login/{login_id}/totp` does.
#[utoipa::path(post, path = "/api/v1/login/{login_id}/passkey", tag = "login", request_body = PasskeySignInBody,
    params(("login_id" = String, Path)),
    responses((status = 200, body = LoginResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login_passkey(
    State(s): State<AppState>,
    Meta(meta): Meta,
    Path(login_id): Path<String>,
    ApiJson(b): ApiJson<PasskeySignInBody>,
) -> ApiResult<Json<LoginResponse>> {
    let meta = with_device(meta, b.device_token);
    let answer = PasskeyAnswer { challenge_id: b.challenge_id, credential: b.credential };
    Ok(Json(LoginResponse::of(s.app.login_with_passkey(&login_id, &answer, &meta).await?)))
}

/// Sign in with a passkey, nothing typed: the options
///
/// No `allowCredentials`: the browser offers the passkeys it holds for this site.
#[utoipa::path(post, path = "/api/v1/passkey-sign-in/options", tag = "login",
    responses((status = 200, body = CeremonyResponse), (status = 409, description = "passkeys are off with this \
               --public-url", body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn sign_in_options(State(s): State<AppState>, Meta(meta): Meta) -> ApiResult<Json<CeremonyResponse>> {
    Ok(Json(s.app.passkey_sign_in_options(&meta).await?.into()))
}

/// Sign in with a passkey, nothing typed
///
/// A passkey with user verification is a whole multi-factor sign-in. The same rules as any sign-in apply: 403 for a
/// frozen account, a new device may need the e-mail's confirmation (`device_confirmation_required`).
#[utoipa::path(post, path = "/api/v1/passkey-sign-in", tag = "login", request_body = PasskeySignInBody,
    responses((status = 200, body = LoginResponse), (status = 400, body = ErrorBody),
              (status = 401, description = "invalid_code: the answer was refused", body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn sign_in(
    State(s): State<AppState>,
    Meta(meta): Meta,
    ApiJson(b): ApiJson<PasskeySignInBody>,
) -> ApiResult<Json<LoginResponse>> {
    let meta = with_device(meta, b.device_token);
    let answer = PasskeyAnswer { challenge_id: b.challenge_id, credential: b.credential };
    Ok(Json(LoginResponse::of(s.app.passkey_sign_in(&answer, &meta).await?)))
}

/// Forgot password: prove a passkey, the options
///
/// The answer goes to `POST /api/v1/password-reset/{reset_id}/complete` with `method: passkey` and `passkey`.
#[utoipa::path(post, path = "/api/v1/password-reset/{reset_id}/passkey-options", tag = "security centre",
    params(("reset_id" = String, Path)),
    responses((status = 200, body = CeremonyResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "the account has no passkey", body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn reset_options(
    State(s): State<AppState>,
    Meta(meta): Meta,
    Path(reset_id): Path<String>,
) -> ApiResult<Json<CeremonyResponse>> {
    Ok(Json(s.app.password_reset_passkey_options(&reset_id, &meta).await?.into()))
}
