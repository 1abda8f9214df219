//! The core story through the HTTP API, as an outside client does it: sign
//! up, confirm from the outbox, solve the captcha, enrol an authenticator
//! (codes from oathtool, not from twostep), sign in with it, and replay.

mod common;

use common::{assert_error, ok};
use serde_json::json;
use twostep_testkit::{Backend, TestServer, db::BOTH, oathtool};

const PW: &str = "correct horse battery";

async fn totp_login(s: &TestServer, email: &str) -> String {
    let body = ok(&s.login(email, PW).await, 200);
    assert_eq!(body["status"], "second_factor_required", "{body}");
    assert_eq!(body["methods"], json!(["totp"]));
    body["login_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn sign_up_enrol_sign_in_and_replay_on_both_backends() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        let email = "Alice@Example.com";
        let account_id = s.verified_account(email, PW).await;

        // No second factor yet: the password step signs in directly.
        let token = s.session("alice@example.com", PW).await;
        let me = ok(&s.get("/api/v1/me", Some(&token)).await, 200);
        assert_eq!(me["account_id"], account_id.as_str());
        assert_eq!(me["email"], "a•••@example.com");
        assert_eq!(me["factors"], json!({"totp": false, "phone": false, "email": true}));
        assert_eq!(me["withdrawals_blocked_until"], serde_json::Value::Null);

        // Enrolment needs the password typed again first (sudo mode); the
        // URI and QR code carry the backup key.
        assert_error(&s.post("/api/v1/me/totp", json!({}), Some(&token)).await, 403, "step_up_required");
        let wrong = json!({"method": "password", "password": "not it"});
        assert_error(&s.post("/api/v1/me/sudo", wrong, Some(&token)).await, 401, "invalid_credentials");
        let sudo =
            ok(&s.post("/api/v1/me/sudo", json!({"method": "password", "password": PW}), Some(&token)).await, 200);
        assert_eq!(sudo["method"], "password");
        let setup = ok(&s.post("/api/v1/me/totp", json!({}), Some(&token)).await, 201);
        let key = setup["backup_key"].as_str().unwrap();
        assert_eq!(key.len(), 32);
        assert_eq!(
            setup["otpauth_uri"],
            format!(
                "otpauth://totp/twostep:alice%40example.com?secret={key}&issuer=twostep&algorithm=SHA1&digits=6&period=30"
            )
        );
        assert!(
            setup["qr_svg"].as_str().unwrap().starts_with("<?xml")
                || setup["qr_svg"].as_str().unwrap().contains("<svg")
        );
        // The key must be typed back correctly.
        let wrong_key = format!("{}A", &key[..31]);
        let wrong_key = if wrong_key == key { format!("{}B", &key[..31]) } else { wrong_key };
        let r = s
            .post(
                "/api/v1/me/totp/confirm",
                json!({"setup_id": setup["setup_id"], "backup_key": wrong_key, "code": oathtool(key, s.now())}),
                Some(&token),
            )
            .await;
        assert_error(&r, 400, "invalid_request");
        let r = s
            .post(
                "/api/v1/me/totp/confirm",
                json!({"setup_id": setup["setup_id"], "backup_key": key, "code": "000000"}),
                Some(&token),
            )
            .await;
        assert_error(&r, 401, "invalid_code");
        let grouped = key
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap().to_lowercase())
            .collect::<Vec<_>>()
            .join(" ");
        let r = s
            .post(
                "/api/v1/me/totp/confirm",
                json!({"setup_id": setup["setup_id"], "backup_key": grouped, "code": oathtool(key, s.now())}),
                Some(&token),
            )
            .await;
        ok(&r, 200);
        let me = ok(&s.get("/api/v1/me", Some(&token)).await, 200);
        assert_eq!(me["factors"]["totp"], true);

        ok(&s.post("/api/v1/logout", json!({}), Some(&token)).await, 204);
        assert_error(&s.get("/api/v1/me", Some(&token)).await, 401, "unauthorized");

        // The enrolment code's step is used up; the next step's code signs in.
        s.clock.advance(30);
        let completed_id = totp_login(&s, email).await;
        let login_id = completed_id.clone();
        let code = oathtool(key, s.now());
        let auth = ok(&s.post(&format!("/api/v1/login/{login_id}/totp"), json!({"code": code}), None).await, 200);
        assert_eq!(auth["status"], "authenticated");
        let token = auth["session_token"].as_str().unwrap().to_owned();
        ok(&s.get("/api/v1/me", Some(&token)).await, 200);

        // The same code again, on a fresh login attempt, is refused and logged.
        let login_id = totp_login(&s, email).await;
        assert_error(
            &s.post(&format!("/api/v1/login/{login_id}/totp"), json!({"code": code}), None).await,
            401,
            "invalid_code",
        );
        let activity = ok(&s.get("/api/v1/me/activity", Some(&token)).await, 200);
        let kinds: Vec<&str> =
            activity["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        // Newest first: the refusal, then what it was, written together.
        assert_eq!(kinds[..2], ["totp_code_replayed", "second_factor_failed"], "{kinds:?}");
        assert!(kinds.contains(&"totp_enrolled") && kinds.contains(&"login_ok"), "{kinds:?}");
        assert_eq!(activity["events"][0]["ip"], "127.0.0.1");

        // A completed login cannot be completed again.
        s.clock.advance(30);
        let r =
            s.post(&format!("/api/v1/login/{completed_id}/totp"), json!({"code": oathtool(key, s.now())}), None).await;
        assert_error(&r, 409, "conflict");
        s.stop().await;
    }
}

