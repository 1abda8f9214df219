//! What the command-line tests share: `twostep serve` as a real process on a
//! free port, other `twostep` commands, and plain calls to the API.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_twostep");

pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("twostep-cli-{}", twostep_app::crypto::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A running `twostep serve`; killed when dropped.
pub struct Server {
    child: Child,
    pub url: String,
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
        .envs(envs.iter().copied())
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("no URL in {line:?}"));
    Server { url: url.to_owned(), child }
}

/// Runs `twostep ARGS` in `cwd` with `stdin`; returns success and all output.
pub fn run(cwd: &Path, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(BIN)
        .args(args)
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
