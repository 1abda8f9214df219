//! The pages in a second language, and with the keyboard alone, in headless
//! Chromium (see pages_browser.rs for the harness). A browser that asks
//! for French gets French pages, and the account it signs up speaks French
//! in its messages, even those sent without a request. Every page shot here
//! is also checked by axe-core at 1280 and 360 px.

mod browser;

use browser::Browser;
use fantoccini::key::Key;
use serde_json::json;
use twostep_app::Lang;
use twostep_app::ports::AccountStore;
use twostep_testkit::{Backend, TestServer};

const PW: &str = "correct horse battery";

fn key(k: Key) -> String {
    char::from(k).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_french_browser_gets_french_pages_and_messages() {
    const EMAIL: &str = "zoe@example.com";
    let s = TestServer::start(Backend::Sqlite).await;
    let b = Browser::start_in(&s.url, "fr-FR,fr").await;

    b.goto("/signup").await;
    assert_eq!(b.attr("html", "lang").await.as_deref(), Some("fr"));
    assert_eq!(b.text("h1").await, "Créer un compte");
    assert_eq!(b.text("label[for='f-password']").await, "Mot de passe");
    b.shoot("fr-signup").await;
    // A refusal is said in French next to its field.
    // (An address the browser's own check lets through.)
    b.fill("#f-email", "zoe@example").await;
    b.fill("#f-password", PW).await;
    b.click("button.primary").await;
    assert_eq!(b.text("#e-email").await, "Le domaine de l’adresse e-mail doit contenir un point.");
    b.shoot("fr-signup-error").await;
    b.fill("#f-email", EMAIL).await;
    b.fill("#f-password", PW).await;
    b.click("button.primary").await;
    b.wait_path("/confirm").await;
    assert!(b.text(".lead").await.contains("un code à 6 chiffres est en route vers"));
    b.shoot("fr-confirm").await;

    // The confirmation e-mail, read off the outbox page, is in French.
    s.settle().await;
    b.goto(&format!("/dev/outbox?to={EMAIL}")).await;
    let body = b.text("pre.body").await;
    assert!(body.contains("Votre code twostep est "), "{body}");
    assert!(body.contains("Il expire dans 30 minutes."), "{body}");
    b.shoot("fr-outbox").await;
    let code = b.text(".code-big").await;

    b.goto(&format!("/confirm?email={EMAIL}")).await;
    b.fill("#f-code", &code).await;
    b.click("button.primary").await;
    b.wait_path("/login").await;
    assert_eq!(b.text(".notice").await, "Votre adresse e-mail est confirmée. Vous pouvez vous connecter.");
    let account = s.store.account_by_email(EMAIL).await.unwrap().expect("the account");
    assert_eq!(account.language, Some(Lang::Fr), "the account keeps the language of its sign-up");

    // Sign-in: the puzzle's progress, a wrong password, then the account.
    b.goto("/login").await;
    b.wait_attr("#login-form", "data-pow-solved").await;
    assert_eq!(b.text("#pow-status").await, "Énigme résolue. Vous pouvez vous connecter.");
    b.shoot("fr-login").await;
    b.fill("#f-email", EMAIL).await;
    b.fill("#f-password", "not the password").await;
    b.click("#login-submit").await;
    assert_eq!(b.text("#form-error").await, "Cette adresse e-mail et ce mot de passe n’ont pas été acceptés.");
    b.shoot("fr-login-error").await;
    b.fill("#f-password", PW).await;
    b.click("#login-submit").await;
    b.wait_path("/account").await;
    b.goto("/account/password").await;
    assert_eq!(b.text("h1").await, "Changer le mot de passe");
    b.shoot("fr-password").await;
    b.goto("/account/confirm").await;
    assert_eq!(b.text("h1").await, "Confirmez votre identité");
    b.shoot("fr-confirm-its-you").await;

    // A message sent without a browser's language (an API sign-up with the
    // taken address) speaks the account's.
    let (status, _) = s.post("/api/v1/accounts", json!({"email": EMAIL, "password": PW}), None).await;
    assert!(status.is_success(), "{status}");
    let told = s.messages_to(EMAIL).await;
    assert!(
        told.iter().any(|m| m["body"].as_str().unwrap().contains("Quelqu’un a essayé de créer un compte twostep")),
        "{told:?}"
    );

    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_sign_up_in_french_gets_its_code_in_french_and_english_stays_the_default() {
    let s = TestServer::start(Backend::Sqlite).await;
    for (email, language, opening) in [
        ("fr@example.com", Some("fr-CA, en;q=0.5"), "Votre code twostep est "),
        ("en@example.com", Some("de-DE, en;q=0.3"), "Your twostep code is "),
        ("none@example.com", None, "Your twostep code is "),
    ] {
        let mut request =
            s.client().post(format!("{}/api/v1/accounts", s.url)).json(&json!({"email": email, "password": PW}));
        if let Some(language) = language {
            request = request.header("accept-language", language);
        }
        let response = request.send().await.unwrap();
        assert!(response.status().is_success(), "{email}: {}", response.status());
        let told = s.messages_to(email).await;
        let body = told[0]["body"].as_str().unwrap();
        assert!(body.contains(opening), "{email}: {body}");
    }
    s.stop().await;
}

/// Sign-in with the keyboard alone: the address field has the focus when
/// the page opens, Tab moves to the password, Enter submits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_with_the_keyboard_alone() {
    const EMAIL: &str = "kim@example.com";
    let s = TestServer::start(Backend::Sqlite).await;
    let (status, _) = s.post("/api/v1/accounts", json!({"email": EMAIL, "password": PW}), None).await;
    assert!(status.is_success());
    let code = s.code_to(EMAIL).await;
    let (status, body) = s.post("/api/v1/accounts/verify-email", json!({"email": EMAIL, "code": code}), None).await;
    assert!(status.is_success(), "{body}");
    let b = Browser::start(&s.url).await;

    b.goto("/login").await;
    b.wait_for("#f-email").await;
    assert_eq!(b.focused().await, "f-email", "the address field has the focus");
    b.press(EMAIL).await;
    b.press(&key(Key::Tab)).await;
    assert_eq!(b.focused().await, "f-password", "Tab moves to the password");
    b.press(PW).await;
    b.press(&key(Key::Tab)).await;
    assert_eq!(b.focused().await, "login-submit", "then to the button");
    // Back to the password with Shift+Tab, and Enter there submits the form
    // (the page waits for its puzzle, then sends it).
    b.press_shift_tab().await;
    assert_eq!(b.focused().await, "f-password");
    b.press(&key(Key::Enter)).await;
    b.wait_path("/account").await;

    // On a page without a focused field, the skip link is the first stop,
    // and it moves the focus to the content.
    b.goto("/confirm").await;
    b.wait_for("#f-email").await;
    b.press(&key(Key::Tab)).await;
    let first = b.client.execute("return document.activeElement.outerHTML", vec![]).await.unwrap();
    assert_eq!(first.as_str(), Some(r##"<a class="skip" href="#main">Skip to content</a>"##));
    b.press(&key(Key::Enter)).await;
    assert_eq!(b.focused().await, "main");

    b.close().await;
    s.stop().await;
}

/// The accessibility check of every screenshot can fail: an image without
/// a text alternative and a field without a label are found and named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_accessibility_check_finds_violations() {
    let s = TestServer::start(Backend::Sqlite).await;
    let b = Browser::start(&s.url).await;
    b.goto("/login").await;
    b.wait_for("#login-form").await;
    assert_eq!(b.accessibility_violations().await, Vec::<String>::new(), "the sign-in page passes");
    b.client
        .execute(
            "const main = document.getElementById('main');
             main.insertAdjacentHTML('beforeend', '<img src=\"/assets/app.css\" id=\"bad-img\"><input id=\"bad-input\">');",
            vec![],
        )
        .await
        .unwrap();
    let found = b.accessibility_violations().await.join("\n");
    assert!(found.contains("image-alt") && found.contains("#bad-img"), "{found}");
    assert!(found.contains("label") && found.contains("#bad-input"), "{found}");
    b.close().await;
    s.stop().await;
}