#[tokio::test]
async fn one_code_sent_twice_at_once_is_accepted_exactly_once() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        s.verified_account("race@example.com", PW).await;
        let token = s.session("race@example.com", PW).await;
        let key = s.enrol_totp(&token).await;
        s.clock.advance(30);
        for round in 0..5 {
            let a = totp_login(&s, "race@example.com").await;
            let b = totp_login(&s, "race@example.com").await;
            let code = oathtool(&key, s.now());
            let (pa, pb) = (format!("/api/v1/login/{a}/totp"), format!("/api/v1/login/{b}/totp"));
            let (ra, rb) =
                tokio::join!(s.post(&pa, json!({"code": code}), None), s.post(&pb, json!({"code": code}), None),);
            let wins = [&ra, &rb].iter().filter(|r| r.0 == 200).count();
            assert_eq!(wins, 1, "{backend:?} round {round}: {ra:?} {rb:?}");
            let loser = if ra.0 == 200 { &rb } else { &ra };
            assert_error(loser, 401, "invalid_code");
            s.clock.advance(30);
        }
        s.stop().await;
    }
}

#[tokio::test]
async fn the_written_backup_key_restores_codes_in_any_app() {
    let mut settings = twostep_testkit::test_settings();
    settings.backup_key_length = twostep_domain::BackupKeyLength::Chars16;
    let s = TestServer::start_with(Backend::Sqlite, settings).await;
    s.verified_account("short@example.com", PW).await;
    let token = s.session("short@example.com", PW).await;
    let key = s.enrol_totp(&token).await;
    assert_eq!(key.len(), 16, "the 16-character (80-bit) setting");
    // A new phone: the user types the key from paper; oathtool stands for the app.
    for _ in 0..3 {
        s.clock.advance(30);
        let login_id = totp_login(&s, "short@example.com").await;
        let code = oathtool(&key.to_lowercase(), s.now());
        ok(&s.post(&format!("/api/v1/login/{login_id}/totp"), json!({"code": code}), None).await, 200);
    }
    // Codes one step early or late are still accepted (clock drift), two are not.
    s.clock.advance(60);
    let login_id = totp_login(&s, "short@example.com").await;
    assert_error(
        &s.post(&format!("/api/v1/login/{login_id}/totp"), json!({"code": oathtool(&key, s.now() - 60)}), None).await,
        401,
        "invalid_code",
    );
    ok(
        &s.post(&format!("/api/v1/login/{login_id}/totp"), json!({"code": oathtool(&key, s.now() + 30)}), None).await,
        200,
    );
    s.stop().await;
}

