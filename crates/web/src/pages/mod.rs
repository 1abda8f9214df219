//! Server-rendered pages for people: sign-up, confirmation, sign-in with the
//! proof-of-work captcha, the second step, security settings, withdrawals,
//! the lost-second-factor recovery wizard, the staff console and the
//! development outbox. They call the same use cases on [`twostep_app::App`]
//! as the JSON API and hold no business rule of their own: this module owns
//! only HTTP for browsers (cookies, CSRF, forms, templates, headers).
//!
//! Templates (minijinja) and the CSS/JS assets are compiled into the binary;
//! nothing is fetched from anywhere else. Pages work without JavaScript
//! except the captcha, whose proof of work runs in a Web Worker.
//!
//! **Session.** The cookie `twostep_session` holds the very session token the
//! API issues (HttpOnly, SameSite=Lax, Secure when the public URL is https),
//! so a page session is an ordinary session: it expires, is revoked on
//! logout and on a password change by the same rules. Between the password
//! and the second step, `twostep_login` holds the login attempt id.
//!
//! **CSRF.** Every form carries `csrf` = HMAC-SHA256(K, anchor), where K is
//! derived from the master keyring (so every instance of a deployment agrees
//! without shared state) and the anchor is the session token when there is
//! one, otherwise a random pre-session cookie `twostep_pre`. This is the
//! signed double-submit pattern: a foreign site can neither read the
//! HttpOnly cookie nor compute the HMAC without K, the token needs no
//! storage, and it changes with each session, so a token seen before sign-in
//! is worthless after it. SameSite=Lax on the cookies is a second line. A
//! POST without a valid token is refused with 403 before any use case runs.
//!
//! **Headers.** Pages get their own strict policy — `script-src 'self'` with
//! no inline script, `frame-ancestors 'none'` — and `Cache-Control:
//! no-store` (they show codes, keys and account data); the API's header
//! middleware leaves headers that are already set alone.

mod account;
mod assets;
mod auth;
mod centre;
mod dev;
mod devices;
mod oidc;
mod passkeys;
mod recovery;
mod render;
mod staff;
mod sudo;
mod texts;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hmac::{KeyInit, Mac};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;
use twostep_app::{Lang, RequestMeta};

use crate::AppState;

pub use render::Errors;
pub use texts::audit_words;

const SESSION_COOKIE: &str = "twostep_session";
const LOGIN_COOKIE: &str = "twostep_login";
const PRE_COOKIE: &str = "twostep_pre";
const CASE_COOKIE: &str = "twostep_case";
/// Where to go after signing in (a path on this site), while a sign-in runs.
const NEXT_COOKIE: &str = "twostep_next";
/// The browser as a device of the accounts signed in from it: a token the
/// server issued, long-lived so that the browser stays known.
const DEVICE_COOKIE: &str = "twostep_device";
const DEVICE_COOKIE_MAX_AGE_S: i64 = 400 * 86_400;
/// The sign-in waiting for the e-mail's approval of this browser.
const DEVICE_LOGIN_COOKIE: &str = "twostep_device_login";

/// The device token a browser holds, for `RequestMeta`.
pub fn device_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, DEVICE_COOKIE).filter(|v| v.len() <= 256)
}

