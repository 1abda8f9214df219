//! `twostep cases show|approve|reject` take the short case id the staff
//! console shows (a unique start of the id), refuse one that is too short
//! or ambiguous saying so, and a refusal is one line, never a backtrace,
//! even with RUST_BACKTRACE=1.

mod common;

use common::{data_dir_with_key, run_env, temp_dir};
use serde_json::json;
use twostep_domain::Role;
use twostep_testkit::recovery::{submitted_case, totp_owner};
use twostep_testkit::{Backend, TestServer};

/// The refusal line of a failed command, checked to be the only one.
fn one_error_line(text: &str) -> String {
    assert!(!text.to_lowercase().contains("backtrace"), "{text}");
    assert!(!text.contains("Caused by") && !text.contains("panicked"), "{text}");
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{text}");
    errors[0].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_is_named_by_the_start_of_its_id() {
    let s = TestServer::start(Backend::Sqlite).await;
    let alice = totp_owner(&s, "alice@example.com").await;
    let bob = totp_owner(&s, "bob@example.com").await;
    let a = submitted_case(&s, &alice, json!({"reset": ["authenticator"]})).await;
    let b = submitted_case(&s, &bob, json!({"reset": ["authenticator"]})).await;
    let cwd = temp_dir();
    let data = cwd.join("d");
    data_dir_with_key(&data, s.db.master_key());
    let data = data.to_str().unwrap().to_owned();
    let cases = |args: &[&str]| {
        let mut all = vec!["cases"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--database-url", &s.db.url, "--data-dir", &data]);
        run_env(&cwd, &all, "", &[("RUST_BACKTRACE", "1")])
    };

    // The eight characters the console shows, in either case, with or
    // without the ellipsis it shows them with.
    let short = &a.id[..8];
    for given in [short.to_owned(), short.to_uppercase(), format!("{short}…"), a.id.clone()] {
        let (ok, text) = cases(&["show", &given]);
        assert!(ok && text.contains(&a.id) && text.contains("alice@example.com"), "{given}: {text}");
    }

    let (ok, text) = cases(&["show", &a.id[..4]]);
    assert!(!ok);
    assert!(one_error_line(&text).contains("at least 6 characters"), "{text}");

    let unknown = if a.id.starts_with("ffffff") || b.id.starts_with("ffffff") { "eeeeee" } else { "ffffff" };
    let (ok, text) = cases(&["show", unknown]);
    assert!(!ok);
    assert!(one_error_line(&text).contains("no recovery case has an id starting with"), "{text}");

    // Two cases whose ids start alike: the shared start is refused, naming both.
    let shared = &a.id[..10];
    let renamed = format!("{shared}{}", &b.id[10..]);
    {
        let mut conn = s.store.pool().acquire().await.unwrap();
        // Only the case row is renamed; its evidence rows are not needed here.
        sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut *conn).await.unwrap();
        sqlx::query("UPDATE recovery_cases SET id = $1 WHERE id = $2")
            .bind(&renamed)
            .bind(&b.id)
            .execute(&mut *conn)
            .await
            .unwrap();
        sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await.unwrap();
    }
    let (ok, text) = cases(&["show", shared]);
    assert!(!ok);
    let line = one_error_line(&text);
    assert!(line.contains("ambiguous") && line.contains(&a.id) && line.contains(&renamed), "{text}");

    // Deciding takes the short id too.
    s.staff_with_authenticator("rev@example.com", Role::Reviewer).await;
    let (ok, text) = cases(&["reject", &a.id[..12], "--reviewer", "rev@example.com", "--reason", "photo unreadable"]);
    assert!(ok && text.contains(&format!("case {} rejected", a.id)), "{text}");
    s.stop().await;
}

#[test]
fn a_bad_flag_value_is_one_line_without_a_backtrace() {
    let cwd = temp_dir();
    let (ok, text) = run_env(
        &cwd,
        &["cases", "list", "--status", "nonsense", "--data-dir", cwd.join("d").to_str().unwrap()],
        "",
        &[("RUST_BACKTRACE", "1")],
    );
    assert!(!ok);
    assert!(one_error_line(&text).contains("--status"), "{text}");
}
