//! "Security check not available": the lost-second-factor recovery wizard,
//! one step a screen (the 48-hour warning first, the items to restore, the
//! codes, the questions, the identity documents, submit, then the review
//! status), and the owner's cancel page. Every rule lives in the app's
//! recovery use cases; the case id and token ride in the HttpOnly cookie
//! `twostep_case`, exactly as the API's `Authorization: Bearer <case_token>`.

use axum::extract::{Multipart, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::{Value, context};
use serde::Deserialize;
use twostep_app::AppError;
use twostep_app::recovery::{CaseView, IdentitySubmission, RECOVERY_UNDER_WAY};
use twostep_domain::document_image::{IdType, MAX_IMAGE_BYTES, normalize_country, sniff};
use twostep_domain::questions::MAX_ANSWER_CHARS;
use twostep_domain::recovery::{CaseStatus, RecoveryStep};

use super::render::{Errors, failure, message, message_with_link, render_status, time_tag};
use super::{CASE_COOKIE, LOGIN_COOKIE, Page, PageForm, csrf_ok, see_other, set_cookie, with_cookies};

/// The case this browser is recovering.
struct Case {
    id: String,
    token: String,
}

fn case(page: &Page) -> Option<Case> {
    let value = page.case.as_deref()?;
    let (id, token) = value.split_once('.')?;
    Some(Case { id: id.to_owned(), token: token.to_owned() })
}

/// The case reference a person reads out to support: the start of its id,
/// as the staff console shows it.
fn reference(case_id: &str) -> String {
    case_id.chars().take(8).collect()
}

fn no_case(page: &Page) -> Response {
    message(page, StatusCode::NOT_FOUND, &page.t("recovery-none-title"), &page.t("recovery-none-text"))
}

/// How long the browser keeps the case it is recovering: long enough to
/// come back to its status from the sign-in page while staff review it.
const CASE_COOKIE_S: i64 = 30 * 86_400;

/// `POST /login/recovery`: the second step's "Security check not
/// available". Nothing is opened yet: first the 48-hour warning.
pub async fn start(page: Page, PageForm(_): PageForm<serde::de::IgnoredAny>) -> Response {
    if super::auth::pending_login(&page).is_none() {
        return super::auth::expired(&page);
    }
    let hold_hours = page.app().settings.recovery.hold_s / 3600;
    let ctx =
        context! { screen => "warning", case => context! {}, hold_hours => hold_hours, errors => Errors::default() };
    render_status(&page, StatusCode::OK, "recovery.html", ctx)
}

/// `POST /login/recovery/open`: "I understand, continue" on the warning.
/// Only now is the case opened and the owner told.
pub async fn open(page: Page, PageForm(_): PageForm<serde::de::IgnoredAny>) -> Response {
    let Some(p) = super::auth::pending_login(&page) else { return super::auth::expired(&page) };
    match page.app().open_recovery(&p, &page.meta).await {
        Ok(opened) => case_opened(&page, &opened, LOGIN_COOKIE),
        Err(AppError::Unauthorized | AppError::NotFound) => super::auth::expired(&page),
        Err(e) => refused_opening(&page, e),
    }
}

/// A case just opened: this browser keeps it, and `done_with` (the sign-in
/// or reset it came from) is cleared.
pub(super) fn case_opened(page: &Page, opened: &twostep_app::recovery::OpenedCase, done_with: &str) -> Response {
    let value = format!("{}.{}", opened.case_id, opened.case_token);
    let cookies = [set_cookie(CASE_COOKIE, &value, Some(CASE_COOKIE_S), page.secure), page.clear(done_with)];
    with_cookies(see_other("/recovery"), &cookies)
}

/// Why a case was not opened, as a page.
pub(super) fn refused_opening(page: &Page, e: AppError) -> Response {
    match e {
        AppError::Staff(_) => {
            message(page, StatusCode::FORBIDDEN, &page.t("recovery-staff-title"), &page.t("recovery-staff-text"))
        }
        AppError::Conflict(m) if m == RECOVERY_UNDER_WAY => under_way(page),
        e => failure(page, e),
    }
}

/// A second recovery while one is under way: where to see the first.
fn under_way(page: &Page) -> Response {
    let (title, text) = (page.t("recovery-busy-title"), page.t("recovery-busy-text"));
    let link = if case(page).is_some() {
        ("/recovery", page.t("recovery-busy-status-link"))
    } else {
        ("/recovery/cancel", page.t("recovery-busy-cancel-link"))
    };
    message_with_link(page, StatusCode::CONFLICT, &title, &text, (link.0, &link.1))
}

/// `GET /recovery`: the screen for where the case stands.
pub async fn wizard(page: Page) -> Response {
    let Some(c) = case(&page) else { return no_case(&page) };
    match page.app().recovery_case(&c.id, &c.token).await {
        Ok(view) => {
            let screen = next_screen(&view);
            show(&page, &c, &view, screen, StatusCode::OK, context! { errors => Errors::default() }).await
        }
        Err(AppError::Unauthorized | AppError::NotFound) => no_case(&page),
        Err(e) => failure(&page, e),
    }
}

fn next_screen(view: &CaseView) -> &'static str {
    let due = |step| view.required_steps.contains(&step) && view.steps.iter().any(|(s, done)| *s == step && !done);
    match view.status {
        CaseStatus::Open if view.reset_items.is_empty() => "items",
        CaseStatus::Open if due(RecoveryStep::Codes) => "codes",
        CaseStatus::Open if due(RecoveryStep::Questions) => "questions",
        CaseStatus::Open if due(RecoveryStep::Identity) => "identity",
        CaseStatus::Open => "submit",
        _ => "status",
    }
}

