//! Sign-up, e-mail confirmation, sign-in with the captcha, the second step
//! (authenticator, or a code by SMS, voice or e-mail) and logout.

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};
use twostep_app::AppError;
use twostep_app::login::{CaptchaSolution, LoginOutcome, Session};
use twostep_domain::SecondFactorMethod;

use super::render::{Errors, render, render_status, time_tag};
use super::{LOGIN_COOKIE, NEXT_COOKIE, Page, PageForm, SESSION_COOKIE, see_other, with_cookies};

pub async fn home(page: Page) -> Response {
    match &page.session {
        Some(token) if page.app().authenticate(token).await.is_ok() => see_other("/account"),
        _ => see_other("/login"),
    }
}

// ---- sign-up and confirmation ----------------------------------------------

#[derive(Deserialize)]
pub struct SignupForm {
    email: String,
    password: String,
}

pub async fn signup_page(page: Page) -> Response {
    render(&page, "signup.html", context! { errors => Errors::default(), email => "" })
}

pub async fn signup(page: Page, PageForm(f): PageForm<SignupForm>) -> Response {
    match page.app().register(&f.email, &f.password, &page.meta).await {
        Ok(_) => see_other(&format!("/confirm?email={}", urlencode(f.email.trim()))),
        Err(e) => render_status(
            &page,
            StatusCode::BAD_REQUEST,
            "signup.html",
            context! { errors => page.errors(e), email => f.email },
        ),
    }
}

#[derive(Deserialize)]
pub struct EmailQuery {
    #[serde(default)]
    email: String,
}

/// The sign-up code's lifetime as the confirmation page states it.
fn signup_code_minutes(page: &Page) -> i64 {
    (page.app().settings.signup_code_ttl_s + 59) / 60
}

pub async fn confirm_page(page: Page, Query(q): Query<EmailQuery>) -> Response {
    let minutes = signup_code_minutes(&page);
    render(&page, "confirm.html", context! { errors => Errors::default(), email => q.email, minutes => minutes })
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    email: String,
    code: String,
}

pub async fn confirm(page: Page, PageForm(f): PageForm<ConfirmForm>) -> Response {
    match page.app().verify_email(&f.email, &f.code, &page.meta).await {
        Ok(()) => see_other("/login?confirmed=1"),
        Err(e) => render_status(
            &page,
            StatusCode::BAD_REQUEST,
            "confirm.html",
            context! { errors => page.errors(e), email => f.email, minutes => signup_code_minutes(&page) },
        ),
    }
}

// ---- sign-in ------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    confirmed: Option<String>,
    expired: Option<String>,
    signed_out: Option<String>,
    /// A path on this site to return to after signing in.
    next: Option<String>,
}

pub async fn login_page(mut page: Page, Query(q): Query<LoginQuery>) -> Response {
    // Catalogue ids; the template says them in the page's language.
    let notice = if q.confirmed.is_some() {
        Some("login-notice-confirmed")
    } else if q.signed_out.is_some() {
        Some("login-notice-signed-out")
    } else if q.expired.is_some() {
        Some("login-notice-expired")
    } else {
        None
    };
    if let Some(next) = q.next.as_deref().and_then(super::safe_next) {
        page.next = Some(next.to_owned());
    }
    let form = login_form(&page, StatusCode::OK, "", Errors::default(), notice).await;
    // Kept for the length of a sign-in, in a cookie, so the steps after the
    // password need not carry it; a sign-in page without one forgets it.
    let next = match q.next.as_deref().and_then(super::safe_next) {
        Some(n) => super::set_cookie(NEXT_COOKIE, n, Some(page.app().settings.login_ttl_s), page.secure),
        None => page.clear(NEXT_COOKIE),
    };
    with_cookies(form, &[next])
}

