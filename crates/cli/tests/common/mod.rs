//! What the command-line tests share: `twostep serve` as a real process on a
//! free port, other `twostep` commands, and plain calls to the API; for the
//! crash tests, a database that outlives the servers killed on it and calls
//! that tell "the server is gone" from an answer.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use twostep_testkit::{Backend, TestDatabase};

pub const BIN: &str = env!("CARGO_BIN_EXE_twostep");

pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("twostep-cli-{}", twostep_app::crypto::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A data directory (0700) holding `key` as its master key file (0600), as
/// `twostep serve` writes it: commands run on it seal and open what a test
/// server with that key does.
pub fn data_dir_with_key(dir: &Path, key: &twostep_app::crypto::MasterKey) {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).unwrap();
    let mut f =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(dir.join("master.key")).unwrap();
    std::io::Write::write_all(&mut f, data_encoding::HEXLOWER.encode(key.as_bytes()).as_bytes()).unwrap();
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A running `twostep serve`; killed when dropped.
pub struct Server {
    child: Child,
    pub url: String,
    /// The line the server printed on start.
    pub banner: String,
}

impl Server {
    /// The server's process id, to read its memory from /proc.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `twostep serve --listen 127.0.0.1:0 ARGS` in `cwd` and waits for the
/// line that names its address.
pub fn serve(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> Server {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        // These tests sign in from a new client each time; the new-device
        // confirmation has its own tests (crates/testkit/tests/api_devices.rs).
        .env("TWOSTEP_DEVICE_CONFIRMATION", "off")
        .envs(envs.iter().copied())
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url =
        line.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("no URL in {line:?}"));
    Server { url: url.to_owned(), banner: line.trim().to_owned(), child }
}

/// Runs `twostep ARGS` in `cwd` with `stdin`; returns success and all output.
pub fn run(cwd: &Path, args: &[&str], stdin: &str) -> (bool, String) {
    run_env(cwd, args, stdin, &[])
}

/// Runs `twostep ARGS` in `cwd` with extra environment variables.
pub fn run_env(cwd: &Path, args: &[&str], stdin: &str, envs: &[(&str, &str)]) -> (bool, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Starts `twostep ARGV` (a whole command line, e.g. `serve --listen …`)
/// with its standard error written to `log`: the server once it names its
/// address, or Err with everything it wrote when it exits first (it refused
/// to start).
pub fn start(cwd: &Path, argv: &[&str], envs: &[(&str, &str)], log: &Path) -> Result<Server, String> {
    let mut child = Command::new(BIN)
        .args(argv)
        .env("TWOSTEP_DEVICE_CONFIRMATION", "off")
        .envs(envs.iter().copied())
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    match line.split_whitespace().find(|w| w.starts_with("http://")) {
        Some(url) => Ok(Server { url: url.replace("0.0.0.0", "127.0.0.1"), banner: line.trim().to_owned(), child }),
        None => {
            let _ = child.wait();
            Err(format!("{line}{}", std::fs::read_to_string(log).unwrap_or_default()))
        }
    }
}

pub async fn call(url: &str, method: &str, path: &str, body: Option<Value>, token: Option<&str>) -> (u16, Value) {
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

pub async fn post(url: &str, path: &str, body: Value, token: Option<&str>) -> (u16, Value) {
    call(url, "POST", path, Some(body), token).await
}

pub async fn get(url: &str, path: &str, token: Option<&str>) -> (u16, Value) {
    call(url, "GET", path, None, token).await
}

// ------------------------------------------------------------ crash tests

/// Flags of a server under load from one address: no captcha, and the
/// per-IP limits out of the way (every test client is 127.0.0.1).
pub const RELAXED_LIMITS: &[&str] = &[
    "--captcha-bits",
    "0",
    "--login-per-ip-per-minute",
    "1000000",
    "--accounts-per-ip-per-hour",
    "1000000",
    "--codes-per-ip-per-minute",
    "1000000",
    "--codes-sent-per-ip-per-hour",
    "1000000",
];

/// A data directory and database (SQLite in the data directory, or a fresh
/// PostgreSQL database) that outlive the `twostep serve` processes a crash
/// test starts and kills on them.
pub struct CrashSite {
    pub backend: Backend,
    pub label: String,
    pub data: PathBuf,
    cwd: PathBuf,
    db: TestDatabase,
    /// `--data-dir` and, on PostgreSQL, `--database-url`: for every command.
    storage_args: Vec<String>,
    serve_args: Vec<String>,
}

impl CrashSite {
    /// `serve_args` come on top of [`RELAXED_LIMITS`].
    pub async fn new(backend: Backend, serve_args: &[&str]) -> Self {
        let db = TestDatabase::create(backend).await;
        let cwd = temp_dir();
        let data = cwd.join("data");
        let mut storage_args = vec!["--data-dir".to_owned(), data.display().to_string()];
        if backend == Backend::Postgres {
            storage_args.extend(["--database-url".to_owned(), db.url.clone()]);
        }
        let serve_args =
            RELAXED_LIMITS.iter().chain(serve_args).map(|s| s.to_string()).chain(storage_args.clone()).collect();
        Self { backend, label: format!("{backend:?}"), data, cwd, db, storage_args, serve_args }
    }

    /// Starts `twostep serve` on the site; SIGKILLed when dropped.
    pub fn serve(&self) -> Server {
        let argv: Vec<&str> = self.serve_args.iter().map(String::as_str).collect();
        serve(&self.cwd, &argv, &[])
    }

    /// Runs `twostep ARGS` on the site's database.
    pub fn run(&self, args: &[&str], stdin: &str) -> (bool, String) {
        let mut all = args.to_vec();
        all.extend(self.storage_args.iter().map(String::as_str));
        run(&self.cwd, &all, stdin)
    }

    /// The database the server uses, for reading it directly.
    pub fn database_url(&self) -> String {
        match self.backend {
            Backend::Sqlite => format!("sqlite://{}", self.data.join("twostep.db").display()),
            Backend::Postgres => self.db.url.clone(),
        }
    }

    /// After a crash: SQLite's integrity check says "ok" and the audit
    /// log's hash chain verifies.
    pub fn check_storage(&self, crash: usize) {
        let l = &self.label;
        if self.backend == Backend::Sqlite {
            assert_eq!(
                sqlite_integrity(&self.data.join("twostep.db")),
                "ok",
                "{l}: integrity_check after crash {crash}"
            );
        }
        let (ok, text) = self.run(&["audit", "verify"], "");
        assert!(ok, "{l}: audit chain after crash {crash}: {text}");
    }

    pub async fn remove(self) {
        self.db.drop_database().await;
        let _ = std::fs::remove_dir_all(&self.cwd);
    }
}

/// `PRAGMA integrity_check` of a SQLite file, by another implementation
/// than the server's (Python's sqlite3).
pub fn sqlite_integrity(file: &Path) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])",
        ])
        .arg(file)
        .output()
        .expect("python3 for the SQLite integrity check");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A JSON request to the API, with a timeout so a killed server cannot hang it.