/// The policy of every page: own scripts and styles only, no inline script,
/// the worker from our own origin, the captcha refresh to our own API.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; worker-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Every page and asset route, with the page headers bound to `state`.
/// Merged into [`crate::app`].
pub fn routes(state: &AppState) -> Router<AppState> {
    let pages = Router::new()
        .route("/", get(auth::home))
        .route("/signup", get(auth::signup_page).post(auth::signup))
        .route("/confirm", get(auth::confirm_page).post(auth::confirm))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/login/second-step", get(auth::second_step_page))
        .route("/login/totp", post(auth::second_step_totp))
        .route("/login/code", post(auth::second_step_send))
        .route("/login/code/verify", post(auth::second_step_verify))
        .route("/login/passkey", post(passkeys::second_step))
        .route("/login/passkey/options", post(passkeys::second_step_options))
        .route("/passkey-sign-in", post(passkeys::sign_in))
        .route("/passkey-sign-in/options", post(passkeys::sign_in_options))
        .route("/password/reset/passkey-options", post(passkeys::reset_options))
        .route("/account/passkeys", get(passkeys::page).post(passkeys::add))
        .route("/account/passkeys/options", post(passkeys::registration_options))
        .route("/account/passkeys/{passkey_id}/rename", post(passkeys::rename))
        .route("/account/passkeys/{passkey_id}/remove", post(passkeys::remove))
        .route("/account/confirm/passkey-options", post(passkeys::sudo_options))
        .route("/logout", post(auth::logout))
        .route("/password/forgot", get(centre::forgot_page).post(centre::forgot))
        .route("/password/forgot/verify", post(centre::forgot_verify))
        .route("/password/reset", get(centre::reset_form).post(centre::reset))
        .route("/password/reset/code", post(centre::reset_send_code))
        .route("/password/reset/recovery", post(centre::reset_recovery))
        .route("/freeze", get(centre::freeze_page).post(centre::freeze))
        .route("/freeze/code", post(centre::freeze_code))
        .route("/account/anti-phishing", get(centre::phrase_form).post(centre::phrase_save))
        .route("/login/device", get(devices::wait).post(devices::finish))
        .route("/device-confirmation", get(devices::link_page).post(devices::answer))
        .route("/account/devices", get(devices::list))
        .route("/account/devices/setting", post(devices::setting))
        .route("/account/devices/{device_id}/sign-out", post(devices::sign_out))
        .route("/account/devices/{device_id}/forget", post(devices::forget))
        .route("/account", get(account::overview))
        .route("/account/authenticator", get(account::authenticator_page))
        .route("/account/authenticator/start", post(account::authenticator_start))
        .route("/account/authenticator/confirm", post(account::authenticator_confirm))
        .route("/account/authenticator/remove", post(account::authenticator_remove))
        .route("/account/authenticator/replace", post(account::authenticator_replace))
        .route("/account/phone", get(account::phone_page).post(account::phone_start))
        .route("/account/phone/confirm", post(account::phone_confirm))
        .route("/account/password", get(account::password_page).post(account::password_change))
        .route("/account/code", post(account::step_up_code))
        .route("/account/confirm", get(sudo::page).post(sudo::prove))
        .route("/account/confirm/send", post(sudo::send))
        .route("/account/activity", get(account::activity))
        .route("/account/questions", get(account::questions_page).post(account::questions_save))
        .route("/account/withdraw", get(account::withdraw_page).post(account::withdraw))
        .route("/login/recovery", post(recovery::start))
        .route("/login/recovery/open", post(recovery::open))
        .route("/recovery", get(recovery::wizard))
        .route("/recovery/items", post(recovery::items))
        .route("/recovery/codes", post(recovery::send_codes))
        .route("/recovery/codes/verify", post(recovery::verify_codes))
        .route("/recovery/answers", post(recovery::answers))
        .route(
            "/recovery/identity",
            post(recovery::identity).layer(DefaultBodyLimit::max(crate::api::upload::UPLOAD_BODY_LIMIT)),
        )
        .route("/recovery/submit", post(recovery::submit))
        .route("/recovery/withdraw", post(recovery::withdraw))
        .route("/recovery/cancel", get(recovery::cancel_page).post(recovery::cancel))
        .route("/oauth2/authorize", get(oidc::authorize))
        .route("/oauth2/logout", get(oidc::logout_page).post(oidc::logout))
        .route("/account/authorize", get(oidc::continue_request).post(oidc::consent))
        .route("/account/applications", get(oidc::applications))
        .route("/account/applications/{client_id}/revoke", post(oidc::revoke))
        .route("/staff", get(staff::queue))
        .route("/staff/audit", get(staff::audit))
        .route("/staff/cases/{case_id}", get(staff::case))
        .route("/staff/cases/{case_id}/documents/{slot}", get(staff::document))
        .route("/staff/cases/{case_id}/approve", post(staff::approve))
        .route("/staff/cases/{case_id}/reject", post(staff::reject));
    let pages = if state.outbox_enabled { pages.route("/dev/outbox", get(dev::outbox)) } else { pages };
    pages.layer(middleware::from_fn_with_state(state.clone(), page_headers)).merge(assets::router())
}

/// The pre-session anchor of a request, put in its extensions by
/// [`page_headers`] (a new one when the browser had none).
#[derive(Clone)]
struct PreToken(String);

