//! Moving a live SQLite installation to PostgreSQL with `twostep export` and
//! `twostep import`: accounts, sealed authenticator secrets, sessions and the
//! audit log arrive intact, and the server on PostgreSQL carries on.

mod common;

use std::path::Path;
use std::process::Command;

use common::{BIN, Server, call, now, run};
use serde_json::json;
use twostep_testkit::{Backend, TestDatabase, oathtool};

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
    let token = call(&old.url, "POST", "/api/v1/login", Some(login.clone()), None).await.1["session_token"]
        .as_str()
        .unwrap()
        .to_owned();
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

/// Every application table of the database at `url` is without rows.
async fn target_is_empty(url: &str) -> bool {
    let store = twostep_store::SqlStore::connect(url, &Default::default()).await.unwrap();
    let empty = store.all_tables_empty().await.unwrap();
    store.close().await;
    empty
}

/// The lines with a trailer that matches them again (row counts and digest):
/// what someone who edits an export and fixes its trailer up would write.
fn with_fresh_trailer(lines: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let mut counts = serde_json::Map::new();
    let mut table = String::new();
    let mut digest = Sha256::new();
    for line in lines {
        digest.update(format!("{line}\n").as_bytes());
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(name) = v["table"].as_str() {
            table = name.to_owned();
            counts.insert(table.clone(), json!(0));
        } else if v.get("r").is_some() {
            let n = counts[&table].as_u64().unwrap() + 1;
            counts.insert(table.clone(), json!(n));
        }
    }
    let total: u64 = counts.values().map(|v| v.as_u64().unwrap()).sum();
    let hex: String = digest.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let trailer = json!({"trailer": {"rows": counts, "total": total, "sha256": hex}});
    format!("{}\n{trailer}\n", lines.join("\n"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_or_damaged_export_is_refused_and_leaves_the_target_empty() {
    for backend in twostep_testkit::db::BOTH {
        let target = TestDatabase::create(backend).await;
        let data = target.dir.join("data");
        twostep(&data, &["staff", "add", "--email", "cut@example.com", "--role", "admin"], "cutting password\n");
        let old = serve(&data, &[]);
        let login = json!({"email": "cut@example.com", "password": "cutting password"});
        let token = call(&old.url, "POST", "/api/v1/login", Some(login), None).await.1["session_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let sudo = json!({"method": "password", "password": "cutting password"});
        assert_eq!(call(&old.url, "POST", "/api/v1/me/sudo", Some(sudo), Some(&token)).await.0, 200);
        let setup = call(&old.url, "POST", "/api/v1/me/totp", Some(json!({})), Some(&token)).await.1;
        let key = setup["backup_key"].as_str().unwrap().to_owned();
        let confirm = json!({"setup_id": setup["setup_id"], "backup_key": key, "code": oathtool(&key, now())});
        assert_eq!(call(&old.url, "POST", "/api/v1/me/totp/confirm", Some(confirm), Some(&token)).await.0, 200);
        drop(old);
        let file = target.dir.join("export.jsonl");
        twostep(&data, &["export", "--out", file.to_str().unwrap()], "");
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        assert!(lines.last().unwrap().starts_with(r#"{"trailer":"#), "{}", lines.last().unwrap());
        let table_at = |name: &str| {
            let is_table = |l: &String| serde_json::from_str::<serde_json::Value>(l).unwrap()["table"] == name;
            lines.iter().position(is_table).unwrap_or_else(|| panic!("no table {name}"))
        };

        let import = |content: Vec<u8>, name: &str| {
            let path = target.dir.join(name);
            std::fs::write(&path, content).unwrap();
            run(
                data.parent().unwrap(),
                &[
                    "import",
                    "--in",
                    path.to_str().unwrap(),
                    "--database-url",
                    &target.url,
                    "--data-dir",
                    data.to_str().unwrap(),
                ],
                "",
            )
        };
        // Cut before the authenticators: every account would sign in with
        // its password alone.
        let (ok, out) = import((lines[..table_at("totp_factors")].join("\n") + "\n").into_bytes(), "cut.jsonl");
        assert!(!ok && out.contains("cut short"), "{backend:?}: {out}");
        assert!(target_is_empty(&target.url).await, "{backend:?}: a cut export left rows behind");
        // Cut mid-line.
        let (ok, out) = import(text.as_bytes()[..text.len() * 2 / 3].to_vec(), "cut-mid-line.jsonl");
        assert!(!ok, "{backend:?}: {out}");
        assert!(target_is_empty(&target.url).await, "{backend:?}");
        // One value changed in a row midway: still JSON, still fits its table.
        let mut damaged = lines.clone();
        let row = table_at("audit_log") + 1;
        assert!(damaged[row].contains("staff_added"), "{}", damaged[row]);
        damaged[row] = damaged[row].replace("staff_added", "staff_addes");
        let (ok, out) = import((damaged.join("\n") + "\n").into_bytes(), "damaged.jsonl");
        assert!(!ok && out.contains("damaged"), "{backend:?}: {out}");
        assert!(target_is_empty(&target.url).await, "{backend:?}");
        // A file that checks out but breaks while loading, late (a duplicate
        // authenticator row, with the trailer made to match): nothing of the
        // tables before it stays.
        let mut late = lines[..lines.len() - 1].to_vec();
        let factor = table_at("totp_factors") + 1;
        late.insert(factor + 1, late[factor].clone());
        let (ok, out) = import(with_fresh_trailer(&late).into_bytes(), "late-failure.jsonl");
        assert!(!ok && out.contains("loading totp_factors"), "{backend:?}: {out}");
        assert!(target_is_empty(&target.url).await, "{backend:?}: a failed load left rows behind");
        // The whole file imports.
        let (ok, out) = import(text.clone().into_bytes(), "whole.jsonl");
        assert!(ok && out.contains("imported"), "{backend:?}: {out}");
        assert!(!target_is_empty(&target.url).await);
        target.drop_database().await;
    }
}
