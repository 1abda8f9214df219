//! The storage contract: every behaviour the use cases rely on from the
//! `Store` ports, run against both SQLite and PostgreSQL through the one
//! `SqlStore`. Each test gets a fresh database per backend; assertion messages
//! name the backend. Races are started together behind a barrier and must
//! have exactly the winners the port documents.

use twostep_app::crypto::new_id;
use twostep_app::ports::*;
use twostep_domain::{LoginAttempt, LoginState, Role};
use twostep_store::{SqlStore, schema};
use twostep_testkit::contract::{account, connect, each_backend, each_database, race, same, winners};
use twostep_testkit::race;

/// Test time: plain unix seconds, far from "now" so nothing depends on the clock.
const T0: i64 = 1_700_000_000;

fn new_account(role: Role, verified: bool) -> NewAccount {
    let id = new_id();
    NewAccount {
        email: format!("{id}@example.test"),
        id,
        password_hash: "hash-1".into(),
        role,
        verified,
        created_at: T0,
        language: None,
    }
}

async fn record(s: &SqlStore, l: &str, id: &str) -> AccountRecord {
    s.account_by_id(id).await.unwrap().unwrap_or_else(|| panic!("{l}: account {id} missing"))
}

/// A pending login attempt for a fresh account, live until `expires_at`.
async fn pending_login(s: &SqlStore, l: &str, expires_at: i64) -> String {
    let (id, account_id) = (new_id(), account(s, l).await);
    let attempt = LoginAttempt { id, account_id, state: LoginState::Pending, failures: 0, expires_at };
    let login = NewLoginAttempt {
        attempt: attempt.clone(),
        created_at: T0,
        ip: "192.0.2.1".into(),
        user_agent: "ua".into(),
        audit: None,
    };
    s.create_login(&login).await.unwrap();
    attempt.id
}

async fn login_state(s: &SqlStore, l: &str, id: &str) -> LoginAttempt {
    s.login_by_id(id).await.unwrap().unwrap_or_else(|| panic!("{l}: login {id} missing"))
}

fn setup_for(account_id: &str, secret: &[u8]) -> TotpSetup {
    TotpSetup {
        id: new_id(),
        account_id: account_id.into(),
        sealed_secret: secret.to_vec(),
        created_at: T0,
        expires_at: T0 + 600,
    }
}

/// A fresh account with an authenticator bound at `last_step`; returns the account id.
async fn with_factor(s: &SqlStore, l: &str, last_step: i64) -> String {
    let id = account(s, l).await;
    let setup = setup_for(&id, b"sealed-factor");
    s.create_totp_setup(&setup).await.unwrap();
    assert!(s.bind_totp(&setup, last_step, T0).await.unwrap(), "{l}: bind_totp on a fresh setup");
    id
}

fn challenge(expires_at: i64) -> CaptchaChallenge {
    CaptchaChallenge { id: new_id(), salt: new_id(), difficulty_bits: 12, expires_at }
}

async fn new_code(s: &SqlStore, account_id: &str, purpose: &str, created_at: i64, expires_at: i64) -> SentCode {
    let (id, account_id, purpose, hash) = (new_id(), account_id.into(), purpose.into(), new_id().into_bytes());
    let (channel, destination) = ("email".into(), "someone@example.test".into());
    let c =
        SentCode { id, account_id, purpose, channel, destination, code_hash: hash, created_at, expires_at, tries: 0 };
    s.create_code(&c).await.unwrap();
    c
}

async fn live_id(s: &SqlStore, account_id: &str, purpose: &str, now: i64) -> Option<String> {
    s.live_code(account_id, purpose, now).await.unwrap().map(|c| c.id)
}

