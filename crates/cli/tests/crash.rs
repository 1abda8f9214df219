//! Crash tests: `twostep serve` is killed with SIGKILL in the middle of a
//! load of sign-ups, authenticator enrolments and TOTP sign-ins, restarted
//! on the same database, and must have kept every write it acknowledged: each
//! account it answered 201 for exists, each authenticator it confirmed is
//! bound, and each TOTP code it accepted is refused when replayed. SQLite's
//! integrity check and the audit log's hash chain must pass after every
//! crash. On SQLite and PostgreSQL.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{CrashSite, expect, outbox_code, try_call as call};
use serde_json::json;
use twostep_testkit::{Backend, oathtool};

const PW: &str = "correct horse battery";
const CRASHES: usize = 3;

/// What the server acknowledged before it died.
#[derive(Clone, Default)]
struct Acknowledged {
    /// Accounts answered 201 (e-mail, verified).
    accounts: Vec<(String, bool)>,
    /// Authenticators confirmed with 200: (e-mail, backup key).
    enrolled: Vec<(String, String)>,
    /// TOTP codes accepted at sign-in: (e-mail, code).
    used_codes: Vec<(String, String)>,
}

/// One user's life, recording each write the server acknowledges: sign up,
/// confirm, enrol an authenticator, sign in with it once.
async fn user(url: String, email: String, ack: Arc<Mutex<Acknowledged>>) -> Option<()> {
    expect(call(&url, "POST", "/api/v1/accounts", Some(json!({"email": email, "password": PW})), None).await?, 202)?;
    ack.lock().unwrap().accounts.push((email.clone(), false));
    let code = outbox_code(&url, &email, 0).await?;
    let verify = json!({"email": email, "code": code});
    expect(call(&url, "POST", "/api/v1/accounts/verify-email", Some(verify), None).await?, 200)?;
    ack.lock().unwrap().accounts.push((email.clone(), true));
    let login =
        expect(call(&url, "POST", "/api/v1/login", Some(json!({"email": email, "password": PW})), None).await?, 200)?;
    let token = login["session_token"].as_str()?.to_owned();
    let sudo = json!({"method": "password", "password": PW});
    expect(call(&url, "POST", "/api/v1/me/sudo", Some(sudo), Some(&token)).await?, 200)?;
    let setup = expect(call(&url, "POST", "/api/v1/me/totp", Some(json!({})), Some(&token)).await?, 201)?;
    let key = setup["backup_key"].as_str()?.to_owned();
    let confirm = json!({"setup_id": setup["setup_id"], "backup_key": key, "code": oathtool(&key, common::now())});
    expect(call(&url, "POST", "/api/v1/me/totp/confirm", Some(confirm), Some(&token)).await?, 200)?;
    ack.lock().unwrap().enrolled.push((email.clone(), key.clone()));
    let login =
        expect(call(&url, "POST", "/api/v1/login", Some(json!({"email": email, "password": PW})), None).await?, 200)?;
    let path = format!("/api/v1/login/{}/totp", login["login_id"].as_str()?);
    // The next step's code (one step of drift is allowed): the current one
    // went into the enrolment.
    let code = oathtool(&key, common::now() + 30);
    expect(call(&url, "POST", &path, Some(json!({"code": code})), None).await?, 200)?;
    ack.lock().unwrap().used_codes.push((email, code));
    Some(())
}

/// After a restart: every acknowledged write is there, no code replays.
async fn check_after_restart(l: &str, url: &str, ack: &Acknowledged) -> usize {
    let mut checked = 0;
    for (email, verified) in &ack.accounts {
        let (status, body) =
            call(url, "POST", "/api/v1/login", Some(json!({"email": email, "password": PW})), None).await.unwrap();
        if *verified {
            assert_eq!(status, 200, "{l}: {email}: an acknowledged, confirmed account: {body}");
        } else {
            assert!(
                status == 200 || body["error"]["code"] == "email_unverified",
                "{l}: {email}: an acknowledged sign-up is gone: {status} {body}"
            );
        }
        checked += 1;
    }
    for (email, _key) in &ack.enrolled {
        let (status, body) =
            call(url, "POST", "/api/v1/login", Some(json!({"email": email, "password": PW})), None).await.unwrap();
        assert_eq!(
            (status, body["status"].as_str()),
            (200, Some("second_factor_required")),
            "{l}: {email}: a confirmed authenticator is gone: {body}"
        );
        checked += 1;
    }
    for (email, code) in &ack.used_codes {
        let (_, login) =
            call(url, "POST", "/api/v1/login", Some(json!({"email": email, "password": PW})), None).await.unwrap();
        let path = format!("/api/v1/login/{}/totp", login["login_id"].as_str().unwrap());
        let (status, body) = call(url, "POST", &path, Some(json!({"code": code})), None).await.unwrap();
        // Replays within the code's lifetime are what matter; an older code
        // is refused for its age alone, which proves nothing but is no harm.
        assert_eq!(status, 401, "{l}: {email}: a used code signed in again after the crash: {body}");
        checked += 1;
    }
    checked
}

async fn crash_and_recover(backend: Backend) {
    let site = CrashSite::new(backend, &[]).await;
    let l = site.label.clone();
    let ack = Arc::new(Mutex::new(Acknowledged::default()));
    let mut survived = 0;
    for crash in 0..CRASHES {
        let server = site.serve();
        let acked = ack.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let checked = check_after_restart(&l, &server.url, &acked).await;
        // New users keep arriving; the plug is pulled once this round has
        // seen a few sign-ins complete, so others are mid-way at that moment.
        let codes_before = ack.lock().unwrap().used_codes.len();
        let mut users = Vec::new();
        let started = std::time::Instant::now();
        let mut n = 0;
        while ack.lock().unwrap().used_codes.len() < codes_before + 3 + crash
            && started.elapsed() < Duration::from_secs(60)
        {
            if users.len() < 12 {
                users.push(tokio::spawn(user(
                    server.url.clone(),
                    format!("crash-{crash}-{n}@example.com"),
                    ack.clone(),
                )));
                n += 1;
            }
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        drop(server); // SIGKILL, no graceful shutdown
        for u in users {
            u.await.expect("a user task panicked: the server answered 5xx");
        }
        site.check_storage(crash);
        survived += 1;
        let a = ack.lock().unwrap();
        println!(
            "{l}: crash {crash} survived; {checked} earlier writes checked; acknowledged so far: {} sign-ups, {} enrolments, {} codes",
            a.accounts.len(),
            a.enrolled.len(),
            a.used_codes.len()
        );
    }
    // A last restart checks the writes acknowledged before the last crash.
    let server = site.serve();
    let acked = ack.lock().unwrap().clone();
    let checked = check_after_restart(&l, &server.url, &acked).await;
    drop(server);
    {
        let a = ack.lock().unwrap();
        assert!(
            !a.enrolled.is_empty() && !a.used_codes.is_empty(),
            "{l}: the load never reached enrolments and sign-ins"
        );
    }
    println!("{l}: {survived} crashes survived, {checked} acknowledged writes checked after the last");
    site.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_every_acknowledged_write_across_kill_9() {
    crash_and_recover(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_every_acknowledged_write_across_kill_9() {
    crash_and_recover(Backend::Postgres).await;
}