#[tokio::test]
async fn totp_secret_is_not_in_the_database_file_in_clear() {
    let s = TestServer::start(Backend::Sqlite).await;
    s.verified_account("vault@example.com", PW).await;
    let token = s.session("vault@example.com", PW).await;
    let key = s.enrol_totp(&token).await;
    let secret = data_encoding::BASE32_NOPAD.decode(key.as_bytes()).unwrap();
    s.store.close().await;
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&s.db.dir).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(bytes.len() > 4096);
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(contains(b"vault@example.com"), "the scan reads the real database");
    assert!(!contains(key.as_bytes()), "backup key stored in clear");
    assert!(!contains(&secret), "raw TOTP secret stored in clear");
    assert!(!contains(token.as_bytes()), "session token stored in clear");
    s.db.drop_database().await;
}

#[tokio::test]
async fn password_change_needs_a_code_revokes_other_sessions_and_holds_withdrawals() {
    let s = TestServer::start(Backend::Sqlite).await;
    s.verified_account("pw@example.com", PW).await;
    let token = s.session("pw@example.com", PW).await;
    let other = s.session("pw@example.com", PW).await;

    // Without an authenticator or a phone, the current password typed
    // again is the proof (with one, see takeover.rs).
    let bad_current = json!({"current_password": "not the password", "new_password": "new password 1"});
    assert_error(&s.post("/api/v1/me/password", bad_current, Some(&token)).await, 401, "invalid_credentials");
    let short = json!({"current_password": PW, "new_password": "short"});
    assert_error(&s.post("/api/v1/me/password", short, Some(&token)).await, 400, "invalid_request");
    let good = json!({"current_password": PW, "new_password": "new password 1"});
    ok(&s.post("/api/v1/me/password", good.clone(), Some(&token)).await, 200);
    let changed_at = s.now();

    ok(&s.get("/api/v1/me", Some(&token)).await, 200);
    assert_error(&s.get("/api/v1/me", Some(&other)).await, 401, "unauthorized");
    assert_error(&s.login("pw@example.com", PW).await, 401, "invalid_credentials");
    s.session("pw@example.com", "new password 1").await;

    // The 24-hour hold shows in /me and refuses withdrawals with `until`.
    let me = ok(&s.get("/api/v1/me", Some(&token)).await, 200);
    let until = me["withdrawals_blocked_until"].as_str().unwrap().to_owned();
    let w = json!({"asset": "BTC", "amount": "0.5", "address": "bc1qexample", "code": "000000"});
    let r = s.post("/api/v1/withdrawals", w.clone(), Some(&token)).await;
    assert_error(&r, 403, "security_hold");
    assert_eq!(r.1["error"]["until"], until.as_str());
    let until_s = time_of(&until);
    assert_eq!(until_s, changed_at + 86_400);

    // After the hold, a withdrawal with a fresh step-up code is recorded.
    s.clock.advance(86_401);
    assert!(ok(&s.get("/api/v1/me", Some(&s.session("pw@example.com", "new password 1").await)).await, 200)["withdrawals_blocked_until"].is_null());
    let token = s.session("pw@example.com", "new password 1").await;
    // Without an authenticator or phone the step-up code comes by e-mail.
    let sent = ok(&s.post("/api/v1/me/code", json!({"channel": "email"}), Some(&token)).await, 202);
    assert_eq!(sent["sent_to"], "p•••@example.com");
    assert_eq!(sent["resend_after_s"], 60);
    assert_error(&s.post("/api/v1/me/code", json!({"channel": "email"}), Some(&token)).await, 429, "too_many_attempts");
    assert_error(&s.post("/api/v1/me/code", json!({"channel": "sms"}), Some(&token)).await, 403, "step_up_required");
    let code = s.outbox_code("pw@example.com").await;
    let w = json!({"asset": "BTC", "amount": "0.5", "address": "bc1qexample", "code": code});
    let body = ok(&s.post("/api/v1/withdrawals", w.clone(), Some(&token)).await, 201);
    assert_eq!(body["status"], "requested");
    // The code is single use.
    assert_error(&s.post("/api/v1/withdrawals", w, Some(&token)).await, 401, "invalid_code");
    s.stop().await;
}

