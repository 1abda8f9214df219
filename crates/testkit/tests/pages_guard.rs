//! The pages' protections over plain HTTP, as a hostile client sees them:
//! every page carries the strict CSP, frame-ancestors, nosniff and no-store;
//! cookies are HttpOnly and SameSite=Lax (and Secure behind https); a form
//! without its CSRF token is refused before anything happens; no page has an
//! inline script or style. Also the weight of the sign-in page.

use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderMap, SET_COOKIE};
use reqwest::redirect::Policy;
use twostep_delivery::{BodyFormat, GenericHttpConfig, HttpProviderConfig};
use twostep_testkit::{Backend, TestServer, test_settings};

const PW: &str = "correct horse battery";

fn client() -> reqwest::Client {
    twostep_testkit::http_client();
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

fn assert_page_headers(path: &str, h: &HeaderMap) {
    let csp = h.get(CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("{path}: no CSP"));
    assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
    assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{path}: {csp}");
    assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff", "{path}");
    assert_eq!(h.get("x-frame-options").unwrap(), "DENY", "{path}");
    assert_eq!(h.get(CACHE_CONTROL).unwrap(), "no-store", "{path}");
    for c in h.get_all(SET_COOKIE) {
        let c = c.to_str().unwrap();
        assert!(c.contains("; HttpOnly") && c.contains("; SameSite=Lax"), "{path}: {c}");
    }
}

fn assert_no_inline_code(path: &str, html: &str) {
    for tag in html.split("<script").skip(1) {
        let open = tag.split('>').next().unwrap();
        assert!(open.contains(" src=\"/assets/"), "{path}: inline or foreign script: <script{open}>");
    }
    assert!(!html.contains(" style=") && !html.contains("<style"), "{path}: inline style");
    assert!(!html.contains(" on") || !regex_like_handler(html), "{path}: inline event handler");
    let html = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!html.contains("http://") && !html.contains("https://"), "{path}: a link to another origin");
}

/// ` onclick=`, ` onload=`, … (an attribute starting with "on").
fn regex_like_handler(html: &str) -> bool {
    html.match_indices(" on").any(|(i, _)| {
        let rest = &html[i + 3..];
        let name: String = rest.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
        !name.is_empty() && rest[name.len()..].starts_with('=')
    })
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
    html[at..].split('"').next().unwrap().to_owned()
}

