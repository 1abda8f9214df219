//! `twostep bench`: starts real `twostep serve` processes on a temporary
//! database, seeds it, drives them over loopback HTTP with a bounded load
//! generator — closed-loop (fixed concurrency) or open-loop (a fixed arrival
//! rate, `--rate`, `--rate-sweep`) — and prints a table, and optionally JSON,
//! of what each run counted: expected answers per second, their latency
//! percentiles, errors by kind, whether an open-loop generator kept to its
//! schedule, server CPU per 1,000 answers and the servers' memory.

mod http;
mod load;
mod neighbour;
mod run;
mod scenario;
mod seed;
mod server;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// One or more (comma-separated) of totp-valid, totp-wrong, password, me,
    /// sms-codes, whole-sign-in, oidc-refresh (the token endpoint), scale-out (PostgreSQL: 1 then 2 instances), costs
    /// (group commit, audit chain and on SQLite synchronous, each on and off), neighbour
    /// (another user's password step while one account floods the server), or all (the
    /// first six)
    #[arg(long, default_value = "all")]
    pub scenario: String,
    /// sqlite or postgres
    #[arg(long, default_value = "sqlite")]
    pub backend: String,
    /// Accounts in the database besides those the scenarios use up
    #[arg(long, default_value_t = 10_000)]
    pub accounts: u64,
    /// Connections. Closed-loop: concurrent clients, totp-valid with `all` runs 1, 8, 32
    /// and 128 when not given, others 32. Open-loop: the most requests in flight [default: 256]
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Seconds each run lasts
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Open-loop: start this many units per second on a fixed schedule, whatever the
    /// answers; latency counts from each scheduled start
    #[arg(long, conflicts_with = "rate_sweep")]
    pub rate: Option<f64>,
    /// Open-loop at each rate FROM, FROM+STEP, … up to TO (FROM:TO:STEP); reports the
    /// sustainable rate, the highest with p99 < 10 ms. Stops after two rates in a row miss it
    #[arg(long, value_name = "FROM:TO:STEP")]
    pub rate_sweep: Option<String>,
    /// Captcha difficulty for whole-sign-in (the generator solves each challenge before
    /// the clock starts) [default: the server's default]
    #[arg(long)]
    pub captcha_bits: Option<u32>,
    /// Also write the rows as JSON to this file
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// PostgreSQL server for --backend postgres (a database is created and dropped)
    #[arg(long, env = "TWOSTEP_BENCH_PG_URL", default_value = "postgres://postgres@127.0.0.1:5432")]
    pub pg_url: String,
}

/// One line of the report; the JSON schema is this struct. The fields up to
/// `note` are the original, stable ones; later ones were added (see
/// docs/benchmarks.md for each).
#[derive(Serialize, Debug, Clone)]
pub struct Row {
    pub scenario: String,
    pub backend: String,
    pub accounts: u64,
    pub concurrency: usize,
    /// Expected answers only (`counts` says what they are).
    pub requests: u64,
    /// Expected answers per second.
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    /// transport_errors + unexpected_answers.
    pub errors: u64,
    /// Server CPU seconds per 1,000 expected answers (all instances).
    pub cpu_s_per_1k: f64,
    /// The load generator's own CPU seconds per 1,000 expected answers (it
    /// shares the machine's cores with the server; 0 on rows of the same run
    /// after the first).
    pub generator_cpu_s_per_1k: f64,
    pub peak_rss_mb: f64,
    /// Context for the row (e.g. the argon2 limit for the password step).
    pub note: String,
    /// What `requests`, `rps` and the percentiles count.
    pub counts: String,
    /// "closed" or "open".
    pub mode: String,
    /// Open-loop: the rate asked for, units per second.
    pub offered_rps: Option<f64>,
    /// Units started (open-loop: on the schedule, late or not).
    pub started: u64,
    pub max_ms: f64,
    /// Connections that failed or closed without an answer.
    pub transport_errors: u64,
    /// Answers with another status than expected, and by status.
    pub unexpected_answers: u64,
    pub unexpected_statuses: BTreeMap<String, u64>,
    /// Open-loop: units started more than 1 ms after their scheduled time,
    /// those of them no connection was free for, and the largest lag.
    pub late_starts: Option<u64>,
    pub late_no_connection: Option<u64>,
    pub max_lag_ms: Option<f64>,
    /// Open-loop: at most 1% of units started late.
    pub generator_kept_up: Option<bool>,
    /// Open-loop: p99 < 10 ms, no errors and the generator kept up.
    pub holds_p99_10ms: Option<bool>,
    /// The servers: what differs from production ("default" when nothing),
    /// instances, SQLite synchronous, group commit, audit chain.
    pub variant: String,
    pub instances: usize,
    pub sqlite_synchronous: Option<String>,
    pub group_commit: bool,
    pub audit_chain: bool,
    /// Resident memory of the server once started, before any load (MB).
    pub idle_rss_mb: f64,
}

pub const SCENARIOS: [&str; 10] = [
    "totp-valid",
    "totp-wrong",
    "password",
    "me",
    "sms-codes",
    "whole-sign-in",
    "scale-out",
    "costs",
    "neighbour",
    "oidc-refresh",
];
/// Those `all` runs.
const ALL: usize = 6;
/// What an open-loop run must hold to count towards the sustainable rate.
pub const SUSTAINABLE_P99_MS: f64 = 10.0;

