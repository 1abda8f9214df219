//! `twostep staff reset|confirm` as operators run them, on the database of a
//! test server (same master key) where staff work over the API: a staff
//! account's lost second factor is reset only when two different admins
//! agree, the reset is audited and told to the account's channels, and the
//! account holds no staff power afterwards until an admin confirms it. On
//! SQLite and PostgreSQL.

mod common;

use common::{data_dir_with_key, now, run, temp_dir};
use serde_json::json;
use twostep_app::passkeys::port::{PasskeyRecord, PasskeyStore};
use twostep_app::ports::{
    AccountChange, AccountChangeOutcome, AccountChangePlan, AccountChangeStore, AccountStore, AuditStore, Effects,
    SignOut, TotpStore,
};
use twostep_domain::Role;
use twostep_testkit::db::BOTH;
use twostep_testkit::recovery::{PW, StaffMember};
use twostep_testkit::{Backend, TestServer};

const QUEUE: &str = "/api/v1/admin/recovery-cases";
const PHONE: &str = "+447911123456";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_reset_needs_two_admins_and_then_an_admins_confirmation() {
    for backend in BOTH {
        staff_reset(backend).await;
    }
}

async fn staff_reset(backend: Backend) {
    let l = format!("{backend:?}");
    let s = TestServer::start(backend).await;
    let cwd = temp_dir();
    let data = cwd.join("d");
    data_dir_with_key(&data, s.db.master_key());
    let data = data.to_str().unwrap().to_owned();
    let staff = |args: &[&str]| {
        let mut all = vec!["staff"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--database-url", &s.db.url, "--data-dir", &data]);
        let done = run(&cwd, &all, "");
        // The command queues its notices on the system clock; the test
        // server's workers send what is due on the test's clock.
        s.clock.set(s.now().max(now() + 1));
        done
    };

    let ada = s.staff_with_authenticator("ada@example.com", Role::Admin).await;
    let bo = s.staff_with_authenticator("bo@example.com", Role::Admin).await;
    s.staff_with_authenticator("rev@example.com", Role::Reviewer).await;
    s.staff("newbie@example.com", Role::Admin).await; // no authenticator yet
    s.verified_account("customer@example.com", PW).await;
    // Sam, a reviewer with an authenticator and a phone, lost both.
    let sam = s.staff_with_authenticator("sam@example.com", Role::Reviewer).await;
    // (Its sign-in used the next step's code: one more step on.)
    s.clock.advance(30);
    s.sudo_totp(&sam.token, &sam.backup_key).await;
    let (status, body) = s.post("/api/v1/me/phone", json!({"phone": PHONE}), Some(&sam.token)).await;
    assert_eq!(status, 202, "{l}: {body}");
    let code = s.code_to(PHONE).await;
    let (status, body) = s.post("/api/v1/me/phone/confirm", json!({"code": code}), Some(&sam.token)).await;
    assert_eq!(status, 200, "{l}: {body}");
    assert_eq!(s.get(QUEUE, Some(&sam.token)).await.0, 200, "{l}");
    // And a passkey, perhaps a thief's: a staff reset must not leave it to
    // sign in with. (Stored as the store keeps one; its key is never read here.)
    let planted = PasskeyRecord {
        id: "pk-sam".into(),
        account_id: sam.id.clone(),
        credential_id: "cred-sam".into(),
        name: "Sam's laptop".into(),
        credential: "{}".into(),
        sign_count: 0,
        created_at: s.now(),
        last_used_at: None,
    };
    let add = AccountChangePlan {
        account_id: sam.id.clone(),
        now: s.now(),
        change: AccountChange::AddPasskey { passkey: planted, max: 10 },
        hold_until: None,
        sign_out: SignOut::Nobody,
        clear_failures: None,
        effects: Effects::default(),
    };
    let added = s.store.apply_account_change(&add).await.unwrap();
    assert!(matches!(added, AccountChangeOutcome::Applied { .. }), "{l}: {added:?}");
    assert_eq!(s.store.passkeys(&sam.id).await.unwrap().len(), 1, "{l}");

    let (ok, text) = run(&cwd, &["staff", "reset", "--help"], "");
    assert!(ok && text.contains("--items") && text.contains("--by") && text.contains("admins"), "{l}: {text}");
    let reset = |by: &'static str, items: &'static str| {
        staff(&["reset", "--email", "sam@example.com", "--items", items, "--by", by])
    };
    // Only an admin with an authenticator may ask, never for their own account, never for a customer.
    let (ok, text) = reset("rev@example.com", "authenticator,phone");
    assert!(!ok && text.contains("Only admins"), "{l}: {text}");
    let (ok, text) = reset("newbie@example.com", "authenticator,phone");
    assert!(!ok && text.contains("bind an authenticator first"), "{l}: {text}");
    let (ok, text) = reset("nobody@example.com", "authenticator,phone");
    assert!(!ok && text.contains("no such account"), "{l}: {text}");
    let (ok, text) = reset("ada@example.com", "authenticator,password");
    assert!(!ok && text.contains("items"), "{l}: {text}");
    let (ok, text) =
        staff(&["reset", "--email", "ada@example.com", "--items", "authenticator", "--by", "ada@example.com"]);
    assert!(!ok && text.contains("own account"), "{l}: {text}");
    let (ok, text) =
        staff(&["reset", "--email", "customer@example.com", "--items", "authenticator", "--by", "ada@example.com"]);
    assert!(!ok && text.contains("not a staff account"), "{l}: {text}");

    // One admin alone changes nothing: the request waits, Sam is told.
    let before = s.messages_to(&sam.email).await.len();
    let (ok, text) = reset("ada@example.com", "authenticator,phone");
    assert!(ok && text.contains("second, different admin"), "{l}: {text}");
    assert!(s.store.totp_factor(&sam.id).await.unwrap().is_some(), "{l}: nothing reset yet");
    assert_eq!(s.store.account_by_id(&sam.id).await.unwrap().unwrap().phone.as_deref(), Some(PHONE), "{l}");
    assert_eq!(s.get(QUEUE, Some(&sam.token)).await.0, 200, "{l}: Sam still works");
    let told = s.messages_to(&sam.email).await;
    assert_eq!(told.len(), before + 1, "{l}: {told:?}");
    assert!(told[0]["body"].as_str().unwrap().contains("asked to reset the authenticator, phone"), "{l}: {told:?}");
    let listed = s.get("/api/v1/admin/staff", Some(&bo.token)).await.1;
    let sam_listed =
        listed["staff"].as_array().unwrap().iter().find(|m| m["email"] == "sam@example.com").unwrap().clone();
    assert_eq!(sam_listed["reset_requested"]["requested_by"], json!(ada.id), "{l}: {listed}");
    // The same admin cannot agree with themselves; the second admin must agree to the same items.
    let (ok, text) = reset("ada@example.com", "authenticator,phone");
    assert!(!ok && text.contains("second, different admin"), "{l}: {text}");
    let (ok, text) = reset("bo@example.com", "authenticator");
    assert!(!ok && text.contains("authenticator,phone"), "{l}: {text}");
    assert!(s.store.totp_factor(&sam.id).await.unwrap().is_some(), "{l}: still nothing reset");

    // A second admin agrees: reset, signed out, audited, told on the old channels.
    let (ok, text) = reset("bo@example.com", "phone,authenticator");
    assert!(ok && text.contains("reset by two admins"), "{l}: {text}");
    assert!(s.store.totp_factor(&sam.id).await.unwrap().is_none(), "{l}: the authenticator is gone");
    assert_eq!(s.store.passkeys(&sam.id).await.unwrap(), vec![], "{l}: and every passkey");
    let account = s.store.account_by_id(&sam.id).await.unwrap().unwrap();
    assert_eq!(account.phone, None, "{l}: the phone is gone");
    assert!(account.withdrawals_blocked_until.is_some_and(|t| t > s.now()), "{l}: withdrawals held");
    assert_eq!(s.get(QUEUE, Some(&sam.token)).await.0, 401, "{l}: every session signed out");
    let audit = s.store.audit_events(Some(&sam.id), 100).await.unwrap();
    let applied = audit.iter().find(|e| e.kind == "staff_reset").expect("the reset is audited");
    assert!(applied.detail.contains(&ada.id) && applied.detail.contains(&bo.id), "{l}: both admins named: {applied:?}");
    assert_eq!(audit.iter().filter(|e| e.kind == "staff_reset_requested").count(), 1, "{l}");
    assert!(s.messages_to(&sam.email).await[0]["body"].as_str().unwrap().contains("Two admins reset"), "{l}");
    assert!(
        s.messages_to(PHONE).await[0]["body"].as_str().unwrap().contains("Two admins reset"),
        "{l}: the old phone too"
    );

    // Sam signs in with the password alone: no staff power, nor after binding a new authenticator.
    let first = s.session(&sam.email, PW).await;
    let refused = s.get(QUEUE, Some(&first)).await;
    assert_eq!(refused.0, 403, "{l}: {}", refused.1);
    let key = s.enrol_totp(&first).await;
    let sam = StaffMember { backup_key: key, ..sam };
    let token = s.staff_sign_in(&sam).await;
    let refused = s.get(QUEUE, Some(&token)).await;
    assert_eq!(refused.0, 403, "{l}: {}", refused.1);
    assert!(refused.1["error"]["message"].as_str().unwrap().contains("twostep staff confirm"), "{l}: {}", refused.1);

    // An admin confirms (another admin than Sam; a reviewer may not); once.
    let confirm = |by: &'static str| staff(&["confirm", "--email", "sam@example.com", "--by", by]);
    let (ok, text) = confirm("rev@example.com");
    assert!(!ok && text.contains("Only admins"), "{l}: {text}");
    let (ok, text) = confirm("ada@example.com");
    assert!(ok && text.contains("confirmed"), "{l}: {text}");
    assert_eq!(s.get(QUEUE, Some(&token)).await.0, 200, "{l}: staff access is back");
    let (ok, text) = confirm("bo@example.com");
    assert!(!ok && text.contains("nothing to confirm"), "{l}: {text}");
    let audit = s.store.audit_events(Some(&sam.id), 100).await.unwrap();
    assert!(audit.iter().any(|e| e.kind == "staff_confirmed" && e.detail.contains(&ada.id)), "{l}");
    assert!(s.messages_to(&sam.email).await[0]["body"].as_str().unwrap().contains("confirmed"), "{l}");
    // Sam's own activity names all of it as staff's doing.
    let activity = s.get("/api/v1/me/activity", Some(&token)).await.1;
    for kind in ["staff_reset_requested", "staff_reset", "staff_confirmed"] {
        let e = activity["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == kind)
            .unwrap_or_else(|| panic!("{kind}"));
        assert_eq!((e["by"].as_str(), e["ip"].as_str()), (Some("twostep staff"), Some("")), "{l}: {e}");
    }
    assert!(!activity.to_string().contains(&ada.id) && !activity.to_string().contains(&bo.id), "{l}: {activity}");
    s.stop().await;
    let _ = std::fs::remove_dir_all(cwd);
}
