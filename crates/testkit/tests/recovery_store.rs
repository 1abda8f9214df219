//! The storage contract of recovery, on SQLite and PostgreSQL: one active
//! case per account, changes only over the version read, exactly one winner
//! when approval races rejection, every decision (opening, submission, first
//! approval, approval, rejection, the owner's cancel, freezing, unfreezing)
//! written with its audit entries and notices or not at all, cancel codes,
//! answers and documents written once, expiry and the document purge, and
//! the security answers.

use twostep_app::crypto::new_id;
use twostep_app::ports::*;
use twostep_app::recovery::port::*;
use twostep_domain::recovery::{CaseStatus, RecoveryStep, ResetItem};
use twostep_domain::{LoginAttempt, LoginState};
use twostep_store::SqlStore;
use twostep_testkit::contract::{account, each_backend, notice, race, winners};
use twostep_testkit::race;

const T0: i64 = 1_700_000_000;
const WEEK: i64 = 7 * 86_400;

fn new_case(account_id: &str, at: i64) -> NewCase {
    NewCase {
        id: new_id(),
        account_id: account_id.into(),
        token_hash: new_id(),
        required_steps: RecoveryStep::ORDER.to_vec(),
        created_at: at,
        expires_at: at + WEEK,
        ip: "192.0.2.1".into(),
        user_agent: "ua".into(),
        new_password_hash: None,
    }
}

/// A notice without a code, as a decision queues it.
/// An audit entry of `kind` on the account, its detail unlike any other's.
fn entry(kind: &str, account_id: &str, now: i64) -> AuditEvent {
    AuditEvent {
        at: now,
        account_id: Some(account_id.into()),
        kind: kind.into(),
        ip: "192.0.2.9".into(),
        user_agent: "ua".into(),
        detail: format!("{kind} {}", new_id()),
    }
}

/// What a decision writes besides its change: an audit entry and a notice.
fn told(kind: &str, account_id: &str, now: i64) -> Effects {
    Effects { audit: vec![entry(kind, account_id, now)], notices: vec![notice("sms", "+447911123456", now)] }
}

/// How many of the audit entries and of the notices are stored.
async fn stored(s: &SqlStore, audit: &[AuditEvent], notices: &[QueuedMessage]) -> (usize, usize) {
    let mut audited = 0;
    for e in audit {
        audited += s.audit_events(e.account_id.as_deref(), 10_000).await.unwrap().iter().filter(|x| *x == e).count();
    }
    let mut queued = 0;
    for n in notices {
        queued += usize::from(s.message(&n.id).await.unwrap().is_some());
    }
    (audited, queued)
}

/// A decision that won is stored with every audit entry and notice it
/// brought, once; one that lost (or was refused) with none of them.
async fn all_or_none(s: &SqlStore, l: &str, what: &str, effects: &Effects, won: bool) {
    let want = if won { (effects.audit.len(), effects.notices.len()) } else { (0, 0) };
    let got = stored(s, &effects.audit, &effects.notices).await;
    assert_eq!(got, want, "{l}: {what} (won: {won}): (audit entries, notices) stored");
}

async fn chain_intact(s: &SqlStore, l: &str) {
    s.verify_audit_chain().await.unwrap().unwrap_or_else(|b| panic!("{l}: the audit chain breaks: {b}"));
}

fn opening(account_id: &str, at: i64) -> Opening {
    Opening {
        cancel_token_hash: new_id(),
        effects: told("recovery_opened", account_id, at),
        superseded: entry("recovery_superseded", account_id, at),
    }
}

async fn open(s: &SqlStore, l: &str, account_id: &str, at: i64) -> CaseRecord {
    let c = new_case(account_id, at);
    assert!(matches!(s.open_case(&c, &opening(account_id, at), at).await.unwrap(), OpenOutcome::Opened { .. }), "{l}");
    s.case_by_id(&c.id).await.unwrap().unwrap()
}

async fn reload(s: &SqlStore, id: &str) -> CaseRecord {
    s.case_by_id(id).await.unwrap().unwrap()
}

fn submission() -> CaseChange {
    CaseChange::Submitted {
        risk_score: 20,
        risk_signals: "[]".into(),
        ip: "192.0.2.2".into(),
        user_agent: "ua2".into(),
        cancel_token_hash: new_id(),
    }
}

