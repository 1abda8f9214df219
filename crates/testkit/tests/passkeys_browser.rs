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
use twostep_testkit::recovery::{PW, totp_owner};
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
    let step = ok(&s.login(email, PW).await, 200);
    assert_eq!(step["status"], "second_factor_required", "{step}");
    let methods = step["methods"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_owned()).collect();
    (step["login_id"].as_str().unwrap().to_owned(), methods)
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
        b.goto("/login").await;
        let authenticator = b.add_virtual_authenticator().await;

        // Adding one needs sudo mode: a session alone is refused.
        s.clock.advance(30);
        let token = {
            let (login_id, _) = password_step(&s, &owner.email).await;
            let code = oathtool(&owner.backup_key, s.now());
            let done = ok(&s.post(&format!("/api/v1/login/{login_id}/totp"), json!({"code": code}), None).await, 200);
            done["session_token"].as_str().unwrap().to_owned()
        };
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

        // Sudo mode by the passkey (the real key, counting on), then removal.
        b.set_sign_count(&authenticator, &credentials[0], count + 10).await;
        let options = ok(&s.post("/api/v1/me/sudo/passkey-options", json!({}), Some(&other)).await, 200);
        let signed = answer(&options, b.webauthn("get", &options["public_key"]).await);
        let sudo =
            ok(&s.post("/api/v1/me/sudo", json!({"method": "passkey", "passkey": signed}), Some(&other)).await, 200);
        assert_eq!(sudo["method"], "passkey");
        let list = ok(&s.get("/api/v1/me/passkeys", Some(&other)).await, 200);
        let id = list["passkeys"][0]["id"].as_str().unwrap().to_owned();
        assert!(list["passkeys"][0]["last_used_at"].is_string(), "{list}");
        assert_eq!(s.call("DELETE", &format!("/api/v1/me/passkeys/{id}"), None, Some(&other)).await.0, 204);
        assert_eq!(ok(&s.get("/api/v1/me/passkeys", Some(&other)).await, 200)["passkeys"], json!([]));
        let (_, methods) = password_step(&s, &owner.email).await;
        assert!(!methods.contains(&"passkey".to_owned()), "{methods:?}");
        let kinds = activity_kinds(&s, &other).await;
        for kind in ["passkey_registered", "passkey_removed", "sudo_granted"] {
            assert!(kinds.contains(&kind.to_owned()), "{backend:?}: {kind} in {kinds:?}");
        }
        b.close().await;
        s.stop().await;
    }
}
