//! The storage contract between a staff approval of a recovery case and
//! sign-ins of the same account, on SQLite and PostgreSQL: the two take the
//! rows they share in one order (attempts, authenticator, account, …, audit
//! head), so they never deadlock; an approval racing sign-in completions and
//! refusals always succeeds, and every attempt ends either completed before
//! the approval (its session then revoked by it) or closed by it.

use twostep_app::crypto::new_id;
use twostep_app::ports::*;
use twostep_app::recovery::port::*;
use twostep_domain::LoginState;
use twostep_domain::recovery::{CaseStatus, RecoveryStep, ResetItem};
use twostep_store::SqlStore;
use twostep_testkit::contract::{account as contract_account, each_backend, notice, pending_attempt, race};

const T0: i64 = 1_700_000_000;
const PREFIX: &str = "login:";
const ROUNDS: usize = 20;

fn audit(kind: &str, account_id: &str, at: i64) -> AuditEvent {
    AuditEvent {
        at,
        account_id: Some(account_id.into()),
        kind: kind.into(),
        ip: "192.0.2.1".into(),
        user_agent: "ua".into(),
        detail: new_id(),
    }
}

/// An account with an authenticator at step 100.
async fn account(s: &SqlStore, l: &str) -> (String, String) {
    let id = contract_account(s, l).await;
    let email = format!("{id}@example.test");
    let setup = TotpSetup {
        id: new_id(),
        account_id: id.clone(),
        sealed_secret: b"sealed".to_vec(),
        created_at: T0,
        expires_at: T0 + 600,
    };
    s.create_totp_setup(&setup).await.unwrap();
    assert!(s.bind_totp(&setup, 100, T0).await.unwrap(), "{l}");
    (id, email)
}

/// A case of the account walked to pending review.
async fn pending_case(s: &SqlStore, l: &str, account_id: &str) -> CaseRecord {
    let c = NewCase {
        id: new_id(),
        account_id: account_id.into(),
        token_hash: new_id(),
        required_steps: RecoveryStep::ORDER.to_vec(),
        created_at: T0,
        expires_at: T0 + 7 * 86_400,
        ip: "192.0.2.1".into(),
        user_agent: "ua".into(),
        new_password_hash: None,
    };
    let opening = Opening {
        cancel_token_hash: new_id(),
        effects: Effects {
            audit: vec![audit("recovery_opened", account_id, T0)],
            notices: vec![notice("sms", "+447911123456", T0)],
        },
        superseded: audit("recovery_superseded", account_id, T0),
    };
    assert!(matches!(s.open_case(&c, &opening, T0).await.unwrap(), OpenOutcome::Opened { .. }), "{l}");
    let steps = [
        CaseChange::Items {
            reset: vec![ResetItem::Authenticator, ResetItem::Phone],
            new_phone: Some("+447911123456".into()),
            new_email: None,
            required_steps: vec![RecoveryStep::Codes],
        },
        CaseChange::CodesSent { phone_target: Some("+447911123456".into()), email_target: "a@example.test".into() },
        CaseChange::CodesProven { phone: true, email: true, done: true },
    ];
    let first = s.case_by_id(&c.id).await.unwrap().unwrap().case.version;
    for (version, change) in (first..).zip(&steps) {
        assert!(s.update_case(&c.id, version, T0 + 1, change).await.unwrap(), "{l}: {change:?}");
    }
    let r = s.case_by_id(&c.id).await.unwrap().unwrap();
    let submitted = CaseChange::Submitted {
        risk_score: 20,
        risk_signals: "[]".into(),
        ip: "192.0.2.2".into(),
        user_agent: "ua".into(),
        cancel_token_hash: new_id(),
    };
    let effects = Effects {
        audit: vec![audit("recovery_submitted", account_id, T0 + 1)],
        notices: vec![notice("sms", "+447911123456", T0 + 1)],
    };
    assert!(s.decide_case(&c.id, r.case.version, T0 + 1, &submitted, &effects).await.unwrap(), "{l}: submit");
    s.case_by_id(&c.id).await.unwrap().unwrap()
}

enum Op {
    Approve(ApprovalPlan),
    Freeze { case_id: String, version: i64, account_id: String, now: i64, effects: Effects },
    Complete(SignInSuccess),
    Refuse(SignInFailure),
}

enum Done {
    Approved(StoreResult<ApprovalOutcome>),
    Frozen(StoreResult<bool>),
    Completed(StoreResult<SignInOutcome>),
    Refused(StoreResult<Option<i64>>),
}

