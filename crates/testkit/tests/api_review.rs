//! Staff review through the API: approve racing reject (exactly one wins,
//! on both backends), two different reviewers for a high-risk case, nobody
//! reviewing their own account, staff only, the audit log, and documents
//! purged a set time after the decision.

mod common;

use common::{assert_error, ok};
use serde_json::{Value, json};
use twostep_domain::Role;
use twostep_testkit::db::BOTH;
use twostep_testkit::recovery::{PW, StaffMember, open_case, submitted_case, totp_owner};
use twostep_testkit::{Backend, TestServer, oathtool, test_settings};

fn case_path(id: &str, tail: &str) -> String {
    format!("/api/v1/admin/recovery-cases/{id}{tail}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approve_racing_reject_has_exactly_one_winner_on_both_backends() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        let r1 = s.staff_with_authenticator("r1@example.com", Role::Reviewer).await.token;
        let r2 = s.staff_with_authenticator("r2@example.com", Role::Admin).await.token;
        for round in 0..4 {
            let owner = totp_owner(&s, &format!("race{round}@example.com")).await;
            let case = submitted_case(&s, &owner, json!({"reset": ["authenticator"]})).await;
            let (approve_path, reject_path) = (case_path(&case.id, "/approve"), case_path(&case.id, "/reject"));
            let approve = s.post(&approve_path, json!({"note": "fine"}), Some(&r1));
            let reject = s.post(&reject_path, json!({"reason": "no"}), Some(&r2));
            let (a, r) = tokio::join!(approve, reject);
            let wins = [a.0.as_u16(), r.0.as_u16()];
            assert!(wins == [200, 409] || wins == [409, 200], "{backend:?} round {round}: {a:?} {r:?}");
            let loser = if a.0 == 200 { &r } else { &a };
            assert_eq!(loser.1["error"]["code"], "conflict");
            // The account matches the winner: reset only if approved.
            let status = ok(&s.get(&case.path(""), Some(&case.token)).await, 200)["status"].clone();
            let totp = s.app.store.totp_factor(&owner.account_id).await.unwrap();
            if a.0 == 200 {
                assert_eq!((status, totp.is_none()), (json!("approved"), true), "{backend:?}");
            } else {
                assert_eq!((status, totp.is_some()), (json!("rejected"), true), "{backend:?}");
            }
        }
        s.stop().await;
    }
}

#[tokio::test]
async fn a_high_risk_case_needs_two_different_reviewers() {
    let s = TestServer::start(Backend::Sqlite).await;
    let owner = totp_owner(&s, "kate@example.com").await;
    // A new account replacing its e-mail scores high.
    let items = json!({"reset": ["authenticator", "email"], "new_email": "kate.new@example.com"});
    let case = submitted_case(&s, &owner, items).await;
    let StaffMember { id: r1_id, token: r1, .. } = s.staff_with_authenticator("r1@example.com", Role::Reviewer).await;
    let r2 = s.staff_with_authenticator("r2@example.com", Role::Reviewer).await.token;
    let evidence = ok(&s.get(&case_path(&case.id, ""), Some(&r1)).await, 200);
    assert_eq!(
        (evidence["high_risk"].as_bool(), evidence["approvals_remaining"].as_i64()),
        (Some(true), Some(2)),
        "{evidence}"
    );
    let queue = ok(&s.get("/api/v1/admin/recovery-cases", Some(&r1)).await, 200);
    assert!(queue["cases"][0]["risk_score"].as_i64().unwrap() >= 50);

    let first =
        ok(&s.post(&case_path(&case.id, "/approve"), json!({"note": "documents look right"}), Some(&r1)).await, 200);
    assert_eq!(first, json!({"status": "pending_review", "approvals_remaining": 1}));
    // Nothing changed yet: the old e-mail still signs in, with its authenticator.
    assert_eq!(ok(&s.login(&owner.email, PW).await, 200)["methods"], json!(["totp"]));
    // The same reviewer cannot count twice.
    assert_error(&s.post(&case_path(&case.id, "/approve"), json!({"note": "again"}), Some(&r1)).await, 409, "conflict");
    let evidence = ok(&s.get(&case_path(&case.id, ""), Some(&r2)).await, 200);
    assert_eq!(
        (evidence["approvals_remaining"].as_i64(), evidence["first_approved_by"].as_str()),
        (Some(1), Some(r1_id.as_str()))
    );
    let second = ok(&s.post(&case_path(&case.id, "/approve"), json!({"note": "agreed"}), Some(&r2)).await, 200);
    assert_eq!(second["status"], "approved");
    // The new address is the account's now; the old one signs in no more.
    assert_error(&s.login(&owner.email, PW).await, 401, "invalid_credentials");
    let token = s.session("kate.new@example.com", PW).await;
    let me = ok(&s.get("/api/v1/me", Some(&token)).await, 200);
    assert_eq!(me["email"], "k•••@example.com");
    assert_eq!(me["factors"]["totp"], false);
    // Both the old and the new address were told.
    for to in [owner.email.as_str(), "kate.new@example.com"] {
        assert!(s.messages_to(to).await[0]["body"].as_str().unwrap().contains("was approved"), "{to}");
    }
    s.stop().await;
}

