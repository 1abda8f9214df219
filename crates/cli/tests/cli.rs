//! The `twostep` binary as an operator runs it: first start, settings from
//! flags, environment and file, staff accounts from standard input, key
//! rotation with the server's secrets still readable afterwards.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{get, now, post, run, serve, temp_dir, Server};
use serde_json::json;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn first_start_creates_a_private_data_dir_and_key() {
    let cwd = temp_dir();
    let server = serve(&cwd, &["--captcha-bits", "0"], &[]);
    let data = cwd.join("twostep-data");
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("master.key")), 0o600);
    assert!(data.join("twostep.db").exists());
    assert_eq!(get(&server.url, "/healthz", None).await.0, 200);
    assert_eq!(get(&server.url, "/readyz", None).await.0, 200);
    // With the captcha at 0 bits the password step needs no captcha.
    let (status, _) = post(&server.url, "/api/v1/accounts", json!({"email": "a@example.com", "password": "password123"}), None).await;
    assert_eq!(status, 201);
    let (status, body) = post(&server.url, "/api/v1/login", json!({"email": "a@example.com", "password": "password123"}), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("email_unverified")));
    drop(server);
    let _ = std::fs::remove_dir_all(cwd);
}

#[tokio::test]
async fn settings_come_from_flags_over_environment_over_file() {
    let cwd = temp_dir();
    std::fs::write(cwd.join("twostep.toml"), "captcha_bits = 5\ndata_dir = \"from-file\"\n").unwrap();
    let captcha_bits = |server: &Server| {
        let url = server.url.clone();
        async move { get(&url, "/api/v1/captcha", None).await.1["difficulty_bits"].as_i64().unwrap() }
    };
    let s = serve(&cwd, &["--config", "twostep.toml"], &[]);
    assert_eq!(captcha_bits(&s).await, 5);
    assert!(cwd.join("from-file/master.key").exists());
    drop(s);
    let s = serve(&cwd, &["--config", "twostep.toml"], &[("TWOSTEP_CAPTCHA_BITS", "6")]);
    assert_eq!(captcha_bits(&s).await, 6);
    drop(s);
    let s = serve(&cwd, &["--config", "twostep.toml", "--captcha-bits", "7"], &[("TWOSTEP_CAPTCHA_BITS", "6")]);
    assert_eq!(captcha_bits(&s).await, 7);
    drop(s);
    std::fs::write(cwd.join("bad.toml"), "captcha_bitz = 5\n").unwrap();
    let (ok, text) = run(&cwd, &["serve", "--config", "bad.toml"], "");
    assert!(!ok && text.contains("captcha_bitz"), "{text}");
    let _ = std::fs::remove_dir_all(cwd);
}

#[tokio::test]
async fn help_migrate_and_staff_add_work_on_the_same_database() {
    let cwd = temp_dir();
    for args in [&["--help"][..], &["serve", "--help"], &["staff", "add", "--help"], &["keys", "--help"]] {
        let (ok, text) = run(&cwd, args, "");
        assert!(ok && text.contains("Usage"), "{args:?}: {text}");
    }
    let (ok, text) = run(&cwd, &["serve", "--help"], "");
    assert!(ok && text.contains("TWOSTEP_CAPTCHA_BITS") && text.contains("--data-dir"), "{text}");
    let (ok, text) = run(&cwd, &["migrate", "--data-dir", "d"], "");
    assert!(ok, "{text}");
    let (ok, text) = run(&cwd, &["staff", "add", "--email", "Rev@Example.com", "--role", "reviewer", "--data-dir", "d"], "staff password 1\n");
    assert!(ok, "{text}");
    let (ok, text) = run(&cwd, &["staff", "add", "--email", "x@example.com", "--role", "king", "--data-dir", "d"], "staff password 1\n");
    assert!(!ok, "{text}");
    let (ok, text) = run(&cwd, &["staff", "add", "--email", "y@example.com", "--role", "admin", "--data-dir", "d"], "short\n");
    assert!(!ok && text.contains("password"), "{text}");
    let server = serve(&cwd, &["--data-dir", "d", "--captcha-bits", "0"], &[]);
    let (status, body) = post(&server.url, "/api/v1/login", json!({"email": "rev@example.com", "password": "staff password 1"}), None).await;
    assert_eq!(status, 200, "{body}");
    let token = body["session_token"].as_str().unwrap().to_owned();
    let me = get(&server.url, "/api/v1/me", Some(&token)).await.1;
    assert_eq!(me["role"], "reviewer");
    drop(server);
    let _ = std::fs::remove_dir_all(cwd);
}

#[tokio::test]
async fn key_rotation_re_encrypts_secrets_and_codes_keep_working() {
    let cwd = temp_dir();
    let args = ["--data-dir", "d", "--captcha-bits", "0"];
    run(&cwd, &["staff", "add", "--email", "k@example.com", "--role", "admin", "--data-dir", "d"], "rotate password\n");
    let server = serve(&cwd, &args, &[]);
    let login = |url: String| async move {
        post(&url, "/api/v1/login", json!({"email": "k@example.com", "password": "rotate password"}), None).await.1
    };
    let token = login(server.url.clone()).await["session_token"].as_str().unwrap().to_owned();
    let setup = post(&server.url, "/api/v1/me/totp", json!({}), Some(&token)).await.1;
    let key = setup["backup_key"].as_str().unwrap().to_owned();
    let code = twostep_testkit::oathtool(&key, now());
    let body = json!({"setup_id": setup["setup_id"], "backup_key": key, "code": code});
    assert_eq!(post(&server.url, "/api/v1/me/totp/confirm", body, Some(&token)).await.0, 200);
    drop(server);
    let old_key = std::fs::read_to_string(cwd.join("d/master.key")).unwrap();

    let (ok, text) = run(&cwd, &["keys", "rotate", "--data-dir", "d"], "");
    assert!(ok && text.contains("1 secrets re-encrypted"), "{text}");
    assert_ne!(std::fs::read_to_string(cwd.join("d/master.key")).unwrap(), old_key);
    assert_eq!(mode(&cwd.join("d/master.key")), 0o600);

    // The server opens the re-sealed secret with the new key: a code from the
    // next time step signs in.
    let server = serve(&cwd, &args, &[]);
    let pending = login(server.url.clone()).await;
    assert_eq!(pending["status"], "second_factor_required", "{pending}");
    let step_start = (now() / 30 + 1) * 30;
    tokio::time::sleep(std::time::Duration::from_secs((step_start - now()).max(0) as u64)).await;
    let code = twostep_testkit::oathtool(&key, now());
    let r = post(&server.url, &format!("/api/v1/login/{}/totp", pending["login_id"].as_str().unwrap()), json!({"code": code}), None).await;
    assert_eq!(r.0, 200, "{r:?}");
    drop(server);
    let _ = std::fs::remove_dir_all(cwd);
}
