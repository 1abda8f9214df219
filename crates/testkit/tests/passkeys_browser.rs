//! Passkeys with a real browser's WebAuthn: headless Chromium with
//! chromedriver's virtual authenticator creates and signs for the API's
//! ceremonies (the server at `http://localhost:PORT`, since WebAuthn refuses
//! an IP address as the relying party). On SQLite and PostgreSQL: a passkey
//! added in sudo mode beside an authenticator (hold, notice), the second
//! step by it, a sign-in with nothing typed, a replayed answer and a
//! signature counter gone back refused (the owner told), sudo mode by the
//! passkey, and its removal.

mod browser;
mod common;

use browser::Browser;
use common::{assert_error, ok};
use serde_json::{Value, json};
use twostep_domain::Role;
use twostep_testkit::recovery::{Owner, PW, approve_case, submitted_case, totp_owner};
use twostep_testkit::{Backend, TestServer, oathtool, test_settings};

async fn passkey_server(backend: Backend) -> TestServer {
    let mut settings = test_settings();
    settings.public_url = "http://localhost:{port}".into();
    TestServer::start_with(backend, settings).await
}

fn localhost(s: &TestServer) -> String {
    s.url.replace("127.0.0.1", "localhost")
}

fn answer(options: &Value, credential: Value) -> Value {
    json!({"challenge_id": options["challenge_id"], "credential": credential})
}

/// The password step of a sign-in; its login id and methods.
async fn password_step(s: &TestServer, email: &str) -> (String, Vec<String>) {
    password_step_with(s, email, PW).await
}

async fn password_step_with(s: &TestServer, email: &str, password: &str) -> (String, Vec<String>) {
    let step = ok(&s.login(email, password).await, 200);
    assert_eq!(step["status"], "second_factor_required", "{step}");
    let methods = step["methods"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_owned()).collect();
    (step["login_id"].as_str().unwrap().to_owned(), methods)
}

/// Adds a passkey named `name` to the session's account (already in sudo
/// mode) with the browser's authenticator; its id.
async fn add_passkey(s: &TestServer, b: &Browser, token: &str, name: &str) -> String {
    let options = ok(&s.post("/api/v1/me/passkeys/registration", json!({}), Some(token)).await, 200);
    let mut body = answer(&options, b.webauthn("create", &options["public_key"]).await);
    body["name"] = name.into();
    ok(&s.post("/api/v1/me/passkeys", body, Some(token)).await, 201)["id"].as_str().unwrap().to_owned()
}

/// Password and authenticator code: a session.
async fn totp_sign_in(s: &TestServer, owner: &Owner) -> String {
    s.clock.advance(30);
    let (login_id, _) = password_step(s, &owner.email).await;
    let code = oathtool(&owner.backup_key, s.now());
    let done = ok(&s.post(&format!("/api/v1/login/{login_id}/totp"), json!({"code": code}), None).await, 200);
    done["session_token"].as_str().unwrap().to_owned()
}

