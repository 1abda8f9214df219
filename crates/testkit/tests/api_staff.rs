//! Staff accounts as an attacker and as staff meet them, over HTTP (the API
//! and the console's pages): no staff access without an authenticator;
//! reviewers review while only admins lift freezes, read the audit log and
//! see the staff; a customer's own activity names staff as "twostep staff"
//! without their address or browser; a thief with a reviewer's password
//! cannot recover the account, and a staff account's case is flagged, high
//! risk, and leaves the account without staff power until an admin
//! confirms it. On SQLite and PostgreSQL.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::{assert_error, ok};
use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use twostep_app::ports::{AuditStore, RecoveryStore};
use twostep_domain::Role;
use twostep_testkit::db::BOTH;
use twostep_testkit::recovery::{Case, Owner, PW, StaffMember, submitted_case, totp_owner};
use twostep_testkit::{TOTP_STEP_S, TestServer, oathtool, test_settings};

const QUEUE: &str = "/api/v1/admin/recovery-cases";

fn case_path(id: &str, tail: &str) -> String {
    format!("/api/v1/admin/recovery-cases/{id}{tail}")
}

/// Every route of the admin API, for a case and an account.
fn admin_routes(case_id: &str, account_id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("GET", QUEUE.to_owned()),
        ("GET", case_path(case_id, "")),
        ("GET", case_path(case_id, "/documents/front")),
        ("POST", case_path(case_id, "/approve")),
        ("POST", case_path(case_id, "/reject")),
        ("GET", "/api/v1/admin/audit".to_owned()),
        ("GET", format!("/api/v1/admin/audit?account_id={account_id}")),
        ("POST", format!("/api/v1/admin/accounts/{account_id}/unfreeze")),
        ("GET", "/api/v1/admin/staff".to_owned()),
    ]
}

/// Every page of the console, for a case.
fn console_pages(case_id: &str) -> Vec<String> {
    vec![
        "/staff".to_owned(),
        "/staff/audit".to_owned(),
        format!("/staff/cases/{case_id}"),
        format!("/staff/cases/{case_id}/documents/front"),
    ]
}

