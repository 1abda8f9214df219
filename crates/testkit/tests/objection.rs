//! The owner's objection stops everything (issue "the owner's objection"):
//! a cancel code of a superseded case still stops the live one (2), no
//! session of a sign-in racing the freeze survives it (3), a freeze stops
//! the thief's other case and reaches the owner's old channels (4), and the
//! code's answer is truthful after staff unfreeze (5). Through the HTTP API
//! with clients at separate loopback addresses, on SQLite and PostgreSQL.

mod common;

use common::{assert_error, ok};
use serde_json::{Value, json};
use twostep_domain::Role;
use twostep_testkit::db::BOTH;
use twostep_testkit::recovery::{Case, Owner, PW, submitted_case, totp_owner};
use twostep_testkit::{TestServer, client_from};

async fn open_from(s: &TestServer, client: &reqwest::Client, email: &str) -> Case {
    let login = ok(&s.login(email, PW).await, 200);
    let path = format!("/api/v1/login/{}/recovery", login["login_id"].as_str().unwrap());
    let body = ok(&s.call_with(client, "POST", &path, Some(json!({})), None).await, 201);
    Case { id: body["case_id"].as_str().unwrap().into(), token: body["case_token"].as_str().unwrap().into() }
}

fn admin_path(case_id: &str, tail: &str) -> String {
    format!("/api/v1/admin/recovery-cases/{case_id}{tail}")
}

/// Two different reviewers approve (enough for any risk score).
async fn approve(s: &TestServer, case: &Case, reviewers: &[String]) -> (reqwest::StatusCode, Value) {
    let mut last = (reqwest::StatusCode::OK, Value::Null);
    for token in reviewers {
        last = s.post(&admin_path(&case.id, "/approve"), json!({"note": "looks right"}), Some(token)).await;
        if last.0 != 200 || last.1["status"] == "approved" {
            break;
        }
    }
    last
}

async fn reviewers(s: &TestServer) -> Vec<String> {
    vec![
        s.staff_with_authenticator("r1@example.com", Role::Reviewer).await.token,
        s.staff_with_authenticator("r2@example.com", Role::Admin).await.token,
    ]
}

async fn cancel(s: &TestServer, code: &str) -> Value {
    ok(&s.post("/api/v1/recovery/cancel", json!({"cancel_token": code}), None).await, 200)
}

/// An owner whose authenticator and e-mail a thief had reset by an approved
/// case (the hold runs); returns the owner's cancel code from the first notice.
async fn robbed(s: &TestServer, staff: &[String]) -> (Owner, String) {
    let owner = totp_owner(s, "robbed@example.com").await;
    let items = json!({"reset": ["authenticator", "email"], "new_email": "thief@example.com"});
    let case = submitted_case(s, &owner, items).await;
    let code = s.cancel_code_to(&owner.email).await.expect("cancel code");
    assert_eq!(approve(s, &case, staff).await.1["status"], "approved");
    (owner, code)
}

/// Finding 2: the code of a superseded case stops the case that superseded
/// it, is audited, and makes any later case high risk.
#[tokio::test]
async fn a_superseded_cases_code_still_stops_the_live_one() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        let owner = totp_owner(&s, "owner@example.com").await;
        let thief = client_from("127.0.0.2");
        let _a = open_from(&s, &thief, &owner.email).await;
        let code_a = s.cancel_code_to(&owner.email).await.expect("cancel code of case A");
        let b = open_from(&s, &thief, &owner.email).await;
        let answer = cancel(&s, &code_a).await;
        assert_eq!(answer, json!({"status": "cancelled", "cases_stopped": 1, "account_frozen": false}));
        assert_eq!(ok(&s.get(&b.path(""), Some(&b.token)).await, 200)["status"], "cancelled");
        assert_error(&s.post(&b.path("submit"), json!({}), Some(&b.token)).await, 409, "conflict");
        let audit = s.app.store.audit_events(Some(&owner.account_id), 50).await.unwrap();
        assert!(audit.iter().any(|e| e.kind == "recovery_objection"), "{audit:?}");
        // Used again, it says there is nothing left to stop.
        assert_eq!(cancel(&s, &code_a).await["status"], "nothing_to_stop");
        // A later case, all steps right, is high risk and says why.
        let later = submitted_case(&s, &owner, json!({"reset": ["authenticator"]})).await;
        let staff = reviewers(&s).await;
        let evidence = ok(&s.get(&admin_path(&later.id, ""), Some(&staff[0])).await, 200);
        assert_eq!(evidence["high_risk"], true, "{evidence}");
        assert!(evidence.to_string().contains("owner_objected"), "{evidence}");
        s.stop().await;
    }
}