async fn activity_kinds(s: &TestServer, token: &str) -> Vec<String> {
    let activity = ok(&s.get("/api/v1/me/activity", Some(token)).await, 200);
    activity["events"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str().map(str::to_owned)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_is_added_signs_in_two_ways_refuses_copies_and_is_removed() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = passkey_server(backend).await;
        let owner = totp_owner(&s, "passkey@example.com").await;
        let b = Browser::start(&localhost(&s)).await;
        // Any page of the site will do; the sign-in page would offer its
        // own passkey request to the e-mail field's autofill.
        b.goto("/signup").await;
        let authenticator = b.add_virtual_authenticator().await;

        // Adding one needs sudo mode: a session alone is refused.
        let token = totp_sign_in(&s, &owner).await;
        assert_error(
            &s.post("/api/v1/me/passkeys/registration", json!({}), Some(&token)).await,
            403,
            "step_up_required",
        );
        s.clock.advance(30);
        s.sudo_totp(&token, &owner.backup_key).await;
        let options = ok(&s.post("/api/v1/me/passkeys/registration", json!({}), Some(&token)).await, 200);
        assert_eq!(options["public_key"]["authenticatorSelection"]["residentKey"], "required", "{options}");
        let created = b.webauthn("create", &options["public_key"]).await;
        let mut body = answer(&options, created);
        body["name"] = "Laptop".into();
        let added = ok(&s.post("/api/v1/me/passkeys", body.clone(), Some(&token)).await, 201);
        assert_eq!(added["name"], "Laptop");
        // The ceremony is used up.
        assert_error(&s.post("/api/v1/me/passkeys", body, Some(&token)).await, 401, "invalid_code");
        // Beside the authenticator it holds withdrawals, and the owner hears of it.
        let me = ok(&s.get("/api/v1/me", Some(&token)).await, 200);
        assert!(me["withdrawals_blocked_until"].is_string(), "{backend:?}: {me}");
        let told = s.messages_to(&owner.email).await;
        assert!(told.iter().any(|m| m["body"].as_str().unwrap_or("").contains("“Laptop” was added")), "{told:?}");

        // The second step: the passkey is offered first, and signs.
        let (login_id, methods) = password_step(&s, &owner.email).await;
        assert_eq!(methods.first().map(String::as_str), Some("passkey"), "{methods:?}");
        let path = format!("/api/v1/login/{login_id}/passkey");
        let options = ok(&s.post(&format!("{path}/options"), json!({}), None).await, 200);
        let signed = answer(&options, b.webauthn("get", &options["public_key"]).await);
        let done = ok(&s.post(&path, signed.clone(), None).await, 200);
        assert_eq!(done["status"], "authenticated", "{backend:?}: {done}");
        // The same answer again, for another sign-in: refused.
        let (again, _) = password_step(&s, &owner.email).await;
        assert_error(&s.post(&format!("/api/v1/login/{again}/passkey"), signed, None).await, 401, "invalid_code");

        // Nothing typed: the passkey names its account.
        let options = ok(&s.post("/api/v1/passkey-sign-in/options", json!({}), None).await, 200);
        assert!(options["public_key"].get("allowCredentials").is_none_or(|c| c.as_array().is_some_and(Vec::is_empty)));
        let signed = answer(&options, b.webauthn("get", &options["public_key"]).await);
        let done = ok(&s.post("/api/v1/passkey-sign-in", signed.clone(), None).await, 200);
        assert_eq!(done["status"], "authenticated", "{backend:?}: {done}");
        let other = done["session_token"].as_str().unwrap().to_owned();
        assert_eq!(ok(&s.get("/api/v1/me", Some(&other)).await, 200)["account_id"], owner.account_id);
        assert_error(&s.post("/api/v1/passkey-sign-in", signed, None).await, 401, "invalid_code");

        // A copy of the key made earlier answers with an older counter.
        let credentials = b.virtual_credentials(&authenticator).await;
        assert_eq!(credentials.len(), 1, "{credentials:?}");
        let count = credentials[0]["signCount"].as_u64().unwrap();
        assert!(count >= 2, "the authenticator counts its signatures: {count}");
        b.set_sign_count(&authenticator, &credentials[0], 1).await;
        let options = ok(&s.post("/api/v1/passkey-sign-in/options", json!({}), None).await, 200);
        let copied = answer(&options, b.webauthn("get", &options["public_key"]).await);
        assert_error(&s.post("/api/v1/passkey-sign-in", copied, None).await, 401, "invalid_code");
        assert!(activity_kinds(&s, &token).await.contains(&"passkey_clone_suspected".to_owned()));
        let told = s.messages_to(&owner.email).await;
        assert!(told.iter().any(|m| m["body"].as_str().unwrap_or("").contains("counter lower than before")));

        // Its name is quoted in the owner's e-mails: a session alone cannot
        // rename it.
        let list = ok(&s.get("/api/v1/me/passkeys", Some(&other)).await, 200);
        let id = list["passkeys"][0]["id"].as_str().unwrap().to_owned();
        let rename = |name: &str| json!({"name": name});
        let path = format!("/api/v1/me/passkeys/{id}");
        let refused = s.call("PATCH", &path, Some(rename("Call +44 20 7946 0000")), Some(&other)).await;
        assert_error(&refused, 403, "step_up_required");

        // Sudo mode by the passkey (the real key, counting on), then a new
        // name, then removal.
        b.set_sign_count(&authenticator, &credentials[0], count + 10).await;
        let options = ok(&s.post("/api/v1/me/sudo/passkey-options", json!({}), Some(&other)).await, 200);
        let signed = answer(&options, b.webauthn("get", &options["public_key"]).await);
        let sudo =
            ok(&s.post("/api/v1/me/sudo", json!({"method": "passkey", "passkey": signed}), Some(&other)).await, 200);
        assert_eq!(sudo["method"], "passkey");
        assert_eq!(s.call("PATCH", &path, Some(rename("Old laptop")), Some(&other)).await.0, 204);
        let list = ok(&s.get("/api/v1/me/passkeys", Some(&other)).await, 200);
        assert_eq!(list["passkeys"][0]["name"], "Old laptop");
        assert!(list["passkeys"][0]["last_used_at"].is_string(), "{list}");
        assert_eq!(s.call("DELETE", &format!("/api/v1/me/passkeys/{id}"), None, Some(&other)).await.0, 204);
        assert_eq!(ok(&s.get("/api/v1/me/passkeys", Some(&other)).await, 200)["passkeys"], json!([]));
        let (_, methods) = password_step(&s, &owner.email).await;
        assert!(!methods.contains(&"passkey".to_owned()), "{methods:?}");
        let kinds = activity_kinds(&s, &other).await;
        for kind in ["passkey_registered", "passkey_renamed", "passkey_removed", "sudo_granted"] {
            assert!(kinds.contains(&kind.to_owned()), "{backend:?}: {kind} in {kinds:?}");
        }
        b.close().await;
        s.stop().await;
    }
}