#[tokio::test]
async fn nobody_reviews_their_own_account_and_only_staff_review() {
    let s = TestServer::start(Backend::Sqlite).await;
    // Someone who lost their authenticator opened a case, and was made a
    // reviewer before it was decided (staff cannot open one themselves).
    let rev_id = s.verified_account("self@example.com", PW).await;
    let rev = s.session("self@example.com", PW).await;
    s.sudo_password(&rev).await;
    let answers = json!({"answers": [{"question_id": "first_pet", "answer": "Rex"}, {"question_id": "birth_city", "answer": "Paris"}]});
    ok(&s.call("PUT", "/api/v1/me/security-questions", Some(answers), Some(&rev)).await, 200);
    let key = s.enrol_totp(&rev).await;
    let owner = twostep_testkit::recovery::Owner {
        email: "self@example.com".into(),
        account_id: rev_id.clone(),
        backup_key: key.clone(),
    };
    s.clock.advance(30);
    let case = submitted_case(&s, &owner, json!({"reset": ["authenticator"]})).await;
    s.app.add_staff("self@example.com", PW, Role::Reviewer).await.unwrap();
    // Still signed in on another device: staff, but not for this case.
    let mine = rev;
    ok(&s.get("/api/v1/admin/recovery-cases", Some(&mine)).await, 200);
    assert_error(
        &s.post(&case_path(&case.id, "/approve"), json!({"note": "it's me"}), Some(&mine)).await,
        403,
        "forbidden",
    );
    assert_error(
        &s.post(&case_path(&case.id, "/reject"), json!({"reason": "hm"}), Some(&mine)).await,
        403,
        "forbidden",
    );
    assert_error(&s.get(&case_path(&case.id, ""), Some(&mine)).await, 403, "forbidden");
    assert_error(&s.get(&case_path(&case.id, "/documents/front"), Some(&mine)).await, 403, "forbidden");

    // A user is not staff; no token is not signed in.
    let user = totp_owner(&s, "user@example.com").await;
    let user_token = {
        s.clock.advance(30);
        let login = ok(&s.login(&user.email, PW).await, 200);
        let code = oathtool(&user.backup_key, s.now());
        let r = ok(
            &s.post(
                &format!("/api/v1/login/{}/totp", login["login_id"].as_str().unwrap()),
                json!({"code": code}),
                None,
            )
            .await,
            200,
        );
        r["session_token"].as_str().unwrap().to_owned()
    };
    for (method, path) in [
        ("GET", "/api/v1/admin/recovery-cases".to_owned()),
        ("GET", case_path(&case.id, "")),
        ("GET", case_path(&case.id, "/documents/front")),
        ("POST", case_path(&case.id, "/approve")),
        ("POST", case_path(&case.id, "/reject")),
        ("GET", "/api/v1/admin/audit".to_owned()),
        ("POST", format!("/api/v1/admin/accounts/{}/unfreeze", user.account_id)),
    ] {
        let body = Some(json!({"note": "x", "reason": "x"}));
        assert_error(&s.call(method, &path, body.clone(), Some(&user_token)).await, 403, "forbidden");
        assert_error(&s.call(method, &path, body, None).await, 401, "unauthorized");
    }
    // Another reviewer may decide, with a note.
    let other = s.staff_with_authenticator("other@example.com", Role::Reviewer).await.token;
    assert_error(
        &s.post(&case_path(&case.id, "/approve"), json!({"note": " "}), Some(&other)).await,
        400,
        "invalid_request",
    );
    assert_error(&s.get(&case_path(&case.id, "/documents/passport"), Some(&other)).await, 404, "not_found");
    assert_error(&s.get(&case_path("nope", ""), Some(&other)).await, 404, "not_found");
    ok(&s.post(&case_path(&case.id, "/approve"), json!({"note": "called them back"}), Some(&other)).await, 200);
    s.stop().await;
}

