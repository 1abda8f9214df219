//! The signed-in account: overview, authenticator, step-up codes, password,
//! activity and withdrawals.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use twostep_app::ports::Channel;
use twostep_app::security::WithdrawalRequest;
use twostep_domain::SecondFactorMethod;
use utoipa::ToSchema;

use crate::AppState;
use crate::api::login::{ChannelBody, CodeSentResponse, code_channel};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Authed, Meta};
use crate::time::rfc3339;

#[derive(Serialize, ToSchema)]
pub struct Factors {
    pub totp: bool,
    pub phone: bool,
    pub email: bool,
}

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    pub account_id: String,
    /// Masked.
    pub email: String,
    /// Masked, or null.
    pub phone: Option<String>,
    /// `user`, `reviewer` or `admin`.
    pub role: String,
    pub factors: Factors,
    pub withdrawals_blocked_until: Option<String>,
    /// Whether the owner set an anti-phishing phrase (the phrase itself is
    /// only ever shown in the e-mails).
    pub anti_phishing_phrase_set: bool,
}

/// The signed-in account
///
/// The account's id, masked e-mail and phone, role, which factors it has and until when withdrawals are blocked by
/// a security hold (null when they are not).
#[utoipa::path(get, path = "/api/v1/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody)))]
pub async fn me(State(s): State<AppState>, auth: Authed) -> ApiResult<Json<MeResponse>> {
    let o = s.app.overview(&auth.account_id).await?;
    Ok(Json(MeResponse {
        account_id: o.account_id,
        email: o.email,
        phone: o.phone,
        role: o.role.as_str().into(),
        factors: Factors { totp: o.totp, phone: o.phone_bound, email: o.email_verified },
        withdrawals_blocked_until: o.withdrawals_blocked_until.map(rfc3339),
        anti_phishing_phrase_set: o.anti_phishing_phrase_set,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct TotpSetupResponse {
    pub setup_id: String,
    /// The base32 secret to write down; re-entering it in any authenticator restores the codes.
    pub backup_key: String,
    pub otpauth_uri: String,
    /// The otpauth URI as an SVG QR code.
    pub qr_svg: String,
}

/// Start enrolling an authenticator
///
/// Needs sudo mode. Returns a `setup_id`, the `backup_key` (the TOTP secret in base32: the user writes it down;
/// typed into any authenticator app it restores the codes), the `otpauth_uri` and a QR code as SVG. Confirm with
/// `POST /api/v1/me/totp/confirm` before the setup expires.
#[utoipa::path(post, path = "/api/v1/me/totp", tag = "me", security(("bearer" = [])),
    responses((status = 201, body = TotpSetupResponse), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn totp_start(State(s): State<AppState>, Meta(meta): Meta, auth: Authed) -> ApiResult<Response> {
    let e = s.app.start_totp_enrolment(&auth.account_id, &auth.token, &meta).await?;
    let body = TotpSetupResponse {
        setup_id: e.setup_id,
        backup_key: e.backup_key,
        otpauth_uri: e.otpauth_uri,
        qr_svg: e.qr_svg,
    };
    Ok((StatusCode::CREATED, [("cache-control", "no-store")], Json(body)).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct TotpConfirmBody {
    pub setup_id: String,
    /// The backup key typed back (spaces and case do not matter).
    pub backup_key: String,
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct OkResponse {
    pub ok: bool,
}

/// Bind the authenticator
///
/// Needs sudo mode. Send the `setup_id`, the `backup_key` typed back (proof it was written down) and a current code
/// from the app. The code's 30-second step is then used: the next sign-in needs the next code. Binding starts the
/// withdrawal hold when it adds to or replaces a factor, and the account's channels are told.
#[utoipa::path(post, path = "/api/v1/me/totp/confirm", tag = "me", security(("bearer" = [])), request_body = TotpConfirmBody,
    responses((status = 200, body = OkResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn totp_confirm(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
    ApiJson(b): ApiJson<TotpConfirmBody>,
) -> ApiResult<Json<OkResponse>> {
    s.app.confirm_totp_enrolment(&auth.account_id, &auth.token, &b.setup_id, &b.backup_key, &b.code, &meta).await?;
    Ok(Json(OkResponse { ok: true }))
}

/// A fresh proof for a sensitive change. Without `code`, the session must be
/// in sudo mode (`POST /api/v1/me/sudo` within the last few minutes).
#[derive(Deserialize, ToSchema)]
pub struct ProofBody {
    /// A current authenticator code, or a code sent by `POST /api/v1/me/code` on a channel that counts.
    pub code: Option<String>,
}

/// Remove the authenticator
///
/// Needs sudo mode, or a current `code`. Starts the withdrawal hold after an authenticator change and tells the
/// account's channels.
#[utoipa::path(post, path = "/api/v1/me/totp/disable", tag = "me", security(("bearer" = [])), request_body = ProofBody,
    responses((status = 200, body = OkResponse), (status = 401, body = ErrorBody),
              (status = 403, description = "step_up_required: no fresh proof of a factor the account has", body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn totp_disable(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
    ApiJson(b): ApiJson<ProofBody>,
) -> ApiResult<Json<OkResponse>> {
    s.app.disable_totp(&auth.account_id, &auth.token, b.code.as_deref(), &meta).await?;
    Ok(Json(OkResponse { ok: true }))
}

/// Send a step-up code
///
/// Sends a code on `channel` for `POST /api/v1/me/sudo` or for a route's `code` field: SMS or voice when the
/// account has a phone, e-mail only when it has neither a phone nor an authenticator. Expires after `--code-ttl-s`.
#[utoipa::path(post, path = "/api/v1/me/code", tag = "me", security(("bearer" = [])), request_body = ChannelBody,
    responses((status = 202, body = CodeSentResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn step_up_code(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
    ApiJson(b): ApiJson<ChannelBody>,
) -> ApiResult<Response> {
    let channel = match code_channel(&b.channel)? {
        SecondFactorMethod::Sms => Channel::Sms,
        SecondFactorMethod::Voice => Channel::Voice,
        _ => Channel::Email,
    };
    let sent = s.app.send_step_up_code(&auth.account_id, channel, &meta).await?;
    Ok((StatusCode::ACCEPTED, Json(CodeSentResponse::from(sent))).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordBody {
    pub current_password: String,
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
    /// A current authenticator code, or a code sent by `POST /api/v1/me/code`; may be left out while the
    /// session is in sudo mode, and is not needed for an account without an authenticator or phone.
    pub code: Option<String>,
}

/// Change the password
///
/// Needs `current_password` and, on an account with an authenticator or phone, sudo mode or a current `code`. Signs
/// every other session out, stops recoveries under way and starts the withdrawal hold after a password change.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "me", security(("bearer" = [])), request_body = PasswordBody,
    responses((status = 200, description = "Changed; other sessions revoked and pending sign-ins ended; withdrawal hold \
               (24 hours by default). All of it, with the audit entry and the e-mail notice, in one transaction", body = OkResponse),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 409, description = "the password was changed meanwhile; nothing was changed", body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn change_password(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
    ApiJson(b): ApiJson<PasswordBody>,
) -> ApiResult<Json<OkResponse>> {
    s.app
        .change_password(&auth.account_id, &auth.token, &b.current_password, &b.new_password, b.code.as_deref(), &meta)
        .await?;
    Ok(Json(OkResponse { ok: true }))
}

#[derive(Serialize, ToSchema)]
pub struct ActivityEvent {
    pub at: String,
    pub kind: String,
    /// Empty for what staff did.
    pub ip: String,
    /// Empty for what staff did.
    pub user_agent: String,
    /// `twostep staff` for what the service's staff did (a recovery decided,
    /// a freeze lifted); null for what the account did itself.
    pub by: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ActivityResponse {
    /// Newest first.
    pub events: Vec<ActivityEvent>,
}

/// The account's security activity
///
/// Sign-ins, changes and recovery events of this account, newest first, with IP and browser; a staff action shows
/// `by: "twostep staff"`.
#[utoipa::path(get, path = "/api/v1/me/activity", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = ActivityResponse), (status = 401, body = ErrorBody)))]
pub async fn activity(State(s): State<AppState>, auth: Authed) -> ApiResult<Json<ActivityResponse>> {
    let events = s.app.activity(&auth.account_id).await?;
    Ok(Json(ActivityResponse {
        events: events
            .into_iter()
            .map(|e| ActivityEvent { at: rfc3339(e.at), kind: e.kind, ip: e.ip, user_agent: e.user_agent, by: e.by })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct WithdrawalBody {
    pub asset: String,
    /// A positive decimal number, as a string.
    pub amount: String,
    pub address: String,
    /// A current authenticator code or step-up code; may be left out while the session is in sudo mode.
    pub code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WithdrawalResponse {
    pub withdrawal_id: String,
    pub status: String,
}

/// Request a withdrawal
///
/// Needs sudo mode or a current second-factor `code`, and no active security hold (403 `security_hold` with `until`
/// otherwise). The request is recorded, not executed.
#[utoipa::path(post, path = "/api/v1/withdrawals", tag = "me", security(("bearer" = [])), request_body = WithdrawalBody,
    responses((status = 201, body = WithdrawalResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, description = "security_hold, with `until`", body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn withdraw(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
    ApiJson(b): ApiJson<WithdrawalBody>,
) -> ApiResult<Response> {
    let request = WithdrawalRequest { asset: b.asset, amount: b.amount, address: b.address, code: b.code };
    let id = s.app.request_withdrawal(&auth.account_id, &auth.token, &request, &meta).await?;
    let body = WithdrawalResponse { withdrawal_id: id, status: "requested".into() };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct SudoBody {
    /// The factor proved: `passkey`, `totp`, `sms`, `voice` or `email` (a code sent by `POST /api/v1/me/code` on
    /// that channel), or `password`. Only factors the account accepts count (see `step_up_required`).
    pub method: String,
    /// The code, for `totp`, `sms`, `voice` and `email`.
    pub code: Option<String>,
    /// The password, for `password`.
    pub password: Option<String>,
    /// For `passkey`: the answer to `POST /api/v1/me/sudo/passkey-options`.
    pub passkey: Option<crate::api::passkeys::PasskeyAnswerBody>,
}

#[derive(Serialize, ToSchema)]
pub struct SudoResponse {
    pub method: String,
    /// Sensitive changes need no further proof from this session until then.
    pub sudo_until: String,
}

/// Confirm it is you (sudo mode)
///
/// Records a proof of a factor the account already has, so that sensitive changes may follow for `--sudo-ttl-s` (10
/// minutes by default). With a passkey: `method: passkey` and `passkey`, the answer to the options of
/// `POST /api/v1/me/sudo/passkey-options`. With an authenticator: `method: totp` and a current code; with a phone: `sms` or `voice`
/// and a code from `POST /api/v1/me/code`; with neither: `password` (the password again) or `email` (a code from
/// `POST /api/v1/me/code`). A refusal names the methods that count.
#[utoipa::path(post, path = "/api/v1/me/sudo", tag = "me", security(("bearer" = [])), request_body = SudoBody,
    responses((status = 200, description = "Sudo mode: the session may make sensitive changes for a few minutes \
               (10 by default)", body = SudoResponse),
              (status = 400, body = ErrorBody), (status = 401, description = "invalid_code or invalid_credentials", body = ErrorBody),
              (status = 403, description = "step_up_required: this factor does not count for this account; `methods` \
               lists those that do", body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn sudo(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
    ApiJson(b): ApiJson<SudoBody>,
) -> ApiResult<Json<SudoResponse>> {
    let factor = twostep_domain::sudo::ProofFactor::parse(&b.method).ok_or_else(|| {
        crate::error::ApiError::invalid("method: must be one of passkey, totp, sms, voice, email, password")
    })?;
    let secret = match factor {
        twostep_domain::sudo::ProofFactor::Password => b.password,
        twostep_domain::sudo::ProofFactor::Passkey => {
            b.passkey.map(|p| twostep_app::passkeys::PasskeyAnswer::from(p).to_secret())
        }
        _ => b.code,
    }
    .ok_or_else(|| {
        crate::error::ApiError::invalid(match b.method.as_str() {
            "password" => "password: is required",
            "passkey" => "passkey: is required",
            _ => "code: is required",
        })
    })?;
    let granted = s.app.prove_factor(&auth.account_id, &auth.token, factor, &secret, &meta).await?;
    Ok(Json(SudoResponse { method: granted.factor.as_str().into(), sudo_until: rfc3339(granted.until) }))
}

#[derive(Serialize, ToSchema)]
pub struct StoppedResponse {
    /// How many recovery cases were under way and are now stopped.
    pub cases_stopped: usize,
}

/// Stop every recovery under way ("this wasn't me")
///
/// Needs sudo mode. Cancels every live recovery case of the signed-in account and says how many it stopped.
#[utoipa::path(post, path = "/api/v1/me/recovery/stop", tag = "me", security(("bearer" = [])),
    responses((status = 200, description = "\"This wasn't me\": every recovery of the account under way stops, and any \
               later one is high risk. Needs sudo mode", body = StoppedResponse),
              (status = 401, body = ErrorBody), (status = 403, description = "step_up_required", body = ErrorBody)))]
pub async fn stop_recoveries(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
) -> ApiResult<Json<StoppedResponse>> {
    let cases_stopped = s.app.stop_recoveries(&auth.account_id, &auth.token, &meta).await?;
    Ok(Json(StoppedResponse { cases_stopped }))
}
