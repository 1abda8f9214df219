//! The identity upload: `multipart/form-data` with `country`, `id_type`,
//! `front`, `back` and `selfie`, read as a stream with hard limits. The case
//! token is checked before a byte of the body is read; an image over 10 MiB
//! is answered 413 without being kept; what the images are is decided by
//! their content in the use case, never by the declared type.

use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use twostep_app::recovery::IdentitySubmission;
use twostep_domain::document_image::MAX_IMAGE_BYTES;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::recovery::CaseToken;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Meta;
use crate::AppState;

/// The whole upload: three images at their limit plus the form's overhead.
pub const UPLOAD_BODY_LIMIT: usize = 3 * MAX_IMAGE_BYTES + 1024 * 1024;
const MAX_TEXT_FIELD: usize = 64;

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
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    // Refuse a stranger or an out-of-turn call before reading the body.
    s.app.recovery_identity_precheck(&case_id, &token).await?;
    let mut multipart = multipart.map_err(|_| {
        ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "Send the form as multipart/form-data.")
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