/// "Forgot your password?" on the pages, up to the page that asks for the
/// second factor and the new password.
async fn forgot_password(b: &Browser, s: &TestServer, email: &str) {
    b.goto("/password/forgot").await;
    b.fill("#f-email", email).await;
    b.click_and_load("#reset-ask-form button").await;
    b.fill("#f-code", &s.code_to(email).await).await;
    b.click_and_load("#reset-code-form button").await;
    b.wait_path("/password/reset").await;
}

/// Signs out from any page of the signed-in account.
async fn sign_out(b: &Browser) {
    b.click_and_load("#logout").await;
}

/// Signs out with the passkey out of reach, so that the sign-in page's
/// autofill cannot sign in with it; the caller puts it back.
async fn sign_out_without_autofill(b: &Browser, authenticator: &str, credential: &Value) {
    b.take_credential(authenticator, credential).await;
    sign_out(b).await;
    b.wait_path("/login").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_pages_a_passkey_is_added_signs_in_and_is_removed() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = passkey_server(backend).await;
        let owner = totp_owner(&s, "pages-passkey@example.com").await;
        let b = Browser::start(&localhost(&s)).await;
        let authenticator = b.add_virtual_authenticator().await;

        // Password and authenticator, as before passkeys.
        b.sign_in_with_totp(&s, &owner).await;
        b.wait_path("/account").await;

        // Adding one: first "confirm it's you", then the browser creates it.
        b.click_and_load("#account-passkeys").await;
        b.wait_path("/account/passkeys").await;
        assert!(b.exists("#no-passkeys").await, "{}", b.text("main").await);
        b.shoot("passkeys-empty").await;
        b.click_and_load("#passkeys-confirm").await;
        b.wait_path("/account/confirm").await;
        s.clock.advance(30);
        b.fill("#sudo-totp #f-code", &oathtool(&owner.backup_key, s.now())).await;
        b.click_and_load("#sudo-totp button").await;
        b.wait_path("/account/passkeys").await;
        b.fill("#f-name", "Work laptop").await;
        b.click_and_load("#add-passkey-button").await;
        b.wait_for("#passkey-list").await;
        assert!(b.text("#passkey-list").await.contains("Work laptop"), "{backend:?}");
        b.shoot("passkeys-one").await;

        // Signed out, the sign-in page offers the passkey in the e-mail
        // field's autofill (conditional mediation) once the person clicks
        // into it, and with it signs in: the virtual authenticator picks it
        // as a person would.
        sign_out(&b).await;
        b.wait_path("/login").await;
        b.click("#f-email").await;
        b.wait_path("/account").await;
        // (Taken out with its counter as it is now: put back with an older
        // one, it would be refused as a copy.)
        let credential = b.virtual_credentials(&authenticator).await.remove(0);
        sign_out_without_autofill(&b, &authenticator, &credential).await;

        // The second step offers the passkey first.
        b.fill("#f-email", &owner.email).await;
        b.fill("#f-password", PW).await;
        b.click("#login-submit").await;
        b.wait_path("/login/second-step").await;
        b.put_credential(&authenticator, &credential).await;
        b.wait_for("#second-passkey").await;
        b.shoot("second-step-passkey").await;
        b.click_and_load("#second-passkey-button").await;
        b.wait_path("/account").await;

        // Nothing typed, by the button: with the passkey out of reach while
        // the page loads, the autofill has nothing to offer and the button
        // does the work.
        let credential = b.virtual_credentials(&authenticator).await.remove(0);
        sign_out_without_autofill(&b, &authenticator, &credential).await;
        b.wait_for("#passkey-sign-in").await;
        b.put_credential(&authenticator, &credential).await;
        b.shoot("login-with-passkey").await;
        b.click_and_load("#passkey-login-button").await;
        b.wait_path("/account").await;

        // A forgotten password beside a passkey and an authenticator: the
        // reset page asks for the passkey, or a code if the person says so,
        // one form at a time.
        forgot_password(&b, &s, &owner.email).await;
        assert!(b.exists("#reset-passkey").await && !b.exists("#reset-form").await, "{backend:?}");
        b.click_and_load("#reset-with-code").await;
        assert!(b.exists("#reset-form").await && !b.exists("#reset-passkey").await, "{backend:?}");
        b.shoot("reset-passkey-or-code").await;

        // Removing it needs sudo mode, which the passkey itself gives.
        b.goto("/account/passkeys").await;
        b.click_and_load("#passkey-list button.danger").await;
        b.wait_path("/account/confirm").await;
        b.wait_for("#sudo-passkey").await;
        b.shoot("sudo-passkey").await;
        b.click_and_load("#sudo-passkey-button").await;
        b.wait_path("/account/passkeys").await;
        b.click_and_load("#passkey-list button.danger").await;
        b.wait_for("#no-passkeys").await;
        let kinds = s.app.store.audit_events(Some(&owner.account_id), 200).await.unwrap();
        let kinds: Vec<&str> = kinds.iter().map(|e| e.kind.as_str()).collect();
        for kind in ["passkey_registered", "passkey_removed"] {
            assert!(kinds.contains(&kind), "{backend:?}: {kind} in {kinds:?}");
        }
        assert_eq!(ok(&s.login(&owner.email, PW).await, 200)["methods"], json!(["totp"]));
        b.close().await;
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_that_resets_passkeys_leaves_none_and_the_48_hour_hold() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = passkey_server(backend).await;
        let owner = totp_owner(&s, "lost-passkey@example.com").await;
        let b = Browser::start(&localhost(&s)).await;
        b.goto("/signup").await;
        b.add_virtual_authenticator().await;
        let token = totp_sign_in(&s, &owner).await;
        s.sudo_totp(&token, &owner.backup_key).await;
        add_passkey(&s, &b, &token, "Old phone").await;
        // Used once, so staff see when.
        let (login_id, _) = password_step(&s, &owner.email).await;
        let path = format!("/api/v1/login/{login_id}/passkey");
        let options = ok(&s.post(&format!("{path}/options"), json!({}), None).await, 200);
        let signed = answer(&options, b.webauthn("get", &options["public_key"]).await);
        ok(&s.post(&path, signed, None).await, 200);
        b.close().await;

        // The phone that held the passkey and the authenticator is lost.
        let (login_id, _) = password_step(&s, &owner.email).await;
        let opened = ok(&s.post(&format!("/api/v1/login/{login_id}/recovery"), json!({}), None).await, 201);
        assert!(opened["items"].as_array().unwrap().contains(&json!("passkeys")), "{opened}");
        s.clock.advance(60);
        let case = submitted_case(&s, &owner, json!({"reset": ["passkeys", "authenticator"]})).await;
        let rev = s.staff_with_authenticator("rev@example.com", Role::Reviewer).await.token;
        let evidence = ok(&s.get(&format!("/api/v1/admin/recovery-cases/{}", case.id), Some(&rev)).await, 200);
        assert_eq!(evidence["reset_items"], json!(["authenticator", "passkeys"]), "{backend:?}");
        assert_eq!(evidence["passkeys"].as_array().unwrap().len(), 1, "{evidence}");
        assert_eq!(evidence["passkeys"][0]["name"], "Old phone");
        assert!(evidence["passkeys"][0]["last_used_at"].is_string(), "{evidence}");
        approve_case(&s, &case, &rev).await;
        let approved_at = s.now();

        // Back in with the password alone: no passkey, no authenticator,
        // and withdrawals held for 48 hours.
        let back = ok(&s.login(&owner.email, PW).await, 200);
        assert_eq!(back["status"], "authenticated", "{backend:?}: {back}");
        let token = back["session_token"].as_str().unwrap();
        assert_eq!(ok(&s.get("/api/v1/me/passkeys", Some(token)).await, 200)["passkeys"], json!([]));
        let me = ok(&s.get("/api/v1/me", Some(token)).await, 200);
        let until = twostep_web::time::rfc3339(approved_at + 48 * 3600);
        assert_eq!(me["withdrawals_blocked_until"], json!(until), "{backend:?}");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_password_is_reset_with_the_passkey_and_never_with_the_mailbox_alone() {
    const NEW_PW: &str = "a brand new password";
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = passkey_server(backend).await;
        let email = "forgot-passkey@example.com";
        s.verified_account(email, PW).await;
        let token = s.session(email, PW).await;
        s.sudo_password(&token).await;
        let b = Browser::start(&localhost(&s)).await;
        b.goto("/signup").await;
        b.add_virtual_authenticator().await;
        // The passkey is this account's only second factor.
        add_passkey(&s, &b, &token, "Phone").await;

        let asked = ok(&s.post("/api/v1/password-reset", json!({"email": email}), None).await, 202);
        assert_eq!(asked["status"], "code_sent");
        let code = s.code_to(email).await;
        let reset =
            ok(&s.post("/api/v1/password-reset/verify", json!({"email": email, "code": code}), None).await, 200);
        assert_eq!(reset["methods"], json!(["passkey"]), "{backend:?}");
        let path = |tail: &str| format!("/api/v1/password-reset/{}/{tail}", reset["reset_id"].as_str().unwrap());
        // The mailbox alone is not enough beside a passkey.
        assert_error(&s.post(&path("complete"), json!({"new_password": NEW_PW}), None).await, 400, "invalid_request");
        let options = ok(&s.post(&path("passkey-options"), json!({}), None).await, 200);
        let signed = answer(&options, b.webauthn("get", &options["public_key"]).await);
        let body = json!({"new_password": NEW_PW, "method": "passkey", "passkey": signed});
        let done = ok(&s.post(&path("complete"), body, None).await, 200);
        assert_eq!(done["status"], "password_reset", "{backend:?}");
        assert!(done["withdrawals_blocked_until"].is_string());
        // Every session ended; the new password passes the password step.
        assert_error(&s.get("/api/v1/me", Some(&token)).await, 401, "unauthorized");
        let (_, methods) = password_step_with(&s, email, NEW_PW).await;
        assert_eq!(methods, ["passkey"]);
        let told = s.messages_to(email).await;
        assert!(told.iter().any(|m| m["body"].as_str().unwrap_or("").contains("one of your passkeys")), "{told:?}");

        // The same on the pages: the reset page asks for the passkey.
        forgot_password(&b, &s, email).await;
        b.wait_for("#reset-passkey").await;
        assert!(!b.exists("#reset-form").await, "no code form beside a passkey alone");
        b.shoot("reset-passkey").await;
        b.fill("#f-new_password", "yet another new password").await;
        b.click_and_load("#reset-passkey-button").await;
        b.wait_for("#reset-done").await;
        assert_eq!(s.login(email, "yet another new password").await.0, 200);
        b.close().await;
        s.stop().await;
    }
}

#[tokio::test]
async fn with_an_ip_address_as_the_public_url_passkeys_are_off_and_say_why() {
    let s = TestServer::start(Backend::Sqlite).await;
    assert!(s.app.settings.public_url.contains("127.0.0.1"));
    let refused = s.post("/api/v1/passkey-sign-in/options", json!({}), None).await;
    assert_error(&refused, 409, "conflict");
    assert!(refused.1["error"]["message"].as_str().unwrap().contains("host name"), "{}", refused.1);
    // The sign-in page does not offer them.
    let page = s.client().get(format!("{}/login", s.url)).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("passkey-sign-in"), "no passkey form on the sign-in page");
    s.stop().await;
}