/// How the runs are paced.
#[derive(Clone, Debug)]
pub enum Pacing {
    Closed,
    Rates(Vec<f64>),
}

fn parse_sweep(s: &str) -> Result<Vec<f64>> {
    let parts: Vec<f64> =
        s.split(':').map(|p| p.trim().parse::<f64>()).collect::<Result<_, _>>().context("--rate-sweep FROM:TO:STEP")?;
    let [from, to, step] = parts[..] else { bail!("--rate-sweep takes FROM:TO:STEP") };
    if !(from > 0.0 && to >= from && step > 0.0) || (to - from) / step > 100.0 {
        bail!("--rate-sweep: 0 < FROM <= TO, STEP > 0, at most 100 rates");
    }
    Ok((0..).map(|i| from + i as f64 * step).take_while(|r| *r <= to + 1e-9).collect())
}

pub async fn bench(args: BenchArgs, binary: PathBuf, sqlite_normal: bool) -> Result<()> {
    let scenarios: Vec<&str> = match args.scenario.as_str() {
        "all" => SCENARIOS[..ALL].to_vec(),
        list => {
            let chosen: Vec<&str> = list.split(',').map(str::trim).collect();
            if let Some(bad) = chosen.iter().find(|s| !SCENARIOS.contains(s)) {
                bail!("unknown scenario {bad}; one or more of {SCENARIOS:?}, or all");
            }
            chosen
        }
    };
    if !matches!(args.backend.as_str(), "sqlite" | "postgres") {
        bail!("--backend must be sqlite or postgres");
    }
    if scenarios.contains(&"scale-out") && args.backend != "postgres" {
        bail!("scale-out runs two instances on one database: --backend postgres");
    }
    if args.accounts == 0 {
        bail!("--accounts must be at least 1");
    }
    if args.seconds == 0 || args.seconds > 600 {
        bail!("--seconds must be between 1 and 600");
    }
    let pacing = match (&args.rate, &args.rate_sweep) {
        (Some(r), _) if !(*r > 0.0 && *r <= 200_000.0) => bail!("--rate must be between 0 and 200000"),
        (Some(r), _) => Pacing::Rates(vec![*r]),
        (None, Some(sweep)) => Pacing::Rates(parse_sweep(sweep)?),
        (None, None) => Pacing::Closed,
    };
    if matches!(pacing, Pacing::Rates(_)) && scenarios.contains(&"sms-codes") {
        bail!("sms-codes runs closed-loop only (its unit waits for the delivery queue)");
    }
    if matches!(pacing, Pacing::Rates(_)) && scenarios.contains(&"neighbour") {
        bail!("neighbour runs closed-loop only (a probe every 10 ms beside a flood)");
    }
    let rows = run::run(&args, &scenarios, &pacing, &binary, sqlite_normal).await?;
    print_table(&rows);
    if let Pacing::Rates(rates) = &pacing
        && rates.len() > 1
    {
        print_sustainable(&rows);
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&rows)?)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<24} {:<28} {:<8} {:>7} {:>5} {:>8} {:>8} {:>7} {:>7} {:>8} {:>8} {:>11} {:>9} {:>8} {:>8} {:>6} {:>6}  note",
        "scenario",
        "variant",
        "backend",
        "offered",
        "conn",
        "answers",
        "ans/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "errors t/u",
        "late/max",
        "cpu s/1k",
        "gen s/1k",
        "rss",
        "idle"
    );
    for r in rows {
        let offered = r.offered_rps.map_or("closed".to_owned(), |o| format!("{o:.0}"));
        let late = match (r.late_starts, r.max_lag_ms) {
            (Some(l), Some(m)) => format!("{l}/{m:.0}ms"),
            _ => "-".to_owned(),
        };
        println!(
            "{:<24} {:<28} {:<8} {:>7} {:>5} {:>8} {:>8.0} {:>7.2} {:>7.2} {:>8.2} {:>8.1} {:>11} {:>9} {:>8.3} {:>8.3} {:>6.1} {:>6.1}  {}",
            r.scenario,
            r.variant,
            r.backend,
            offered,
            r.concurrency,
            r.requests,
            r.rps,
            r.p50_ms,
            r.p99_ms,
            r.p999_ms,
            r.max_ms,
            format!("{}/{}", r.transport_errors, r.unexpected_answers),
            late,
            r.cpu_s_per_1k,
            r.generator_cpu_s_per_1k,
            r.peak_rss_mb,
            r.idle_rss_mb,
            r.note
        );
    }
}

/// The highest offered rate that held, per scenario and variant.
fn print_sustainable(rows: &[Row]) {
    let mut best: BTreeMap<(String, String), Option<f64>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.mode == "open") {
        let entry = best.entry((r.scenario.clone(), r.variant.clone())).or_default();
        if let (Some(true), Some(rate)) = (r.holds_p99_10ms, r.offered_rps) {
            *entry = Some(entry.map_or(rate, |best: f64| best.max(rate)));
        }
    }
    for ((scenario, variant), rate) in best {
        match rate {
            Some(rate) => println!(
                "sustainable rate {scenario} ({variant}, {}): {rate:.0}/s (highest offered rate with p99 < {SUSTAINABLE_P99_MS} ms, \
                 no errors, generator on schedule)",
                rows[0].backend
            ),
            None => println!(
                "sustainable rate {scenario} ({variant}): none of the offered rates held p99 < {SUSTAINABLE_P99_MS} ms"
            ),
        }
    }
}
