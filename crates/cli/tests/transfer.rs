//! Moving a live SQLite installation to PostgreSQL with `twostep export` and
//! `twostep import`: accounts, sealed authenticator secrets, sessions and the
//! audit log arrive intact, and the server on PostgreSQL carries on.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};
use twostep_testkit::{oathtool, Backend, TestDatabase};

const BIN: &str = env!("CARGO_BIN_EXE_twostep");

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(data: &Path, extra: &[&str]) -> Server {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--captcha-bits", "0", "--data-dir"])
        .arg(data)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap().to_owned();
    Server(child, url)
}

fn twostep(data: &Path, args: &[&str], stdin: &str) -> String {
    let mut child = Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{args:?}: {text}");
    text
}

async fn call(url: &str, method: &str, path: &str, body: Option<Value>, token: Option<&str>) -> (u16, Value) {
    let mut req = twostep_testkit::http_client().request(method.parse().unwrap(), format!("{url}{path}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test]
async fn sqlite_to_postgres_keeps_accounts_secrets_sessions_and_audit() {
    let pg = TestDatabase::create(Backend::Postgres).await;
    let data = pg.dir.join("data");
    twostep(&data, &["staff", "add", "--email", "move@example.com", "--role", "admin"], "moving password\n");
    let login = json!({"email": "move@example.com", "password": "moving password"});

    let old = serve(&data, &[]);
    let token = call(&old.1, "POST", "/api/v1/login", Some(login.clone()), None).await.1["session_token"].as_str().unwrap().to_owned();
    let setup = call(&old.1, "POST", "/api/v1/me/totp", Some(json!({})), Some(&token)).await.1;
    let key = setup["backup_key"].as_str().unwrap().to_owned();
    let confirm = json!({"setup_id": setup["setup_id"], "backup_key": key, "code": oathtool(&key, now())});
    assert_eq!(call(&old.1, "POST", "/api/v1/me/totp/confirm", Some(confirm), Some(&token)).await.0, 200);
    let activity_before = call(&old.1, "GET", "/api/v1/me/activity", None, Some(&token)).await.1;
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
    let me = call(&new.1, "GET", "/api/v1/me", None, Some(&token)).await;
    assert_eq!(me.0, 200, "{me:?}");
    assert_eq!(me.1["factors"]["totp"], true);
    let activity_after = call(&new.1, "GET", "/api/v1/me/activity", None, Some(&token)).await.1;
    assert_eq!(activity_after, activity_before);
    // The sealed secret opens with the same master key: the next code signs in,
    // and the used one stays used.
    let pending = call(&new.1, "POST", "/api/v1/login", Some(login.clone()), None).await.1;
    let path = format!("/api/v1/login/{}/totp", pending["login_id"].as_str().unwrap());
    assert_eq!(call(&new.1, "POST", &path, Some(json!({"code": oathtool(&key, now() - 30)})), None).await.0, 401);
    let r = call(&new.1, "POST", &path, Some(json!({"code": oathtool(&key, now() + 30)})), None).await;
    assert_eq!(r.0, 200, "{r:?}");
    // New rows get fresh ids after the imported ones.
    let activity = call(&new.1, "GET", "/api/v1/me/activity", None, Some(&token)).await.1;
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
