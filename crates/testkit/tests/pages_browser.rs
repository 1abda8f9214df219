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
use twostep_testkit::{Backend, TestServer, oathtool};

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

    // Bind the authenticator, reading the key off the page. A change like
    // this first asks to confirm it is you: here, the password again.
    b.goto("/account/authenticator").await;
    b.click("#start-authenticator").await;
    b.wait_path("/account/confirm").await;
    b.shoot("confirm-its-you").await;
    b.fill("#sudo-password #f-password", PW).await;
    b.click("#sudo-password button.primary").await;
    b.wait_path("/account/authenticator").await;
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

    // Bind a phone through the page: now the authenticator must confirm it
    // (the password no longer counts beside it).
    b.goto("/account/phone").await;
    b.shoot("phone").await;
    b.fill("#f-phone", PHONE).await;
    b.click("button.primary").await;
    b.wait_path("/account/confirm").await;
    assert!(!b.exists("#sudo-password").await, "the password does not count beside an authenticator");
    s.clock.advance(30);
    b.fill("#sudo-totp #f-code", &oathtool(&key, s.now())).await;
    b.click("#sudo-totp button.primary").await;
    b.wait_path("/account/phone").await;
    b.fill("#f-phone", PHONE).await;
    b.click("button.primary").await;
    assert!(b.text(".notice").await.contains("+44"));
    let code = s.outbox_code(PHONE).await;
    b.fill("#f-code", &code).await;
    b.click("form[action='/account/phone/confirm'] button.primary").await;
    b.wait_path("/account").await;

    // Security questions: fewer than two is refused on the page, two are kept.
    b.goto("/account/questions").await;
    b.fill("input[name='answer:first_pet']", "Rex").await;
    b.click("form[action='/account/questions'] button.primary").await;
    assert!(b.text("#form-error").await.contains("2 to 5"));
    let kept = b.attr("input[name='answer:first_pet']", "value").await;
    assert_eq!(kept.as_deref(), Some("Rex"), "the answer typed comes back with the error");
    b.fill("input[name='answer:birth_city']", "Paris").await;
    b.shoot("questions").await;
    b.click("form[action='/account/questions'] button.primary").await;
    b.wait_path("/account").await;
    assert!(b.text(".notice").await.contains("security questions are saved"));

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
    // While the hold runs the form is disabled, and says why.
    assert!(!b.enabled("#f-amount").await && !b.enabled("#withdraw-submit").await, "the form is disabled");
    assert!(b.text("#withdraw-held").await.contains("when the hold ends"));

    b.goto("/account/activity").await;
    assert!(b.text(".events").await.contains("Password changed"));
    b.shoot("activity").await;

    println!("screenshots in {}", b.shots.display());
    b.close().await;
    s.stop().await;
}

