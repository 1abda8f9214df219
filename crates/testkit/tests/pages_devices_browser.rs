//! New-device confirmation in headless Chromium: a new browser (a fresh
//! profile) that passed the password and the authenticator waits for the
//! e-mail; opening the e-mail's link changes nothing, its "approve" button
//! lets that browser in; the devices page lists the browsers and "sign out
//! this device" ends this browser's session, while the remembered browser
//! signs in again without the e-mail. "Deny" freezes the account. Every page
//! is shot, and so checked by axe.

mod browser;

use browser::Browser;
use serde_json::{Value, json};
use twostep_app::Settings;
use twostep_app::crypto::token_hash;
use twostep_app::devices::port::DeviceStore;
use twostep_domain::device::DeviceConfirmationPolicy;
use twostep_testkit::recovery::{Owner, PW, totp_owner};
use twostep_testkit::{Backend, TestServer, oathtool, test_settings};

/// An owner with an authenticator who switched new-device confirmation on,
/// and the API session (another device, already known) it did so with.
async fn confirming_owner(s: &TestServer, email: &str) -> (Owner, String) {
    let owner = totp_owner(s, email).await;
    let (status, login) = s.login(email, PW).await;
    assert_eq!(status, 200, "{login}");
    s.clock.advance(30);
    let path = format!("/api/v1/login/{}/totp", login["login_id"].as_str().unwrap());
    let (status, done) = s.post(&path, json!({"code": oathtool(&owner.backup_key, s.now())}), None).await;
    assert_eq!(status, 200, "{done}");
    let token = done["session_token"].as_str().unwrap().to_owned();
    let (status, on) =
        s.call("PUT", "/api/v1/me/device-confirmation", Some(json!({"enabled": true})), Some(&token)).await;
    assert_eq!((status.as_u16(), &on["new_device_confirmation"]), (200, &Value::Bool(true)), "{on}");
    (owner, token)
}

/// The link of the newest "Was this you?" e-mail, as a path, and its token.
async fn link(s: &TestServer, to: &str) -> (String, String) {
    let mail = s.messages_to(to).await;
    let body = mail
        .iter()
        .filter_map(|m| m["body"].as_str())
        .find(|b| b.contains("/device-confirmation?token="))
        .expect("the confirmation e-mail");
    let at = body.find("/device-confirmation?token=").unwrap();
    let path = body[at..].split_whitespace().next().unwrap().to_owned();
    let token = path.split_once("token=").unwrap().1.split('&').next().unwrap().to_owned();
    (path, token)
}

fn settings() -> Settings {
    Settings { device_confirmation: DeviceConfirmationPolicy::Withdrawals, ..test_settings() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_browser_waits_for_the_email_and_approve_lets_it_in() {
    let s = TestServer::start_with(Backend::Postgres, settings()).await;
    let (owner, _) = confirming_owner(&s, "browser-owner@example.com").await;
    let b = Browser::start(&s.url).await;
    b.sign_in_with_totp(&s, &owner).await;
    b.wait_path("/login/device").await;
    b.shoot("device-wait").await;
    // Before the e-mail is answered, continuing says so.
    b.click_and_load("#device-continue").await;
    assert!(b.exists("#form-error").await, "not approved yet");
    assert_eq!(b.path().await, "/login/device");

    // The e-mail's link, opened: it shows the sign-in and changes nothing.
    let (path, token) = link(&s, &owner.email).await;
    assert!(path.ends_with("&answer=approve"), "{path}");
    b.goto(&path).await;
    b.wait_for("#device-approve").await;
    assert!(b.text("#device-browser").await.contains("Chrome"), "the browser in words");
    b.shoot("device-confirm").await;
    let pending = s.store.device_confirmation_by_link(&token_hash(&token)).await.unwrap().unwrap();
    assert_eq!(pending.decision, None, "opening the link answered nothing");
    b.click_and_load("#device-approve").await;
    b.wait_for("#device-approved").await;
    b.shoot("device-approved").await;

    b.goto("/login/device").await;
    b.click_and_load("#device-continue").await;
    b.wait_path("/account").await;

    // The devices page: this browser and the one that switched it on.
    b.click_and_load("#account-devices").await;
    b.wait_path("/account/devices").await;
    b.wait_for("li.device.current").await;
    b.shoot("devices").await;
    let listed = b.client.find_all(fantoccini::Locator::Css("li.device")).await.unwrap().len();
    assert!(listed >= 2, "{listed} devices listed");

    // "Sign out this device" ends this browser's session.
    b.click("li.device.current button.sign-out").await;
    b.wait_path("/login").await;
    b.goto("/account").await;
    b.wait_path("/login").await;
    // The browser is still known: the next sign-in needs no e-mail.
    b.sign_in_with_totp(&s, &owner).await;
    b.wait_path("/account").await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_from_the_email_freezes_the_account() {
    let s = TestServer::start_with(Backend::Sqlite, settings()).await;
    let (owner, owner_session) = confirming_owner(&s, "browser-deny@example.com").await;
    let thief = Browser::start(&s.url).await;
    thief.sign_in_with_totp(&s, &owner).await;
    thief.wait_path("/login/device").await;

    // The owner's mail client is another browser.
    let (path, _) = link(&s, &owner.email).await;
    let mailbox = Browser::start(&s.url).await;
    mailbox.goto(&path.replace("answer=approve", "answer=deny")).await;
    mailbox.wait_for("#device-deny").await;
    mailbox.click_and_load("#device-deny").await;
    mailbox.wait_for("#device-denied").await;
    mailbox.shoot("device-denied").await;

    assert_eq!(s.get("/api/v1/me", Some(&owner_session)).await.0, 401, "every session ended");
    assert_eq!(s.login(&owner.email, PW).await.0, 403, "no sign-in");
    thief.click_and_load("#device-continue").await;
    assert!(!thief.path().await.starts_with("/account"), "the thief is not let in");
    thief.shoot("device-refused").await;
    thief.close().await;
    mailbox.close().await;
    s.stop().await;
}