fn all_versions() -> Vec<i64> {
    schema::MIGRATIONS.iter().map(|m| m.0).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrate_twice_applies_nothing_the_second_time() {
    each_database(|url, l| async move {
        let s = connect(&url, l).await;
        assert_eq!(s.migrate().await.unwrap(), all_versions(), "{l}: first migrate applies every migration");
        assert_eq!(s.migrate().await.unwrap(), Vec::<i64>::new(), "{l}: second migrate is a no-op");
        account(&s, l).await;
        s.ping().await.unwrap_or_else(|e| panic!("{l}: ping: {e}"));
        s.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_migrations_on_a_fresh_database_all_succeed() {
    each_database(|url, l| async move {
        // Two instances starting at once, each with two migrators.
        let stores = [connect(&url, l).await, connect(&url, l).await];
        let results = race(4, |i| {
            let s = stores[i % 2].clone();
            async move { s.migrate().await }
        })
        .await;
        let mut applied = Vec::new();
        for r in results {
            applied.extend(r.unwrap_or_else(|e| panic!("{l}: concurrent migrate failed: {e}")));
        }
        applied.sort();
        assert_eq!(applied, all_versions(), "{l}: each migration applied exactly once");
        for s in &stores {
            assert!(s.migrate().await.unwrap().is_empty(), "{l}: nothing left to apply");
            account(s, l).await;
            s.close().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_migration_leaves_nothing_half_applied() {
    each_database(|url, l| async move {
        let s = connect(&url, l).await;
        // A stray table that the migration creates midway makes it fail there.
        sqlx::query("CREATE TABLE sessions (stray TEXT)").execute(s.pool()).await.unwrap();
        assert!(s.migrate().await.is_err(), "{l}: migrating over a conflicting table must fail");
        sqlx::query("DROP TABLE sessions").execute(s.pool()).await.unwrap();
        let retried = s.migrate().await.unwrap_or_else(|e| panic!("{l}: retry after a failed migration: {e}"));
        assert_eq!(retried, all_versions(), "{l}: the failed migration left nothing behind");
        account(&s, l).await;
        s.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn create_account_reports_a_taken_email_with_the_existing_account() {
    each_backend(|s, l| async move {
        let first = new_account(Role::User, false);
        assert!(matches!(s.create_account(&first).await.unwrap(), CreateOutcome::Created), "{l}");
        let again = NewAccount { id: new_id(), password_hash: "other".into(), ..first.clone() };
        match s.create_account(&again).await.unwrap() {
            CreateOutcome::EmailTaken(existing) => {
                assert_eq!(existing.id, first.id, "{l}: EmailTaken names the existing account");
                assert_eq!(existing.password_hash, "hash-1", "{l}: the existing password is untouched");
            }
            other => panic!("{l}: same e-mail twice gave {other:?}"),
        }
        assert!(s.account_by_id(&again.id).await.unwrap().is_none(), "{l}: the second account was not stored");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn accounts_round_trip_every_field() {
    each_backend(|s, l| async move {
        let a = NewAccount { language: Some(twostep_app::Lang::Fr), ..new_account(Role::Reviewer, false) };
        s.create_account(&a).await.unwrap();
        let (id, email, password_hash) = (a.id.clone(), a.email.clone(), "hash-1".into());
        let want = AccountRecord {
            id,
            email,
            password_hash,
            email_verified_at: None,
            phone: None,
            role: Role::Reviewer,
            created_at: T0,
            frozen_at: None,
            withdrawals_blocked_until: None,
            second_factor_failures: 0,
            owner_objected_at: None,
            language: Some(twostep_app::Lang::Fr),
        };
        same(l, "account_by_email", s.account_by_email(&a.email).await.unwrap(), Some(&want));
        same(l, "account_by_id", s.account_by_id(&a.id).await.unwrap(), Some(&want));

        let v = new_account(Role::Admin, true);
        s.create_account(&v).await.unwrap();
        let got = record(&s, l, &v.id).await;
        assert_eq!((got.role, got.email_verified_at), (Role::Admin, Some(T0)), "{l}: verified at creation");

        s.set_role(&a.id, Role::Admin).await.unwrap();
        s.set_password(&a.id, "hash-2").await.unwrap();
        let got = record(&s, l, &a.id).await;
        assert_eq!((got.role, got.password_hash.as_str()), (Role::Admin, "hash-2"), "{l}: set_role/set_password");
        assert!(!s.replace_password_hash(&a.id, "hash-1", "hash-3").await.unwrap(), "{l}: replace over a stale hash");
        assert_eq!(record(&s, l, &a.id).await.password_hash, "hash-2", "{l}: a stale replace changes nothing");
        assert!(
            s.replace_password_hash(&a.id, "hash-2", "hash-3").await.unwrap(),
            "{l}: replace over the current hash"
        );
        assert_eq!(record(&s, l, &a.id).await.password_hash, "hash-3", "{l}: replace_password_hash");
        assert!(s.account_by_email("nobody@example.test").await.unwrap().is_none(), "{l}: unknown e-mail");
        assert!(s.account_by_id(&new_id()).await.unwrap().is_none(), "{l}: unknown id");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mark_email_verified_confirms_once() {
    each_backend(|s, l| async move {
        let a = new_account(Role::User, false);
        s.create_account(&a).await.unwrap();
        s.mark_email_verified(&a.id, T0 + 5).await.unwrap();
        assert_eq!(record(&s, l, &a.id).await.email_verified_at, Some(T0 + 5), "{l}: mark_email_verified");
        s.mark_email_verified(&a.id, T0 + 9).await.unwrap();
        assert_eq!(record(&s, l, &a.id).await.email_verified_at, Some(T0 + 5), "{l}: the first confirmation stays");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn withdrawal_hold_only_rises() {
    each_backend(|s, l| async move {
        let id = account(&s, l).await;
        let hold = async |until| {
            s.extend_withdrawal_hold(&id, until).await.unwrap();
            record(&s, l, &id).await.withdrawals_blocked_until
        };
        assert_eq!(hold(T0 + 100).await, Some(T0 + 100), "{l}: first hold set");
        assert_eq!(hold(T0 + 50).await, Some(T0 + 100), "{l}: a shorter hold leaves the longer one");
        assert_eq!(hold(T0 + 100).await, Some(T0 + 100), "{l}: the same hold changes nothing");
        assert_eq!(hold(T0 + 200).await, Some(T0 + 200), "{l}: a longer hold extends it");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn second_factor_failures_count_up_and_clear() {
    each_backend(|s, l| async move {
        let (id, other) = (account(&s, l).await, account(&s, l).await);
        for n in 1..=3 {
            assert_eq!(s.add_second_factor_failure(&id).await.unwrap(), n, "{l}: failure {n}");
        }
        assert_eq!(record(&s, l, &id).await.second_factor_failures, 3, "{l}: stored count");
        assert_eq!(record(&s, l, &other).await.second_factor_failures, 0, "{l}: other account untouched");
        s.clear_second_factor_failures(&id).await.unwrap();
        assert_eq!(record(&s, l, &id).await.second_factor_failures, 0, "{l}: cleared");
        assert_eq!(s.add_second_factor_failure(&id).await.unwrap(), 1, "{l}: counts again from 1");
        let counts = race!(16, [s, id] => s.add_second_factor_failure(&id).await.unwrap());
        assert_eq!(record(&s, l, &id).await.second_factor_failures, 17, "{l}: no lost concurrent failures");
        assert_eq!(counts.iter().max(), Some(&17), "{l}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn login_attempts_round_trip() {
    each_backend(|s, l| async move {
        let id = pending_login(&s, l, T0 + 300).await;
        let got = login_state(&s, l, &id).await;
        assert_eq!(
            (got.id.as_str(), got.state, got.failures, got.expires_at),
            (id.as_str(), LoginState::Pending, 0, T0 + 300),
            "{l}"
        );
        assert!(s.account_by_id(&got.account_id).await.unwrap().is_some(), "{l}: account id stored");
        assert!(s.login_by_id(&new_id()).await.unwrap().is_none(), "{l}: unknown attempt");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn login_failures_kill_the_attempt_at_the_limit() {
    each_backend(|s, l| async move {
        let id = pending_login(&s, l, T0 + 300).await;
        for n in 1..=2 {
            assert_eq!(s.add_login_failure(&id, 3).await.unwrap(), Some(n), "{l}: failure {n}");
            assert_eq!(login_state(&s, l, &id).await.state, LoginState::Pending, "{l}: alive after {n}");
        }
        assert_eq!(s.add_login_failure(&id, 3).await.unwrap(), Some(3), "{l}: last failure counted");
        let got = login_state(&s, l, &id).await;
        assert_eq!((got.state, got.failures), (LoginState::Dead, 3), "{l}: dead at the limit");
        assert_eq!(s.add_login_failure(&id, 3).await.unwrap(), None, "{l}: a dead attempt takes no failures");
        assert!(!s.complete_login(&id, T0, 3).await.unwrap(), "{l}: a dead attempt cannot complete");
        assert_eq!(s.add_login_failure(&new_id(), 3).await.unwrap(), None, "{l}: unknown attempt");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn complete_login_has_exactly_one_winner() {
    each_backend(|s, l| async move {
        let id = pending_login(&s, l, T0 + 300).await;
        let results = race!(16, [s, id] => s.complete_login(&id, T0, 5).await);
        assert_eq!(winners(l, &results), 1, "{l}: 16 concurrent completions");
        assert_eq!(login_state(&s, l, &id).await.state, LoginState::Completed, "{l}");
        assert!(!s.complete_login(&id, T0, 5).await.unwrap(), "{l}: completes only once");
        assert_eq!(s.add_login_failure(&id, 5).await.unwrap(), None, "{l}: a completed attempt takes no failures");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn complete_login_refuses_expired_and_burnt_attempts() {
    each_backend(|s, l| async move {
        let expired = pending_login(&s, l, T0 + 60).await;
        assert!(!s.complete_login(&expired, T0 + 60, 5).await.unwrap(), "{l}: refused at now == expires_at");
        assert!(!s.complete_login(&expired, T0 + 61, 5).await.unwrap(), "{l}: refused after expiry");
        assert_eq!(login_state(&s, l, &expired).await.state, LoginState::Pending, "{l}: refusal changes nothing");
        assert!(s.complete_login(&expired, T0 + 59, 5).await.unwrap(), "{l}: allowed just before expiry");

        let burnt = pending_login(&s, l, T0 + 60).await;
        s.add_login_failure(&burnt, 10).await.unwrap();
        s.add_login_failure(&burnt, 10).await.unwrap();
        assert!(!s.complete_login(&burnt, T0, 2).await.unwrap(), "{l}: refused with failures at the limit");
        assert!(!s.complete_login(&new_id(), T0, 5).await.unwrap(), "{l}: unknown attempt");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn advance_totp_step_accepts_each_step_once() {
    each_backend(|s, l| async move {
        let id = with_factor(&s, l, 100).await;
        let results = race!(16, [s, id] => s.advance_totp_step(&id, 101).await);
        assert_eq!(winners(l, &results), 1, "{l}: 16 concurrent uses of one step");
        assert!(!s.advance_totp_step(&id, 101).await.unwrap(), "{l}: the same step again");
        assert!(!s.advance_totp_step(&id, 100).await.unwrap(), "{l}: an older step");
        assert!(s.advance_totp_step(&id, 103).await.unwrap(), "{l}: a later step");
        assert!(!s.advance_totp_step(&id, 102).await.unwrap(), "{l}: a step between old ones");
        assert_eq!(s.totp_factor(&id).await.unwrap().map(|f| f.last_step), Some(103), "{l}");
        assert!(!s.advance_totp_step(&new_id(), 1).await.unwrap(), "{l}: account without factor");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bind_totp_consumes_a_setup_once_and_never_replaces_a_factor() {
    each_backend(|s, l| async move {
        let id = account(&s, l).await;
        let setup = setup_for(&id, b"first");
        s.create_totp_setup(&setup).await.unwrap();
        same(l, "totp_setup round-trip", s.totp_setup(&setup.id).await.unwrap(), Some(&setup));
        let results = race!(8, [s, setup] => s.bind_totp(&setup, 42, T0 + 1).await);
        assert_eq!(winners(l, &results), 1, "{l}: 8 concurrent confirmations of one setup");
        assert!(s.totp_setup(&setup.id).await.unwrap().is_none(), "{l}: setup consumed");
        let want =
            TotpFactor { account_id: id.clone(), sealed_secret: b"first".to_vec(), last_step: 42, created_at: T0 + 1 };
        same(l, "bound factor", s.totp_factor(&id).await.unwrap(), Some(&want));
        assert!(!s.bind_totp(&setup, 43, T0 + 2).await.unwrap(), "{l}: a consumed setup does not bind again");

        let second = setup_for(&id, b"second");
        s.create_totp_setup(&second).await.unwrap();
        assert!(!s.bind_totp(&second, 50, T0 + 3).await.unwrap(), "{l}: a factor is already bound");
        same(l, "factor unchanged", s.totp_factor(&id).await.unwrap(), Some(&want));
        let other = setup_for(&account(&s, l).await, b"other");
        s.create_totp_setup(&other).await.unwrap();
        let stolen = TotpSetup { account_id: id.clone(), ..other.clone() };
        assert!(!s.bind_totp(&stolen, 1, T0).await.unwrap(), "{l}: another account's setup");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn remove_totp_unbinds_the_factor() {
    each_backend(|s, l| async move {
        let id = with_factor(&s, l, 7).await;
        assert!(s.remove_totp(&id).await.unwrap(), "{l}: remove a bound factor");
        assert!(s.totp_factor(&id).await.unwrap().is_none(), "{l}: factor gone");
        assert!(!s.remove_totp(&id).await.unwrap(), "{l}: nothing left to remove");
        let setup = setup_for(&id, b"new");
        s.create_totp_setup(&setup).await.unwrap();
        assert!(s.bind_totp(&setup, 9, T0).await.unwrap(), "{l}: a new factor binds after removal");
    })
    .await;
}

/// The header of values sealed under "the current key", for the listing of
/// values still to re-seal; the store treats it as opaque bytes.
const CURRENT: &[u8] = b"\x01current";

fn current(tail: &str) -> Vec<u8> {
    [CURRENT, tail.as_bytes()].concat()
}

/// An open case of a fresh account with `documents` stored as its identity
/// step. The case row is written directly, so this does not depend on how a
/// case is opened; the documents go through `record_identity`.
async fn case_with_documents(s: &SqlStore, l: &str, documents: &[(&str, Vec<u8>)]) -> String {
    let (case_id, account_id) = (new_id(), account(s, l).await);
    sqlx::query(
        "INSERT INTO recovery_cases (id, account_id, active_account_id, token_hash, status, version, required_steps, \
         created_at, updated_at, expires_at, open_ip, open_user_agent) \
         VALUES ($1, $2, $2, $3, 'open', 0, 'identity', $4, $4, $5, '192.0.2.1', 'ua')",
    )
    .bind(&case_id)
    .bind(&account_id)
    .bind(new_id())
    .bind(T0)
    .bind(T0 + 3600)
    .execute(s.pool())
    .await
    .unwrap();
    let documents = documents
        .iter()
        .map(|(slot, sealed)| twostep_app::recovery::port::NewDocument {
            slot: (*slot).into(),
            content_type: "image/png".into(),
            width: 400,
            height: 400,
            size_bytes: sealed.len() as i64,
            sealed: sealed.clone(),
        })
        .collect();
    let identity =
        twostep_app::recovery::port::IdentityRecord { country: "GB".into(), id_type: "passport".into(), documents };
    assert!(s.record_identity(&case_id, 0, T0, &identity).await.unwrap(), "{l}: documents stored");
    case_id
}

fn queued(sealed: &[u8]) -> QueuedMessage {
    QueuedMessage {
        id: new_id(),
        channel: "email".into(),
        recipient: "someone@example.test".into(),
        sealed: sealed.to_vec(),
        code_id: None,
        status: twostep_domain::MessageStatus::Queued,
        attempts: 0,
        created_at: T0,
        next_attempt_at: T0,
        expires_at: T0 + 600,
        finished_at: None,
        last_error: String::new(),
    }
}

/// Every value of `kind` still to re-seal, read `per_page` at a time as a
/// rotation reads them: (id, slot, sealed), in the order listed.
async fn stale(s: &SqlStore, kind: SecretKind, per_page: i64) -> Vec<(String, String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut after: Option<SealedSecret> = None;
    loop {
        let page = s.stale_secrets(kind, CURRENT, after.as_ref(), per_page).await.unwrap();
        assert!(page.len() as i64 <= per_page, "{kind:?}: a page holds at most the limit");
        assert!(page.iter().all(|x| x.kind == kind));
        out.extend(page.iter().map(|x| (x.id.clone(), x.slot.clone(), x.sealed.clone())));
        match page.last() {
            Some(last) => after = Some(last.clone()),
            None => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sealed_secrets_are_listed_and_resealed_by_compare_and_swap() {
    each_backend(|s, l| async move {
        // Still to re-seal: a factor, a setup, documents of two cases (one
        // of several MiB), a queued message. Already current: one of each.
        // Holding no secret: a sent message's wiped text.
        let factor_owner = with_factor(&s, l, 1).await;
        let current_owner = account(&s, l).await;
        let current_setup = setup_for(&current_owner, &current("factor"));
        s.create_totp_setup(&current_setup).await.unwrap();
        assert!(s.bind_totp(&current_setup, 1, T0).await.unwrap());
        let setup = setup_for(&account(&s, l).await, b"sealed-setup");
        s.create_totp_setup(&setup).await.unwrap();
        s.create_totp_setup(&setup_for(&account(&s, l).await, &current("setup"))).await.unwrap();
        let big: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        let case_a = case_with_documents(
            &s,
            l,
            &[("front", big.clone()), ("back", current("back")), ("selfie", b"sealed-selfie-a".to_vec())],
        )
        .await;
        let case_b = case_with_documents(
            &s,
            l,
            &[("front", b"sealed-front-b".to_vec()), ("selfie", b"sealed-selfie-b".to_vec())],
        )
        .await;
        let message = queued(b"sealed-message");
        let current_message = queued(&current("message"));
        let sent = queued(b"sealed-sent");
        for m in [&message, &current_message, &sent] {
            s.enqueue_message(m).await.unwrap();
        }
        let attempt = s.claim_message(&sent.id, T0, T0 + 60).await.unwrap().unwrap();
        assert!(s.finish_message(&sent.id, attempt, twostep_domain::MessageStatus::Sent, T0, "").await.unwrap());

        let mut documents = vec![
            (case_a.clone(), "front".to_owned(), big.clone()),
            (case_a.clone(), "selfie".to_owned(), b"sealed-selfie-a".to_vec()),
            (case_b.clone(), "front".to_owned(), b"sealed-front-b".to_vec()),
            (case_b.clone(), "selfie".to_owned(), b"sealed-selfie-b".to_vec()),
        ];
        documents.sort();
        let want = [
            (SecretKind::TotpFactor, vec![(factor_owner.clone(), String::new(), b"sealed-factor".to_vec())]),
            (SecretKind::TotpSetup, vec![(setup.id.clone(), String::new(), b"sealed-setup".to_vec())]),
            (SecretKind::RecoveryDocument, documents.clone()),
            (SecretKind::QueuedMessage, vec![(message.id.clone(), String::new(), b"sealed-message".to_vec())]),
        ];
        for (kind, want) in &want {
            // In key order, whatever the page size, documents one by one too.
            for per_page in [1, 2, 500] {
                assert_eq!(
                    &stale(&s, *kind, per_page).await,
                    want,
                    "{l}: {kind:?} still to re-seal, {per_page} a page"
                );
            }
        }

        for (kind, values) in &want {
            for (id, slot, old) in values {
                let secret = SealedSecret { kind: *kind, id: id.clone(), slot: slot.clone(), sealed: old.clone() };
                let new = current(&format!("{kind:?} {id} {slot}"));
                let stale_copy = SealedSecret { sealed: b"changed meanwhile".to_vec(), ..secret.clone() };
                assert!(
                    !s.reseal_secret(&stale_copy, b"lost").await.unwrap(),
                    "{l}: {kind:?} a value changed meanwhile is left alone"
                );
                assert!(s.reseal_secret(&secret, &new).await.unwrap(), "{l}: {kind:?} {slot} resealed");
                assert!(!s.reseal_secret(&secret, b"twice").await.unwrap(), "{l}: {kind:?} stale value refused");
            }
            assert!(stale(&s, *kind, 500).await.is_empty(), "{l}: {kind:?} nothing left to re-seal");
        }
        // The new values are where the use cases read them, and nothing else moved.
        assert_eq!(
            s.totp_factor(&factor_owner).await.unwrap().unwrap().sealed_secret,
            current(&format!("TotpFactor {factor_owner} ")),
            "{l}"
        );
        assert_eq!(s.totp_factor(&current_owner).await.unwrap().unwrap().sealed_secret, current("factor"), "{l}");
        assert_eq!(
            s.totp_setup(&setup.id).await.unwrap().unwrap().sealed_secret,
            current(&format!("TotpSetup {} ", setup.id)),
            "{l}"
        );
        for (case_id, slot, _) in &documents {
            let (_, sealed) = s.case_document(case_id, slot).await.unwrap().unwrap();
            assert_eq!(sealed, current(&format!("RecoveryDocument {case_id} {slot}")), "{l}: {slot} of {case_id}");
        }
        assert_eq!(s.case_document(&case_a, "back").await.unwrap().unwrap().1, current("back"), "{l}");
        let m = s.message(&message.id).await.unwrap().unwrap();
        assert_eq!(m.sealed, current(&format!("QueuedMessage {} ", message.id)), "{l}");
        assert_eq!(m.status, twostep_domain::MessageStatus::Queued, "{l}: still queued");
        assert!(s.message(&sent.id).await.unwrap().unwrap().sealed.is_empty(), "{l}: a sent message stays wiped");
        // A message sent and wiped after it was listed is not written back.
        let late = queued(b"sealed-late");
        s.enqueue_message(&late).await.unwrap();
        let listed = stale(&s, SecretKind::QueuedMessage, 500).await;
        assert_eq!(listed, vec![(late.id.clone(), String::new(), b"sealed-late".to_vec())], "{l}");
        let attempt = s.claim_message(&late.id, T0, T0 + 60).await.unwrap().unwrap();
        assert!(s.finish_message(&late.id, attempt, twostep_domain::MessageStatus::Sent, T0, "").await.unwrap());
        let secret = SealedSecret {
            kind: SecretKind::QueuedMessage,
            id: late.id.clone(),
            slot: String::new(),
            sealed: b"sealed-late".to_vec(),
        };
        assert!(!s.reseal_secret(&secret, &current("late")).await.unwrap(), "{l}: a wiped text is not brought back");
        assert!(s.message(&late.id).await.unwrap().unwrap().sealed.is_empty(), "{l}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn captcha_challenge_is_taken_once_while_live() {
    each_backend(|s, l| async move {
        let c = challenge(T0 + 60);
        s.create_challenge(&c).await.unwrap();
        same(l, "take returns the challenge", s.take_challenge(&c.id, T0).await.unwrap(), Some(&c));
        assert!(s.take_challenge(&c.id, T0).await.unwrap().is_none(), "{l}: a taken challenge is not taken again");

        let expiring = challenge(T0 + 60);
        s.create_challenge(&expiring).await.unwrap();
        assert!(s.take_challenge(&expiring.id, T0 + 60).await.unwrap().is_none(), "{l}: expired at expires_at");
        assert!(s.take_challenge(&expiring.id, T0 + 59).await.unwrap().is_some(), "{l}: live just before");
        assert!(s.take_challenge(&new_id(), T0).await.unwrap().is_none(), "{l}: unknown id");

        let raced = challenge(T0 + 60);
        s.create_challenge(&raced).await.unwrap();
        let id = raced.id;
        let taken = race!(16, [s, id] => s.take_challenge(&id, T0).await.unwrap());
        assert_eq!(taken.iter().flatten().count(), 1, "{l}: 16 concurrent takes");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn live_code_is_the_newest_usable_code_for_the_purpose() {
    each_backend(|s, l| async move {
        let acc = new_id();
        let older = new_code(&s, &acc, "login", T0, T0 + 600).await;
        let newer = new_code(&s, &acc, "login", T0 + 10, T0 + 300).await;
        let email = new_code(&s, &acc, "verify_email", T0 + 20, T0 + 600).await;
        same(l, "newest login code", s.live_code(&acc, "login", T0 + 11).await.unwrap(), Some(&newer));
        assert_eq!(live_id(&s, &acc, "verify_email", T0 + 21).await, Some(email.id), "{l}: per purpose");
        assert_eq!(live_id(&s, &new_id(), "login", T0 + 11).await, None, "{l}: per account");
        assert_eq!(
            live_id(&s, &acc, "login", T0 + 300).await,
            Some(older.id.clone()),
            "{l}: expired newest is skipped"
        );
        assert!(s.consume_code(&older.id, T0 + 301).await.unwrap(), "{l}");
        assert_eq!(live_id(&s, &acc, "login", T0 + 11).await, Some(newer.id.clone()), "{l}");
        assert!(s.consume_code(&newer.id, T0 + 12).await.unwrap(), "{l}");
        assert_eq!(live_id(&s, &acc, "login", T0 + 12).await, None, "{l}: used codes are not live");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn add_code_try_allows_exactly_max_tries() {
    each_backend(|s, l| async move {
        let acc = new_id();
        let c = new_code(&s, &acc, "login", T0, T0 + 600).await;
        for n in 1..=3 {
            assert!(s.add_code_try(&c.id, 3).await.unwrap(), "{l}: try {n} of 3");
        }
        assert!(!s.add_code_try(&c.id, 3).await.unwrap(), "{l}: no fourth try");
        assert_eq!(s.live_code(&acc, "login", T0).await.unwrap().map(|c| c.tries), Some(3), "{l}: stored tries");

        let id = new_code(&s, &acc, "reset", T0, T0 + 600).await.id;
        let results = race!(16, [s, id] => s.add_code_try(&id, 5).await);
        assert_eq!(winners(l, &results), 5, "{l}: 16 concurrent tries against max 5");
        let used = new_code(&s, &acc, "x", T0, T0 + 600).await;
        assert!(s.consume_code(&used.id, T0).await.unwrap(), "{l}");
        assert!(!s.add_code_try(&used.id, 5).await.unwrap(), "{l}: a used code takes no tries");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn consume_code_has_one_winner_and_refuses_expired_codes() {
    each_backend(|s, l| async move {
        let acc = new_id();
        let id = new_code(&s, &acc, "login", T0, T0 + 600).await.id;
        let results = race!(16, [s, id] => s.consume_code(&id, T0 + 1).await);
        assert_eq!(winners(l, &results), 1, "{l}: 16 concurrent consumes");
        let expired = new_code(&s, &acc, "login", T0, T0 + 600).await;
        assert!(!s.consume_code(&expired.id, T0 + 600).await.unwrap(), "{l}: refused at expires_at");
        assert!(s.consume_code(&expired.id, T0 + 599).await.unwrap(), "{l}: allowed just before");
        assert!(!s.consume_code(&new_id(), T0).await.unwrap(), "{l}: unknown code");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retire_codes_kills_every_live_code_of_the_purpose() {
    each_backend(|s, l| async move {
        let acc = new_id();
        let a = new_code(&s, &acc, "login", T0, T0 + 600).await;
        let b = new_code(&s, &acc, "login", T0 + 1, T0 + 600).await;
        let keep = new_code(&s, &acc, "verify_email", T0, T0 + 600).await;
        s.retire_codes(&acc, "login", T0 + 2).await.unwrap();
        assert_eq!(live_id(&s, &acc, "login", T0 + 2).await, None, "{l}: no live login code");
        for c in [&a, &b] {
            assert!(!s.consume_code(&c.id, T0 + 3).await.unwrap(), "{l}: a retired code is used up");
        }
        assert_eq!(live_id(&s, &acc, "verify_email", T0 + 2).await, Some(keep.id), "{l}: other purposes untouched");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sessions_live_until_expiry_or_revocation() {
    each_backend(|s, l| async move {
        let acc = account(&s, l).await;
        s.create_session("h1", &acc, T0, T0 + 100, None).await.unwrap();
        let got = s.session("h1", T0 + 99).await.unwrap().unwrap_or_else(|| panic!("{l}: live session missing"));
        assert_eq!((got.account_id.as_str(), got.expires_at), (acc.as_str(), T0 + 100), "{l}");
        assert!(s.session("h1", T0 + 100).await.unwrap().is_none(), "{l}: expired at expires_at");
        assert!(s.session("nope", T0).await.unwrap().is_none(), "{l}: unknown token");
        s.revoke_session("h1", T0 + 1, None).await.unwrap();
        assert!(s.session("h1", T0 + 2).await.unwrap().is_none(), "{l}: revoked");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revoke_sessions_revokes_all_but_the_kept_one() {
    each_backend(|s, l| async move {
        let (a, b) = (account(&s, l).await, account(&s, l).await);
        for (h, acc) in [("a1", &a), ("a2", &a), ("a3", &a), ("b1", &b)] {
            s.create_session(h, acc, T0, T0 + 1000, None).await.unwrap();
        }
        s.revoke_session("a3", T0, None).await.unwrap();
        let live = async |h| s.session(h, T0 + 1).await.unwrap().is_some();
        assert_eq!(s.revoke_sessions(&a, Some("a2"), T0).await.unwrap(), 1, "{l}: only live others counted");
        assert_eq!((live("a1").await, live("a2").await, live("b1").await), (false, true, true), "{l}");
        assert_eq!(s.revoke_sessions(&a, Some("a2"), T0).await.unwrap(), 0, "{l}: nothing left");
        assert_eq!(s.revoke_sessions(&a, None, T0).await.unwrap(), 1, "{l}: None revokes all");
        assert_eq!((live("a2").await, live("b1").await), (false, true), "{l}: other account untouched");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hit_counts_per_bucket_and_window() {
    each_backend(|s, l| async move {
        for n in 1..=3 {
            assert_eq!(s.hit("ip:1", T0).await.unwrap(), n, "{l}: hit {n}");
        }
        assert_eq!(s.hit("ip:1", T0 + 60).await.unwrap(), 1, "{l}: a new window starts at 1");
        assert_eq!(s.hit("ip:2", T0).await.unwrap(), 1, "{l}: another bucket starts at 1");
        assert_eq!(s.hits("ip:1", T0).await.unwrap(), 3, "{l}: hits reads");
        assert_eq!(s.hits("ip:1", T0).await.unwrap(), 3, "{l}: hits does not add");
        assert_eq!(s.hits("ip:3", T0).await.unwrap(), 0, "{l}: unknown bucket");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_hits_lose_no_updates() {
    each_backend(|s, l| async move {
        let mut counts = race!(32, [s] => s.hit("ip:race", T0).await.unwrap());
        counts.sort();
        assert_eq!(counts, (1..=32).collect::<Vec<i64>>(), "{l}: each hit saw its own count");
        assert_eq!(s.hits("ip:race", T0).await.unwrap(), 32, "{l}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failures_are_counted_in_the_window_and_cleared() {
    each_backend(|s, l| async move {
        let fs = |recent, consecutive, last| FailureState { recent, consecutive, last_failure_at: last };
        assert_eq!(s.record_failure("acct:a", T0, 60).await.unwrap(), fs(1, 1, Some(T0)), "{l}");
        assert_eq!(s.record_failure("acct:a", T0 + 10, 60).await.unwrap(), fs(2, 2, Some(T0 + 10)), "{l}");
        assert_eq!(s.failure_state("acct:a", T0 + 20, 60).await.unwrap(), fs(2, 2, Some(T0 + 10)), "{l}: reads");
        assert_eq!(
            s.failure_state("acct:a", T0 + 65, 60).await.unwrap(),
            fs(1, 2, Some(T0 + 10)),
            "{l}: old one left the window"
        );
        assert_eq!(s.failure_state("acct:a", T0 + 1000, 60).await.unwrap().recent, 0, "{l}: all left the window");
        assert_eq!(s.record_failure("acct:b", T0, 60).await.unwrap(), fs(1, 1, Some(T0)), "{l}: per subject");
        s.clear_failures("acct:a").await.unwrap();
        assert_eq!(s.failure_state("acct:a", T0 + 20, 60).await.unwrap(), FailureState::default(), "{l}: cleared");
        assert_eq!(
            s.record_failure("acct:a", T0 + 30, 60).await.unwrap(),
            fs(1, 1, Some(T0 + 30)),
            "{l}: streak restarts"
        );
        assert_eq!(
            s.failure_state("acct:b", T0 + 20, 60).await.unwrap(),
            fs(1, 1, Some(T0)),
            "{l}: other subject kept"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn prune_throttle_removes_old_rows_only() {
    each_backend(|s, l| async move {
        s.hit("ip:1", T0).await.unwrap();
        s.hit("ip:1", T0 + 100).await.unwrap();
        s.record_failure("acct:a", T0, 1000).await.unwrap();
        s.record_failure("acct:a", T0 + 100, 1000).await.unwrap();
        s.prune_throttle(T0 + 50).await.unwrap();
        assert_eq!(s.hits("ip:1", T0).await.unwrap(), 0, "{l}: old window pruned");
        assert_eq!(s.hits("ip:1", T0 + 100).await.unwrap(), 1, "{l}: current window kept");
        assert_eq!(
            s.failure_state("acct:a", T0 + 100, 1000).await.unwrap().recent,
            1,
            "{l}: only the new failure left"
        );
    })
    .await;
}

fn event(at: i64, account_id: Option<&str>, kind: &str) -> AuditEvent {
    let account_id = account_id.map(str::to_owned);
    AuditEvent {
        at,
        account_id,
        kind: kind.into(),
        ip: "192.0.2.1".into(),
        user_agent: "ua".into(),
        detail: format!("{kind} {at}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn audit_events_are_newest_first_filtered_and_limited() {
    each_backend(|s, l| async move {
        let events = [
            event(T0, Some("a"), "login"),
            event(T0 + 1, Some("b"), "login"),
            event(T0 + 2, None, "captcha"),
            event(T0 + 3, Some("a"), "totp_bound"),
            event(T0 + 4, Some("a"), "logout"),
        ];
        for e in &events {
            s.append_audit(e).await.unwrap();
        }
        let newest_first = |idx: &[usize]| idx.iter().map(|&i| events[i].clone()).collect::<Vec<_>>();
        assert_eq!(s.audit_events(None, 10).await.unwrap(), newest_first(&[4, 3, 2, 1, 0]), "{l}: all");
        assert_eq!(s.audit_events(Some("a"), 10).await.unwrap(), newest_first(&[4, 3, 0]), "{l}: account a");
        assert_eq!(s.audit_events(Some("a"), 2).await.unwrap(), newest_first(&[4, 3]), "{l}: limit");
        assert_eq!(s.audit_events(None, 1).await.unwrap(), newest_first(&[4]), "{l}: limit, all");
        assert!(s.audit_events(Some("zzz"), 10).await.unwrap().is_empty(), "{l}: unknown account");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn outbox_is_newest_first_and_filtered_by_recipient() {
    each_backend(|s, l| async move {
        let msg = |to: &str, at| OutboxMessage {
            id: new_id(),
            channel: "email".into(),
            to: to.into(),
            body: format!("code {at}"),
            sent_at: at,
        };
        let sent = [msg("x@example.test", T0), msg("y@example.test", T0 + 1), msg("x@example.test", T0 + 2)];
        for m in &sent {
            s.push_outbox(m).await.unwrap();
        }
        let pick = |idx: &[usize]| idx.iter().map(|&i| sent[i].clone()).collect::<Vec<_>>();
        assert_eq!(s.outbox_for(Some("x@example.test"), 10).await.unwrap(), pick(&[2, 0]), "{l}: recipient x");
        assert_eq!(s.outbox_for(Some("x@example.test"), 1).await.unwrap(), pick(&[2]), "{l}: newest for x");
        assert_eq!(s.outbox_for(None, 10).await.unwrap(), pick(&[2, 1, 0]), "{l}: everyone");
        assert!(s.outbox_for(Some("z@example.test"), 10).await.unwrap().is_empty(), "{l}: nobody");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn withdrawals_need_an_existing_account_and_ping_works() {
    each_backend(|s, l| async move {
        let w = |account_id: &str| Withdrawal {
            id: new_id(),
            account_id: account_id.into(),
            asset: "BTC".into(),
            amount: "0.5".into(),
            address: "bc1qexample".into(),
            created_at: T0,
        };
        let ok = w(&account(&s, l).await);
        s.create_withdrawal(&ok).await.unwrap_or_else(|e| panic!("{l}: withdrawal for an account: {e}"));
        assert!(s.create_withdrawal(&ok).await.is_err(), "{l}: the same withdrawal id twice");
        assert!(s.create_withdrawal(&w(&new_id())).await.is_err(), "{l}: withdrawal for an unknown account");
        s.ping().await.unwrap_or_else(|e| panic!("{l}: ping: {e}"));
    })
    .await;
}
