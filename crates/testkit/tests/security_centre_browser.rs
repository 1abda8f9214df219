//! The security centre's pages in headless Chromium: "Forgot your
//! password?" from the sign-in page with the authenticator, the freeze from
//! the link in an e-mail with no session, and the anti-phishing phrase set
//! in sudo mode and shown atop the next e-mail. Every page is shot, and so
//! checked by axe.

mod browser;

use browser::Browser;
use serde_json::json;
use twostep_testkit::recovery::{PW, totp_owner};
use twostep_testkit::{Backend, TestServer, oathtool};

const NEW_PW: &str = "a brand new password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_password_is_reset_from_the_sign_in_page_with_the_authenticator() {
    let s = TestServer::start(Backend::Sqlite).await;
    let owner = totp_owner(&s, "forgetful@example.com").await;
    let b = Browser::start(&s.url).await;
    b.goto("/login").await;
    b.click_and_load("#forgot-password").await;
    b.wait_path("/password/forgot").await;
    b.shoot("reset-ask").await;
    b.fill("#f-email", &owner.email).await;
    b.click_and_load("#reset-ask-form button").await;
    b.shoot("reset-code").await;
    b.fill("#f-code", "000000").await;
    b.click_and_load("#reset-code-form button").await;
    assert!(b.exists("#e-code").await, "a wrong code is named");
    b.fill("#f-code", &s.code_to(&owner.email).await).await;
    b.click_and_load("#reset-code-form button").await;
    b.wait_path("/password/reset").await;
    b.shoot("reset-new").await;
    s.clock.advance(30);
    b.fill("#f-code", &oathtool(&owner.backup_key, s.now())).await;
    b.fill("#f-new_password", NEW_PW).await;
    b.click_and_load("#reset-form button.primary").await;
    b.wait_for("#reset-done").await;
    b.shoot("reset-done").await;
    // The new password passes the password step; the old one is refused.
    assert_eq!(s.login(&owner.email, NEW_PW).await.0, 200);
    assert_eq!(s.login(&owner.email, PW).await.0, 401);
    // The reset is over: its page sends the browser to start again.
    b.goto("/password/reset").await;
    b.wait_path("/password/forgot").await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_freeze_link_of_an_e_mail_freezes_the_account_without_a_session() {
    let s = TestServer::start(Backend::Postgres).await;
    let email = "pickpocketed@example.com";
    s.verified_account(email, PW).await;
    let token = s.session(email, PW).await;
    let (status, body) = s.post("/api/v1/me/code", json!({"channel": "email"}), Some(&token)).await;
    assert_eq!(status, 202, "{body}");
    let mail = s.messages_to(email).await[0]["body"].as_str().unwrap().to_owned();
    let link = mail.split_once("/freeze?t=").map(|(_, t)| t.split_whitespace().next().unwrap().to_owned()).unwrap();

    let b = Browser::start(&s.url).await;
    b.goto(&format!("/freeze?t={link}")).await;
    b.shoot("freeze-link").await;
    // Opening the link froze nothing: only the button does.
    assert_eq!(s.get("/api/v1/me", Some(&token)).await.0, 200);
    b.click_and_load("#freeze-now").await;
    b.wait_for("#frozen").await;
    b.shoot("freeze-done").await;
    assert_eq!(s.get("/api/v1/me", Some(&token)).await.0, 401);
    assert_eq!(s.login(email, PW).await.0, 403);
    // The page without a link asks for the address and a code.
    b.goto("/freeze").await;
    b.shoot("freeze-ask").await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_anti_phishing_phrase_is_set_in_sudo_mode_and_heads_the_next_e_mail() {
    let s = TestServer::start(Backend::Sqlite).await;
    let email = "careful@example.com";
    s.verified_account(email, PW).await;
    let b = Browser::start(&s.url).await;
    b.goto("/login").await;
    b.fill("#f-email", email).await;
    b.fill("#f-password", PW).await;
    b.click("#login-submit").await;
    b.wait_path("/account").await;
    b.click_and_load("#anti-phishing").await;
    b.wait_path("/account/anti-phishing").await;
    b.shoot("anti-phishing").await;
    b.fill("#f-phrase", "copper lantern").await;
    b.click_and_load("#phrase-form button").await;
    // A session alone changes nothing: the password first.
    b.wait_path("/account/confirm").await;
    b.fill("#f-password", PW).await;
    b.click_and_load("#sudo-password button").await;
    b.wait_path("/account/anti-phishing").await;
    b.fill("#f-phrase", "copper lantern").await;
    b.click_and_load("#phrase-form button").await;
    b.wait_path("/account").await;
    assert!(b.text("#anti-phishing").await.contains("Change"));
    s.settle().await;
    let newest = s.messages_to(email).await[0]["body"].as_str().unwrap().to_owned();
    let (_, text) = newest.split_once("\n\n").unwrap();
    assert!(text.starts_with("Your twostep anti-phishing phrase: copper lantern"), "{newest}");
    // Never on a page: not even the signed-in one that set it.
    b.goto("/account/anti-phishing").await;
    assert!(!b.text("main").await.contains("copper"));
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_account_is_sent_from_the_reset_page_to_a_reviewed_recovery() {
    let s = TestServer::start(Backend::Sqlite).await;
    let owner = totp_owner(&s, "frozen-out@example.com").await;
    let (status, body) = s.post("/api/v1/freeze/code", json!({"email": owner.email}), None).await;
    assert_eq!(status, 202, "{body}");
    let code = s.code_to(&owner.email).await;
    let (status, body) = s.post("/api/v1/freeze", json!({"email": owner.email, "code": code}), None).await;
    assert_eq!(status, 200, "{body}");
    s.clock.advance(60);

    let b = Browser::start(&s.url).await;
    b.goto("/password/forgot").await;
    b.fill("#f-email", &owner.email).await;
    b.click_and_load("#reset-ask-form button").await;
    b.fill("#f-code", &s.code_to(&owner.email).await).await;
    b.click_and_load("#reset-code-form button").await;
    b.wait_path("/password/reset").await;
    // Frozen: no new password here, only the recovery, already unfolded.
    assert!(!b.exists("#reset-form").await);
    b.shoot("reset-frozen").await;
    b.fill("#f-case_password", NEW_PW).await;
    b.click_and_load("#reset-open-recovery").await;
    b.wait_path("/recovery").await;
    assert!(b.exists("#sets-password").await, "the wizard says the case sets the password");
    b.shoot("recovery-sets-password").await;
    let cases = twostep_app::ports::RecoveryStore::cases_of_account(&s.store, &owner.account_id).await.unwrap();
    assert_eq!(cases.len(), 1);
    assert!(cases[0].sets_password, "the case sets the password chosen");
    b.close().await;
    s.stop().await;
}
