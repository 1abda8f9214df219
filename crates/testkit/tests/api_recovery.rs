//! Lost-2FA recovery through the API, as the owner (and a thief) would use
//! it: the whole seed story, the cancel code before and after approval, an
//! attacker who knows only the password, steps out of order, expiry, one
//! active case per account, and the security questions.

mod common;

use std::time::Instant;

use common::{assert_error, ok};
use serde_json::{Value, json};
use twostep_domain::Role;
use twostep_testkit::recovery::{Case, PW, open_case, passport_form, right_answers, submitted_case, totp_owner};
use twostep_testkit::{Backend, TestServer, oathtool};
use twostep_web::time::rfc3339;

const NEW_PHONE: &str = "+447911123456";
const H48: i64 = 48 * 3600;

fn kinds(events: &Value) -> Vec<String> {
    events["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn the_seed_story_lost_authenticator_and_phone_back_in_with_a_new_phone() {
    let started = Instant::now();
    let s = TestServer::start(Backend::Sqlite).await;
    let email = "alice@example.com";
    let owner = totp_owner(&s, email).await;
    // A session on an old laptop, still signed in when the phone is lost.
    s.clock.advance(30);
    let login = ok(&s.login(email, PW).await, 200);
    let code = oathtool(&owner.backup_key, s.now());
    let laptop = ok(
        &s.post(&format!("/api/v1/login/{}/totp", login["login_id"].as_str().unwrap()), json!({"code": code}), None)
            .await,
        200,
    );
    let laptop = laptop["session_token"].as_str().unwrap().to_owned();
    s.clock.advance(3600);

    // The phone with the authenticator is lost. The password still works;
    // the second step does not, so: "Security check not available".
    let login = ok(&s.login(email, PW).await, 200);
    assert_eq!(login["status"], "second_factor_required");
    let opened = ok(
        &s.post(&format!("/api/v1/login/{}/recovery", login["login_id"].as_str().unwrap()), json!({}), None).await,
        201,
    );
    assert_eq!(opened["withdrawals_disabled_hours"], 48);
    assert_eq!(opened["items"], json!(["authenticator", "phone", "email"]));
    let case =
        Case { id: opened["case_id"].as_str().unwrap().into(), token: opened["case_token"].as_str().unwrap().into() };
    // The sign-in attempt is used up by the case.
    assert_error(
        &s.post(&format!("/api/v1/login/{}/recovery", login["login_id"].as_str().unwrap()), json!({}), None).await,
        409,
        "conflict",
    );
    // The owner's current e-mail hears about it at once, with a cancel code.
    assert!(s.cancel_code_to(email).await.is_some());

    let view = ok(&s.get(&case.path(""), Some(&case.token)).await, 200);
    assert_eq!(view["status"], "open");
    assert_eq!(view["required_steps"], json!(["codes", "questions", "identity"]));
    assert_eq!(view["steps"], json!({"codes": false, "questions": false, "identity": false}));
    assert_eq!(view["expires_at"], json!(rfc3339(s.now() + 7 * 86_400)));

    // "Confirm restore": a new authenticator and a new phone.
    let items = json!({"reset": ["authenticator", "phone"], "new_phone": "+44 7911 123456"});
    let view = ok(&s.post(&case.path("items"), items, Some(&case.token)).await, 200);
    assert_eq!(view["reset_items"], json!(["authenticator", "phone"]));

    // Codes to the phone and the e-mail the account will have: the NEW phone
    // and the current e-mail, 10 minutes.
    let sent = ok(&s.post(&case.path("codes"), json!({}), Some(&case.token)).await, 202);
    assert_eq!(
        sent["sent"],
        json!([{"channel": "email", "sent_to": "a•••@example.com"}, {"channel": "sms", "sent_to": "+44••••••456"}])
    );
    assert_eq!(sent["expires_at"], json!(rfc3339(s.now() + 600)));
    let body = json!({"phone_code": s.code_to(NEW_PHONE).await, "email_code": s.code_to(email).await});
    let view = ok(&s.post(&case.path("codes/verify"), body, Some(&case.token)).await, 200);
    assert_eq!(view["steps"]["codes"], true);

    // Questions: the account's own and account facts; the answers are
    // recorded without saying which were right.
    let questions = ok(&s.get(&case.path("questions"), Some(&case.token)).await, 200);
    let ids: Vec<&str> =
        questions["questions"].as_array().unwrap().iter().map(|q| q["question_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["birth_city", "first_pet", "fact:account_opened", "fact:authenticator_added"]);
    let answers = right_answers(&s, &case).await;
    assert_eq!(
        ok(&s.post(&case.path("answers"), json!({"answers": answers}), Some(&case.token)).await, 200),
        json!({"recorded": true})
    );

    // Identity: a real JPEG passport page and a PNG selfie, both with GPS metadata.
    let stored = ok(&s.upload(&case.path("identity"), &case.token, &passport_form()).await, 201);
    let docs = stored["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(
        (docs[0]["slot"].as_str(), docs[0]["content_type"].as_str(), docs[0]["width"].as_i64()),
        (Some("front"), Some("image/jpeg"), Some(640))
    );
    assert_eq!(
        (docs[1]["slot"].as_str(), docs[1]["content_type"].as_str(), docs[1]["height"].as_i64()),
        (Some("selfie"), Some("image/png"), Some(400))
    );

    assert_eq!(
        ok(&s.post(&case.path("submit"), json!({}), Some(&case.token)).await, 200),
        json!({"status": "pending_review"})
    );
    let notice = s.messages_to(email).await;
    assert!(notice[0]["body"].as_str().unwrap().contains("submitted for review"), "{notice:?}");
    assert!(notice[0]["body"].as_str().unwrap().contains("cancel code: "));

    // Staff: a reviewer created with add_staff binds an authenticator and
    // signs in with it through the same login.
    let rev = s.staff_with_authenticator("reviewer@example.com", Role::Reviewer).await.token;
    let queue = ok(&s.get("/api/v1/admin/recovery-cases?status=pending_review", Some(&rev)).await, 200);
    let entry = queue["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["case_id"] == json!(case.id))
        .expect("in the queue")
        .clone();
    assert_eq!(entry["account_id"], json!(owner.account_id));
    assert_eq!(entry["reset_items"], json!(["authenticator", "phone"]));
    let evidence = ok(&s.get(&format!("/api/v1/admin/recovery-cases/{}", case.id), Some(&rev)).await, 200);
    assert_eq!(
        evidence["codes"],
        json!({"phone_needed": true, "phone_proven": true, "email_proven": true,
        "phone_sent_to": NEW_PHONE, "email_sent_to": email})
    );
    assert_eq!((evidence["answers"]["asked"].as_i64(), evidence["answers"]["right"].as_i64()), (Some(4), Some(4)));
    assert_eq!(evidence["risk_score"], entry["risk_score"]);
    assert_eq!(evidence["high_risk"], false, "{evidence}");
    let signals: Vec<&str> =
        evidence["signals"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(signals, ["questions_changed_recently", "account_new", "resets_phone", "resets_authenticator"]);
    // The images come back whole, without their metadata.
    let front = s
        .client()
        .get(format!("{}/api/v1/admin/recovery-cases/{}/documents/front", s.url, case.id))
        .bearer_auth(&rev)
        .send()
        .await
        .unwrap();
    assert_eq!(front.status(), 200);
    assert_eq!(front.headers()["content-type"], "image/jpeg");
    let front = front.bytes().await.unwrap();
    assert!(front.starts_with(&[0xFF, 0xD8]) && front.ends_with(&[0xFF, 0xD9]));
    assert!(!front.windows(4).any(|w| w == b"Exif" || w == b"GPSL"));
    let selfie = s
        .client()
        .get(format!("{}/api/v1/admin/recovery-cases/{}/documents/selfie", s.url, case.id))
        .bearer_auth(&rev)
        .send()
        .await
        .unwrap();
    assert_eq!(selfie.headers()["content-type"], "image/png");
    let selfie = selfie.bytes().await.unwrap();
    assert!(!selfie.windows(4).any(|w| w == b"tEXt" || w == b"eXIf" || w == b"GPSL"));

    s.clock.advance(1800);
    let approved_at = s.now();
    let decision = ok(
        &s.post(
            &format!("/api/v1/admin/recovery-cases/{}/approve", case.id),
            json!({"note": "passport matches, codes and answers right"}),
            Some(&rev),
        )
        .await,
        200,
    );
    assert_eq!(decision["status"], "approved");
    assert_eq!(ok(&s.get(&case.path(""), Some(&case.token)).await, 200)["status"], "approved");
    // Every session was revoked; the old and the new channels were told.
    assert_error(&s.get("/api/v1/me", Some(&laptop)).await, 401, "unauthorized");
    assert!(s.messages_to(email).await[0]["body"].as_str().unwrap().contains("was approved"));
    assert!(s.messages_to(NEW_PHONE).await[0]["body"].as_str().unwrap().contains("was approved"));

    // Back in: no authenticator any more; the new phone gets the code.
    let login = ok(&s.login(email, PW).await, 200);
    assert_eq!(login["methods"], json!(["sms", "voice"]));
    let login_id = login["login_id"].as_str().unwrap();
    ok(&s.post(&format!("/api/v1/login/{login_id}/code"), json!({"channel": "sms"}), None).await, 202);
    let code = s.code_to(NEW_PHONE).await;
    let session = ok(
        &s.post(&format!("/api/v1/login/{login_id}/code/verify"), json!({"channel": "sms", "code": code}), None).await,
        200,
    );
    let token = session["session_token"].as_str().unwrap().to_owned();
    s.sudo_sms(&token, NEW_PHONE).await;
    let key = s.enrol_totp_in_sudo(&token).await;
    assert_ne!(key, owner.backup_key);
    let me = ok(&s.get("/api/v1/me", Some(&token)).await, 200);
    assert_eq!(me["factors"], json!({"totp": true, "phone": true, "email": true}));
    let until = rfc3339(approved_at + H48);
    assert_eq!(me["withdrawals_blocked_until"], json!(until));

    // Withdrawals stay blocked for 48 hours from the approval.
    s.clock.advance(60);
    let w = json!({"asset": "BTC", "amount": "0.5", "address": "bc1qexampleaddress", "code": oathtool(&key, s.now())});
    let refused = s.post("/api/v1/withdrawals", w, Some(&token)).await;
    assert_error(&refused, 403, "security_hold");
    assert_eq!(refused.1["error"]["until"], json!(until));
    let elapsed = started.elapsed();

    // And not a second longer (the session has expired by then: sign in again).
    s.clock.set(approved_at + H48);
    let login = ok(&s.login(email, PW).await, 200);
    let code = oathtool(&key, s.now());
    let session = ok(
        &s.post(&format!("/api/v1/login/{}/totp", login["login_id"].as_str().unwrap()), json!({"code": code}), None)
            .await,
        200,
    );
    let token = session["session_token"].as_str().unwrap().to_owned();
    s.clock.advance(30);
    let w = json!({"asset": "BTC", "amount": "0.5", "address": "bc1qexampleaddress", "code": oathtool(&key, s.now())});
    ok(&s.post("/api/v1/withdrawals", w, Some(&token)).await, 201);
    // The audit log is for admins.
    let admin = s.staff_with_authenticator("admin@example.com", Role::Admin).await.token;
    let audit = ok(&s.get(&format!("/api/v1/admin/audit?account_id={}", owner.account_id), Some(&admin)).await, 200);
    let k = kinds(&audit);
    for kind in [
        "recovery_opened",
        "recovery_codes_proven",
        "recovery_submitted",
        "recovery_approved",
        "withdrawal_refused_hold",
    ] {
        assert!(k.contains(&kind.to_owned()), "{kind} missing from {k:?}");
    }
    println!("seed story wall time through the API (sign-up to refused withdrawal): {elapsed:?}");
    s.stop().await;
}

#[tokio::test]
async fn the_cancel_code_stops_a_case_before_approval() {
    let s = TestServer::start(Backend::Sqlite).await;
    let owner = totp_owner(&s, "bob@example.com").await;
    // The code from the "recovery started" notice stops an open case.
    let case = open_case(&s, &owner.email).await;
    let cancel = s.cancel_code_to(&owner.email).await.unwrap();
    // The notice links to a page that asks first: following the link (as a
    // mail scanner would) cancels nothing.
    let notice = s.messages_to(&owner.email).await.iter().find_map(|m| m["body"].as_str().map(str::to_owned)).unwrap();
    let link = format!("/recovery/cancel?code={cancel}");
    assert!(notice.contains(&link), "{notice}");
    assert_eq!(s.client().get(format!("{}{link}", s.url)).send().await.unwrap().status(), 200);
    assert_eq!(ok(&s.get(&case.path(""), Some(&case.token)).await, 200)["status"], "open");
    let r = ok(&s.post("/api/v1/recovery/cancel", json!({"cancel_token": cancel}), None).await, 200);
    assert_eq!(r, json!({"status": "cancelled", "cases_stopped": 1, "account_frozen": false}));
    assert_eq!(ok(&s.get(&case.path(""), Some(&case.token)).await, 200)["status"], "cancelled");
    assert_error(
        &s.post(&case.path("items"), json!({"reset": ["authenticator"]}), Some(&case.token)).await,
        409,
        "conflict",
    );
    // Using it again says there is nothing left to stop; an unknown code is not found.
    let again = ok(&s.post("/api/v1/recovery/cancel", json!({"cancel_token": cancel}), None).await, 200);
    assert_eq!(again["status"], "nothing_to_stop");
    assert_error(&s.post("/api/v1/recovery/cancel", json!({"cancel_token": "nope"}), None).await, 404, "not_found");

    // The code from the "submitted" notice stops a case under review, and a
    // cancelled case cannot be approved.
    s.clock.advance(120);
    let case = submitted_case(&s, &owner, json!({"reset": ["authenticator"]})).await;
    let cancel = s.cancel_code_to(&owner.email).await.unwrap();
    ok(&s.post("/api/v1/recovery/cancel", json!({"cancel_token": cancel}), None).await, 200);
    let rev = s.staff_with_authenticator("rev@example.com", Role::Reviewer).await.token;
    assert_error(
        &s.post(&format!("/api/v1/admin/recovery-cases/{}/approve", case.id), json!({"note": "ok"}), Some(&rev)).await,
        409,
        "conflict",
    );
    // Nothing changed: the authenticator still signs in.
    s.clock.advance(60);
    let login = ok(&s.login(&owner.email, PW).await, 200);
    let code = oathtool(&owner.backup_key, s.now());
    ok(
        &s.post(&format!("/api/v1/login/{}/totp", login["login_id"].as_str().unwrap()), json!({"code": code}), None)
            .await,
        200,
    );
    s.stop().await;
}

#[tokio::test]
async fn the_cancel_code_after_approval_freezes_the_account_until_staff_look() {
    let s = TestServer::start(Backend::Sqlite).await;
    let owner = totp_owner(&s, "carol@example.com").await;
    let case = submitted_case(&s, &owner, json!({"reset": ["authenticator"]})).await;
    let cancel = s.cancel_code_to(&owner.email).await.unwrap();
    let reviewer = s.staff_with_authenticator("rev@example.com", Role::Reviewer).await;
    ok(
        &s.post(
            &format!("/api/v1/admin/recovery-cases/{}/approve", case.id),
            json!({"note": "looks right"}),
            Some(&reviewer.token),
        )
        .await,
        200,
    );
    // Whoever got in after the approval is signed in...
    s.clock.advance(H48 - 3600);
    let thief = s.session(&owner.email, PW).await;
    ok(&s.get("/api/v1/me", Some(&thief)).await, 200);
    // ...until the real owner uses the cancel code, in the hold's last second.
    s.clock.advance(3600 - 1);
    let r = ok(&s.post("/api/v1/recovery/cancel", json!({"cancel_token": cancel}), None).await, 200);
    assert_eq!(r, json!({"status": "cancelled", "cases_stopped": 0, "account_frozen": true}));
    assert_error(&s.get("/api/v1/me", Some(&thief)).await, 401, "unauthorized");
    assert_error(&s.login(&owner.email, PW).await, 403, "forbidden");
    let rev = s.staff_sign_in(&reviewer).await;
    let evidence = ok(&s.get(&format!("/api/v1/admin/recovery-cases/{}", case.id), Some(&rev)).await, 200);
    assert_eq!((evidence["status"].as_str(), evidence["account_frozen"].as_bool()), (Some("cancelled"), Some(true)));
    let admin = s.staff_with_authenticator("admin@example.com", Role::Admin).await.token;
    let audit = ok(&s.get(&format!("/api/v1/admin/audit?account_id={}", owner.account_id), Some(&admin)).await, 200);
    assert_eq!(kinds(&audit)[0], "account_frozen");
    // Staff look, and an admin lifts the freeze (a reviewer may not).
    let path = format!("/api/v1/admin/accounts/{}/unfreeze", owner.account_id);
    assert_error(&s.post(&path, json!({"note": "spoke to the owner"}), Some(&thief)).await, 401, "unauthorized");
    assert_error(&s.post(&path, json!({"note": "spoke to the owner"}), Some(&rev)).await, 403, "forbidden");
    ok(&s.post(&path, json!({"note": "spoke to the owner on the phone"}), Some(&admin)).await, 200);
    assert_error(&s.post(&path, json!({"note": "again"}), Some(&admin)).await, 409, "conflict");
    s.session(&owner.email, PW).await;
    s.stop().await;
}

#[tokio::test]
async fn the_cancel_code_is_dead_once_the_hold_is_over() {
    let s = TestServer::start(Backend::Postgres).await;
    let owner = totp_owner(&s, "dave@example.com").await;
    let case = submitted_case(&s, &owner, json!({"reset": ["authenticator"]})).await;
    let cancel = s.cancel_code_to(&owner.email).await.unwrap();
    let rev = s.staff_with_authenticator("rev@example.com", Role::Reviewer).await.token;
    ok(
        &s.post(&format!("/api/v1/admin/recovery-cases/{}/approve", case.id), json!({"note": "fine"}), Some(&rev))
            .await,
        200,
    );
    s.clock.advance(H48);
    let late = ok(&s.post("/api/v1/recovery/cancel", json!({"cancel_token": cancel}), None).await, 200);
    assert_eq!(late, json!({"status": "nothing_to_stop", "cases_stopped": 0, "account_frozen": false}));
    s.session(&owner.email, PW).await;
    s.stop().await;
}

#[tokio::test]
async fn an_attacker_with_only_the_password_cannot_pass_the_codes_and_the_owner_can_stop_them() {
    let s = TestServer::start(Backend::Sqlite).await;
    let owner = totp_owner(&s, "erin@example.com").await;
    let before = s.messages_to(&owner.email).await.len();
    // The thief replaces the authenticator and the phone with their own...
    let case = open_case(&s, &owner.email).await;
    let thief_phone = "+447911123789";
    ok(
        &s.post(
            &case.path("items"),
            json!({"reset": ["authenticator", "phone"], "new_phone": thief_phone}),
            Some(&case.token),
        )
        .await,
        200,
    );
    let sent = ok(&s.post(&case.path("codes"), json!({}), Some(&case.token)).await, 202);
    assert_eq!(sent["sent"][0], json!({"channel": "email", "sent_to": "e•••@example.com"}));
    // ...but the e-mail is not being reset, so its code goes to the OWNER.
    let phone_code = s.code_to(thief_phone).await;
    let owner_code = s.code_to(&owner.email).await;
    for guess in ["000000", "123456", "111111", "999999", "424242"] {
        if guess == owner_code {
            continue;
        }
        assert_error(
            &s.post(
                &case.path("codes/verify"),
                json!({"phone_code": phone_code, "email_code": guess}),
                Some(&case.token),
            )
            .await,
            401,
            "invalid_code",
        );
    }
    // The phone code proven, the e-mail code not: the next steps stay shut.
    let view = ok(&s.get(&case.path(""), Some(&case.token)).await, 200);
    assert_eq!(view["steps"]["codes"], false);
    assert_error(&s.get(&case.path("questions"), Some(&case.token)).await, 409, "conflict");
    assert_error(&s.upload(&case.path("identity"), &case.token, &passport_form()).await, 409, "conflict");
    assert_error(&s.post(&case.path("submit"), json!({}), Some(&case.token)).await, 409, "conflict");
    // The owner saw it: a notice with a cancel code, and a code they never asked for.
    let inbox = s.messages_to(&owner.email).await;
    assert!(inbox.len() >= before + 2);
    assert!(inbox.iter().any(|m| m["body"].as_str().unwrap().contains("started recovering your account")));
    let cancel = s.cancel_code_to(&owner.email).await.unwrap();
    ok(&s.post("/api/v1/recovery/cancel", json!({"cancel_token": cancel}), None).await, 200);
    assert_error(&s.post(&case.path("codes"), json!({}), Some(&case.token)).await, 409, "conflict");
    let audit: Vec<String> =
        s.app.store.audit_events(Some(&owner.account_id), 100).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert!(
        audit.contains(&"recovery_code_failed".to_owned()) && audit.contains(&"recovery_cancelled".to_owned()),
        "{audit:?}"
    );

    // Replacing the e-mail too sends both codes to the thief, but the case
    // then needs documents, scores high (two reviewers), and the submission
    // is announced on the owner's CURRENT e-mail, whose cancel code stops it.
    s.clock.advance(120);
    let case = open_case(&s, &owner.email).await;
    let items = json!({"reset": ["authenticator", "email"], "new_email": "thief@evil.example"});
    let view = ok(&s.post(&case.path("items"), items, Some(&case.token)).await, 200);
    assert_eq!(view["required_steps"], json!(["codes", "questions", "identity"]));
    ok(&s.post(&case.path("codes"), json!({}), Some(&case.token)).await, 202);
    ok(
        &s.post(
            &case.path("codes/verify"),
            json!({"email_code": s.code_to("thief@evil.example").await}),
            Some(&case.token),
        )
        .await,
        200,
    );
    let wrong = json!({"answers": [{"question_id": "first_pet", "answer": "Fluffy"}, {"question_id": "fact:account_opened", "answer": "2019-01"}]});
    ok(&s.post(&case.path("answers"), wrong, Some(&case.token)).await, 200);
    ok(&s.upload(&case.path("identity"), &case.token, &passport_form()).await, 201);
    ok(&s.post(&case.path("submit"), json!({}), Some(&case.token)).await, 200);
    let notice = s.messages_to(&owner.email).await;
    assert!(notice[0]["body"].as_str().unwrap().contains("submitted for review"));
    let rev = s.staff_with_authenticator("rev@example.com", Role::Reviewer).await.token;
    let evidence = ok(&s.get(&format!("/api/v1/admin/recovery-cases/{}", case.id), Some(&rev)).await, 200);
    assert_eq!(
        (evidence["high_risk"].as_bool(), evidence["approvals_remaining"].as_i64()),
        (Some(true), Some(2)),
        "{evidence}"
    );
    assert_eq!(evidence["answers"]["right"], 0);
    let cancel = s.cancel_code_to(&owner.email).await.unwrap();
    ok(&s.post("/api/v1/recovery/cancel", json!({"cancel_token": cancel}), None).await, 200);
    assert_eq!(ok(&s.get(&case.path(""), Some(&case.token)).await, 200)["status"], "cancelled");
    s.stop().await;
}

#[tokio::test]
async fn steps_out_of_order_are_conflicts() {
    let s = TestServer::start(Backend::Sqlite).await;
    let owner = totp_owner(&s, "frank@example.com").await;
    let case = open_case(&s, &owner.email).await;
    let t = Some(case.token.as_str());
    let answers = json!({"answers": []});
    // Nothing before "confirm restore".
    assert_error(&s.post(&case.path("codes"), json!({}), t).await, 409, "conflict");
    assert_error(&s.post(&case.path("codes/verify"), json!({"email_code": "123456"}), t).await, 409, "conflict");
    assert_error(&s.get(&case.path("questions"), t).await, 409, "conflict");
    assert_error(&s.post(&case.path("answers"), answers.clone(), t).await, 409, "conflict");
    assert_error(&s.upload(&case.path("identity"), &case.token, &passport_form()).await, 409, "conflict");
    assert_error(&s.post(&case.path("submit"), json!({}), t).await, 409, "conflict");
    // Items need their new address, and only known items.
    assert_error(&s.post(&case.path("items"), json!({"reset": ["phone"]}), t).await, 400, "invalid_request");
    assert_error(
        &s.post(&case.path("items"), json!({"reset": ["phone"], "new_phone": "+999"}), t).await,
        400,
        "invalid_request",
    );
    assert_error(&s.post(&case.path("items"), json!({"reset": ["password"]}), t).await, 400, "invalid_request");
    assert_error(&s.post(&case.path("items"), json!({"reset": []}), t).await, 400, "invalid_request");
    ok(&s.post(&case.path("items"), json!({"reset": ["authenticator"]}), t).await, 200);
    // Codes must be asked for before they are checked, and come before the rest.
    assert_error(&s.post(&case.path("codes/verify"), json!({"email_code": "123456"}), t).await, 409, "conflict");
    assert_error(&s.post(&case.path("answers"), answers.clone(), t).await, 409, "conflict");
    assert_error(&s.upload(&case.path("identity"), &case.token, &passport_form()).await, 409, "conflict");
    ok(&s.post(&case.path("codes"), json!({}), t).await, 202);
    assert_error(&s.post(&case.path("codes/verify"), json!({}), t).await, 400, "invalid_request");
    ok(&s.post(&case.path("codes/verify"), json!({"email_code": s.code_to(&owner.email).await}), t).await, 200);
    assert_error(&s.post(&case.path("codes"), json!({}), t).await, 409, "conflict");
    assert_error(
        &s.post(&case.path("items"), json!({"reset": ["authenticator", "email"], "new_email": "x@example.com"}), t)
            .await,
        409,
        "conflict",
    );
    // Questions before identity; each step once.
    assert_error(&s.upload(&case.path("identity"), &case.token, &passport_form()).await, 409, "conflict");
    assert_error(&s.post(&case.path("submit"), json!({}), t).await, 409, "conflict");
    let bad = json!({"answers": [{"question_id": "shoe_size", "answer": "9"}]});
    assert_error(&s.post(&case.path("answers"), bad, t).await, 400, "invalid_request");
    ok(&s.post(&case.path("answers"), json!({"answers": right_answers(&s, &case).await}), t).await, 200);
    assert_error(&s.post(&case.path("answers"), answers, t).await, 409, "conflict");
    ok(&s.upload(&case.path("identity"), &case.token, &passport_form()).await, 201);
    assert_error(&s.upload(&case.path("identity"), &case.token, &passport_form()).await, 409, "conflict");
    ok(&s.post(&case.path("submit"), json!({}), t).await, 200);
    assert_error(&s.post(&case.path("submit"), json!({}), t).await, 409, "conflict");
    assert_error(&s.post(&case.path("items"), json!({"reset": ["authenticator"]}), t).await, 409, "conflict");
    // Another case's token opens nothing here; no token is unauthorized.
    let other = open_case(&s, &totp_owner(&s, "grace@example.com").await.email).await;
    assert_error(&s.get(&case.path(""), Some(&other.token)).await, 404, "not_found");
    assert_error(&s.get(&case.path(""), None).await, 401, "unauthorized");
    assert_error(&s.get(&case.path(""), Some("forged")).await, 401, "unauthorized");
    s.stop().await;
}

#[tokio::test]
async fn idle_cases_expire_after_seven_days_and_progress_renews_them() {
    let s = TestServer::start(Backend::Sqlite).await;
    let owner = totp_owner(&s, "heidi@example.com").await;
    let case = open_case(&s, &owner.email).await;
    let cancel = s.cancel_code_to(&owner.email).await.unwrap();
    let t = Some(case.token.as_str());
    s.clock.advance(6 * 86_400);
    ok(&s.post(&case.path("items"), json!({"reset": ["authenticator"]}), t).await, 200);
    // Six more days: idle for six, not yet expired.
    s.clock.advance(6 * 86_400);
    assert_eq!(ok(&s.get(&case.path(""), t).await, 200)["status"], "open");
    s.clock.advance(86_400);
    let view = ok(&s.get(&case.path(""), t).await, 200);
    assert_eq!((view["status"].as_str(), view["expires_at"].as_str()), (Some("expired"), None));
    assert_error(&s.post(&case.path("codes"), json!({}), t).await, 409, "conflict");
    let late = ok(&s.post("/api/v1/recovery/cancel", json!({"cancel_token": cancel}), None).await, 200);
    assert_eq!(late["status"], "nothing_to_stop");
    // The job records it; a new case can be opened.
    assert_eq!(s.app.recovery_housekeeping().await.unwrap().0, 1);
    assert_eq!(ok(&s.get(&case.path(""), t).await, 200)["status"], "expired");
    open_case(&s, &owner.email).await;
    s.stop().await;
}

#[tokio::test]
async fn one_active_case_per_account() {
    let s = TestServer::start(Backend::Sqlite).await;
    let owner = totp_owner(&s, "ivan@example.com").await;
    let first = open_case(&s, &owner.email).await;
    // Starting again (the tab was closed) supersedes the open case.
    let second = open_case(&s, &owner.email).await;
    assert_eq!(ok(&s.get(&first.path(""), Some(&first.token)).await, 200)["status"], "cancelled");
    assert_eq!(ok(&s.get(&second.path(""), Some(&second.token)).await, 200)["status"], "open");
    s.clock.advance(120);
    let pending = submitted_case(&s, &owner, json!({"reset": ["authenticator"]})).await;
    // A case under review is not pushed aside.
    let login = ok(&s.login(&owner.email, PW).await, 200);
    let r = s.post(&format!("/api/v1/login/{}/recovery", login["login_id"].as_str().unwrap()), json!({}), None).await;
    assert_error(&r, 409, "conflict");
    assert_eq!(ok(&s.get(&pending.path(""), Some(&pending.token)).await, 200)["status"], "pending_review");
    // Only a sign-in that passed the password step opens a case.
    assert_error(&s.post("/api/v1/login/unknown/recovery", json!({}), None).await, 404, "not_found");
    s.stop().await;
}

#[tokio::test]
async fn security_questions_are_set_from_the_catalogue_and_never_returned() {
    let s = TestServer::start(Backend::Sqlite).await;
    let catalogue = ok(&s.get("/api/v1/security-questions", None).await, 200);
    assert_eq!(catalogue["questions"].as_array().unwrap().len(), 8);
    assert_eq!(
        catalogue["questions"][0],
        json!({"question_id": "first_pet", "text": "What was the name of your first pet?"})
    );
    s.verified_account("judy@example.com", PW).await;
    let token = s.session("judy@example.com", PW).await;
    assert_error(
        &s.call(
            "PUT",
            "/api/v1/me/security-questions",
            Some(json!({"answers": [
        {"question_id": "first_pet", "answer": "Rex"}, {"question_id": "first_car", "answer": "Fiat Panda"}]})),
            Some(&token),
        )
        .await,
        403,
        "step_up_required",
    );
    s.sudo_password(&token).await;
    let put = |body: Value, token: Option<String>| {
        let s = &s;
        async move { s.call("PUT", "/api/v1/me/security-questions", Some(body), token.as_deref()).await }
    };
    let two = json!({"answers": [{"question_id": "first_pet", "answer": "Rex"}, {"question_id": "first_car", "answer": "Fiat Panda"}]});
    assert_error(&put(two.clone(), None).await, 401, "unauthorized");
    assert_error(
        &put(json!({"answers": [{"question_id": "first_pet", "answer": "Rex"}]}), Some(token.clone())).await,
        400,
        "invalid_request",
    );
    let unknown = json!({"answers": [{"question_id": "first_pet", "answer": "Rex"}, {"question_id": "shoe_size", "answer": "9"}]});
    assert_error(&put(unknown, Some(token.clone())).await, 400, "invalid_request");
    let blank = json!({"answers": [{"question_id": "first_pet", "answer": "Rex"}, {"question_id": "first_car", "answer": " ?! "}]});
    assert_error(&put(blank, Some(token.clone())).await, 400, "invalid_request");
    let saved = ok(&put(two, Some(token.clone())).await, 200);
    assert_eq!(saved, json!({"ok": true}));
    // Stored as argon2 hashes of the normalised answer, nothing readable.
    let stored = s
        .app
        .store
        .security_answers(&s.app.store.account_by_email("judy@example.com").await.unwrap().unwrap().id)
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|a| a.answer_hash.starts_with("$argon2id$") && !a.answer_hash.contains("Rex")));
    let me = ok(&s.get("/api/v1/me", Some(&token)).await, 200);
    assert!(!me.to_string().contains("Panda"));
    assert!(s.messages_to("judy@example.com").await[0]["body"].as_str().unwrap().contains("security questions"));
    s.stop().await;
}
