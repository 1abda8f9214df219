//! Lost-2FA recovery over HTTP ("Security check not available"): opening a
//! case from a sign-in, its steps (case calls authenticate with the case
//! token as a bearer), the owner's cancel, and the security questions a
//! signed-in account sets. The identity upload lives in `upload`.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use twostep_app::AppError;
use twostep_app::recovery::{CaseView, Question};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::me::OkResponse;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Authed, Meta, bearer};
use crate::time::rfc3339;

/// The case token sent as `Authorization: Bearer <case_token>`.
pub struct CaseToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for CaseToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        bearer(parts).map(CaseToken).ok_or_else(|| AppError::Unauthorized.into())
    }
}

#[derive(Serialize, ToSchema)]
pub struct OpenedCaseResponse {
    pub case_id: String,
    /// Send as `Authorization: Bearer <case_token>` on every case call. Shown once.
    pub case_token: String,
    /// Withdrawals stay blocked this long after an approved recovery.
    pub withdrawals_disabled_hours: i64,
    /// What can be restored: `authenticator`, `phone`, `email`; and
    /// `password` for a case opened from a password reset, which always
    /// sets it.
    pub items: Vec<String>,
}

impl From<twostep_app::recovery::OpenedCase> for OpenedCaseResponse {
    fn from(opened: twostep_app::recovery::OpenedCase) -> Self {
        Self {
            case_id: opened.case_id,
            case_token: opened.case_token,
            withdrawals_disabled_hours: opened.withdrawals_disabled_hours,
            items: opened.items.iter().map(|i| i.as_str().to_owned()).collect(),
        }
    }
}

