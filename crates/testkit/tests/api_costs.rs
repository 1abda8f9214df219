//! What one client can make the server spend, and addresses that mean one
//! thing: metric labels from closed sets, caps per account on the calls
//! that cost a hash or a row, notices collapsed per kind, expired
//! enrolments deleted, and e-mail addresses stored in the one form mail is
//! sent to, so that look-alikes are refused or reach the same account.

mod common;

use common::{assert_error, ok};
use serde_json::{Value, json};
use twostep_testkit::{Backend, TestServer, db::BOTH};

const PW: &str = "correct horse battery";

/// Rows in `table`, read through the export's own table walker.
async fn rows(s: &TestServer, table: &str) -> u64 {
    let shapes = s.store.table_shapes().await.unwrap();
    let shape = shapes.iter().find(|t| t.name == table).unwrap_or_else(|| panic!("no table {table}"));
    s.store.dump_table(shape, |_| Ok(())).await.unwrap()
}

/// Every message in the dev outbox (newest first), after delivery settled.
async fn outbox(s: &TestServer) -> Vec<Value> {
    s.settle().await;
    let body = ok(&s.get("/api/v1/dev/outbox", None).await, 200);
    body["messages"].as_array().unwrap().clone()
}

fn with_body(messages: &[Value], text: &str) -> usize {
    messages.iter().filter(|m| m["body"].as_str().unwrap_or_default().contains(text)).count()
}

/// Moves the test clock to the start of the next hour, so that a test's
/// requests all fall into one hourly window.
fn next_hour(s: &TestServer) {
    let now = s.now();
    s.clock.advance(3600 - now.rem_euclid(3600));
}