/// Lost the authenticator: the recovery wizard with document uploads, a
/// reviewer approving in the staff console, and the owner then sees the
/// 48-hour withdrawal hold counting down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_wizard_and_staff_console_in_headless_chromium() {
    use twostep_testkit::recovery::{PW as OWNER_PW, png_image, totp_owner};
    let s = TestServer::start(Backend::Sqlite).await;
    let owner = totp_owner(&s, "erin@example.com").await;
    let b = Browser::start(&s.url).await;

    // Password accepted, but the phone with the authenticator is gone.
    b.goto("/login").await;
    b.fill("#f-email", &owner.email).await;
    b.fill("#f-password", OWNER_PW).await;
    b.click("#login-submit").await;
    b.wait_path("/login/second-step").await;
    b.click("#security-check-unavailable").await;
    b.wait_path("/login/recovery").await;
    assert!(b.text(".hold h2").await.contains("48 hours"), "the 48-hour warning comes first");
    b.shoot("recovery-warning").await;
    b.click("#recovery-continue").await;
    b.wait_path("/recovery").await;
    b.wait_for("#reset-authenticator").await;
    b.shoot("recovery-items").await;
    b.click("#reset-authenticator").await;
    b.click_and_load("form[action='/recovery/items'] button.primary").await;

    // The steps the case needs, one screen each.
    let dir = std::env::temp_dir().join(format!("twostep-uploads-{}", twostep_app::crypto::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut seen = Vec::new();
    for _ in 0..6 {
        b.wait_path("/recovery").await;
        if b.exists("#send-codes").await {
            seen.push("codes");
            b.click("#send-codes").await;
            b.wait_for("form[action='/recovery/codes/verify']").await;
            b.shoot("recovery-codes").await;
            let code = s.outbox_code(&owner.email).await;
            b.fill("#f-email_code", &code).await;
            b.click_and_load("form[action='/recovery/codes/verify'] button.primary").await;
        } else if b.exists("input[name^='answer:']").await {
            seen.push("questions");
            b.shoot("recovery-questions").await;
            b.fill("input[name='answer:first_pet']", "rex").await;
            b.fill("input[name='answer:birth_city']", "Paris").await;
            b.click_and_load("form[action='/recovery/answers'] button.primary").await;
        } else if b.exists("#identity-form").await {
            seen.push("identity");
            b.fill("#f-country", "GB").await;
            for slot in ["front", "selfie"] {
                let path = dir.join(format!("{slot}.png"));
                std::fs::write(&path, png_image(400, 400, false)).unwrap();
                b.wait_for(&format!("#f-{slot}")).await.send_keys(path.to_str().unwrap()).await.unwrap();
            }
            // The page previews what was chosen before anything is sent.
            assert!(b.enabled("#slot-front img.preview").await);
            assert_eq!(b.attr("#slot-front img.preview", "hidden").await, None, "the preview is shown");
            b.shoot("recovery-identity").await;
            b.click_and_load("#identity-form button.primary").await;
        } else if b.exists("#submit-recovery").await {
            seen.push("submit");
            b.shoot("recovery-submit").await;
            b.click_and_load("#submit-recovery").await;
        } else {
            break;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(seen.contains(&"identity") && seen.contains(&"submit"), "{seen:?}");
    assert_eq!(b.attr("#recovery-status", "data-status").await.as_deref(), Some("pending_review"));
    b.shoot("recovery-status").await;

    // A reviewer (who bound an authenticator, as staff must) signs in
    // through the same pages, with the authenticator, and decides in the console.
    for (n, reviewer) in ["rita@example.com", "ravi@example.com"].into_iter().enumerate() {
        let staff = s.staff_with_authenticator(reviewer, twostep_domain::Role::Reviewer).await;
        // A step after the one the helper signed in with.
        s.clock.advance(2 * 30);
        b.goto("/login").await;
        b.fill("#f-email", reviewer).await;
        b.fill("#f-password", PW).await;
        b.click("#login-submit").await;
        b.wait_path("/login/second-step").await;
        b.fill("#f-code", &oathtool(&staff.backup_key, s.now())).await;
        b.click("button.primary").await;
        b.wait_path("/account").await;
        b.click("#staff-console").await;
        b.wait_path("/staff").await;
        if n == 0 {
            b.shoot("staff-queue").await;
        }
        b.click(".case-link").await;
        b.wait_for("#doc-front").await;
        let loaded =
            b.client.execute("return document.getElementById('doc-front').naturalWidth", vec![]).await.unwrap();
        assert_eq!(loaded.as_i64(), Some(400), "the document image is shown to the reviewer");
        if n == 0 {
            b.shoot("staff-case").await;
        }
        b.fill("#f-note", "Document and selfie match the account").await;
        b.click("#approve").await;
        b.wait_for("#case-status").await;
        let status = b.attr("#case-status", "data-status").await.unwrap_or_default();
        b.click("#logout").await;
        b.wait_path("/login").await;
        if status == "approved" {
            break;
        }
        assert_eq!(status, "pending_review", "a high-risk case waits for a second reviewer");
    }

    // The owner signs in with the password alone and sees the hold.
    b.goto("/login").await;
    b.fill("#f-email", &owner.email).await;
    b.fill("#f-password", OWNER_PW).await;
    b.click("#login-submit").await;
    b.wait_path("/account").await;
    b.goto("/account/withdraw").await;
    let left = b.text("#hold-countdown").await;
    assert!(left.starts_with("47 h") || left.starts_with("48 h"), "{left}");
    b.shoot("withdraw-after-recovery").await;

    b.close().await;
    s.stop().await;
}