/// Recovery, step 1: open a case ("Security check not available")
///
/// For an owner who passed the password step but has lost the second factor. Opens a recovery case and returns its
/// `case_id` and `case_token` (send `Authorization: Bearer <case_token>` on every `/api/v1/recovery/{case_id}`
/// call), the items that can be reset and how many hours withdrawals stay blocked after an approval. The account's
/// current channels are told at once, with a cancel code. Next: choose what to reset with `POST
/// /api/v1/recovery/{case_id}/items`. A staff account gets 403; a case opened elsewhere still live answers 409.
#[utoipa::path(post, path = "/api/v1/login/{login_id}/recovery", tag = "recovery",
    params(("login_id" = String, Path, description = "A sign-in that passed the password step")),
    responses((status = 201, description = "Case opened; the account's current channels are told, with a cancel code",
               body = OpenedCaseResponse),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "a case of this account is under review", body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn open_case(
    State(s): State<AppState>,
    Meta(meta): Meta,
    Path(login_id): Path<String>,
) -> ApiResult<Response> {
    let opened = s.app.open_recovery(&login_id, &meta).await?;
    Ok((StatusCode::CREATED, Json(OpenedCaseResponse::from(opened))).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct CaseSteps {
    pub codes: bool,
    pub questions: bool,
    pub identity: bool,
}

#[derive(Serialize, ToSchema)]
pub struct CaseResponse {
    pub case_id: String,
    /// `open`, `pending_review`, `approved`, `rejected`, `cancelled` or `expired`.
    pub status: String,
    pub reset_items: Vec<String>,
    /// Which of `codes`, `questions`, `identity` this case needs, in order.
    pub required_steps: Vec<String>,
    /// Which steps are done.
    pub steps: CaseSteps,
    /// While open: when the case expires unless there is progress (7 days idle).
    pub expires_at: Option<String>,
    /// When the case was sent for review.
    pub submitted_at: Option<String>,
    /// When it was approved, rejected or cancelled.
    pub decided_at: Option<String>,
    /// Why staff rejected it; only for a rejected case.
    pub rejection_reason: Option<String>,
    /// After an approval: withdrawals are blocked until then.
    pub withdrawals_blocked_until: Option<String>,
}

impl From<CaseView> for CaseResponse {
    fn from(v: CaseView) -> Self {
        let done = |step: &str| v.steps.iter().any(|(s, d)| s.as_str() == step && *d);
        Self {
            steps: CaseSteps { codes: done("codes"), questions: done("questions"), identity: done("identity") },
            case_id: v.case_id.clone(),
            status: v.status.as_str().into(),
            reset_items: v.reset_items.iter().map(|i| i.as_str().to_owned()).collect(),
            required_steps: v.required_steps.iter().map(|s| s.as_str().to_owned()).collect(),
            expires_at: v.expires_at.map(rfc3339),
            submitted_at: v.submitted_at.map(rfc3339),
            decided_at: v.decided_at.map(rfc3339),
            rejection_reason: v.rejection_reason.clone(),
            withdrawals_blocked_until: v.hold_until.map(rfc3339),
        }
    }
}

/// Recovery: the case's state
///
/// Status (`open`, `pending_review`, `approved`, `rejected`, `cancelled`, `expired`), the items to reset, the steps
/// this case requires (`codes`, `questions`, `identity`), which of them are done, and when the case expires. Use it
/// to decide the next call; `submit` needs every required step done. Once submitted it also says when, and once
/// decided when and how: the reviewer's reason for a rejection, the end of the withdrawal hold for an approval.
#[utoipa::path(get, path = "/api/v1/recovery/{case_id}", tag = "recovery", security(("bearer" = [])),
    params(("case_id" = String, Path)),
    responses((status = 200, body = CaseResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_case(
    State(s): State<AppState>,
    CaseToken(token): CaseToken,
    Path(case_id): Path<String>,
) -> ApiResult<Json<CaseResponse>> {
    Ok(Json(s.app.recovery_case(&case_id, &token).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct ItemsBody {
    /// Any of `authenticator`, `phone`, `email`.
    pub reset: Vec<String>,
    /// E.164; required when `phone` is reset.
    pub new_phone: Option<String>,
    /// Required when `email` is reset.
    pub new_email: Option<String>,
}

/// Recovery, step 2: choose what to reset
///
/// `reset` lists any of `authenticator`, `phone`, `email`; resetting `phone` needs `new_phone` (E.164), resetting
/// `email` needs `new_email`. Codes are then sent to the phone and e-mail address the account will have after the
/// reset. Next: `POST /api/v1/recovery/{case_id}/codes`.
#[utoipa::path(post, path = "/api/v1/recovery/{case_id}/items", tag = "recovery", security(("bearer" = [])),
    params(("case_id" = String, Path)), request_body = ItemsBody,
    responses((status = 200, description = "\"Confirm restore\"", body = CaseResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn choose_items(
    State(s): State<AppState>,
    Meta(meta): Meta,
    CaseToken(token): CaseToken,
    Path(case_id): Path<String>,
    ApiJson(b): ApiJson<ItemsBody>,
) -> ApiResult<Json<CaseResponse>> {
    let view = s
        .app
        .choose_recovery_items(&case_id, &token, &b.reset, b.new_phone.as_deref(), b.new_email.as_deref(), &meta)
        .await?;
    Ok(Json(view.into()))
}

#[derive(Serialize, ToSchema)]
pub struct SentCode {
    /// `sms` or `email`.
    pub channel: String,
    /// Masked.
    pub sent_to: String,
}

#[derive(Serialize, ToSchema)]
pub struct CodesSentResponse {
    pub sent: Vec<SentCode>,
    pub expires_at: String,
}

/// Recovery, step 3: send the codes
///
/// Sends one code to the e-mail address and one to the phone the account will have after the reset (no phone: the
/// e-mail code only). They expire at `expires_at` (`--recovery-code-ttl-s`, 10 minutes by default). Next: `POST
/// /api/v1/recovery/{case_id}/codes/verify`.
#[utoipa::path(post, path = "/api/v1/recovery/{case_id}/codes", tag = "recovery", security(("bearer" = [])),
    params(("case_id" = String, Path)),
    responses((status = 202, description = "Codes sent to the phone and e-mail the account will have", body = CodesSentResponse),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn send_codes(
    State(s): State<AppState>,
    Meta(meta): Meta,
    CaseToken(token): CaseToken,
    Path(case_id): Path<String>,
) -> ApiResult<Response> {
    let sent = s.app.send_recovery_codes(&case_id, &token, &meta).await?;
    let body = CodesSentResponse {
        sent: sent.sent.into_iter().map(|(c, to)| SentCode { channel: c.as_str().into(), sent_to: to }).collect(),
        expires_at: rfc3339(sent.expires_at),
    };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct VerifyCodesBody {
    /// Omitted when the account will have no phone (or the phone code was already proven).
    pub phone_code: Option<String>,
    pub email_code: Option<String>,
}

/// Recovery, step 3: prove the codes
///
/// Send `email_code` and `phone_code` together (omit `phone_code` when no phone code was sent). A wrong or expired
/// code answers 401 `invalid_code`; send new codes after they expire.
#[utoipa::path(post, path = "/api/v1/recovery/{case_id}/codes/verify", tag = "recovery", security(("bearer" = [])),
    params(("case_id" = String, Path)), request_body = VerifyCodesBody,
    responses((status = 200, description = "Codes proven", body = CaseResponse), (status = 400, body = ErrorBody),
              (status = 401, description = "invalid_code (a code proven in the same call is kept)", body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn verify_codes(
    State(s): State<AppState>,
    Meta(meta): Meta,
    CaseToken(token): CaseToken,
    Path(case_id): Path<String>,
    ApiJson(b): ApiJson<VerifyCodesBody>,
) -> ApiResult<Json<CaseResponse>> {
    let view =
        s.app.verify_recovery_codes(&case_id, &token, b.phone_code.as_deref(), b.email_code.as_deref(), &meta).await?;
    Ok(Json(view.into()))
}

#[derive(Serialize, ToSchema)]
pub struct QuestionItem {
    pub question_id: String,
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct QuestionsResponse {
    pub questions: Vec<QuestionItem>,
}

fn questions(list: Vec<Question>) -> QuestionsResponse {
    QuestionsResponse {
        questions: list.into_iter().map(|q| QuestionItem { question_id: q.question_id, text: q.text }).collect(),
    }
}

/// Recovery, step 4: the questions to answer
///
/// The account's own security questions and questions built from account facts (for example the month and year the
/// account was opened). Answer them with `POST /api/v1/recovery/{case_id}/answers`.
#[utoipa::path(get, path = "/api/v1/recovery/{case_id}/questions", tag = "recovery", security(("bearer" = [])),
    params(("case_id" = String, Path)),
    responses((status = 200, description = "The account's own questions and account-fact questions", body = QuestionsResponse),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn case_questions(
    State(s): State<AppState>,
    CaseToken(token): CaseToken,
    Path(case_id): Path<String>,
) -> ApiResult<Json<QuestionsResponse>> {
    Ok(Json(questions(s.app.recovery_questions(&case_id, &token).await?)))
}

#[derive(Deserialize, ToSchema)]
pub struct Answer {
    pub question_id: String,
    pub answer: String,
}

#[derive(Deserialize, ToSchema)]
pub struct AnswersBody {
    pub answers: Vec<Answer>,
}

#[derive(Serialize, ToSchema)]
pub struct RecordedResponse {
    /// Always true; which answers were right is never told.
    pub recorded: bool,
}

/// Recovery, step 4: answer the questions
///
/// Records the answers, compared ignoring case and spaces and scored for the reviewer; the answer never says which
/// were right. Next: the identity documents, if the case requires them.
#[utoipa::path(post, path = "/api/v1/recovery/{case_id}/answers", tag = "recovery", security(("bearer" = [])),
    params(("case_id" = String, Path)), request_body = AnswersBody,
    responses((status = 200, body = RecordedResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn answer_questions(
    State(s): State<AppState>,
    Meta(meta): Meta,
    CaseToken(token): CaseToken,
    Path(case_id): Path<String>,
    ApiJson(b): ApiJson<AnswersBody>,
) -> ApiResult<Json<RecordedResponse>> {
    let answers: Vec<(String, String)> = b.answers.into_iter().map(|a| (a.question_id, a.answer)).collect();
    s.app.answer_recovery_questions(&case_id, &token, &answers, &meta).await?;
    Ok(Json(RecordedResponse { recorded: true }))
}

#[derive(Serialize, ToSchema)]
pub struct CaseStatusResponse {
    pub status: String,
}

/// Recovery, last step: submit for review
///
/// Needs every required step done (409 otherwise). The case waits for staff (`pending_review`); the account's
/// current channels get a notice with a cancel code. Poll `GET /api/v1/recovery/{case_id}` for the decision; an
/// approval resets the chosen items, signs every session out and blocks withdrawals for the hold.
#[utoipa::path(post, path = "/api/v1/recovery/{case_id}/submit", tag = "recovery", security(("bearer" = [])),
    params(("case_id" = String, Path)),
    responses((status = 200, description = "Sent to staff; the current channels get a notice with a cancel code",
               body = CaseStatusResponse),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "a required step is missing, or already submitted", body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn submit(
    State(s): State<AppState>,
    Meta(meta): Meta,
    CaseToken(token): CaseToken,
    Path(case_id): Path<String>,
) -> ApiResult<Json<CaseStatusResponse>> {
    let status = s.app.submit_recovery(&case_id, &token, &meta).await?;
    Ok(Json(CaseStatusResponse { status: status.as_str().into() }))
}

/// Recovery: the requester takes the case back
///
/// With the case token, while the case is open or waits for review (409 once it is decided, cancelled or
/// expired). The case is cancelled and cannot be approved; nothing on the account changes, and its current
/// channels are told that the request was withdrawn. `GET /api/v1/recovery/{case_id}` then shows `cancelled`.
#[utoipa::path(post, path = "/api/v1/recovery/{case_id}/withdraw", tag = "recovery", security(("bearer" = [])),
    params(("case_id" = String, Path)),
    responses((status = 200, description = "The case is cancelled; the account's current channels are told that \
               the request was withdrawn. Nothing on the account changes.", body = CaseStatusResponse),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "the case is no longer open or waiting for review", body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn withdraw(
    State(s): State<AppState>,
    Meta(meta): Meta,
    CaseToken(token): CaseToken,
    Path(case_id): Path<String>,
) -> ApiResult<Json<CaseStatusResponse>> {
    s.app.withdraw_recovery(&case_id, &token, &meta).await?;
    Ok(Json(CaseStatusResponse { status: "cancelled".into() }))
}

#[derive(Deserialize, ToSchema)]
pub struct CancelBody {
    /// The cancel code from a recovery notice.
    pub cancel_token: String,
}

#[derive(Serialize, ToSchema)]
pub struct CancelResponse {
    /// `cancelled` when the code stopped something (a case under way, or an
    /// approved reset whose hold still ran: then the account is frozen);
    /// `nothing_to_stop` when nothing was left to stop (the objection is
    /// still recorded: any later case is high risk).
    pub status: String,
    /// How many recovery cases of the account were under way and stopped.
    pub cases_stopped: usize,
    /// Whether the account is frozen now (until staff look).
    pub account_frozen: bool,
}

/// Recovery: the owner's objection ("this wasn't me")
///
/// Send a `cancel_token` from any recovery notice. It stops every live case of the account; after an approval,
/// while its hold runs, it freezes the account until staff look. Answers what happened: `cancelled` with how many
/// cases it stopped, or `nothing_to_stop`. No authentication: the token is the proof.
#[utoipa::path(post, path = "/api/v1/recovery/cancel", tag = "recovery", request_body = CancelBody,
    responses((status = 200, description = "\"This wasn't me\". Any cancel code of any case of the account (live, \
               superseded, or approved within its hold) stops every live case of the account, and freezes it when a \
               reset was already approved; audited, told to every channel of the last 30 days", body = CancelResponse),
              (status = 400, body = ErrorBody), (status = 404, description = "unknown cancel code", body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn cancel(
    State(s): State<AppState>,
    Meta(meta): Meta,
    ApiJson(b): ApiJson<CancelBody>,
) -> ApiResult<Json<CancelResponse>> {
    let outcome = s.app.cancel_recovery(&b.cancel_token, &meta).await?;
    Ok(Json(CancelResponse {
        status: outcome.status().into(),
        cases_stopped: outcome.cases_stopped,
        account_frozen: outcome.account_frozen,
    }))
}

/// The security-question catalogue
///
/// The questions an account may answer with `PUT /api/v1/me/security-questions`; their answers are evidence in a
/// recovery case.
#[utoipa::path(get, path = "/api/v1/security-questions", tag = "recovery",
    responses((status = 200, description = "The catalogue", body = QuestionsResponse)))]
pub async fn catalogue(State(s): State<AppState>) -> Json<QuestionsResponse> {
    Json(questions(s.app.security_question_catalogue()))
}

/// Set the security answers
///
/// Needs sudo mode. Replaces the account's answers (`question_id` from the catalogue). Answers are stored
/// normalised and hashed; they are evidence for a reviewer during recovery, never a way to sign in.
#[utoipa::path(put, path = "/api/v1/me/security-questions", tag = "me", security(("bearer" = [])),
    request_body(content = AnswersBody, description = "2 to 5 questions from the catalogue; answers are compared \
        ignoring case, spaces and punctuation, stored hashed and never returned"),
    responses((status = 200, body = OkResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn set_security_questions(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
    ApiJson(b): ApiJson<AnswersBody>,
) -> ApiResult<Json<OkResponse>> {
    let answers: Vec<(String, String)> = b.answers.into_iter().map(|a| (a.question_id, a.answer)).collect();
    s.app.set_security_questions(&auth.account_id, &auth.token, &answers, &meta).await?;
    Ok(Json(OkResponse { ok: true }))
}
