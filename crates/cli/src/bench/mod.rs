//! `twostep bench`: starts a real `twostep serve` process on a temporary
//! database, seeds it, drives it over loopback HTTP with a bounded load
//! generator (fixed duration and concurrency, then it stops) and prints a
//! table — and optionally JSON — of throughput, latency percentiles, errors,
//! server CPU per 1,000 requests and the server's peak RSS.

mod http;
mod run;
mod seed;

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use serde::Serialize;

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// totp-valid, totp-wrong, password, me, sms-codes or all
    #[arg(long, default_value = "all")]
    pub scenario: String,
    /// sqlite or postgres
    #[arg(long, default_value = "sqlite")]
    pub backend: String,
    /// Accounts in the database besides those the scenarios use up
    #[arg(long, default_value_t = 10_000)]
    pub accounts: u64,
    /// Concurrent connections; scenario totp-valid with `all` runs 1, 8, 32 and 128 when not given
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Seconds each run lasts
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Also write the rows as JSON to this file
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// PostgreSQL server for --backend postgres (a database is created and dropped)
    #[arg(long, env = "TWOSTEP_BENCH_PG_URL", default_value = "postgres://postgres@127.0.0.1:5432")]
    pub pg_url: String,
}

/// One line of the report; the JSON schema is this struct, and stable.
#[derive(Serialize, Debug, Clone)]
pub struct Row {
    pub scenario: String,
    pub backend: String,
    pub accounts: u64,
    pub concurrency: usize,
    pub requests: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub errors: u64,
    pub cpu_s_per_1k: f64,
    pub peak_rss_mb: f64,
    /// Context for the row (e.g. the argon2 limit for the password step).
    pub note: String,
}

pub const SCENARIOS: [&str; 5] = ["totp-valid", "totp-wrong", "password", "me", "sms-codes"];

pub async fn bench(args: BenchArgs, binary: PathBuf) -> Result<()> {
    let scenarios: Vec<&str> = match args.scenario.as_str() {
        "all" => SCENARIOS.to_vec(),
        s if SCENARIOS.contains(&s) => vec![s],
        other => bail!("unknown scenario {other}; one of {SCENARIOS:?} or all"),
    };
    if !matches!(args.backend.as_str(), "sqlite" | "postgres") {
        bail!("--backend must be sqlite or postgres");
    }
    if args.accounts == 0 {
        bail!("--accounts must be at least 1");
    }
    if args.seconds == 0 || args.seconds > 600 {
        bail!("--seconds must be between 1 and 600");
    }
    let rows = run::run(&args, &scenarios, &binary).await?;
    print_table(&rows);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&rows)?)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<20} {:<8} {:>9} {:>5} {:>9} {:>9} {:>8} {:>8} {:>9} {:>7} {:>10} {:>8}  note",
        "scenario", "backend", "accounts", "conc", "requests", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "errors", "cpu s/1k", "rss MB"
    );
    for r in rows {
        println!(
            "{:<20} {:<8} {:>9} {:>5} {:>9} {:>9.0} {:>8.2} {:>8.2} {:>9.2} {:>7} {:>10.3} {:>8.1}  {}",
            r.scenario, r.backend, r.accounts, r.concurrency, r.requests, r.rps, r.p50_ms, r.p99_ms, r.p999_ms, r.errors,
            r.cpu_s_per_1k, r.peak_rss_mb, r.note
        );
    }
}
