//! What `twostep serve` checks before it answers anyone: that its master key
//! is the one the database is sealed with (two real processes on one
//! PostgreSQL database), and that the database's schema is the one this
//! binary was built with (both backends).

mod common;

use std::path::Path;

use common::{Server, data_dir_with_key, start, temp_dir};
use serde_json::{Value, json};
use sqlx::Executor;
use twostep_app::crypto::MasterKey;
use twostep_testkit::db::BOTH;
use twostep_testkit::{Backend, TestDatabase, oathtool};

const PW: &str = "correct horse battery";

fn serve_args<'a>(data: &'a str, url: &'a str) -> Vec<&'a str> {
    vec![
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--captcha-bits",
        "0",
        "--data-dir",
        data,
        "--database-url",
        url,
        "--login-per-ip-per-minute",
        "1000",
        "--accounts-per-ip-per-hour",
        "1000",
        "--codes-per-ip-per-minute",
        "1000",
    ]
}

/// `twostep serve` on `data`: the server, or what it said when it refused.
fn try_serve(cwd: &Path, data: &Path, url: &str, extra: &[&str], envs: &[(&str, &str)]) -> Result<Server, String> {
    let data = data.to_str().unwrap();
    let mut argv = serve_args(data, url);
    argv.extend_from_slice(extra);
    start(cwd, &argv, envs, &cwd.join(format!("serve-{}.log", twostep_app::crypto::new_id())))
}

async fn post(s: &Server, path: &str, body: Value, token: Option<&str>) -> (u16, Value) {
    common::post(&s.url, path, body, token).await
}

/// Signs `email` up, confirms it and binds an authenticator; returns the backup key.
async fn account_with_authenticator(s: &Server, email: &str) -> String {
    assert_eq!(post(s, "/api/v1/accounts", json!({"email": email, "password": PW}), None).await.0, 202);
    let code = common::outbox_code(&s.url, email, 0).await.expect("the sign-up code");
    assert_eq!(post(s, "/api/v1/accounts/verify-email", json!({"email": email, "code": code}), None).await.0, 200);
    let login = post(s, "/api/v1/login", json!({"email": email, "password": PW}), None).await;
    let token = login.1["session_token"].as_str().unwrap().to_owned();
    assert_eq!(post(s, "/api/v1/me/sudo", json!({"method": "password", "password": PW}), Some(&token)).await.0, 200);
    let setup = post(s, "/api/v1/me/totp", json!({}), Some(&token)).await.1;
    let key = setup["backup_key"].as_str().unwrap().to_owned();
    let body = json!({"setup_id": setup["setup_id"], "backup_key": key, "code": oathtool(&key, common::now())});
    assert_eq!(post(s, "/api/v1/me/totp/confirm", body, Some(&token)).await.0, 200);
    key
}

