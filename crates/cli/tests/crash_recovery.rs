//! Crash tests of lost-2FA recovery: `twostep serve` is killed with SIGKILL
//! while owners walk recovery cases to submission (codes from the outbox,
//! questions, identity documents when the e-mail address is replaced) and
//! two reviewers approve and reject them, then restarted on the same
//! database. Every step, submission and decision the server acknowledged
//! must still be there, and no case may be half-approved: a case is
//! approved with all its effects (authenticator removed, phone or e-mail
//! replaced, sessions revoked, withdrawal hold, audit entry, notices queued)
//! or with none of them. Every other decision is whole too: each case
//! opened, submitted, approved once of two or rejected has its audit entry
//! and each one that tells the owner exactly its notice, and nothing else
//! does. SQLite's integrity check and the audit log's hash chain must pass
//! after every crash. On SQLite and PostgreSQL.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{
    CrashSite, answer, expect, outbox_code, outbox_codes, request, staff_with_authenticator, try_call as call,
};
use serde_json::{Value, json};
use sqlx::Row;
use twostep_app::crypto::token_hash;
use twostep_app::ports::{AccountStore, AuditStore, TotpStore};
use twostep_app::recovery::port::RecoveryStore;
use twostep_domain::recovery::{CaseStatus, RecoveryCase, RecoveryStep};
use twostep_store::SqlStore;
use twostep_testkit::recovery::{PW, multipart, passport_form};
use twostep_testkit::{Backend, oathtool};
use twostep_web::time::rfc3339;

const CRASHES: usize = 3;
const OWNERS_PER_ROUND: usize = 16;
const REVIEWERS: [&str; 2] = ["rev1@example.com", "rev2@example.com"];
/// Owners come through one proxy that names them (so the per-IP cap on
/// opening cases counts each apart). Cases need codes and questions, and
/// identity documents when the e-mail address is replaced: both kinds of
/// submission run.
const SERVE: &[&str] = &["--trust-forwarded-for", "true", "--recovery-steps", "codes,questions"];

/// An account that reached the point of opening a case, and what the server
/// acknowledged about it.
#[derive(Clone)]
struct Owner {
    email: String,
    account_id: String,
    /// Signed in before the case was opened; an approval revokes it.
    session: String,
    new_phone: Option<String>,
    new_email: Option<String>,
    /// What the reviewers decide for this case.
    reject: bool,
    /// (case id, case token) once opening was answered 201.
    case: Option<(String, String)>,
    /// Steps answered 2xx.
    steps: Vec<RecoveryStep>,
    submitted: bool,
    /// The first of two approvals was answered 200.
    first_approval: bool,
    /// The final approval was answered 200 with this hold.
    approved_until: Option<String>,
    rejected: bool,
    /// Signed in after the approval, to check its effects after later crashes.
    session_after: Option<String>,
}

impl Owner {
    fn case_id(&self) -> Option<&str> {
        self.case.as_ref().map(|c| c.0.as_str())
    }

    /// The account's e-mail address and phone, approved or not.
    fn contacts(&self, approved: bool) -> (String, Option<String>) {
        if approved {
            (self.new_email.clone().unwrap_or_else(|| self.email.clone()), self.new_phone.clone())
        } else {
            (self.email.clone(), None)
        }
    }
}

#[derive(Default)]
struct Load {
    owners: Vec<Owner>,
    submitted: usize,
    first_approvals: usize,
    approved: usize,
    rejected: usize,
}

type Shared = Arc<Mutex<Load>>;

fn lock(load: &Shared) -> std::sync::MutexGuard<'_, Load> {
    load.lock().unwrap_or_else(|e| e.into_inner())
}

/// `sql`, a COUNT(*) over rows matching one key, read directly.
async fn count(store: &SqlStore, sql: &'static str, key: &str) -> i64 {
    sqlx::query(sql).bind(key.to_owned()).fetch_one(store.pool()).await.unwrap().get(0)
}

/// An owner's client: every call comes through the proxy with its address.
struct Client {
    url: String,
    ip: String,
}

impl Client {
    async fn call(&self, method: &str, path: &str, body: Option<Value>, token: Option<&str>) -> Option<(u16, Value)> {
        answer(request(&self.url, method, path, body, token).header("x-forwarded-for", &self.ip)).await
    }

