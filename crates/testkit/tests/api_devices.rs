//! New-device confirmation through the HTTP API (issue 19): a sign-in that
//! passed every step on a device the account has not confirmed opens no
//! session until the account's e-mail approves it; the approval is single
//! use and bound to its sign-in; "deny" freezes the account; the device list
//! with "sign out this device" and "forget it"; the owner's switch (off only
//! in sudo mode); the e-mail caps. On SQLite and PostgreSQL.

mod common;

use common::{assert_error, ok};
use serde_json::{Value, json};
use twostep_app::Settings;
use twostep_app::ports::{AccountStore, AuditStore};
use twostep_domain::device::DeviceConfirmationPolicy;
use twostep_testkit::db::BOTH;
use twostep_testkit::recovery::{Owner, PW, totp_owner};
use twostep_testkit::rp::{self, Receiver};
use twostep_testkit::{TestServer, oathtool, test_settings};

/// The server default: accounts with withdrawals (and staff) confirm.
fn settings(policy: DeviceConfirmationPolicy) -> Settings {
    Settings { device_confirmation: policy, ..test_settings() }
}

/// The password step, with the device token when given.
async fn password_step(s: &TestServer, email: &str, device: Option<&str>) -> Value {
    let captcha = s.solved_captcha().await;
    let mut body = json!({"email": email, "password": PW, "captcha": captcha});
    if let Some(d) = device {
        body["device_token"] = json!(d);
    }
    ok(&s.post("/api/v1/login", body, None).await, 200)
}

/// Password and a fresh authenticator code from `device` (None: a client
/// never seen); the second step's answer.
async fn sign_in(s: &TestServer, owner: &Owner, device: Option<&str>) -> Value {
    let login = password_step(s, &owner.email, device).await;
    assert_eq!(login["status"], "second_factor_required", "{login}");
    s.clock.advance(30);
    let mut body = json!({"code": oathtool(&owner.backup_key, s.now())});
    if let Some(d) = device {
        body["device_token"] = json!(d);
    }
    let path = format!("/api/v1/login/{}/totp", login["login_id"].as_str().unwrap());
    ok(&s.post(&path, body, None).await, 200)
}

async fn finish(s: &TestServer, login_id: &Value, device: &Value) -> (reqwest::StatusCode, Value) {
    let path = format!("/api/v1/login/{}/device", login_id.as_str().unwrap());
    s.post(&path, json!({"device_token": device}), None).await
}

/// The link token of the newest "Was this you?" e-mail to `to`.
async fn link_token(s: &TestServer, to: &str) -> String {
    s.settle().await;
    let (_, outbox) = s.get(&format!("/api/v1/dev/outbox?to={to}"), None).await;
    let messages = outbox["messages"].as_array().unwrap();
    let body = messages
        .iter()
        .filter_map(|m| m["body"].as_str())
        .find(|b| b.contains("/device-confirmation?token="))
        .unwrap_or_else(|| panic!("no confirmation e-mail to {to}: {outbox}"));
    let start = body.find("token=").unwrap() + "token=".len();
    body[start..].split('&').next().unwrap().to_owned()
}

async fn answer(s: &TestServer, token: &str, answer: &str) -> (reqwest::StatusCode, Value) {
    s.post("/api/v1/device-confirmation", json!({"token": token, "answer": answer}), None).await
}

/// An owner with an authenticator, new-device confirmation switched on by
/// its owner, and one device approved: (owner, session, that device's token).
async fn confirming_owner(s: &TestServer, email: &str) -> (Owner, String, String) {
    let owner = totp_owner(s, email).await;
    let first = sign_in(s, &owner, None).await;
    assert_eq!(first["status"], "authenticated", "not on by default without withdrawals: {first}");
    let token = first["session_token"].as_str().unwrap().to_owned();
    let on =
        ok(&s.call("PUT", "/api/v1/me/device-confirmation", Some(json!({"enabled": true})), Some(&token)).await, 200);
    assert_eq!(on["new_device_confirmation"], true);
    (owner, token, first["device_token"].as_str().unwrap().to_owned())
}

