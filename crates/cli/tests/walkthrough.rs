//! What a newcomer does first, through the real binary: start `twostep
//! serve` as the README says (default captcha difficulty, messages in the
//! development outbox), read where the pages and the outbox are from what
//! it prints, and run the README's walk-through, `scripts/walkthrough.sh`,
//! against it exactly as written.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{BIN, temp_dir};

/// `twostep serve ARGS` in `cwd`, and the lines it printed on standard
/// output within the first seconds.
struct Started {
    child: Child,
    lines: Vec<String>,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(cwd: &Path, args: &[&str]) -> Started {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    // Kept reading for the server's whole life, so it never writes to a closed pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = vec![rx.recv_timeout(Duration::from_secs(60)).expect("the server prints its address")];
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
        lines.push(line);
    }
    Started { child, lines }
}

/// The `http://…` address on the printed line starting with `label`.
fn address(lines: &[String], label: &str) -> Option<String> {
    let line = lines.iter().find(|l| l.starts_with(label))?;
    line.split_whitespace().find(|w| w.starts_with("http://")).map(|w| w.trim_end_matches(',').to_owned())
}

async fn status_of(url: &str) -> u16 {
    twostep_testkit::http_client().get(url).send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walkthrough_runs_as_written_against_a_default_server() {
    let cwd = temp_dir();
    let server = start(&cwd, &[]);
    let text = server.lines.join("\n");

    // Where to go, plainly, besides the logs: the pages and the outbox.
    let pages = address(&server.lines, "pages:").unwrap_or_else(|| panic!("no pages address in {text}"));
    assert!(pages.starts_with("http://127.0.0.1:") && pages.ends_with('/'), "{text}");
    let base = pages.trim_end_matches('/').to_owned();
    assert!(text.contains(&format!("{base}/dev/outbox")), "{text}");
    assert!(text.contains(&format!("{base}/api/v1/dev/outbox")), "{text}");
    assert_eq!(status_of(&format!("{base}/login")).await, 200);
    assert_eq!(status_of(&format!("{base}/dev/outbox")).await, 200);
    assert_eq!(status_of(&format!("{base}/api/v1/dev/outbox?to=nobody@example.com")).await, 200);

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/walkthrough.sh");
    let run = tokio::task::spawn_blocking(move || {
        Command::new("bash").arg(script).env("TWOSTEP_URL", &base).current_dir(&cwd).output().unwrap()
    })
    .await
    .unwrap();
    let out = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "the walk-through failed:\n{out}");
    assert!(out.contains("walkthrough done"), "{out}");
    // The enrolment code, sent again, is refused saying why.
    assert!(out.contains("already used") && out.contains("wait for the next code"), "{out}");
    assert!(out.contains("\"totp\":true"), "the account ends with its authenticator bound:\n{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_provider_the_start_names_no_outbox() {
    let cwd = temp_dir();
    let args = ["--smtp-host", "127.0.0.1", "--smtp-port", "9", "--smtp-tls", "none", "--smtp-from", "t@example.com"];
    let server = start(&cwd, &args);
    let text = server.lines.join("\n");
    let pages = address(&server.lines, "pages:").unwrap_or_else(|| panic!("no pages address in {text}"));
    assert!(!text.contains("outbox:"), "{text}");
    assert_eq!(status_of(&format!("{pages}login")).await, 200);
}
