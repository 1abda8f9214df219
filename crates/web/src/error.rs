//! The single mapping from use-case errors to HTTP responses. The body is
//! always `{"error": {"code", "message"}}` (plus `retry_after_s` on 429 and
//! `until` on a security hold); inner details go to the log, never the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use twostep_app::AppError;
use utoipa::ToSchema;

use crate::time::rfc3339;

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code from the API contract.
    pub code: String,
    /// One sentence for a person.
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<i64>,
    /// End of the security hold (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// On `step_up_required`: the factors that count, strongest first
    /// (`totp`, `sms`, `voice`, or for an account without them `password`, `email`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    /// On `captcha_failed` for a puzzle too easy for this address: the
    /// difficulty a new one (`GET /api/v1/captcha?email=…`) has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difficulty_bits: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after_s: Option<i64>,
    pub until: Option<i64>,
    pub methods: Option<Vec<String>>,
    pub difficulty_bits: Option<u32>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after_s: None,
            until: None,
            methods: None,
            difficulty_bits: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "There is nothing here.")
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        use StatusCode as S;
        match e {
            AppError::InvalidRequest { field, message } => {
                ApiError::new(S::BAD_REQUEST, "invalid_request", format!("{field}: {message}"))
            }
            AppError::CaptchaFailed => ApiError::new(
                S::BAD_REQUEST,
                "captcha_failed",
                "The captcha is missing, expired, already used or wrong; solve a new one.",
            ),
            AppError::CaptchaTooEasy { difficulty_bits } => ApiError {
                difficulty_bits: Some(difficulty_bits),
                ..ApiError::new(
                    S::BAD_REQUEST,
                    "captcha_failed",
                    format!(
                        "After repeated wrong passwords this address needs a harder puzzle ({difficulty_bits} bits): \
                         get one from /api/v1/captcha?email=… and solve it."
                    ),
                )
            },
            AppError::StepUpRequired { methods } => {
                let names: Vec<String> = methods.iter().map(|m| m.as_str().to_owned()).collect();
                ApiError {
                    message: format!(
                        "Confirm it is you first: prove one of {} with POST /api/v1/me/sudo (or send a current code).",
                        names.join(", ")
                    ),
                    methods: Some(names),
                    ..ApiError::new(S::FORBIDDEN, "step_up_required", "")
                }
            }
            AppError::InvalidCredentials => {
                ApiError::new(S::UNAUTHORIZED, "invalid_credentials", "That e-mail and password were not accepted.")
            }
            AppError::Unauthorized => {
                ApiError::new(S::UNAUTHORIZED, "unauthorized", "Sign in again: the session or sign-in has expired.")
            }
            AppError::InvalidCode => {
                ApiError::new(S::UNAUTHORIZED, "invalid_code", "The code is wrong, expired or already used.")
            }
            AppError::CodeAlreadyUsed => ApiError::new(
                S::UNAUTHORIZED,
                "invalid_code",
                "This code was already used; wait for the next code (a new one every 30 seconds) and send that.",
            ),
            AppError::EmailUnverified => {
                ApiError::new(S::FORBIDDEN, "email_unverified", "Confirm your e-mail address with the code we sent.")
            }
            AppError::Forbidden => ApiError::new(S::FORBIDDEN, "forbidden", "You are not allowed to do this."),
            AppError::Staff(refusal) => ApiError::new(S::FORBIDDEN, "forbidden", refusal.message()),
            AppError::SecurityHold { until } => ApiError {
                until: Some(until),
                ..ApiError::new(S::FORBIDDEN, "security_hold", "Withdrawals are paused by a security hold.")
            },
            AppError::NotFound => ApiError::not_found(),
            AppError::Conflict(message) => ApiError::new(S::CONFLICT, "conflict", message),
            AppError::PayloadTooLarge(message) => ApiError::new(S::PAYLOAD_TOO_LARGE, "payload_too_large", message),
            AppError::UnsupportedMedia(message) => {
                ApiError::new(S::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message)
            }
            AppError::TooManyAttempts { retry_after_s } => ApiError {
                retry_after_s: Some(retry_after_s.max(1)),
                ..ApiError::new(S::TOO_MANY_REQUESTS, "too_many_attempts", "Too many attempts; wait and try again.")
            },
            AppError::Unavailable(detail) => {
                tracing::warn!(%detail, "storage unavailable");
                ApiError {
                    retry_after_s: Some(1),
                    ..ApiError::new(
                        S::SERVICE_UNAVAILABLE,
                        "unavailable",
                        "The service is briefly unavailable; try again.",
                    )
                }
            }
            AppError::Overloaded { retry_after_s } => ApiError {
                retry_after_s: Some(retry_after_s.max(1)),
                ..ApiError::new(S::SERVICE_UNAVAILABLE, "unavailable", "The service is busy; try again in a moment.")
            },
            AppError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                ApiError::new(S::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on our side.")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                retry_after_s: self.retry_after_s,
                until: self.until.map(rfc3339),
                methods: self.methods,
                difficulty_bits: self.difficulty_bits,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(wait) = self.retry_after_s
            && let Ok(v) = HeaderValue::from_str(&wait.to_string())
        {
            response.headers_mut().insert("retry-after", v);
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
