//! The storage contract of sensitive account changes, on SQLite and
//! PostgreSQL: a new password, a phone bound or replaced, an authenticator
//! bound (first or replacement) or removed each lands in one transaction with
//! its withdrawal hold, its sign-out, the audit entry and the notice, or none
//! of them lands: a change whose condition fails (a second concurrent bind,
//! a code used meanwhile, a password or phone changed meanwhile, nothing to
//! remove) and a change the database fails halfway write nothing at all.
//! Whether an authenticator replaces an earlier one comes from the account's
//! own durable record, filled by the migration for accounts from before it.

use sqlx::Executor;
use twostep_app::crypto::new_id;
use twostep_app::passkeys::port::PasskeyStore;
use twostep_app::ports::*;
use twostep_domain::{LoginAttempt, LoginState};
use twostep_store::{Backend, SqlStore};
use twostep_testkit::contract::{account, each_backend, notice, race};

const T0: i64 = 1_700_000_000;
const DAY: i64 = 86_400;

/// An audit entry of `kind` and a notice, each unlike any other.
fn told(kind: &str, account_id: &str, now: i64) -> Effects {
    let entry = AuditEvent {
        at: now,
        account_id: Some(account_id.into()),
        kind: kind.into(),
        ip: "192.0.2.9".into(),
        user_agent: "ua".into(),
        detail: format!("{kind} {}", new_id()),
    };
    Effects { audit: vec![entry], notices: vec![notice("email", "owner@example.test", now)] }
}

fn plan(account_id: &str, now: i64, change: AccountChange, effects: Effects) -> AccountChangePlan {
    AccountChangePlan {
        account_id: account_id.into(),
        now,
        change,
        hold_until: None,
        sign_out: SignOut::Nobody,
        clear_failures: None,
        effects,
    }
}

/// A change that was applied is stored with its audit entry and notice,
/// once; one that was refused (or failed) with neither.
async fn all_or_none(s: &SqlStore, l: &str, what: &str, effects: &Effects, applied: bool) {
    let mut audited = 0;
    for e in &effects.audit {
        audited += s.audit_events(e.account_id.as_deref(), 10_000).await.unwrap().iter().filter(|x| *x == e).count();
    }
    let mut queued = 0;
    for n in &effects.notices {
        queued += usize::from(s.message(&n.id).await.unwrap().is_some());
    }
    let want = if applied { (effects.audit.len(), effects.notices.len()) } else { (0, 0) };
    assert_eq!((audited, queued), want, "{l}: {what} (applied: {applied}): (audit entries, notices) stored");
}

async fn chain_intact(s: &SqlStore, l: &str) {
    s.verify_audit_chain().await.unwrap().unwrap_or_else(|b| panic!("{l}: the audit chain breaks: {b}"));
}

async fn session(s: &SqlStore, account_id: &str) -> String {
    let token = new_id();
    s.create_session(&token, account_id, T0, T0 + 30 * DAY, None).await.unwrap();
    token
}

