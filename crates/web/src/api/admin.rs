//! Staff review over HTTP: the recovery queue, a case's evidence and
//! documents, approval and rejection, and for admins the audit log, lifting
//! a freeze and the list of staff. Every route needs a session of a staff
//! account that passes the staff gate (`twostep_app::staff`: an
//! authenticator bound, no unconfirmed reset; `forbidden` for anyone else,
//! saying what to do); nobody reviews their own account.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use twostep_app::recovery::{CaseEvidence, QueueEntry};
use twostep_domain::recovery::CaseStatus;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::me::OkResponse;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, Authed, Meta};
use crate::time::rfc3339;

#[derive(Deserialize, IntoParams)]
pub struct QueueQuery {
    /// Which cases to list; `pending_review` when absent.
    pub status: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct QueueItem {
    pub case_id: String,
    pub account_id: String,
    pub status: String,
    pub submitted_at: Option<String>,
    pub reset_items: Vec<String>,
    /// 0 to 100, higher is riskier; null before submission.
    pub risk_score: Option<i64>,
    /// The account holds a staff role: flagged "staff account", always high risk.
    pub staff_account: bool,
}

#[derive(Serialize, ToSchema)]
pub struct QueueResponse {
    /// Riskiest first, then oldest submission first.
    pub cases: Vec<QueueItem>,
}

fn queue_item(e: QueueEntry) -> QueueItem {
    QueueItem {
        case_id: e.case_id,
        account_id: e.account_id,
        status: e.status.as_str().into(),
        submitted_at: e.submitted_at.map(rfc3339),
        reset_items: e.reset_items.iter().map(|i| i.as_str().to_owned()).collect(),
        risk_score: e.risk_score,
        staff_account: e.staff_account,
    }
}

/// Staff: the recovery review queue
///
/// Cases with `status` (default `pending_review`), riskiest first. Staff with an authenticator bound only (403
/// saying what to do otherwise).
#[utoipa::path(get, path = "/api/v1/admin/recovery-cases", tag = "staff", security(("bearer" = [])), params(QueueQuery),
    responses((status = 200, body = QueueResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn queue(
    State(s): State<AppState>,
    auth: Authed,
    query: Result<Query<QueueQuery>, QueryRejection>,
) -> ApiResult<Json<QueueResponse>> {
    let Query(q) = query.map_err(|_| ApiError::invalid("status: must be a single value"))?;
    let status = match q.status.as_deref() {
        None | Some("") => CaseStatus::PendingReview,
        Some(s) => CaseStatus::try_from(s).map_err(twostep_app::AppError::from)?,
    };
    let cases = s.app.review_queue(&auth.account_id, status).await?;
    Ok(Json(QueueResponse { cases: cases.into_iter().map(queue_item).collect() }))
}

#[derive(Serialize, ToSchema)]
pub struct CodesEvidence {
    pub phone_needed: bool,
    pub phone_proven: bool,
    pub email_proven: bool,
    /// Where the codes went (unmasked: staff only).
    pub phone_sent_to: Option<String>,
    pub email_sent_to: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AnswerEvidence {
    pub question_id: String,
    /// `right`, `wrong` or `blank`.
    pub outcome: String,
}

#[derive(Serialize, ToSchema)]
pub struct AnswersEvidence {
    pub asked: i64,
    pub right: i64,
    /// Right answers as a percentage of those asked; null before the step.
    pub score_percent: Option<i64>,
    pub questions: Vec<AnswerEvidence>,
}

#[derive(Serialize, ToSchema)]
pub struct DocumentEvidence {
    pub slot: String,
    pub content_type: String,
    pub width: i64,
    pub height: i64,
    pub size_bytes: i64,
    /// `GET` this (with the staff session) for the image.
    pub url: String,
}

#[derive(Serialize, ToSchema)]
pub struct RiskSignalItem {
    pub name: String,
    pub points: i64,
    pub detail: String,
}

#[derive(Serialize, ToSchema)]
pub struct EvidenceResponse {
    pub case_id: String,
    pub account_id: String,
    pub account_email: String,
    pub account_phone: Option<String>,
    pub account_created_at: String,
    pub account_frozen: bool,
    /// The account's passkeys, with when each was added and last used.
    pub passkeys: Vec<crate::api::passkeys::PasskeyView>,
    pub status: String,
    pub created_at: String,
    pub submitted_at: Option<String>,
    pub reset_items: Vec<String>,
    pub new_phone: Option<String>,
    pub new_email: Option<String>,
    /// The new e-mail belongs to another account: approval would fail.
    pub new_email_taken: bool,
    pub required_steps: Vec<String>,
    pub codes: CodesEvidence,
    pub answers: AnswersEvidence,
    pub country: Option<String>,
    pub id_type: Option<String>,
    pub documents: Vec<DocumentEvidence>,
    pub documents_purged: bool,
    pub risk_score: Option<i64>,
    pub high_risk: bool,
    /// The account holds a staff role (its `staff_account` signal is first).
    pub staff_account: bool,
    pub signals: Vec<RiskSignalItem>,
    /// Approvals still needed (two different reviewers for a high-risk case).
    pub approvals_remaining: i64,
    pub first_approved_by: Option<String>,
    pub open_ip: String,
    pub open_user_agent: String,
    pub submit_ip: Option<String>,
    pub submit_user_agent: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_note: Option<String>,
    pub hold_until: Option<String>,
}

fn evidence(e: CaseEvidence, now: i64) -> EvidenceResponse {
    let r = e.record;
    let c = &r.case;
    let signals: Vec<RiskSignalItem> = r
        .risk_signals
        .as_deref()
        .and_then(|t| serde_json::from_str::<Vec<serde_json::Value>>(t).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|v| RiskSignalItem {
            name: v["name"].as_str().unwrap_or_default().to_owned(),
            points: v["points"].as_i64().unwrap_or_default(),
            detail: v["detail"].as_str().unwrap_or_default().to_owned(),
        })
        .collect();
    let answered = c.questions_at.is_some();
    EvidenceResponse {
        case_id: c.id.clone(),
        account_id: c.account_id.clone(),
        account_email: e.account_email,
        account_phone: e.account_phone,
        account_created_at: rfc3339(e.account_created_at),
        account_frozen: e.account_frozen_at.is_some(),
        passkeys: e.passkeys.into_iter().map(crate::api::passkeys::PasskeyView::from).collect(),
        status: c.status_at(now).as_str().into(),
        created_at: rfc3339(c.created_at),
        submitted_at: c.submitted_at.map(rfc3339),
        reset_items: c.reset_items.iter().map(|i| i.as_str().to_owned()).collect(),
        new_phone: c.new_phone.clone(),
        new_email: c.new_email.clone(),
        new_email_taken: e.new_email_taken,
        required_steps: c.required_steps.iter().map(|s| s.as_str().to_owned()).collect(),
        codes: CodesEvidence {
            phone_needed: c.phone_code_needed(),
            phone_proven: c.phone_verified_at.is_some(),
            email_proven: c.email_verified_at.is_some(),
            phone_sent_to: c.phone_target.clone(),
            email_sent_to: c.email_target.clone(),
        },
        answers: AnswersEvidence {
            asked: r.answers_total,
            right: r.answers_right,
            score_percent: (answered && r.answers_total > 0).then(|| r.answers_right * 100 / r.answers_total),
            questions: e
                .answers
                .into_iter()
                .map(|a| AnswerEvidence { question_id: a.question_id, outcome: a.outcome })
                .collect(),
        },
        country: r.country.clone(),
        id_type: r.id_type.clone(),
        documents: e
            .documents
            .into_iter()
            .map(|d| DocumentEvidence {
                url: format!("/api/v1/admin/recovery-cases/{}/documents/{}", c.id, d.slot),
                slot: d.slot,
                content_type: d.content_type,
                width: d.width,
                height: d.height,
                size_bytes: d.size_bytes,
            })
            .collect(),
        documents_purged: r.documents_purged_at.is_some(),
        risk_score: r.risk_score,
        high_risk: e.high_risk,
        staff_account: e.staff_account,
        signals,
        approvals_remaining: e.approvals_remaining,
        first_approved_by: c.first_approved_by.clone(),
        open_ip: r.open_ip.clone(),
        open_user_agent: r.open_user_agent.clone(),
        submit_ip: r.submit_ip.clone(),
        submit_user_agent: r.submit_user_agent.clone(),
        decided_by: r.decided_by.clone(),
        decided_at: c.decided_at.map(rfc3339),
        decision_note: r.decision_note.clone(),
        hold_until: c.hold_until.map(rfc3339),
    }
}

/// Staff: a case's evidence
///
/// Codes proven, answers score, documents, risk score and signals, whether two approvals are needed. Never one's
/// own account.
#[utoipa::path(get, path = "/api/v1/admin/recovery-cases/{case_id}", tag = "staff", security(("bearer" = [])),
    params(("case_id" = String, Path)),
    responses((status = 200, description = "Evidence: answers score, codes verified, documents, signals", body = EvidenceResponse),
              (status = 401, body = ErrorBody), (status = 403, description = "not staff, or the reviewer's own account",
               body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn case_evidence(
    State(s): State<AppState>,
    auth: Authed,
    Path(case_id): Path<String>,
) -> ApiResult<Json<EvidenceResponse>> {
    let e = s.app.case_evidence(&auth.account_id, &case_id).await?;
    Ok(Json(evidence(e, s.app.now())))
}

/// Staff: a document image
///
/// The decrypted image of `front`, `back` or `selfie`, for a reviewer of this case; each view is audited.
#[utoipa::path(get, path = "/api/v1/admin/recovery-cases/{case_id}/documents/{slot}", tag = "staff",
    security(("bearer" = [])),
    params(("case_id" = String, Path), ("slot" = String, Path, description = "`front`, `back` or `selfie`")),
    responses((status = 200, description = "The image, metadata stripped", content_type = "image/jpeg"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "no such document, or purged", body = ErrorBody)))]
pub async fn document(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
    Path((case_id, slot)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (content_type, bytes) = s.app.case_document(&auth.account_id, &case_id, &slot, &meta).await?;
    let headers = [(header::CONTENT_TYPE, content_type), (header::CONTENT_DISPOSITION, "inline".to_owned())];
    Ok((headers, bytes).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct ApproveBody {
    /// Why the reviewer is satisfied; kept in the audit log.
    #[schema(pattern = "\\S", max_length = 1000)]
    pub note: String,
}

#[derive(Serialize, ToSchema)]
pub struct DecisionResponse {
    /// `approved`, `rejected`, or `pending_review` after the first of two approvals.
    pub status: String,
    /// Approvals still needed: 1 after the first approval of a high-risk case.
    pub approvals_remaining: i64,
    /// End of the withdrawal hold, once approved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawals_blocked_until: Option<String>,
}

/// Staff: approve a case
///
/// With a `note`. A high-risk case needs two different reviewers: the first approval answers `pending_review`. The
/// approval resets the chosen items, revokes every session of the account, starts the withdrawal hold and tells the
/// old and new channels, in one transaction.
#[utoipa::path(post, path = "/api/v1/admin/recovery-cases/{case_id}/approve", tag = "staff", security(("bearer" = [])),
    params(("case_id" = String, Path)), request_body = ApproveBody,
    responses((status = 200, body = DecisionResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, description = "not staff, or the reviewer's own account", body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "not pending, decided meanwhile, or the same reviewer twice", body = ErrorBody)))]
pub async fn approve(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
    Path(case_id): Path<String>,
    ApiJson(b): ApiJson<ApproveBody>,
) -> ApiResult<Json<DecisionResponse>> {
    let r = s.app.approve_recovery(&auth.account_id, &case_id, &b.note, &meta).await?;
    Ok(Json(DecisionResponse {
        status: r.status.as_str().into(),
        approvals_remaining: r.approvals_remaining,
        withdrawals_blocked_until: r.hold_until.map(rfc3339),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct RejectBody {
    #[schema(pattern = "\\S", max_length = 1000)]
    pub reason: String,
}

/// Staff: reject a case
///
/// With a `reason`, kept in the audit log. The owner's channels are told that the request was rejected and nothing
/// changed; they may open a new case with more evidence.
#[utoipa::path(post, path = "/api/v1/admin/recovery-cases/{case_id}/reject", tag = "staff", security(("bearer" = [])),
    params(("case_id" = String, Path)), request_body = RejectBody,
    responses((status = 200, body = DecisionResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reject(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
    Path(case_id): Path<String>,
    ApiJson(b): ApiJson<RejectBody>,
) -> ApiResult<Json<DecisionResponse>> {
    s.app.reject_recovery(&auth.account_id, &case_id, &b.reason, &meta).await?;
    Ok(Json(DecisionResponse {
        status: CaseStatus::Rejected.as_str().into(),
        approvals_remaining: 0,
        withdrawals_blocked_until: None,
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct AuditQuery {
    /// One account's events; every account's when absent.
    pub account_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    pub at: String,
    pub account_id: Option<String>,
    pub kind: String,
    pub ip: String,
    pub user_agent: String,
    pub detail: String,
    /// The account holds a staff role: its sign-ins and cases are flagged.
    pub staff_account: bool,
}

#[derive(Serialize, ToSchema)]
pub struct AuditResponse {
    /// Newest first.
    pub events: Vec<AuditEntry>,
}

/// Admins: the audit log
///
/// Security events, newest first, optionally of one `account_id`. Admins only.
#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "staff", security(("bearer" = [])), params(AuditQuery),
    responses((status = 200, body = AuditResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, description = "not an admin", body = ErrorBody)))]
pub async fn audit(
    State(s): State<AppState>,
    auth: Authed,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> ApiResult<Json<AuditResponse>> {
    let Query(q) = query.map_err(|_| ApiError::invalid("account_id: must be a single value"))?;
    let account = q.account_id.as_deref().map(str::trim).filter(|a| !a.is_empty());
    let events = s.app.audit_log(&auth.account_id, account).await?;
    Ok(Json(AuditResponse {
        events: events
            .into_iter()
            .map(|line| AuditEntry {
                at: rfc3339(line.event.at),
                account_id: line.event.account_id,
                kind: line.event.kind,
                ip: line.event.ip,
                user_agent: line.event.user_agent,
                detail: line.event.detail,
                staff_account: line.staff_account,
            })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct UnfreezeBody {
    #[schema(pattern = "\\S", max_length = 1000)]
    pub note: String,
}

/// Admins: unfreeze an account
///
/// With a `note`. Lifts the freeze set by an owner's objection after an approved recovery. Admins only.
#[utoipa::path(post, path = "/api/v1/admin/accounts/{account_id}/unfreeze", tag = "staff", security(("bearer" = [])),
    params(("account_id" = String, Path)), request_body = UnfreezeBody,
    responses((status = 200, description = "The freeze set by a cancel code is lifted", body = OkResponse),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, description = "not an admin", body = ErrorBody),
              (status = 409, description = "the account is not frozen", body = ErrorBody)))]
pub async fn unfreeze(
    State(s): State<AppState>,
    Meta(meta): Meta,
    auth: Authed,
    Path(account_id): Path<String>,
    ApiJson(b): ApiJson<UnfreezeBody>,
) -> ApiResult<Json<OkResponse>> {
    s.app.unfreeze_account(&auth.account_id, &account_id, &b.note, &meta).await?;
    Ok(Json(OkResponse { ok: true }))
}

#[derive(Serialize, ToSchema)]
pub struct StaffMemberItem {
    pub account_id: String,
    pub email: String,
    /// `reviewer` or `admin`.
    pub role: String,
    /// An authenticator is bound (without one, the account has no staff access).
    pub authenticator: bool,
    /// The account's factors were reset and no admin confirmed it since: no
    /// staff access until `twostep staff confirm`.
    pub awaiting_confirmation: bool,
    /// A reset one admin asked for, waiting for a second (`twostep staff reset`).
    pub reset_requested: Option<StaffResetRequest>,
}

#[derive(Serialize, ToSchema)]
pub struct StaffResetRequest {
    pub items: Vec<String>,
    pub requested_by: String,
    pub requested_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct StaffResponse {
    /// By e-mail.
    pub staff: Vec<StaffMemberItem>,
}

/// Admins: the staff accounts
///
/// Each staff account with its role, whether an authenticator is bound and whether a reset waits for confirmation.
/// Admins only.
#[utoipa::path(get, path = "/api/v1/admin/staff", tag = "staff", security(("bearer" = [])),
    responses((status = 200, description = "Every staff account and whether it has staff access", body = StaffResponse),
              (status = 401, body = ErrorBody), (status = 403, description = "not an admin", body = ErrorBody)))]
pub async fn staff(State(s): State<AppState>, auth: Authed) -> ApiResult<Json<StaffResponse>> {
    let members = s.app.staff_list(&auth.account_id).await?;
    Ok(Json(StaffResponse {
        staff: members
            .into_iter()
            .map(|m| StaffMemberItem {
                account_id: m.account_id,
                email: m.email,
                role: m.role.as_str().into(),
                authenticator: m.facts.authenticator,
                awaiting_confirmation: m.facts.unconfirmed_reset_at.is_some(),
                reset_requested: m.pending_reset.map(|p| StaffResetRequest {
                    items: p.items.iter().map(|i| i.as_str().to_owned()).collect(),
                    requested_by: p.requested_by,
                    requested_at: rfc3339(p.requested_at),
                }),
            })
            .collect(),
    }))
}