async fn show(page: &Page, c: &Case, view: &CaseView, screen: &str, status: StatusCode, ctx: Value) -> Response {
    let hold_hours = page.app().settings.recovery.hold_s / 3600;
    let questions: Vec<Value> = if screen == "questions" {
        match page.app().recovery_questions(&c.id, &c.token).await {
            Ok(qs) => qs.into_iter().map(|q| context! { id => q.question_id, text => q.text }).collect(),
            Err(e) => return failure(page, e),
        }
    } else {
        Vec::new()
    };
    let steps: Vec<Value> = view
        .steps
        .iter()
        .filter(|(s, _)| view.required_steps.contains(s))
        .map(|(s, done)| context! { name => s.as_str(), done => done })
        .collect();
    let case = context! {
        reference => reference(&view.case_id),
        status => view.status.as_str(),
        active => view.status.is_active(),
        items => view.reset_items.iter().map(|i| i.as_str()).collect::<Vec<_>>(),
        steps => steps,
        expires => view.expires_at,
        created => view.created_at,
        submitted => view.submitted_at,
        decided => view.decided_at,
        reason => view.rejection_reason,
        hold_until => view.hold_until.filter(|h| *h > page.app().now()),
        withdrawn => view.withdrawn,
        phone_proven => view.phone_code_proven,
        email_proven => view.email_code_proven,
        sets_password => view.sets_password,
    };
    let ctx = context! { screen => screen, case => case, hold_hours => hold_hours, questions => questions, ..ctx };
    render_status(page, status, "recovery.html", ctx)
}

/// After a step: the next screen, or this one again with the refusal.
async fn after(page: &Page, c: &Case, screen: &str, result: Result<(), AppError>, extra: Value) -> Response {
    match result {
        Ok(()) => see_other("/recovery"),
        Err(AppError::Unauthorized | AppError::NotFound) => no_case(page),
        Err(e) => match page.app().recovery_case(&c.id, &c.token).await {
            Ok(view) => {
                show(page, c, &view, screen, StatusCode::BAD_REQUEST, context! { errors => page.errors(e), ..extra })
                    .await
            }
            Err(e) => failure(page, e),
        },
    }
}

#[derive(Deserialize)]
pub struct ItemsForm {
    reset_authenticator: Option<String>,
    reset_phone: Option<String>,
    reset_passkeys: Option<String>,
    reset_email: Option<String>,
    #[serde(default)]
    new_phone: String,
    #[serde(default)]
    new_email: String,
}