/// Password and the authenticator's code at `at`: the second step opens the
/// sealed secret.
async fn signs_in(s: &Server, email: &str, key: &str, at: i64) -> bool {
    let login = post(s, "/api/v1/login", json!({"email": email, "password": PW}), None).await;
    let Some(login_id) = login.1["login_id"].as_str() else { return false };
    let r = post(s, &format!("/api/v1/login/{login_id}/totp"), json!({"code": oathtool(key, at)}), None).await;
    r.0 == 200 && r.1["session_token"].is_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_with_another_master_key_refuses_to_start() {
    let db = TestDatabase::create(Backend::Postgres).await;
    let cwd = temp_dir();
    let (a_dir, b_dir, c_dir, d_dir) = (cwd.join("a"), cwd.join("b"), cwd.join("c"), cwd.join("d"));

    // The first instance on the empty database creates the key and records it.
    let a = try_serve(&cwd, &a_dir, &db.url, &[], &[]).expect("the first instance starts");
    let key = account_with_authenticator(&a, "kay@example.com").await;

    // A second instance whose data directory has no key does not make one.
    let refused = try_serve(&cwd, &b_dir, &db.url, &[], &[]).err().expect("an instance without the key refuses");
    assert!(refused.contains("no master key") && refused.contains("--master-key-file"), "{refused}");
    assert!(!b_dir.join("master.key").exists(), "no key was created for a database that holds data");

    // One with a key of its own refuses, naming the fix.
    data_dir_with_key(&c_dir, &MasterKey::generate());
    let refused = try_serve(&cwd, &c_dir, &db.url, &[], &[]).err().expect("an instance with another key refuses");
    assert!(
        refused.contains("is not the key this database is sealed with") && refused.contains("master.key"),
        "{refused}"
    );

    // The same key from a mounted file (flag or environment) works, and
    // opens the authenticator secret sealed by the first instance.
    let mounted = a_dir.join("master.key");
    let b = try_serve(&cwd, &d_dir, &db.url, &["--master-key-file", mounted.to_str().unwrap()], &[])
        .expect("same key starts");
    // The enrolment used the current step; the next one is within the window.
    assert!(
        signs_in(&b, "kay@example.com", &key, common::now() + 30).await,
        "a sign-in on the instance with the mounted key"
    );
    drop(b);
    let b = try_serve(&cwd, &d_dir, &db.url, &[], &[("TWOSTEP_MASTER_KEY_FILE", mounted.to_str().unwrap())])
        .expect("same key from the environment starts");
    assert!(!d_dir.join("master.key").exists(), "the mounted key is not copied into the data directory");
    assert_eq!(common::get(&b.url, "/readyz", None).await.0, 200);
    drop(b);
    let missing = cwd.join("nowhere.key");
    let refused =
        try_serve(&cwd, &d_dir, &db.url, &["--master-key-file", missing.to_str().unwrap()], &[]).err().unwrap();
    assert!(refused.contains("no such file"), "{refused}");
    assert!(!missing.exists(), "a missing mounted key is never created");

    // A database from before key checks: the check is recorded by the first
    // instance whose key opens what is sealed; a wrong key is refused.
    drop(a);
    let store = twostep_store::SqlStore::connect(&db.url, &Default::default()).await.unwrap();
    store.clear_master_key_check().await.unwrap();
    let refused = try_serve(&cwd, &c_dir, &db.url, &[], &[]).err().expect("a wrong key on an unchecked database");
    assert!(refused.contains("does not open the secrets"), "{refused}");
    let a = try_serve(&cwd, &a_dir, &db.url, &[], &[]).expect("the right key is adopted");
    assert_eq!(store.master_key_check().await.unwrap(), Some(read_key_id(&a_dir.join("master.key"))));
    assert_eq!(common::get(&a.url, "/readyz", None).await.0, 200);
    drop(a);
    store.close().await;
    db.drop_database().await;
    let _ = std::fs::remove_dir_all(cwd);
}

fn read_key_id(path: &Path) -> String {
    let hex = std::fs::read_to_string(path).unwrap();
    let bytes: [u8; 32] = data_encoding::HEXLOWER.decode(hex.trim().as_bytes()).unwrap().try_into().unwrap();
    MasterKey::from_bytes(bytes).id_hex()
}

async fn execute(url: &str, sql: &str) {
    let store = twostep_store::SqlStore::connect(url, &Default::default()).await.unwrap();
    store.pool().execute(sqlx::AssertSqlSafe(sql.to_owned())).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_another_schema_refuses_to_start() {
    for backend in BOTH {
        let db = TestDatabase::create(backend).await;
        let cwd = temp_dir();
        let data = cwd.join("data");
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}", data.join("twostep.db").display()),
            Backend::Postgres => db.url.clone(),
        };
        let migrate = |extra: &[&str]| {
            let mut args = vec!["migrate", "--data-dir", data.to_str().unwrap(), "--database-url", &url];
            args.extend_from_slice(extra);
            common::run(&cwd, &args, "")
        };
        let (ok, text) = migrate(&[]);
        assert!(ok, "{backend:?}: {text}");
        // Every applied migration is recorded with this binary's checksum.
        let store = twostep_store::SqlStore::connect(&url, &Default::default()).await.unwrap();
        let rows: Vec<(i64, Option<String>)> =
            sqlx::query_as("SELECT version, checksum FROM twostep_migrations ORDER BY version")
                .fetch_all(store.pool())
                .await
                .unwrap();
        let expected: Vec<(i64, Option<String>)> = twostep_store::schema::MIGRATIONS
            .iter()
            .map(|(v, _, sql)| (*v, Some(twostep_store::schema::checksum(sql))))
            .collect();
        assert_eq!(rows, expected, "{backend:?}");
        store.close().await;

        // A migration this binary does not know: the database is newer.
        execute(&url, "INSERT INTO twostep_migrations (version, name, applied_at, checksum) VALUES (999, 'from_the_future', 0, 'x')").await;
        let refused = try_serve(&cwd, &data, &url, &[], &[]).err().expect("a newer database is refused");
        assert!(refused.contains("newer than this binary") && refused.contains("999"), "{backend:?}: {refused}");
        let (ok, text) = migrate(&[]);
        assert!(!ok && text.contains("newer than this binary"), "{backend:?}: migrate refuses too: {text}");
        execute(&url, "DELETE FROM twostep_migrations WHERE version = 999").await;

        // An applied migration whose text differs from this binary's.
        execute(&url, "UPDATE twostep_migrations SET checksum = 'edited' WHERE version = 2").await;
        let refused = try_serve(&cwd, &data, &url, &[], &[]).err().expect("a changed migration is refused");
        assert!(refused.contains("migration 2 (delivery)") && refused.contains("differs"), "{backend:?}: {refused}");

        // A database migrated before checksums: they are recorded, and it starts.
        execute(&url, "UPDATE twostep_migrations SET checksum = NULL").await;
        let server = try_serve(&cwd, &data, &url, &[], &[]).expect("an unrecorded database starts");
        assert_eq!(common::get(&server.url, "/readyz", None).await.0, 200);
        drop(server);
        let store = twostep_store::SqlStore::connect(&url, &Default::default()).await.unwrap();
        let recorded: Vec<(i64, Option<String>)> =
            sqlx::query_as("SELECT version, checksum FROM twostep_migrations ORDER BY version")
                .fetch_all(store.pool())
                .await
                .unwrap();
        assert_eq!(recorded, expected, "{backend:?}");
        store.close().await;
        db.drop_database().await;
        let _ = std::fs::remove_dir_all(cwd);
    }
}
