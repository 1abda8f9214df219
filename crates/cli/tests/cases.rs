//! `twostep cases list|show|approve|reject` as an operator runs them, on the
//! database a test server fills with real recovery cases: decisions need a
//! named staff account that may review (with an authenticator bound) and
//! land exactly as an approval over the API would.

mod common;

use common::{data_dir_with_key, run, run_env, temp_dir};
use serde_json::json;
use twostep_domain::Role;
use twostep_testkit::recovery::{PW, submitted_case, totp_owner};
use twostep_testkit::{Backend, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_queue_from_the_command_line() {
    let s = TestServer::start(Backend::Sqlite).await;
    let alice = totp_owner(&s, "alice@example.com").await;
    let bob = totp_owner(&s, "bob@example.com").await;
    let a = submitted_case(&s, &alice, json!({"reset": ["authenticator"]})).await;
    let b = submitted_case(&s, &bob, json!({"reset": ["authenticator"]})).await;
    s.app.add_staff("rev@example.com", PW, Role::Reviewer).await.unwrap();
    let cwd = temp_dir();
    let data = cwd.join("d");
    // The operator's data directory holds the key the server runs with.
    data_dir_with_key(&data, s.db.master_key());
    let data = data.to_str().unwrap();
    let cases = |args: &[&str]| {
        let mut all = vec!["cases"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--database-url", &s.db.url, "--data-dir", data]);
        run(&cwd, &all, "")
    };

    let (ok, text) = run(&cwd, &["cases", "--help"], "");
    assert!(ok && ["list", "show", "approve", "reject"].iter().all(|c| text.contains(c)), "{text}");
    let (ok, text) = cases(&["list"]);
    assert!(ok && text.contains(&a.id) && text.contains(&b.id), "{text}");
    let (ok, text) = cases(&["show", &a.id]);
    assert!(ok && text.contains("alice@example.com") && text.contains("risk") && text.contains("passport"), "{text}");

    // Deciding needs a staff account by e-mail, and a note or a reason.
    let (ok, text) = cases(&["approve", &a.id, "--note", "fine"]);
    assert!(!ok && text.contains("--reviewer"), "{text}");
    let (ok, text) = cases(&["approve", &a.id, "--reviewer", "bob@example.com", "--note", "fine"]);
    assert!(!ok && text.contains("not a reviewer"), "{text}");
    let (ok, text) = cases(&["approve", &a.id, "--reviewer", "nobody@example.com", "--note", "fine"]);
    assert!(!ok && text.contains("no such account"), "{text}");
    // A reviewer without an authenticator has no staff access here either.
    let (ok, text) = cases(&["approve", &a.id, "--reviewer", "rev@example.com", "--note", "passport matches"]);
    assert!(!ok && text.contains("bind an authenticator first"), "{text}");
    let (ok, text) = cases(&["show", &a.id, "--reviewer", "rev@example.com"]);
    assert!(!ok && text.contains("bind an authenticator first"), "{text}");
    s.staff_with_authenticator("rev@example.com", Role::Reviewer).await;
    let (ok, text) = cases(&["approve", &a.id, "--reviewer", "rev@example.com", "--note", "passport matches"]);
    assert!(ok && text.contains("approved"), "{text}");
    let (ok, text) = cases(&["reject", &a.id, "--reviewer", "rev@example.com", "--reason", "too late"]);
    assert!(!ok && text.contains("not waiting for review"), "{text}");
    let (ok, text) = cases(&["reject", &b.id, "--reviewer", "rev@example.com", "--reason", "photo unreadable"]);
    assert!(ok && text.contains("rejected"), "{text}");

    // The owners see the outcome, and the queue moved on.
    let (_, view) = s.get(&a.path(""), Some(&a.token)).await;
    assert_eq!(view["status"], "approved");
    let (_, view) = s.get(&b.path(""), Some(&b.token)).await;
    assert_eq!(view["status"], "rejected");
    let (ok, text) = cases(&["list"]);
    assert!(ok && !text.contains(&a.id) && !text.contains(&b.id), "{text}");
    let (ok, text) = cases(&["list", "--status", "approved"]);
    assert!(ok && text.contains(&a.id), "{text}");
    // Alice's authenticator is gone: she signs in with the password alone.
    s.session(&alice.email, PW).await;
    let audit: Vec<String> =
        s.app.store.audit_events(Some(&alice.account_id), 50).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert!(audit.contains(&"recovery_approved".to_owned()), "{audit:?}");
    s.stop().await;
    let _ = std::fs::remove_dir_all(cwd);
}

#[test]
fn recovery_settings_are_flags_and_are_checked_at_start() {
    let cwd = temp_dir();
    let (ok, text) = run(&cwd, &["serve", "--help"], "");
    assert!(ok && text.contains("TWOSTEP_RECOVERY_CODE_TTL_S") && text.contains("--recovery-hold-s"), "{text}");
    // Codes may live 30 minutes at most; steps must be known ones.
    let (ok, text) = run(&cwd, &["serve", "--recovery-code-ttl-s", "1801", "--data-dir", "d"], "");
    assert!(!ok && text.contains("recovery_code_ttl_s"), "{text}");
    let (ok, text) = run(&cwd, &["serve", "--recovery-steps", "codes,selfies", "--data-dir", "d"], "");
    assert!(!ok && text.contains("recovery_steps"), "{text}");
    std::fs::write(cwd.join("t.toml"), "recovery_high_risk_score = 101\n").unwrap();
    let (ok, text) = run(&cwd, &["serve", "--config", "t.toml", "--data-dir", "d"], "");
    assert!(!ok && text.contains("recovery_high_risk_score"), "{text}");
    let _ = std::fs::remove_dir_all(cwd);
}

/// `cases approve` reads the server's settings as `serve` does: a hold set
/// by `TWOSTEP_RECOVERY_HOLD_S` (or a flag, which wins) is the hold the
/// approval sets, not the built-in 48 hours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_approve_honours_settings_from_the_environment_and_flags() {
    for backend in twostep_testkit::db::BOTH {
        approve_with_settings(backend).await;
    }
}

async fn approve_with_settings(backend: Backend) {
    let s = TestServer::start(backend).await;
    let alice = totp_owner(&s, "alice@example.com").await;
    let bob = totp_owner(&s, "bob@example.com").await;
    let a = submitted_case(&s, &alice, json!({"reset": ["authenticator"]})).await;
    let b = submitted_case(&s, &bob, json!({"reset": ["authenticator"]})).await;
    s.staff_with_authenticator("rev@example.com", Role::Reviewer).await;
    let cwd = temp_dir();
    data_dir_with_key(&cwd.join("d"), s.db.master_key());
    let approve = |case: &str, extra: &[&str]| {
        let mut all = vec!["cases", "approve", case, "--reviewer", "rev@example.com", "--note", "documents match"];
        all.extend_from_slice(extra);
        all.extend_from_slice(&["--database-url", &s.db.url, "--data-dir", "d"]);
        run_env(&cwd, &all, "", &[("TWOSTEP_RECOVERY_HOLD_S", "3600")])
    };
    let hold_of = |account_id: String| {
        let store = s.app.store.clone();
        async move {
            let account = store.account_by_id(&account_id).await.unwrap().unwrap();
            account.withdrawals_blocked_until.expect("a hold") - common::now()
        }
    };

    let (ok, text) = approve(&a.id, &[]);
    assert!(ok && text.contains("approved"), "{text}");
    let hold = hold_of(alice.account_id.clone()).await;
    assert!((3500..=3700).contains(&hold), "the environment's one-hour hold, not 48 hours: {hold} s ({text})");

    let (ok, text) = approve(&b.id, &["--recovery-hold-s", "7200"]);
    assert!(ok && text.contains("approved"), "{text}");
    let hold = hold_of(bob.account_id.clone()).await;
    assert!((7100..=7300).contains(&hold), "the flag wins over the environment: {hold} s ({text})");
    s.stop().await;
    let _ = std::fs::remove_dir_all(cwd);
}
