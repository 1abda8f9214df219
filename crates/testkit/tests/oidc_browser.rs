//! twostep as the OpenID Connect provider of an application, with the
//! application built on the `openidconnect` crate (discovery, code flow
//! with PKCE, ID token checked against the JWKS, userinfo, refresh) and the
//! person in headless Chromium: signing in with password and authenticator,
//! a step-up with `max_age=0` that asks for the authenticator again, a
//! refresh token reused after rotation that ends the whole family, and the
//! application's sign-out with its back-channel logout. On SQLite and
//! PostgreSQL. And an application that runs in the browser (a public
//! client): its page exchanges the code and reads userinfo from its own
//! origin, through CORS.

mod browser;
mod common;

use std::time::Duration;

use browser::Browser;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl,
    RequestTokenError, Scope, TokenResponse, url::Url,
};
use serde_json::Value;
use twostep_testkit::recovery::{Owner, totp_owner};
use twostep_testkit::rp::{self, Receiver};
use twostep_testkit::{Backend, TestServer, oathtool, test_settings};

async fn provider(backend: Backend) -> TestServer {
    let mut settings = test_settings();
    settings.public_url = "http://127.0.0.1:{port}".into();
    TestServer::start_with(backend, settings).await
}

/// The application's client, as discovery made it.
type Rp = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The HTTP client the relying party calls with (redirects not followed).
fn http_client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The relying party of `app`: discovery (and the JWKS), its redirect URI
/// at the receiver.
async fn relying_party(s: &TestServer, rx: &Receiver, app: &rp::Registered) -> Rp {
    let issuer = openidconnect::IssuerUrl::new(s.url.clone()).unwrap();
    let http = |req| rp::http(http_client(), req);
    let metadata = CoreProviderMetadata::discover_async(issuer, &http).await.expect("discovery and JWKS");
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(app.client_id.clone()),
        app.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(format!("{}/callback", rx.url)).unwrap())
}

/// An authorization request for `openid email` with PKCE: its address,
/// state, nonce and verifier.
fn email_request(client: &Rp) -> (Url, CsrfToken, Nonce, openidconnect::PkceCodeVerifier) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    (url, state, nonce, verifier)
}

/// The claims of a JWT, read after the library checked its signature.
fn payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&data_encoding::BASE64URL_NOPAD.decode(part.as_bytes()).unwrap()).unwrap()
}

