//! Templates compiled into the binary, the common page context, and how a
//! use-case refusal becomes a message next to the field that caused it.
//!
//! Every text of a template comes from the catalogues (`twostep_i18n`):
//! `{{ t("login-title") }}`, with placeables as keyword arguments,
//! `{{ t("second-sent-sms", to=sent.sent_to, until=sent.expires) }}`
//! (numbers stay numbers, so they pick plural forms). There is one template
//! environment per language, its `t` bound to that language, so macros and
//! included templates speak the page's language without passing it around.
//! The page's language is [`Page::lang`]: the request's `Accept-Language`
//! among the languages we have, else the server's `--language`.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::value::Kwargs;
use minijinja::{Environment, Value, context};
use serde::Serialize;
use twostep_app::i18n::{Arg, text, text_with};
use twostep_app::{AppError, Lang};

use super::Page;
use super::texts;

macro_rules! templates {
    ($env:ident, $($name:literal),* $(,)?) => {
        $( $env.add_template($name, include_str!(concat!("../../templates/", $name))).expect($name); )*
    };
}

/// The environments, in the order of [`Lang::ALL`].
static ENVS: LazyLock<Vec<Environment<'static>>> =
    LazyLock::new(|| Lang::ALL.iter().map(|l| environment(*l)).collect());

fn env(lang: Lang) -> &'static Environment<'static> {
    &ENVS[Lang::ALL.iter().position(|l| *l == lang).expect("every language has an environment")]
}

/// `t("id", name=value, …)`: the catalogue text in `lang`.
fn translate(lang: Lang, id: &str, kwargs: Kwargs) -> Result<String, minijinja::Error> {
    let mut args = Vec::new();
    for name in kwargs.args() {
        let value: Value = kwargs.get(name)?;
        let arg = match value.as_i64() {
            Some(n) if value.kind() == minijinja::value::ValueKind::Number => Arg::from(n),
            _ => Arg::from(value.to_string()),
        };
        args.push((name, arg));
    }
    Ok(text_with(lang, id, &args))
}

fn environment(lang: Lang) -> Environment<'static> {
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
        "password_forgot.html",
        "password_reset.html",
        "password_reset_done.html",
        "freeze.html",
        "anti_phishing.html",
        "device_wait.html",
        "device_confirm.html",
        "devices.html",
        "passkeys.html",
        "consent.html",
        "oidc_logout.html",
        "oidc_return.html",
        "applications.html",
    );
    env.add_filter("when", |unix_s: i64| time_tag(unix_s));
    env.add_function("t", move |id: &str, kwargs: Kwargs| translate(lang, id, kwargs));
    env
}

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
    /// A use case's refusal in `lang`, on its field or for the whole form.
    pub fn of(lang: Lang, e: AppError) -> Self {
        texts::refusal(lang, e)
    }

    /// The catalogue text `id` in `lang` next to the field `name`.
    pub fn text(lang: Lang, name: &str, id: &str) -> Self {
        Errors::field(name, text(lang, id))
    }

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

/// Renders `name` with the common context (CSRF token, whether signed in,
/// whether the outbox exists) merged under the page's own values.
pub fn render(page: &Page, name: &str, ctx: Value) -> Response {
    render_status(page, StatusCode::OK, name, ctx)
}

pub fn render_status(page: &Page, status: StatusCode, name: &str, ctx: Value) -> Response {
    let common = context! {
        lang => page.lang.code(),
        csrf => page.csrf,
        signed_in => page.session.is_some(),
        outbox => page.state.outbox_enabled,
        recovery_case => page.case.is_some(),
    };
    let merged = context! { ..ctx, ..common };
    match env(page.lang).get_template(name).and_then(|t| t.render(merged)) {
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

/// A refusal outside any form (e.g. the database is down), titled for
/// what the person can do about it.
pub fn failure(page: &Page, e: AppError) -> Response {
    let (status, said) = texts::failure(page.lang, e);
    message(page, status, &text(page.lang, failure_title(status)), &said)
}

/// The title of a refusal page: what the person can do about it.
fn failure_title(status: StatusCode) -> &'static str {
    match status {
        StatusCode::TOO_MANY_REQUESTS => "failure-title-too-many",
        StatusCode::SERVICE_UNAVAILABLE => "failure-title-busy",
        StatusCode::NOT_FOUND => "failure-title-not-found",
        StatusCode::CONFLICT => "failure-title-conflict",
        StatusCode::FORBIDDEN => "failure-title-forbidden",
        StatusCode::UNAUTHORIZED => "failure-title-unauthorized",
        s if s.is_client_error() => "failure-title-refused",
        _ => "page-failure-title",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_in_every_language() {
        for lang in Lang::ALL {
            for name in env(*lang).templates().map(|(name, _)| name) {
                env(*lang).get_template(name).unwrap();
            }
        }
    }

    #[test]
    fn templates_speak_their_language() {
        let render = |lang: Lang, source: &str| {
            let mut env = env(lang).clone();
            env.add_template_owned("probe.html", source.to_owned()).unwrap();
            env.get_template("probe.html").unwrap().render(context! {}).unwrap()
        };
        assert_eq!(render(Lang::Fr, r#"{{ t("login-title") }}"#), "Se connecter");
        assert_eq!(render(Lang::En, r#"{{ t("login-title") }}"#), "Sign in");
        // Numbers pick the plural form; text is escaped like any value.
        assert!(render(Lang::En, r#"{{ t("confirm-lead", minutes=1) }}"#).ends_with("valid for 1 minute."));
        assert!(render(Lang::En, r#"{{ t("confirm-lead", minutes=30) }}"#).ends_with("valid for 30 minutes."));
        let escaped = render(Lang::En, r#"{{ t("outbox-empty-to", to="<b>") }}"#);
        assert!(escaped.contains("&lt;b&gt;"), "{escaped}");
        // Macros imported from another template use the page's language.
        let field = render(Lang::Fr, r#"{% import "macros.html" as m %}{{ m.code_field({"fields": {}}) }}"#);
        assert!(field.contains("Code à 6 chiffres"), "{field}");
    }

    #[test]
    fn refusals_land_on_their_field() {
        assert!(Errors::of(Lang::En, AppError::InvalidCode).fields.contains_key("code"));
        assert!(Errors::of(Lang::En, AppError::InvalidCredentials).form.is_some());
        assert_eq!(human_time(0), "1970-01-01 00:00 UTC");
        let tag = time_tag(86_400 + 3_660).to_string();
        assert_eq!(
            tag,
            r#"<time datetime="1970-01-02T01:01:00Z" title="1970-01-02 01:01 UTC">1970-01-02 01:01 UTC</time>"#
        );
        // The filter the templates use renders the same element, unescaped.
        let out = env(Lang::En)
            .template_from_named_str("t.html", "{{ t|when }}")
            .unwrap()
            .render(context! { t => 0 })
            .unwrap();
        assert!(out.starts_with(r#"<time datetime="1970-01-01T00:00:00Z""#), "{out}");
    }

    #[test]
    fn a_refusal_page_is_titled_for_what_the_person_can_do() {
        let title = |e: AppError| text(Lang::En, failure_title(crate::error::ApiError::from(e).status));
        assert_eq!(title(AppError::TooManyAttempts { retry_after_s: 5 }), "Too many attempts");
        assert_eq!(title(AppError::Conflict("x".into())), "This cannot be done now");
        assert_eq!(title(AppError::Internal("x".into())), "Something went wrong on our side");
    }
}
