//! The pages in a real browser: headless Chromium driven over WebDriver by
//! a chromedriver this test starts on a free local port (Debian's `chromium`
//! and `chromium-driver`, installed by scripts/test.sh). Nothing leaves
//! 127.0.0.1. The story: sign up, confirm with the code read off the outbox
//! page, sign in with the captcha solved by the page's Web Worker, bind an
//! authenticator reading the key off the page (codes from oathtool), bind a
//! phone, log out, sign in with an authenticator code, then by SMS, change
//! the password and see the withdrawal hold count down. Screenshots of the
//! main pages at desktop (1280) and phone (360) width go to
//! `target/screenshots/`.

mod browser;

use std::time::Duration;

use browser::Browser;
use twostep_testkit::{oathtool, Backend, TestServer};

const EMAIL: &str = "dana@example.com";
const PW: &str = "correct horse battery";
const NEW_PW: &str = "staple battery horse correct";
const PHONE: &str = "+447911123456";

async fn sign_in_with_password(b: &Browser, password: &str) {
    b.goto("/login").await;
    b.fill("#f-email", EMAIL).await;
    b.fill("#f-password", password).await;
    // The page submits itself once the worker has solved the puzzle.
    b.click("#login-submit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_story_in_headless_chromium() {
    let s = TestServer::start(Backend::Sqlite).await;
    let b = Browser::start(&s.url).await;

    // Sign up.
    b.goto("/signup").await;
    b.shoot("signup").await;
    b.fill("#f-email", EMAIL).await;
    b.fill("#f-password", PW).await;
    b.click("button.primary").await;
    b.wait_path("/confirm").await;

    // The code, read off the outbox page.
    s.settle().await;
    b.goto(&format!("/dev/outbox?to={EMAIL}")).await;
    b.shoot("outbox").await;
    let code = b.text(".code-big").await;
    assert_eq!(code.len(), 6, "{code}");

    b.goto(&format!("/confirm?email={EMAIL}")).await;
    b.shoot("confirm").await;
    b.fill("#f-code", &code).await;
    b.click("button.primary").await;
    b.wait_path("/login").await;
    assert!(b.text(".notice").await.contains("confirmed"));

    // Sign in: the worker solves the puzzle and shows its progress.
    b.goto("/login").await;
    b.wait_attr("#login-form", "data-pow-solved").await;
    assert_eq!(b.attr("#pow-progress", "value").await.as_deref(), Some("100"));
    b.shoot("login").await;
    sign_in_with_password(&b, PW).await;
    b.wait_path("/account").await;
    b.shoot("account").await;

    // Bind the authenticator, reading the key off the page.
    b.goto("/account/authenticator").await;
    b.click("#start-authenticator").await;
    let shown = b.text("#backup-key").await;
    let key: String = shown.split_whitespace().collect();
    assert_eq!(key.len(), 32, "{shown}");
    assert!(shown.split_whitespace().all(|g| g.len() == 4), "groups of four: {shown}");
    assert!(b.exists(".qr svg").await, "the QR code is drawn inline");
    assert!(b.text(".warning").await.contains("Write this key on paper"));
    b.shoot("authenticator-setup").await;
    // A wrong code is refused next to its field, and the setup stays.
    b.fill("#f-backup_key", &shown.to_lowercase()).await;
    b.fill("#f-code", "000000").await;
    b.click("form[action='/account/authenticator/confirm'] button.primary").await;
    assert!(b.text("#e-code").await.contains("wrong"));
    b.shoot("authenticator-error").await;
    b.fill("#f-code", &oathtool(&key, s.now())).await;
    b.click("form[action='/account/authenticator/confirm'] button.primary").await;
    b.wait_path("/account").await;
    assert!(b.text(".notice").await.contains("authenticator is bound"));

    // Bind a phone through the page.
    b.goto("/account/phone").await;
    b.shoot("phone").await;
    b.fill("#f-phone", PHONE).await;
    b.click("button.primary").await;
    assert!(b.text(".notice").await.contains("+44"));
    let code = s.outbox_code(PHONE).await;
    b.fill("#f-code", &code).await;
    b.click("form[action='/account/phone/confirm'] button.primary").await;
    b.wait_path("/account").await;

    // Log out, then sign in with an authenticator code.
    b.click("#logout").await;
    b.wait_path("/login").await;
    s.clock.advance(30);
    sign_in_with_password(&b, PW).await;
    b.wait_path("/login/second-step").await;
    b.shoot("second-step-totp").await;
    b.fill("#f-code", &oathtool(&key, s.now())).await;
    b.click("button.primary").await;
    b.wait_path("/account").await;

    // Again, switching to phone verification: SMS, Get code, Submit.
    b.click("#logout").await;
    b.wait_path("/login").await;
    sign_in_with_password(&b, PW).await;
    b.wait_path("/login/second-step").await;
    b.click("#switch-phone").await;
    b.wait_for("#get-code").await;
    b.click("#get-code").await;
    b.wait_for("form[action='/login/code/verify']").await;
    assert!(b.text(".notice").await.contains("SMS"));
    // The resend button counts down.
    let label = b.text("#get-code").await;
    assert!(label.contains(" in ") && !b.enabled("#get-code").await, "{label}");
    b.shoot("second-step-sms").await;
    let code = s.outbox_code(PHONE).await;
    b.fill("#f-code", &code).await;
    b.click("form[action='/login/code/verify'] button.primary").await;
    b.wait_path("/account").await;

    // Change the password (with an authenticator code): withdrawals pause.
    b.goto("/account/password").await;
    b.shoot("password").await;
    s.clock.advance(30);
    b.fill("#f-current_password", PW).await;
    b.fill("#f-new_password", NEW_PW).await;
    b.fill("#f-code", &oathtool(&key, s.now())).await;
    b.click("form[action='/account/password'] button.primary").await;
    b.wait_path("/account").await;
    assert!(b.exists(".hold").await);

    // The withdrawal page shows the hold counting down, live.
    b.goto("/account/withdraw").await;
    let first = b.text("#hold-countdown").await;
    assert!(first.starts_with("23 h") || first.starts_with("24 h"), "{first}");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let later = b.text("#hold-countdown").await;
    assert_ne!(first, later, "the countdown moves");
    b.shoot("withdraw-hold").await;
    // A withdrawal during the hold is refused with the reason on the page.
    s.clock.advance(30);
    b.fill("#f-amount", "0.5").await;
    b.fill("#f-address", "bc1qexampleaddress").await;
    b.fill("#f-code", &oathtool(&key, s.now())).await;
    b.click("form[action='/account/withdraw'] button.primary").await;
    assert!(b.text("#form-error").await.contains("security hold"));

    b.goto("/account/activity").await;
    assert!(b.text(".events").await.contains("Password changed"));
    b.shoot("activity").await;

    println!("screenshots in {}", b.shots.display());
    b.close().await;
    s.stop().await;
}
