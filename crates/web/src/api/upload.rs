//! The identity upload: `multipart/form-data` with `country`, `id_type`,
//! `front`, `back` and `selfie`, read as a stream with hard limits. The case
//! token is checked before a byte of the body is read; an image over 10 MiB
//! is answered 413 without being kept; what the images are is decided by
//! their content in the use case, never by the declared type.
//!
//! Memory is bounded twice: each upload by its body limit, and all uploads
//! together by [`UploadBudget`], a semaphore of bytes. An upload reserves its
//! declared length (or the whole per-request limit when it declares none)
//! before it is read, or is refused at once with 429; the reservation is
//! held until the request's images are stored and dropped. The pages' upload
//! (`POST /recovery/identity`) goes through the same two checks.

use axum::extract::multipart::{Field, MultipartRejection};
use std::sync::Arc;

use axum::Json;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use twostep_app::AppError;
use twostep_app::recovery::IdentitySubmission;
use twostep_domain::document_image::MAX_IMAGE_BYTES;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::recovery::CaseToken;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Meta;

/// The whole upload: three images at their limit plus the form's overhead.
pub const UPLOAD_BODY_LIMIT: usize = 3 * MAX_IMAGE_BYTES + 1024 * 1024;
const MAX_TEXT_FIELD: usize = 64;
/// Upload bytes held in memory at once by the whole server, by default: three
/// uploads at their limit, or a dozen of ordinary phone photos.
pub const DEFAULT_UPLOAD_BUDGET: usize = 3 * UPLOAD_BODY_LIMIT;

/// The bytes every upload in flight may hold together (a semaphore of bytes).
#[derive(Clone)]
pub struct UploadBudget {
    bytes: Arc<Semaphore>,
}

impl Default for UploadBudget {
    fn default() -> Self {
        Self::new(DEFAULT_UPLOAD_BUDGET)
    }
}

impl UploadBudget {
    pub fn new(total_bytes: usize) -> Self {
        Self { bytes: Arc::new(Semaphore::new(total_bytes.min(Semaphore::MAX_PERMITS))) }
    }

    /// Bytes not reserved right now.
    pub fn available(&self) -> usize {
        self.bytes.available_permits()
    }

    /// Reserves what one upload may hold, before any of it is read: its
    /// declared length, or the per-request limit when it declares none. A
    /// length over the limit is 413; no room left is 429 (retry shortly).
    pub fn reserve(&self, headers: &HeaderMap) -> Result<OwnedSemaphorePermit, AppError> {
        let declared =
            headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        let want = match declared {
            Some(n) if n > UPLOAD_BODY_LIMIT as u64 => {
                return Err(AppError::PayloadTooLarge("the upload: at most 10 MiB an image".into()));
            }
            Some(n) => n as usize,
            None => UPLOAD_BODY_LIMIT,
        };
        let want = u32::try_from(want.max(1)).unwrap_or(u32::MAX);
        self.bytes.clone().try_acquire_many_owned(want).map_err(|_| AppError::TooManyAttempts { retry_after_s: 5 })
    }
}

/// The upload route with its own body limit (everything else keeps the
/// small JSON limit).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(identity)).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT))
}

/// The form, for the OpenAPI document.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct IdentityForm {
    /// ISO 3166-1 alpha-2, e.g. `GB`.
    pub country: String,
    /// `passport`, `national_id` or `drivers_license`.
    pub id_type: String,
    /// JPEG or PNG, at most 10 MiB, at least 300×300 pixels.
    #[schema(value_type = String, format = Binary)]
    pub front: Vec<u8>,
    /// Required except for a passport.
    #[schema(value_type = Option<String>, format = Binary)]
    pub back: Option<Vec<u8>>,
    #[schema(value_type = String, format = Binary)]
    pub selfie: Vec<u8>,
}

#[derive(Serialize, ToSchema)]
pub struct StoredDocument {
    /// `front`, `back` or `selfie`.
    pub slot: String,
    /// Decided by content: `image/jpeg` or `image/png`.
    pub content_type: String,
    pub width: i64,
    pub height: i64,
    /// Size after metadata was stripped.
    pub size_bytes: i64,
}

#[derive(Serialize, ToSchema)]
pub struct IdentityResponse {
    pub documents: Vec<StoredDocument>,
}

fn too_large(what: &str) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", format!("{what}: at most 10 MiB"))
}

fn unreadable(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large("the upload")
    } else {
        ApiError::invalid("body: not a readable multipart form")
    }
}

/// Reads one field, refusing it as soon as it passes `limit` bytes.
/// Ok(None) means it was too large.
async fn read_limited(field: &mut Field<'_>, limit: usize) -> ApiResult<Option<Vec<u8>>> {
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
        if out.len() + chunk.len() > limit {
            return Ok(None);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Some(out))
}