fn query(url: &str) -> std::collections::HashMap<String, String> {
    Url::parse(url).unwrap().query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The password and authenticator pages, from wherever the application sent the browser.
async fn sign_in_here(s: &TestServer, b: &Browser, owner: &Owner) {
    b.wait_path("/login").await;
    b.fill("#f-email", &owner.email).await;
    b.fill("#f-password", twostep_testkit::recovery::PW).await;
    b.click("#login-submit").await;
    b.wait_path("/login/second-step").await;
    s.clock.advance(30);
    b.fill("#f-code", &oathtool(&owner.backup_key, s.now())).await;
    b.click("button.primary").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_signs_in_with_pkce_steps_up_with_max_age_zero_and_a_reused_refresh_token_ends_the_family() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = provider(backend).await;
        let rx = Receiver::start().await;
        let app = rp::register(&s, &rx, "wallet", false, true).await;
        let owner = totp_owner(&s, "rp@example.com").await;
        let http = |req| rp::http(http_client(), req);
        let client = relying_party(&s, &rx, &app).await;
        let b = Browser::start(&s.url).await;

        // The application sends the browser to twostep, which says who asks.
        let (url, state, _, verifier) = email_request(&client);
        b.goto_url(url.as_str()).await;
        b.wait_path("/login").await;
        assert!(b.text("#oidc-app").await.contains("Test app wallet"), "{backend:?}");
        b.check_accessibility("oidc-login").await;
        sign_in_here(&s, &b, &owner).await;
        b.wait_path("/callback").await;
        let back = query(&b.url().await);
        assert_eq!(back.get("state"), Some(state.secret()), "{backend:?}");
        let code = AuthorizationCode::new(back["code"].clone());

        // A wrong verifier is refused, and burns the code.
        let wrong = client
            .exchange_code(code.clone())
            .unwrap()
            .set_pkce_verifier(openidconnect::PkceCodeVerifier::new("x".repeat(43)))
            .request_async(&http)
            .await;
        assert!(matches!(wrong, Err(RequestTokenError::ServerResponse(_))), "{backend:?}: {wrong:?}");

        // Again, with the right verifier, from a new request a little later.
        s.clock.advance(5);
        drop(verifier);
        let (url, _, nonce, verifier2) = email_request(&client);
        b.goto_url(url.as_str()).await;
        // Signed in already, and no freshness asked: straight back.
        b.wait_path("/callback").await;
        let code = AuthorizationCode::new(query(&b.url().await)["code"].clone());
        let tokens = client
            .exchange_code(code)
            .unwrap()
            .set_pkce_verifier(verifier2)
            .request_async(&http)
            .await
            .expect("the code exchanged");
        let id_token = tokens.id_token().expect("an ID token");
        let claims = id_token.claims(&client.id_token_verifier(), &nonce).expect("verified against the JWKS");
        assert_eq!(claims.subject().as_str(), owner.account_id);
        assert_eq!(claims.email().map(|e| e.as_str()), Some("rp@example.com"));
        assert_eq!(claims.email_verified(), Some(true));
        let amr: Vec<String> = claims.auth_method_refs().unwrap().iter().map(|m| m.to_string()).collect();
        assert_eq!(amr, ["pwd", "otp", "mfa"], "{backend:?}");
        assert_eq!(claims.auth_context_ref().unwrap().as_str(), "urn:twostep:acr:mfa");
        let signed_in_at = claims.auth_time().unwrap().timestamp();
        let raw = payload(&id_token.to_string());
        assert_eq!(raw["frozen"], false, "{raw}");
        assert!(raw.get("withdrawals_blocked_until").is_none(), "{raw}");
        assert_eq!(raw["sid"].as_str().map(str::len), Some(32), "{raw}");
        let info: openidconnect::core::CoreUserInfoClaims = client
            .user_info(tokens.access_token().clone(), None)
            .unwrap()
            .request_async(&http)
            .await
            .expect("userinfo");
        assert_eq!(info.subject().as_str(), owner.account_id);
        assert_eq!(info.email().map(|e| e.as_str()), Some("rp@example.com"));

        // Step-up: max_age=0 asks for the authenticator again, and the new
        // ID token says so and when.
        s.clock.advance(120);
        let asked_at = s.now();
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, _, nonce) = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .set_pkce_challenge(challenge)
            .set_max_age(Duration::from_secs(0))
            .url();
        b.goto_url(url.as_str()).await;
        b.wait_path("/account/confirm").await;
        b.check_accessibility("oidc-step-up").await;
        s.clock.advance(30);
        b.fill("#sudo-totp #f-code", &oathtool(&owner.backup_key, s.now())).await;
        b.click("#sudo-totp button.primary").await;
        b.wait_path("/callback").await;
        let code = AuthorizationCode::new(query(&b.url().await)["code"].clone());
        let stepped =
            client.exchange_code(code).unwrap().set_pkce_verifier(verifier).request_async(&http).await.unwrap();
        let claims = stepped.id_token().unwrap().claims(&client.id_token_verifier(), &nonce).unwrap();
        let auth_time = claims.auth_time().unwrap().timestamp();
        assert!(auth_time > signed_in_at && auth_time >= asked_at, "{backend:?}: {auth_time} vs {asked_at}");
        assert_eq!(claims.auth_context_ref().unwrap().as_str(), "urn:twostep:acr:step-up");
        assert!(claims.auth_method_refs().unwrap().iter().any(|m| m.as_str() == "otp"));

        // Refresh: rotated; the old token used again ends the family.
        let first = stepped.refresh_token().expect("a refresh token").clone();
        let refreshed = client.exchange_refresh_token(&first).unwrap().request_async(&http).await.expect("refresh");
        let second = refreshed.refresh_token().unwrap().clone();
        assert_ne!(first.secret(), second.secret());
        let no_nonce = |_: Option<&Nonce>| Ok(());
        refreshed.id_token().unwrap().claims(&client.id_token_verifier(), no_nonce).expect("a verified ID token");
        let reused = client.exchange_refresh_token(&first).unwrap().request_async(&http).await;
        match reused {
            Err(RequestTokenError::ServerResponse(e)) => assert_eq!(e.error().as_ref(), "invalid_grant"),
            other => panic!("{backend:?}: a reused refresh token was not refused: {other:?}"),
        }
        let after = client.exchange_refresh_token(&second).unwrap().request_async(&http).await;
        assert!(after.is_err(), "{backend:?}: the family survived the reuse");
        let info: Result<openidconnect::core::CoreUserInfoClaims, _> =
            client.user_info(refreshed.access_token().clone(), None).unwrap().request_async(&http).await;
        assert!(info.is_err(), "{backend:?}: an access token of the revoked family still works");
        // The application hears that the family's sign-in ended.
        rx.wait_for("/backchannel", 1).await;

        // The application's sign-out: asked first, then back to it, and every
        // other grant of the session told by back-channel logout.
        let hint = tokens.id_token().unwrap().to_string();
        let logout = Url::parse_with_params(
            &format!("{}/oauth2/logout", s.url),
            &[
                ("id_token_hint", hint),
                ("post_logout_redirect_uri", format!("{}/signed-out", rx.url)),
                ("state", "bye".into()),
            ],
        )
        .unwrap();
        b.goto_url(logout.as_str()).await;
        b.wait_path("/oauth2/logout").await;
        b.check_accessibility("oidc-logout").await;
        b.click("#oidc-logout").await;
        b.wait_path("/signed-out").await;
        assert_eq!(query(&b.url().await).get("state").map(String::as_str), Some("bye"));
        let told = rx.wait_for("/backchannel", 2).await;
        let token = told[1].body.strip_prefix("logout_token=").expect("a logout token form");
        let logout_claims = payload(token);
        assert_eq!(logout_claims["sid"], raw["sid"], "{backend:?}: {logout_claims}");
        assert!(logout_claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
        b.goto("/account").await;
        b.wait_path("/login").await;
        b.close().await;
    }
}