async fn page_headers(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let existing = cookie(request.headers(), PRE_COOKIE)
        .filter(|v| v.len() == 43 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    let fresh = existing.is_none();
    let pre = existing.unwrap_or_else(twostep_app::crypto::new_token);
    request.extensions_mut().insert(PreToken(pre.clone()));
    let secure = secure_cookies(&state);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if fresh {
        append_cookie(headers, &set_cookie(PRE_COOKIE, &pre, None, secure));
    }
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

// ---- cookies ----------------------------------------------------------------

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn secure_cookies(state: &AppState) -> bool {
    state.app.settings.public_url.starts_with("https://")
}

/// A `Set-Cookie` value: HttpOnly and SameSite=Lax always, Secure over TLS.
/// `max_age` None is a browser-session cookie; Some(0) deletes it.
fn set_cookie(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={}", age.max(0)));
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

fn append_cookie(headers: &mut HeaderMap, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.append(header::SET_COOKIE, v);
    }
}

/// Adds cookies to a response.
fn with_cookies(mut response: Response, cookies: &[String]) -> Response {
    for c in cookies {
        append_cookie(response.headers_mut(), c);
    }
    response
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// `next` if it is a path on this site to return to after signing in, and
/// None for anything that could lead elsewhere: an absolute URL
/// (`https://…`), a scheme-relative one (`//host`, `/\host`), or characters
/// outside a plain path and query. Never an open redirect.
pub(crate) fn safe_next(next: &str) -> Option<&str> {
    let b = next.as_bytes();
    let plain = |c: &u8| c.is_ascii_alphanumeric() || b"/-._~?=&%+".contains(c);
    let ok = next.len() <= 512
        && b.first() == Some(&b'/')
        && !matches!(b.get(1), Some(b'/') | Some(b'\\'))
        && b.iter().all(plain)
        && !next.starts_with("/login")
        && !next.starts_with("/logout");
    ok.then_some(next)
}

// ---- CSRF -------------------------------------------------------------------

fn csrf_token(state: &AppState, anchor: &str) -> String {
    type HmacSha256 = hmac::Hmac<sha2::Sha256>;
    let mut derive = <HmacSha256 as KeyInit>::new_from_slice(state.app.keyring.code_pepper()).expect("any key length");
    derive.update(b"twostep pages csrf v1");
    let key = derive.finalize().into_bytes();
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&key).expect("any key length");
    mac.update(anchor.as_bytes());
    twostep_app::crypto::hex(&mac.finalize().into_bytes())
}

/// Whether `sent` is this page's CSRF token (constant time).
fn csrf_ok(page: &Page, sent: &str) -> bool {
    !sent.is_empty() && bool::from(sent.as_bytes().ct_eq(page.csrf.as_bytes()))
}

/// The answer to a form without a valid CSRF token.
fn refused(page: &Page) -> Response {
    render::message(page, StatusCode::FORBIDDEN, &page.t("page-form-expired-title"), &page.t("page-form-expired-text"))
}

// ---- the request as a page sees it ------------------------------------------

/// What every page handler needs: who is asking, the session cookie (not yet
/// checked), the CSRF token for its forms, the cookie policy and the
/// language to speak.
pub struct Page {
    pub state: AppState,
    pub meta: RequestMeta,
    /// The request's `Accept-Language` among the languages we have, else
    /// the server's `--language`.
    pub lang: Lang,
    pub session: Option<String>,
    pub login_id: Option<String>,
    /// A sign-in waiting for the e-mail's approval of this browser.
    pub device_login: Option<String>,
    pub case: Option<String>,
    /// The forgotten-password reset under way in this browser.
    pub reset: Option<String>,
    /// Where to return after signing in, checked by [`safe_next`].
    pub next: Option<String>,
    pub csrf: String,
    pub secure: bool,
}

impl Page {
    fn from_parts(parts: &Parts, state: &AppState) -> Self {
        let session = cookie(&parts.headers, SESSION_COOKIE);
        let pre = parts.extensions.get::<PreToken>().map(|p| p.0.clone()).unwrap_or_default();
        let anchor = session.clone().unwrap_or(pre);
        let meta = crate::extract::request_meta(parts, &state.trusted_proxies);
        Page {
            state: state.clone(),
            lang: meta.language.unwrap_or(state.app.settings.language),
            meta,
            session,
            login_id: cookie(&parts.headers, LOGIN_COOKIE),
            device_login: cookie(&parts.headers, DEVICE_LOGIN_COOKIE).filter(|v| v.len() <= 64),
            case: cookie(&parts.headers, CASE_COOKIE),
            reset: cookie(&parts.headers, centre::RESET_COOKIE),
            next: cookie(&parts.headers, NEXT_COOKIE).filter(|n| safe_next(n).is_some()),
            csrf: csrf_token(state, &anchor),
            secure: secure_cookies(state),
        }
    }

    pub fn app(&self) -> &twostep_app::App {
        &self.state.app
    }

    /// The catalogue text `id` in the page's language.
    pub fn t(&self, id: &str) -> String {
        twostep_app::i18n::text(self.lang, id)
    }

    /// The catalogue text `id` in the page's language, placeables filled.
    pub fn t_with(&self, id: &str, args: &[(&str, twostep_app::i18n::Arg<'_>)]) -> String {
        twostep_app::i18n::text_with(self.lang, id, args)
    }

    /// A use case's refusal in the page's language.
    pub fn errors(&self, e: twostep_app::AppError) -> Errors {
        Errors::of(self.lang, e)
    }

    fn session_cookie(&self, token: &str, expires_at: i64) -> String {
        set_cookie(SESSION_COOKIE, token, Some(expires_at - self.app().now()), self.secure)
    }

    fn device_cookie(&self, token: &str) -> String {
        set_cookie(DEVICE_COOKIE, token, Some(DEVICE_COOKIE_MAX_AGE_S), self.secure)
    }

    fn clear(&self, name: &str) -> String {
        set_cookie(name, "", Some(0), self.secure)
    }
}

impl FromRequestParts<AppState> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Page::from_parts(parts, state))
    }
}

/// A page for a signed-in account; anyone else is sent to the sign-in page.
pub struct SignedIn {
    pub page: Page,
    pub account_id: String,
    pub token: String,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let page = Page::from_parts(parts, state);
        // A page asked for by its address comes back after the sign-in
        // (the staff console, say); the account overview is where a
        // sign-in lands anyway.
        let here = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let next = (parts.method == axum::http::Method::GET && parts.uri.path() != "/account")
            .then(|| safe_next(here))
            .flatten()
            .map(|n| format!("next={}", auth::urlencode(n)));
        let Some(token) = page.session.clone() else {
            return Err(see_other(&next.map_or("/login".to_owned(), |n| format!("/login?{n}"))));
        };
        match state.app.authenticate(&token).await {
            Ok(account_id) => Ok(SignedIn { page, account_id, token }),
            Err(twostep_app::AppError::Unauthorized) => {
                let to = next.map_or("/login?expired=1".to_owned(), |n| format!("/login?expired=1&{n}"));
                Err(with_cookies(see_other(&to), &[page.clear(SESSION_COOKIE)]))
            }
            Err(e) => Err(render::failure(&page, e)),
        }
    }
}

