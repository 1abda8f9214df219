//! The staff console: the review queue sorted by risk, a case with its
//! evidence and document images, approve and reject with a reason, and the
//! audit log (admins). Who may see what is decided by the app's staff gate
//! and review use cases (staff with an authenticator and no unconfirmed
//! reset, never one's own account); this module only shows it, and says
//! what to do when it is refused.

use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use serde::Deserialize;
use twostep_app::AppError;
use twostep_domain::Role;
use twostep_domain::recovery::CaseStatus;
use twostep_domain::staff::StaffRefusal;

use super::render::{Errors, failure, message, message_with_link, render_status, time_tag};
use super::{PageForm, SignedIn, see_other};

fn refusal(s: &SignedIn, e: AppError) -> Response {
    let forbidden = StatusCode::FORBIDDEN;
    let t = |id: &str| s.page.t(id);
    let (title, text, link) = match e {
        AppError::Forbidden => {
            return message(&s.page, forbidden, &t("staff-only-title"), &t("staff-only-text"));
        }
        AppError::Staff(StaffRefusal::NoAuthenticator) => {
            ("staff-no-authenticator-title", "staff-no-authenticator-text", ("/account", "staff-to-settings"))
        }
        AppError::Staff(StaffRefusal::ResetUnconfirmed) => {
            ("staff-unconfirmed-title", "staff-unconfirmed-text", ("/account", "staff-to-settings"))
        }
        AppError::Staff(_) => ("staff-admins-only-title", "staff-admins-only-text", ("/staff", "staff-to-queue")),
        other => return failure(&s.page, other),
    };
    message_with_link(&s.page, forbidden, &t(title), &t(text), (link.0, &t(link.1)))
}

/// A risk signal as a sentence: the one recorded with it, or one made from
/// its name for a signal recorded without.
fn signal_sentence(name: &str, detail: &str) -> String {
    if !detail.trim().is_empty() {
        return detail.trim().to_owned();
    }
    let words = name.replace(['_', ':'], " ");
    let mut c = words.chars();
    match c.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), c.as_str()),
        None => String::new(),
    }
}

/// Whether the signed-in staff member is an admin (for the links admins have).
async fn is_admin(s: &SignedIn) -> bool {
    s.page.app().account(&s.account_id).await.is_ok_and(|a| a.role == Role::Admin)
}

pub async fn queue(s: SignedIn) -> Response {
    let mut entries = match s.page.app().review_queue(&s.account_id, CaseStatus::PendingReview).await {
        Ok(q) => q,
        Err(e) => return refusal(&s, e),
    };
    entries.sort_by_key(|e| std::cmp::Reverse(e.risk_score.unwrap_or(0)));
    let rows: Vec<Value> = entries
        .iter()
        .map(|e| {
            context! {
                case_id => e.case_id,
                account_id => e.account_id,
                submitted => e.submitted_at.map(time_tag),
                items => e.reset_items.iter().map(|i| i.as_str()).collect::<Vec<_>>(),
                risk => e.risk_score,
                staff_account => e.staff_account,
            }
        })
        .collect();
    let admin = is_admin(&s).await;
    render_status(
        &s.page,
        StatusCode::OK,
        "staff_queue.html",
        context! { cases => rows, admin => admin, console => "queue" },
    )
}

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn case(s: SignedIn, Path(case_id): Path<String>, Query(q): Query<DoneQuery>) -> Response {
    show_case(&s, &case_id, StatusCode::OK, Errors::default(), q.done.as_deref()).await
}

