//! Templates compiled into the binary, the common page context, and how a
//! use-case refusal becomes a message next to the field that caused it.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Environment, Value, context};
use serde::Serialize;
use twostep_app::AppError;

use super::Page;
use crate::error::ApiError;

macro_rules! templates {
    ($env:ident, $($name:literal),* $(,)?) => {
        $( $env.add_template($name, include_str!(concat!("../../templates/", $name))).expect($name); )*
    };
}

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    templates!(
        env,
        "base.html",
        "macros.html",
        "message.html",
        "signup.html",
        "confirm.html",
        "login.html",
        "second_step.html",
        "account.html",
        "authenticator.html",
        "phone.html",
        "password.html",
        "activity.html",
        "withdraw.html",
        "sudo.html",
        "outbox.html",
        "questions.html",
        "recovery.html",
        "recovery_cancel.html",
        "staff_base.html",
        "staff_queue.html",
        "staff_case.html",
        "staff_audit.html",
    );
    env.add_filter("when", |unix_s: i64| time_tag(unix_s));
    env
});

/// "2026-11-26 14:05 UTC": what a person reads; the RFC 3339 form goes in
/// `datetime` attributes.
pub fn human_time(unix_s: i64) -> String {
    let t = crate::time::rfc3339(unix_s);
    format!("{} {} UTC", &t[..10], &t[11..16])
}

/// A time as pages show it: a `<time>` element with the RFC 3339 instant in
/// `datetime` and the UTC text, which /assets/app.js rewrites to the
/// reader's own time zone (keeping the UTC text on hover). Without
/// JavaScript the UTC text stays. What `|when` renders.
pub fn time_tag(unix_s: i64) -> Value {
    let utc = human_time(unix_s);
    Value::from_safe_string(format!("<time datetime=\"{}\" title=\"{utc}\">{utc}</time>", crate::time::rfc3339(unix_s)))
}

/// Errors to show on a form: by field name, and one for the whole form.
#[derive(Serialize, Default, Debug)]
pub struct Errors {
    pub fields: BTreeMap<String, String>,
    pub form: Option<String>,
}

impl Errors {
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        let mut e = Errors::default();
        e.fields.insert(name.to_owned(), message.into());
        e
    }

    pub fn form(message: impl Into<String>) -> Self {
        Errors { form: Some(message.into()), ..Default::default() }
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.form.is_none()
    }
}

fn sentence(s: &str) -> String {
    let mut c = s.chars();
    let first = c.next().map(|f| f.to_uppercase().collect::<String>()).unwrap_or_default();
    let rest: String = c.collect();
    let mut out = format!("{first}{rest}");
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

impl From<AppError> for Errors {
    fn from(e: AppError) -> Self {
        match e {
            AppError::InvalidRequest { field, message } => Errors::field(&field, sentence(&message)),
            AppError::InvalidCode => Errors::field("code", "That code is wrong, expired or already used."),
            AppError::CodeAlreadyUsed => {
                Errors::field("code", "That code was already used. Wait for the next code in your app and enter it.")
            }
            AppError::CaptchaFailed => Errors::form("The sign-in puzzle expired or was not solved; please try again."),
            AppError::CaptchaTooEasy { .. } => Errors::form(
                "After several wrong passwords for this address, signing in needs a harder puzzle. Your browser \
                 solves it when you sign in again; it may take a little longer.",
            ),
            AppError::StepUpRequired { .. } => Errors::form("Confirm it is you first, then try again."),
            AppError::EmailUnverified => Errors::form("Confirm your e-mail address first with the code we sent you."),
            AppError::TooManyAttempts { retry_after_s } => {
                Errors::form(format!("Too many attempts. Please wait {} and try again.", wait_text(retry_after_s)))
            }
            AppError::SecurityHold { until } => {
                Errors::form(format!("Withdrawals are paused by a security hold until {}.", human_time(until)))
            }
            AppError::Conflict(message) => Errors::form(sentence(&message)),
            other => Errors::form(ApiError::from(other).message),
        }
    }
}

pub fn wait_text(seconds: i64) -> String {
    match seconds.max(1) {
        s if s < 120 => format!("{s} seconds"),
        s if s < 7200 => format!("{} minutes", (s + 59) / 60),
        s => format!("{} hours", (s + 3599) / 3600),
    }
}

/// Renders `name` with the common context (CSRF token, whether signed in,
/// whether the outbox exists) merged under the page's own values.
pub fn render(page: &Page, name: &str, ctx: Value) -> Response {
    render_status(page, StatusCode::OK, name, ctx)
}

pub fn render_status(page: &Page, status: StatusCode, name: &str, ctx: Value) -> Response {
    let common = context! {
        csrf => page.csrf,
        signed_in => page.session.is_some(),
        outbox => page.state.outbox_enabled,
    };
    let merged = context! { ..ctx, ..common };
    match ENV.get_template(name).and_then(|t| t.render(merged)) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, template = name, "page rendering failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><title>Error</title><p>Something went wrong on our side.</p>"),
            )
                .into_response()
        }
    }
}

/// A page with a title and one paragraph (refusals, expired forms).
pub fn message(page: &Page, status: StatusCode, title: &str, text: &str) -> Response {
    render_status(page, status, "message.html", context! { title => title, text => text })
}

/// A page with a title, one paragraph and a link to what to do next.
pub fn message_with_link(page: &Page, status: StatusCode, title: &str, text: &str, link: (&str, &str)) -> Response {
    let ctx = context! { title => title, text => text, link => link.0, link_text => link.1 };
    render_status(page, status, "message.html", ctx)
}

/// A refusal outside any form (e.g. the database is down).
pub fn failure(page: &Page, e: AppError) -> Response {
    let api = ApiError::from(e);
    message(page, api.status, "Something went wrong", &api.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        for name in [
            "base.html",
            "login.html",
            "account.html",
            "withdraw.html",
            "second_step.html",
            "recovery.html",
            "staff_case.html",
            "questions.html",
        ] {
            ENV.get_template(name).unwrap();
        }
    }

    #[test]
    fn refusals_land_on_their_field() {
        let e = Errors::from(AppError::invalid("email", "not a valid e-mail address"));
        assert_eq!(e.fields["email"], "Not a valid e-mail address.");
        assert!(Errors::from(AppError::InvalidCode).fields.contains_key("code"));
        assert!(Errors::from(AppError::InvalidCredentials).form.is_some());
        assert_eq!(human_time(0), "1970-01-01 00:00 UTC");
        let tag = time_tag(86_400 + 3_660).to_string();
        assert_eq!(
            tag,
            r#"<time datetime="1970-01-02T01:01:00Z" title="1970-01-02 01:01 UTC">1970-01-02 01:01 UTC</time>"#
        );
        // The filter the templates use renders the same element, unescaped.
        let out = ENV.template_from_named_str("t.html", "{{ t|when }}").unwrap().render(context! { t => 0 }).unwrap();
        assert!(out.starts_with(r#"<time datetime="1970-01-01T00:00:00Z""#), "{out}");
    }
}
