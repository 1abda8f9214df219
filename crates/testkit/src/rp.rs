//! What an application needs to test twostep as its OpenID Connect provider:
//! an HTTP receiver on 127.0.0.1 that records what reaches it (the browser
//! coming back with a code, back-channel logout tokens, webhooks), and the
//! HTTP client the `openidconnect` crate calls (our reqwest, so the test
//! pulls in no second HTTP stack).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};

use crate::TestServer;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub query: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

type Log = Arc<Mutex<Vec<Received>>>;
/// The page `/callback` answers, when the application runs in the browser.
type Page = Arc<Mutex<Option<String>>>;

/// An application's endpoints: each request is recorded and answered 200;
/// `/callback` answers the page set with [`Receiver::serve_page`], if any.
pub struct Receiver {
    pub url: String,
    log: Log,
    page: Page,
    task: tokio::task::JoinHandle<()>,
}

async fn record(
    State((log, page)): State<(Log, Page)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let headers =
        headers.iter().filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned()))).collect();
    log.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or("").to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    match page.lock().unwrap().clone() {
        Some(html) if uri.path() == "/callback" => axum::response::Html(html).into_response(),
        _ => "received".into_response(),
    }
}

impl Receiver {
    pub async fn start() -> Self {
        let log: Log = Arc::default();
        let page: Page = Arc::default();
        let app = axum::Router::new().fallback(record).with_state((log.clone(), page.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, log, page, task }
    }

    /// From now on `/callback` answers this HTML page.
    pub fn serve_page(&self, html: String) {
        *self.page.lock().unwrap() = Some(html);
    }

    /// Everything received at `path`, oldest first.
    pub fn at(&self, path: &str) -> Vec<Received> {
        self.log.lock().unwrap().iter().filter(|r| r.path == path).cloned().collect()
    }

    /// Waits (up to 15 s) until `n` requests have reached `path`.
    pub async fn wait_for(&self, path: &str, n: usize) -> Vec<Received> {
        for _ in 0..1500 {
            let got = self.at(path);
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{n} requests never reached {path}: {:?}", self.at(path));
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The `openidconnect` crate's HTTP client, on reqwest.
pub async fn http(
    client: reqwest::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let mut req = client.request(parts.method, parts.uri.to_string()).body(body);
    for (name, value) in &parts.headers {
        req = req.header(name, value);
    }
    let response = req.send().await?;
    let mut builder = axum::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = response.bytes().await?.to_vec();
    Ok(builder.body(body).expect("a response"))
}

/// A registered application: its id, and its secret when confidential.
pub struct Registered {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub webhook_secret: Option<String>,
}

/// Registers an application whose endpoints are the receiver's:
/// `/callback`, `/signed-out`, `/backchannel` and `/webhook`.
pub async fn register(s: &TestServer, rx: &Receiver, id: &str, public: bool, first_party: bool) -> Registered {
    let new = twostep_app::oidc::clients::NewClient {
        id: id.to_owned(),
        name: format!("Test app {id}"),
        redirect_uris: vec![format!("{}/callback", rx.url)],
        post_logout_redirect_uris: vec![format!("{}/signed-out", rx.url)],
        public,
        first_party,
        backchannel_logout_uri: Some(format!("{}/backchannel", rx.url)),
        webhook_url: Some(format!("{}/webhook", rx.url)),
    };
    let created = s.app.add_client(&new).await.expect("client registered");
    Registered {
        client_id: id.to_owned(),
        client_secret: created.client_secret,
        webhook_secret: created.webhook_secret,
    }
}

/// A PKCE pair (RFC 7636, S256).
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

pub fn pkce() -> Pkce {
    use sha2::Digest;
    let verifier = format!("{}{}", twostep_app::crypto::new_token(), twostep_app::crypto::new_token());
    let challenge = data_encoding::BASE64URL_NOPAD.encode(&sha2::Sha256::digest(verifier.as_bytes()));
    Pkce { verifier, challenge }
}

/// A request to a twostep page with the session cookie `token` (none:
/// signed out), redirects not followed: the status, the `Location` and
/// the body.
pub async fn page(s: &TestServer, path: &str, token: Option<&str>) -> (reqwest::StatusCode, Option<String>, String) {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut req = client.get(format!("{}{path}", s.url));
    if let Some(t) = token {
        req = req.header("cookie", format!("twostep_session={t}"));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let location = resp.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
    (status, location, resp.text().await.unwrap())
}

/// `/oauth2/authorize` with these parameters.
pub async fn authorize(
    s: &TestServer,
    token: Option<&str>,
    params: &[(&str, &str)],
) -> (reqwest::StatusCode, Option<String>, String) {
    let url = openidconnect::url::Url::parse_with_params(&format!("{}/oauth2/authorize", s.url), params).unwrap();
    let path = &url.as_str()[s.url.len()..];
    page(s, path, token).await
}

/// The query parameters of an address.
pub fn query_of(url: &str) -> HashMap<String, String> {
    openidconnect::url::Url::parse(url).unwrap().query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The address the "back to the application" page moves on to.
pub fn return_link(html: &str) -> String {
    let start = html.find("id=\"oidc-return\"").expect("the page back to the application");
    let head = &html[..start];
    let href = head.rfind("href=\"").expect("its link") + 6;
    let end = head[href..].find('"').unwrap();
    // The attribute as the HTML escapes it.
    head[href..href + end].replace("&#x2f;", "/").replace("&#x27;", "'").replace("&quot;", "\"").replace("&amp;", "&")
}

/// `POST /oauth2/token` as the registered client (HTTP Basic when it has
/// a secret): the status and the JSON answer.
pub async fn token(
    s: &TestServer,
    app: &Registered,
    form: &[(&str, &str)],
) -> (reqwest::StatusCode, serde_json::Value) {
    let mut form: Vec<(String, String)> = form.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let mut req = s.client().post(format!("{}/oauth2/token", s.url));
    match &app.client_secret {
        Some(secret) => req = req.basic_auth(&app.client_id, Some(secret)),
        None => form.push(("client_id".into(), app.client_id.clone())),
    }
    let resp = req.form(&form).send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

/// `POST /api/v1/actions/check` as the registered (confidential) client.
pub async fn check_action(
    s: &TestServer,
    app: &Registered,
    body: serde_json::Value,
) -> (reqwest::StatusCode, serde_json::Value) {
    let resp = s
        .client()
        .post(format!("{}/api/v1/actions/check", s.url))
        .basic_auth(&app.client_id, app.client_secret.as_ref())
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

/// The code and token exchange of one authorization request answered at
/// once (the session fresh enough); the token answer.
pub async fn sign_in(
    s: &TestServer,
    rx: &Receiver,
    app: &Registered,
    (session, key): (&str, &str),
    extra: &[(&str, &str)],
) -> serde_json::Value {
    let p = pkce();
    let redirect = format!("{}/callback", rx.url);
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", app.client_id.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("scope", "openid email"),
        ("state", "s1"),
        ("nonce", "n1"),
        ("code_challenge", p.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    params.extend_from_slice(extra);
    let (status, location, body) = authorize(s, Some(session), &params).await;
    let location = match (status, location) {
        (reqwest::StatusCode::SEE_OTHER, Some(l)) if l.starts_with(&redirect) => l,
        // A proof first: "Confirm it's you" by the authenticator, then back.
        (reqwest::StatusCode::SEE_OTHER, Some(l)) if l.starts_with("/account/confirm") => {
            let next = query_of(&format!("{}{l}", s.url)).get("next").cloned().unwrap_or_else(|| panic!("{l}"));
            let (status, _, html) = page(s, &next, Some(session)).await;
            assert_eq!(status, reqwest::StatusCode::SEE_OTHER, "no proof yet, no code: {html}");
            // A proof in the session for something else (sudo mode over the
            // API) is not this request's step-up.
            s.sudo_totp(session, key).await;
            let (status, _, html) = page(s, &next, Some(session)).await;
            assert_eq!(status, reqwest::StatusCode::SEE_OTHER, "a proof not made for the request counted: {html}");
            confirm_on_the_page(s, session, key, &l).await;
            let (status, _, html) = page(s, &next, Some(session)).await;
            assert_eq!(status, reqwest::StatusCode::OK, "{html}");
            return_link(&html)
        }
        other => panic!("authorize: {other:?}: {body}"),
    };
    let q = query_of(&location);
    assert!(q.contains_key("state"), "{location}");
    assert_eq!(q["state"], "s1");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", q["code"].as_str()),
        ("redirect_uri", redirect.as_str()),
        ("code_verifier", p.verifier.as_str()),
    ];
    let (status, answer) = token(s, app, &form).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{answer}");
    answer
}

/// "Confirm it's you" at `confirm` (the page's address, with its `next`)
/// by the authenticator of `key`, as the form sends it.
pub async fn confirm_on_the_page(s: &TestServer, session: &str, key: &str, confirm: &str) {
    let (status, _, html) = page(s, confirm, Some(session)).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{html}");
    let field = |name: &str| {
        let marker = format!("name=\"{name}\" value=\"");
        let at = html.find(&marker).unwrap_or_else(|| panic!("no {name} on the page")) + marker.len();
        html[at..at + html[at..].find('"').unwrap()].replace("&#x2f;", "/").replace("&amp;", "&")
    };
    s.clock.advance(30);
    let code = crate::oathtool(key, s.now());
    let form = [("csrf", field("csrf")), ("next", field("next")), ("method", "totp".to_owned()), ("code", code)];
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let resp = client
        .post(format!("{}/account/confirm", s.url))
        .header("cookie", format!("twostep_session={session}"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::SEE_OTHER, "{}", resp.text().await.unwrap_or_default());
}