    async fn post(&self, path: &str, body: Value, token: Option<&str>) -> Option<(u16, Value)> {
        self.call("POST", path, Some(body), token).await
    }
}

/// One owner's story, recording what the server acknowledges: sign up,
/// confirm, enrol an authenticator, lose it, open a case, choose what to
/// reset, prove the codes, answer the questions, upload a passport if the
/// case asks for it, submit.
async fn owner(url: String, round: usize, n: usize, load: Shared) -> Option<()> {
    let c = Client { url: url.clone(), ip: format!("10.0.{round}.{}", n + 1) };
    let email = format!("owner-{round}-{n}@example.com");
    expect(c.post("/api/v1/accounts", json!({"email": email, "password": PW}), None).await?, 202)?;
    let code = outbox_code(&url, &email, 0).await?;
    expect(c.post("/api/v1/accounts/verify-email", json!({"email": email, "code": code}), None).await?, 200)?;
    let login = expect(c.post("/api/v1/login", json!({"email": email, "password": PW}), None).await?, 200)?;
    let session = login["session_token"].as_str()?.to_owned();
    let account_id =
        expect(c.call("GET", "/api/v1/me", None, Some(&session)).await?, 200)?["account_id"].as_str()?.to_owned();
    expect(c.post("/api/v1/me/sudo", json!({"method": "password", "password": PW}), Some(&session)).await?, 200)?;
    let setup = expect(c.post("/api/v1/me/totp", json!({}), Some(&session)).await?, 201)?;
    let key = setup["backup_key"].as_str()?;
    let confirm = json!({"setup_id": setup["setup_id"], "backup_key": key, "code": oathtool(key, common::now())});
    expect(c.post("/api/v1/me/totp/confirm", confirm, Some(&session)).await?, 200)?;

    // A third replace the phone too, a third the e-mail address (high
    // risk: identity documents and two reviewers); every fourth is rejected.
    let new_phone = (n % 3 == 1).then(|| format!("+447911{:06}", round * 1000 + n));
    let new_email = (n % 3 == 2).then(|| format!("owner-{round}-{n}.new@example.com"));
    let i = {
        let mut l = lock(&load);
        l.owners.push(Owner {
            email: email.clone(),
            account_id,
            session,
            new_phone: new_phone.clone(),
            new_email: new_email.clone(),
            reject: n % 4 == 1,
            case: None,
            steps: Vec::new(),
            submitted: false,
            first_approval: false,
            approved_until: None,
            rejected: false,
            session_after: None,
        });
        l.owners.len() - 1
    };

    // The phone with the authenticator is lost: "Security check not available".
    let login = expect(c.post("/api/v1/login", json!({"email": email, "password": PW}), None).await?, 200)?;
    let recovery = format!("/api/v1/login/{}/recovery", login["login_id"].as_str()?);
    let opened = expect(c.post(&recovery, json!({}), None).await?, 201)?;
    let (id, token) = (opened["case_id"].as_str()?.to_owned(), opened["case_token"].as_str()?.to_owned());
    lock(&load).owners[i].case = Some((id.clone(), token.clone()));
    let path = |tail: &str| format!("/api/v1/recovery/{id}/{tail}");
    let step = |s: RecoveryStep| lock(&load).owners[i].steps.push(s);

    let mut items = json!({"reset": ["authenticator"]});
    if let Some(p) = &new_phone {
        items = json!({"reset": ["authenticator", "phone"], "new_phone": p});
    }
    if let Some(e) = &new_email {
        items = json!({"reset": ["authenticator", "email"], "new_email": e});
    }
    let view = expect(c.post(&path("items"), items, Some(&token)).await?, 200)?;
    let needs_identity = view["required_steps"].as_array()?.contains(&json!("identity"));
    assert_eq!(needs_identity, new_email.is_some(), "identity documents only when the e-mail is replaced: {view}");

    // Codes go to the e-mail and the phone the account will have.
    let email_to = new_email.as_deref().unwrap_or(&email);
    let seen = outbox_codes(&url, email_to).await?.len();
    expect(c.post(&path("codes"), json!({}), Some(&token)).await?, 202)?;
    let mut codes = json!({"email_code": outbox_code(&url, email_to, seen).await?});
    if let Some(p) = &new_phone {
        codes["phone_code"] = json!(outbox_code(&url, p, 0).await?);
    }
    expect(c.post(&path("codes/verify"), codes, Some(&token)).await?, 200)?;
    step(RecoveryStep::Codes);

    let questions = expect(c.call("GET", &path("questions"), None, Some(&token)).await?, 200)?;
    let (year, month) = twostep_domain::questions::year_month(common::now());
    let answers: Vec<Value> = questions["questions"]
        .as_array()?
        .iter()
        .map(|q| {
            let fact = q["question_id"].as_str().is_some_and(|q| q.starts_with("fact:"));
            let answer = if fact { format!("{year}-{month:02}") } else { "I never set one".to_owned() };
            json!({"question_id": q["question_id"], "answer": answer})
        })
        .collect();
    expect(c.post(&path("answers"), json!({"answers": answers}), Some(&token)).await?, 200)?;
    step(RecoveryStep::Questions);

    if needs_identity {
        let (content_type, body) = multipart(&passport_form());
        let upload = request(&url, "POST", &path("identity"), None, Some(&token))
            .header("x-forwarded-for", &c.ip)
            .header("content-type", content_type)
            .body(body);
        expect(answer(upload).await?, 201)?;
        step(RecoveryStep::Identity);
    }

    let submitted = expect(c.post(&path("submit"), json!({}), Some(&token)).await?, 200)?;
    assert_eq!(submitted["status"], "pending_review");
    let mut l = lock(&load);
    l.owners[i].submitted = true;
    l.submitted += 1;
    Some(())
}

