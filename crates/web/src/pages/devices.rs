//! New-device confirmation in the browser: the sign-in's waiting step, the
//! e-mail link's page (opening it only shows the sign-in and two buttons;
//! link scanners prefetch GETs, so only a POST answers), and the account's
//! devices with "sign out this device", "forget it" and the owner's choice.
//! The device itself is the `twostep_device` cookie (see `mod.rs`).

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};
use twostep_app::AppError;
use twostep_app::devices::PendingConfirmation;
use twostep_domain::device::DeviceDecision;

use super::render::{Errors, failure, render_status, time_tag};
use super::sudo::confirm_first;
use super::{DEVICE_LOGIN_COOKIE, LOGIN_COOKIE, Page, PageForm, SignedIn, see_other, with_cookies};

/// After every step passed on a new device: keep the device cookie and the
/// sign-in's id, and wait for the e-mail.
pub fn waiting(page: &Page, p: &PendingConfirmation) -> Response {
    let left = p.expires_at - page.app().now();
    with_cookies(
        see_other("/login/device"),
        &[
            page.device_cookie(&p.device_token),
            super::set_cookie(DEVICE_LOGIN_COOKIE, &p.login_id, Some(left), page.secure),
            page.clear(LOGIN_COOKIE),
        ],
    )
}

fn wait_page(page: &Page, status: StatusCode, errors: Errors) -> Response {
    render_status(page, status, "device_wait.html", context! { errors => errors })
}

pub async fn wait(page: Page) -> Response {
    if page.device_login.is_none() {
        return super::auth::expired(&page);
    }
    wait_page(&page, StatusCode::OK, Errors::default())
}

/// "I approved it": takes the session once the e-mail's link was approved.
pub async fn finish(page: Page, PageForm(_): PageForm<serde::de::IgnoredAny>) -> Response {
    let Some(login_id) = page.device_login.clone() else { return super::auth::expired(&page) };
    match page.app().finish_device_sign_in(&login_id, &page.meta).await {
        Ok(session) => {
            let done = super::auth::signed_in(&page, &session).await;
            with_cookies(done, &[page.clear(DEVICE_LOGIN_COOKIE)])
        }
        Err(AppError::Conflict(_)) => wait_page(
            &page,
            StatusCode::CONFLICT,
            Errors { form: Some(page.t("device-wait-not-yet")), ..Default::default() },
        ),
        Err(AppError::Forbidden) => {
            let r = failure(&page, AppError::Forbidden);
            with_cookies(r, &[page.clear(DEVICE_LOGIN_COOKIE)])
        }
        Err(AppError::TooManyAttempts { retry_after_s }) => failure(&page, AppError::TooManyAttempts { retry_after_s }),
        Err(_) => with_cookies(super::auth::expired(&page), &[page.clear(DEVICE_LOGIN_COOKIE)]),
    }
}

#[derive(Deserialize)]
pub struct LinkQuery {
    #[serde(default)]
    token: String,
    #[serde(default)]
    answer: String,
}

/// The e-mail link's page: what sign-in it is about, and the two buttons.
pub async fn link_page(page: Page, Query(q): Query<LinkQuery>) -> Response {
    let view = match page.app().device_confirmation_view(&q.token).await {
        Ok(v) => v,
        Err(e) => return failure(&page, e),
    };
    let place = view.place.map(|p| page.t(&format!("device-place-{}", p.as_str().replace('_', "-"))));
    render_status(
        &page,
        StatusCode::OK,
        "device_confirm.html",
        context! {
            token => q.token,
            suggested => q.answer,
            browser => twostep_app::devices::browser_words(page.lang, &view.user_agent),
            ip => view.ip,
            place => place,
            at => time_tag(view.at),
            answered => view.decision.map(|d| d.as_str()),
            expired => view.expired,
        },
    )
}

#[derive(Deserialize)]
pub struct AnswerForm {
    token: String,
    answer: String,
}

pub async fn answer(page: Page, PageForm(f): PageForm<AnswerForm>) -> Response {
    let decision = match f.answer.as_str() {
        "approve" => DeviceDecision::Approved,
        "deny" => DeviceDecision::Denied,
        _ => return failure(&page, AppError::invalid("answer", "must be approve or deny")),
    };
    match page.app().answer_device_confirmation(&f.token, decision, &page.meta).await {
        Ok(()) => render_status(&page, StatusCode::OK, "device_confirm.html", context! { done => decision.as_str() }),
        Err(e) => failure(&page, e),
    }
}

/// A device as the account page lists it.
#[derive(Serialize)]
struct DeviceRow {
    id: String,
    browser: String,
    ip: String,
    place: Option<String>,
    first_seen: minijinja::Value,
    last_seen: minijinja::Value,
    confirmed: bool,
    current: bool,
}

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn list(s: SignedIn, Query(q): Query<DoneQuery>) -> Response {
    let app = s.page.app();
    let (devices, account) = match (app.devices(&s.account_id, &s.token).await, app.account(&s.account_id).await) {
        (Ok(d), Ok(a)) => (d, a),
        (Err(e), _) | (_, Err(e)) => return failure(&s.page, e),
    };
    let enabled = match app.device_confirmation_enabled(&account).await {
        Ok(on) => on,
        Err(e) => return failure(&s.page, e),
    };
    let rows: Vec<DeviceRow> = devices
        .into_iter()
        .map(|d| DeviceRow {
            place: d.place.map(|p| s.page.t(&format!("device-place-{}", p.as_str().replace('_', "-")))),
            id: d.device_id,
            browser: twostep_app::devices::browser_words(s.page.lang, &d.user_agent),
            ip: d.ip,
            first_seen: time_tag(d.first_seen_at),
            last_seen: time_tag(d.last_seen_at),
            confirmed: d.confirmed,
            current: d.current,
        })
        .collect();
    let notice = match q.done.as_deref() {
        Some("signed_out") => Some("devices-done-signed-out"),
        Some("forgotten") => Some("devices-done-forgotten"),
        Some("setting") => Some("devices-done-setting"),
        _ => None,
    };
    render_status(
        &s.page,
        StatusCode::OK,
        "devices.html",
        context! { devices => rows, enabled => enabled, staff => account.role.is_staff(), notice => notice },
    )
}

pub async fn sign_out(
    s: SignedIn,
    Path(device_id): Path<String>,
    PageForm(_): PageForm<serde::de::IgnoredAny>,
) -> Response {
    match s.page.app().sign_out_device(&s.account_id, &device_id, &s.page.meta).await {
        Ok(_) => see_other("/account/devices?done=signed_out"),
        Err(e) => failure(&s.page, e),
    }
}

pub async fn forget(
    s: SignedIn,
    Path(device_id): Path<String>,
    PageForm(_): PageForm<serde::de::IgnoredAny>,
) -> Response {
    match s.page.app().forget_device(&s.account_id, &device_id, &s.page.meta).await {
        Ok(()) => see_other("/account/devices?done=forgotten"),
        Err(e) => failure(&s.page, e),
    }
}

#[derive(Deserialize)]
pub struct SettingForm {
    enabled: String,
}

pub async fn setting(s: SignedIn, PageForm(f): PageForm<SettingForm>) -> Response {
    let on = f.enabled == "on";
    match s.page.app().set_device_confirmation(&s.account_id, &s.token, on, &s.page.meta).await {
        Ok(_) => see_other("/account/devices?done=setting"),
        Err(AppError::StepUpRequired { .. }) => confirm_first("/account/devices"),
        Err(e) => failure(&s.page, e),
    }
}