/// Recovery, step 5: upload an identity document and a selfie
///
/// Multipart form: `country` (ISO 3166-1 alpha-2), `id_type` (`passport`, `national_id` or `drivers_license`),
/// `front`, `back` (not for a passport) and `selfie`, each a JPEG or PNG of at least 300x300 pixels and at most 10
/// MiB. Stored encrypted, shown only to reviewers, deleted after the retention period.
#[utoipa::path(post, path = "/api/v1/recovery/{case_id}/identity", tag = "recovery", security(("bearer" = [])),
    params(("case_id" = String, Path)),
    request_body(content = IdentityForm, content_type = "multipart/form-data"),
    responses((status = 201, description = "Stored encrypted, metadata stripped; visible to staff only", body = IdentityResponse),
              (status = 400, description = "missing field, truncated image, or under 300×300", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 413, description = "an image over 10 MiB", body = ErrorBody),
              (status = 415, description = "not a JPEG or PNG by its content", body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn identity(
    State(s): State<AppState>,
    Meta(meta): Meta,
    CaseToken(token): CaseToken,
    Path(case_id): Path<String>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    // Refuse a stranger or an out-of-turn call before reading the body, and
    // an upload the server has no room for now.
    s.app.recovery_identity_precheck(&case_id, &token, &meta).await?;
    let _held = s.upload_budget.reserve(&headers)?;
    let mut multipart = multipart.map_err(|_| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the form as multipart/form-data.",
        )
    })?;
    let mut form = IdentitySubmission::default();
    let mut oversized: Option<String> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_owned();
        if oversized.is_some() {
            // Read the rest (bounded by the route's limit) so the client gets the answer.
            while field.chunk().await.map_err(unreadable)?.is_some() {}
            continue;
        }
        let limit = if matches!(name.as_str(), "country" | "id_type") { MAX_TEXT_FIELD } else { MAX_IMAGE_BYTES };
        let slot = match name.as_str() {
            "country" => None,
            "id_type" => None,
            "front" => Some(&mut form.front),
            "back" => Some(&mut form.back),
            "selfie" => Some(&mut form.selfie),
            other => return Err(ApiError::invalid(format!("{other}: is not a field of this form"))),
        };
        if slot.as_ref().is_some_and(|s| s.is_some()) {
            return Err(ApiError::invalid(format!("{name}: is given twice")));
        }
        let Some(bytes) = read_limited(&mut field, limit).await? else {
            if slot.is_none() {
                return Err(ApiError::invalid(format!("{name}: is too long")));
            }
            oversized = Some(name);
            continue;
        };
        match slot {
            Some(slot) => *slot = Some(bytes),
            None => {
                let text = String::from_utf8(bytes).map_err(|_| ApiError::invalid(format!("{name}: must be text")))?;
                let target = if name == "country" { &mut form.country } else { &mut form.id_type };
                if target.replace(text).is_some() {
                    return Err(ApiError::invalid(format!("{name}: is given twice")));
                }
            }
        }
    }
    if let Some(name) = oversized {
        return Err(too_large(&name));
    }
    let documents = s.app.submit_identity(&case_id, &token, form, &meta).await?;
    let body = IdentityResponse {
        documents: documents
            .into_iter()
            .map(|d| StoredDocument {
                slot: d.slot,
                content_type: d.content_type,
                width: d.width,
                height: d.height,
                size_bytes: d.size_bytes,
            })
            .collect(),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declaring(length: Option<u64>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(n) = length {
            headers.insert(header::CONTENT_LENGTH, n.to_string().parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_budget_is_shared_and_given_back() {
        let budget = UploadBudget::new(100);
        let first = budget.reserve(&declaring(Some(60))).unwrap();
        assert_eq!(budget.available(), 40);
        assert!(matches!(budget.reserve(&declaring(Some(60))), Err(AppError::TooManyAttempts { retry_after_s: 5 })));
        let second = budget.reserve(&declaring(Some(40))).unwrap();
        assert_eq!(budget.available(), 0);
        drop(first);
        drop(second);
        assert_eq!(budget.available(), 100);
    }

    #[test]
    fn an_upload_that_declares_no_length_reserves_the_whole_limit() {
        let budget = UploadBudget::new(UPLOAD_BODY_LIMIT + 10);
        let held = budget.reserve(&declaring(None)).unwrap();
        assert_eq!(budget.available(), 10);
        drop(held);
        assert!(matches!(
            budget.reserve(&declaring(Some(UPLOAD_BODY_LIMIT as u64 + 1))),
            Err(AppError::PayloadTooLarge(_))
        ));
        assert_eq!(budget.available(), UPLOAD_BODY_LIMIT + 10);
    }
}
