//! The security centre's pages: "Forgot your password?" (the e-mailed code,
//! the second factor, the new password), "Freeze my account" (from the link
//! in an e-mail, or with the address and a code; no sign-in needed) and the
//! anti-phishing phrase of the signed-in account.

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};
use twostep_app::AppError;
use twostep_app::password_reset::ResetStarted;
use twostep_domain::SecondFactorMethod;

use super::render::{Errors, render_status};
use super::sudo::confirm_first;
use super::{Page, PageForm, SignedIn, see_other, set_cookie, with_cookies};

/// The reset under way in this browser (its id; HttpOnly, short-lived).
pub(super) const RESET_COOKIE: &str = "twostep_reset";

fn status_of(errors: &Errors) -> StatusCode {
    if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST }
}

// ---- forgot password ---------------------------------------------------------

#[derive(Deserialize)]
pub struct ForgotQuery {
    expired: Option<String>,
}

pub async fn forgot_page(page: Page, Query(q): Query<ForgotQuery>) -> Response {
    let notice = q.expired.map(|_| "reset-expired");
    let ctx = context! { stage => "ask", email => "", notice => notice, errors => Errors::default() };
    render_status(&page, StatusCode::OK, "password_forgot.html", ctx)
}

#[derive(Deserialize)]
pub struct EmailForm {
    email: String,
}

pub async fn forgot(page: Page, PageForm(f): PageForm<EmailForm>) -> Response {
    let minutes = (page.app().settings.code_ttl_s + 59) / 60;
    let (stage, errors) = match page.app().request_password_reset(&f.email, &page.meta).await {
        Ok(_) => ("code", Errors::default()),
        Err(e) => ("ask", page.errors(e)),
    };
    let ctx = context! { stage => stage, email => f.email.trim(), minutes => minutes, errors => errors };
    render_status(&page, status_of(&errors), "password_forgot.html", ctx)
}

#[derive(Deserialize)]
pub struct EmailCodeForm {
    email: String,
    code: String,
}

pub async fn forgot_verify(page: Page, PageForm(f): PageForm<EmailCodeForm>) -> Response {
    match page.app().start_password_reset(&f.email, &f.code, &page.meta).await {
        Ok(reset) => {
            let ttl = reset.expires_at - page.app().now();
            let cookie = set_cookie(RESET_COOKIE, &reset.reset_id, Some(ttl), page.secure);
            with_cookies(see_other("/password/reset"), &[cookie])
        }
        Err(e) => {
            let errors = match e {
                AppError::InvalidCode => Errors::text(page.lang, "code", "reset-code-wrong"),
                other => page.errors(other),
            };
            let minutes = (page.app().settings.code_ttl_s + 59) / 60;
            let ctx = context! { stage => "code", email => f.email.trim(), minutes => minutes, errors => errors };
            render_status(&page, StatusCode::BAD_REQUEST, "password_forgot.html", ctx)
        }
    }
}

/// A code just sent to the phone, as the page shows it.
#[derive(Serialize)]
struct Sent {
    channel: &'static str,
    sent_to: String,
}

fn reset_id(page: &Page) -> Option<String> {
    page.reset.clone().filter(|id| !id.is_empty() && id.len() <= 64)
}

fn start_over(page: &Page) -> Response {
    with_cookies(see_other("/password/forgot?expired=1"), &[page.clear(RESET_COOKIE)])
}

fn reset_page(page: &Page, reset: &ResetStarted, sent: Option<Sent>, errors: Errors) -> Response {
    reset_page_with(page, reset, sent, errors, false)
}

/// The reset page. Beside a passkey it asks for the passkey, unless the
/// person chose a code (`with_code`), has just been sent one, or mistyped
/// one: one form at a time, so the page has one new-password field.
fn reset_page_with(page: &Page, reset: &ResetStarted, sent: Option<Sent>, errors: Errors, with_code: bool) -> Response {
    let has = |m| reset.methods.contains(&m);
    let has_passkey = has(SecondFactorMethod::Passkey) && page.app().passkeys_available();
    let has_code = has(SecondFactorMethod::Totp) || has(SecondFactorMethod::Sms);
    let by_code = has_code && (with_code || sent.is_some() || errors.fields.contains_key("code"));
    let ctx = context! {
        frozen => reset.frozen,
        by_passkey => has_passkey && !by_code,
        has_passkey => has_passkey,
        has_totp => has(SecondFactorMethod::Totp),
        has_phone => has(SecondFactorMethod::Sms),
        has_none => reset.methods.is_empty(),
        sent => sent,
        errors => errors,
    };
    render_status(page, status_of(&errors), "password_reset.html", ctx)
}

