//! A relying party on Python's Authlib (`scripts/oidc-authlib-rp.py`, the
//! README's example) signs a person in with twostep in headless Chromium:
//! code flow with PKCE, the ID token checked against the JWKS by Authlib
//! (signature, issuer, audience, nonce, expiry, at_hash), then userinfo.
//! The Python environment is the one `scripts/test.sh` installs
//! (`target/oidc-venv`, or `TWOSTEP_OIDC_PYTHON`).

mod browser;
mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use browser::Browser;
use serde_json::Value;
use twostep_testkit::recovery::{PW, totp_owner};
use twostep_testkit::rp::{self, Receiver};
use twostep_testkit::{Backend, TestServer, oathtool, test_settings};

fn python() -> String {
    std::env::var("TWOSTEP_OIDC_PYTHON").unwrap_or_else(|_| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        root.join("target/oidc-venv/bin/python").to_string_lossy().into_owned()
    })
}

fn script() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts/oidc-authlib-rp.py")
        .to_string_lossy()
        .into_owned()
}

/// Runs the relying party with `args`, `input` on its standard input; its JSON.
fn relying_party(args: &[&str], input: Option<&Value>) -> Value {
    let mut child = Command::new(python())
        .arg(script())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the Python of scripts/test.sh (target/oidc-venv) with Authlib");
    let mut stdin = child.stdin.take().unwrap();
    if let Some(input) = input {
        stdin.write_all(input.to_string().as_bytes()).unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the Authlib relying party failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn wall_clock() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authlib_application_signs_in_with_pkce_and_checks_the_id_token() {
    let mut settings = test_settings();
    settings.public_url = "http://127.0.0.1:{port}".into();
    let s = TestServer::start_with(Backend::Sqlite, settings).await;
    let rx = Receiver::start().await;
    // A third-party application: the person is asked first.
    let app = rp::register(&s, &rx, "shop", false, false).await;
    let owner = totp_owner(&s, "authlib@example.com").await;
    let redirect = format!("{}/callback", rx.url);
    let secret = app.client_secret.clone().unwrap();
    let args =
        |mode: &'static str| [mode, s.url.as_str(), "shop", secret.as_str(), redirect.as_str()].map(str::to_owned);

    let start = tokio::task::block_in_place(|| relying_party(&args("start").each_ref().map(String::as_str), None));
    let b = Browser::start(&s.url).await;
    b.goto_url(start["url"].as_str().unwrap()).await;
    b.wait_path("/login").await;
    assert!(b.text("#oidc-app").await.contains("Test app shop"));
    b.fill("#f-email", &owner.email).await;
    b.fill("#f-password", PW).await;
    b.click("#login-submit").await;
    b.wait_path("/login/second-step").await;
    s.clock.advance(30);
    b.fill("#f-code", &oathtool(&owner.backup_key, s.now())).await;
    b.click("button.primary").await;
    // The consent page names the application and what it gets.
    b.wait_path("/account/authorize").await;
    assert!(b.text("h1").await.contains("Test app shop"));
    assert!(b.text("#consent-scopes").await.contains("your e-mail address"));
    b.check_accessibility("oidc-consent").await;
    // Authlib checks `iat` against the wall clock, with no leeway; the
    // server's clock moved ahead for the authenticator's next code, so it
    // is set back before the tokens are made.
    s.clock.set(wall_clock());
    b.click("#consent-allow").await;
    b.wait_path("/callback").await;

    let mut kept = start.clone();
    kept["callback_url"] = b.url().await.into();
    let done =
        tokio::task::block_in_place(|| relying_party(&args("finish").each_ref().map(String::as_str), Some(&kept)));
    let claims = &done["claims"];
    assert_eq!(claims["sub"], owner.account_id.as_str(), "{done}");
    assert_eq!(claims["email"], "authlib@example.com");
    assert_eq!(claims["aud"], serde_json::json!(["shop"]));
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(done["userinfo"]["sub"], owner.account_id.as_str());
    assert_eq!(done["userinfo"]["frozen"], false);

    // The account page lists the application; taking its access away ends
    // the refresh token, and it must ask again.
    b.goto("/account/applications").await;
    assert!(b.text("#applications").await.contains("Test app shop"));
    b.check_accessibility("oidc-applications").await;
    b.click("#app-shop .revoke").await;
    b.wait_path("/account/applications").await;
    assert!(b.exists("#no-applications").await, "the application is still listed");
    let refresh = done["refresh_token"].as_str().unwrap();
    let (status, answer) = rp::token(&s, &app, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_eq!(answer["error"], "invalid_grant", "{status}: {answer}");
    let again = tokio::task::block_in_place(|| relying_party(&args("start").each_ref().map(String::as_str), None));
    b.goto_url(again["url"].as_str().unwrap()).await;
    // Signed in already: the consent page answers the request itself.
    b.wait_path("/oauth2/authorize").await;
    assert!(b.exists("#consent-allow").await, "the consent is asked again");
    b.close().await;
}