fn cookies_of(h: &HeaderMap) -> Vec<String> {
    h.get_all(SET_COOKIE).iter().map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn pages_have_strict_headers_and_forms_need_their_csrf_token() {
    let s = TestServer::start(Backend::Sqlite).await;
    let http = client();

    // Anonymous pages.
    let mut pre = String::new();
    for path in [
        "/login",
        "/signup",
        "/confirm",
        "/dev/outbox",
        "/login/second-step",
        "/account",
        "/",
        "/recovery/cancel",
        "/staff",
    ] {
        let r = http.get(format!("{}{path}", s.url)).send().await.unwrap();
        let status = r.status();
        assert!(status == StatusCode::OK || status.is_redirection(), "{path}: {status}");
        assert_page_headers(path, r.headers());
        let set = cookies_of(r.headers());
        assert!(set.iter().any(|c| c.starts_with("twostep_pre=")), "{path}: {set:?}");
        for c in r.headers().get_all(SET_COOKIE) {
            assert!(!c.to_str().unwrap().contains("Secure"), "not over plain http");
        }
        if path == "/signup" {
            pre = set.into_iter().find(|c| c.starts_with("twostep_pre=")).unwrap();
        }
        let html = r.text().await.unwrap();
        assert_no_inline_code(path, &html);
    }
    let r = http.get(format!("{}/account", s.url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers().get("location").unwrap(), "/login");

    // A form POST without the token, with a wrong one, or with the token of
    // another browser is refused; with its own token it goes through.
    let page = http.get(format!("{}/signup", s.url)).header("cookie", &pre).send().await.unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let post = |body: String, cookie: String| {
        http.post(format!("{}/signup", s.url))
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let form = "email=mallory%40example.com&password=correct+horse+battery";
    let r = post(form.to_owned(), pre.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_page_headers("POST /signup", r.headers());
    let r = post(format!("{form}&csrf=00{}", &csrf[2..]), pre.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let other = "twostep_pre=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned();
    let r = post(format!("{form}&csrf={csrf}"), other).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(s.store_outbox_len("mallory@example.com").await, 0, "nothing was sent for a refused form");
    // A refusal is shown next to the field that caused it, the input kept.
    let r = post(format!("email=mallory%40example.com&password=short&csrf={csrf}"), pre.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"aria-invalid="true" aria-describedby="h-password e-password""#), "{html}");
    assert!(html.contains(r#"<p class="error" id="e-password">"#), "{html}");
    assert!(html.contains(r#"value="mallory@example.com""#), "{html}");
    let r = post(format!("{form}&csrf={csrf}"), pre.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());

    // Signed-in pages: the cookie holds the API's session token.
    s.verified_account("carol@example.com", PW).await;
    let token = s.session("carol@example.com", PW).await;
    s.sudo_password(&token).await;
    let session = format!("twostep_session={token}");
    for path in [
        "/account",
        "/account/authenticator",
        "/account/phone",
        "/account/password",
        "/account/activity",
        "/account/withdraw",
        "/account/questions",
    ] {
        let r = http.get(format!("{}{path}", s.url)).header("cookie", &session).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_page_headers(path, r.headers());
        assert_no_inline_code(path, &r.text().await.unwrap());
    }
    // The staff console is for staff only; a recovery needs its case cookie.
    let r = http.get(format!("{}/staff", s.url)).header("cookie", &session).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_page_headers("/staff", r.headers());
    let r = http.get(format!("{}/recovery", s.url)).header("cookie", &session).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_page_headers("/recovery", r.headers());
    let page = http.get(format!("{}/account/authenticator", s.url)).header("cookie", &session).send().await.unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let start = |body: &'static str| {
        http.post(format!("{}/account/authenticator/start", s.url))
            .header("cookie", &session)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    };
    assert_eq!(start("").send().await.unwrap().status(), StatusCode::FORBIDDEN);
    // The token of the pre-session anchor does not work for a session.
    let r = start("")
        .body(format!(
            "csrf={}",
            csrf_of(
                &http
                    .get(format!("{}/login", s.url))
                    .header("cookie", &pre)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            )
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = start("").body(format!("csrf={csrf}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_page_headers("POST /account/authenticator/start", r.headers());
    let html = r.text().await.unwrap();
    assert!(
        html.contains("<svg") && html.contains("Write this key on paper"),
        "the setup page shows the QR code and the warning"
    );
    assert_no_inline_code("authenticator setup", &html);

    // Logging out through the page revokes the API session too.
    let r = http
        .post(format!("{}/logout", s.url))
        .header("cookie", &session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(cookies_of(r.headers()).contains(&"twostep_session=".to_owned()));
    assert_eq!(s.get("/api/v1/me", Some(&token)).await.0, StatusCode::UNAUTHORIZED);

    // The API keeps its own policy.
    let r = http.get(format!("{}/api/v1/captcha", s.url)).send().await.unwrap();
    assert_eq!(r.headers().get(CONTENT_SECURITY_POLICY).unwrap(), "default-src 'none'; frame-ancestors 'none'");
    s.stop().await;
}

#[tokio::test]
async fn cookies_are_secure_when_the_public_url_is_https() {
    let settings = twostep_app::Settings { public_url: "https://accounts.example.com".into(), ..test_settings() };
    let s = TestServer::start_with(Backend::Sqlite, settings).await;
    let r = client().get(format!("{}/login", s.url)).send().await.unwrap();
    let cookies: Vec<_> = r.headers().get_all(SET_COOKIE).iter().map(|c| c.to_str().unwrap().to_owned()).collect();
    assert!(!cookies.is_empty());
    assert!(cookies.iter().all(|c| c.ends_with("; Secure") && c.contains("HttpOnly")), "{cookies:?}");
    s.stop().await;
}

#[tokio::test]
async fn the_outbox_page_exists_only_with_the_outbox() {
    let s = TestServer::start(Backend::Sqlite).await;
    assert_eq!(client().get(format!("{}/dev/outbox", s.url)).send().await.unwrap().status(), StatusCode::OK);
    s.stop().await;
    let providers = twostep_delivery::Providers {
        sms: Some(HttpProviderConfig::Generic(GenericHttpConfig {
            url: "http://127.0.0.1:9/sms".into(),
            method: "POST".into(),
            auth_header: None,
            body_template: None,
            format: BodyFormat::Json,
        })),
        ..Default::default()
    };
    let s = TestServer::start_with_providers(Backend::Sqlite, test_settings(), providers).await;
    assert_eq!(client().get(format!("{}/dev/outbox", s.url)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    s.stop().await;
}

/// Bytes a first visit to the sign-in page downloads: the HTML and every
/// asset it loads (stylesheet, script, the puzzle's worker).
#[tokio::test]
async fn login_page_weight() {
    let s = TestServer::start(Backend::Sqlite).await;
    let http = client();
    let html = http.get(format!("{}/login", s.url)).send().await.unwrap().text().await.unwrap();
    let mut total = html.len();
    let mut parts = vec![("login HTML".to_owned(), html.len())];
    for asset in ["/assets/app.css?v=3", "/assets/app.js?v=3", "/assets/pow-worker.js"] {
        if asset != "/assets/pow-worker.js" {
            assert!(html.contains(asset), "the page loads {asset}");
        }
        let r = http.get(format!("{}{asset}", s.url)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{asset}");
        assert_eq!(r.headers().get("x-content-type-options").unwrap(), "nosniff");
        let n = r.bytes().await.unwrap().len();
        total += n;
        parts.push((asset.to_owned(), n));
    }
    println!("login page weight: {total} bytes uncompressed ({parts:?})");
    assert!(total < 40 * 1024, "the sign-in page should stay light: {total} bytes");
    s.stop().await;
}

trait OutboxLen {
    async fn store_outbox_len(&self, to: &str) -> usize;
}

impl OutboxLen for TestServer {
    async fn store_outbox_len(&self, to: &str) -> usize {
        self.settle().await;
        let (_, body) = self.get(&format!("/api/v1/dev/outbox?to={to}"), None).await;
        body["messages"].as_array().map(Vec::len).unwrap_or(0)
    }
}

/// The notice's link opens the cancel page with the code filled in; only
/// the form's POST (with its CSRF token) stops the recovery.
#[tokio::test]
async fn the_cancel_link_asks_before_it_cancels() {
    use twostep_testkit::recovery::{open_case, totp_owner};
    let s = TestServer::start(Backend::Sqlite).await;
    let owner = totp_owner(&s, "gina@example.com").await;
    let case = open_case(&s, &owner.email).await;
    let code = s.cancel_code_to(&owner.email).await.expect("a notice with a cancel code");
    let http = client();
    let r = http.get(format!("{}/recovery/cancel?code={code}", s.url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_page_headers("/recovery/cancel", r.headers());
    let pre = cookies_of(r.headers()).into_iter().find(|c| c.starts_with("twostep_pre=")).unwrap();
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!(r#"value="{code}""#)), "the code is filled in");
    let (_, view) = s.get(&case.path(""), Some(&case.token)).await;
    assert_eq!(view["status"], "open", "opening the link changes nothing");
    let r = http
        .post(format!("{}/recovery/cancel", s.url))
        .header("cookie", &pre)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={}&code={code}", csrf_of(&html)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Every recovery of your account under way is stopped"));
    let (_, view) = s.get(&case.path(""), Some(&case.token)).await;
    assert_eq!(view["status"], "cancelled");
    s.stop().await;
}