#[derive(Deserialize)]
pub struct ResetQuery {
    with: Option<String>,
}

/// The reset of this browser, or the answer that sends it to start over.
async fn this_reset(page: &Page) -> Result<ResetStarted, Response> {
    let Some(id) = reset_id(page) else { return Err(start_over(page)) };
    match page.app().password_reset_state(&id).await {
        Ok(reset) => Ok(reset),
        Err(AppError::NotFound | AppError::Unauthorized | AppError::Conflict(_)) => Err(start_over(page)),
        Err(e) => Err(super::render::failure(page, e)),
    }
}

pub async fn reset_form(page: Page, Query(q): Query<ResetQuery>) -> Response {
    match this_reset(&page).await {
        Ok(reset) => reset_page_with(&page, &reset, None, Errors::default(), q.with.as_deref() == Some("code")),
        Err(answer) => answer,
    }
}

#[derive(Deserialize)]
pub struct ChannelForm {
    channel: String,
}

pub async fn reset_send_code(page: Page, PageForm(f): PageForm<ChannelForm>) -> Response {
    let reset = match this_reset(&page).await {
        Ok(reset) => reset,
        Err(answer) => return answer,
    };
    let method = if f.channel == "voice" { SecondFactorMethod::Voice } else { SecondFactorMethod::Sms };
    match page.app().password_reset_send_code(&reset.reset_id, method, &page.meta).await {
        Ok(sent) => {
            let sent = Sent { channel: sent.channel.as_str(), sent_to: sent.sent_to };
            reset_page(&page, &reset, Some(sent), Errors::default())
        }
        Err(e) => reset_page(&page, &reset, None, page.errors(e)),
    }
}

#[derive(Deserialize)]
pub struct ResetForm {
    new_password: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    code: String,
    #[serde(flatten)]
    passkey: super::passkeys::AnswerForm,
}

pub async fn reset(page: Page, PageForm(f): PageForm<ResetForm>) -> Response {
    let reset = match this_reset(&page).await {
        Ok(reset) => reset,
        Err(answer) => return answer,
    };
    let method = match f.method.as_str() {
        "passkey" => Some(SecondFactorMethod::Passkey),
        "totp" => Some(SecondFactorMethod::Totp),
        "voice" => Some(SecondFactorMethod::Voice),
        "sms" => Some(SecondFactorMethod::Sms),
        _ => None,
    };
    let code = match method {
        Some(SecondFactorMethod::Passkey) => match f.passkey.answer() {
            Ok(answer) => answer.to_secret(),
            Err(e) => return reset_page(&page, &reset, None, page.errors(e)),
        },
        _ => f.code.trim().to_owned(),
    };
    let proof = method.map(|m| (m, code.as_str()));
    match page.app().complete_password_reset(&reset.reset_id, &f.new_password, proof, &page.meta).await {
        Ok(hold_until) => {
            let ctx = context! { hold_until => hold_until };
            let done = render_status(&page, StatusCode::OK, "password_reset_done.html", ctx);
            with_cookies(done, &[page.clear(RESET_COOKIE)])
        }
        Err(AppError::InvalidCode) if method == Some(SecondFactorMethod::Passkey) => {
            reset_page(&page, &reset, None, Errors::text(page.lang, "credential", "passkey-refused"))
        }
        Err(AppError::InvalidCode | AppError::CodeAlreadyUsed) => {
            reset_page(&page, &reset, None, Errors::text(page.lang, "code", "reset-factor-wrong"))
        }
        Err(AppError::Unauthorized | AppError::Conflict(_) | AppError::NotFound) => start_over(&page),
        Err(e) => reset_page(&page, &reset, None, page.errors(e)),
    }
}

#[derive(Deserialize)]
pub struct ResetRecoveryForm {
    case_password: String,
}

