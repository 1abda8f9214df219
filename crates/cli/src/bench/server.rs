//! The servers under test: `twostep serve` processes on the benchmark's
//! database, started with the settings a run needs, and what /proc says about
//! them (CPU time, resident memory).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::AsyncBufReadExt;

/// How the servers of a run are started. Everything not named here is the
/// production default, except the per-IP limits (every client is 127.0.0.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerSpec {
    pub instances: usize,
    pub captcha_bits: u32,
    /// SQLite only: "full" or "normal".
    pub synchronous: Option<&'static str>,
    pub group_commit: bool,
    pub audit_chain: bool,
}

impl ServerSpec {
    pub fn new(sqlite: bool) -> Self {
        Self {
            instances: 1,
            captcha_bits: 0,
            synchronous: sqlite.then_some("full"),
            group_commit: true,
            audit_chain: true,
        }
    }

    /// What differs from a production server, for the report ("default" when nothing).
    pub fn variant(&self) -> String {
        let mut parts = Vec::new();
        if self.instances > 1 {
            parts.push(format!("{} instances", self.instances));
        }
        if self.synchronous == Some("normal") {
            parts.push("synchronous=normal".to_owned());
        }
        if !self.group_commit {
            parts.push("no group commit (bench only)".to_owned());
        }
        if !self.audit_chain {
            parts.push("no audit chain (bench only)".to_owned());
        }
        if parts.is_empty() { "default".to_owned() } else { parts.join(", ") }
    }
}

pub struct Server {
    child: tokio::process::Child,
    pub addr: String,
    pub pid: u32,
}

/// The running instances of one spec and their resident memory once idle.
pub struct Servers {
    pub spec: ServerSpec,
    pub instances: Vec<Server>,
    pub idle_rss_mb: f64,
}

impl Servers {
    pub async fn start(binary: &Path, dir: &Path, url: &str, spec: &ServerSpec) -> Result<Self> {
        let mut instances = Vec::new();
        for _ in 0..spec.instances {
            instances.push(start_one(binary, dir, url, spec).await?);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let idle_rss_mb = instances.iter().map(|s| status_kb(s.pid, "VmRSS:") / 1024.0).fold(0.0, f64::max);
        eprintln!("server ({}) idle RSS {idle_rss_mb:.1} MB", spec.variant());
        Ok(Self { spec: spec.clone(), instances, idle_rss_mb })
    }

    pub fn addrs(&self) -> Vec<String> {
        self.instances.iter().map(|s| s.addr.clone()).collect()
    }

    /// CPU seconds of every instance together.
    pub fn cpu_seconds(&self) -> f64 {
        self.instances.iter().map(|s| cpu_seconds(s.pid)).sum()
    }

    /// The highest peak resident memory of any instance, in MB.
    pub fn peak_rss_mb(&self) -> f64 {
        self.instances.iter().map(|s| status_kb(s.pid, "VmHWM:") / 1024.0).fold(0.0, f64::max)
    }

    pub async fn stop(mut self) {
        for s in &mut self.instances {
            let _ = s.child.kill().await;
        }
    }
}

async fn start_one(binary: &Path, dir: &Path, url: &str, spec: &ServerSpec) -> Result<Server> {
    let big = "1000000000";
    let mut command = tokio::process::Command::new(binary);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--captcha-bits", &spec.captcha_bits.to_string(), "--data-dir"])
        .arg(dir)
        .args(["--database-url", url, "--login-per-ip-per-minute", big, "--accounts-per-ip-per-hour", big])
        .args([
            "--captcha-per-ip-per-minute",
            big,
            "--codes-per-ip-per-minute",
            big,
            "--codes-sent-per-ip-per-hour",
            big,
        ]);
    if let Some(synchronous) = spec.synchronous {
        command.args(["--sqlite-synchronous", synchronous]);
    }
    if !spec.group_commit {
        command.arg("--bench-only-without-group-commit");
    }
    if !spec.audit_chain {
        command.arg("--bench-only-without-audit-chain");
    }
    let mut child = command
        .env("TWOSTEP_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("starting twostep serve")?;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().context("stdout")?).lines();
    let line = lines.next_line().await?.context("server exited before listening")?;
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .context("no address in the server's first line")?
        .to_owned();
    let pid = child.id().context("pid")?;
    Ok(Server { child, addr, pid })
}

/// utime + stime of a process, in seconds (Linux clock ticks of 1/100 s).
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn status_kb(pid: u32, key: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}
