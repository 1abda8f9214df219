//! Passkeys on the pages. A passkey form (`data-passkey` in the templates)
//! first asks its options route (a POST with the form's CSRF token, which
//! answers JSON), lets the browser create or use a passkey, then posts the
//! answer in its hidden fields (`challenge_id`, `credential`) like any
//! form. Without JavaScript or WebAuthn the form says it cannot work here.
//! Here: the options routes, the account's passkeys page (add, rename,
//! remove), the second step and the sign-in with nothing typed.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;
use serde_json::json;
use twostep_app::passkeys::{CeremonyStart, PasskeyAnswer};
use twostep_app::{AppError, AppResult};

use super::render::{Errors, failure};
use super::sudo::confirm_first;
use super::{Page, PageForm, SignedIn, see_other};

/// A browser's answer as a form carries it: the credential is the JSON of
/// its `toJSON()`.
#[derive(Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    challenge_id: String,
    #[serde(default)]
    credential: String,
}

impl AnswerForm {
    pub(super) fn answer(&self) -> AppResult<PasskeyAnswer> {
        let credential = serde_json::from_str(&self.credential)
            .map_err(|_| AppError::invalid("credential", "is not a credential as the browser returns it"))?;
        Ok(PasskeyAnswer { challenge_id: self.challenge_id.clone(), credential })
    }
}

/// The options as the page's script reads them, or the refusal in the
/// page's language with its status.
fn options(page: &Page, started: AppResult<CeremonyStart>) -> Response {
    match started {
        Ok(c) => Json(json!({"challenge_id": c.challenge_id, "public_key": c.options})).into_response(),
        Err(e) => {
            let (status, said) = super::texts::failure(page.lang, e);
            (status, Json(json!({"error": said}))).into_response()
        }
    }
}

