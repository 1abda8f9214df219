//! "Confirm it's you": the page that puts a session in sudo mode before a
//! sensitive change (a factor, the password, the questions, a withdrawal).
//! A change refused with `step_up_required` sends the person here, and a
//! proof sends them back to where they were.

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use twostep_app::AppError;
use twostep_app::ports::Channel;
use twostep_domain::sudo::ProofFactor;

use super::render::{Errors, failure, render_status, time_tag};
use super::{PageForm, SignedIn, see_other};

/// Where to go after the proof: a page of the signed-in account only, so
/// the form cannot be used to send someone elsewhere.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/account") && !n.contains("//") && !n.contains('\\') => n.to_owned(),
        _ => "/account".to_owned(),
    }
}

/// The answer to a change refused for want of a recent proof.
pub fn confirm_first(next: &str) -> Response {
    let next: String = url_encode(next);
    see_other(&format!("/account/confirm?next={next}"))
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

async fn show(
    s: &SignedIn,
    status: StatusCode,
    next: &str,
    errors: Errors,
    sent: Option<minijinja::Value>,
) -> Response {
    let app = s.page.app();
    let account = match app.account(&s.account_id).await {
        Ok(a) => a,
        Err(e) => return failure(&s.page, e),
    };
    let factors = match app.account_factors(&account).await {
        Ok(f) => f,
        Err(e) => return failure(&s.page, e),
    };
    let methods: Vec<&str> = factors.accepted().iter().map(|f| f.as_str()).collect();
    let passkeys = app.passkeys_available();
    let ctx = context! { methods => methods, passkeys => passkeys, next => next, errors => errors, sent => sent };
    render_status(&s.page, status, "sudo.html", ctx)
}

pub async fn page(s: SignedIn, Query(q): Query<NextQuery>) -> Response {
    let next = safe_next(q.next.as_deref());
    show(&s, StatusCode::OK, &next, Errors::default(), None).await
}

#[derive(Deserialize)]
pub struct ProofForm {
    method: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
    #[serde(flatten)]
    passkey: super::passkeys::AnswerForm,
    next: Option<String>,
}

pub async fn prove(s: SignedIn, PageForm(f): PageForm<ProofForm>) -> Response {
    let next = safe_next(f.next.as_deref());
    let Some(factor) = ProofFactor::parse(&f.method) else {
        return show(
            &s,
            StatusCode::BAD_REQUEST,
            &next,
            Errors::text(s.page.lang, "method", "sudo-choose-method"),
            None,
        )
        .await;
    };
    let secret = match factor {
        ProofFactor::Password => f.password.clone(),
        ProofFactor::Passkey => match f.passkey.answer() {
            Ok(answer) => answer.to_secret(),
            Err(e) => return show(&s, StatusCode::BAD_REQUEST, &next, s.page.errors(e), None).await,
        },
        _ => f.code.clone(),
    };
    match s.page.app().prove_factor(&s.account_id, &s.token, factor, secret.trim(), &s.page.meta).await {
        // Reached from an application's request for a step-up: the proof
        // is that request's (see `oidc`).
        Ok(_) => match s.page.app().prove_request(&next, &s.token, factor).await {
            Ok(()) => see_other(&next),
            Err(e) => failure(&s.page, e),
        },
        Err(AppError::InvalidCredentials) => {
            let errors = Errors::text(s.page.lang, "password", "sudo-wrong-password");
            show(&s, StatusCode::BAD_REQUEST, &next, errors, None).await
        }
        // Said beside the passkey's own button, not under a code field.
        Err(AppError::InvalidCode) if factor == ProofFactor::Passkey => {
            let errors = Errors::text(s.page.lang, "credential", "passkey-refused");
            show(&s, StatusCode::BAD_REQUEST, &next, errors, None).await
        }
        Err(e) => show(&s, StatusCode::BAD_REQUEST, &next, s.page.errors(e), None).await,
    }
}

#[derive(Deserialize)]
pub struct SendForm {
    channel: String,
    next: Option<String>,
}

pub async fn send(s: SignedIn, PageForm(f): PageForm<SendForm>) -> Response {
    let next = safe_next(f.next.as_deref());
    let Some(channel) = Channel::parse(&f.channel) else {
        return show(
            &s,
            StatusCode::BAD_REQUEST,
            &next,
            Errors::text(s.page.lang, "channel", "sudo-choose-channel"),
            None,
        )
        .await;
    };
    match s.page.app().send_step_up_code(&s.account_id, channel, &s.page.meta).await {
        Ok(c) => {
            let sent =
                context! { channel => c.channel.as_str(), sent_to => c.sent_to, expires => time_tag(c.expires_at) };
            show(&s, StatusCode::OK, &next, Errors::default(), Some(sent)).await
        }
        Err(e) => show(&s, StatusCode::BAD_REQUEST, &next, s.page.errors(e), None).await,
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_account_pages_are_returned_to() {
        assert_eq!(safe_next(Some("/account/phone")), "/account/phone");
        for bad in ["https://evil.example/account", "//evil.example", "/login", "/account//evil", "/account\\x"] {
            assert_eq!(safe_next(Some(bad)), "/account", "{bad}");
        }
        assert_eq!(safe_next(None), "/account");
    }
}