/// A browser application's page: it exchanges the code from its own origin
/// (a public client with PKCE), reads userinfo and the JWKS, revokes its
/// refresh token, and reports what it got to its own server (`/report`).
const BROWSER_APP: &str = r#"<!doctype html><html lang="en"><meta charset="utf-8"><title>Browser app</title>
<p id="out">working</p>
<script>
(async () => {
  const report = {};
  try {
    const code = new URLSearchParams(location.search).get("code");
    const discovery = await (await fetch("ISSUER/.well-known/openid-configuration")).json();
    const form = new URLSearchParams({grant_type: "authorization_code", code, client_id: "CLIENT",
      redirect_uri: location.origin + location.pathname, code_verifier: "VERIFIER"});
    const t = await fetch(discovery.token_endpoint, {method: "POST", body: form});
    report.token_status = t.status;
    const tokens = await t.json();
    report.id_token = tokens.id_token;
    report.refresh_token = tokens.refresh_token;
    const u = await fetch(discovery.userinfo_endpoint, {headers: {authorization: "Bearer " + tokens.access_token}});
    report.userinfo = await u.json();
    report.kids = (await (await fetch(discovery.jwks_uri)).json()).keys.map(k => k.kid);
    const r = await fetch(discovery.revocation_endpoint, {method: "POST",
      body: new URLSearchParams({token: tokens.refresh_token, client_id: "CLIENT"})});
    report.revoke_status = r.status;
  } catch (e) {
    report.error = String(e);
  }
  await fetch("/report", {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(report)});
  document.getElementById("out").textContent = "done";
})();
</script>"#;

/// CORS is the same code on either backend: SQLite only. The application
/// asks for a step-up of a person signed out: the sign-in made through its
/// request is the proof, with no second prompt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_application_exchanges_its_code_and_reads_userinfo_from_its_own_origin() {
    let s = provider(Backend::Sqlite).await;
    let rx = Receiver::start().await;
    let app = rp::register(&s, &rx, "spa", true, true).await;
    let owner = totp_owner(&s, "spa@example.com").await;
    let http = |req| rp::http(http_client(), req);
    let client = relying_party(&s, &rx, &app).await;

    // A preflight from another origin: allowed, never with credentials.
    let preflight = http_client()
        .request(reqwest::Method::OPTIONS, format!("{}/oauth2/userinfo", s.url))
        .header("origin", &rx.url)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    let h = preflight.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
    assert!(h.get("access-control-allow-credentials").is_none(), "{h:?}");

    let (mut url, _, nonce, verifier) = email_request(&client);
    url.query_pairs_mut().append_pair("acr_values", "urn:twostep:acr:step-up");
    rx.serve_page(
        BROWSER_APP.replace("ISSUER", &s.url).replace("CLIENT", &app.client_id).replace("VERIFIER", verifier.secret()),
    );
    let b = Browser::start(&s.url).await;
    b.goto_url(url.as_str()).await;
    sign_in_here(&s, &b, &owner).await;
    b.wait_path("/callback").await;
    let report: Value = serde_json::from_str(&rx.wait_for("/report", 1).await[0].body).unwrap();
    assert!(report.get("error").is_none(), "the page's calls were blocked: {report}");
    assert_eq!(report["token_status"], 200, "{report}");
    let id_token: openidconnect::core::CoreIdToken = report["id_token"].as_str().unwrap().parse().unwrap();
    let claims = id_token.claims(&client.id_token_verifier(), &nonce).expect("verified against the JWKS");
    assert_eq!(claims.subject().as_str(), owner.account_id);
    assert_eq!(claims.auth_context_ref().unwrap().as_str(), "urn:twostep:acr:step-up");
    assert_eq!(report["userinfo"]["email"], "spa@example.com", "{report}");
    assert_eq!(report["kids"].as_array().map(Vec::len), Some(1), "{report}");
    assert_eq!(report["revoke_status"], 200, "{report}");
    // The revocation the page made holds.
    let refresh = openidconnect::RefreshToken::new(report["refresh_token"].as_str().unwrap().to_owned());
    let after = client.exchange_refresh_token(&refresh).unwrap().request_async(&http).await;
    assert!(after.is_err(), "a revoked refresh token still works: {after:?}");
    b.close().await;
}