pub async fn items(page: Page, PageForm(f): PageForm<ItemsForm>) -> Response {
    let Some(c) = case(&page) else { return no_case(&page) };
    let mut reset = Vec::new();
    for (on, name) in [
        (&f.reset_authenticator, "authenticator"),
        (&f.reset_phone, "phone"),
        (&f.reset_passkeys, "passkeys"),
        (&f.reset_email, "email"),
    ] {
        if on.is_some() {
            reset.push(name.to_owned());
        }
    }
    let phone = Some(f.new_phone.trim()).filter(|p| !p.is_empty() && f.reset_phone.is_some());
    let email = Some(f.new_email.trim()).filter(|e| !e.is_empty() && f.reset_email.is_some());
    let result = page.app().choose_recovery_items(&c.id, &c.token, &reset, phone, email, &page.meta).await.map(|_| ());
    let extra = context! { values => context! { reset => reset, new_phone => f.new_phone, new_email => f.new_email } };
    after(&page, &c, "items", result, extra).await
}

pub async fn send_codes(page: Page, PageForm(_): PageForm<serde::de::IgnoredAny>) -> Response {
    let Some(c) = case(&page) else { return no_case(&page) };
    let (sent, errors) = match page.app().send_recovery_codes(&c.id, &c.token, &page.meta).await {
        Ok(s) => {
            let list: Vec<Value> =
                s.sent.iter().map(|(ch, to)| context! { channel => ch.as_str(), to => to }).collect();
            let phone = s.sent.iter().any(|(ch, _)| ch.as_str() != "email");
            (Some(context! { list => list, expires => time_tag(s.expires_at), phone => phone }), Errors::default())
        }
        Err(e) => (None, page.errors(e)),
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    match page.app().recovery_case(&c.id, &c.token).await {
        Ok(view) => show(&page, &c, &view, "codes", status, context! { sent => sent, errors => errors }).await,
        Err(e) => failure(&page, e),
    }
}

#[derive(Deserialize)]
pub struct CodesForm {
    #[serde(default)]
    phone_code: String,
    #[serde(default)]
    email_code: String,
}

pub async fn verify_codes(page: Page, PageForm(f): PageForm<CodesForm>) -> Response {
    let Some(c) = case(&page) else { return no_case(&page) };
    let phone = Some(f.phone_code.trim()).filter(|p| !p.is_empty());
    let email = Some(f.email_code.trim()).filter(|e| !e.is_empty());
    let result = page.app().verify_recovery_codes(&c.id, &c.token, phone, email, &page.meta).await.map(|_| ());
    let typed = context! { values => context! { phone_code => f.phone_code, email_code => f.email_code } };
    let Err(AppError::InvalidCode) = result else {
        return after(&page, &c, "codes", result, context! { entered => true, ..typed }).await;
    };
    // A code proven is remembered: say which of the two was wrong.
    let view = match page.app().recovery_case(&c.id, &c.token).await {
        Ok(view) => view,
        Err(e) => return failure(&page, e),
    };
    let wrong = page.t("recovery-codes-wrong");
    let mut errors = Errors::default();
    if !view.phone_code_proven && phone.is_some() {
        errors.fields.insert("phone_code".into(), wrong.clone());
    }
    if !view.email_code_proven {
        errors.fields.insert("email_code".into(), wrong);
    }
    let ctx = context! { errors => errors, entered => true, ..typed };
    show(&page, &c, &view, "codes", StatusCode::BAD_REQUEST, ctx).await
}

/// `answer:<question_id>` fields; what was typed comes back after a refusal.
pub async fn answers(page: Page, PageForm(fields): PageForm<Vec<(String, String)>>) -> Response {
    let Some(c) = case(&page) else { return no_case(&page) };
    let answers: Vec<(String, String)> =
        fields.into_iter().filter_map(|(k, v)| k.strip_prefix("answer:").map(|id| (id.to_owned(), v))).collect();
    // An answer too long is shown next to its own question.
    let mut errors = Errors::default();
    for (id, answer) in &answers {
        if answer.chars().count() > MAX_ANSWER_CHARS {
            let message = page.t_with("recovery-questions-too-long", &[("max", (MAX_ANSWER_CHARS as i64).into())]);
            errors.fields.insert(format!("answer:{id}"), message);
        }
    }
    let typed: std::collections::BTreeMap<String, String> = answers.iter().cloned().collect();
    if !errors.is_empty() {
        return match page.app().recovery_case(&c.id, &c.token).await {
            Ok(view) => {
                let ctx = context! { errors => errors, answers => typed };
                show(&page, &c, &view, "questions", StatusCode::BAD_REQUEST, ctx).await
            }
            Err(e) => failure(&page, e),
        };
    }
    let result = page.app().answer_recovery_questions(&c.id, &c.token, &answers, &page.meta).await;
    after(&page, &c, "questions", result, context! { answers => typed }).await
}

/// The identity upload, as multipart with the CSRF token as its first field.
/// Who may send it (a live case in the cookie, at the identity step) is
/// checked before a byte of the body is read, and the upload then holds its
/// share of the server's upload budget, as in the API.
pub async fn identity(
    page: Page,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let Some(c) = case(&page) else { return no_case(&page) };
    match page.app().recovery_identity_precheck(&c.id, &c.token, &page.meta).await {
        Ok(()) => {}
        Err(AppError::Unauthorized | AppError::NotFound) => return no_case(&page),
        Err(e) => return after(&page, &c, "identity", Err(e), context! {}).await,
    }
    let _held = match page.state.upload_budget.reserve(&headers) {
        Ok(held) => held,
        Err(e) => return after(&page, &c, "identity", Err(e), context! {}).await,
    };
    let Ok(mut multipart) = multipart else { return super::refused(&page) };
    let mut form = IdentitySubmission::default();
    let mut first = true;
    let mut typed = (String::new(), String::new());
    let mut problems = Errors::default();
    let result: Result<(), AppError> = async {
        while let Some(mut field) =
            multipart.next_field().await.map_err(|_| AppError::invalid("front", "the upload could not be read"))?
        {
            let name = field.name().unwrap_or_default().to_owned();
            let limit = if matches!(name.as_str(), "front" | "back" | "selfie") { MAX_IMAGE_BYTES } else { 200 };
            let mut bytes = Vec::new();
            while let Some(chunk) =
                field.chunk().await.map_err(|_| AppError::invalid(&name, "the upload could not be read"))?
            {
                if bytes.len() + chunk.len() > limit {
                    return Err(AppError::PayloadTooLarge(format!("{name}: at most 10 MiB")));
                }
                bytes.extend_from_slice(&chunk);
            }
            if first {
                first = false;
                if name != "csrf" || !csrf_ok(&page, &String::from_utf8_lossy(&bytes)) {
                    return Err(AppError::Forbidden);
                }
                continue;
            }
            let text = || String::from_utf8_lossy(&bytes).trim().to_owned();
            match name.as_str() {
                "country" => form.country = Some(text()),
                "id_type" => form.id_type = Some(text()),
                // An empty file input (the back of a passport) sends no bytes.
                "front" | "back" | "selfie" if bytes.is_empty() => {}
                "front" => form.front = Some(bytes),
                "back" => form.back = Some(bytes),
                "selfie" => form.selfie = Some(bytes),
                _ => {}
            }
        }
        if first {
            return Err(AppError::Forbidden);
        }
        typed = (form.country.clone().unwrap_or_default(), form.id_type.clone().unwrap_or_default());
        // Every mistake the form shows at once; the app checks again, deeper.
        problems = identity_problems(&page, &form);
        if !problems.is_empty() {
            return Ok(());
        }
        page.app().submit_identity(&c.id, &c.token, form, &page.meta).await.map(|_| ())
    }
    .await;
    let errors = match result {
        Ok(()) if problems.is_empty() => return see_other("/recovery"),
        Ok(()) => problems,
        Err(AppError::Forbidden) => return super::refused(&page),
        Err(AppError::Unauthorized | AppError::NotFound) => return no_case(&page),
        Err(AppError::PayloadTooLarge(m)) => {
            let field = m.split(':').next().unwrap_or("front");
            Errors::field(field, page.t("recovery-identity-too-large"))
        }
        Err(AppError::UnsupportedMedia(m)) => {
            let field = ["front", "back", "selfie"].into_iter().find(|f| m.starts_with(f)).unwrap_or("front");
            Errors::field(field, page.t("recovery-identity-not-photo"))
        }
        Err(e) => page.errors(e),
    };
    let values = context! { country => typed.0, id_type => typed.1 };
    match page.app().recovery_case(&c.id, &c.token).await {
        Ok(view) => {
            let ctx = context! { errors => errors, values => values, choose_again => true };
            show(&page, &c, &view, "identity", StatusCode::BAD_REQUEST, ctx).await
        }
        Err(e) => failure(&page, e),
    }
}

/// What is wrong with the identity form as sent, field by field, before
/// the app decodes a photo: the country, the document kind, each photo
/// missing or not a JPEG or PNG.
fn identity_problems(page: &Page, form: &IdentitySubmission) -> Errors {
    let mut errors = Errors::default();
    let mut wrong = |field: &str, id: &str| {
        errors.fields.insert(field.to_owned(), page.t(id));
    };
    match form.country.as_deref().map(normalize_country) {
        Some(Ok(_)) => {}
        _ => wrong("country", "recovery-identity-bad-country"),
    }
    let id_type = form.id_type.as_deref().and_then(|t| IdType::try_from(t).ok());
    if id_type.is_none() {
        wrong("id_type", "recovery-identity-no-kind");
    }
    let back_needed = id_type.is_none_or(|t| t.needs_back());
    for (slot, image, needed, missing) in [
        ("front", &form.front, true, "recovery-identity-missing-front"),
        ("back", &form.back, back_needed, "recovery-identity-missing-back"),
        ("selfie", &form.selfie, true, "recovery-identity-missing-selfie"),
    ] {
        match image {
            None if needed => wrong(slot, missing),
            Some(bytes) if sniff(bytes).is_none() => wrong(slot, "recovery-identity-not-photo"),
            _ => {}
        }
    }
    errors
}

pub async fn submit(page: Page, PageForm(_): PageForm<serde::de::IgnoredAny>) -> Response {
    let Some(c) = case(&page) else { return no_case(&page) };
    let result = page.app().submit_recovery(&c.id, &c.token, &page.meta).await.map(|_| ());
    after(&page, &c, "submit", result, context! {}).await
}

/// `POST /recovery/withdraw`: the person who asked takes the request back.
pub async fn withdraw(page: Page, PageForm(_): PageForm<serde::de::IgnoredAny>) -> Response {
    let Some(c) = case(&page) else { return no_case(&page) };
    let result = page.app().withdraw_recovery(&c.id, &c.token, &page.meta).await;
    after(&page, &c, "status", result, context! {}).await
}

// ---- "this wasn't me" ------------------------------------------------------------

#[derive(Deserialize)]
pub struct CancelQuery {
    #[serde(default)]
    code: String,
}

pub async fn cancel_page(page: Page, Query(q): Query<CancelQuery>) -> Response {
    render_status(
        &page,
        StatusCode::OK,
        "recovery_cancel.html",
        context! { code => q.code, errors => Errors::default() },
    )
}

#[derive(Deserialize)]
pub struct CancelForm {
    code: String,
}

pub async fn cancel(page: Page, PageForm(f): PageForm<CancelForm>) -> Response {
    match page.app().cancel_recovery(f.code.trim(), &page.meta).await {
        Ok(outcome) => render_status(
            &page,
            StatusCode::OK,
            "recovery_cancel.html",
            context! {
                done => true,
                stopped => outcome.stopped_anything,
                cases_stopped => outcome.cases_stopped,
                frozen => outcome.account_frozen,
                errors => Errors::default(),
            },
        ),
        Err(e) => {
            let errors = match e {
                AppError::NotFound | AppError::Unauthorized | AppError::InvalidCode => {
                    Errors::field("code", page.t("cancel-unknown"))
                }
                other => page.errors(other),
            };
            render_status(
                &page,
                StatusCode::BAD_REQUEST,
                "recovery_cancel.html",
                context! { code => f.code, errors => errors },
            )
        }
    }
}
