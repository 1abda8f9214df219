//! Moving a live SQLite installation to PostgreSQL with `twostep export` and
//! `twostep import`: accounts, sealed authenticator secrets, sessions and the
//! audit log arrive intact, and the server on PostgreSQL carries on.

mod common;

use std::path::Path;
use std::process::Command;

use common::{call, now, run, Server, BIN};
use serde_json::json;
use twostep_testkit::{oathtool, Backend, TestDatabase};

fn serve(data: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["--captcha-bits", "0", "--data-dir", data.to_str().unwrap()];
    args.extend_from_slice(extra);
    common::serve(data.parent().unwrap(), &args, &[])
}

fn twostep(data: &Path, args: &[&str], stdin: &str) -> String {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--data-dir", data.to_str().unwrap()]);
    let (ok, text) = run(data.parent().unwrap(), &all, stdin);
    assert!(ok, "{args:?}: {text}");
    text
}

#[tokio::test]
async fn sqlite_to_postgres_keeps_accounts_secrets_sessions_and_audit() {
    let pg = TestDatabase::create(Backend::Postgres).await;
    let data = pg.dir.join("data");
    twostep(&data, &["staff", "add", "--email", "move@example.com", "--role", "admin"], "moving password\n");
    let login = json!({"email": "move@example.com", "password": "moving password"});

    let old = serve(&data, &[]);
    let token = call(&old.url, "POST", "/api/v1/login", Some(login.clone()), None).await.1["session_token"].as_str().unwrap().to_owned();
    let sudo = json!({"method": "password", "password": "moving password"});
    assert_eq!(call(&old.url, "POST", "/api/v1/me/sudo", Some(sudo), Some(&token)).await.0, 200);
    let setup = call(&old.url, "POST", "/api/v1/me/totp", Some(json!({})), Some(&token)).await.1;
    let key = setup["backup_key"].as_str().unwrap().to_owned();
    let confirm = json!({"setup_id": setup["setup_id"], "backup_key": key, "code": oathtool(&key, now())});
    assert_eq!(call(&old.url, "POST", "/api/v1/me/totp/confirm", Some(confirm), Some(&token)).await.0, 200);
    let activity_before = call(&old.url, "GET", "/api/v1/me/activity", None, Some(&token)).await.1;
    drop(old);

    let file = pg.dir.join("export.jsonl");
    let out = twostep(&data, &["export", "--out", file.to_str().unwrap()], "");
    assert!(out.contains("exported"), "{out}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(&key), "the export holds secrets sealed, never in clear");

    let out = twostep(&data, &["import", "--in", file.to_str().unwrap(), "--database-url", &pg.url], "");
    assert!(out.contains("imported"), "{out}");

    let new = serve(&data, &["--database-url", &pg.url]);
    // The session made on SQLite is still valid, and the history came along.
    let me = call(&new.url, "GET", "/api/v1/me", None, Some(&token)).await;
    assert_eq!(me.0, 200, "{me:?}");
    assert_eq!(me.1["factors"]["totp"], true);
    let activity_after = call(&new.url, "GET", "/api/v1/me/activity", None, Some(&token)).await.1;
    assert_eq!(activity_after, activity_before);
    // The sealed secret opens with the same master key: the next code signs in,
    // and the used one stays used.
    let pending = call(&new.url, "POST", "/api/v1/login", Some(login.clone()), None).await.1;
    let path = format!("/api/v1/login/{}/totp", pending["login_id"].as_str().unwrap());
    assert_eq!(call(&new.url, "POST", &path, Some(json!({"code": oathtool(&key, now() - 30)})), None).await.0, 401);
    let r = call(&new.url, "POST", &path, Some(json!({"code": oathtool(&key, now() + 30)})), None).await;
    assert_eq!(r.0, 200, "{r:?}");
    // New rows get fresh ids after the imported ones.
    let activity = call(&new.url, "GET", "/api/v1/me/activity", None, Some(&token)).await.1;
    assert_eq!(activity["events"][0]["kind"], "login_ok");
    drop(new);

    // Importing twice is refused rather than mixing two databases.
    let second = Command::new(BIN)
        .args(["import", "--in", file.to_str().unwrap(), "--database-url", &pg.url, "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("empty database"));
    pg.drop_database().await;
}
