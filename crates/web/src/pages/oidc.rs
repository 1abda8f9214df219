//! The OpenID Connect provider in the browser: the authorization request
//! (`/oauth2/authorize`), which sends the person to sign in, to "Confirm
//! it's you" or to the consent page and back (`/account/authorize`); the
//! application's sign-out (`/oauth2/logout`, asked before it acts); and the
//! account's applications, each of which can be cut off.

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};
use twostep_app::oidc::{AuthorizeOutcome, AuthorizeParams, EndSession};

use super::auth::urlencode;
use super::render::{failure, message, render_status, time_tag};
use super::{Page, PageForm, SESSION_COOKIE, SignedIn, see_other, with_cookies};

/// Where the person returns to after the sign-in or the proof.
fn continue_path(request_id: &str) -> String {
    format!("/account/authorize?request={request_id}")
}

/// Back to the application (an address it registered, exactly). After a
/// form (the sign-in, the proof, the consent) the browser's CSP allows
/// form submissions to lead to this site only, redirects included, so the
/// way back is a page that moves on by itself, with a link.
fn back_to_app(page: &Page, to: &str) -> Response {
    render_status(page, StatusCode::OK, "oidc_return.html", context! { to => to })
}

fn follow(page: &Page, outcome: AuthorizeOutcome) -> Response {
    follow_from(page, outcome, true)
}

fn follow_from(page: &Page, outcome: AuthorizeOutcome, after_form: bool) -> Response {
    match outcome {
        AuthorizeOutcome::Redirect(to) if after_form => back_to_app(page, &to),
        AuthorizeOutcome::Redirect(to) => see_other(&to),
        AuthorizeOutcome::SignIn { request_id, .. } => {
            see_other(&format!("/login?next={}", urlencode(&continue_path(&request_id))))
        }
        AuthorizeOutcome::Proof { request_id } => {
            see_other(&format!("/account/confirm?next={}", urlencode(&continue_path(&request_id))))
        }
        AuthorizeOutcome::Consent { request_id, client_name, scopes } => {
            let scopes: Vec<String> =
                scopes.iter().map(|s| page.t(&format!("oidc-scope-{}", s.replace('_', "-")))).collect();
            render_status(
                page,
                StatusCode::OK,
                "consent.html",
                context! { request_id => request_id, client_name => client_name, scopes => scopes },
            )
        }
        AuthorizeOutcome::Invalid(why) => message(
            page,
            StatusCode::BAD_REQUEST,
            &page.t("oidc-invalid-title"),
            &page.t_with("oidc-invalid-text", &[("why", why.as_str().into())]),
        ),
    }
}

pub async fn authorize(page: Page, Query(params): Query<AuthorizeParams>) -> Response {
    match page.app().authorize(&params, page.session.as_deref(), &page.meta).await {
        // The application's own link: a redirect straight back is allowed.
        Ok(outcome) => follow_from(&page, outcome, false),
        Err(e) => failure(&page, e),
    }
}

#[derive(Deserialize)]
pub struct ContinueQuery {
    #[serde(default)]
    request: String,
}

pub async fn continue_request(s: SignedIn, Query(q): Query<ContinueQuery>) -> Response {
    match s.page.app().continue_authorization(&q.request, Some(&s.token)).await {
        Ok(outcome) => follow(&s.page, outcome),
        Err(e) => failure(&s.page, e),
    }
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    request: String,
    #[serde(default)]
    decision: String,
}

pub async fn consent(s: SignedIn, PageForm(f): PageForm<ConsentForm>) -> Response {
    let allow = f.decision == "allow";
    match s.page.app().consent(&f.request, &s.token, allow, &s.page.meta).await {
        Ok(outcome) => follow(&s.page, outcome),
        Err(e) => failure(&s.page, e),
    }
}

// ---- the application's sign-out ---------------------------------------------

pub async fn logout_page(page: Page, Query(q): Query<EndSession>) -> Response {
    match page.app().end_session_target(&q).await {
        Ok(target) => render_status(
            &page,
            StatusCode::OK,
            "oidc_logout.html",
            context! {
                client_name => target.client_name,
                signed_in => page.session.is_some(),
                id_token_hint => q.id_token_hint,
                client_id => q.client_id,
                post_logout_redirect_uri => q.post_logout_redirect_uri,
                state => q.state,
            },
        ),
        Err(e) => failure(&page, e),
    }
}

pub async fn logout(page: Page, PageForm(q): PageForm<EndSession>) -> Response {
    let target = match page.app().end_session_target(&q).await {
        Ok(t) => t,
        Err(e) => return failure(&page, e),
    };
    if let Some(token) = page.session.as_deref()
        && let Err(e) = page.app().logout(token, &page.meta).await
        && !matches!(e, twostep_app::AppError::Unauthorized)
    {
        return failure(&page, e);
    }
    let response = match target.redirect {
        Some(to) => back_to_app(&page, &to),
        None => see_other("/login?signed_out=1"),
    };
    with_cookies(response, &[page.clear(SESSION_COOKIE)])
}

// ---- the account's applications -------------------------------------------------

#[derive(Serialize)]
struct AppRow {
    id: String,
    name: String,
    signed_in: bool,
    last_used: minijinja::Value,
}

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn applications(s: SignedIn, Query(q): Query<DoneQuery>) -> Response {
    let apps = match s.page.app().account_apps(&s.account_id).await {
        Ok(a) => a,
        Err(e) => return failure(&s.page, e),
    };
    let rows: Vec<AppRow> = apps
        .into_iter()
        .map(|a| AppRow {
            id: a.client_id,
            name: a.name,
            signed_in: a.live_grants > 0,
            last_used: time_tag(a.last_used_at),
        })
        .collect();
    let notice = (q.done.as_deref() == Some("revoked")).then_some("oidc-apps-revoked");
    render_status(&s.page, StatusCode::OK, "applications.html", context! { apps => rows, notice => notice })
}

pub async fn revoke(
    s: SignedIn,
    Path(client_id): Path<String>,
    PageForm(_): PageForm<serde::de::IgnoredAny>,
) -> Response {
    match s.page.app().revoke_app(&s.account_id, &client_id, &s.page.meta).await {
        Ok(()) => see_other("/account/applications?done=revoked"),
        Err(e) => failure(&s.page, e),
    }
}