fn time_of(rfc3339: &str) -> i64 {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).unwrap().unix_timestamp()
}

#[tokio::test]
async fn disabling_the_authenticator_needs_a_code_and_sets_a_hold() {
    let s = TestServer::start(Backend::Sqlite).await;
    s.verified_account("off@example.com", PW).await;
    let token = s.session("off@example.com", PW).await;
    let key = s.enrol_totp(&token).await;
    s.sudo_totp(&token, &key).await;
    assert_error(&s.post("/api/v1/me/totp", json!({}), Some(&token)).await, 409, "conflict");
    assert_error(
        &s.post("/api/v1/me/totp/disable", json!({"code": "000000"}), Some(&token)).await,
        401,
        "invalid_code",
    );
    s.clock.advance(30);
    ok(&s.post("/api/v1/me/totp/disable", json!({"code": oathtool(&key, s.now())}), Some(&token)).await, 200);
    let me = ok(&s.get("/api/v1/me", Some(&token)).await, 200);
    assert_eq!(me["factors"]["totp"], false);
    assert_eq!(time_of(me["withdrawals_blocked_until"].as_str().unwrap()), s.now() + 86_400);
    // Without a factor the password step signs in directly again.
    s.session("off@example.com", PW).await;
    s.stop().await;
}

#[tokio::test]
async fn sessions_and_login_attempts_expire() {
    let s = TestServer::start(Backend::Sqlite).await;
    s.verified_account("exp@example.com", PW).await;
    let token = s.session("exp@example.com", PW).await;
    let key = s.enrol_totp(&token).await;
    s.clock.advance(12 * 3600);
    assert_error(&s.get("/api/v1/me", Some(&token)).await, 401, "unauthorized");
    let login_id = totp_login(&s, "exp@example.com").await;
    s.clock.advance(601);
    let r = s.post(&format!("/api/v1/login/{login_id}/totp"), json!({"code": oathtool(&key, s.now())}), None).await;
    assert_error(&r, 401, "unauthorized");
    s.stop().await;
}

/// m, t and p of a stored PHC string.
fn hash_params(phc: &str) -> (u32, u32, u32) {
    let phc = argon2::PasswordHash::new(phc).unwrap();
    let get = |name: &str| phc.params.get_decimal(name).unwrap();
    (get("m"), get("t"), get("p"))
}

#[tokio::test]
async fn a_hash_made_with_other_parameters_is_remade_at_the_next_sign_in() {
    use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, Version};
    use twostep_app::ports::AccountStore;
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        let id = s.verified_account("old@example.com", PW).await;
        // As an older configuration made it: more memory, another t.
        let older = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(2048, 2, 1, None).unwrap());
        let old_hash = older.hash_password(PW.as_bytes()).unwrap().to_string();
        s.store.set_password(&id, &old_hash).await.unwrap();
        let stored = || async { s.store.account_by_id(&id).await.unwrap().unwrap().password_hash };

        // A wrong password re-hashes nothing.
        assert_error(&s.login("old@example.com", "not the password").await, 401, "invalid_credentials");
        assert_eq!(stored().await, old_hash, "{backend:?}");

        // The right one signs in and leaves a hash with the configured
        // parameters (the test server's m=1024, t=1, p=1), of the same password.
        s.session("old@example.com", PW).await;
        let new_hash = stored().await;
        assert_ne!(new_hash, old_hash, "{backend:?}");
        assert!(new_hash.starts_with("$argon2id$v=19$"), "{new_hash}");
        assert_eq!(hash_params(&new_hash), (1024, 1, 1), "{backend:?}: {new_hash}");
        assert!(s.app.hasher.verify(PW, Some(&new_hash)).await.unwrap());

        // Already current: the next sign-in leaves it as it is.
        s.session("old@example.com", PW).await;
        assert_eq!(stored().await, new_hash, "{backend:?}");
    }
}