/// A reviewer working the queue until the server dies, with the session
/// it bound its authenticator in (sessions outlive a restart): each case is
/// approved or rejected as its owner's entry says; a case another reviewer
/// decided first answers 409.
async fn reviewer(url: String, email: &'static str, token: String, load: Shared) -> Option<()> {
    let queue = "/api/v1/admin/recovery-cases?status=pending_review";
    loop {
        let queue = expect(call(&url, "GET", queue, None, Some(&token)).await?, 200)?;
        for case in queue["cases"].as_array()? {
            let id = case["case_id"].as_str()?;
            let reject = lock(&load).owners.iter().find(|o| o.case_id() == Some(id)).is_some_and(|o| o.reject);
            let base = format!("/api/v1/admin/recovery-cases/{id}");
            let (path, body) = if reject {
                (format!("{base}/reject"), json!({"reason": "the selfie does not match"}))
            } else {
                (format!("{base}/approve"), json!({"note": "codes, answers and documents check out"}))
            };
            let (status, body) = call(&url, "POST", &path, Some(body), Some(&token)).await?;
            // 409: another reviewer decided first, or this one gave the
            // first of two approvals already.
            let decided_elsewhere = status == 409 && body["error"]["code"] == "conflict";
            assert!(status == 200 || decided_elsewhere, "{email} deciding {id}: {status} {body}");
            if status != 200 {
                continue;
            }
            let mut l = lock(&load);
            let i = l.owners.iter().position(|o| o.case_id() == Some(id)).expect("a case of a known owner");
            match body["status"].as_str() {
                Some("approved") => {
                    l.owners[i].approved_until =
                        Some(body["withdrawals_blocked_until"].as_str().expect("the hold").to_owned());
                    l.approved += 1;
                }
                Some("pending_review") => {
                    l.owners[i].first_approval = true;
                    l.first_approvals += 1;
                }
                Some("rejected") => {
                    l.owners[i].rejected = true;
                    l.rejected += 1;
                }
                _ => panic!("{email} deciding {id}: {body}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The database as the crash left it (no server running), read directly:
/// acknowledged writes are there, and every case is approved with all its
/// effects or has none of them. Returns the statuses of the cases.
async fn check_database(site: &CrashSite, owners: &[Owner], crash: usize) -> Vec<(usize, CaseStatus)> {
    let l = format!("{} after crash {crash}", site.label);
    let store = SqlStore::connect(&site.database_url(), &Default::default()).await.expect("the database opens");
    let mut statuses = Vec::new();
    let rows = sqlx::query("SELECT account_id FROM recovery_cases").fetch_all(store.pool()).await.unwrap();
    for row in rows {
        let account: String = row.get(0);
        assert!(owners.iter().any(|o| o.account_id == account), "{l}: a case of an unknown account {account}");
    }
    for (i, o) in owners.iter().enumerate() {
        let who = format!("{l}: {}", o.email);
        let cases = store.cases_of_account(&o.account_id).await.unwrap();
        assert!(cases.len() <= 1, "{who}: one case opened, {} stored", cases.len());
        let case: Option<&RecoveryCase> = cases.first().map(|r| &r.case);
        if let Some(id) = o.case_id() {
            assert_eq!(case.map(|c| c.id.as_str()), Some(id), "{who}: an acknowledged case is gone");
        }
        if let Some(c) = case {
            for s in &o.steps {
                assert!(c.step_done(*s), "{who}: the acknowledged step {s:?} is undone: {c:?}");
            }
            statuses.push((i, c.status));
        }
        let status = case.map(|c| c.status);
        if o.submitted {
            let kept = matches!(status, Some(CaseStatus::PendingReview | CaseStatus::Approved | CaseStatus::Rejected));
            assert!(kept, "{who}: an acknowledged submission is lost: {status:?}");
        }
        if o.first_approval {
            assert!(
                case.is_some_and(|c| c.first_approved_by.is_some()),
                "{who}: an acknowledged first approval is lost: {case:?}"
            );
        }
        if o.approved_until.is_some() {
            assert_eq!(status, Some(CaseStatus::Approved), "{who}: an acknowledged approval is lost");
            assert_eq!(case.and_then(|c| c.hold_until).map(rfc3339), o.approved_until, "{who}: the hold answered");
        }
        if o.rejected {
            assert_eq!(status, Some(CaseStatus::Rejected), "{who}: an acknowledged rejection is lost");
        }

        // All or nothing.
        let approved = status == Some(CaseStatus::Approved);
        let account = store.account_by_id(&o.account_id).await.unwrap().expect("the account");
        let (email, phone) = o.contacts(approved);
        assert_eq!((account.email, account.phone), (email, phone.clone()), "{who}: approved {approved}: contacts");
        let totp = store.totp_factor(&o.account_id).await.unwrap();
        assert_eq!(totp.is_some(), !approved, "{who}: approved {approved}: the authenticator");
        let hold = case.and_then(|c| c.hold_until).filter(|_| approved);
        assert_eq!(account.withdrawals_blocked_until, hold, "{who}: approved {approved}: the withdrawal hold");
        let revoked: Option<i64> = sqlx::query("SELECT revoked_at FROM sessions WHERE token_hash = $1")
            .bind(token_hash(&o.session))
            .fetch_one(store.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(revoked.is_some(), approved, "{who}: approved {approved}: the session from before the case");
        let audit = store.audit_events(Some(&o.account_id), 500).await.unwrap();
        let audited = audit.iter().any(|e| e.kind == "recovery_approved");
        assert_eq!(audited, approved, "{who}: approved {approved}: the audit entry");

        // Every other decision comes with its audit entry, once, or is not
        // there at all: no case opened, submitted, approved once of two or
        // rejected without its entry, and no entry without its decision.
        let submitted = matches!(status, Some(CaseStatus::PendingReview | CaseStatus::Approved | CaseStatus::Rejected));
        let rejected = status == Some(CaseStatus::Rejected);
        let first_approved = case.is_some_and(|c| c.first_approved_by.is_some());
        let entries = |kind: &str| audit.iter().filter(|e| e.kind == kind).count();
        let decisions = [
            ("recovery_opened", case.is_some()),
            ("recovery_submitted", submitted),
            ("recovery_first_approval", first_approved),
            ("recovery_rejected", rejected),
        ];
        for (kind, happened) in decisions {
            assert_eq!(
                entries(kind),
                usize::from(happened),
                "{who}: {kind} {happened}, status {status:?}: its audit entries"
            );
        }
        if let Some(c) = case {
            let staff = count(
                &store,
                "SELECT COUNT(*) FROM audit_log WHERE kind = 'staff_rejected_recovery' AND detail = $1",
                &format!("case {}", c.id),
            )
            .await;
            assert_eq!(staff, i64::from(rejected), "{who}: rejected {rejected}: the reviewer's audit entry");
        }
        // The address the case was opened under hears of each decision
        // that tells the owner, exactly once: opening and submission (with
        // a cancel code), then rejection or approval. Codes are not notices.
        // Binding the authenticator told the owner too, in its own
        // transaction with its audit entry.
        let enrolled = count(
            &store,
            "SELECT COUNT(*) FROM audit_log WHERE account_id = $1 AND kind = 'totp_enrolled'",
            &o.account_id,
        )
        .await;
        let told = [case.is_some(), submitted, rejected, approved].into_iter().filter(|t| *t).count() as i64 + enrolled;
        let notices =
            count(&store, "SELECT COUNT(*) FROM message_queue WHERE recipient = $1 AND code_id IS NULL", &o.email)
                .await;
        assert_eq!(
            notices, told,
            "{who}: status {status:?}: the notices to {} (authenticator bound: {enrolled})",
            o.email
        );
        if let Some(c) = case.filter(|_| approved) {
            // The owner is told on the old address, and on the new contact.
            let decided = c.decided_at.expect("decided_at");
            for to in [Some(o.email.as_str()), phone.as_deref(), o.new_email.as_deref()].into_iter().flatten() {
                let notices: i64 = sqlx::query(
                    "SELECT COUNT(*) FROM message_queue WHERE recipient = $1 AND code_id IS NULL AND created_at >= $2",
                )
                .bind(to)
                .bind(decided)
                .fetch_one(store.pool())
                .await
                .unwrap()
                .get(0);
                assert!(notices > 0, "{who}: approved without a notice to {to}");
            }
        }
    }
    store.close().await;
    statuses
}

/// After a restart, through the API: each owner's case reads as the
/// database said, and the effects of an approval (or their absence) hold.
async fn check_api(url: &str, load: &Shared, statuses: &[(usize, CaseStatus)]) -> usize {
    let mut checked = 0;
    let owners: Vec<usize> = (0..lock(load).owners.len()).collect();
    for i in owners {
        let (case, session, approved_until, session_after) = {
            let l = lock(load);
            let o = &l.owners[i];
            (o.case.clone(), o.session.clone(), o.approved_until.clone(), o.session_after.clone())
        };
        let stored = statuses.iter().find(|(j, _)| *j == i).map(|(_, s)| *s);
        if let Some((id, token)) = &case {
            let (status, view) = call(url, "GET", &format!("/api/v1/recovery/{id}"), None, Some(token)).await.unwrap();
            assert_eq!((status, view["status"].as_str()), (200, stored.map(|s| s.as_str())), "case {id}: {view}");
        }
        let approved = stored == Some(CaseStatus::Approved);
        let (status, me) = call(url, "GET", "/api/v1/me", None, Some(&session)).await.unwrap();
        if !approved {
            assert_eq!(status, 200, "nothing approved, yet the session from before the case is gone: {me}");
            assert_eq!(
                (me["factors"]["totp"].as_bool(), &me["withdrawals_blocked_until"]),
                (Some(true), &Value::Null),
                "{me}"
            );
            checked += 1;
            continue;
        }
        assert_eq!(status, 401, "an approval signs every session out: {me}");
        let token = match session_after {
            Some(t) => t,
            None => {
                let (email, phone) = lock(load).owners[i].contacts(true);
                sign_in_after_approval(url, &email, phone.as_deref()).await
            }
        };
        let (status, me) = call(url, "GET", "/api/v1/me", None, Some(&token)).await.unwrap();
        assert_eq!((status, me["factors"]["totp"].as_bool()), (200, Some(false)), "{me}");
        let until = me["withdrawals_blocked_until"].clone();
        assert!(until.is_string(), "{me}");
        if let Some(acked) = approved_until {
            assert_eq!(until, json!(acked));
        }
        // The hold is refused before the code is even looked at.
        let w = json!({"asset": "BTC", "amount": "0.5", "address": "bc1qexampleaddress", "code": "000000"});
        let (status, refused) = call(url, "POST", "/api/v1/withdrawals", Some(w), Some(&token)).await.unwrap();
        assert_eq!(
            (status, &refused["error"]["code"], &refused["error"]["until"]),
            (403, &json!("security_hold"), &until),
            "{refused}"
        );
        lock(load).owners[i].session_after = Some(token);
        checked += 1;
    }
    checked
}

/// Signs in with the password (and an e-mail code if the new phone made
/// a second step): the authenticator is no longer offered.
async fn sign_in_after_approval(url: &str, email: &str, phone: Option<&str>) -> String {
    let (status, login) =
        call(url, "POST", "/api/v1/login", Some(json!({"email": email, "password": PW})), None).await.unwrap();
    assert_eq!(status, 200, "{email} after approval: {login}");
    let Some(phone) = phone else {
        assert_eq!(login["status"], "authenticated", "{email}: no authenticator, no phone: {login}");
        return login["session_token"].as_str().unwrap().to_owned();
    };
    assert_eq!(login["methods"], json!(["sms", "voice"]), "{email}: the new phone, no authenticator");
    let login_id = login["login_id"].as_str().unwrap();
    let seen = outbox_codes(url, phone).await.unwrap().len();
    let (status, sent) =
        call(url, "POST", &format!("/api/v1/login/{login_id}/code"), Some(json!({"channel": "sms"})), None)
            .await
            .unwrap();
    assert_eq!(status, 202, "{sent}");
    let code = outbox_code(url, phone, seen).await.expect("the sign-in code");
    let body = json!({"channel": "sms", "code": code});
    let (status, session) =
        call(url, "POST", &format!("/api/v1/login/{login_id}/code/verify"), Some(body), None).await.unwrap();
    assert_eq!(status, 200, "{session}");
    session["session_token"].as_str().unwrap().to_owned()
}

async fn crash_during_recovery(backend: Backend) {
    let started = Instant::now();
    let site = CrashSite::new(backend, SERVE).await;
    let l = site.label.clone();
    for r in REVIEWERS {
        let (ok, text) = site.run(&["staff", "add", "--email", r, "--role", "reviewer"], PW);
        assert!(ok, "{text}");
    }
    let load: Shared = Arc::default();
    let mut statuses = Vec::new();
    let mut tokens = Vec::new();
    for crash in 0..CRASHES {
        let server = site.serve();
        if tokens.is_empty() {
            // Staff have no staff access before they bind an authenticator.
            for r in REVIEWERS {
                tokens.push(staff_with_authenticator(&server.url, r, PW).await);
            }
        }
        let checked = check_api(&server.url, &load, &statuses).await;
        let staff: Vec<_> = REVIEWERS
            .iter()
            .zip(&tokens)
            .map(|(r, token)| tokio::spawn(reviewer(server.url.clone(), r, token.clone(), load.clone())))
            .collect();
        // Owners arrive one after another; the plug is pulled once this
        // round has seen a few decisions, so other owners are mid-way and
        // other cases wait in the queue or are being decided at that moment.
        let decided = |l: &Load| l.approved + l.rejected;
        let before = decided(&lock(&load));
        let mut owners = Vec::new();
        let round = Instant::now();
        while decided(&lock(&load)) < before + 4 + crash && round.elapsed() < Duration::from_secs(60) {
            if owners.len() < OWNERS_PER_ROUND {
                owners.push(tokio::spawn(owner(server.url.clone(), crash, owners.len(), load.clone())));
            }
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
        drop(server); // SIGKILL, no graceful shutdown
        for task in owners.into_iter().chain(staff) {
            task.await.expect("a client panicked: a server error, or a wrong answer");
        }
        site.check_storage(crash);
        let owners = lock(&load).owners.clone();
        statuses = check_database(&site, &owners, crash).await;
        let a = lock(&load);
        println!(
            "{l}: crash {crash} after {:?}; {checked} accounts checked after the restart before it; acknowledged so far: \
             {} submissions, {} first approvals, {} approvals, {} rejections",
            round.elapsed(),
            a.submitted,
            a.first_approvals,
            a.approved,
            a.rejected
        );
    }
    // A last restart checks what was acknowledged before the last crash.
    let server = site.serve();
    let checked = check_api(&server.url, &load, &statuses).await;
    drop(server);
    let open = statuses.iter().filter(|(_, s)| *s == CaseStatus::Open).count();
    let pending = statuses.iter().filter(|(_, s)| *s == CaseStatus::PendingReview).count();
    {
        let a = lock(&load);
        println!(
            "{l}: {CRASHES} crashes survived in {:?}; {checked} accounts checked after the last; {} cases opened, {open} \
             left open, {pending} pending; acknowledged: {} submissions, {} first approvals, {} approvals, {} rejections",
            started.elapsed(),
            statuses.len(),
            a.submitted,
            a.first_approvals,
            a.approved,
            a.rejected
        );
        assert!(
            a.submitted > 0 && a.approved > 0 && a.rejected > 0,
            "{l}: the load never reached submissions and decisions"
        );
    }
    site.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_recovery_submissions_and_decisions_whole_across_kill_9() {
    crash_during_recovery(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_recovery_submissions_and_decisions_whole_across_kill_9() {
    crash_during_recovery(Backend::Postgres).await;
}