/// The sign-in form with a fresh puzzle for the browser to solve.
pub(super) async fn login_form(
    page: &Page,
    status: StatusCode,
    email: &str,
    mut errors: Errors,
    notice: Option<&str>,
) -> Response {
    // A puzzle for the address typed: as hard as its recent failures ask.
    let for_email = Some(email).filter(|e| !e.trim().is_empty());
    let captcha = match page.app().issue_captcha(for_email, &page.meta).await {
        Ok(c) => Some(context! {
            challenge_id => c.id,
            salt => c.salt,
            bits => c.difficulty_bits,
            expires_at => c.expires_at,
        }),
        Err(e) => {
            if errors.is_empty() {
                errors = page.errors(e);
            }
            None
        }
    };
    let captcha_off = page.app().settings.captcha_bits == 0;
    // Signing in for an application: say which.
    let app_name = match page.next.as_deref().and_then(|n| n.strip_prefix("/account/authorize?request=")) {
        Some(request_id) => page.app().pending_client_name(request_id).await,
        None => None,
    };
    render_status(
        page,
        status,
        "login.html",
        context! {
            errors => errors,
            email => email,
            captcha => captcha,
            captcha_off => captcha_off,
            notice => notice,
            passkeys => page.app().passkeys_available(),
            app_name => app_name,
        },
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    challenge_id: String,
    #[serde(default)]
    nonce: String,
}

pub async fn login(page: Page, PageForm(f): PageForm<LoginForm>) -> Response {
    let captcha =
        (!f.challenge_id.is_empty()).then_some(CaptchaSolution { challenge_id: f.challenge_id, nonce: f.nonce });
    match page.app().login(&f.email, &f.password, captcha.as_ref(), &page.meta).await {
        Ok(LoginOutcome::Authenticated(session)) => signed_in(&page, &session).await,
        Ok(LoginOutcome::DeviceConfirmationRequired(p)) => super::devices::waiting(&page, &p),
        Ok(LoginOutcome::SecondFactorRequired { login_id, methods, expires_at }) => {
            let value = std::iter::once(login_id.as_str())
                .chain(methods.iter().map(|m| m.as_str()))
                .collect::<Vec<_>>()
                .join(".");
            let cookie = super::set_cookie(LOGIN_COOKIE, &value, Some(expires_at - page.app().now()), page.secure);
            with_cookies(see_other("/login/second-step"), &[cookie])
        }
        Err(e) => login_form(&page, StatusCode::BAD_REQUEST, &f.email, page.errors(e), None).await,
    }
}

/// Signed in: the session's cookie, and on to `next`. A sign-in sent on to
/// an application's kept request is recorded as that request's proof.
pub(super) async fn signed_in(page: &Page, session: &Session) -> Response {
    let to = page.next.as_deref().and_then(super::safe_next).unwrap_or("/account");
    if let Err(e) = page.app().sign_in_for_request(to, &session.token).await {
        // Signed in all the same; the request asks for a proof instead.
        tracing::warn!(error = %e, "recording a sign-in for an authorization request failed");
    }
    let mut cookies = vec![
        page.session_cookie(&session.token, session.expires_at),
        page.clear(LOGIN_COOKIE),
        page.clear(NEXT_COOKIE),
    ];
    if let Some(device) = &session.device_token {
        cookies.push(page.device_cookie(device));
    }
    with_cookies(see_other(to), &cookies)
}

/// A finished second step: signed in, or waiting for the e-mail's approval
/// of this browser.
pub(super) async fn second_step_done(page: &Page, outcome: LoginOutcome) -> Response {
    match outcome {
        LoginOutcome::Authenticated(session) => signed_in(page, &session).await,
        LoginOutcome::DeviceConfirmationRequired(p) => super::devices::waiting(page, &p),
        LoginOutcome::SecondFactorRequired { .. } => expired(page),
    }
}

pub async fn logout(page: Page, PageForm(_): PageForm<serde::de::IgnoredAny>) -> Response {
    if let Some(token) = &page.session {
        // An already revoked or expired session is as good as logged out.
        let _ = page.app().logout(token, &page.meta).await;
    }
    with_cookies(see_other("/login?signed_out=1"), &[page.clear(SESSION_COOKIE), page.clear(LOGIN_COOKIE)])
}

// ---- the second step ----------------------------------------------------------

/// The pending sign-in as the cookie holds it: the attempt id and the
/// methods the account offers (for display only; the server checks again).
struct Pending {
    login_id: String,
    methods: Vec<SecondFactorMethod>,
}

fn pending(page: &Page) -> Option<Pending> {
    let value = page.login_id.as_deref()?;
    let mut parts = value.split('.');
    let login_id = parts.next().filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()))?;
    let methods = parts.filter_map(|m| SecondFactorMethod::try_from(m).ok()).collect();
    Some(Pending { login_id: login_id.to_owned(), methods })
}

pub(super) fn expired(page: &Page) -> Response {
    with_cookies(see_other("/login?expired=1"), &[page.clear(LOGIN_COOKIE)])
}

/// A code that was just sent, as the page shows it.
#[derive(Serialize)]
struct Sent {
    channel: &'static str,
    sent_to: String,
    expires: minijinja::Value,
    resend_after_s: i64,
}

#[derive(Deserialize)]
pub struct ViewQuery {
    method: Option<String>,
}

/// Which panel: `totp`, `phone` (SMS or voice) or `email`.
fn default_view(p: &Pending) -> &'static str {
    let has = |m| p.methods.contains(&m);
    if has(SecondFactorMethod::Passkey) {
        "passkey"
    } else if has(SecondFactorMethod::Totp) {
        "totp"
    } else if has(SecondFactorMethod::Sms) || has(SecondFactorMethod::Voice) {
        "phone"
    } else {
        "email"
    }
}

