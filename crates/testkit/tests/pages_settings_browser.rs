//! What a person does on the pages after an error or a lost factor, in
//! headless Chromium: the recovery wizard keeps what was typed and says
//! which field was wrong, the case opens only after the 48-hour warning,
//! its status page (reached again from the sign-in page) shows the
//! reference and lets the requester withdraw it, a second recovery while
//! one waits says so; the authenticator is removed and replaced from its
//! page, the account page says what to set up next, and the withdrawal
//! form is disabled while a hold runs.

mod browser;

use browser::Browser;
use serde_json::json;
use twostep_app::ports::RecoveryStore;
use twostep_testkit::recovery::{PW, png_image, set_questions, totp_owner};
use twostep_testkit::{Backend, TestServer, oathtool};

async fn password_step(b: &Browser, email: &str) {
    b.goto("/login").await;
    b.fill("#f-email", email).await;
    b.fill("#f-password", PW).await;
    b.click("#login-submit").await;
    b.wait_path("/login/second-step").await;
}

/// An account with a phone and security questions, and no authenticator:
/// its id.
async fn phone_owner(s: &TestServer, email: &str, phone: &str) -> String {
    let id = s.verified_account(email, PW).await;
    let token = s.session(email, PW).await;
    s.sudo_password(&token).await;
    set_questions(s, &token).await;
    let (status, body) = s.post("/api/v1/me/phone", json!({ "phone": phone }), Some(&token)).await;
    assert!(status.is_success(), "{body}");
    let code = s.outbox_code(phone).await;
    let (status, body) = s.post("/api/v1/me/phone/confirm", json!({ "code": code }), Some(&token)).await;
    assert!(status.is_success(), "{body}");
    s.post("/api/v1/logout", json!({}), Some(&token)).await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recovery_pages_keep_what_was_typed_and_show_where_the_case_stands() {
    const EMAIL: &str = "fay@example.com";
    const PHONE: &str = "+447911123457";
    let s = TestServer::start(Backend::Sqlite).await;
    let account_id = phone_owner(&s, EMAIL, PHONE).await;
    let b = Browser::start(&s.url).await;
    let told = |to: &'static str| {
        let s = &s;
        async move { s.messages_to(to).await.len() }
    };

    // The warning first; nothing is opened and nobody told until "continue".
    let (mails, texts) = (told(EMAIL).await, told(PHONE).await);
    password_step(&b, EMAIL).await;
    b.click("#security-check-unavailable").await;
    b.wait_path("/login/recovery").await;
    assert!(b.text(".hold h2").await.contains("48 hours"));
    assert!(s.store.cases_of_account(&account_id).await.unwrap().is_empty(), "no case before continue");
    assert_eq!((told(EMAIL).await, told(PHONE).await), (mails, texts), "nobody told before continue");
    b.click_and_load("#recovery-continue").await;
    b.wait_path("/recovery").await;
    assert_eq!(s.store.cases_of_account(&account_id).await.unwrap().len(), 1);
    // The SMS is one short line with the page that stops it, never an API path.
    let sms = s.messages_to(PHONE).await[0]["body"].as_str().unwrap().to_owned();
    assert!(sms.contains("/recovery/cancel?code=") && !sms.contains("/api/") && sms.len() < 200, "{sms}");
    let opening_code = s.cancel_code_to(EMAIL).await.expect("a cancel code at opening");

    // Items: the phone stays, so only the e-mail and the phone codes.
    b.click("#reset-phone").await;
    b.fill("#f-new_phone", "+447911123458").await;
    b.click_and_load("form[action='/recovery/items'] button.primary").await;

    // Codes: one right, one wrong. The wrong one is named and kept; the
    // right one is remembered.
    b.click_and_load("#send-codes").await;
    let email_code = s.code_to(EMAIL).await;
    b.fill("#f-phone_code", "000000").await;
    b.fill("#f-email_code", &email_code).await;
    b.click_and_load("form[action='/recovery/codes/verify'] button.primary").await;
    assert!(b.text("#e-phone_code").await.contains("wrong"));
    assert_eq!(b.attr("#f-phone_code", "value").await.as_deref(), Some("000000"), "what was typed stays");
    assert!(b.exists("#email-code-proven").await, "the right code is remembered");
    b.shoot("recovery-codes-error").await;
    let phone_code = s.code_to("+447911123458").await;
    b.fill("#f-phone_code", &phone_code).await;
    b.click_and_load("form[action='/recovery/codes/verify'] button.primary").await;

    // Questions: an answer too long is named; every answer stays.
    b.wait_for("input[name^='answer:']").await;
    let boxes = b.client.find_all(fantoccini::Locator::Css("input[name^='answer:']")).await.unwrap();
    let first = boxes[0].attr("name").await.unwrap().unwrap();
    let second = boxes[1].attr("name").await.unwrap().unwrap();
    b.client
        .execute("document.querySelectorAll('input[maxlength]').forEach(i => i.removeAttribute('maxlength'))", vec![])
        .await
        .unwrap();
    b.fill(&format!("input[name='{first}']"), &"x".repeat(101)).await;
    b.fill(&format!("input[name='{second}']"), "Paris").await;
    b.click_and_load("form[action='/recovery/answers'] button.primary").await;
    assert!(b.text(".field.invalid .error").await.contains("at most 100"));
    assert_eq!(b.attr(&format!("input[name='{second}']"), "value").await.as_deref(), Some("Paris"));
    b.fill(&format!("input[name='{first}']"), "rex").await;
    b.click_and_load("form[action='/recovery/answers'] button.primary").await;

    // Identity: a file that is not a photo is named before anything is sent.
    let dir = std::env::temp_dir().join(format!("twostep-uploads-{}", twostep_app::crypto::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = dir.join("notes.txt");
    std::fs::write(&text, "not a photo").unwrap();
    b.wait_for("#f-front").await.send_keys(text.to_str().unwrap()).await.unwrap();
    assert!(b.text("#e-front").await.contains("JPEG or PNG"), "the browser names a file that is not a photo");
    // Every mistake of the form at once, and the country and kind stay.
    for slot in ["front", "back", "selfie"] {
        let path = dir.join(format!("{slot}.png"));
        std::fs::write(&path, png_image(400, 400, false)).unwrap();
        let input = b.wait_for(&format!("#f-{slot}")).await;
        input.clear().await.unwrap();
        input.send_keys(path.to_str().unwrap()).await.unwrap();
    }
    b.click("input[name='id_type'][value='national_id']").await;
    b.fill("#f-country", "QQ").await;
    b.click_and_load("#identity-form button.primary").await;
    assert!(b.text("#e-country").await.contains("two-letter"));
    assert_eq!(b.attr("#f-country", "value").await.as_deref(), Some("QQ"));
    assert!(b.enabled("input[name='id_type'][value='national_id']:checked").await, "the kind stays chosen");
    assert!(b.text("#choose-again").await.contains("choose the photos again"));
    b.shoot("recovery-identity-error").await;
    b.fill("#f-country", "GB").await;
    for slot in ["front", "back", "selfie"] {
        let path = dir.join(format!("{slot}.png"));
        b.wait_for(&format!("#f-{slot}")).await.send_keys(path.to_str().unwrap()).await.unwrap();
    }
    b.click_and_load("#identity-form button.primary").await;
    let _ = std::fs::remove_dir_all(&dir);
    b.click_and_load("#submit-recovery").await;

    // The status page: the reference the console shows, and the state.
    let case_id = s.store.cases_of_account(&account_id).await.unwrap()[0].case.id.clone();
    assert_eq!(b.attr("#recovery-status", "data-status").await.as_deref(), Some("pending_review"));
    assert_eq!(b.text("#case-reference").await, case_id[..8]);
    b.shoot("recovery-status").await;
    // One cancel code per case: the notice at submission repeats it.
    assert_eq!(s.cancel_code_to(EMAIL).await.as_deref(), Some(opening_code.as_str()));

    // Later, from the sign-in page.
    b.goto("/login").await;
    b.click_and_load("#recovery-status-link").await;
    assert_eq!(b.attr("#recovery-status", "data-status").await.as_deref(), Some("pending_review"));

    // A second recovery while this one waits says so and links to it.
    password_step(&b, EMAIL).await;
    b.click("#security-check-unavailable").await;
    b.wait_path("/login/recovery").await;
    b.click_and_load("#recovery-continue").await;
    assert!(b.text("h1").await.contains("already under way"));
    b.shoot("recovery-under-way").await;
    b.click_and_load("main a[href='/recovery']").await;
    assert_eq!(b.attr("#recovery-status", "data-status").await.as_deref(), Some("pending_review"));

    // The requester withdraws it; the owner's channels hear of it.
    b.click_and_load("#withdraw-recovery").await;
    assert_eq!(b.attr("#recovery-status", "data-status").await.as_deref(), Some("cancelled"));
    assert!(b.text("#recovery-status").await.contains("You withdrew this request"));
    assert!(!b.exists("#withdraw-recovery").await);
    let last = s.messages_to(EMAIL).await;
    assert!(last[0]["body"].as_str().unwrap().contains("withdrawn"), "{last:?}");

    // "This wasn't me": the page the notices link to.
    b.goto("/recovery/cancel").await;
    b.shoot("recovery-cancel").await;

    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authenticator_is_replaced_and_removed_from_its_page_and_holds_disable_withdrawals() {
    let s = TestServer::start(Backend::Sqlite).await;
    let owner = totp_owner(&s, "gil@example.com").await;
    let b = Browser::start(&s.url).await;

    password_step(&b, &owner.email).await;
    s.clock.advance(30);
    b.fill("#f-code", &oathtool(&owner.backup_key, s.now())).await;
    b.click("button.primary").await;
    b.wait_path("/account").await;
    assert!(b.text("#set-up-next").await.contains("Add a phone"), "the account says what to set up next");

    // Replace: it is you first (the authenticator's own code), then the new
    // one is set up with the otpauth link beside the QR code.
    b.goto("/account/authenticator").await;
    b.shoot("authenticator-bound").await;
    b.click_and_load("#replace-authenticator").await;
    b.wait_path("/account/confirm").await;
    s.clock.advance(30);
    b.fill("#sudo-totp #f-code", &oathtool(&owner.backup_key, s.now())).await;
    b.click("#sudo-totp button.primary").await;
    b.wait_path("/account/authenticator").await;
    b.click_and_load("#replace-authenticator").await;
    if b.path().await == "/account/confirm" {
        // The old authenticator is gone: what is left proves it is you.
        b.fill("#sudo-password #f-password", PW).await;
        b.click("#sudo-password button.primary").await;
        b.wait_path("/account/authenticator").await;
        b.click_and_load("#start-authenticator").await;
    }
    let link = b.attr("#otpauth-link", "href").await.unwrap();
    assert!(link.starts_with("otpauth://totp/"), "{link}");
    let shown = b.text("#backup-key").await;
    let key: String = shown.split_whitespace().collect();
    assert_ne!(key, owner.backup_key, "a new key");
    b.fill("#f-backup_key", &key).await;
    s.clock.advance(30);
    b.fill("#f-code", &oathtool(&key, s.now())).await;
    b.click("form[action='/account/authenticator/confirm'] button.primary").await;
    b.wait_path("/account").await;

    // Remove: the new one's code proves it is you (the session's proof
    // was the password, which no longer counts beside an authenticator).
    b.goto("/account/authenticator").await;
    b.click_and_load("#remove-authenticator").await;
    if b.path().await == "/account/confirm" {
        s.clock.advance(30);
        b.fill("#sudo-totp #f-code", &oathtool(&key, s.now())).await;
        b.click("#sudo-totp button.primary").await;
        b.wait_path("/account/authenticator").await;
        b.click_and_load("#remove-authenticator").await;
    }
    b.wait_path("/account").await;
    assert!(b.text(".notice").await.contains("authenticator was removed"));
    assert!(b.text("#set-up-next").await.contains("Set up an authenticator app"));
    let (status, me) = s.get("/api/v1/me", Some(&s.session(&owner.email, PW).await)).await;
    assert!(status.is_success() && me["factors"]["totp"] == json!(false), "{me}");

    // The hold the removal started disables the withdrawal form.
    b.goto("/account/withdraw").await;
    assert!(b.exists("#hold-countdown").await);
    assert!(!b.enabled("#f-amount").await && !b.enabled("#withdraw-submit").await, "disabled during the hold");
    b.shoot("withdraw-disabled").await;

    b.close().await;
    s.stop().await;
}