/// The status a refused sign-in page answers with.
fn status_of(e: &AppError) -> StatusCode {
    match e {
        AppError::InvalidCode => StatusCode::UNAUTHORIZED,
        AppError::Forbidden | AppError::EmailUnverified => StatusCode::FORBIDDEN,
        AppError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Unavailable(_) | AppError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

// ---- the account's passkeys ----------------------------------------------------

async fn show(s: &SignedIn, status: StatusCode, errors: Errors, notice: Option<&str>) -> Response {
    let app = s.page.app();
    let passkeys = match app.passkeys(&s.account_id).await {
        Ok(p) => p,
        Err(e) => return failure(&s.page, e),
    };
    let list: Vec<_> = passkeys
        .iter()
        .map(|p| {
            context! {
                id => p.id,
                name => p.name,
                created => p.created_at,
                last_used => p.last_used_at,
            }
        })
        .collect();
    // Adding one asks for sudo mode first, as every factor change does.
    let in_sudo = app.require_sudo(&s.account_id, &s.token).await.is_ok();
    let ctx = context! {
        passkeys => list,
        available => app.passkeys_available(),
        in_sudo => in_sudo,
        max => twostep_app::passkeys::MAX_PASSKEYS,
        errors => errors,
        notice => notice,
    };
    super::account::show(s, "passkeys.html", status, ctx).await
}

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn page(s: SignedIn, axum::extract::Query(q): axum::extract::Query<DoneQuery>) -> Response {
    let notice = match q.done.as_deref() {
        Some("added") => Some("passkeys-done-added"),
        Some("renamed") => Some("passkeys-done-renamed"),
        Some("removed") => Some("passkeys-done-removed"),
        _ => None,
    };
    show(&s, StatusCode::OK, Errors::default(), notice).await
}

/// `POST /account/passkeys/options`: the options to create one (sudo).
pub async fn registration_options(s: SignedIn, PageForm(_): PageForm<serde::de::IgnoredAny>) -> Response {
    options(&s.page, s.page.app().start_passkey_registration(&s.account_id, &s.token, &s.page.meta).await)
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    name: String,
    #[serde(flatten)]
    answer: AnswerForm,
}

pub async fn add(s: SignedIn, PageForm(f): PageForm<AddForm>) -> Response {
    let added = match f.answer.answer() {
        Ok(answer) => {
            s.page.app().finish_passkey_registration(&s.account_id, &s.token, &f.name, &answer, &s.page.meta).await
        }
        Err(e) => Err(e),
    };
    match added {
        Ok(_) => see_other("/account/passkeys?done=added"),
        Err(AppError::StepUpRequired { .. }) => confirm_first("/account/passkeys"),
        Err(e) => show(&s, StatusCode::BAD_REQUEST, s.page.errors(e), None).await,
    }
}

#[derive(Deserialize)]
pub struct RenameForm {
    #[serde(default)]
    name: String,
}

pub async fn rename(s: SignedIn, Path(id): Path<String>, PageForm(f): PageForm<RenameForm>) -> Response {
    match s.page.app().rename_passkey(&s.account_id, &s.token, &id, &f.name, &s.page.meta).await {
        Ok(()) => see_other("/account/passkeys?done=renamed"),
        Err(AppError::StepUpRequired { .. }) => confirm_first("/account/passkeys"),
        Err(e) => show(&s, StatusCode::BAD_REQUEST, s.page.errors(e), None).await,
    }
}

pub async fn remove(s: SignedIn, Path(id): Path<String>, PageForm(_): PageForm<serde::de::IgnoredAny>) -> Response {
    match s.page.app().remove_passkey(&s.account_id, &s.token, &id, &s.page.meta).await {
        Ok(()) => see_other("/account/passkeys?done=removed"),
        Err(AppError::StepUpRequired { .. }) => confirm_first("/account/passkeys"),
        Err(e) => show(&s, StatusCode::BAD_REQUEST, s.page.errors(e), None).await,
    }
}

/// `POST /account/confirm/passkey-options`: the options of sudo mode by
/// passkey; the answer goes to `/account/confirm` as `method=passkey`.
pub async fn sudo_options(s: SignedIn, PageForm(_): PageForm<serde::de::IgnoredAny>) -> Response {
    options(&s.page, s.page.app().sudo_passkey_options(&s.account_id, &s.token, &s.page.meta).await)
}

// ---- signing in ---------------------------------------------------------------

/// `POST /login/passkey/options`: the second step's options.
pub async fn second_step_options(page: Page, PageForm(_): PageForm<serde::de::IgnoredAny>) -> Response {
    let Some(login_id) = super::auth::pending_login(&page) else {
        return options(&page, Err(AppError::NotFound));
    };
    let started = page.app().login_passkey_options(&login_id, &page.meta).await;
    options(&page, started)
}

/// `POST /login/passkey`: the second step by passkey.
pub async fn second_step(page: Page, PageForm(f): PageForm<AnswerForm>) -> Response {
    let Some(login_id) = super::auth::pending_login(&page) else { return super::auth::expired(&page) };
    let outcome = match f.answer() {
        Ok(answer) => page.app().login_with_passkey(&login_id, &answer, &page.meta).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(outcome) => super::auth::second_step_done(&page, outcome).await,
        Err(AppError::Unauthorized | AppError::NotFound | AppError::Conflict(_)) => super::auth::expired(&page),
        Err(AppError::InvalidCode) => {
            super::auth::second_step_passkey_refused(&page, Errors::text(page.lang, "credential", "passkey-refused"))
        }
        Err(e) => super::auth::second_step_passkey_refused(&page, page.errors(e)),
    }
}

/// `POST /passkey-sign-in/options`: the options of a sign-in with nothing
/// typed.
pub async fn sign_in_options(page: Page, PageForm(_): PageForm<serde::de::IgnoredAny>) -> Response {
    let started = page.app().passkey_sign_in_options(&page.meta).await;
    options(&page, started)
}

/// `POST /passkey-sign-in`: signed in, or waiting for the e-mail's
/// approval of this browser.
pub async fn sign_in(page: Page, PageForm(f): PageForm<AnswerForm>) -> Response {
    let outcome = match f.answer() {
        Ok(answer) => page.app().passkey_sign_in(&answer, &page.meta).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(outcome) => super::auth::second_step_done(&page, outcome).await,
        Err(AppError::InvalidCode) => {
            let errors = Errors::text(page.lang, "credential", "passkey-refused");
            super::auth::login_form(&page, StatusCode::UNAUTHORIZED, "", errors, None).await
        }
        Err(e) => super::auth::login_form(&page, status_of(&e), "", page.errors(e), None).await,
    }
}

/// `POST /password/reset/passkey-options`: the options to prove the
/// account's passkey during a password reset.
pub async fn reset_options(page: Page, PageForm(_): PageForm<serde::de::IgnoredAny>) -> Response {
    let Some(reset_id) = page.reset.clone().filter(|id| !id.is_empty() && id.len() <= 64) else {
        return options(&page, Err(AppError::NotFound));
    };
    let started = page.app().password_reset_passkey_options(&reset_id, &page.meta).await;
    options(&page, started)
}