/// Walks a case through the owner's steps, up to its submission.
async fn ready(s: &SqlStore, l: &str, account_id: &str) -> CaseRecord {
    let c = open(s, l, account_id, T0).await;
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
    for (version, change) in (c.case.version..).zip(&steps) {
        assert!(s.update_case(&c.case.id, version, T0 + 1, change).await.unwrap(), "{l}: {change:?}");
    }
    reload(s, &c.case.id).await
}

/// Walks a case to pending review through the store's own changes.
async fn pending(s: &SqlStore, l: &str, account_id: &str) -> CaseRecord {
    let r = ready(s, l, account_id).await;
    let effects = told("recovery_submitted", account_id, T0 + 1);
    assert!(s.decide_case(&r.case.id, r.case.version, T0 + 1, &submission(), &effects).await.unwrap(), "{l}: submit");
    reload(s, &r.case.id).await
}

fn plan(r: &CaseRecord, reviewer: &str, now: i64) -> ApprovalPlan {
    ApprovalPlan {
        case_id: r.case.id.clone(),
        version: r.case.version,
        account_id: r.case.account_id.clone(),
        reviewer_id: reviewer.into(),
        note: "ok".into(),
        now,
        hold_until: now + 48 * 3600,
        remove_authenticator: true,
        remove_passkeys: false,
        set_password: false,
        new_phone: Some("+447911123456".into()),
        new_email: None,
        audit: vec![entry("recovery_approved", &r.case.account_id, now)],
        notices: vec![notice("sms", "+447911123456", now)],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_active_case_per_account() {
    each_backend(|s, l| async move {
        let a = account(&s, l).await;
        let first = open(&s, l, &a, T0).await;
        assert_eq!(first.case.status, CaseStatus::Open, "{l}");
        // A new open case supersedes the open one.
        let second = new_case(&a, T0 + 10);
        let outcome = s.open_case(&second, &opening(&a, T0 + 10), T0 + 10).await.unwrap();
        assert_eq!(outcome, OpenOutcome::Opened { superseded: Some(first.case.id.clone()) }, "{l}");
        let old = reload(&s, &first.case.id).await;
        assert_eq!((old.case.status, old.decision_note.as_deref()), (CaseStatus::Cancelled, Some(SUPERSEDED)), "{l}");
        // An expired one is closed as expired, not cancelled.
        let third = new_case(&a, T0 + 10 + WEEK);
        let outcome = s.open_case(&third, &opening(&a, T0 + 10 + WEEK), T0 + 10 + WEEK).await.unwrap();
        assert_eq!(outcome, OpenOutcome::Opened { superseded: None }, "{l}");
        assert_eq!(reload(&s, &second.id).await.case.status, CaseStatus::Expired, "{l}");
        // Racing opens: at most one case stays active.
        let b = account(&s, l).await;
        let results = race!(8, [s, b] => s.open_case(&new_case(&b, T0), &opening(&b, T0), T0).await.unwrap());
        assert!(results.iter().any(|r| matches!(r, OpenOutcome::Opened { .. })), "{l}");
        let active = s.cases_of_account(&b).await.unwrap().iter().filter(|c| c.case.status.is_active()).count();
        assert_eq!(active, 1, "{l}: {results:?}");
        // Under review: no new case.
        let c = account(&s, l).await;
        pending(&s, l, &c).await;
        assert_eq!(
            s.open_case(&new_case(&c, T0 + 5), &opening(&c, T0 + 5), T0 + 5).await.unwrap(),
            OpenOutcome::Busy,
            "{l}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cases_round_trip_and_change_only_over_the_version_read() {
    each_backend(|s, l| async move {
        let a = account(&s, l).await;
        let c = new_case(&a, T0);
        s.open_case(&c, &opening(&a, T0), T0).await.unwrap();
        let r = s.case_by_token(&c.token_hash).await.unwrap().expect("by token");
        assert_eq!((r.case.id.as_str(), r.case.version, r.case.expires_at), (c.id.as_str(), 0, T0 + WEEK), "{l}");
        assert_eq!((r.open_ip.as_str(), r.open_user_agent.as_str()), ("192.0.2.1", "ua"), "{l}");
        assert_eq!(r.case.required_steps, RecoveryStep::ORDER.to_vec(), "{l}");
        let items = CaseChange::Items {
            reset: vec![ResetItem::Email, ResetItem::Authenticator],
            new_phone: None,
            new_email: Some("new@example.test".into()),
            required_steps: vec![RecoveryStep::Codes, RecoveryStep::Identity],
        };
        assert!(s.update_case(&c.id, 0, T0 + 100, &items).await.unwrap(), "{l}");
        // A stale version changes nothing; racers on one version: one winner.
        assert!(!s.update_case(&c.id, 0, T0 + 100, &items).await.unwrap(), "{l}");
        let sent = CaseChange::CodesSent { phone_target: None, email_target: "new@example.test".into() };
        let id = c.id.clone();
        let results = race!(8, [s, sent, id] => s.update_case(&id, 1, T0 + 200, &sent).await);
        assert_eq!(winners(l, &results), 1, "{l}");
        let r = reload(&s, &c.id).await;
        assert_eq!(r.case.reset_items, vec![ResetItem::Authenticator, ResetItem::Email], "{l}");
        assert_eq!(
            (r.case.new_email.as_deref(), r.case.items_at, r.case.codes_sent_at),
            (Some("new@example.test"), Some(T0 + 100), Some(T0 + 200)),
            "{l}"
        );
        assert_eq!((r.case.version, r.case.expires_at), (2, T0 + 200 + WEEK), "{l}: progress renews the expiry");
        // Proven codes are kept once set (COALESCE), the step done when told.
        assert!(
            s.update_case(&c.id, 2, T0 + 300, &CaseChange::CodesProven { phone: false, email: true, done: true })
                .await
                .unwrap()
        );
        assert!(
            s.update_case(&c.id, 3, T0 + 400, &CaseChange::CodesProven { phone: false, email: true, done: true })
                .await
                .unwrap()
        );
        let r = reload(&s, &c.id).await;
        assert_eq!(
            (r.case.email_verified_at, r.case.codes_at, r.case.phone_verified_at),
            (Some(T0 + 300), Some(T0 + 300), None),
            "{l}"
        );
        // Past its expiry an open case takes no change.
        let late = T0 + 400 + WEEK;
        assert!(
            !s.update_case(&c.id, 4, late, &CaseChange::CodesSent { phone_target: None, email_target: "x".into() })
                .await
                .unwrap(),
            "{l}"
        );
        assert_eq!(s.expire_idle_cases(late).await.unwrap(), 1, "{l}");
        assert_eq!(s.expire_idle_cases(late).await.unwrap(), 0, "{l}");
        let r = reload(&s, &c.id).await;
        assert_eq!((r.case.status, r.closed_at), (CaseStatus::Expired, Some(T0 + 400 + WEEK)), "{l}");
        assert!(s.case_by_token("unknown").await.unwrap().is_none(), "{l}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answers_and_documents_are_written_once_with_their_step() {
    each_backend(|s, l| async move {
        let a = account(&s, l).await;
        let c = open(&s, l, &a, T0).await;
        let answers = vec![
            AnswerOutcome { question_id: "first_pet".into(), outcome: "right".into() },
            AnswerOutcome { question_id: "fact:account_opened".into(), outcome: "blank".into() },
        ];
        let id = c.case.id.clone();
        let results = race!(4, [s, answers, id] => s.record_answers(&id, 0, T0 + 1, &answers, 1).await);
        assert_eq!(winners(l, &results), 1, "{l}");
        let r = reload(&s, &c.case.id).await;
        assert_eq!((r.answers_total, r.answers_right, r.case.questions_at), (2, 1, Some(T0 + 1)), "{l}");
        assert_eq!(s.case_answers(&c.case.id).await.unwrap().len(), 2, "{l}");
        let identity = IdentityRecord {
            country: "GB".into(),
            id_type: "passport".into(),
            documents: vec![NewDocument {
                slot: "front".into(),
                content_type: "image/png".into(),
                width: 400,
                height: 300,
                size_bytes: 3,
                sealed: vec![1, 2, 3],
            }],
        };
        assert!(s.record_identity(&c.case.id, 1, T0 + 2, &identity).await.unwrap(), "{l}");
        assert!(!s.record_identity(&c.case.id, 2, T0 + 3, &identity).await.unwrap(), "{l}: once");
        let docs = s.case_documents(&c.case.id).await.unwrap();
        assert_eq!(docs.len(), 1, "{l}");
        assert_eq!((docs[0].width, docs[0].created_at), (400, T0 + 2), "{l}");
        assert_eq!(
            s.case_document(&c.case.id, "front").await.unwrap(),
            Some(("image/png".into(), vec![1, 2, 3])),
            "{l}"
        );
        assert_eq!(s.case_document(&c.case.id, "back").await.unwrap(), None, "{l}");
        let r = reload(&s, &c.case.id).await;
        assert_eq!(
            (r.country.as_deref(), r.id_type.as_deref(), r.case.identity_at),
            (Some("GB"), Some("passport"), Some(T0 + 2)),
            "{l}"
        );
        // Purged only once closed for long enough; idempotent.
        assert_eq!(s.purge_documents(T0 + 100, T0 + 100).await.unwrap(), 0, "{l}: still open");
        assert!(s.update_case(&c.case.id, 2, T0 + 10, &CaseChange::Cancelled { reason: "test".into() }).await.unwrap());
        assert_eq!(s.purge_documents(T0 + 9, T0 + 100).await.unwrap(), 0, "{l}: closed after the cutoff");
        assert_eq!(s.purge_documents(T0 + 10, T0 + 100).await.unwrap(), 1, "{l}");
        assert_eq!(s.purge_documents(T0 + 10, T0 + 200).await.unwrap(), 0, "{l}");
        assert!(s.case_documents(&c.case.id).await.unwrap().is_empty(), "{l}");
        assert_eq!(reload(&s, &c.case.id).await.documents_purged_at, Some(T0 + 100), "{l}");
    })
    .await;
}

fn rejection(reviewer: &str) -> CaseChange {
    CaseChange::Rejected { reviewer_id: reviewer.into(), reason: "no".into() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approval_racing_rejection_has_exactly_one_winner() {
    each_backend(|s, l| async move {
        for _ in 0..4 {
            let a = account(&s, l).await;
            let r = pending(&s, l, &a).await;
            let approval = plan(&r, "rev1", T0 + 50);
            let rejected_told = told("recovery_rejected", &a, T0 + 50);
            let (s1, s2, id, p, e) = (s.clone(), s.clone(), r.case.id.clone(), approval.clone(), rejected_told.clone());
            let version = r.case.version;
            let approve = tokio::spawn(async move { s1.approve_case(&p).await });
            let reject =
                tokio::spawn(async move { s2.decide_case(&id, version, T0 + 50, &rejection("rev2"), &e).await });
            let approved = approve.await.unwrap().unwrap() == ApprovalOutcome::Approved;
            let rejected = reject.await.unwrap().unwrap();
            assert!(approved != rejected, "{l}: exactly one wins (approved {approved}, rejected {rejected})");
            let after = reload(&s, &r.case.id).await;
            let acc = s.account_by_id(&a).await.unwrap().unwrap();
            if approved {
                assert_eq!(
                    (after.case.status, acc.phone.as_deref()),
                    (CaseStatus::Approved, Some("+447911123456")),
                    "{l}"
                );
            } else {
                assert_eq!((after.case.status, acc.phone), (CaseStatus::Rejected, None), "{l}");
            }
            // The winner is audited and told, the loser neither.
            let approval_told = Effects { audit: approval.audit.clone(), notices: approval.notices.clone() };
            all_or_none(&s, l, "approval racing a rejection", &approval_told, approved).await;
            all_or_none(&s, l, "rejection racing an approval", &rejected_told, rejected).await;
        }
        chain_intact(&s, l).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn opening_comes_with_its_cancel_code_audit_entries_and_notices_or_with_none() {
    each_backend(|s, l| async move {
        let a = account(&s, l).await;
        let first = new_case(&a, T0);
        let o1 = opening(&a, T0);
        assert_eq!(s.open_case(&first, &o1, T0).await.unwrap(), OpenOutcome::Opened { superseded: None }, "{l}");
        all_or_none(&s, l, "opening", &o1.effects, true).await;
        let by_cancel = s.case_by_cancel_token(&o1.cancel_token_hash).await.unwrap().map(|r| r.case.id);
        assert_eq!(by_cancel, Some(first.id.clone()), "{l}: the cancel code in the notice works at once");
        let superseded = |e: &&AuditEvent| e.kind == "recovery_superseded";
        assert!(!s.audit_events(Some(&a), 10).await.unwrap().iter().any(|e| superseded(&e)), "{l}: nothing superseded");

        // From another opener, an open case is not pushed aside.
        let elsewhere = NewCase { ip: "198.51.100.7".into(), ..new_case(&a, T0 + 5) };
        let o_elsewhere = opening(&a, T0 + 5);
        assert_eq!(s.open_case(&elsewhere, &o_elsewhere, T0 + 5).await.unwrap(), OpenOutcome::Busy, "{l}");
        all_or_none(&s, l, "opening over another opener's case", &o_elsewhere.effects, false).await;

        // A new start by the same opener supersedes the open case; both are
        // audited with it, and the owner, told of the first, is not told again.
        let second = new_case(&a, T0 + 10);
        let o2 = opening(&a, T0 + 10);
        let outcome = s.open_case(&second, &o2, T0 + 10).await.unwrap();
        assert_eq!(outcome, OpenOutcome::Opened { superseded: Some(first.id.clone()) }, "{l}");
        assert_eq!(
            stored(&s, &o2.effects.audit, &o2.effects.notices).await,
            (o2.effects.audit.len(), 0),
            "{l}: a retry"
        );
        let newest = s.audit_events(Some(&a), 2).await.unwrap();
        let supersession = AuditEvent { detail: format!("case {}", first.id), ..o2.superseded.clone() };
        assert_eq!(newest, [o2.effects.audit[0].clone(), supersession], "{l}: the supersession, then the opening");

        // A case under review: refused, and nothing of the opening is written.
        let b = account(&s, l).await;
        pending(&s, l, &b).await;
        let o3 = opening(&b, T0 + 20);
        assert_eq!(s.open_case(&new_case(&b, T0 + 20), &o3, T0 + 20).await.unwrap(), OpenOutcome::Busy, "{l}");
        all_or_none(&s, l, "opening refused while a case is under review", &o3.effects, false).await;
        assert!(
            s.case_by_cancel_token(&o3.cancel_token_hash).await.unwrap().is_none(),
            "{l}: no cancel code of a refused opening"
        );
        assert!(!s.audit_events(Some(&b), 10).await.unwrap().iter().any(|e| superseded(&e)), "{l}");

        // Racing starts: every one answered Opened is audited and told, any
        // refused one is neither, and each supersession is audited once.
        let c = account(&s, l).await;
        let racers: Vec<(NewCase, Opening)> = (0..8).map(|_| (new_case(&c, T0), opening(&c, T0))).collect();
        let results = race(racers.len(), |i| {
            let (s, (case, o)) = (s.clone(), racers[i].clone());
            async move { s.open_case(&case, &o, T0).await.unwrap() }
        })
        .await;
        for ((_, o), result) in racers.iter().zip(&results) {
            let opened = matches!(result, OpenOutcome::Opened { .. });
            let told = matches!(result, OpenOutcome::Opened { superseded: None });
            let want = (if opened { o.effects.audit.len() } else { 0 }, if told { o.effects.notices.len() } else { 0 });
            assert_eq!(stored(&s, &o.effects.audit, &o.effects.notices).await, want, "{l}: racing opening {result:?}");
            let cancel = s.case_by_cancel_token(&o.cancel_token_hash).await.unwrap();
            assert_eq!(cancel.is_some(), opened, "{l}: {result:?}");
        }
        let supersessions = results.iter().filter(|r| matches!(r, OpenOutcome::Opened { superseded: Some(_) })).count();
        let audited = s.audit_events(Some(&c), 100).await.unwrap().iter().filter(|e| superseded(e)).count();
        assert_eq!(audited, supersessions, "{l}: {results:?}");
        chain_intact(&s, l).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn submission_comes_with_its_audit_entry_and_notice_or_with_neither() {
    each_backend(|s, l| async move {
        let a = account(&s, l).await;
        let r = ready(&s, l, &a).await;
        // Racing submits of one case: one winner, told and audited; the
        // others write nothing, not even their cancel codes.
        let racers: Vec<(CaseChange, Effects)> =
            (0..4).map(|_| (submission(), told("recovery_submitted", &a, T0 + 2))).collect();
        let (id, version) = (r.case.id.clone(), r.case.version);
        let results = race(racers.len(), |i| {
            let (s, id, (change, effects)) = (s.clone(), id.clone(), racers[i].clone());
            async move { s.decide_case(&id, version, T0 + 2, &change, &effects).await }
        })
        .await;
        assert_eq!(winners(l, &results), 1, "{l}");
        for ((change, effects), won) in racers.iter().zip(&results) {
            let won = *won.as_ref().unwrap();
            all_or_none(&s, l, "racing submission", effects, won).await;
            let CaseChange::Submitted { cancel_token_hash, .. } = change else { unreachable!() };
            assert_eq!(s.case_by_cancel_token(cancel_token_hash).await.unwrap().is_some(), won, "{l}: the cancel code");
        }
        assert_eq!(reload(&s, &r.case.id).await.case.status, CaseStatus::PendingReview, "{l}");
        // Once submitted, a submit over the old version is refused whole.
        let late = told("recovery_submitted", &a, T0 + 3);
        assert!(!s.decide_case(&r.case.id, version, T0 + 3, &submission(), &late).await.unwrap(), "{l}");
        all_or_none(&s, l, "stale submission", &late, false).await;
        chain_intact(&s, l).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_approval_rejection_and_cancel_come_with_their_audit_entries_and_notices_or_with_none() {
    each_backend(|s, l| async move {
        // The first of two approvals, raced: one is recorded and audited.
        let a = account(&s, l).await;
        let r = pending(&s, l, &a).await;
        let racers: Vec<(CaseChange, Effects)> = (0..4)
            .map(|i| {
                let change = CaseChange::FirstApproval { reviewer_id: format!("rev{i}"), note: "n".into() };
                (change, told("recovery_first_approval", &a, T0 + 5))
            })
            .collect();
        let (id, version) = (r.case.id.clone(), r.case.version);
        let results = race(racers.len(), |i| {
            let (s, id, (change, effects)) = (s.clone(), id.clone(), racers[i].clone());
            async move { s.decide_case(&id, version, T0 + 5, &change, &effects).await }
        })
        .await;
        assert_eq!(winners(l, &results), 1, "{l}");
        for ((change, effects), won) in racers.iter().zip(&results) {
            let won = *won.as_ref().unwrap();
            all_or_none(&s, l, "racing first approval", effects, won).await;
            let CaseChange::FirstApproval { reviewer_id, .. } = change else { unreachable!() };
            if won {
                assert_eq!(reload(&s, &r.case.id).await.case.first_approved_by.as_ref(), Some(reviewer_id), "{l}");
            }
        }

        // Rejections racing each other (and the second approval): one
        // decision stands, with its audit entries and notice only.
        let r = reload(&s, &r.case.id).await;
        let racers: Vec<(CaseChange, Effects)> = (0..4)
            .map(|i| {
                let mut effects = told("recovery_rejected", &a, T0 + 6);
                effects.audit.push(entry("staff_rejected_recovery", &format!("rev{i}"), T0 + 6));
                (rejection(&format!("rev{i}")), effects)
            })
            .collect();
        let approval = plan(&r, "rev9", T0 + 6);
        let (id, version) = (r.case.id.clone(), r.case.version);
        let p = approval.clone();
        let approve = {
            let s = s.clone();
            tokio::spawn(async move { s.approve_case(&p).await })
        };
        let results = race(racers.len(), |i| {
            let (s, id, (change, effects)) = (s.clone(), id.clone(), racers[i].clone());
            async move { s.decide_case(&id, version, T0 + 6, &change, &effects).await }
        })
        .await;
        let approved = approve.await.unwrap().unwrap() == ApprovalOutcome::Approved;
        assert_eq!(winners(l, &results) + usize::from(approved), 1, "{l}: one decision (approved {approved})");
        for ((_, effects), won) in racers.iter().zip(&results) {
            all_or_none(&s, l, "racing rejection", effects, *won.as_ref().unwrap()).await;
        }
        let approval_told = Effects { audit: approval.audit.clone(), notices: approval.notices.clone() };
        all_or_none(&s, l, "approval racing rejections", &approval_told, approved).await;
        let want = if approved { CaseStatus::Approved } else { CaseStatus::Rejected };
        assert_eq!(reload(&s, &r.case.id).await.case.status, want, "{l}");
        // Decided: a late rejection writes nothing.
        let late = told("recovery_rejected", &a, T0 + 7);
        assert!(!s.decide_case(&r.case.id, version + 1, T0 + 7, &rejection("rev1"), &late).await.unwrap(), "{l}");
        all_or_none(&s, l, "rejection of a decided case", &late, false).await;

        // The owner's cancel racing a rejection: the one that stands is
        // audited and told, the other is neither.
        for round in 0..4 {
            let b = account(&s, l).await;
            let r = pending(&s, l, &b).await;
            let cancel = CaseChange::Cancelled { reason: CANCELLED_BY_OWNER.into() };
            let cancelled_told = told("recovery_cancelled", &b, T0 + 8);
            let rejected_told = told("recovery_rejected", &b, T0 + 8);
            let (id, version) = (r.case.id.clone(), r.case.version);
            let decisions = [(cancel, cancelled_told.clone()), (rejection("rev1"), rejected_told.clone())];
            let results = race(2, |i| {
                let (s, id, (change, effects)) = (s.clone(), id.clone(), decisions[i].clone());
                async move { s.decide_case(&id, version, T0 + 8, &change, &effects).await }
            })
            .await;
            assert_eq!(winners(l, &results), 1, "{l}: round {round}");
            let (cancelled, rejected) = (*results[0].as_ref().unwrap(), *results[1].as_ref().unwrap());
            all_or_none(&s, l, "cancel racing a rejection", &cancelled_told, cancelled).await;
            all_or_none(&s, l, "rejection racing a cancel", &rejected_told, rejected).await;
            let want = if cancelled { CaseStatus::Cancelled } else { CaseStatus::Rejected };
            assert_eq!(reload(&s, &r.case.id).await.case.status, want, "{l}");
        }
        chain_intact(&s, l).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approval_resets_signs_out_holds_and_audits_in_one_transaction() {
    each_backend(|s, l| async move {
        let a = account(&s, l).await;
        let setup = TotpSetup {
            id: new_id(),
            account_id: a.clone(),
            sealed_secret: vec![7],
            created_at: T0,
            expires_at: T0 + 900,
        };
        s.create_totp_setup(&setup).await.unwrap();
        assert!(s.bind_totp(&setup, 1, T0).await.unwrap(), "{l}");
        s.create_session("tok-1", &a, T0, T0 + 86_400, None).await.unwrap();
        let attempt = LoginAttempt {
            id: new_id(),
            account_id: a.clone(),
            state: LoginState::Pending,
            failures: 0,
            expires_at: T0 + 600,
        };
        s.create_login(&NewLoginAttempt {
            attempt: attempt.clone(),
            created_at: T0,
            ip: "x".into(),
            user_agent: "y".into(),
            audit: None,
        })
        .await
        .unwrap();
        s.extend_withdrawal_hold(&a, T0 + 1_000_000).await.unwrap();
        let r = pending(&s, l, &a).await;
        let mut p = plan(&r, "rev1", T0 + 50);
        p.new_email = Some("fresh@example.test".into());
        assert_eq!(s.approve_case(&p).await.unwrap(), ApprovalOutcome::Approved, "{l}");
        assert_eq!(s.approve_case(&p).await.unwrap(), ApprovalOutcome::Lost, "{l}: once");
        let acc = s.account_by_id(&a).await.unwrap().unwrap();
        assert_eq!((acc.email.as_str(), acc.email_verified_at), ("fresh@example.test", Some(T0 + 50)), "{l}");
        assert_eq!(acc.phone.as_deref(), Some("+447911123456"), "{l}");
        assert_eq!(acc.withdrawals_blocked_until, Some(T0 + 1_000_000), "{l}: a later hold is never shortened");
        assert!(s.totp_factor(&a).await.unwrap().is_none(), "{l}");
        assert!(s.session("tok-1", T0 + 51).await.unwrap().is_none(), "{l}");
        assert_eq!(s.login_by_id(&attempt.id).await.unwrap().unwrap().state, LoginState::Dead, "{l}");
        assert_eq!(s.audit_events(Some(&a), 1).await.unwrap()[0].kind, "recovery_approved", "{l}");
        let approved = Effects { audit: p.audit.clone(), notices: p.notices.clone() };
        all_or_none(&s, l, "approval: its audit entry and notice", &approved, true).await;
        let after = reload(&s, &r.case.id).await;
        assert_eq!(
            (after.case.hold_until, after.decided_by.as_deref(), after.closed_at),
            (Some(T0 + 50 + 48 * 3600), Some("rev1"), Some(T0 + 50)),
            "{l}"
        );

        // The new e-mail taken by another account: nothing at all changes.
        let b = account(&s, l).await;
        let other = account(&s, l).await;
        let taken = s.account_by_id(&other).await.unwrap().unwrap().email;
        let r = pending(&s, l, &b).await;
        let mut p = plan(&r, "rev1", T0 + 60);
        p.new_email = Some(taken);
        assert_eq!(s.approve_case(&p).await.unwrap(), ApprovalOutcome::EmailTaken, "{l}");
        let acc = s.account_by_id(&b).await.unwrap().unwrap();
        assert_eq!((acc.phone, acc.withdrawals_blocked_until), (None, None), "{l}");
        assert_eq!(reload(&s, &r.case.id).await.case.status, CaseStatus::PendingReview, "{l}");
        let refused = Effects { audit: p.audit.clone(), notices: p.notices.clone() };
        all_or_none(&s, l, "approval refused for a taken e-mail address: no entry, no notice", &refused, false).await;
        chain_intact(&s, l).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_codes_freezing_and_two_approvals() {
    each_backend(|s, l| async move {
        let a = account(&s, l).await;
        let r = pending(&s, l, &a).await;
        s.add_cancel_token(&r.case.id, "cancel-1", T0).await.unwrap();
        assert_eq!(s.case_by_cancel_token("cancel-1").await.unwrap().unwrap().case.id, r.case.id, "{l}");
        assert!(s.case_by_cancel_token("cancel-2").await.unwrap().is_none(), "{l}");
        // First approval once; never by the same slot twice.
        let first = CaseChange::FirstApproval { reviewer_id: "rev1".into(), note: "n".into() };
        let (id, version) = (r.case.id.clone(), r.case.version);
        let results = race!(4, [s, first, id] => s.update_case(&id, version, T0 + 5, &first).await);
        assert_eq!(winners(l, &results), 1, "{l}");
        let r = reload(&s, &r.case.id).await;
        assert_eq!((r.case.first_approved_by.as_deref(), r.first_approved_at), (Some("rev1"), Some(T0 + 5)), "{l}");
        let again = CaseChange::FirstApproval { reviewer_id: "rev2".into(), note: "n".into() };
        assert!(!s.update_case(&r.case.id, r.case.version, T0 + 6, &again).await.unwrap(), "{l}");
        assert_eq!(s.approve_case(&plan(&r, "rev2", T0 + 10)).await.unwrap(), ApprovalOutcome::Approved, "{l}");
        // Cancel after approval: the case is cancelled and the account frozen, sessions gone.
        let r = reload(&s, &r.case.id).await;
        s.create_session("tok-2", &a, T0 + 11, T0 + 86_400, None).await.unwrap();
        let racers: Vec<Effects> = (0..4).map(|_| told("account_frozen", &a, T0 + 20)).collect();
        let (id, version) = (r.case.id.clone(), r.case.version);
        let results = race(racers.len(), |i| {
            let (s, id, a, effects) = (s.clone(), id.clone(), a.clone(), racers[i].clone());
            async move { s.cancel_and_freeze(&id, version, &a, T0 + 20, &effects).await }
        })
        .await;
        assert_eq!(winners(l, &results), 1, "{l}");
        for (effects, won) in racers.iter().zip(&results) {
            all_or_none(&s, l, "racing freeze", effects, *won.as_ref().unwrap()).await;
        }
        let acc = s.account_by_id(&a).await.unwrap().unwrap();
        assert_eq!(acc.frozen_at, Some(T0 + 20), "{l}");
        assert!(s.session("tok-2", T0 + 21).await.unwrap().is_none(), "{l}");
        assert_eq!(reload(&s, &r.case.id).await.cancelled_at, Some(T0 + 20), "{l}");
        let (lifted, again) = (entry("account_unfrozen", &a, T0 + 30), entry("account_unfrozen", &a, T0 + 31));
        assert!(s.unfreeze_account(&a, &lifted).await.unwrap(), "{l}");
        assert!(!s.unfreeze_account(&a, &again).await.unwrap(), "{l}");
        assert_eq!(s.account_by_id(&a).await.unwrap().unwrap().frozen_at, None, "{l}");
        assert_eq!(stored(&s, &[lifted, again], &[]).await, (1, 0), "{l}: only the freeze lifted is audited");
        chain_intact(&s, l).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn security_answers_are_replaced_and_withdrawals_are_found() {
    each_backend(|s, l| async move {
        let a = account(&s, l).await;
        s.set_security_answers(&a, &[("first_pet".into(), "h1".into()), ("birth_city".into(), "h2".into())], T0)
            .await
            .unwrap();
        s.set_security_answers(&a, &[("first_car".into(), "h3".into()), ("first_pet".into(), "h4".into())], T0 + 1)
            .await
            .unwrap();
        let got = s.security_answers(&a).await.unwrap();
        let got: Vec<(&str, &str, i64)> =
            got.iter().map(|x| (x.question_id.as_str(), x.answer_hash.as_str(), x.created_at)).collect();
        assert_eq!(got, [("first_car", "h3", T0 + 1), ("first_pet", "h4", T0 + 1)], "{l}");
        assert_eq!(s.last_withdrawal(&a).await.unwrap(), None, "{l}");
        for (i, asset) in ["BTC", "ETH"].iter().enumerate() {
            let w = Withdrawal {
                id: new_id(),
                account_id: a.clone(),
                asset: (*asset).into(),
                amount: "1".into(),
                address: "x".into(),
                created_at: T0 + i as i64,
            };
            s.create_withdrawal(&w).await.unwrap();
        }
        assert_eq!(s.last_withdrawal(&a).await.unwrap(), Some(("ETH".into(), T0 + 1)), "{l}");
    })
    .await;
}