#[tokio::test]
async fn the_audit_log_and_the_queue_for_staff() {
    let s = TestServer::start(Backend::Postgres).await;
    let owner = totp_owner(&s, "leo@example.com").await;
    let case = submitted_case(&s, &owner, json!({"reset": ["authenticator"]})).await;
    let open = open_case(&s, &totp_owner(&s, "mia@example.com").await.email).await;
    let StaffMember { id: rev_id, token: rev, .. } = s.staff_with_authenticator("rev@example.com", Role::Admin).await;
    let queue = ok(&s.get("/api/v1/admin/recovery-cases?status=pending_review", Some(&rev)).await, 200);
    let ids: Vec<&str> = queue["cases"].as_array().unwrap().iter().map(|c| c["case_id"].as_str().unwrap()).collect();
    assert_eq!(ids, [case.id.as_str()]);
    let queue = ok(&s.get("/api/v1/admin/recovery-cases?status=open", Some(&rev)).await, 200);
    assert_eq!(queue["cases"][0]["case_id"], json!(open.id));
    assert_eq!(queue["cases"][0]["risk_score"], Value::Null);
    assert_error(&s.get("/api/v1/admin/recovery-cases?status=sleeping", Some(&rev)).await, 400, "invalid_request");
    ok(&s.post(&case_path(&case.id, "/reject"), json!({"reason": "selfie does not match"}), Some(&rev)).await, 200);
    assert_error(&s.post(&case_path(&case.id, "/approve"), json!({"note": "oops"}), Some(&rev)).await, 409, "conflict");

    let audit = ok(&s.get(&format!("/api/v1/admin/audit?account_id={}", owner.account_id), Some(&rev)).await, 200);
    let events = audit["events"].as_array().unwrap();
    assert_eq!(events[0]["kind"], "recovery_rejected");
    assert!(events[0]["detail"].as_str().unwrap().contains("selfie does not match"));
    assert!(events.iter().all(|e| e["account_id"] == json!(owner.account_id)));
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    let order = [
        "recovery_opened",
        "recovery_items_chosen",
        "recovery_codes_sent",
        "recovery_codes_proven",
        "recovery_questions_answered",
        "recovery_identity_uploaded",
        "recovery_submitted",
        "recovery_rejected",
    ];
    let positions: Vec<usize> =
        order.iter().map(|k| kinds.iter().position(|x| x == k).unwrap_or_else(|| panic!("{k}"))).collect();
    assert!(positions.windows(2).all(|w| w[0] > w[1]), "newest first: {kinds:?}");
    // Without account_id: everyone's, including what staff did.
    let all = ok(&s.get("/api/v1/admin/audit", Some(&rev)).await, 200);
    assert!(
        all["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "staff_rejected_recovery" && e["account_id"] == json!(rev_id))
    );
    // The owner was told, and may start again.
    assert!(s.messages_to(&owner.email).await[0]["body"].as_str().unwrap().contains("rejected"));
    open_case(&s, &owner.email).await;
    s.stop().await;
}

#[tokio::test]
async fn documents_are_purged_a_set_time_after_the_decision() {
    let mut settings = test_settings();
    settings.recovery.document_retention_s = 10 * 86_400;
    let s = TestServer::start_with(Backend::Sqlite, settings).await;
    let owner = totp_owner(&s, "nina@example.com").await;
    let case = submitted_case(&s, &owner, json!({"reset": ["authenticator"]})).await;
    // Under review, nothing is purged however long it waits.
    s.clock.advance(20 * 86_400);
    assert_eq!(s.app.recovery_housekeeping().await.unwrap(), (0, 0));
    let reviewer = s.staff_with_authenticator("rev@example.com", Role::Reviewer).await;
    ok(&s.post(&case_path(&case.id, "/approve"), json!({"note": "ok"}), Some(&reviewer.token)).await, 200);
    // Signing in again moves the clock one step on, to the last second of the retention.
    s.clock.advance(10 * 86_400 - 1 - twostep_testkit::TOTP_STEP_S);
    let rev = s.staff_sign_in(&reviewer).await;
    assert_eq!(s.app.recovery_housekeeping().await.unwrap(), (0, 0));
    assert_eq!(s.get(&case_path(&case.id, "/documents/selfie"), Some(&rev)).await.0, 200);
    s.clock.advance(1);
    // Two instances' jobs at once: the documents go once, neither fails.
    let (a, b) = tokio::join!(s.app.recovery_housekeeping(), s.app.recovery_housekeeping());
    assert_eq!(a.unwrap().1 + b.unwrap().1, 2);
    assert_error(&s.get(&case_path(&case.id, "/documents/front"), Some(&rev)).await, 404, "not_found");
    let evidence = ok(&s.get(&case_path(&case.id, ""), Some(&rev)).await, 200);
    assert_eq!(
        (evidence["documents_purged"].as_bool(), evidence["documents"].as_array().map(Vec::len)),
        (Some(true), Some(0))
    );
    // The decision and its evidence summary stay.
    assert_eq!((evidence["status"].as_str(), evidence["id_type"].as_str()), (Some("approved"), Some("passport")));
    s.stop().await;
}