async fn activity_kinds(s: &TestServer, token: &str) -> Vec<String> {
    let body = ok(&s.get("/api/v1/me/activity", Some(token)).await, 200);
    body["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_new_device_waits_for_the_emails_approval_and_a_known_one_does_not() {
    for backend in BOTH {
        let s = TestServer::start_with(backend, settings(DeviceConfirmationPolicy::Withdrawals)).await;
        let (owner, owner_token, known) = confirming_owner(&s, "new-device@example.com").await;

        // Password + second factor on a new device: no session yet.
        let pending = sign_in(&s, &owner, None).await;
        assert_eq!(pending["status"], "device_confirmation_required", "{backend:?}: {pending}");
        assert!(pending.get("session_token").is_none(), "{pending}");
        let device = pending["device_token"].clone();
        assert!(device.as_str().is_some_and(|d| d.len() >= 43), "{pending}");
        assert_error(&finish(&s, &pending["login_id"], &device).await, 409, "conflict");
        // The login id alone, or with another device's token, opens nothing.
        assert_error(&finish(&s, &pending["login_id"], &json!(known)).await, 404, "not_found");
        assert_error(&finish(&s, &pending["login_id"], &Value::Null).await, 404, "not_found");

        // The e-mail's link approves it, once.
        let link = link_token(&s, &owner.email).await;
        let approved = ok(&answer(&s, &link, "approve").await, 200);
        assert_eq!(approved, json!({"status": "approved", "account_frozen": false}));
        assert_error(&answer(&s, &link, "approve").await, 409, "conflict");
        assert_error(&answer(&s, &link, "deny").await, 409, "conflict");

        let done = ok(&finish(&s, &pending["login_id"], &device).await, 200);
        assert_eq!(done["status"], "authenticated", "{done}");
        assert_eq!(done["device_token"], device);
        let session = done["session_token"].as_str().unwrap();
        ok(&s.get("/api/v1/me", Some(session)).await, 200);
        // The session is handed out once.
        assert_error(&finish(&s, &pending["login_id"], &device).await, 409, "conflict");

        // The approved device signs in with its second factor alone next time.
        let again = sign_in(&s, &owner, device.as_str()).await;
        assert_eq!(again["status"], "authenticated", "{again}");
        assert_eq!(again["device_token"], device);

        let kinds = activity_kinds(&s, &owner_token).await;
        for kind in ["device_confirmation_sent", "device_confirmed", "second_factor_ok", "device_confirmation_setting"]
        {
            assert!(kinds.iter().any(|k| k == kind), "{backend:?}: {kind} in {kinds:?}");
        }
        s.stop().await;
    }
}

#[tokio::test]
async fn deny_ends_the_sign_in_and_freezes_the_account() {
    for backend in BOTH {
        let s = TestServer::start_with(backend, settings(DeviceConfirmationPolicy::All)).await;
        // With `all`, the first sign-in of a new account needs the e-mail too.
        let owner_email = "deny@example.com";
        s.verified_account(owner_email, PW).await;
        let first = password_step(&s, owner_email, None).await;
        assert_eq!(first["status"], "device_confirmation_required", "{backend:?}: {first}");
        ok(&answer(&s, &link_token(&s, owner_email).await, "approve").await, 200);
        let owner = ok(&finish(&s, &first["login_id"], &first["device_token"]).await, 200);
        let owner_session = owner["session_token"].as_str().unwrap().to_owned();

        // A thief with the password, on another device.
        let thief = password_step(&s, owner_email, None).await;
        assert_eq!(thief["status"], "device_confirmation_required", "{thief}");
        let denied = ok(&answer(&s, &link_token(&s, owner_email).await, "deny").await, 200);
        assert_eq!(denied, json!({"status": "denied", "account_frozen": true}));

        assert_error(&finish(&s, &thief["login_id"], &thief["device_token"]).await, 403, "forbidden");
        assert_error(&s.get("/api/v1/me", Some(&owner_session)).await, 401, "unauthorized");
        let captcha = s.solved_captcha().await;
        let again =
            s.post("/api/v1/login", json!({"email": owner_email, "password": PW, "captcha": captcha}), None).await;
        assert_error(&again, 403, "forbidden");
        let account = s.store.account_by_email(owner_email).await.unwrap().unwrap();
        assert!(account.frozen_at.is_some(), "{backend:?}: frozen");
        s.settle().await;
        let (_, outbox) = s.get(&format!("/api/v1/dev/outbox?to={owner_email}"), None).await;
        assert!(outbox["messages"][0]["body"].as_str().unwrap().contains("frozen"), "{outbox}");
        let audit = s.store.audit_events(Some(&account.id), 50).await.unwrap();
        for kind in ["device_denied", "account_frozen"] {
            assert!(audit.iter().any(|e| e.kind == kind), "{backend:?}: {kind}");
        }
        s.stop().await;
    }
}

#[tokio::test]
async fn an_approval_is_bound_to_its_sign_in_and_dies_with_it() {
    for backend in BOTH {
        let s = TestServer::start_with(backend, settings(DeviceConfirmationPolicy::Withdrawals)).await;
        let (owner, _, _) = confirming_owner(&s, "bound@example.com").await;
        let a = sign_in(&s, &owner, None).await;
        let link_a = link_token(&s, &owner.email).await;
        let b = sign_in(&s, &owner, None).await;
        let link_b = link_token(&s, &owner.email).await;
        assert_ne!(link_a, link_b);
        ok(&answer(&s, &link_a, "approve").await, 200);
        // B's sign-in still waits, and A's token does not finish it.
        assert_error(&finish(&s, &b["login_id"], &b["device_token"]).await, 409, "conflict");
        assert_error(&finish(&s, &b["login_id"], &a["device_token"]).await, 404, "not_found");
        ok(&finish(&s, &a["login_id"], &a["device_token"]).await, 200);

        // B's sign-in expires with its link unanswered.
        s.clock.advance(s.app.settings.login_ttl_s + 1);
        assert_error(&answer(&s, &link_b, "approve").await, 409, "conflict");
        assert_error(&finish(&s, &b["login_id"], &b["device_token"]).await, 401, "unauthorized");
        // Only the mailbox: an unknown link approves nothing.
        assert_error(&answer(&s, "not-a-link-token", "approve").await, 404, "not_found");
        assert_error(&answer(&s, &link_b, "maybe").await, 400, "invalid_request");
        s.stop().await;
    }
}

#[tokio::test]
async fn devices_are_listed_signed_out_and_forgotten() {
    for backend in BOTH {
        let s = TestServer::start_with(backend, settings(DeviceConfirmationPolicy::Withdrawals)).await;
        let (owner, _, _) = confirming_owner(&s, "list@example.com").await;
        let mut devices = Vec::new();
        for _ in 0..2 {
            let p = sign_in(&s, &owner, None).await;
            ok(&answer(&s, &link_token(&s, &owner.email).await, "approve").await, 200);
            let done = ok(&finish(&s, &p["login_id"], &p["device_token"]).await, 200);
            devices.push((
                done["device_token"].as_str().unwrap().to_owned(),
                done["session_token"].as_str().unwrap().to_owned(),
            ));
        }
        let (x, y) = (&devices[0], &devices[1]);
        let (status, body) = s.get("/api/v1/me/devices", Some(&x.1)).await;
        assert_eq!(status, 200, "{body}");
        let listed = body["devices"].as_array().unwrap();
        // The sign-in that set the account up, the first approved one, two new.
        assert_eq!(listed.len(), 4, "{backend:?}: {body}");
        let current: Vec<&Value> = listed.iter().filter(|d| d["current"] == true).collect();
        assert_eq!(current.len(), 1, "{body}");
        for d in listed {
            assert_eq!(d["place"], "this_computer", "{d}");
            assert_eq!(d["ip"], "127.0.0.1", "{d}");
            for field in ["device_id", "first_seen_at", "last_seen_at", "browser"] {
                assert!(d[field].as_str().is_some_and(|v| !v.is_empty()), "{field} in {d}");
            }
        }
        let text = body.to_string();
        assert!(!text.contains(&x.0) && !text.contains(&y.0), "no device token in the list");
        assert_eq!(body["new_device_confirmation"], true);

        // Y's entry: the one whose sign-out ends Y's session.
        let y_id = {
            let (_, by_y) = s.get("/api/v1/me/devices", Some(&y.1)).await;
            by_y["devices"].as_array().unwrap().iter().find(|d| d["current"] == true).unwrap()["device_id"].clone()
        };
        let y_id = y_id.as_str().unwrap();
        let out = ok(&s.post(&format!("/api/v1/me/devices/{y_id}/sign-out"), json!({}), Some(&x.1)).await, 200);
        assert_eq!(out["sessions_ended"], 1);
        assert_error(&s.get("/api/v1/me", Some(&y.1)).await, 401, "unauthorized");
        ok(&s.get("/api/v1/me", Some(&x.1)).await, 200);
        // Signed out, still known: no new confirmation.
        let back = sign_in(&s, &owner, Some(&y.0)).await;
        assert_eq!(back["status"], "authenticated", "{back}");
        let y_session = back["session_token"].as_str().unwrap().to_owned();

        // Forgotten: its session ends and its next sign-in is a new device's.
        let (status, _) = s.call("DELETE", &format!("/api/v1/me/devices/{y_id}"), None, Some(&x.1)).await;
        assert_eq!(status, 204);
        assert_error(&s.get("/api/v1/me", Some(&y_session)).await, 401, "unauthorized");
        let again = sign_in(&s, &owner, Some(&y.0)).await;
        assert_eq!(again["status"], "device_confirmation_required", "{again}");
        assert_error(
            &s.call("DELETE", &format!("/api/v1/me/devices/{y_id}"), None, Some(&x.1)).await,
            404,
            "not_found",
        );

        // Another account's device is not found.
        let other = s.verified_account("other@example.com", PW).await;
        let other_token = s.session("other@example.com", PW).await;
        assert!(!other.is_empty());
        let x_id = body["devices"].as_array().unwrap().iter().find(|d| d["current"] == true).unwrap()["device_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("/api/v1/me/devices/{x_id}/sign-out");
        assert_error(&s.post(&path, json!({}), Some(&other_token)).await, 404, "not_found");
        ok(&s.get("/api/v1/me", Some(&x.1)).await, 200);

        let kinds = activity_kinds(&s, &x.1).await;
        for kind in ["device_signed_out", "device_forgotten"] {
            assert!(kinds.iter().any(|k| k == kind), "{backend:?}: {kind} in {kinds:?}");
        }
        s.stop().await;
    }
}

#[tokio::test]
async fn withdrawals_turn_it_on_and_only_sudo_turns_it_off() {
    for backend in BOTH {
        let s = TestServer::start_with(backend, settings(DeviceConfirmationPolicy::Withdrawals)).await;
        let owner = totp_owner(&s, "withdraws@example.com").await;
        let first = sign_in(&s, &owner, None).await;
        assert_eq!(first["status"], "authenticated", "{first}");
        let token = first["session_token"].as_str().unwrap().to_owned();
        s.clock.advance(30);
        let w = json!({"asset": "ETH", "amount": "1", "address": "0xexample",
                       "code": oathtool(&owner.backup_key, s.now())});
        ok(&s.post("/api/v1/withdrawals", w, Some(&token)).await, 201);
        // An account with withdrawals confirms new devices by default.
        let pending = sign_in(&s, &owner, None).await;
        assert_eq!(pending["status"], "device_confirmation_required", "{backend:?}: {pending}");

        // Switching it off needs sudo mode (the withdrawal's code was a proof:
        // let it lapse); the session alone is refused.
        s.clock.advance(s.app.settings.sudo_ttl_s + 1);
        let off = json!({"enabled": false});
        let refused = s.call("PUT", "/api/v1/me/device-confirmation", Some(off.clone()), Some(&token)).await;
        assert_error(&refused, 403, "step_up_required");
        let pending = sign_in(&s, &owner, None).await;
        assert_eq!(pending["status"], "device_confirmation_required", "still on: {pending}");
        s.sudo_totp(&token, &owner.backup_key).await;
        let done = ok(&s.call("PUT", "/api/v1/me/device-confirmation", Some(off), Some(&token)).await, 200);
        assert_eq!(done["new_device_confirmation"], false);
        s.settle().await;
        let (_, outbox) = s.get(&format!("/api/v1/dev/outbox?to={}", owner.email), None).await;
        assert!(outbox["messages"][0]["body"].as_str().unwrap().contains("no longer need"), "{outbox}");
        let direct = sign_in(&s, &owner, None).await;
        assert_eq!(direct["status"], "authenticated", "{direct}");
        let bad = s.call("PUT", "/api/v1/me/device-confirmation", Some(json!({"enabled": "yes"})), Some(&token)).await;
        assert_error(&bad, 400, "invalid_request");
        s.stop().await;
    }
}

#[tokio::test]
async fn confirmation_emails_are_capped_per_account() {
    for backend in BOTH {
        let s = TestServer::start_with(backend, settings(DeviceConfirmationPolicy::All)).await;
        let email = "capped@example.com";
        s.verified_account(email, PW).await;
        let cap = s.app.settings.emails_per_address_per_hour;
        for _ in 0..cap {
            let p = password_step(&s, email, None).await;
            assert_eq!(p["status"], "device_confirmation_required", "{p}");
        }
        let captcha = s.solved_captcha().await;
        let over = s.post("/api/v1/login", json!({"email": email, "password": PW, "captcha": captcha}), None).await;
        assert_error(&over, 429, "too_many_attempts");
        assert!(over.1["error"]["retry_after_s"].as_i64().is_some_and(|r| r > 0), "{:?}", over.1);
        s.stop().await;
    }
}

#[tokio::test]
async fn staff_always_confirm_new_devices() {
    for backend in BOTH {
        let s = TestServer::start_with(backend, settings(DeviceConfirmationPolicy::Withdrawals)).await;
        let email = "reviewer@example.com";
        s.app.add_staff(email, PW, twostep_domain::Role::Reviewer).await.unwrap();
        let first = password_step(&s, email, None).await;
        assert_eq!(first["status"], "device_confirmation_required", "{backend:?}: no withdrawals, but staff: {first}");
        ok(&answer(&s, &link_token(&s, email).await, "approve").await, 200);
        let done = ok(&finish(&s, &first["login_id"], &first["device_token"]).await, 200);
        let token = done["session_token"].as_str().unwrap();
        ok(&s.post("/api/v1/me/sudo", json!({"method": "password", "password": PW}), Some(token)).await, 200);
        let off = s.call("PUT", "/api/v1/me/device-confirmation", Some(json!({"enabled": false})), Some(token)).await;
        assert_eq!(ok(&off, 200)["new_device_confirmation"], true, "staff cannot switch it off");
        let again = password_step(&s, email, None).await;
        assert_eq!(again["status"], "device_confirmation_required", "{again}");
        s.stop().await;
    }
}

#[tokio::test]
async fn a_password_change_ends_a_sign_in_waiting_for_the_email() {
    for backend in BOTH {
        let s = TestServer::start_with(backend, settings(DeviceConfirmationPolicy::Withdrawals)).await;
        let (owner, owner_token, _) = confirming_owner(&s, "changes@example.com").await;
        let pending = sign_in(&s, &owner, None).await;
        assert_eq!(pending["status"], "device_confirmation_required", "{pending}");
        let link = link_token(&s, &owner.email).await;
        s.sudo_totp(&owner_token, &owner.backup_key).await;
        let change = json!({"current_password": PW, "new_password": "another long password"});
        ok(&s.post("/api/v1/me/password", change, Some(&owner_token)).await, 200);
        // The approval of the sign-in made with the old password does nothing.
        assert_error(&answer(&s, &link, "approve").await, 409, "conflict");
        assert_error(&finish(&s, &pending["login_id"], &pending["device_token"]).await, 401, "unauthorized");
        s.stop().await;
    }
}

/// The session an approval opens claims what its sign-in proved (here the
/// authenticator) and the mailbox that approved it, as an application
/// signing the person in with it hears in the ID token.
#[tokio::test]
async fn a_session_opened_by_an_approval_claims_what_its_sign_in_proved() {
    for backend in BOTH {
        let mut settings = settings(DeviceConfirmationPolicy::Withdrawals);
        settings.public_url = "http://127.0.0.1:{port}".into();
        let s = TestServer::start_with(backend, settings).await;
        let (owner, _, _) = confirming_owner(&s, "held-factors@example.com").await;
        let pending = sign_in(&s, &owner, None).await;
        assert_eq!(pending["status"], "device_confirmation_required", "{backend:?}: {pending}");
        let link = link_token(&s, &owner.email).await;
        ok(&answer(&s, &link, "approve").await, 200);
        let done = ok(&finish(&s, &pending["login_id"], &pending["device_token"]).await, 200);
        let session = done["session_token"].as_str().unwrap();

        let rx = Receiver::start().await;
        let app = rp::register(&s, &rx, "wallet", false, true).await;
        // Asked after the sign-in (one that follows the request is a step-up).
        s.clock.advance(5);
        let tokens = rp::sign_in(&s, &rx, &app, (session, &owner.backup_key), &[]).await;
        let payload = tokens["id_token"].as_str().unwrap().split('.').nth(1).unwrap().to_owned();
        let claims: Value =
            serde_json::from_slice(&data_encoding::BASE64URL_NOPAD.decode(payload.as_bytes()).unwrap()).unwrap();
        assert_eq!(claims["amr"], json!(["pwd", "otp", "email", "mfa"]), "{backend:?}: {claims}");
        assert_eq!(claims["acr"], "urn:twostep:acr:mfa", "{backend:?}: {claims}");
        s.stop().await;
    }
}

/// "Sign out this device" also ends a sign-in of it that was approved but
/// has not taken its session yet.
#[tokio::test]
async fn signing_a_device_out_ends_its_approved_sign_in_not_yet_taken() {
    for backend in BOTH {
        let s = TestServer::start_with(backend, settings(DeviceConfirmationPolicy::Withdrawals)).await;
        let (owner, owner_token, _) = confirming_owner(&s, "out-held@example.com").await;
        let ids = |body: Value| -> Vec<String> {
            body["devices"].as_array().unwrap().iter().map(|d| d["device_id"].as_str().unwrap().to_owned()).collect()
        };
        let before = ids(ok(&s.get("/api/v1/me/devices", Some(&owner_token)).await, 200));
        let pending = sign_in(&s, &owner, None).await;
        assert_eq!(pending["status"], "device_confirmation_required", "{backend:?}: {pending}");
        ok(&answer(&s, &link_token(&s, &owner.email).await, "approve").await, 200);
        let after = ids(ok(&s.get("/api/v1/me/devices", Some(&owner_token)).await, 200));
        let held: Vec<&String> = after.iter().filter(|d| !before.contains(d)).collect();
        assert_eq!(held.len(), 1, "{backend:?}: {after:?}");
        let path = format!("/api/v1/me/devices/{}/sign-out", held[0]);
        ok(&s.post(&path, json!({}), Some(&owner_token)).await, 200);
        assert_error(&finish(&s, &pending["login_id"], &pending["device_token"]).await, 409, "conflict");
        s.stop().await;
    }
}

/// An approval a password change overtook confirms nothing: the device
/// still needs the e-mail at its next sign-in.
#[tokio::test]
async fn an_approval_overtaken_by_a_password_change_leaves_the_device_unconfirmed() {
    for backend in BOTH {
        let s = TestServer::start_with(backend, settings(DeviceConfirmationPolicy::Withdrawals)).await;
        let (owner, owner_token, _) = confirming_owner(&s, "overtaken@example.com").await;
        let pending = sign_in(&s, &owner, None).await;
        assert_eq!(pending["status"], "device_confirmation_required", "{backend:?}: {pending}");
        let device = pending["device_token"].as_str().unwrap().to_owned();
        ok(&answer(&s, &link_token(&s, &owner.email).await, "approve").await, 200);
        s.sudo_totp(&owner_token, &owner.backup_key).await;
        let new_password = "another long password";
        let change = json!({"current_password": PW, "new_password": new_password});
        ok(&s.post("/api/v1/me/password", change, Some(&owner_token)).await, 200);
        assert_error(&finish(&s, &pending["login_id"], &json!(device)).await, 401, "unauthorized");

        let captcha = s.solved_captcha().await;
        let body = json!({"email": owner.email, "password": new_password, "captcha": captcha, "device_token": device});
        let login = ok(&s.post("/api/v1/login", body, None).await, 200);
        s.clock.advance(30);
        let path = format!("/api/v1/login/{}/totp", login["login_id"].as_str().unwrap());
        let code = oathtool(&owner.backup_key, s.now());
        let again = ok(&s.post(&path, json!({"code": code, "device_token": device}), None).await, 200);
        assert_eq!(again["status"], "device_confirmation_required", "{backend:?}: {again}");
        s.stop().await;
    }
}