/// Races `ops` (one decision, the rest sign-ins of its account) and checks
/// that each answered, and that every attempt ended completed before the
/// decision (its session revoked by it) or closed by it.
async fn settle(s: &SqlStore, ops: Vec<Op>, round: usize, l: &str, now: i64) {
    let ops = std::sync::Arc::new(ops);
    let results = race(ops.len(), |i| {
        let (s, ops) = (s.clone(), ops.clone());
        async move {
            match &ops[i] {
                Op::Approve(p) => Done::Approved(s.approve_case(p).await),
                Op::Freeze { case_id, version, account_id, now, effects } => {
                    Done::Frozen(s.cancel_and_freeze(case_id, *version, account_id, *now, effects).await)
                }
                Op::Complete(w) => Done::Completed(s.complete_sign_in(w).await),
                Op::Refuse(w) => Done::Refused(s.fail_sign_in(w).await),
            }
        }
    })
    .await;

    let at = |what: &str| format!("{l}: round {round}: {what}");
    for (op, done) in ops.iter().zip(&results) {
        match (op, done) {
            (Op::Approve(_), Done::Approved(got)) => {
                let got = got.as_ref().unwrap_or_else(|e| panic!("{}: {e}", at("the approval failed")));
                assert_eq!(*got, ApprovalOutcome::Approved, "{}", at("approval"));
            }
            (Op::Freeze { .. }, Done::Frozen(got)) => {
                let got = got.as_ref().unwrap_or_else(|e| panic!("{}: {e}", at("the freeze failed")));
                assert!(*got, "{}", at("freeze"));
            }
            (Op::Complete(w), Done::Completed(got)) => {
                let got = got.as_ref().unwrap_or_else(|e| panic!("{}: {e}", at("a sign-in failed")));
                let state = s.login_by_id(&w.login_id).await.unwrap().unwrap().state;
                match got {
                    // Completed before the decision, whose sign-out then revoked it.
                    SignInOutcome::Completed => {
                        assert_eq!(state, LoginState::Completed, "{}", at("completed"))
                    }
                    // Closed by the decision first.
                    SignInOutcome::AttemptClosed => {
                        assert_eq!(state, LoginState::Dead, "{}", at("closed"))
                    }
                    other => panic!("{}: {other:?}", at("unexpected sign-in outcome")),
                }
                assert!(
                    s.session(&w.session_token_hash, now + 1).await.unwrap().is_none(),
                    "{}",
                    at("no session outlives the decision")
                );
            }
            (Op::Refuse(w), Done::Refused(got)) => {
                got.as_ref().unwrap_or_else(|e| panic!("{}: {e}", at("a refusal failed")));
                let state = s.login_by_id(&w.login_id).await.unwrap().unwrap().state;
                assert_eq!(state, LoginState::Dead, "{}", at("a refused attempt is closed by the decision"));
            }
            _ => unreachable!(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approval_and_freeze_racing_sign_ins_of_the_account_never_deadlock() {
    each_backend(|s, l| async move {
        for round in 0..ROUNDS {
            let (a, email) = account(&s, l).await;
            let r = pending_case(&s, l, &a).await;
            let now = T0 + 10;
            let hold_until = now + 48 * 3600;
            let subject = format!("{PREFIX}{email}");
            let success = |login_id: &str, step: Option<i64>| SignInSuccess {
                login_id: login_id.into(),
                account_id: a.clone(),
                totp_step: step,
                sent_code_id: None,
                session_token_hash: new_id(),
                session_expires_at: now + 3600,
                now,
                max_failures: 5,
                clear_subject: Some(subject.clone()),
                clear_second_factor_failures: true,
                audit: audit("login_ok", &a, now),
                device_id: None,
                device_write: Default::default(),
                factors: "password totp".into(),
                held_for_device: false,
            };
            let failure = |login_id: &str| SignInFailure {
                login_id: login_id.into(),
                account_id: a.clone(),
                max_failures: 5,
                subject: subject.clone(),
                now,
                window_s: 900,
                audit: audit("second_factor_failed", &a, now),
                replayed: None,
                lock_after: 100,
                locked: audit("second_factor_locked", &a, now),
            };
            // Two completions (one with an authenticator step), two refusals.
            let mut ops = vec![Op::Approve(ApprovalPlan {
                case_id: r.case.id.clone(),
                version: r.case.version,
                account_id: a.clone(),
                reviewer_id: "rev".into(),
                note: "ok".into(),
                now,
                hold_until,
                remove_authenticator: true,
                remove_passkeys: false,
                set_password: false,
                new_phone: Some("+447911123456".into()),
                new_email: None,
                audit: vec![audit("recovery_approved", &a, now)],
                notices: vec![notice("sms", "+447911123456", now)],
            })];
            ops.push(Op::Complete(success(&pending_attempt(&s, &a).await, Some(101))));
            ops.push(Op::Complete(success(&pending_attempt(&s, &a).await, None)));
            ops.push(Op::Refuse(failure(&pending_attempt(&s, &a).await)));
            ops.push(Op::Refuse(failure(&pending_attempt(&s, &a).await)));
            settle(&s, ops, round, l, now).await;
            let at = |what: &str| format!("{l}: round {round}: {what}");
            let case = s.case_by_id(&r.case.id).await.unwrap().unwrap();
            assert_eq!(case.case.status, CaseStatus::Approved, "{}", at("case status"));
            let acc = s.account_by_id(&a).await.unwrap().unwrap();
            assert_eq!(acc.withdrawals_blocked_until, Some(hold_until), "{}", at("hold"));
            assert!(s.totp_factor(&a).await.unwrap().is_none(), "{}", at("authenticator removed"));

            // The owner's cancel after approval, which freezes the account,
            // racing more sign-ins of it.
            let later = now + 20;
            let mut ops = vec![Op::Freeze {
                case_id: r.case.id.clone(),
                version: case.case.version,
                account_id: a.clone(),
                now: later,
                effects: Effects {
                    audit: vec![audit("recovery_cancelled", &a, later)],
                    notices: vec![notice("sms", "+447911123456", later)],
                },
            }];
            ops.push(Op::Complete(success(&pending_attempt(&s, &a).await, None)));
            ops.push(Op::Refuse(failure(&pending_attempt(&s, &a).await)));
            settle(&s, ops, round, l, later).await;
            let acc = s.account_by_id(&a).await.unwrap().unwrap();
            assert_eq!(acc.frozen_at, Some(later), "{l}: round {round}: frozen");
            let case = s.case_by_id(&r.case.id).await.unwrap().unwrap();
            assert_eq!(case.case.status, CaseStatus::Cancelled, "{l}: round {round}: cancelled");
        }
        s.verify_audit_chain().await.unwrap().unwrap_or_else(|b| panic!("{l}: the audit chain breaks: {b}"));
    })
    .await;
}
