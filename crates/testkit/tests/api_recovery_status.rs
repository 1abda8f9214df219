//! What the person who asked for a recovery can follow and undo through
//! the API, on both backends: the case's one cancel code (told at opening
//! and again at submission), the rejection's reason in the case view, the
//! end of the hold after an approval, and withdrawing a case, which changes
//! nothing on the account and tells its channels.

mod common;

use common::{assert_error, ok};
use serde_json::json;
use twostep_app::ports::{AccountStore, AuditStore};
use twostep_domain::Role;
use twostep_testkit::recovery::{submitted_case, totp_owner};
use twostep_testkit::{Backend, TestServer};
use twostep_web::time::rfc3339;

const BOTH: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

fn admin_case(case_id: &str, tail: &str) -> String {
    format!("/api/v1/admin/recovery-cases/{case_id}{tail}")
}

#[tokio::test]
async fn a_case_has_one_cancel_code_and_its_view_says_why_it_was_rejected() {
    for backend in BOTH {
        let l = format!("{backend:?}");
        let s = TestServer::start(backend).await;
        let owner = totp_owner(&s, "hana@example.com").await;
        let case = submitted_case(&s, &owner, json!({"reset": ["authenticator"]})).await;

        // Two notices (opened, submitted), one code.
        let bodies: Vec<String> = s
            .messages_to(&owner.email)
            .await
            .iter()
            .filter_map(|m| m["body"].as_str().map(str::to_owned))
            .filter(|b| b.contains("cancel code: "))
            .collect();
        assert_eq!(bodies.len(), 2, "{l}: {bodies:?}");
        let code = |b: &str| b.split_once("cancel code: ").unwrap().1.split_whitespace().next().unwrap().to_owned();
        assert_eq!(code(&bodies[0]), code(&bodies[1]), "{l}: one cancel code per case");
        assert!(bodies.iter().all(|b| !b.contains("/api/")), "{l}: a person gets a link, not an API path");

        let view = ok(&s.get(&case.path(""), Some(&case.token)).await, 200);
        assert_eq!(view["submitted_at"], json!(rfc3339(s.now())), "{l}");
        assert_eq!((&view["decided_at"], &view["rejection_reason"]), (&json!(null), &json!(null)), "{l}");

        let reviewer = s.staff_with_authenticator("rhea@example.com", Role::Reviewer).await;
        let reason = "The selfie does not show the document";
        ok(&s.post(&admin_case(&case.id, "/reject"), json!({"reason": reason}), Some(&reviewer.token)).await, 200);
        let view = ok(&s.get(&case.path(""), Some(&case.token)).await, 200);
        assert_eq!(view["status"], "rejected", "{l}");
        assert_eq!(view["rejection_reason"], reason, "{l}");
        assert_eq!(view["decided_at"], json!(rfc3339(s.now())), "{l}");
        // Decided: it can no longer be withdrawn.
        assert_error(&s.post(&case.path("withdraw"), json!({}), Some(&case.token)).await, 409, "conflict");
        s.stop().await;
    }
}

#[tokio::test]
async fn the_requester_withdraws_a_case_and_the_owner_is_told() {
    for backend in BOTH {
        let l = format!("{backend:?}");
        let s = TestServer::start(backend).await;
        let owner = totp_owner(&s, "ivo@example.com").await;
        let case = submitted_case(&s, &owner, json!({"reset": ["authenticator"]})).await;
        let before = s.messages_to(&owner.email).await.len();

        // Only with the case's token.
        assert_error(&s.post(&case.path("withdraw"), json!({}), Some("not-the-token")).await, 401, "unauthorized");
        let r = ok(&s.post(&case.path("withdraw"), json!({}), Some(&case.token)).await, 200);
        assert_eq!(r, json!({"status": "cancelled"}), "{l}");
        let view = ok(&s.get(&case.path(""), Some(&case.token)).await, 200);
        assert_eq!(view["status"], "cancelled", "{l}");
        assert_eq!(view["decided_at"], json!(rfc3339(s.now())), "{l}");

        // Told, not frozen, and the authenticator still works as before.
        let told = s.messages_to(&owner.email).await;
        assert_eq!(told.len(), before + 1, "{l}");
        assert!(told[0]["body"].as_str().unwrap().contains("withdrawn"), "{l}: {told:?}");
        let account = s.store.account_by_id(&owner.account_id).await.unwrap().unwrap();
        assert!(account.frozen_at.is_none(), "{l}");
        let audit = s.store.audit_events(Some(&owner.account_id), 100).await.unwrap();
        assert!(
            audit.iter().any(|e| e.kind == "recovery_cancelled" && e.detail.contains("withdrawn")),
            "{l}: {audit:?}"
        );
        // A second withdrawal finds nothing to withdraw, and staff cannot
        // approve what was withdrawn.
        assert_error(&s.post(&case.path("withdraw"), json!({}), Some(&case.token)).await, 409, "conflict");
        let reviewer = s.staff_with_authenticator("remy@example.com", Role::Reviewer).await;
        let approve = s.post(&admin_case(&case.id, "/approve"), json!({"note": "ok"}), Some(&reviewer.token)).await;
        assert_error(&approve, 409, "conflict");
        s.stop().await;
    }
}