#[tokio::test]
async fn unknown_methods_add_one_other_series_to_metrics() {
    let s = TestServer::start(Backend::Sqlite).await;
    let scrape = || async { s.client().get(format!("{}/metrics", s.url)).send().await.unwrap().text().await.unwrap() };
    ok(&s.get("/healthz", None).await, 200);
    let before = scrape().await;
    for i in 0..500 {
        let method = reqwest::Method::from_bytes(format!("XMETHOD{i}").as_bytes()).unwrap();
        let r = s.client().request(method, format!("{}/healthz", s.url)).send().await.unwrap();
        assert!(r.status().is_client_error(), "{i}: {}", r.status());
        // Paths the server does not have are one route label too.
        let r = s.client().get(format!("{}/no-such-page-{i}", s.url)).send().await.unwrap();
        assert_eq!(r.status(), 404);
    }
    let after = scrape().await;
    assert!(!after.contains("XMETHOD") && !after.contains("no-such-page"), "a client's token became a label");
    let series = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("twostep_http_requests_total{"))
            .map(|l| l.rsplit_once(' ').unwrap().0.to_owned())
            .collect()
    };
    let new: Vec<String> = series(&after).into_iter().filter(|l| !series(&before).contains(l)).collect();
    // At most: the 500 methods, the 500 paths, and the scrape itself.
    assert!(new.len() <= 3, "{new:?}");
    for line in &new {
        assert!(line.contains(r#"method="GET""#) || line.contains(r#"method="other""#), "{line}");
        assert!(["/metrics", "/healthz", "other"].iter().any(|r| line.contains(&format!(r#"route="{r}""#))), "{line}");
    }
    let other: Vec<&str> =
        after.lines().filter(|l| l.starts_with(r#"twostep_http_requests_total{method="other""#)).collect();
    assert_eq!(other.len(), 1, "{other:?}");
    assert!(other[0].ends_with(" 500"), "{other:?}");
    assert!(after.len() < before.len() + 8 * 1024, "{} bytes grew to {}", before.len(), after.len());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_questions_are_capped_per_account_and_their_notice_collapsed() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        next_hour(&s);
        s.verified_account("sq@example.com", PW).await;
        s.verified_account("other@example.com", PW).await;
        let token = s.session("sq@example.com", PW).await;
        s.sudo_password(&token).await;
        let answers = json!({"answers": [
            {"question_id": "first_pet", "answer": "Rex"}, {"question_id": "birth_city", "answer": "Leeds"}]});
        for _ in 0..5 {
            ok(&s.call("PUT", "/api/v1/me/security-questions", Some(answers.clone()), Some(&token)).await, 200);
        }
        // The sixth in the hour costs no hash: refused before any.
        let r = s.call("PUT", "/api/v1/me/security-questions", Some(answers.clone()), Some(&token)).await;
        assert_error(&r, 429, "too_many_attempts");
        assert!(r.1["error"]["retry_after_s"].as_i64().unwrap() > 0, "{backend:?}: {r:?}");
        // Five changes, one notice.
        let changed = "security questions of your account were changed";
        let sent = outbox(&s).await;
        assert_eq!(with_body(&sent, changed), 1, "{backend:?}: {sent:?}");
        // Another account is not held back by this one.
        let other = s.session("other@example.com", PW).await;
        s.sudo_password(&other).await;
        ok(&s.call("PUT", "/api/v1/me/security-questions", Some(answers.clone()), Some(&other)).await, 200);
        // The next hour the owner may change them again, and hears of it again.
        s.clock.advance(3600);
        s.sudo_password(&token).await;
        ok(&s.call("PUT", "/api/v1/me/security-questions", Some(answers.clone()), Some(&token)).await, 200);
        let sent = outbox(&s).await;
        let to_owner: Vec<&Value> = sent.iter().filter(|m| m["to"] == "sq@example.com").collect();
        assert_eq!(to_owner.iter().filter(|m| m["body"].as_str().unwrap().contains(changed)).count(), 2, "{backend:?}");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolments_are_capped_per_account_and_expired_ones_deleted() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        next_hour(&s);
        s.verified_account("setups@example.com", PW).await;
        let token = s.session("setups@example.com", PW).await;
        s.sudo_password(&token).await;
        for _ in 0..10 {
            ok(&s.post("/api/v1/me/totp", json!({}), Some(&token)).await, 201);
        }
        assert_error(&s.post("/api/v1/me/totp", json!({}), Some(&token)).await, 429, "too_many_attempts");
        assert_eq!(rows(&s, "totp_setups").await, 10, "{backend:?}: the refused one left no row");
        // Once they have expired, the next enrolment deletes them.
        s.clock.advance(3601);
        s.sudo_password(&token).await;
        let setup = ok(&s.post("/api/v1/me/totp", json!({}), Some(&token)).await, 201);
        assert_eq!(rows(&s, "totp_setups").await, 1, "{backend:?}");
        // And the housekeeping deletes what expired without a next one.
        s.clock.advance(901);
        use twostep_app::ports::TotpStore;
        assert_eq!(s.store.delete_expired_totp_setups(None, s.now()).await.unwrap(), 1);
        assert_eq!(rows(&s, "totp_setups").await, 0, "{backend:?}");
        // An expired setup cannot be confirmed.
        s.sudo_password(&token).await;
        let confirm = json!({"setup_id": setup["setup_id"], "backup_key": setup["backup_key"], "code": "123456"});
        assert_error(&s.post("/api/v1/me/totp/confirm", confirm, Some(&token)).await, 404, "not_found");
        s.stop().await;
    }
}

#[tokio::test]
async fn phone_bindings_are_capped_per_account() {
    let s = TestServer::start(Backend::Sqlite).await;
    next_hour(&s);
    s.verified_account("phones@example.com", PW).await;
    let token = s.session("phones@example.com", PW).await;
    s.sudo_password(&token).await;
    // Each to a new number (no per-number cap) and after the resend wait:
    // only the binding cap (5 an hour, under the 10 codes an account) stops it.
    for i in 0..5 {
        ok(&s.post("/api/v1/me/phone", json!({"phone": format!("+4479111237{i:02}")}), Some(&token)).await, 202);
        // Delivered before the clock jumps past a worker's lease.
        s.settle().await;
        s.clock.advance(61);
    }
    let r = s.post("/api/v1/me/phone", json!({"phone": "+447911123799"}), Some(&token)).await;
    assert_error(&r, 429, "too_many_attempts");
    assert_eq!(with_body(&outbox(&s).await, ""), 6, "five codes and the sign-up code, no sixth text");
    s.stop().await;
}

#[tokio::test]
async fn an_address_with_a_display_name_or_brackets_is_refused() {
    let s = TestServer::start(Backend::Sqlite).await;
    for email in [
        "x<a@example.com>",
        "a0<bomb@example.com>",
        "Bomb <bomb@example.com>",
        "\"x\"@example.com",
        "=?utf-8?q?bomb?=@example.com",
    ] {
        let r = s.post("/api/v1/accounts", json!({"email": email, "password": PW}), None).await;
        assert_error(&r, 400, "invalid_request");
        assert!(r.1["error"]["message"].as_str().unwrap().contains("email"), "{email}: {r:?}");
    }
    assert_eq!(rows(&s, "accounts").await, 0);
    assert!(outbox(&s).await.is_empty());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn look_alike_addresses_are_refused_or_reach_the_same_account() {
    for backend in BOTH {
        let s = TestServer::start(backend).await;
        s.verified_account("alice@example.com", PW).await;
        // Folded to the same address: the owner hears of a sign-up attempt,
        // no account is made, and the look-alike signs in to the same one.
        for same in ["ａｌｉｃｅ@example.com", "alice＠example.com", "ALICE@ＥＸＡＭＰＬＥ.COM"] {
            s.post("/api/v1/accounts", json!({"email": same, "password": "another password 123"}), None).await;
            assert_eq!(rows(&s, "accounts").await, 1, "{backend:?} {same}");
            let sent = outbox(&s).await;
            assert!(sent.iter().all(|m| m["to"] == "alice@example.com"), "{backend:?} {same}: {sent:?}");
            let r = s.login(same, PW).await;
            assert_eq!(r.1["status"], "authenticated", "{backend:?} {same}: {r:?}");
        }
        // Cannot be folded: refused, nothing stored, nothing sent.
        let sent_before = outbox(&s).await.len();
        for other in [
            "al\u{200b}ice@example.com",
            "\u{430}lice@example.com",
            "alice@ex\u{430}mple.com",
            "alice\u{202e}@example.com",
            "alice\u{200d}@example.com",
        ] {
            let r = s.post("/api/v1/accounts", json!({"email": other, "password": PW}), None).await;
            assert!(!r.0.is_success(), "{backend:?} {other:?}: {r:?}");
            assert_eq!(rows(&s, "accounts").await, 1, "{backend:?} {other:?}");
            assert_eq!(outbox(&s).await.len(), sent_before, "{backend:?} {other:?}");
        }
        s.stop().await;
    }
}
