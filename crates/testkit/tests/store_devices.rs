//! The storage contract of new-device confirmation (`DeviceStore`), on
//! SQLite and PostgreSQL: devices found by account and token hash only, the
//! cap that drops the oldest unconfirmed, a link answered once (approve
//! racing deny: one winner), the session of an approval taken once and never
//! for a frozen account, and "sign out this device" / "forget it" touching
//! only that device of that account, each with its audit entry.

use twostep_app::crypto::new_id;
use twostep_app::devices::port::{Device, DeviceConfirmation, DeviceSession, DeviceStore};
use twostep_app::owner_port::{Objection, OwnerStore};
use twostep_app::ports::*;
use twostep_domain::device::DeviceDecision;
use twostep_store::SqlStore;
use twostep_testkit::contract::{account, each_backend, notice, race, winners};
use twostep_testkit::race;

const T0: i64 = 1_700_000_000;

fn audit(kind: &str, account_id: &str) -> AuditEvent {
    AuditEvent {
        at: T0,
        account_id: Some(account_id.into()),
        kind: kind.into(),
        ip: "192.0.2.1".into(),
        user_agent: "ua".into(),
        detail: String::new(),
    }
}

fn device(account_id: &str, token_hash: &str, seen: i64) -> Device {
    Device {
        id: new_id(),
        account_id: account_id.into(),
        token_hash: token_hash.into(),
        first_seen_at: seen,
        last_seen_at: seen,
        ip: "192.0.2.1".into(),
        user_agent: "ua".into(),
        confirmed_at: None,
    }
}

fn confirmation(d: &Device, link_hash: &str, expires_at: i64) -> DeviceConfirmation {
    DeviceConfirmation {
        login_id: new_id(),
        account_id: d.account_id.clone(),
        device_id: d.id.clone(),
        link_hash: link_hash.into(),
        created_at: T0,
        expires_at,
        ip: "192.0.2.1".into(),
        user_agent: "ua".into(),
        decision: None,
        decided_at: None,
        finished_at: None,
        password_digest: "digest".into(),
        factors: "password totp".into(),
    }
}

fn session(d: &Device, token_hash: &str, now: i64) -> DeviceSession {
    DeviceSession {
        token_hash: token_hash.into(),
        account_id: d.account_id.clone(),
        device_id: d.id.clone(),
        now,
        expires_at: now + 3600,
        factors: "password".into(),
    }
}

async fn kinds(s: &SqlStore, account_id: &str) -> Vec<String> {
    s.audit_events(Some(account_id), 100).await.unwrap().into_iter().map(|e| e.kind).collect()
}

