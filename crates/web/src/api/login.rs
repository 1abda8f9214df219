//! Sign-up, e-mail confirmation, captcha, the two login steps and logout.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use twostep_app::AppError;
use twostep_app::login::{CaptchaSolution, LoginOutcome, Session};
use twostep_domain::SecondFactorMethod;
use utoipa::ToSchema;

use crate::AppState;
use crate::api::devices::with_device;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Authed, Meta};
use crate::time::rfc3339;

#[derive(Deserialize, ToSchema)]
pub struct RegisterBody {
    pub email: String,
    /// 8 to 128 characters.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
}

/// The same for every address, whatever its state: sign-up cannot tell
/// who has an account.
#[derive(Serialize, ToSchema)]
pub struct RegisterResponse {
    /// Always `confirmation_sent`.
    pub status: String,
}

/// Sign up: ask for an e-mail confirmation code
///
/// Starts a sign-up for `email` with `password`. The answer is the same 202 for every address, so it cannot tell
/// who has an account. A new or not yet confirmed address gets a 6-digit code by e-mail (in development: `GET
/// /api/v1/dev/outbox?to=<email>`); confirm it with `POST /api/v1/accounts/verify-email` within the sign-up code
/// lifetime (`--signup-code-ttl-s`, 30 minutes by default). The owner of an existing account is told by e-mail
/// instead, and nothing changes.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = RegisterBody,
    responses((status = 202, description = "Accepted, the same for every address. A new (or not yet confirmed) address \
               gets a 6-digit code, which confirms this sign-up with this password and no other; the owner of an \
               existing account is told by e-mail instead, and the account is not changed", body = RegisterResponse),
              (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn register(
    State(s): State<AppState>,
    Meta(meta): Meta,
    ApiJson(b): ApiJson<RegisterBody>,
) -> ApiResult<Response> {
    s.app.register(&b.email, &b.password, &meta).await?;
    Ok((StatusCode::ACCEPTED, Json(RegisterResponse { status: "confirmation_sent".into() })).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct VerifyEmailBody {
    pub email: String,
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct VerifiedResponse {
    pub verified: bool,
}

/// Confirm a sign-up with its e-mail code
///
/// Creates the account with the password of the sign-up the code was sent for. A wrong or expired code answers 401
/// `invalid_code`; wrong codes are counted per address and per IP (429 past the limit). Afterwards sign in with
/// `POST /api/v1/login`.
#[utoipa::path(post, path = "/api/v1/accounts/verify-email", tag = "accounts", request_body = VerifyEmailBody,
    responses((status = 200, body = VerifiedResponse), (status = 400, body = ErrorBody),
              (status = 401, description = "invalid_code", body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn verify_email(
    State(s): State<AppState>,
    Meta(meta): Meta,
    ApiJson(b): ApiJson<VerifyEmailBody>,
) -> ApiResult<Json<VerifiedResponse>> {
    s.app.verify_email(&b.email, &b.code, &meta).await?;
    Ok(Json(VerifiedResponse { verified: true }))
}

#[derive(Serialize, ToSchema)]
pub struct CaptchaResponse {
    pub challenge_id: String,
    pub salt: String,
    /// Find a decimal `nonce` so that SHA-256(salt + nonce) starts with this many zero bits.
    pub difficulty_bits: i64,
    pub expires_at: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct CaptchaQuery {
    /// The address the puzzle is for: after repeated wrong passwords for an
    /// address, its sign-ins need harder puzzles (`captcha_failed` says how hard).
    pub email: Option<String>,
}

/// Get a proof-of-work puzzle for signing in
///
/// Returns a single-use challenge. Solve it by finding a decimal `nonce` (digits only, up to 20) such that SHA-256
/// over the UTF-8 bytes of `salt` followed by `nonce` (the salt text, then the nonce text, no separator) starts
/// with `difficulty_bits` zero bits, counting from the most significant bit of the first byte. Send `{challenge_id,
/// nonce}` as `captcha` in `POST /api/v1/login` before `expires_at`. After repeated wrong passwords for an address,
/// pass `?email=` to get a puzzle as hard as that address needs.
#[utoipa::path(get, path = "/api/v1/captcha", tag = "login", params(CaptchaQuery),
    responses((status = 200, body = CaptchaResponse), (status = 429, body = ErrorBody)))]
pub async fn captcha(
    State(s): State<AppState>,
    Meta(meta): Meta,
    query: Result<axum::extract::Query<CaptchaQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<CaptchaResponse>> {
    let email = query.ok().and_then(|q| q.0.email).filter(|e| e.len() <= 320);
    let c = s.app.issue_captcha(email.as_deref(), &meta).await?;
    Ok(Json(CaptchaResponse {
        challenge_id: c.id,
        salt: c.salt,
        difficulty_bits: c.difficulty_bits,
        expires_at: rfc3339(c.expires_at),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct CaptchaAnswer {
    pub challenge_id: String,
    pub nonce: String,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
    /// Required unless the server runs with the captcha off.
    pub captcha: Option<CaptchaAnswer>,
    /// The `device_token` an earlier sign-in answered with: a device the
    /// account confirmed needs no new e-mail confirmation.
    #[schema(max_length = 256)]
    pub device_token: Option<String>,
}

/// `status` is `second_factor_required` (with `login_id`, `methods`,
/// `expires_at`), `device_confirmation_required` (with `login_id`,
/// `expires_at`, `device_token`) or `authenticated` (with `session_token`,
/// `expires_at`, `device_token`).
#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
    pub expires_at: String,
    /// The device this client signs in from: keep it and send it with the
    /// next sign-ins (`device_token` in their bodies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
}

impl LoginResponse {
    pub fn authenticated(session: Session) -> Self {
        LoginResponse {
            status: "authenticated".into(),
            login_id: None,
            methods: None,
            session_token: Some(session.token),
            expires_at: rfc3339(session.expires_at),
            device_token: session.device_token,
        }
    }

    pub fn of(outcome: LoginOutcome) -> Self {
        match outcome {
            LoginOutcome::SecondFactorRequired { login_id, methods, expires_at } => LoginResponse {
                status: "second_factor_required".into(),
                login_id: Some(login_id),
                methods: Some(methods.iter().map(|m| m.as_str().to_owned()).collect()),
                session_token: None,
                expires_at: rfc3339(expires_at),
                device_token: None,
            },
            LoginOutcome::Authenticated(session) => Self::authenticated(session),
            LoginOutcome::DeviceConfirmationRequired(p) => LoginResponse {
                status: "device_confirmation_required".into(),
                login_id: Some(p.login_id),
                methods: None,
                session_token: None,
                expires_at: rfc3339(p.expires_at),
                device_token: Some(p.device_token),
            },
        }
    }
}

/// Sign in, step one: password and captcha
///
/// Checks the e-mail address, the password and the solved captcha (see `GET /api/v1/captcha`). An account without a
/// second factor gets `status: authenticated` with a `session_token` (send it as `Authorization: Bearer <token>`).
/// An account with one gets `status: second_factor_required` with a `login_id`, the `methods` it can use and when
/// the attempt expires; finish with `POST /api/v1/login/{login_id}/totp`, or send a code with `POST
/// /api/v1/login/{login_id}/code`. Without a second factor at hand, `POST /api/v1/login/{login_id}/recovery` opens
/// a recovery case. On a device the account has not confirmed (when new-device confirmation applies to it), a
/// sign-in that passed every step answers `status: device_confirmation_required` instead of a session: see `POST
/// /api/v1/login/{login_id}/device`. Send the `device_token` of an earlier answer to be known.
#[utoipa::path(post, path = "/api/v1/login", tag = "login", request_body = LoginBody,
    responses((status = 200, body = LoginResponse), (status = 400, body = ErrorBody),
              (status = 401, description = "invalid_credentials", body = ErrorBody),
              (status = 403, description = "email_unverified", body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(s): State<AppState>,
    Meta(meta): Meta,
    ApiJson(b): ApiJson<LoginBody>,
) -> ApiResult<Json<LoginResponse>> {
    let captcha = b.captcha.map(|c| CaptchaSolution { challenge_id: c.challenge_id, nonce: c.nonce });
    let meta = with_device(meta, b.device_token);
    let outcome = s.app.login(&b.email, &b.password, captcha.as_ref(), &meta).await?;
    Ok(Json(LoginResponse::of(outcome)))
}

#[derive(Deserialize, ToSchema)]
pub struct CodeBody {
    pub code: String,
    /// As in `POST /api/v1/login`.
    #[schema(max_length = 256)]
    pub device_token: Option<String>,
}

/// Sign in, step two: an authenticator code
///
/// Finishes a sign-in with the current 6-digit code of the authenticator app. Each 30-second code is accepted once:
/// a code already used (for example the one just used to enrol the authenticator) answers 401 `invalid_code` saying
/// so; wait for the next code. Wrong codes are counted: too many end this sign-in attempt. Answers `status:
/// authenticated` with a session, or `device_confirmation_required` on a device the account must first confirm by
/// e-mail (see `POST /api/v1/login/{login_id}/device`).
#[utoipa::path(post, path = "/api/v1/login/{login_id}/totp", tag = "login", request_body = CodeBody,
    params(("login_id" = String, Path)),
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login_totp(
    State(s): State<AppState>,
    Meta(meta): Meta,
    Path(login_id): Path<String>,
    ApiJson(b): ApiJson<CodeBody>,
) -> ApiResult<Json<LoginResponse>> {
    let meta = with_device(meta, b.device_token);
    let outcome = s.app.login_with_totp(&login_id, &b.code, &meta).await?;
    Ok(Json(LoginResponse::of(outcome)))
}

#[derive(Deserialize, ToSchema)]
pub struct ChannelBody {
    /// `sms`, `voice` or `email`.
    #[schema(pattern = "^(sms|voice|email)$")]
    pub channel: String,
}

#[derive(Serialize, ToSchema)]
pub struct CodeSentResponse {
    pub channel: String,
    /// Masked destination.
    pub sent_to: String,
    pub expires_at: String,
    pub resend_after_s: i64,
}

impl From<twostep_app::codes::CodeSent> for CodeSentResponse {
    fn from(c: twostep_app::codes::CodeSent) -> Self {
        Self {
            channel: c.channel.as_str().into(),
            sent_to: c.sent_to,
            expires_at: rfc3339(c.expires_at),
            resend_after_s: c.resend_after_s,
        }
    }
}

pub fn code_channel(channel: &str) -> Result<SecondFactorMethod, ApiError> {
    match SecondFactorMethod::try_from(channel) {
        Ok(SecondFactorMethod::Totp) | Err(_) => {
            Err(AppError::invalid("channel", "must be sms, voice or email").into())
        }
        Ok(m) => Ok(m),
    }
}

/// Sign in, step two: send a code by SMS, voice or e-mail
///
/// Sends a one-time code on `channel` (one the login's `methods` lists; `email` only for an account with no
/// stronger factor). The answer says where it went (masked), when it expires (`--code-ttl-s`) and how long to wait
/// before asking again. Check it with `POST /api/v1/login/{login_id}/code/verify`.
#[utoipa::path(post, path = "/api/v1/login/{login_id}/code", tag = "login", request_body = ChannelBody,
    params(("login_id" = String, Path)),
    responses((status = 202, body = CodeSentResponse), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login_code(
    State(s): State<AppState>,
    Meta(meta): Meta,
    Path(login_id): Path<String>,
    ApiJson(b): ApiJson<ChannelBody>,
) -> ApiResult<Response> {
    let method = code_channel(&b.channel)?;
    let sent = s.app.login_send_code(&login_id, method, &meta).await?;
    Ok((StatusCode::ACCEPTED, Json(CodeSentResponse::from(sent))).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct ChannelCodeBody {
    #[schema(pattern = "^(sms|voice|email)$")]
    pub channel: String,
    pub code: String,
    /// As in `POST /api/v1/login`.
    #[schema(max_length = 256)]
    pub device_token: Option<String>,
}

/// Sign in, step two: check a sent code
///
/// Finishes a sign-in with the code sent on `channel`; a code is bound to its channel and used once. Answers a
/// session like the authenticator step (or `device_confirmation_required`, as there).
#[utoipa::path(post, path = "/api/v1/login/{login_id}/code/verify", tag = "login", request_body = ChannelCodeBody,
    params(("login_id" = String, Path)),
    responses((status = 200, body = LoginResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login_code_verify(
    State(s): State<AppState>,
    Meta(meta): Meta,
    Path(login_id): Path<String>,
    ApiJson(b): ApiJson<ChannelCodeBody>,
) -> ApiResult<Json<LoginResponse>> {
    let method = code_channel(&b.channel)?;
    let meta = with_device(meta, b.device_token);
    let outcome = s.app.login_verify_code(&login_id, method, &b.code, &meta).await?;
    Ok(Json(LoginResponse::of(outcome)))
}

/// Sign out
///
/// Revokes the bearer token sent with this request; other sessions stay.
#[utoipa::path(post, path = "/api/v1/logout", tag = "login", security(("bearer" = [])),
    responses((status = 204, description = "The token is revoked"), (status = 401, body = ErrorBody)))]
pub async fn logout(State(s): State<AppState>, Meta(meta): Meta, auth: Authed) -> ApiResult<StatusCode> {
    s.app.logout(&auth.token, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