pub fn request(
    url: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> reqwest::RequestBuilder {
    let mut req = twostep_testkit::http_client()
        .request(method.parse().unwrap(), format!("{url}{path}"))
        .timeout(Duration::from_secs(10));
    if let Some(b) = body {
        req = req.json(&b);
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req
}

/// Sends `req`: the status and the JSON body (Null if the body is not
/// JSON), or None when the server did not answer (it was killed).
pub async fn answer(req: reqwest::RequestBuilder) -> Option<(u16, Value)> {
    let r = req.send().await.ok()?;
    let status = r.status().as_u16();
    Some((status, r.json().await.unwrap_or(Value::Null)))
}

/// One request; None when the server did not answer (it was killed).
pub async fn try_call(
    url: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> Option<(u16, Value)> {
    answer(request(url, method, path, body, token)).await
}

/// An answer with `want`; None (stop this client) for anything else but a
/// server error, which is a bug.
pub fn expect(answer: (u16, Value), want: u16) -> Option<Value> {
    assert!(answer.0 < 500, "a server error under load: {answer:?}");
    (answer.0 == want).then_some(answer.1)
}

/// The codes in the messages to `to` (an e-mail address or a +E.164
/// number) in the development outbox, newest first; None if the server is
/// gone.
pub async fn outbox_codes(url: &str, to: &str) -> Option<Vec<String>> {
    let path = format!("/api/v1/dev/outbox?to={}", to.replace('+', "%2B"));
    let (_, body) = try_call(url, "GET", &path, None, None).await?;
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let bodies = messages.iter().filter_map(|m| m["body"].as_str()).filter(|b| b.contains(" code is "));
    Some(bodies.filter_map(twostep_testkit::extract_code).collect())
}

/// The newest code sent to `to`, once more than `seen` messages with a code
/// have been delivered there. None if the server is gone or the message
/// never comes.
pub async fn outbox_code(url: &str, to: &str, seen: usize) -> Option<String> {
    for _ in 0..250 {
        let codes = outbox_codes(url, to).await?;
        if codes.len() > seen {
            return codes.into_iter().next();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// Signs a staff account without a second factor in with its password,
/// binds an authenticator (codes from the reference `oathtool`) and returns
/// that session, which has staff access from then on.
pub async fn staff_with_authenticator(url: &str, email: &str, password: &str) -> String {
    let (status, login) =
        post(url, "/api/v1/login", serde_json::json!({"email": email, "password": password}), None).await;
    assert_eq!((status, login["status"].as_str()), (200, Some("authenticated")), "{email}: {login}");
    let token = login["session_token"].as_str().unwrap().to_owned();
    let sudo = serde_json::json!({"method": "password", "password": password});
    let (status, proof) = post(url, "/api/v1/me/sudo", sudo, Some(&token)).await;
    assert_eq!(status, 200, "{proof}");
    let (status, setup) = post(url, "/api/v1/me/totp", serde_json::json!({}), Some(&token)).await;
    assert_eq!(status, 201, "{setup}");
    let key = setup["backup_key"].as_str().unwrap();
    let code = twostep_testkit::oathtool(key, now());
    let body = serde_json::json!({"setup_id": setup["setup_id"], "backup_key": key, "code": code});
    let (status, bound) = post(url, "/api/v1/me/totp/confirm", body, Some(&token)).await;
    assert_eq!(status, 200, "{bound}");
    token
}