async fn pending_login(s: &SqlStore, account_id: &str) -> String {
    let attempt = LoginAttempt {
        id: new_id(),
        account_id: account_id.into(),
        state: LoginState::Pending,
        failures: 0,
        expires_at: T0 + DAY,
    };
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

async fn code_to(s: &SqlStore, account_id: &str, phone: &str, expires_at: i64) -> SentCode {
    let c = SentCode {
        id: new_id(),
        account_id: account_id.into(),
        purpose: "bind_phone".into(),
        channel: "sms".into(),
        destination: phone.into(),
        code_hash: new_id().into_bytes(),
        created_at: T0,
        expires_at,
        tries: 0,
    };
    s.create_code(&c).await.unwrap();
    c
}

async fn setup(s: &SqlStore, account_id: &str) -> TotpSetup {
    let setup = TotpSetup {
        id: new_id(),
        account_id: account_id.into(),
        sealed_secret: new_id().into_bytes(),
        created_at: T0,
        expires_at: T0 + DAY,
    };
    s.create_totp_setup(&setup).await.unwrap();
    setup
}

/// Binds an enrolment; a replacement queues its own notice instead of the plan's.
fn bind(setup: &TotpSetup, replacement_hold_until: i64) -> AccountChange {
    AccountChange::BindTotp {
        setup: setup.clone(),
        last_step: 100,
        replacement_hold_until,
        replacement_notices: vec![notice("email", "owner@example.test", T0)],
    }
}

/// Like `all_or_none`, for a whole plan: `applied` is None when it was
/// refused or failed, else whether it replaced an authenticator. A binding
/// queues the plan's notices when it is a first one, its replacement
/// notices when it replaces one, and never both.
async fn plan_told(s: &SqlStore, l: &str, what: &str, p: &AccountChangePlan, applied: Option<bool>) {
    let replacement = match &p.change {
        AccountChange::BindTotp { replacement_notices, .. } => replacement_notices.clone(),
        _ => Vec::new(),
    };
    let plain = Effects { audit: Vec::new(), notices: p.effects.notices.clone() };
    let instead = Effects { audit: Vec::new(), notices: replacement.clone() };
    let audit = Effects { audit: p.effects.audit.clone(), notices: Vec::new() };
    let replaced = applied == Some(true) && !replacement.is_empty();
    all_or_none(s, l, &format!("{what}, its audit entries"), &audit, applied.is_some()).await;
    all_or_none(s, l, &format!("{what}, its notices"), &plain, applied.is_some() && !replaced).await;
    all_or_none(s, l, &format!("{what}, its replacement notices"), &instead, replaced).await;
}

/// Everything about an account that a change may write, to show that a
/// refused or failed change wrote nothing.
async fn state(s: &SqlStore, account_id: &str, sessions: &[&str], logins: &[&str], codes: &[&str]) -> String {
    let acc = s.account_by_id(account_id).await.unwrap().unwrap();
    let factor = s.totp_factor(account_id).await.unwrap();
    let mut alive = Vec::new();
    for t in sessions {
        alive.push(s.session(t, T0).await.unwrap().is_some());
    }
    let mut states = Vec::new();
    for id in logins {
        states.push(s.login_by_id(id).await.unwrap().unwrap().state);
    }
    let mut codes_used = Vec::new();
    for id in codes {
        codes_used.push(used(s, id).await);
    }
    let failures = s.failure_state(&subject(account_id), T0 + 1, DAY).await.unwrap();
    let entries = s.audit_events(Some(account_id), 10_000).await.unwrap().len();
    format!(
        "{acc:?} {factor:?} sessions {alive:?} logins {states:?} codes used {codes_used:?} {failures:?} \
         entries {entries}"
    )
}

async fn used(s: &SqlStore, code_id: &str) -> bool {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sent_codes WHERE id = $1 AND used_at IS NOT NULL")
        .bind(code_id)
        .fetch_one(s.pool())
        .await
        .unwrap();
    n == 1
}

fn subject(account_id: &str) -> String {
    format!("step-up:{account_id}")
}

fn outcomes(l: &str, results: Vec<StoreResult<AccountChangeOutcome>>) -> Vec<AccountChangeOutcome> {
    results.into_iter().map(|r| r.unwrap_or_else(|e| panic!("{l}: racer failed: {e}"))).collect()
}

const APPLIED: AccountChangeOutcome = AccountChangeOutcome::Applied { replaced_authenticator: false };

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_password_lands_with_the_sign_out_hold_audit_entry_and_notice_or_not_at_all() {
    each_backend(|s, l| async move {
        let a = account(&s, l).await;
        let b = account(&s, l).await;
        let keep = session(&s, &a).await;
        let others = [session(&s, &a).await, session(&s, &a).await];
        let pending = pending_login(&s, &a).await;
        let b_session = session(&s, &b).await;
        let b_pending = pending_login(&s, &b).await;

        let mut p = plan(
            &a,
            T0 + 10,
            AccountChange::Password { checked_hash: "hash-1".into(), new_hash: "hash-2".into() },
            told("password_changed", &a, T0 + 10),
        );
        p.hold_until = Some(T0 + 10 + DAY);
        p.sign_out = SignOut::AllBut { keep: keep.clone() };
        assert_eq!(s.apply_account_change(&p).await.unwrap(), APPLIED, "{l}");
        let acc = s.account_by_id(&a).await.unwrap().unwrap();
        assert_eq!((acc.password_hash.as_str(), acc.withdrawals_blocked_until), ("hash-2", Some(T0 + 10 + DAY)), "{l}");
        assert!(s.session(&keep, T0 + 11).await.unwrap().is_some(), "{l}: the session that changed it stays");
        for t in &others {
            assert!(s.session(t, T0 + 11).await.unwrap().is_none(), "{l}: every other session is signed out");
        }
        assert_eq!(
            s.login_by_id(&pending).await.unwrap().unwrap().state,
            LoginState::Dead,
            "{l}: pending sign-in dies"
        );
        assert!(s.session(&b_session, T0 + 11).await.unwrap().is_some(), "{l}: another account's session stays");
        assert_eq!(
            s.login_by_id(&b_pending).await.unwrap().unwrap().state,
            LoginState::Pending,
            "{l}: and its sign-in"
        );
        all_or_none(&s, l, "password change", &p.effects, true).await;

        // Over a password that is no longer the one checked: nothing at all.
        let fresh = session(&s, &a).await;
        let later = pending_login(&s, &a).await;
        let before = state(&s, &a, &[&keep, &fresh], &[&later], &[]).await;
        let mut stale = plan(
            &a,
            T0 + 20,
            AccountChange::Password { checked_hash: "hash-1".into(), new_hash: "hash-x".into() },
            told("password_changed", &a, T0 + 20),
        );
        stale.hold_until = Some(T0 + 20 + 5 * DAY);
        stale.sign_out = SignOut::AllBut { keep: keep.clone() };
        assert_eq!(s.apply_account_change(&stale).await.unwrap(), AccountChangeOutcome::Changed, "{l}");
        assert_eq!(state(&s, &a, &[&keep, &fresh], &[&later], &[]).await, before, "{l}: a stale change writes nothing");
        all_or_none(&s, l, "stale password change", &stale.effects, false).await;

        // Four changes over the same checked password: one lands, whole.
        let racers: Vec<AccountChangePlan> = (0..4)
            .map(|i| {
                let change = AccountChange::Password { checked_hash: "hash-2".into(), new_hash: format!("hash-3-{i}") };
                let mut p = plan(&a, T0 + 30, change, told("password_changed", &a, T0 + 30));
                p.hold_until = Some(T0 + 30 + DAY);
                p.sign_out = SignOut::AllBut { keep: keep.clone() };
                p
            })
            .collect();
        let results = outcomes(
            l,
            race(4, |i| {
                let (s, p) = (s.clone(), racers[i].clone());
                async move { s.apply_account_change(&p).await }
            })
            .await,
        );
        let won: Vec<usize> = (0..4).filter(|i| results[*i] == APPLIED).collect();
        assert_eq!(won.len(), 1, "{l}: exactly one of four racing password changes: {results:?}");
        for (i, p) in racers.iter().enumerate() {
            all_or_none(&s, l, &format!("racer {i}"), &p.effects, won[0] == i).await;
            if won[0] != i {
                assert_eq!(results[i], AccountChangeOutcome::Changed, "{l}");
            }
        }
        assert_eq!(s.account_by_id(&a).await.unwrap().unwrap().password_hash, format!("hash-3-{}", won[0]), "{l}");
        assert!(s.session(&fresh, T0 + 31).await.unwrap().is_none(), "{l}: the winner signed the new session out");
        chain_intact(&s, l).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_phone_binding_uses_its_code_and_lands_with_its_hold_audit_entry_and_notice_or_not_at_all() {
    each_backend(|s, l| async move {
        let a = account(&s, l).await;
        s.record_failure(&subject(&a), T0, DAY).await.unwrap();
        let (p1, p2) = ("+447911100001", "+447911100002");

        // A first phone: no hold, the code used up, the failures forgotten.
        let c1 = code_to(&s, &a, p1, T0 + 600).await;
        let mut first = plan(
            &a,
            T0 + 10,
            AccountChange::Phone { code_id: c1.id.clone(), phone: p1.into(), previous: None },
            told("phone_bound", &a, T0 + 10),
        );
        first.clear_failures = Some(subject(&a));
        assert_eq!(s.apply_account_change(&first).await.unwrap(), APPLIED, "{l}");
        let acc = s.account_by_id(&a).await.unwrap().unwrap();
        assert_eq!((acc.phone.as_deref(), acc.withdrawals_blocked_until), (Some(p1), None), "{l}");
        assert!(s.live_code(&a, "bind_phone", T0 + 11).await.unwrap().is_none(), "{l}: the code is used up");
        assert_eq!(s.failure_state(&subject(&a), T0 + 11, DAY).await.unwrap(), FailureState::default(), "{l}");
        all_or_none(&s, l, "first phone", &first.effects, true).await;

        // A replacement: with its hold.
        let c2 = code_to(&s, &a, p2, T0 + 600).await;
        let mut replace = plan(
            &a,
            T0 + 20,
            AccountChange::Phone { code_id: c2.id.clone(), phone: p2.into(), previous: Some(p1.into()) },
            told("phone_replaced", &a, T0 + 20),
        );
        replace.hold_until = Some(T0 + 20 + DAY);
        assert_eq!(s.apply_account_change(&replace).await.unwrap(), APPLIED, "{l}");
        let acc = s.account_by_id(&a).await.unwrap().unwrap();
        assert_eq!((acc.phone.as_deref(), acc.withdrawals_blocked_until), (Some(p2), Some(T0 + 20 + DAY)), "{l}");
        all_or_none(&s, l, "replaced phone", &replace.effects, true).await;

        // Refused: the number changed since it was read; the code used
        // again; an expired code. None of them writes anything, and the
        // refused code stays usable.
        let c3 = code_to(&s, &a, "+447911100003", T0 + 600).await;
        let c4 = code_to(&s, &a, "+447911100004", T0 + 5).await;
        let refusals = [
            (c3.id.clone(), Some(p1), AccountChangeOutcome::Changed, "over a number replaced meanwhile"),
            (c2.id.clone(), Some(p2), AccountChangeOutcome::CodeUsed, "with a used code"),
            (c4.id.clone(), Some(p2), AccountChangeOutcome::CodeUsed, "with an expired code"),
        ];
        for (code_id, previous, want, what) in refusals {
            let change =
                AccountChange::Phone { code_id, phone: "+447911100009".into(), previous: previous.map(Into::into) };
            let mut p = plan(&a, T0 + 30, change, told("phone_replaced", &a, T0 + 30));
            p.hold_until = Some(T0 + 30 + 9 * DAY);
            p.clear_failures = Some(subject(&a));
            s.record_failure(&subject(&a), T0, DAY).await.unwrap();
            let before = state(&s, &a, &[], &[], &[&c3.id, &c4.id]).await;
            assert_eq!(s.apply_account_change(&p).await.unwrap(), want, "{l}: {what}");
            assert_eq!(state(&s, &a, &[], &[], &[&c3.id, &c4.id]).await, before, "{l}: {what} writes nothing");
            all_or_none(&s, l, what, &p.effects, false).await;
        }
        assert!(!used(&s, &c3.id).await, "{l}: a refused binding leaves its code unused");

        // Four copies of one code: one binds.
        let c5 = code_to(&s, &a, "+447911100005", T0 + 600).await;
        let copies: Vec<AccountChangePlan> = (0..4)
            .map(|_| {
                let change = AccountChange::Phone {
                    code_id: c5.id.clone(),
                    phone: "+447911100005".into(),
                    previous: Some(p2.into()),
                };
                let mut p = plan(&a, T0 + 40, change, told("phone_replaced", &a, T0 + 40));
                p.hold_until = Some(T0 + 40 + DAY);
                p
            })
            .collect();
        let results = outcomes(
            l,
            race(4, |i| {
                let (s, p) = (s.clone(), copies[i].clone());
                async move { s.apply_account_change(&p).await }
            })
            .await,
        );
        let won: Vec<usize> = (0..4).filter(|i| results[*i] == APPLIED).collect();
        assert_eq!(won.len(), 1, "{l}: one of four copies of a code: {results:?}");
        for (i, p) in copies.iter().enumerate() {
            all_or_none(&s, l, &format!("copy {i}"), &p.effects, won[0] == i).await;
        }
        assert!(results.iter().all(|r| *r == APPLIED || *r == AccountChangeOutcome::CodeUsed), "{l}: {results:?}");

        // Two codes to two numbers, both over the same previous number: one
        // binds; the other loses on the number and keeps its code unused.
        let (c6, c7) =
            (code_to(&s, &a, "+447911100006", T0 + 600).await, code_to(&s, &a, "+447911100007", T0 + 600).await);
        let pair: Vec<AccountChangePlan> = [&c6, &c7]
            .iter()
            .map(|c| {
                let change = AccountChange::Phone {
                    code_id: c.id.clone(),
                    phone: c.destination.clone(),
                    previous: Some("+447911100005".into()),
                };
                let mut p = plan(&a, T0 + 50, change, told("phone_replaced", &a, T0 + 50));
                p.hold_until = Some(T0 + 50 + DAY);
                p
            })
            .collect();
        let results = outcomes(
            l,
            race(2, |i| {
                let (s, p) = (s.clone(), pair[i].clone());
                async move { s.apply_account_change(&p).await }
            })
            .await,
        );
        let won: Vec<usize> = (0..2).filter(|i| results[*i] == APPLIED).collect();
        assert_eq!(won.len(), 1, "{l}: one of two bindings over one number: {results:?}");
        let (winner, loser) = (won[0], 1 - won[0]);
        assert_eq!(results[loser], AccountChangeOutcome::Changed, "{l}");
        all_or_none(&s, l, "winning binding", &pair[winner].effects, true).await;
        all_or_none(&s, l, "losing binding", &pair[loser].effects, false).await;
        let bound = s.account_by_id(&a).await.unwrap().unwrap().phone.unwrap();
        assert_eq!(bound, [&c6, &c7][winner].destination, "{l}");
        assert!(used(&s, &[&c6, &c7][winner].id).await, "{l}: the winning binding used its code");
        assert!(!used(&s, &[&c6, &c7][loser].id).await, "{l}: the losing binding's code was not used up");
        chain_intact(&s, l).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_authenticator_binds_once_and_a_replacement_holds_withdrawals_from_durable_state() {
    each_backend(|s, l| async move {
        let a = account(&s, l).await;
        s.record_failure(&subject(&a), T0, DAY).await.unwrap();
        let s1 = setup(&s, &a).await;
        let mut first = plan(&a, T0 + 10, bind(&s1, T0 + 10 + DAY), told("totp_enrolled", &a, T0 + 10));
        first.clear_failures = Some(subject(&a));
        assert_eq!(
            s.apply_account_change(&first).await.unwrap(),
            APPLIED,
            "{l}: a first authenticator replaces nothing"
        );
        let f = s.totp_factor(&a).await.unwrap().unwrap();
        assert_eq!((f.sealed_secret, f.last_step), (s1.sealed_secret.clone(), 100), "{l}");
        assert!(s.totp_setup(&s1.id).await.unwrap().is_none(), "{l}: the enrolment is used up");
        assert_eq!(s.account_by_id(&a).await.unwrap().unwrap().withdrawals_blocked_until, None, "{l}: no hold");
        assert_eq!(s.failure_state(&subject(&a), T0 + 11, DAY).await.unwrap(), FailureState::default(), "{l}");
        plan_told(&s, l, "first bind", &first, Some(false)).await;

        // Bound already, or the enrolment used: nothing written.
        let s2 = setup(&s, &a).await;
        let other = setup(&s, &account(&s, l).await).await;
        for (change, what) in [
            (bind(&s2, T0 + 9 * DAY), "a second authenticator"),
            (bind(&s1, T0 + 9 * DAY), "a used enrolment"),
            (bind(&other, T0 + 9 * DAY), "another account's enrolment"),
        ] {
            let before = state(&s, &a, &[], &[], &[]).await;
            let mut p = plan(&a, T0 + 20, change, told("totp_enrolled", &a, T0 + 20));
            p.hold_until = Some(T0 + 9 * DAY);
            assert_eq!(s.apply_account_change(&p).await.unwrap(), AccountChangeOutcome::Changed, "{l}: {what}");
            assert_eq!(state(&s, &a, &[], &[], &[]).await, before, "{l}: {what} writes nothing");
            plan_told(&s, l, what, &p, None).await;
        }
        assert!(s.totp_setup(&s2.id).await.unwrap().is_some(), "{l}: a refused enrolment is not used up");

        // Removal: with its hold; a second removal finds nothing and writes nothing.
        let mut remove = plan(&a, T0 + 30, AccountChange::RemoveTotp, told("totp_disabled", &a, T0 + 30));
        remove.hold_until = Some(T0 + 30 + DAY);
        assert_eq!(s.apply_account_change(&remove).await.unwrap(), APPLIED, "{l}");
        assert!(s.totp_factor(&a).await.unwrap().is_none(), "{l}");
        assert_eq!(s.account_by_id(&a).await.unwrap().unwrap().withdrawals_blocked_until, Some(T0 + 30 + DAY), "{l}");
        all_or_none(&s, l, "removal", &remove.effects, true).await;
        let before = state(&s, &a, &[], &[], &[]).await;
        let mut again = plan(&a, T0 + 40, AccountChange::RemoveTotp, told("totp_disabled", &a, T0 + 40));
        again.hold_until = Some(T0 + 40 + 5 * DAY);
        assert_eq!(s.apply_account_change(&again).await.unwrap(), AccountChangeOutcome::Changed, "{l}");
        assert_eq!(state(&s, &a, &[], &[], &[]).await, before, "{l}: nothing to remove writes nothing");
        all_or_none(&s, l, "second removal", &again.effects, false).await;

        // A new one after that is a replacement: its hold is set with it.
        let replacement = plan(&a, T0 + 50, bind(&s2, T0 + 50 + 2 * DAY), told("totp_enrolled", &a, T0 + 50));
        let replaced = AccountChangeOutcome::Applied { replaced_authenticator: true };
        assert_eq!(s.apply_account_change(&replacement).await.unwrap(), replaced, "{l}");
        assert_eq!(
            s.account_by_id(&a).await.unwrap().unwrap().withdrawals_blocked_until,
            Some(T0 + 50 + 2 * DAY),
            "{l}"
        );
        plan_told(&s, l, "replacement", &replacement, Some(true)).await;

        // An authenticator bound through `bind_totp` counts as bound before too.
        let b = account(&s, l).await;
        let old = setup(&s, &b).await;
        assert!(s.bind_totp(&old, 1, T0).await.unwrap(), "{l}");
        assert!(s.remove_totp(&b).await.unwrap(), "{l}");
        let again = plan(&b, T0 + 60, bind(&setup(&s, &b).await, T0 + 60 + DAY), told("totp_enrolled", &b, T0 + 60));
        assert_eq!(s.apply_account_change(&again).await.unwrap(), replaced, "{l}");
        plan_told(&s, l, "replacement after bind_totp", &again, Some(true)).await;

        // Four enrolments of one account confirmed at once, and four copies
        // of one confirmation: one binds, the others write nothing.
        for same_setup in [false, true] {
            let c = account(&s, l).await;
            let one = setup(&s, &c).await;
            let mut racers = Vec::new();
            for _ in 0..4 {
                let st = if same_setup { one.clone() } else { setup(&s, &c).await };
                racers.push(plan(&c, T0 + 70, bind(&st, T0 + 70 + DAY), told("totp_enrolled", &c, T0 + 70)));
            }
            let results = outcomes(
                l,
                race(4, |i| {
                    let (s, p) = (s.clone(), racers[i].clone());
                    async move { s.apply_account_change(&p).await }
                })
                .await,
            );
            let won: Vec<usize> = (0..4).filter(|i| results[*i] == APPLIED).collect();
            assert_eq!(won.len(), 1, "{l}: one of four binds (same enrolment: {same_setup}): {results:?}");
            for (i, p) in racers.iter().enumerate() {
                plan_told(&s, l, &format!("bind racer {i}"), p, (won[0] == i).then_some(false)).await;
                if let AccountChange::BindTotp { setup: st, .. } = &p.change {
                    let left = s.totp_setup(&st.id).await.unwrap().is_some();
                    assert_eq!(left, !same_setup && won[0] != i, "{l}: a losing enrolment stays unused");
                }
            }
            assert_eq!(
                s.account_by_id(&c).await.unwrap().unwrap().withdrawals_blocked_until,
                None,
                "{l}: a first bind holds nothing"
            );
        }
        chain_intact(&s, l).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hold_is_raised_never_lowered() {
    each_backend(|s, l| async move {
        let a = account(&s, l).await;
        s.extend_withdrawal_hold(&a, T0 + 30 * DAY).await.unwrap();
        let mut p = plan(
            &a,
            T0,
            AccountChange::Password { checked_hash: "hash-1".into(), new_hash: "hash-2".into() },
            told("password_changed", &a, T0),
        );
        p.hold_until = Some(T0 + DAY);
        assert_eq!(s.apply_account_change(&p).await.unwrap(), APPLIED, "{l}");
        assert_eq!(s.account_by_id(&a).await.unwrap().unwrap().withdrawals_blocked_until, Some(T0 + 30 * DAY), "{l}");
    })
    .await;
}

/// Makes every audit append fail (a database error at the very last write
/// of a change), or stops doing so.
async fn refuse_audit(s: &SqlStore, on: bool) {
    let sql = match (s.backend(), on) {
        (Backend::Sqlite, true) => {
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        }
        (Backend::Postgres, true) => {
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$; \
             CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit()"
        }
        (Backend::Sqlite, false) => "DROP TRIGGER refuse_audit",
        (Backend::Postgres, false) => "DROP TRIGGER refuse_audit ON audit_log; DROP FUNCTION refuse_audit()",
    };
    s.pool().execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql))).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_the_database_fails_halfway_leaves_nothing_behind() {
    each_backend(|s, l| async move {
        let a = account(&s, l).await;
        let phone = "+447911100001";
        s.set_phone(&a, Some(phone)).await.unwrap();
        let factor = setup(&s, &a).await;
        assert!(s.bind_totp(&factor, 1, T0).await.unwrap(), "{l}");
        let keep = session(&s, &a).await;
        let other = session(&s, &a).await;
        let pending = pending_login(&s, &a).await;
        s.record_failure(&subject(&a), T0, DAY).await.unwrap();
        let code = code_to(&s, &a, "+447911100002", T0 + 600).await;
        let b = account(&s, l).await;
        let b_setup = setup(&s, &b).await;
        assert!(s.bind_totp(&setup(&s, &b).await, 1, T0).await.unwrap(), "{l}");
        assert!(s.remove_totp(&b).await.unwrap(), "{l}");

        let every = |now: i64| -> Vec<(String, AccountChangePlan)> {
            let mut password = plan(
                &a,
                now,
                AccountChange::Password { checked_hash: "hash-1".into(), new_hash: "hash-2".into() },
                told("password_changed", &a, now),
            );
            password.hold_until = Some(now + DAY);
            password.sign_out = SignOut::AllBut { keep: keep.clone() };
            let mut phone_change = plan(
                &a,
                now,
                AccountChange::Phone {
                    code_id: code.id.clone(),
                    phone: code.destination.clone(),
                    previous: Some(phone.into()),
                },
                told("phone_replaced", &a, now),
            );
            phone_change.hold_until = Some(now + DAY);
            phone_change.clear_failures = Some(subject(&a));
            let mut remove = plan(&a, now, AccountChange::RemoveTotp, told("totp_disabled", &a, now));
            remove.hold_until = Some(now + DAY);
            let replace = plan(&b, now, bind(&b_setup, now + DAY), told("totp_enrolled", &b, now));
            vec![
                ("password change".into(), password),
                ("phone replacement".into(), phone_change),
                ("authenticator removal".into(), remove),
                ("authenticator replacement".into(), replace),
            ]
        };
        let watched = |s: SqlStore, id: String| {
            let (keep, other, pending, code) = (keep.clone(), other.clone(), pending.clone(), code.id.clone());
            async move { state(&s, &id, &[&keep, &other], &[&pending], &[&code]).await }
        };
        refuse_audit(&s, true).await;
        for (what, p) in every(T0 + 10) {
            let before = watched(s.clone(), p.account_id.clone()).await;
            assert!(s.apply_account_change(&p).await.is_err(), "{l}: {what} must fail with the audit log refusing");
            assert_eq!(watched(s.clone(), p.account_id.clone()).await, before, "{l}: a failed {what} leaves nothing");
            plan_told(&s, l, &what, &p, None).await;
        }
        assert!(s.totp_setup(&b_setup.id).await.unwrap().is_some(), "{l}: the failed bind left its enrolment");
        refuse_audit(&s, false).await;
        for (what, p) in every(T0 + 20) {
            let before = watched(s.clone(), p.account_id.clone()).await;
            let outcome = s.apply_account_change(&p).await.unwrap();
            let AccountChangeOutcome::Applied { replaced_authenticator } = outcome else {
                panic!("{l}: {what}: {outcome:?}")
            };
            assert_eq!(replaced_authenticator, what == "authenticator replacement", "{l}: {what}");
            assert_ne!(watched(s.clone(), p.account_id.clone()).await, before, "{l}: {what} changed the account");
            plan_told(&s, l, &what, &p, Some(replaced_authenticator)).await;
        }
        assert_eq!(s.account_by_id(&b).await.unwrap().unwrap().withdrawals_blocked_until, Some(T0 + 20 + DAY), "{l}");
        chain_intact(&s, l).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_migration_records_authenticators_bound_before_it() {
    each_backend(|s, l| async move {
        // Enrolled once, long ago, the entry buried under later ones; bound
        // now but never audited; never bound.
        let (enrolled, bound, never) = (account(&s, l).await, account(&s, l).await, account(&s, l).await);
        let entry = |kind: &str, id: &str, at: i64| AuditEvent {
            at,
            account_id: Some(id.into()),
            kind: kind.into(),
            ip: "192.0.2.1".into(),
            user_agent: "ua".into(),
            detail: String::new(),
        };
        s.append_audit(&entry("totp_enrolled", &enrolled, T0)).await.unwrap();
        for i in 1..=20 {
            s.append_audit(&entry("login_ok", &enrolled, T0 + i)).await.unwrap();
            s.append_audit(&entry("login_ok", &never, T0 + i)).await.unwrap();
        }
        let factor = setup(&s, &bound).await;
        assert!(s.bind_totp(&factor, 1, T0).await.unwrap(), "{l}");
        // Back to the schema before the record existed.
        for sql in
            ["ALTER TABLE accounts DROP COLUMN totp_first_bound_at", "DELETE FROM twostep_migrations WHERE version = 5"]
        {
            s.pool().execute(sqlx::AssertSqlSafe(sql)).await.unwrap_or_else(|e| panic!("{l}: {sql}: {e}"));
        }
        assert_eq!(s.migrate().await.unwrap(), vec![5], "{l}");
        assert!(s.remove_totp(&bound).await.unwrap(), "{l}");
        for (id, replaces) in [(&enrolled, true), (&bound, true), (&never, false)] {
            let p = plan(id, T0 + 100, bind(&setup(&s, id).await, T0 + 100 + DAY), told("totp_enrolled", id, T0 + 100));
            let want = AccountChangeOutcome::Applied { replaced_authenticator: replaces };
            assert_eq!(s.apply_account_change(&p).await.unwrap(), want, "{l}");
            let hold = s.account_by_id(id).await.unwrap().unwrap().withdrawals_blocked_until;
            assert_eq!(hold, replaces.then_some(T0 + 100 + DAY), "{l}");
            plan_told(&s, l, "a binding after the migration", &p, Some(replaces)).await;
        }
    })
    .await;
}

fn add_passkey(account_id: &str, credential_id: &str) -> AccountChange {
    let passkey = twostep_app::passkeys::PasskeyRecord {
        id: new_id(),
        account_id: account_id.into(),
        credential_id: credential_id.into(),
        name: "key".into(),
        credential: "{}".into(),
        sign_count: 0,
        created_at: T0,
        last_used_at: None,
    };
    AccountChange::AddPasskey { passkey, max: 10 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_passkey_is_registered_once_anywhere_ten_at_most_even_racing_and_removed_once() {
    each_backend(|s, l| async move {
        let (a, b) = (account(&s, l).await, account(&s, l).await);
        for i in 0..9 {
            let p = plan(&a, T0, add_passkey(&a, &format!("{a}-{i}")), Effects::default());
            assert_eq!(s.apply_account_change(&p).await.unwrap(), APPLIED, "{l}");
        }
        // A credential belongs to one account: the same one elsewhere is refused, with its effects.
        let elsewhere = plan(&b, T0, add_passkey(&b, &format!("{a}-0")), told("passkey_registered", &b, T0));
        assert_eq!(s.apply_account_change(&elsewhere).await.unwrap(), AccountChangeOutcome::Changed, "{l}");
        all_or_none(&s, l, "a credential registered twice", &elsewhere.effects, false).await;
        // Eight registrations race for the tenth place: one gets it, whole.
        let racers: Vec<AccountChangePlan> = (0..8)
            .map(|i| {
                plan(&a, T0 + 1, add_passkey(&a, &format!("{a}-race-{i}")), told("passkey_registered", &a, T0 + 1))
            })
            .collect();
        let results = outcomes(
            l,
            race(8, |i| {
                let (s, p) = (s.clone(), racers[i].clone());
                async move { s.apply_account_change(&p).await }
            })
            .await,
        );
        let won: Vec<usize> = (0..8).filter(|i| results[*i] == APPLIED).collect();
        assert_eq!(won.len(), 1, "{l}: exactly one racer takes the last place: {results:?}");
        for (i, p) in racers.iter().enumerate() {
            all_or_none(&s, l, &format!("racer {i}"), &p.effects, won[0] == i).await;
        }
        let held = s.passkeys(&a).await.unwrap();
        assert_eq!(held.len(), 10, "{l}");
        // Removed only from its own account, and once.
        let id = held[0].id.clone();
        let foreign = plan(&b, T0 + 2, AccountChange::RemovePasskey { id: id.clone() }, Effects::default());
        assert_eq!(s.apply_account_change(&foreign).await.unwrap(), AccountChangeOutcome::Changed, "{l}");
        let remove = plan(&a, T0 + 2, AccountChange::RemovePasskey { id: id.clone() }, Effects::default());
        assert_eq!(s.apply_account_change(&remove).await.unwrap(), APPLIED, "{l}");
        assert_eq!(s.apply_account_change(&remove).await.unwrap(), AccountChangeOutcome::Changed, "{l}");
        assert_eq!(s.passkeys(&a).await.unwrap().len(), 9, "{l}");
        chain_intact(&s, l).await;
    })
    .await;
}