/// A urlencoded form whose `csrf` field was checked against the request's
/// cookies before the handler sees it.
pub struct PageForm<T>(pub T);

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

impl<T: DeserializeOwned> FromRequest<AppState> for PageForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let page = Page::from_parts(&parts, state);
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state).await.map_err(|_| {
            render::message(
                &page,
                StatusCode::PAYLOAD_TOO_LARGE,
                &page.t("page-too-large-title"),
                &page.t("page-too-large-text"),
            )
        })?;
        let sent = serde_urlencoded::from_bytes::<CsrfField>(&bytes).map(|f| f.csrf).unwrap_or_default();
        if !is_form || !csrf_ok(&page, &sent) {
            return Err(refused(&page));
        }
        serde_urlencoded::from_bytes::<T>(&bytes).map(PageForm).map_err(|_| {
            render::message(
                &page,
                StatusCode::BAD_REQUEST,
                &page.t("page-incomplete-title"),
                &page.t("page-incomplete-text"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_http_only_lax_and_secure_over_tls() {
        let c = set_cookie("twostep_session", "abc", Some(60), true);
        assert_eq!(c, "twostep_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure");
        assert!(!set_cookie("a", "b", None, false).contains("Secure"));
    }

    #[test]
    fn next_is_a_path_on_this_site_or_nothing() {
        for ok in ["/staff", "/staff/cases/ab12?done=approved", "/account/withdraw"] {
            assert_eq!(safe_next(ok), Some(ok));
        }
        for bad in [
            "https://evil.example/staff",
            "//evil.example/staff",
            "/\\evil.example",
            "evil.example",
            "",
            "/staff\r\nSet-Cookie: x=1",
            "/staff;x",
            "javascript:alert(1)",
            "/login?next=/staff",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cookie_header_is_parsed_by_name() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("x=1; twostep_session=tok; y=2"));
        assert_eq!(cookie(&h, "twostep_session").as_deref(), Some("tok"));
        assert_eq!(cookie(&h, "twostep_login"), None);
    }
}