/// A device with a pending confirmation whose link hash is `link`.
async fn pending(s: &SqlStore, l: &str, link: &str) -> (Device, DeviceConfirmation) {
    let a = account(s, l).await;
    let d = device(&a, &new_id(), T0);
    s.add_device(&d, 30).await.unwrap();
    let c = confirmation(&d, link, T0 + 600);
    s.create_device_confirmation(
        &c,
        &notice("email", "owner@example.test", T0),
        &audit("device_confirmation_sent", &a),
    )
    .await
    .unwrap();
    (d, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn devices_are_found_by_account_and_token_and_capped() {
    each_backend(|s, l| async move {
        let a = account(&s, l).await;
        let b = account(&s, l).await;
        let first = device(&a, "token-1", T0);
        s.add_device(&first, 3).await.unwrap();
        assert_eq!(s.device_by_token(&a, "token-1").await.unwrap(), Some(first.clone()), "{l}");
        assert_eq!(s.device_by_token(&b, "token-1").await.unwrap(), None, "{l}: another account's token");
        assert!(s.device_token_issued("token-1").await.unwrap(), "{l}");
        assert!(!s.device_token_issued("token-x").await.unwrap(), "{l}");
        s.touch_device(&first.id, T0 + 50, "198.51.100.7", "Firefox").await.unwrap();
        let seen = s.device_by_token(&a, "token-1").await.unwrap().unwrap();
        assert_eq!((seen.last_seen_at, seen.ip.as_str(), seen.first_seen_at), (T0 + 50, "198.51.100.7", T0), "{l}");

        // A confirmed device survives the cap; the oldest unconfirmed go.
        let confirmed = device(&a, "token-2", T0 + 1);
        s.add_device(&confirmed, 3).await.unwrap();
        let c = confirmation(&confirmed, "link-2", T0 + 600);
        s.create_device_confirmation(
            &c,
            &notice("email", "a@example.test", T0),
            &audit("device_confirmation_sent", &a),
        )
        .await
        .unwrap();
        assert!(
            s.decide_device("link-2", DeviceDecision::Approved, T0 + 2, &audit("device_confirmed", &a)).await.unwrap()
        );
        let (taken, login_ok) = (session(&confirmed, "s-2", T0 + 2), audit("login_ok", &a));
        assert!(
            s.finish_device_sign_in(&c.login_id, &taken, &login_ok).await.unwrap(),
            "{l}: the sign-in takes its session"
        );
        for i in 3..=6 {
            s.add_device(&device(&a, &format!("token-{i}"), T0 + i), 3).await.unwrap();
        }
        let left: Vec<String> = s.devices_of(&a).await.unwrap().into_iter().map(|d| d.token_hash).collect();
        // Most recently seen first: token-1 was seen again at T0 + 50; the
        // unconfirmed seen longest ago went, the confirmed one stays.
        assert_eq!(left, ["token-1", "token-6", "token-2"], "{l}");
        assert!(s.devices_of(&b).await.unwrap().is_empty(), "{l}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_link_is_answered_once_and_approve_racing_deny_has_one_winner() {
    each_backend(|s, l| async move {
        let (d, c) = pending(&s, l, "link-race").await;
        let results = race(8, |i| {
            let (s, d) = (s.clone(), d.clone());
            async move {
                let (decision, kind) = if i % 2 == 0 {
                    (DeviceDecision::Approved, "device_confirmed")
                } else {
                    (DeviceDecision::Denied, "device_denied")
                };
                s.decide_device("link-race", decision, T0 + 5, &audit(kind, &d.account_id)).await
            }
        })
        .await;
        assert_eq!(winners(l, &results), 1, "{l}: one answer wins");
        let answered = s.device_confirmation(&c.login_id).await.unwrap().unwrap();
        assert!(answered.decision.is_some() && answered.decided_at == Some(T0 + 5), "{l}: {answered:?}");
        let entries = kinds(&s, &d.account_id).await;
        let answers = entries.iter().filter(|k| *k == "device_confirmed" || *k == "device_denied").count();
        assert_eq!(answers, 1, "{l}: only the winner is audited: {entries:?}");
        // The answer alone confirms no device: its sign-in taking its
        // session does (below).
        let device_now = s.device_by_token(&d.account_id, &d.token_hash).await.unwrap().unwrap();
        assert_eq!(device_now.confirmed_at, None, "{l}: confirmed by the answer alone");
        assert_eq!(s.device_confirmation_by_link("link-race").await.unwrap(), Some(answered), "{l}");

        // An expired link is not answered.
        let (_, late) = pending(&s, l, "link-late").await;
        let too_late = s
            .decide_device("link-late", DeviceDecision::Approved, T0 + 600, &audit("x", &late.account_id))
            .await
            .unwrap();
        assert!(!too_late, "{l}: answered at its expiry");
        assert_eq!(s.device_confirmation(&late.login_id).await.unwrap().unwrap().decision, None, "{l}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_approved_sign_in_takes_its_session_once_and_never_on_a_frozen_account() {
    each_backend(|s, l| async move {
        let (d, c) = pending(&s, l, "link-finish").await;
        let early = s
            .finish_device_sign_in(&c.login_id, &session(&d, "early", T0 + 1), &audit("login_ok", &d.account_id))
            .await
            .unwrap();
        assert!(!early, "{l}: not before the approval");
        assert!(
            s.decide_device("link-finish", DeviceDecision::Approved, T0 + 2, &audit("ok", &d.account_id))
                .await
                .unwrap()
        );
        let results = race!(8, [s, d, c] => {
            let token = new_id();
            s.finish_device_sign_in(&c.login_id, &session(&d, &token, T0 + 3), &audit("login_ok", &d.account_id)).await
        });
        assert_eq!(winners(l, &results), 1, "{l}: one session per approval");
        let logins = kinds(&s, &d.account_id).await.into_iter().filter(|k| k == "login_ok").count();
        assert_eq!(logins, 1, "{l}");
        let device_now = s.device_by_token(&d.account_id, &d.token_hash).await.unwrap().unwrap();
        assert_eq!(device_now.confirmed_at, Some(T0 + 3), "{l}: confirmed when its sign-in took its session");

        // The session names its device, and signing the device out ends it.
        let (d2, c2) = pending(&s, l, "link-2").await;
        assert!(
            s.decide_device("link-2", DeviceDecision::Approved, T0 + 2, &audit("ok", &d2.account_id)).await.unwrap()
        );
        assert!(
            s.finish_device_sign_in(&c2.login_id, &session(&d2, "s-2", T0 + 3), &audit("login_ok", &d2.account_id))
                .await
                .unwrap()
        );
        assert_eq!(s.session_device("s-2").await.unwrap(), Some(d2.id.clone()), "{l}");
        assert!(s.session("s-2", T0 + 4).await.unwrap().is_some(), "{l}");

        // Approved, then frozen before the session was taken: none is opened.
        let (d3, c3) = pending(&s, l, "link-3").await;
        assert!(
            s.decide_device("link-3", DeviceDecision::Approved, T0 + 2, &audit("ok", &d3.account_id)).await.unwrap()
        );
        let freeze = Objection {
            account_id: d3.account_id.clone(),
            now: T0 + 3,
            reason: "test".into(),
            freeze: true,
            objected: false,
            approved_case: None,
            audit: Vec::new(),
            stopped_event: audit("recovery_cancelled", &d3.account_id),
            frozen_event: audit("account_frozen", &d3.account_id),
            notices: Vec::new(),
        };
        s.object(&freeze).await.unwrap();
        let frozen = s
            .finish_device_sign_in(&c3.login_id, &session(&d3, "s-3", T0 + 4), &audit("login_ok", &d3.account_id))
            .await
            .unwrap();
        assert!(!frozen, "{l}: no session for a frozen account");
        assert!(s.session("s-3", T0 + 5).await.unwrap().is_none(), "{l}");
        assert!(!s.open_device_session(&session(&d3, "s-4", T0 + 5), None).await.unwrap(), "{l}: nor a direct one");

        // Approved, then frozen and unfrozen by staff before the session was
        // taken: the freeze moved the account's epoch, the approval is void.
        let (d5, c5) = pending(&s, l, "link-5").await;
        assert!(
            s.decide_device("link-5", DeviceDecision::Approved, T0 + 2, &audit("ok", &d5.account_id)).await.unwrap()
        );
        let freeze5 = Objection { account_id: d5.account_id.clone(), ..freeze.clone() };
        s.object(&freeze5).await.unwrap();
        sqlx::query("UPDATE accounts SET frozen_at = NULL WHERE id = $1")
            .bind(&d5.account_id)
            .execute(s.pool())
            .await
            .unwrap();
        let after = s
            .finish_device_sign_in(&c5.login_id, &session(&d5, "s-5", T0 + 4), &audit("login_ok", &d5.account_id))
            .await
            .unwrap();
        assert!(!after, "{l}: an approval from before a freeze opens nothing");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn signing_out_and_forgetting_touch_only_that_device_of_that_account() {
    each_backend(|s, l| async move {
        let a = account(&s, l).await;
        let (x, y) = (device(&a, "tx", T0), device(&a, "ty", T0 + 1));
        s.add_device(&x, 30).await.unwrap();
        s.add_device(&y, 30).await.unwrap();
        for (d, token) in [(&x, "sx1"), (&x, "sx2"), (&y, "sy")] {
            assert!(s.open_device_session(&session(d, token, T0 + 2), Some(&audit("login_ok", &a))).await.unwrap());
        }
        let stranger = account(&s, l).await;
        let refused =
            s.sign_out_device(&stranger, &x.id, T0 + 3, &audit("device_signed_out", &stranger)).await.unwrap();
        assert_eq!(refused, None, "{l}: another account's device");
        assert!(
            !s.forget_device(&stranger, &x.id, T0 + 3, &audit("device_forgotten", &stranger)).await.unwrap(),
            "{l}"
        );

        assert_eq!(
            s.sign_out_device(&a, &x.id, T0 + 3, &audit("device_signed_out", &a)).await.unwrap(),
            Some(2),
            "{l}"
        );
        assert!(s.session("sx1", T0 + 4).await.unwrap().is_none(), "{l}");
        assert!(s.session("sx2", T0 + 4).await.unwrap().is_none(), "{l}");
        assert!(s.session("sy", T0 + 4).await.unwrap().is_some(), "{l}: the other device stays signed in");
        assert!(s.device_by_token(&a, "tx").await.unwrap().is_some(), "{l}: signed out, still known");

        assert!(s.forget_device(&a, &y.id, T0 + 5, &audit("device_forgotten", &a)).await.unwrap(), "{l}");
        assert!(s.session("sy", T0 + 6).await.unwrap().is_none(), "{l}");
        assert!(s.device_by_token(&a, "ty").await.unwrap().is_none(), "{l}: forgotten");
        let entries = kinds(&s, &a).await;
        for kind in ["device_signed_out", "device_forgotten"] {
            assert_eq!(entries.iter().filter(|k| *k == kind).count(), 1, "{l}: {kind} in {entries:?}");
        }
        assert!(kinds(&s, &stranger).await.is_empty(), "{l}: a refusal writes nothing");

        // The owner's choice, with its notice and entry.
        assert_eq!(s.device_policy_facts(&a).await.unwrap(), (String::new(), false), "{l}");
        s.set_device_choice(&a, "off", &audit("device_confirmation_setting", &a), &[notice("email", "a@x.test", T0)])
            .await
            .unwrap();
        assert_eq!(s.device_policy_facts(&a).await.unwrap().0, "off", "{l}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_forgotten_device_takes_its_confirmations_with_it() {
    each_backend(|s, l| async move {
        let (d, c) = pending(&s, l, "link-forgotten").await;
        assert!(
            s.forget_device(&d.account_id, &d.id, T0 + 1, &audit("device_forgotten", &d.account_id)).await.unwrap()
        );
        assert_eq!(s.device_confirmation(&c.login_id).await.unwrap(), None, "{l}");
        assert_eq!(s.device_confirmation_by_link("link-forgotten").await.unwrap(), None, "{l}");
    })
    .await;
}