fn browser() -> reqwest::Client {
    twostep_testkit::http_client();
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

/// A page as a browser signed in with `token` gets it: (status, HTML).
async fn page(s: &TestServer, path: &str, token: &str) -> (StatusCode, String) {
    let r = browser()
        .get(format!("{}{path}", s.url))
        .header("cookie", format!("twostep_session={token}"))
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

/// A form posted from a page signed in with `token`, with its CSRF token.
async fn post_form(s: &TestServer, path: &str, token: &str, form: &str) -> (StatusCode, String) {
    let csrf = csrf_of(&page(s, "/account", token).await.1);
    let r = browser()
        .post(format!("{}{path}", s.url))
        .header("cookie", format!("twostep_session={token}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&{form}"))
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
    html[at..].split('"').next().unwrap().to_owned()
}

fn message(r: &(StatusCode, Value)) -> String {
    r.1["error"]["message"].as_str().unwrap_or_default().to_owned()
}

/// Signs an owner with an authenticator in with it (one step later).
async fn owner_session(s: &TestServer, owner: &Owner) -> String {
    s.clock.advance(TOTP_STEP_S);
    let login = ok(&s.login(&owner.email, PW).await, 200);
    let path = format!("/api/v1/login/{}/totp", login["login_id"].as_str().unwrap());
    let r = ok(&s.post(&path, json!({"code": oathtool(&owner.backup_key, s.now())}), None).await, 200);
    r["session_token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_without_an_authenticator_see_nothing_until_they_bind_one() {
    for backend in BOTH {
        let l = format!("{backend:?}");
        let s = TestServer::start(backend).await;
        let owner = totp_owner(&s, "owner@example.com").await;
        let case = submitted_case(&s, &owner, json!({"reset": ["authenticator"]})).await;
        for (email, role) in [("rev@example.com", Role::Reviewer), ("adm@example.com", Role::Admin)] {
            // Signed in with the password: the account has no factor yet.
            let (id, token) = s.staff(email, role).await;
            for (method, path) in admin_routes(&case.id, &owner.account_id) {
                let r = s.call(method, &path, Some(json!({"note": "fine", "reason": "no"})), Some(&token)).await;
                assert_error(&r, 403, "forbidden");
                assert!(message(&r).contains("bind an authenticator first"), "{l} {role}: {method} {path}: {}", r.1);
            }
            for path in console_pages(&case.id) {
                let (status, html) = page(&s, &path, &token).await;
                assert_eq!(status, StatusCode::FORBIDDEN, "{l} {role}: {path}");
                assert!(
                    html.contains("Bind an authenticator first") && html.contains(r#"href="/account""#),
                    "{l}: {path}: {html}"
                );
            }
            for (action, form) in [("approve", "note=fine"), ("reject", "reason=no")] {
                let (status, html) = post_form(&s, &format!("/staff/cases/{}/{action}", case.id), &token, form).await;
                assert_eq!(status, StatusCode::FORBIDDEN, "{l}: {action}");
                assert!(html.contains("Bind an authenticator first"), "{l}: {html}");
            }
            assert_eq!(
                ok(&s.get(&case.path(""), Some(&case.token)).await, 200)["status"],
                "pending_review",
                "{l}: nothing decided"
            );

            // Bound: the sign-in asks for the authenticator, and staff get in.
            let backup_key = s.enrol_totp(&token).await;
            let staff = StaffMember { id, email: email.to_owned(), token: String::new(), backup_key };
            let token = s.staff_sign_in(&staff).await;
            let queue = ok(&s.get(QUEUE, Some(&token)).await, 200);
            assert_eq!(queue["cases"][0]["case_id"], json!(case.id), "{l}");
            ok(&s.get(&case_path(&case.id, ""), Some(&token)).await, 200);
            assert_eq!(s.get(&case_path(&case.id, "/documents/front"), Some(&token)).await.0, 200, "{l}");
            let (status, html) = page(&s, "/staff", &token).await;
            assert!(status == StatusCode::OK && html.contains(&case.id[..8]), "{l}: {html}");
            let (status, _) = page(&s, &format!("/staff/cases/{}", case.id), &token).await;
            assert_eq!(status, StatusCode::OK, "{l}");
            if role == Role::Admin {
                ok(&s.get("/api/v1/admin/audit", Some(&token)).await, 200);
                ok(&s.get("/api/v1/admin/staff", Some(&token)).await, 200);
                assert_eq!(page(&s, "/staff/audit", &token).await.0, StatusCode::OK, "{l}");
            }
        }
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewers_review_and_only_admins_unfreeze_read_the_audit_log_and_see_the_staff() {
    for backend in BOTH {
        let l = format!("{backend:?}");
        let s = TestServer::start(backend).await;
        let rev = s.staff_with_authenticator("rev@example.com", Role::Reviewer).await;
        let adm = s.staff_with_authenticator("adm@example.com", Role::Admin).await;
        let owner = totp_owner(&s, "owner@example.com").await;
        let case = submitted_case(&s, &owner, json!({"reset": ["authenticator"]})).await;
        let cancel = s.cancel_code_to(&owner.email).await.unwrap();

        // Reviewers review: the queue, the evidence, the documents, the decision.
        ok(&s.get(QUEUE, Some(&rev.token)).await, 200);
        ok(&s.get(&case_path(&case.id, ""), Some(&rev.token)).await, 200);
        assert_eq!(s.get(&case_path(&case.id, "/documents/selfie"), Some(&rev.token)).await.0, 200, "{l}");
        let decided = ok(
            &s.post(&case_path(&case.id, "/approve"), json!({"note": "passport matches"}), Some(&rev.token)).await,
            200,
        );
        assert_eq!(decided["status"], "approved", "{l}");
        // The owner's cancel code freezes the account.
        let r = ok(&s.post("/api/v1/recovery/cancel", json!({"cancel_token": cancel}), None).await, 200);
        assert_eq!(r["account_frozen"], true, "{l}");

        // A reviewer may not lift the freeze, read the audit log or see the staff.
        let unfreeze = format!("/api/v1/admin/accounts/{}/unfreeze", owner.account_id);
        let reviewer_audit = format!("/api/v1/admin/audit?account_id={}", owner.account_id);
        let refused = [
            s.post(&unfreeze, json!({"note": "spoke to the owner"}), Some(&rev.token)).await,
            s.get("/api/v1/admin/audit", Some(&rev.token)).await,
            s.get(&reviewer_audit, Some(&rev.token)).await,
            s.get("/api/v1/admin/staff", Some(&rev.token)).await,
        ];
        for r in &refused {
            assert_error(r, 403, "forbidden");
            assert!(message(r).contains("Only admins"), "{l}: {}", r.1);
        }
        assert_error(&s.login(&owner.email, PW).await, 403, "forbidden");
        let (status, html) = page(&s, "/staff/audit", &rev.token).await;
        assert!(status == StatusCode::FORBIDDEN && html.contains("Admins only"), "{l}: {html}");
        let (status, html) = page(&s, "/staff", &rev.token).await;
        assert!(status == StatusCode::OK && !html.contains("/staff/audit"), "{l}: no audit link for reviewers: {html}");

        // An admin may.
        let audit = ok(&s.get("/api/v1/admin/audit", Some(&adm.token)).await, 200);
        let events = audit["events"].as_array().unwrap();
        assert!(
            events.iter().any(|e| e["kind"] == "account_frozen" && e["account_id"] == json!(owner.account_id)),
            "{l}"
        );
        // Staff sign-ins are flagged; a customer's are not.
        let sign_in = |account: &str| {
            events.iter().find(|e| e["kind"] == "login_ok" && e["account_id"] == json!(account)).cloned()
        };
        assert_eq!(sign_in(&rev.id).expect("the reviewer's sign-in")["staff_account"], true, "{l}");
        assert_eq!(sign_in(&owner.account_id).expect("the owner's sign-in")["staff_account"], false, "{l}");
        let staff = ok(&s.get("/api/v1/admin/staff", Some(&adm.token)).await, 200);
        let listed: Vec<(&str, &str, bool, bool)> = staff["staff"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let f = |k: &str| m[k].as_bool().unwrap();
                (
                    m["email"].as_str().unwrap(),
                    m["role"].as_str().unwrap(),
                    f("authenticator"),
                    f("awaiting_confirmation"),
                )
            })
            .collect();
        assert_eq!(
            listed,
            [("adm@example.com", "admin", true, false), ("rev@example.com", "reviewer", true, false)],
            "{l}"
        );
        let (status, html) = page(&s, "/staff/audit", &adm.token).await;
        assert!(status == StatusCode::OK && html.contains("account_frozen") && html.contains("staff account"), "{l}");
        assert!(page(&s, "/staff", &adm.token).await.1.contains(r#"href="/staff/audit""#), "{l}");
        ok(&s.post(&unfreeze, json!({"note": "spoke to the owner on the phone"}), Some(&adm.token)).await, 200);
        s.session(&owner.email, PW).await;
        s.stop().await;
    }
}

/// The user agent of the staff desk, and the address it works from.
const DESK_UA: &str = "StaffDesk/7.1 (review workstation)";
const DESK_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

async fn from_desk(desk: &reqwest::Client, s: &TestServer, path: &str, body: Value, token: &str) -> Value {
    let r = desk.post(format!("{}{path}", s.url)).bearer_auth(token).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owners_activity_names_staff_as_twostep_staff_without_their_address_or_browser() {
    for backend in BOTH {
        let l = format!("{backend:?}");
        let s = TestServer::start(backend).await;
        let rev = s.staff_with_authenticator("rita@example.com", Role::Reviewer).await;
        let adm = s.staff_with_authenticator("adam@example.com", Role::Admin).await;
        twostep_testkit::http_client();
        let desk = reqwest::Client::builder().local_address(DESK_IP).user_agent(DESK_UA).build().unwrap();
        let ann = totp_owner(&s, "ann@example.com").await;
        let ann_case = submitted_case(&s, &ann, json!({"reset": ["authenticator"]})).await;
        let bob = totp_owner(&s, "bob@example.com").await;
        let bob_case = submitted_case(&s, &bob, json!({"reset": ["authenticator"]})).await;
        let cancel = s.cancel_code_to(&bob.email).await.unwrap();

        // Decided at the staff desk: Ann's rejected, Bob's approved, then
        // frozen by Bob's cancel code and lifted by an admin.
        from_desk(
            &desk,
            &s,
            &case_path(&ann_case.id, "/reject"),
            json!({"reason": "selfie does not match"}),
            &rev.token,
        )
        .await;
        from_desk(&desk, &s, &case_path(&bob_case.id, "/approve"), json!({"note": "passport matches"}), &rev.token)
            .await;
        ok(&s.post("/api/v1/recovery/cancel", json!({"cancel_token": cancel}), None).await, 200);
        let unfreeze = format!("/api/v1/admin/accounts/{}/unfreeze", bob.account_id);
        from_desk(&desk, &s, &unfreeze, json!({"note": "called Bob back"}), &adm.token).await;

        let traces = [
            DESK_IP.to_string(),
            "StaffDesk".to_owned(),
            rev.id.clone(),
            adm.id.clone(),
            rev.email.clone(),
            adm.email.clone(),
        ];
        let no_traces = |who: &str, text: &str| {
            for t in &traces {
                assert!(!text.contains(t.as_str()), "{l}: {who}'s activity shows {t}: {text}");
            }
        };
        let ann_token = owner_session(&s, &ann).await;
        let activity = ok(&s.get("/api/v1/me/activity", Some(&ann_token)).await, 200);
        let events = activity["events"].as_array().unwrap();
        let rejected = events.iter().find(|e| e["kind"] == "recovery_rejected").expect("the rejection");
        assert_eq!(
            (&rejected["by"], &rejected["ip"], &rejected["user_agent"]),
            (&json!("twostep staff"), &json!(""), &json!("")),
            "{l}"
        );
        // What Ann did herself still shows where from.
        let own = events.iter().find(|e| e["kind"] == "login_ok").expect("Ann's sign-in");
        assert_eq!((&own["by"], &own["ip"]), (&Value::Null, &json!("127.0.0.1")), "{l}");
        no_traces("Ann", &activity.to_string());

        // Bob has no authenticator since the approval: the password signs him in.
        let bob_token = s.session(&bob.email, PW).await;
        let activity = ok(&s.get("/api/v1/me/activity", Some(&bob_token)).await, 200);
        for kind in ["recovery_approved", "account_unfrozen"] {
            let e = activity["events"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["kind"] == kind)
                .unwrap_or_else(|| panic!("{kind}"));
            assert_eq!(
                (&e["by"], &e["ip"], &e["user_agent"]),
                (&json!("twostep staff"), &json!(""), &json!("")),
                "{l}: {kind}"
            );
        }
        no_traces("Bob", &activity.to_string());
        let (status, html) = page(&s, "/account/activity", &bob_token).await;
        assert_eq!(status, StatusCode::OK, "{l}");
        assert!(html.contains("Account recovery approved") && html.contains("by twostep staff"), "{l}: {html}");
        no_traces("Bob's page", &html);

        // The audit log keeps who, from where and with what, for admins.
        let audit =
            ok(&s.get(&format!("/api/v1/admin/audit?account_id={}", bob.account_id), Some(&adm.token)).await, 200);
        let approved =
            audit["events"].as_array().unwrap().iter().find(|e| e["kind"] == "recovery_approved").unwrap().clone();
        assert_eq!(approved["ip"], json!(DESK_IP.to_string()), "{l}: {approved}");
        assert_eq!(approved["user_agent"], json!(DESK_UA), "{l}");
        assert!(approved["detail"].as_str().unwrap().contains(&rev.id), "{l}: {approved}");
        s.stop().await;
    }
}

/// The sign-in attempt of a browser that passed the password step, as the
/// page keeps it, with the page's CSRF token: (cookie header, csrf).
async fn page_login(s: &TestServer, login: &Value) -> (String, String) {
    let r = browser().get(format!("{}/login", s.url)).send().await.unwrap();
    let pre = r.headers().get_all(SET_COOKIE).iter().map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned());
    let pre = pre.into_iter().find(|c| c.starts_with("twostep_pre=")).unwrap();
    let csrf = csrf_of(&r.text().await.unwrap());
    let methods: Vec<&str> = login["methods"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    let attempt = format!("{}.{}", login["login_id"].as_str().unwrap(), methods.join("."));
    (format!("{pre}; twostep_login={attempt}"), csrf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thief_with_a_reviewers_password_cannot_recover_it_into_the_console() {
    for backend in BOTH {
        let l = format!("{backend:?}");
        // No score needs two reviewers here (the threshold is above 100),
        // but a staff account's case always does.
        let mut settings = test_settings();
        settings.recovery.high_risk_score = 101;
        let s = TestServer::start_with(backend, settings).await;
        let rita = s.staff_with_authenticator("rita@example.com", Role::Reviewer).await;
        let adm = s.staff_with_authenticator("adam@example.com", Role::Admin).await;
        let victim = totp_owner(&s, "victim@example.com").await;
        let victim_case = submitted_case(&s, &victim, json!({"reset": ["authenticator"]})).await;
        let told_before = s.messages_to(&rita.email).await.len();

        // The thief has Rita's password only: the second step, never a session.
        let login = ok(&s.login(&rita.email, PW).await, 200);
        assert_eq!(
            (login["status"].as_str(), &login["session_token"]),
            (Some("second_factor_required"), &Value::Null),
            "{l}"
        );
        // "Security check not available" is refused, over the API...
        let path = format!("/api/v1/login/{}/recovery", login["login_id"].as_str().unwrap());
        let refused = s.post(&path, json!({}), None).await;
        assert_error(&refused, 403, "forbidden");
        assert!(message(&refused).contains("ask an admin"), "{l}: {}", refused.1);
        // ...and on the page.
        let login = ok(&s.login(&rita.email, PW).await, 200);
        let (cookie, csrf) = page_login(&s, &login).await;
        let r = browser()
            .post(format!("{}/login/recovery/open", s.url))
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={csrf}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{l}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("Ask an admin") && html.contains("ask an admin to reset your second factor"),
            "{l}: {html}"
        );
        // No case exists, Rita was told (once: notices of a kind are
        // collapsed within their window), and both attempts are audited.
        assert!(s.store.cases_of_account(&rita.id).await.unwrap().is_empty(), "{l}");
        let told = s.messages_to(&rita.email).await;
        assert_eq!(told.len(), told_before + 1, "{l}: {told:?}");
        assert!(told[0]["body"].as_str().unwrap().contains("tried to start account recovery"), "{l}: {told:?}");
        let audit = s.store.audit_events(Some(&rita.id), 100).await.unwrap();
        assert_eq!(audit.iter().filter(|e| e.kind == "recovery_refused_staff").count(), 2, "{l}");
        // Rita still works; the victim's case waits for a real reviewer.
        let queue = ok(&s.get(QUEUE, Some(&rita.token)).await, 200);
        assert_eq!(queue["cases"][0]["case_id"], json!(victim_case.id), "{l}");
        assert_eq!(queue["cases"][0]["staff_account"], false, "{l}");
        let evidence = ok(&s.get(&case_path(&victim_case.id, ""), Some(&rita.token)).await, 200);
        assert_eq!(
            (evidence["high_risk"].as_bool(), evidence["approvals_remaining"].as_i64()),
            (Some(false), Some(1)),
            "{l}"
        );

        // The same attack through a case opened before the account became
        // staff: the thief replaces the authenticator and the e-mail.
        let leo = totp_owner(&s, "leo@example.com").await;
        let items = json!({"reset": ["authenticator", "email"], "new_email": "thief@evil.example"});
        let case = submitted_case(&s, &leo, items).await;
        s.app.add_staff(&leo.email, PW, Role::Reviewer).await.unwrap();
        staff_case_is_flagged(&s, &l, &case, &rita).await;
        // Two reviewers approve it.
        let first = ok(
            &s.post(&case_path(&case.id, "/approve"), json!({"note": "documents match"}), Some(&rita.token)).await,
            200,
        );
        assert_eq!(
            (first["status"].as_str(), first["approvals_remaining"].as_i64()),
            (Some("pending_review"), Some(1)),
            "{l}"
        );
        ok(&s.post(&case_path(&case.id, "/approve"), json!({"note": "agreed"}), Some(&adm.token)).await, 200);

        // Signed in with the password alone, and again with their own
        // authenticator: no queue, no evidence, no documents, no vote.
        let thief = s.session("thief@evil.example", PW).await;
        let r = s.get(QUEUE, Some(&thief)).await;
        assert_error(&r, 403, "forbidden");
        let key = s.enrol_totp(&thief).await;
        let thief = StaffMember {
            id: leo.account_id.clone(),
            email: "thief@evil.example".into(),
            token: String::new(),
            backup_key: key,
        };
        let token = s.staff_sign_in(&thief).await;
        for (method, path) in admin_routes(&victim_case.id, &victim.account_id) {
            let r = s.call(method, &path, Some(json!({"note": "fine", "reason": "no"})), Some(&token)).await;
            assert_error(&r, 403, "forbidden");
            assert!(message(&r).contains("twostep staff confirm"), "{l}: {method} {path}: {}", r.1);
        }
        let (status, html) = page(&s, "/staff", &token).await;
        assert!(status == StatusCode::FORBIDDEN && html.contains("Waiting for an admin"), "{l}: {html}");
        let evidence = ok(&s.get(&case_path(&victim_case.id, ""), Some(&rita.token)).await, 200);
        assert_eq!(
            (evidence["status"].as_str(), &evidence["first_approved_by"]),
            (Some("pending_review"), &Value::Null),
            "{l}"
        );
        let staff = ok(&s.get("/api/v1/admin/staff", Some(&adm.token)).await, 200);
        let held = staff["staff"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["account_id"] == json!(leo.account_id))
            .unwrap()
            .clone();
        assert_eq!(
            (&held["authenticator"], &held["awaiting_confirmation"]),
            (&json!(true), &json!(true)),
            "{l}: {held}"
        );

        // Only an admin's confirmation gives the role its power back.
        s.app.confirm_staff("thief@evil.example", &adm.email).await.unwrap();
        ok(&s.get(QUEUE, Some(&token)).await, 200);
        s.stop().await;
    }
}

/// A staff account's case: "staff account" first among its signals (its
/// points in the score), in the queue and the console, and two approvals
/// needed whatever its score. It was submitted before the account became
/// staff: the flag is the account's role now.
async fn staff_case_is_flagged(s: &TestServer, l: &str, case: &Case, reviewer: &StaffMember) {
    let submitted = s.store.case_by_id(&case.id).await.unwrap().unwrap();
    let stored: &str = submitted.risk_signals.as_deref().unwrap();
    assert!(!stored.contains("staff_account"), "{l}: {stored}");
    let score = (submitted.risk_score.unwrap() + 50).min(100);
    let queue = ok(&s.get(QUEUE, Some(&reviewer.token)).await, 200);
    let entry = queue["cases"].as_array().unwrap().iter().find(|c| c["case_id"] == json!(case.id)).unwrap().clone();
    assert_eq!((&entry["staff_account"], entry["risk_score"].as_i64()), (&json!(true), Some(score)), "{l}: {entry}");
    let evidence = ok(&s.get(&case_path(&case.id, ""), Some(&reviewer.token)).await, 200);
    assert_eq!((&evidence["staff_account"], evidence["risk_score"].as_i64()), (&json!(true), Some(score)), "{l}");
    assert_eq!(evidence["signals"][0]["name"], "staff_account", "{l}: {evidence}");
    assert!(evidence["signals"][0]["detail"].as_str().unwrap().starts_with("staff account"), "{l}");
    assert_eq!(
        (evidence["high_risk"].as_bool(), evidence["approvals_remaining"].as_i64()),
        (Some(true), Some(2)),
        "{l}"
    );
    let (_, html) = page(s, "/staff", &reviewer.token).await;
    assert!(html.contains("staff account"), "{l}: {html}");
    let (_, html) = page(s, &format!("/staff/cases/{}", case.id), &reviewer.token).await;
    assert!(html.contains(r#"id="staff-account""#) && html.contains("Staff account."), "{l}: {html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_admins_agreeing_at_once_apply_a_staff_reset_once() {
    use twostep_app::staff::StaffResetOutcome;
    use twostep_domain::staff::StaffResetItem;
    for backend in BOTH {
        let l = format!("{backend:?}");
        let s = TestServer::start(backend).await;
        let sam = s.staff_with_authenticator("sam@example.com", Role::Reviewer).await;
        for admin in ["a1@example.com", "a2@example.com", "a3@example.com"] {
            s.staff_with_authenticator(admin, Role::Admin).await;
        }
        let items = [StaffResetItem::Authenticator];
        let asked = s.app.reset_staff(&sam.email, &items, "a1@example.com").await.unwrap();
        assert_eq!(asked, StaffResetOutcome::Requested { items: items.to_vec() }, "{l}");
        let (a, b) = tokio::join!(
            s.app.reset_staff(&sam.email, &items, "a2@example.com"),
            s.app.reset_staff(&sam.email, &items, "a3@example.com")
        );
        let applied = [&a, &b].iter().filter(|r| matches!(r, Ok(StaffResetOutcome::Applied { .. }))).count();
        assert_eq!(applied, 1, "{l}: {a:?} {b:?}");
        // The loser applied nothing: it lost the request (or, having read
        // it gone, asked anew), and the reset is audited once.
        let audit = s.store.audit_events(Some(&sam.id), 100).await.unwrap();
        assert_eq!(audit.iter().filter(|e| e.kind == "staff_reset").count(), 1, "{l}");
        assert_eq!(s.get(QUEUE, Some(&sam.token)).await.0, StatusCode::UNAUTHORIZED, "{l}: signed out");
        s.stop().await;
    }
}
