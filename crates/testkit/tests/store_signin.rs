//! The storage contract of the second sign-in step's batched operations, on
//! SQLite and PostgreSQL: one read that gathers the decision's inputs, one
//! all-or-nothing transaction for a success, one for a refusal.

use twostep_app::crypto::new_id;
use twostep_app::ports::*;
use twostep_domain::{LoginState, Role};
use twostep_store::SqlStore;
use twostep_testkit::contract::{each_backend, pending_attempt, race, refuse_audit_writes};
use twostep_testkit::race;

const T0: i64 = 1_700_000_000;
const PREFIX: &str = "login:";

struct Fixture {
    account_id: String,
    email: String,
    login_id: String,
}

/// An account with an authenticator at step 100 and a pending attempt.
async fn fixture(s: &SqlStore, l: &str) -> Fixture {
    let account_id = new_id();
    let email = format!("{account_id}@example.test");
    let account = NewAccount {
        id: account_id.clone(),
        email: email.clone(),
        password_hash: "h".into(),
        role: Role::User,
        verified: true,
        created_at: T0,
        language: None,
    };
    assert!(matches!(s.create_account(&account).await.unwrap(), CreateOutcome::Created), "{l}");
    let setup = TotpSetup {
        id: new_id(),
        account_id: account_id.clone(),
        sealed_secret: b"sealed".to_vec(),
        created_at: T0,
        expires_at: T0 + 600,
    };
    s.create_totp_setup(&setup).await.unwrap();
    assert!(s.bind_totp(&setup, 100, T0).await.unwrap(), "{l}");
    let login_id = pending_attempt(s, &account_id).await;
    Fixture { account_id, email, login_id }
}

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

fn success(f: &Fixture, login_id: &str, step: Option<i64>) -> SignInSuccess {
    SignInSuccess {
        login_id: login_id.into(),
        account_id: f.account_id.clone(),
        totp_step: step,
        sent_code_id: None,
        session_token_hash: new_id(),
        session_expires_at: T0 + 3600,
        now: T0 + 10,
        max_failures: 5,
        clear_subject: Some(format!("{PREFIX}{}", f.email)),
        clear_second_factor_failures: true,
        audit: audit("login_ok", &f.account_id),
        device_id: None,
        device_write: Default::default(),
        factors: "password totp".into(),
        held_for_device: false,
    }
}

