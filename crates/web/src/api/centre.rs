//! The security centre's routes: the reset of a forgotten password, the
//! owner's freeze (no sign-in needed) and the anti-phishing phrase.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use twostep_app::AppError;
use twostep_app::password_reset::ResetStarted;
use twostep_domain::SecondFactorMethod;
use utoipa::ToSchema;

use crate::AppState;
use crate::api::login::{ChannelBody, CodeSentResponse};
use crate::api::me::OkResponse;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Authed, Meta};
use crate::time::rfc3339;

#[derive(Deserialize, ToSchema)]
pub struct EmailBody {
    pub email: String,
}

/// The same for every address.
#[derive(Serialize, ToSchema)]
pub struct CodeRequestedResponse {
    /// Always `code_sent`: a code went to the address if it is an account's.
    pub status: String,
    /// When such a code stops working.
    pub expires_at: String,
}

/// Forgot password: ask for a code
///
/// Sends a code to the address if it belongs to a confirmed account. The answer is the same, in about the same
/// time, for every address, so it tells nobody who has an account. Limited per address and per IP.
#[utoipa::path(post, path = "/api/v1/password-reset", tag = "security centre", request_body = EmailBody,
    responses((status = 202, description = "A code went to the address if it is an account's", body = CodeRequestedResponse),
              (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn request_reset(
    State(s): State<AppState>,
    Meta(meta): Meta,
    ApiJson(b): ApiJson<EmailBody>,
) -> ApiResult<Response> {
    let expires_at = s.app.request_password_reset(&b.email, &meta).await?;
    let body = CodeRequestedResponse { status: "code_sent".into(), expires_at: rfc3339(expires_at) };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct EmailCodeBody {
    pub email: String,
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct ResetResponse {
    pub reset_id: String,
    /// The second factors the account has (`totp`, `sms`, `voice`): one must
    /// be proven to finish. Empty: the new password is enough.
    pub methods: Vec<String>,
    pub expires_at: String,
    /// A frozen account is not reset here: only a lost-2FA case
    /// (`POST /api/v1/password-reset/{reset_id}/recovery`), which staff
    /// review, unfreezes it.
    pub frozen: bool,
}

impl From<ResetStarted> for ResetResponse {
    fn from(r: ResetStarted) -> Self {
        Self {
            reset_id: r.reset_id,
            methods: r.methods.iter().map(|m| m.as_str().to_owned()).collect(),
            expires_at: rfc3339(r.expires_at),
            frozen: r.frozen,
        }
    }
}

/// Forgot password: the e-mailed code
///
/// The code from the e-mail opens a reset that lives 15 minutes. A wrong code, or an address without an
/// account, is `invalid_code`.
#[utoipa::path(post, path = "/api/v1/password-reset/verify", tag = "security centre", request_body = EmailCodeBody,
    responses((status = 200, body = ResetResponse), (status = 400, body = ErrorBody),
              (status = 401, description = "wrong or expired code", body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn verify_reset(
    State(s): State<AppState>,
    Meta(meta): Meta,
    ApiJson(b): ApiJson<EmailCodeBody>,
) -> ApiResult<Json<ResetResponse>> {
    Ok(Json(s.app.start_password_reset(&b.email, &b.code, &meta).await?.into()))
}

/// Forgot password: a code to the phone
///
/// For an account whose second factor is its phone: sends a code by `sms` or `voice` to prove it.
#[utoipa::path(post, path = "/api/v1/password-reset/{reset_id}/code", tag = "security centre",
    params(("reset_id" = String, Path)), request_body = ChannelBody,
    responses((status = 202, body = CodeSentResponse), (status = 400, body = ErrorBody),
              (status = 401, description = "the reset expired", body = ErrorBody),
              (status = 403, description = "the account is frozen", body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn reset_code(
    State(s): State<AppState>,
    Meta(meta): Meta,
    Path(reset_id): Path<String>,
    ApiJson(b): ApiJson<ChannelBody>,
) -> ApiResult<Response> {
    let method = match b.channel.as_str() {
        "sms" => SecondFactorMethod::Sms,
        "voice" => SecondFactorMethod::Voice,
        _ => return Err(AppError::invalid("channel", "must be sms or voice").into()),
    };
    let sent = s.app.password_reset_send_code(&reset_id, method, &meta).await?;
    Ok((StatusCode::ACCEPTED, Json(CodeSentResponse::from(sent))).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct CompleteResetBody {
    /// 8 to 128 characters.
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
    /// `passkey`, `totp`, `sms` or `voice`: the second factor proven by
    /// `code` (or `passkey`). Needed when the reset lists methods.
    pub method: Option<String>,
    pub code: Option<String>,
    /// For `passkey`: the answer to `POST /api/v1/password-reset/{reset_id}/passkey-options`.
    pub passkey: Option<crate::api::passkeys::PasskeyAnswerBody>,
}

#[derive(Serialize, ToSchema)]
pub struct ResetDoneResponse {
    /// Always `password_reset`.
    pub status: String,
    /// Withdrawals are held until then (null with no hold configured).
    pub withdrawals_blocked_until: Option<String>,
}

/// Forgot password: set the new password
///
/// With a proof of the account's second factor (`method` and `code`, or `method: passkey` and `passkey`) when it
/// has one. Every session ends,
/// withdrawals are held (24 hours by default) and every address and number the account had is told, with a link
/// that freezes the account.
#[utoipa::path(post, path = "/api/v1/password-reset/{reset_id}/complete", tag = "security centre",
    params(("reset_id" = String, Path)), request_body = CompleteResetBody,
    responses((status = 200, body = ResetDoneResponse), (status = 400, body = ErrorBody),
              (status = 401, description = "wrong second-factor code, or the reset expired", body = ErrorBody),
              (status = 403, description = "the account is frozen", body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "the reset was already used", body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn complete_reset(
    State(s): State<AppState>,
    Meta(meta): Meta,
    Path(reset_id): Path<String>,
    ApiJson(b): ApiJson<CompleteResetBody>,
) -> ApiResult<Json<ResetDoneResponse>> {
    let method = b
        .method
        .as_deref()
        .map(|m| match SecondFactorMethod::try_from(m) {
            Ok(SecondFactorMethod::Email) | Err(_) => {
                Err(AppError::invalid("method", "must be passkey, totp, sms or voice"))
            }
            Ok(m) => Ok(m),
        })
        .transpose()?;
    let passkey = b.passkey.map(|p| twostep_app::passkeys::PasskeyAnswer::from(p).to_secret());
    let code = if method == Some(SecondFactorMethod::Passkey) { passkey } else { b.code };
    let proof = match (method, code.as_deref()) {
        (Some(m), Some(code)) => Some((m, code)),
        (Some(_), None) => return Err(AppError::invalid("code", "is required with method").into()),
        (None, Some(_)) => return Err(AppError::invalid("method", "is required with code").into()),
        (None, None) => None,
    };
    let hold_until = s.app.complete_password_reset(&reset_id, &b.new_password, proof, &meta).await?;
    Ok(Json(ResetDoneResponse { status: "password_reset".into(), withdrawals_blocked_until: hold_until.map(rfc3339) }))
}

#[derive(Deserialize, ToSchema)]
pub struct ResetRecoveryBody {
    /// The password the case sets once approved; 8 to 128 characters.
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

/// Forgot password and the second factor too: open a lost-2FA case
///
/// "Security check not available" after the e-mailed code: opens a recovery case (as
/// `POST /api/v1/login/{login_id}/recovery` does after the password), with the code standing in for the password.
/// The case always resets the password (item `password`) to `new_password` once staff approve it, besides what is
/// chosen with `POST /api/v1/recovery/{case_id}/items`. It opens for a frozen account too: approved, it lifts the
/// freeze. The reset is used up.
#[utoipa::path(post, path = "/api/v1/password-reset/{reset_id}/recovery", tag = "security centre",
    params(("reset_id" = String, Path)), request_body = ResetRecoveryBody,
    responses((status = 201, description = "Case opened; the account's current channels are told, with a cancel code",
               body = crate::api::recovery::OpenedCaseResponse),
              (status = 400, body = ErrorBody), (status = 401, description = "the reset expired", body = ErrorBody),
              (status = 403, description = "a staff account", body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "the reset was used, or a case of this account is under way", body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn reset_recovery(
    State(s): State<AppState>,
    Meta(meta): Meta,
    Path(reset_id): Path<String>,
    ApiJson(b): ApiJson<ResetRecoveryBody>,
) -> ApiResult<Response> {
    let opened = s.app.open_recovery_from_reset(&reset_id, &b.new_password, &meta).await?;
    Ok((StatusCode::CREATED, Json(crate::api::recovery::OpenedCaseResponse::from(opened))).into_response())
}

/// Freeze my account: ask for a code
///
/// Sends a code to the address if it belongs to an account that is not frozen; the same answer for every address.
/// No sign-in needed: for the moment a phone is stolen.
#[utoipa::path(post, path = "/api/v1/freeze/code", tag = "security centre", request_body = EmailBody,
    responses((status = 202, description = "A code went to the address if it is an account's", body = CodeRequestedResponse),
              (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn freeze_code(
    State(s): State<AppState>,
    Meta(meta): Meta,
    ApiJson(b): ApiJson<EmailBody>,
) -> ApiResult<Response> {
    s.app.send_freeze_code(&b.email, &meta).await?;
    let expires_at = s.app.now() + s.app.settings.code_ttl_s;
    let body = CodeRequestedResponse { status: "code_sent".into(), expires_at: rfc3339(expires_at) };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct FreezeBody {
    /// The token of the freeze link at the foot of every e-mail (`t=`).
    pub token: Option<String>,
    /// Or the address with the code sent by `POST /api/v1/freeze/code`.
    pub email: Option<String>,
    pub code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FrozenResponse {
    /// Always `frozen`.
    pub status: String,
}

/// Freeze my account
///
/// With the `token` of the link in any e-mail, or with `email` and the `code` sent to it. Nobody can sign in or
/// withdraw, every session ends and every recovery under way stops, until a lost-2FA case or staff unfreeze it.
/// Every address and number the account had is told. Freezing a frozen account answers the same.
#[utoipa::path(post, path = "/api/v1/freeze", tag = "security centre", request_body = FreezeBody,
    responses((status = 200, body = FrozenResponse), (status = 400, body = ErrorBody),
              (status = 401, description = "wrong code", body = ErrorBody),
              (status = 404, description = "a link that is not ours", body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn freeze(
    State(s): State<AppState>,
    Meta(meta): Meta,
    ApiJson(b): ApiJson<FreezeBody>,
) -> ApiResult<Json<FrozenResponse>> {
    match (b.token, b.email, b.code) {
        (Some(token), None, None) => s.app.freeze_with_link(&token, &meta).await?,
        (None, Some(email), Some(code)) => s.app.freeze_with_code(&email, &code, &meta).await?,
        _ => return Err(AppError::invalid("token", "send either token, or email and code").into()),
    }
    Ok(Json(FrozenResponse { status: "frozen".into() }))
}

#[derive(Deserialize, ToSchema)]
pub struct PhraseBody {
    /// 4 to 40 characters: letters, digits, spaces and punctuation.
    #[schema(min_length = 4, max_length = 40)]
    pub phrase: String,
    /// A fresh proof instead of sudo mode.
    pub code: Option<String>,
}

/// Set the anti-phishing phrase
///
/// Needs sudo mode (or a fresh `code`). Every e-mail to the account then shows the phrase on its first line; it is
/// never answered by the API, shown on a page or sent by SMS. The account's channels are told.
#[utoipa::path(put, path = "/api/v1/me/anti-phishing", tag = "me", security(("bearer" = [])), request_body = PhraseBody,
    responses((status = 200, body = OkResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, description = "step_up_required, or the account is frozen", body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn set_phrase(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
    ApiJson(b): ApiJson<PhraseBody>,
) -> ApiResult<Json<OkResponse>> {
    s.app.set_anti_phishing(&auth.account_id, &auth.token, Some(&b.phrase), b.code.as_deref(), &meta).await?;
    Ok(Json(OkResponse { ok: true }))
}

/// Remove the anti-phishing phrase
///
/// Needs sudo mode. The account's channels are told.
#[utoipa::path(delete, path = "/api/v1/me/anti-phishing", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = OkResponse), (status = 401, body = ErrorBody),
              (status = 403, description = "step_up_required, or the account is frozen", body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn remove_phrase(State(s): State<AppState>, Meta(meta): Meta, auth: Authed) -> ApiResult<Json<OkResponse>> {
    s.app.set_anti_phishing(&auth.account_id, &auth.token, None, None, &meta).await?;
    Ok(Json(OkResponse { ok: true }))
}