/// "Security check not available" after the e-mailed code: a lost-2FA case
/// that also sets the new password once staff approve it.
pub async fn reset_recovery(page: Page, PageForm(f): PageForm<ResetRecoveryForm>) -> Response {
    let reset = match this_reset(&page).await {
        Ok(reset) => reset,
        Err(answer) => return answer,
    };
    match page.app().open_recovery_from_reset(&reset.reset_id, &f.case_password, &page.meta).await {
        Ok(opened) => super::recovery::case_opened(&page, &opened, RESET_COOKIE),
        Err(AppError::Unauthorized | AppError::NotFound) => start_over(&page),
        Err(AppError::InvalidRequest { message, .. }) => {
            reset_page(&page, &reset, None, Errors::field("case_password", message))
        }
        Err(e) => super::recovery::refused_opening(&page, e),
    }
}

// ---- freeze my account -------------------------------------------------------

#[derive(Deserialize)]
pub struct FreezeQuery {
    t: Option<String>,
}

pub async fn freeze_page(page: Page, Query(q): Query<FreezeQuery>) -> Response {
    let stage = if q.t.is_some() { "link" } else { "ask" };
    let ctx = context! { stage => stage, token => q.t, email => "", errors => Errors::default() };
    render_status(&page, StatusCode::OK, "freeze.html", ctx)
}

pub async fn freeze_code(page: Page, PageForm(f): PageForm<EmailForm>) -> Response {
    let (stage, errors) = match page.app().send_freeze_code(&f.email, &page.meta).await {
        Ok(()) => ("code", Errors::default()),
        Err(e) => ("ask", page.errors(e)),
    };
    let ctx = context! { stage => stage, email => f.email.trim(), errors => errors };
    render_status(&page, status_of(&errors), "freeze.html", ctx)
}

#[derive(Deserialize)]
pub struct FreezeForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
}

pub async fn freeze(page: Page, PageForm(f): PageForm<FreezeForm>) -> Response {
    let by_link = !f.token.is_empty();
    let result = if by_link {
        page.app().freeze_with_link(&f.token, &page.meta).await
    } else {
        page.app().freeze_with_code(&f.email, &f.code, &page.meta).await
    };
    match result {
        Ok(()) => render_status(&page, StatusCode::OK, "freeze.html", context! { stage => "done" }),
        Err(e) => {
            let (stage, errors) = match e {
                AppError::NotFound => ("ask", Errors::form(page.t("freeze-link-unknown"))),
                AppError::InvalidCode => ("code", Errors::text(page.lang, "code", "reset-code-wrong")),
                other => (if by_link { "link" } else { "code" }, page.errors(other)),
            };
            let ctx = context! { stage => stage, token => f.token, email => f.email.trim(), errors => errors };
            render_status(&page, StatusCode::BAD_REQUEST, "freeze.html", ctx)
        }
    }
}

// ---- anti-phishing phrase ----------------------------------------------------

async fn phrase_page(s: &SignedIn, status: StatusCode, errors: Errors) -> Response {
    match s.page.app().has_anti_phishing(&s.account_id).await {
        Ok(set) => render_status(&s.page, status, "anti_phishing.html", context! { set => set, errors => errors }),
        Err(e) => super::render::failure(&s.page, e),
    }
}

pub async fn phrase_form(s: SignedIn) -> Response {
    phrase_page(&s, StatusCode::OK, Errors::default()).await
}

#[derive(Deserialize)]
pub struct PhraseForm {
    #[serde(default)]
    phrase: String,
    #[serde(default)]
    remove: String,
}

pub async fn phrase_save(s: SignedIn, PageForm(f): PageForm<PhraseForm>) -> Response {
    let phrase = (f.remove.is_empty()).then_some(f.phrase.as_str());
    match s.page.app().set_anti_phishing(&s.account_id, &s.token, phrase, None, &s.page.meta).await {
        Ok(()) if phrase.is_some() => see_other("/account?done=anti_phishing"),
        Ok(()) => see_other("/account?done=anti_phishing_removed"),
        Err(AppError::StepUpRequired { .. }) => confirm_first("/account/anti-phishing"),
        Err(e) => phrase_page(&s, StatusCode::BAD_REQUEST, s.page.errors(e)).await,
    }
}