async fn show_case(s: &SignedIn, case_id: &str, status: StatusCode, errors: Errors, done: Option<&str>) -> Response {
    let e = match s.page.app().case_evidence(&s.account_id, case_id).await {
        Ok(e) => e,
        Err(err) => return refusal(s, err),
    };
    let r = &e.record;
    let c = &r.case;
    let now = s.page.app().now();
    let signals: Vec<Value> = r
        .risk_signals
        .as_deref()
        .and_then(|t| serde_json::from_str::<Vec<serde_json::Value>>(t).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|v| {
            let name = v["name"].as_str().unwrap_or_default();
            let sentence = signal_sentence(name, v["detail"].as_str().unwrap_or_default());
            context! { name => name.to_owned(), points => v["points"].as_i64(), sentence => sentence }
        })
        .collect();
    let documents: Vec<Value> = e
        .documents
        .iter()
        .map(|d| context! { slot => d.slot, content_type => d.content_type, width => d.width, height => d.height, kib => (d.size_bytes + 1023) / 1024 })
        .collect();
    let case = context! {
        id => c.id,
        account_id => c.account_id,
        status => c.status_at(now).as_str(),
        created => time_tag(c.created_at),
        submitted => c.submitted_at.map(time_tag),
        items => c.reset_items.iter().map(|i| i.as_str()).collect::<Vec<_>>(),
        new_phone => c.new_phone,
        new_email => c.new_email,
        new_email_taken => e.new_email_taken,
        account_email => e.account_email,
        account_phone => e.account_phone,
        account_created => time_tag(e.account_created_at),
        frozen => e.account_frozen_at.is_some(),
        passkeys => e.passkeys.iter().map(|p| context! { name => p.name, created => p.created_at, last_used => p.last_used_at }).collect::<Vec<_>>(),
        phone_needed => c.phone_code_needed(),
        phone_proven => c.phone_verified_at.is_some(),
        email_proven => c.email_verified_at.is_some(),
        answers_total => r.answers_total,
        answers_right => r.answers_right,
        answers => e.answers.iter().map(|a| context! {
            question => a.question_id,
            outcome => a.outcome,
        }).collect::<Vec<_>>(),
        country => r.country,
        id_type => r.id_type,
        documents => documents,
        risk => r.risk_score,
        high_risk => e.high_risk,
        staff_account => e.staff_account,
        signals => signals,
        approvals_remaining => e.approvals_remaining,
        first_approval_note => r.first_approval_note,
        decision_note => r.decision_note,
        open_ip => r.open_ip,
        submit_ip => r.submit_ip,
        hold_until => c.hold_until.map(time_tag),
    };
    let pending = c.status_at(now) == CaseStatus::PendingReview;
    let done = done.map(|d| match d {
        "approved" if c.status_at(now) == CaseStatus::PendingReview => "staff-done-first-approval",
        "approved" => "staff-done-approved",
        "rejected" => "staff-done-rejected",
        _ => "staff-done",
    });
    let ctx = context! { case => case, pending => pending, errors => errors, done => done, admin => is_admin(s).await,
    console => "case" };
    render_status(&s.page, status, "staff_case.html", ctx)
}

pub async fn document(s: SignedIn, Path((case_id, slot)): Path<(String, String)>) -> Response {
    match s.page.app().case_document(&s.account_id, &case_id, &slot, &s.page.meta).await {
        Ok((content_type, bytes)) => ([(header::CONTENT_TYPE, content_type)], bytes).into_response(),
        Err(e) => refusal(&s, e),
    }
}

#[derive(Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    note: String,
}

pub async fn approve(s: SignedIn, Path(case_id): Path<String>, PageForm(f): PageForm<NoteForm>) -> Response {
    match s.page.app().approve_recovery(&s.account_id, &case_id, &f.note, &s.page.meta).await {
        Ok(_) => see_other(&format!("/staff/cases/{case_id}?done=approved")),
        Err(e @ (AppError::Forbidden | AppError::Staff(_))) => refusal(&s, e),
        Err(e) => show_case(&s, &case_id, StatusCode::BAD_REQUEST, with_field(&s.page, e, "note"), None).await,
    }
}

#[derive(Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    reason: String,
}

pub async fn reject(s: SignedIn, Path(case_id): Path<String>, PageForm(f): PageForm<ReasonForm>) -> Response {
    match s.page.app().reject_recovery(&s.account_id, &case_id, &f.reason, &s.page.meta).await {
        Ok(()) => see_other(&format!("/staff/cases/{case_id}?done=rejected")),
        Err(e @ (AppError::Forbidden | AppError::Staff(_))) => refusal(&s, e),
        Err(e) => show_case(&s, &case_id, StatusCode::BAD_REQUEST, with_field(&s.page, e, "reason"), None).await,
    }
}

/// A refusal of the decision text lands on its box.
fn with_field(page: &super::Page, e: AppError, field: &str) -> Errors {
    match e {
        AppError::InvalidRequest { message, .. } => Errors::field(field, message),
        other => page.errors(other),
    }
}

#[derive(Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    account_id: String,
}

pub async fn audit(s: SignedIn, Query(q): Query<AuditQuery>) -> Response {
    let account = Some(q.account_id.trim()).filter(|a| !a.is_empty());
    let events = match s.page.app().audit_log(&s.account_id, account).await {
        Ok(events) => events,
        Err(e) => return refusal(&s, e),
    };
    let rows: Vec<Value> = events
        .iter()
        .map(|l| {
            let e = &l.event;
            context! { at => time_tag(e.at), what => super::account::describe(&e.kind), kind => e.kind, account_id => e.account_id, ip => e.ip, detail => e.detail,
                       staff_account => l.staff_account }
        })
        .collect();
    let ctx = context! { events => rows, account_id => account, admin => true, console => "audit" };
    render_status(&s.page, StatusCode::OK, "staff_audit.html", ctx)
}