/// Finding 3: sign-ins racing the freeze get no session that outlives it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_session_of_a_sign_in_racing_the_freeze_survives_it() {
    for backend in BOTH {
        let s = std::sync::Arc::new(TestServer::start(backend).await);
        let staff = reviewers(&s).await;
        let (_, code) = robbed(&s, &staff).await;
        // The thief signs in with the password alone (the authenticator was
        // reset) from 8 addresses, 40 times, while the owner objects.
        let mut set = tokio::task::JoinSet::new();
        for i in 0..40 {
            let s = s.clone();
            let client = client_from(&format!("127.0.0.{}", 20 + i % 8));
            let captcha = s.solved_captcha().await;
            set.spawn(async move {
                let body = json!({"email": "thief@example.com", "password": PW, "captcha": captcha});
                s.call_with(&client, "POST", "/api/v1/login", Some(body), None).await
            });
        }
        let freeze = cancel(&s, &code).await;
        assert_eq!((freeze["status"].as_str(), freeze["account_frozen"].as_bool()), (Some("cancelled"), Some(true)));
        let mut tokens = Vec::new();
        while let Some(r) = set.join_next().await {
            let (status, body) = r.unwrap();
            match status.as_u16() {
                200 => tokens.push(body["session_token"].as_str().unwrap().to_owned()),
                403 => assert_eq!(body["error"]["code"], "forbidden", "{body}"),
                other => panic!("unexpected {other}: {body}"),
            }
        }
        for token in &tokens {
            assert_error(&s.get("/api/v1/me", Some(token)).await, 401, "unauthorized");
            let r = s.post("/api/v1/me/sudo", json!({"method": "password", "password": PW}), Some(token)).await;
            assert_error(&r, 401, "unauthorized");
        }
        assert_error(&s.login("thief@example.com", PW).await, 403, "forbidden");
        std::sync::Arc::into_inner(s).unwrap().stop().await;
    }
}

/// Finding 4: the freeze stops the thief's other case (its approval is
/// refused), and the freeze notice reaches the address the thief replaced.
#[tokio::test]
async fn a_freeze_stops_the_other_case_and_reaches_the_old_address() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        let staff = reviewers(&s).await;
        let (owner, code) = robbed(&s, &staff).await;
        // The thief, with the account's new address, binds an authenticator
        // of their own, starts another case (adding a phone) and gets it
        // under review.
        let token = s.session("thief@example.com", PW).await;
        let thief_key = s.enrol_totp(&token).await;
        let thief_owner =
            Owner { email: "thief@example.com".into(), account_id: owner.account_id.clone(), backup_key: thief_key };
        let other = submitted_case(&s, &thief_owner, json!({"reset": ["phone"], "new_phone": "+447911123405"})).await;
        let freeze = cancel(&s, &code).await;
        assert_eq!(freeze, json!({"status": "cancelled", "cases_stopped": 1, "account_frozen": true}));
        assert_error(&approve(&s, &other, &staff).await, 409, "conflict");
        let account = s.app.store.account_by_id(&owner.account_id).await.unwrap().unwrap();
        assert!(account.frozen_at.is_some() && account.phone.is_none(), "{account:?}");
        // The owner's own (replaced) address heard of the freeze.
        let to_owner = s.messages_to(&owner.email).await;
        assert!(to_owner[0]["body"].as_str().unwrap().contains("frozen"), "{to_owner:?}");
        s.stop().await;
    }
}

/// Finding 5: after staff unfreeze, the code answers truthfully and does
/// not claim to have cancelled anything.
#[tokio::test]
async fn after_an_unfreeze_the_code_says_there_is_nothing_to_stop() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        let staff = reviewers(&s).await;
        let (owner, code) = robbed(&s, &staff).await;
        assert_eq!(cancel(&s, &code).await["account_frozen"], true);
        let unfreeze = format!("/api/v1/admin/accounts/{}/unfreeze", owner.account_id);
        ok(&s.post(&unfreeze, json!({"note": "talked to the owner"}), Some(&staff[1])).await, 200);
        let again = cancel(&s, &code).await;
        assert_eq!(again, json!({"status": "nothing_to_stop", "cases_stopped": 0, "account_frozen": false}));
        s.stop().await;
    }
}