fn failure(f: &Fixture, login_id: &str, now: i64) -> SignInFailure {
    SignInFailure {
        login_id: login_id.into(),
        account_id: f.account_id.clone(),
        max_failures: 5,
        subject: format!("{PREFIX}{}", f.email),
        now,
        window_s: 900,
        audit: audit("second_factor_failed", &f.account_id),
        replayed: None,
        lock_after: 3,
        locked: audit("second_factor_locked", &f.account_id),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_context_gathers_attempt_account_factor_and_throttle() {
    each_backend(|s, l| async move {
        let f = fixture(&s, l).await;
        let ctx = s.sign_in_context(&f.login_id, PREFIX, T0 - 900, "").await.unwrap().unwrap();
        assert_eq!(ctx.attempt.id, f.login_id, "{l}");
        assert_eq!(ctx.attempt.state, LoginState::Pending, "{l}");
        assert_eq!(ctx.account.email, f.email, "{l}");
        let totp = ctx.totp.expect("factor");
        assert_eq!((totp.last_step, totp.sealed_secret.as_slice()), (100, b"sealed".as_slice()), "{l}");
        assert_eq!(ctx.failures, FailureState::default(), "{l}");
        // Failures of this address count; older ones and other addresses do not.
        s.record_failure(&format!("{PREFIX}{}", f.email), T0 - 1000, 900).await.unwrap();
        s.record_failure(&format!("{PREFIX}{}", f.email), T0 - 5, 900).await.unwrap();
        s.record_failure(&format!("{PREFIX}other@example.test"), T0, 900).await.unwrap();
        let ctx = s.sign_in_context(&f.login_id, PREFIX, T0 - 900, "").await.unwrap().unwrap();
        assert_eq!(ctx.failures, FailureState { recent: 1, consecutive: 2, last_failure_at: Some(T0 - 5) }, "{l}");
        s.remove_totp(&f.account_id).await.unwrap();
        assert!(s.sign_in_context(&f.login_id, PREFIX, T0 - 900, "").await.unwrap().unwrap().totp.is_none(), "{l}");
        assert!(s.sign_in_context(&new_id(), PREFIX, T0, "").await.unwrap().is_none(), "{l}: unknown attempt");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_success_writes_everything_at_once() {
    each_backend(|s, l| async move {
        let f = fixture(&s, l).await;
        s.record_failure(&format!("{PREFIX}{}", f.email), T0, 900).await.unwrap();
        s.add_second_factor_failure(&f.account_id).await.unwrap();
        let ok = success(&f, &f.login_id, Some(101));
        assert_eq!(s.complete_sign_in(&ok).await.unwrap(), SignInOutcome::Completed, "{l}");
        assert_eq!(s.totp_factor(&f.account_id).await.unwrap().unwrap().last_step, 101, "{l}: step used");
        assert_eq!(s.login_by_id(&f.login_id).await.unwrap().unwrap().state, LoginState::Completed, "{l}");
        let session = s.session(&ok.session_token_hash, T0 + 20).await.unwrap().expect("session opened");
        assert_eq!(session.account_id, f.account_id, "{l}");
        assert_eq!(
            s.failure_state(&format!("{PREFIX}{}", f.email), T0 + 20, 900).await.unwrap(),
            FailureState::default(),
            "{l}"
        );
        assert_eq!(s.account_by_id(&f.account_id).await.unwrap().unwrap().second_factor_failures, 0, "{l}");
        assert_eq!(s.audit_events(Some(&f.account_id), 5).await.unwrap()[0].kind, "login_ok", "{l}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_used_step_or_a_closed_attempt_writes_nothing() {
    each_backend(|s, l| async move {
        let f = fixture(&s, l).await;
        // Step 100 is already used: nothing changes, no session appears.
        let replay = success(&f, &f.login_id, Some(100));
        assert_eq!(s.complete_sign_in(&replay).await.unwrap(), SignInOutcome::CodeAlreadyUsed, "{l}");
        assert_eq!(s.login_by_id(&f.login_id).await.unwrap().unwrap().state, LoginState::Pending, "{l}");
        assert!(s.session(&replay.session_token_hash, T0 + 20).await.unwrap().is_none(), "{l}");
        assert!(s.audit_events(Some(&f.account_id), 5).await.unwrap().is_empty(), "{l}");
        // A completed attempt: the step is not burnt either (rolled back).
        assert!(s.complete_login(&f.login_id, T0, 5).await.unwrap());
        let late = success(&f, &f.login_id, Some(105));
        assert_eq!(s.complete_sign_in(&late).await.unwrap(), SignInOutcome::AttemptClosed, "{l}");
        assert_eq!(s.totp_factor(&f.account_id).await.unwrap().unwrap().last_step, 100, "{l}: rolled back");
        assert!(s.session(&late.session_token_hash, T0 + 20).await.unwrap().is_none(), "{l}");
        // An expired attempt is closed too.
        let expired = pending_attempt(&s, &f.account_id).await;
        let mut too_late = success(&f, &expired, None);
        too_late.now = T0 + 600;
        assert_eq!(s.complete_sign_in(&too_late).await.unwrap(), SignInOutcome::AttemptClosed, "{l}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_code_on_many_attempts_signs_in_exactly_once() {
    each_backend(|s, l| async move {
        let f = fixture(&s, l).await;
        let mut attempts = Vec::new();
        for _ in 0..16 {
            attempts.push(pending_attempt(&s, &f.account_id).await);
        }
        let attempts = std::sync::Arc::new(attempts);
        let f = std::sync::Arc::new(f);
        let results = race(16, |i| {
            let (s, f, attempts) = (s.clone(), f.clone(), attempts.clone());
            async move { s.complete_sign_in(&success(&f, &attempts[i], Some(101))).await.unwrap() }
        })
        .await;
        let won = results.iter().filter(|r| **r == SignInOutcome::Completed).count();
        assert_eq!(won, 1, "{l}: {results:?}");
        assert_eq!(results.iter().filter(|r| **r == SignInOutcome::CodeAlreadyUsed).count(), 15, "{l}");
        // And one attempt with many codes completes once.
        let one = pending_attempt(&s, &f.account_id).await;
        let results = race!(16, [s, f, one] => s.complete_sign_in(&success(&f, &one, None)).await.unwrap());
        assert_eq!(results.iter().filter(|r| **r == SignInOutcome::Completed).count(), 1, "{l}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refusal_counts_everywhere_and_kills_the_attempt_at_the_limit() {
    each_backend(|s, l| async move {
        let f = fixture(&s, l).await;
        for n in 1..=5 {
            assert_eq!(s.fail_sign_in(&failure(&f, &f.login_id, T0 + n)).await.unwrap(), Some(n), "{l}: consecutive");
        }
        assert_eq!(s.login_by_id(&f.login_id).await.unwrap().unwrap().state, LoginState::Dead, "{l}");
        let state = s.failure_state(&format!("{PREFIX}{}", f.email), T0 + 10, 900).await.unwrap();
        assert_eq!(state, FailureState { recent: 5, consecutive: 5, last_failure_at: Some(T0 + 5) }, "{l}");
        // Each refusal is recorded with it, and the one that reached the
        // lock-out (the third here) records the lock-out too.
        let mut kinds: Vec<String> =
            s.audit_events(Some(&f.account_id), 10).await.unwrap().into_iter().map(|e| e.kind).collect();
        kinds.reverse();
        let failed = "second_factor_failed";
        assert_eq!(kinds, [failed, failed, failed, "second_factor_locked", failed, failed], "{l}");
        // Concurrent refusals lose no count.
        let other = pending_attempt(&s, &f.account_id).await;
        let f = std::sync::Arc::new(f);
        race!(8, [s, f, other] => s.fail_sign_in(&failure(&f, &other, T0 + 20)).await.unwrap());
        assert_eq!(s.account_by_id(&f.account_id).await.unwrap().unwrap().second_factor_failures, 13, "{l}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replayed_code_is_recorded_with_its_refusal_or_not_at_all() {
    each_backend(|s, l| async move {
        let f = fixture(&s, l).await;
        let replay = SignInFailure {
            replayed: Some(audit("totp_code_replayed", &f.account_id)),
            ..failure(&f, &f.login_id, T0)
        };
        assert_eq!(s.fail_sign_in(&replay).await.unwrap(), Some(1), "{l}");
        let kinds: Vec<String> =
            s.audit_events(Some(&f.account_id), 10).await.unwrap().into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["totp_code_replayed", "second_factor_failed"], "{l}");
        // When the audit log refuses the write, nothing of the refusal lands.
        refuse_audit_writes(&s, l, true).await;
        assert!(s.fail_sign_in(&failure(&f, &f.login_id, T0 + 1)).await.is_err(), "{l}");
        assert_eq!(s.account_by_id(&f.account_id).await.unwrap().unwrap().second_factor_failures, 1, "{l}");
        assert_eq!(s.login_by_id(&f.login_id).await.unwrap().unwrap().failures, 1, "{l}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_ins_arriving_together_commit_together_and_each_gets_its_own_answer() {
    each_backend(|s, l| async move {
        const ACCOUNTS: usize = 48;
        let mut fixtures = Vec::new();
        for _ in 0..ACCOUNTS {
            let f = fixture(&s, l).await;
            let replay = pending_attempt(&s, &f.account_id).await;
            fixtures.push((f, replay));
        }
        let fixtures = std::sync::Arc::new(fixtures);
        let before = s.sign_in_groups();
        // Per account: a valid code on one attempt and the same code on a
        // second attempt (racing), or a wrong code (a refusal).
        let results = race(ACCOUNTS * 2, |i| {
            let (s, fixtures) = (s.clone(), fixtures.clone());
            async move {
                let (f, replay) = &fixtures[i / 2];
                let login = if i % 2 == 0 { &f.login_id } else { replay };
                if (i / 2) % 3 == 2 {
                    Err(s.fail_sign_in(&failure(f, login, T0 + 1)).await.unwrap().expect("counted"))
                } else {
                    Ok(s.complete_sign_in(&success(f, login, Some(101))).await.unwrap())
                }
            }
        })
        .await;
        let after = s.sign_in_groups();
        assert!(after.1 - before.1 > after.0 - before.0, "{l}: no group carried two sign-ins: {before:?} → {after:?}");
        let mut completed = 0;
        for (n, (f, replay)) in fixtures.iter().enumerate() {
            let pair = [&results[2 * n], &results[2 * n + 1]];
            let account = s.account_by_id(&f.account_id).await.unwrap().unwrap();
            if n % 3 == 2 {
                let mut counts: Vec<i64> = pair.iter().map(|r| *r.as_ref().unwrap_err()).collect();
                counts.sort();
                assert_eq!(counts, [1, 2], "{l}: account {n}: both refusals counted, in turn");
                assert_eq!(account.second_factor_failures, 2, "{l}: account {n}");
                let state = s.failure_state(&format!("{PREFIX}{}", f.email), T0 + 2, 900).await.unwrap();
                assert_eq!((state.recent, state.consecutive), (2, 2), "{l}: account {n}: throttle");
                continue;
            }
            let outcomes: Vec<SignInOutcome> = pair.iter().map(|r| *r.as_ref().unwrap()).collect();
            assert_eq!(
                outcomes.iter().filter(|o| **o == SignInOutcome::Completed).count(),
                1,
                "{l}: account {n}: {outcomes:?}"
            );
            assert!(outcomes.contains(&SignInOutcome::CodeAlreadyUsed), "{l}: account {n}: {outcomes:?}");
            completed += 1;
            assert_eq!(s.totp_factor(&f.account_id).await.unwrap().unwrap().last_step, 101, "{l}");
            let states = [
                s.login_by_id(&f.login_id).await.unwrap().unwrap().state,
                s.login_by_id(replay).await.unwrap().unwrap().state,
            ];
            assert!(
                states.contains(&LoginState::Completed) && states.contains(&LoginState::Pending),
                "{l}: {states:?}"
            );
            assert_eq!(account.second_factor_failures, 0, "{l}");
        }
        // One audit entry per success and per refusal, in one unbroken chain.
        let (entries, _) = s.verify_audit_chain().await.unwrap().unwrap_or_else(|b| panic!("{l}: {b}"));
        assert_eq!(entries as usize, completed + 2 * (ACCOUNTS - completed), "{l}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_that_fails_does_not_fail_the_sign_ins_committed_with_it() {
    each_backend(|s, l| async move {
        let mut fixtures = Vec::new();
        for _ in 0..24 {
            fixtures.push(fixture(&s, l).await);
        }
        // The first sign-in's session token collides with a live session's.
        let taken = new_id();
        s.create_session(&taken, &fixtures[0].account_id, T0, T0 + 3600, None).await.unwrap();
        let fixtures = std::sync::Arc::new(fixtures);
        let results = race(24, |i| {
            let (s, fixtures, taken) = (s.clone(), fixtures.clone(), taken.clone());
            async move {
                let f = &fixtures[i];
                let mut ok = success(f, &f.login_id, Some(101));
                if i == 0 {
                    ok.session_token_hash = taken;
                }
                s.complete_sign_in(&ok).await
            }
        })
        .await;
        assert!(results[0].is_err(), "{l}: {:?}", results[0]);
        assert_eq!(
            s.login_by_id(&fixtures[0].login_id).await.unwrap().unwrap().state,
            LoginState::Pending,
            "{l}: rolled back"
        );
        assert_eq!(
            s.totp_factor(&fixtures[0].account_id).await.unwrap().unwrap().last_step,
            100,
            "{l}: step not burnt"
        );
        for (i, r) in results.iter().enumerate().skip(1) {
            assert_eq!(r.as_ref().ok(), Some(&SignInOutcome::Completed), "{l}: sign-in {i}");
        }
        assert_eq!(s.verify_audit_chain().await.unwrap().unwrap().0, 23, "{l}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sent_code_is_used_up_with_the_sign_in_or_not_at_all() {
    each_backend(|s, l| async move {
        let f = fixture(&s, l).await;
        let code = SentCode {
            id: new_id(),
            account_id: f.account_id.clone(),
            purpose: "login".into(),
            channel: "email".into(),
            destination: f.email.clone(),
            code_hash: b"hash".to_vec(),
            created_at: T0,
            expires_at: T0 + 300,
            tries: 0,
        };
        s.create_code(&code).await.unwrap();
        let with_code =
            |login_id: &str| SignInSuccess { sent_code_id: Some(code.id.clone()), ..success(&f, login_id, None) };
        // Closed attempt: the code stays live.
        let closed = pending_attempt(&s, &f.account_id).await;
        assert!(s.complete_login(&closed, T0, 5).await.unwrap());
        assert_eq!(s.complete_sign_in(&with_code(&closed)).await.unwrap(), SignInOutcome::AttemptClosed, "{l}");
        assert!(s.live_code(&f.account_id, "login", T0 + 10).await.unwrap().is_some(), "{l}: code still live");
        // Success: code and attempt used up together.
        assert_eq!(s.complete_sign_in(&with_code(&f.login_id)).await.unwrap(), SignInOutcome::Completed, "{l}");
        assert!(s.live_code(&f.account_id, "login", T0 + 10).await.unwrap().is_none(), "{l}: code used up");
        // The same code on another attempt: refused, and that attempt stays pending.
        let other = pending_attempt(&s, &f.account_id).await;
        let again = with_code(&other);
        assert_eq!(s.complete_sign_in(&again).await.unwrap(), SignInOutcome::CodeAlreadyUsed, "{l}");
        assert_eq!(s.login_by_id(&other).await.unwrap().unwrap().state, LoginState::Pending, "{l}");
        assert!(s.session(&again.session_token_hash, T0 + 20).await.unwrap().is_none(), "{l}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refusal_after_the_attempt_was_won_counts_nothing() {
    each_backend(|s, l| async move {
        let f = fixture(&s, l).await;
        assert_eq!(
            s.complete_sign_in(&success(&f, &f.login_id, Some(101))).await.unwrap(),
            SignInOutcome::Completed,
            "{l}"
        );
        // The losing twin of a double submission arrives after the win.
        assert_eq!(s.fail_sign_in(&failure(&f, &f.login_id, T0 + 11)).await.unwrap(), None, "{l}");
        assert_eq!(s.account_by_id(&f.account_id).await.unwrap().unwrap().second_factor_failures, 0, "{l}");
        assert_eq!(
            s.failure_state(&format!("{PREFIX}{}", f.email), T0 + 12, 900).await.unwrap(),
            FailureState::default(),
            "{l}"
        );
        assert_eq!(s.audit_events(Some(&f.account_id), 5).await.unwrap().len(), 1, "{l}: only the sign-in");
        // A dead attempt is different: refusals against it still count.
        let dead = pending_attempt(&s, &f.account_id).await;
        for n in 1..=6 {
            assert_eq!(s.fail_sign_in(&failure(&f, &dead, T0 + 20)).await.unwrap(), Some(n), "{l}");
        }
        assert_eq!(s.login_by_id(&dead).await.unwrap().unwrap().state, LoginState::Dead, "{l}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sign_in_adds_or_marks_its_device_with_the_rest_or_not_at_all() {
    use twostep_app::devices::port::{Device, DeviceStore, DeviceWrite};
    each_backend(|s, l| async move {
        let f = fixture(&s, l).await;
        let device = |seen: i64| Device {
            id: new_id(),
            account_id: f.account_id.clone(),
            token_hash: new_id(),
            first_seen_at: seen,
            last_seen_at: seen,
            ip: "192.0.2.1".into(),
            user_agent: "ua".into(),
            confirmed_at: None,
        };
        let with_device = |login_id: &str, step: i64, d: &Device, write: DeviceWrite| SignInSuccess {
            device_id: Some(d.id.clone()),
            device_write: write,
            ..success(&f, login_id, Some(step))
        };
        // A replayed step adds no device.
        let first = device(T0 + 1);
        let add = |d: &Device| DeviceWrite::Add { device: d.clone(), keep: 2 };
        let replay = with_device(&f.login_id, 100, &first, add(&first));
        assert_eq!(s.complete_sign_in(&replay).await.unwrap(), SignInOutcome::CodeAlreadyUsed, "{l}");
        assert!(s.devices_of(&f.account_id).await.unwrap().is_empty(), "{l}: nothing of a lost sign-in");
        // A won sign-in adds it, with its session on it.
        let won = with_device(&f.login_id, 101, &first, add(&first));
        assert_eq!(s.complete_sign_in(&won).await.unwrap(), SignInOutcome::Completed, "{l}");
        assert_eq!(s.devices_of(&f.account_id).await.unwrap(), vec![first.clone()], "{l}");
        // The next sign-in's context finds it by its token, and only by it.
        let next = pending_attempt(&s, &f.account_id).await;
        let ctx = s.sign_in_context(&next, PREFIX, T0, &first.token_hash).await.unwrap().unwrap();
        assert_eq!(ctx.device.known, Some(first.clone()), "{l}");
        assert_eq!((ctx.device.choice.as_str(), ctx.device.has_withdrawals), ("", false), "{l}");
        let ctx = s.sign_in_context(&next, PREFIX, T0, &new_id()).await.unwrap().unwrap();
        assert_eq!(ctx.device.known, None, "{l}");
        let session = s.session(&won.session_token_hash, T0 + 20).await.unwrap().expect("session");
        assert_eq!(session.account_id, f.account_id, "{l}");
        // Past the cap the oldest unconfirmed device goes, never the new one.
        let (second, third) = (device(T0 + 2), device(T0 + 3));
        for (step, d) in [(102, &second), (103, &third)] {
            let login_id = pending_attempt(&s, &f.account_id).await;
            let ok = with_device(&login_id, step, d, add(d));
            assert_eq!(s.complete_sign_in(&ok).await.unwrap(), SignInOutcome::Completed, "{l}");
        }
        let ids: Vec<String> = s.devices_of(&f.account_id).await.unwrap().into_iter().map(|d| d.id).collect();
        assert_eq!(ids, vec![third.id.clone(), second.id.clone()], "{l}: the first dropped");
        // A known device is marked seen now, from where the sign-in came.
        let login_id = pending_attempt(&s, &f.account_id).await;
        let seen = DeviceWrite::Seen { ip: "198.51.100.7".into(), user_agent: "other ua".into() };
        let mut ok = with_device(&login_id, 104, &second, seen);
        ok.now = T0 + 50;
        assert_eq!(s.complete_sign_in(&ok).await.unwrap(), SignInOutcome::Completed, "{l}");
        let latest = s.devices_of(&f.account_id).await.unwrap().remove(0);
        assert_eq!(
            (latest.id, latest.last_seen_at, latest.ip.as_str(), latest.user_agent.as_str()),
            (second.id.clone(), T0 + 50, "198.51.100.7", "other ua"),
            "{l}"
        );
    })
    .await;
}