fn view_for_channel(channel: &str) -> &'static str {
    match channel {
        "sms" | "voice" => "phone",
        _ => "email",
    }
}

fn second_step(
    page: &Page,
    p: &Pending,
    view: &str,
    channel: Option<&str>,
    sent: Option<Sent>,
    errors: Errors,
) -> Response {
    let has = |m| p.methods.contains(&m);
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    render_status(
        page,
        status,
        "second_step.html",
        context! {
            view => view,
            has_passkey => has(SecondFactorMethod::Passkey) && page.app().passkeys_available(),
            has_totp => has(SecondFactorMethod::Totp),
            has_sms => has(SecondFactorMethod::Sms),
            has_voice => has(SecondFactorMethod::Voice),
            has_email => has(SecondFactorMethod::Email),
            issuer => page.app().settings.issuer,
            channel => channel,
            sent => sent,
            errors => errors,
        },
    )
}

pub async fn second_step_page(page: Page, Query(q): Query<ViewQuery>) -> Response {
    let Some(p) = pending(&page) else { return expired(&page) };
    let view = match q.method.as_deref() {
        Some("passkey") => "passkey",
        Some("totp") => "totp",
        Some("phone") => "phone",
        Some("email") => "email",
        _ => default_view(&p),
    };
    second_step(&page, &p, view, None, None, Errors::default())
}

/// The second-step page on the passkey panel, with `errors`.
pub(super) fn second_step_passkey_refused(page: &Page, errors: Errors) -> Response {
    let Some(p) = pending(page) else { return expired(page) };
    second_step(page, &p, "passkey", None, None, errors)
}

/// The login attempt id of the pending sign-in, for recovery.
pub(super) fn pending_login(page: &Page) -> Option<String> {
    pending(page).map(|p| p.login_id)
}

/// A refusal that ends the attempt sends the user back to the start.
fn attempt_over(e: &AppError) -> bool {
    matches!(e, AppError::Unauthorized | AppError::NotFound)
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

pub async fn second_step_totp(page: Page, PageForm(f): PageForm<CodeForm>) -> Response {
    let Some(p) = pending(&page) else { return expired(&page) };
    match page.app().login_with_totp(&p.login_id, &f.code, &page.meta).await {
        Ok(outcome) => second_step_done(&page, outcome).await,
        Err(e) if attempt_over(&e) => expired(&page),
        Err(e) => second_step(&page, &p, "totp", None, None, page.errors(e)),
    }
}

#[derive(Deserialize)]
pub struct ChannelForm {
    channel: String,
}

fn method(channel: &str) -> Option<SecondFactorMethod> {
    match SecondFactorMethod::try_from(channel) {
        Ok(SecondFactorMethod::Totp) | Err(_) => None,
        Ok(m) => Some(m),
    }
}

pub async fn second_step_send(page: Page, PageForm(f): PageForm<ChannelForm>) -> Response {
    let Some(p) = pending(&page) else { return expired(&page) };
    let view = view_for_channel(&f.channel);
    let Some(m) = method(&f.channel) else {
        return second_step(&page, &p, view, None, None, Errors::text(page.lang, "channel", "second-choose-channel"));
    };
    match page.app().login_send_code(&p.login_id, m, &page.meta).await {
        Ok(sent) => {
            let sent = Sent {
                channel: m.as_str(),
                sent_to: sent.sent_to,
                expires: time_tag(sent.expires_at),
                resend_after_s: sent.resend_after_s,
            };
            second_step(&page, &p, view, Some(m.as_str()), Some(sent), Errors::default())
        }
        Err(e) if attempt_over(&e) => expired(&page),
        Err(e) => second_step(&page, &p, view, None, None, page.errors(e)),
    }
}

#[derive(Deserialize)]
pub struct ChannelCodeForm {
    channel: String,
    code: String,
}

pub async fn second_step_verify(page: Page, PageForm(f): PageForm<ChannelCodeForm>) -> Response {
    let Some(p) = pending(&page) else { return expired(&page) };
    let view = view_for_channel(&f.channel);
    let Some(m) = method(&f.channel) else { return second_step(&page, &p, view, None, None, Errors::default()) };
    match page.app().login_verify_code(&p.login_id, m, &f.code, &page.meta).await {
        Ok(outcome) => second_step_done(&page, outcome).await,
        Err(e) if attempt_over(&e) => expired(&page),
        Err(e) => second_step(&page, &p, view, Some(m.as_str()), None, page.errors(e)),
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
