//! The staff console and times in headless Chromium (the harness of
//! pages_browser.rs): a reviewer who opens /staff signed out comes back to
//! it after signing in; the console has its own navigation; a case reads in
//! plain words with the internal names as details; Approve and Reject are a
//! visible pair; a `next` that leads off the site is ignored; and times
//! show in the reader's time zone with UTC on hover.

mod browser;

use browser::Browser;
use serde_json::{Value, json};
use twostep_domain::Role;
use twostep_testkit::recovery::{PW, submitted_case, totp_owner};
use twostep_testkit::{Backend, TOTP_STEP_S, TestServer, oathtool};

/// `script` run in the page (its `return` value).
async fn js(b: &Browser, script: &str) -> Value {
    b.client.execute(script, vec![]).await.unwrap()
}

/// Text of the elements matching `css`, without their internal-name details.
async fn plain_text(b: &Browser, css: &str) -> Vec<String> {
    let script = format!(
        "return Array.from(document.querySelectorAll({css:?})).map(function (el) {{ \
           var c = el.cloneNode(true); c.querySelectorAll('code').forEach(function (x) {{ x.remove(); }}); \
           return c.textContent.trim(); }});"
    );
    js(b, &script).await.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

async fn sign_in_password(b: &Browser, email: &str, password: &str) {
    b.fill("#f-email", email).await;
    b.fill("#f-password", password).await;
    b.click("#login-submit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_staff_console_reads_plainly_and_returns_to_itself_after_sign_in() {
    let s = TestServer::start(Backend::Sqlite).await;
    let owner = totp_owner(&s, "olga@example.com").await;
    submitted_case(&s, &owner, json!({"reset": ["authenticator"]})).await;
    let admin = s.staff_with_authenticator("ada@example.com", Role::Admin).await;
    s.clock.advance(2 * TOTP_STEP_S);
    let b = Browser::start(&s.url).await;

    // Signed out, /staff sends to the sign-in, and the sign-in back to /staff.
    b.goto("/staff").await;
    b.wait_path("/login").await;
    sign_in_password(&b, &admin.email, PW).await;
    b.wait_path("/login/second-step").await;
    b.fill("#f-code", &oathtool(&admin.backup_key, s.now())).await;
    b.click("button.primary").await;
    b.wait_path("/staff").await;

    // The console's own navigation, not the account's.
    let nav = b.text("#console-nav").await;
    assert!(nav.contains("Review queue") && nav.contains("Audit log") && nav.contains("Log out"), "{nav}");
    assert!(!b.exists("nav[aria-label='Main']").await, "the account navigation is not shown in the console");
    assert!(!nav.contains("Withdraw"), "{nav}");
    assert_eq!(b.attr("#console-nav a[href='/staff']", "aria-current").await.as_deref(), Some("page"));
    b.shoot("staff-console-queue").await;

    // A case in plain words; the internal names only as details.
    b.click(".case-link").await;
    b.wait_for("#case-status").await;
    assert_eq!(b.attr("#case-status", "data-status").await.as_deref(), Some("pending_review"));
    assert_eq!(plain_text(&b, "#case-status").await, ["Waiting for review"]);
    assert_eq!(b.text("#case-status code").await, "pending_review");
    let signals = plain_text(&b, ".signals li").await;
    assert!(!signals.is_empty());
    for line in &signals {
        assert!(!line.contains('_') && !line.contains("fact:"), "a risk signal in plain words: {line}");
        assert!(line.ends_with('.'), "a sentence: {line}");
    }
    let answers = plain_text(&b, ".answer").await;
    assert!(!answers.is_empty());
    for line in &answers {
        assert!(!line.contains('_') && !line.contains("fact:"), "a question as the owner saw it: {line}");
        assert!(line.contains('?'), "{line}");
    }
    assert!(answers.iter().any(|a| a.contains("open your account")), "{answers:?}");

    // Approve and Reject: side by side, the same size, distinct colours;
    // rejecting asks for the reason.
    let boxes = js(
        &b,
        "return ['approve', 'reject'].map(function (id) { var el = document.getElementById(id), \
           r = el.getBoundingClientRect(); return [r.left, r.top, r.width, r.height, \
           getComputedStyle(el).backgroundColor]; });",
    )
    .await;
    let (a, r) = (&boxes[0], &boxes[1]);
    let num = |v: &Value, i: usize| v[i].as_f64().unwrap();
    assert!((num(a, 1) - num(r, 1)).abs() < 1.0, "on one line: {boxes}");
    assert!(num(r, 0) > num(a, 0) + num(a, 2) - 1.0, "Reject beside Approve: {boxes}");
    assert!((num(a, 2) - num(r, 2)).abs() < 1.0 && (num(a, 3) - num(r, 3)).abs() < 1.0, "same size: {boxes}");
    assert_ne!(a[4], r[4], "distinct colours: {boxes}");
    assert!(b.attr("#f-reason", "required").await.is_some(), "a rejection needs its reason");
    assert!(b.text("label[for='f-reason']").await.contains("Reason"));
    b.shoot("staff-console-case").await;

    // The audit log keeps the console's navigation.
    b.click("#console-nav a[href='/staff/audit']").await;
    b.wait_path("/staff/audit").await;
    assert_eq!(b.attr("#console-nav a[href='/staff/audit']", "aria-current").await.as_deref(), Some("page"));
    b.shoot("staff-console-audit").await;

    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_next_that_leads_off_the_site_is_ignored() {
    let s = TestServer::start(Backend::Sqlite).await;
    let email = "nina@example.com";
    s.verified_account(email, PW).await;
    let b = Browser::start(&s.url).await;
    for next in ["https://evil.example/staff", "//evil.example/staff", "/\\evil.example"] {
        let encoded: String = next.bytes().map(|c| format!("%{c:02X}")).collect();
        b.goto(&format!("/login?next={encoded}")).await;
        sign_in_password(&b, email, PW).await;
        b.wait_path("/account").await;
        let here = b.client.current_url().await.unwrap();
        assert_eq!(here.host_str(), Some("127.0.0.1"), "{next} led to {here}");
        b.click("#logout").await;
        b.wait_path("/login").await;
    }
    // A path on this site is followed.
    b.goto("/login?next=%2Faccount%2Factivity").await;
    sign_in_password(&b, email, PW).await;
    b.wait_path("/account/activity").await;
    b.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_show_in_the_readers_time_zone_with_utc_on_hover() {
    let s = TestServer::start(Backend::Sqlite).await;
    let email = "tomo@example.com";
    s.post("/api/v1/accounts", json!({"email": email, "password": PW}), None).await;
    s.settle().await;
    let sent_at = s.now();
    let b = Browser::start_with_env(&s.url, &[("TZ", "Asia/Tokyo")]).await;
    b.goto(&format!("/dev/outbox?to={email}")).await;
    let utc = twostep_web::time::rfc3339(sent_at);
    assert_eq!(b.attr(".messages time", "datetime").await.as_deref(), Some(utc.as_str()));
    let title = b.attr(".messages time", "title").await.unwrap();
    assert_eq!(title, format!("{} {} UTC", &utc[..10], &utc[11..16]), "UTC on hover");
    // Tokyo is UTC+9 all year.
    let tokyo = twostep_web::time::rfc3339(sent_at + 9 * 3600);
    let shown = b.text(".messages time").await;
    assert!(shown.starts_with(&format!("{} {}", &tokyo[..10], &tokyo[11..16])), "{shown} for {utc}");
    assert!(shown.contains("GMT+9") || shown.contains("JST") || shown.contains("+09"), "{shown}");
    b.close().await;
    s.stop().await;
}
