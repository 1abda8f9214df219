//! Orchestration of a benchmark: the database, the plan of runs and what
//! each seeds, the servers each needs, and one report row per run.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use sqlx::{Connection, Executor};
use twostep_app::crypto::new_id;
use twostep_store::SqlStore;

use super::http::Conn;
use super::load::{Mode, Outcome, Tally, drive};
use super::scenario::{Kind, Pool, Scenario, Solved};
use super::seed;
use super::server::{ServerSpec, Servers};
use super::{BenchArgs, Pacing, Row, SUSTAINABLE_P99_MS};

/// Throughput the pools of single-use codes and login attempts are sized for
/// in a closed-loop run; a run that would need more simply ends early and
/// says so.
fn expected_rps(backend: &str) -> u64 {
    if backend == "sqlite" { 12_000 } else { 8_000 }
}

/// Open-loop connections when `--concurrency` is not given: enough for a
/// stall of 25 ms at 10,000 starts per second.
const OPEN_CONNECTIONS: usize = 256;

/// One run: a scenario on a set of servers at one pace.
#[derive(Clone)]
pub struct Planned {
    pub kind: Kind,
    pub connections: usize,
    pub pool: Pool,
    pub rate: Option<f64>,
    pub spec: ServerSpec,
    /// Runs of one sweep share a series; a sweep stops after two misses.
    pub series: usize,
    /// `neighbour`: the one account that floods the server.
    pub flood: Option<Pool>,
}

/// The argon2id figures a password-bound row is reported against.
struct Argon2 {
    cores: usize,
    /// One hash, seconds.
    t_hash: f64,
    /// Hashes per second of every core hashing at once.
    all_cores_rate: f64,
}

impl Argon2 {
    fn limit(&self) -> f64 {
        self.cores as f64 / self.t_hash
    }

    fn note(&self, rps: f64) -> String {
        format!(
            "argon2 limit {:.0}/s ({} cores / {:.1} ms); {:.0}% of it; {:.0}% of the {:.0}/s of {} bare hashers at once",
            self.limit(),
            self.cores,
            self.t_hash * 1000.0,
            rps / self.limit() * 100.0,
            rps / self.all_cores_rate * 100.0,
            self.all_cores_rate,
            self.cores
        )
    }
}

pub async fn run(
    args: &BenchArgs,
    scenarios: &[&str],
    pacing: &Pacing,
    binary: &Path,
    sqlite_normal: bool,
) -> Result<Vec<Row>> {
    let dir = std::env::temp_dir().join(format!("twostep-bench-{}", new_id()));
    let (url, pg_name) = match args.backend.as_str() {
        "sqlite" => (format!("sqlite://{}", dir.join("twostep.db").display()), None),
        _ => {
            let name = format!("twostep_bench_{}", new_id());
            admin(&args.pg_url, &format!("CREATE DATABASE {name}")).await?;
            (format!("{}/{name}", args.pg_url), Some(name))
        }
    };
    let result = run_in(args, scenarios, pacing, binary, &dir, &url, sqlite_normal).await;
    if let Some(name) = pg_name {
        admin(&args.pg_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn admin(base: &str, sql: &str) -> Result<()> {
    let mut conn =
        sqlx::PgConnection::connect(&format!("{base}/postgres")).await.context("connecting to PostgreSQL")?;
    conn.execute(sqlx::AssertSqlSafe(sql.to_owned())).await?;
    Ok(())
}

/// The server set-ups a scenario runs on, in order.
fn specs(scenario: &str, base: &ServerSpec, captcha_bits: u32) -> Vec<ServerSpec> {
    match scenario {
        "scale-out" => vec![base.clone(), ServerSpec { instances: 2, ..base.clone() }],
        "costs" => {
            let mut variants = Vec::new();
            if base.synchronous.is_some() {
                let other = if base.synchronous == Some("full") { "normal" } else { "full" };
                variants.push(ServerSpec { synchronous: Some(other), ..base.clone() });
            }
            variants.push(ServerSpec { group_commit: false, ..base.clone() });
            variants.push(ServerSpec { audit_chain: false, ..base.clone() });
            // Each variant runs between two runs of the default: the database
            // grows with every run, so a variant is compared with the default
            // as the database was around it, not with the first run alone.
            let mut specs = vec![base.clone()];
            for variant in variants {
                specs.push(variant);
                specs.push(base.clone());
            }
            specs
        }
        "whole-sign-in" => vec![ServerSpec { captcha_bits, ..base.clone() }],
        _ => vec![base.clone()],
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_in(
    args: &BenchArgs,
    scenarios: &[&str],
    pacing: &Pacing,
    binary: &Path,
    dir: &Path,
    url: &str,
    sqlite_normal: bool,
) -> Result<Vec<Row>> {
    let keyring = crate::keys::load_keyring(dir)?;
    let store = SqlStore::connect(url, &Default::default()).await?;
    store.migrate().await?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
    let hasher = twostep_app::passwords::PasswordHasher::new(1);
    let hash = hasher.hash(seed::PASSWORD).await?;
    // Timed on the idle machine, before the server starts.
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let argon2 =
        Argon2 { cores, t_hash: time_one_hash(&hasher).await?, all_cores_rate: hashes_per_second(cores).await? };
    let captcha_bits = args.captcha_bits.unwrap_or(twostep_app::Settings::default().captcha_bits);

    let seeding = Instant::now();
    let mut next_account = 0u64;
    let mut next_login = 0u64;
    // The population the scenarios run among (scenario 6 varies it).
    seed::accounts(&store, &keyring, 0..args.accounts, &hash, seed::Factor::Totp, now).await?;
    // The session the /me probe of the password scenario uses.
    seed::sessions(&store, 0..1, now).await?;
    next_account += args.accounts;
    let mut base = ServerSpec::new(args.backend == "sqlite");
    if sqlite_normal && base.synchronous.is_some() {
        base.synchronous = Some("normal");
    }
    let mut plan: Vec<Planned> = Vec::new();
    let mut series = 0;
    for &scenario in scenarios {
        let kind = match scenario {
            "totp-valid" | "scale-out" | "costs" => Kind::TotpValid,
            "totp-wrong" => Kind::TotpWrong,
            "password" | "neighbour" => Kind::Password,
            "me" => Kind::Me,
            "whole-sign-in" => Kind::WholeSignIn,
            "oidc-refresh" => Kind::OidcRefresh,
            _ => Kind::SmsCodes,
        };
        for spec in specs(scenario, &base, captcha_bits) {
            series += 1;
            let paces: Vec<(usize, Option<f64>)> = match pacing {
                Pacing::Closed => match (scenario, args.concurrency) {
                    (_, Some(c)) => vec![(c, None)],
                    ("totp-valid", None) => [1, 8, 32, 128].map(|c| (c, None)).to_vec(),
                    _ => vec![(32, None)],
                },
                Pacing::Rates(rates) => {
                    rates.iter().map(|r| (args.concurrency.unwrap_or(OPEN_CONNECTIONS), Some(*r))).collect()
                }
            };
            for (connections, rate) in paces {
                let per_run = match (kind, rate) {
                    (_, Some(rate)) => (rate * args.seconds as f64 * 1.02).ceil() as u64 + 64,
                    (Kind::SmsCodes, None) => expected_rps(&args.backend) * args.seconds / 10,
                    (Kind::WholeSignIn, None) => (argon2.limit() * 1.3 * args.seconds as f64).ceil() as u64,
                    // An RS256 signature each: a fifth of the sign-ins' rate is plenty.
                    (Kind::OidcRefresh, None) => expected_rps(&args.backend) * args.seconds / 5,
                    (_, None) => expected_rps(&args.backend) * args.seconds,
                };
                let (uses_per_account, factor) = match kind {
                    Kind::TotpValid => (2, seed::Factor::Totp),
                    Kind::TotpWrong => (9, seed::Factor::Totp),
                    Kind::Password | Kind::Me | Kind::Healthz | Kind::Questions | Kind::OidcRefresh => {
                        (u64::MAX, seed::Factor::None)
                    }
                    Kind::WholeSignIn => (1, seed::Factor::Totp),
                    // One code per number: the resend cool-down is per account.
                    Kind::SmsCodes => (1, seed::Factor::Phone),
                };
                let accounts_len = if uses_per_account == u64::MAX { 1000 } else { per_run.div_ceil(uses_per_account) };
                let mut pool =
                    Pool { accounts_start: next_account, accounts_len, logins_start: next_login, logins_len: 0 };
                seed::accounts(&store, &keyring, next_account..next_account + accounts_len, &hash, factor, now).await?;
                match kind {
                    Kind::TotpValid | Kind::TotpWrong | Kind::SmsCodes => {
                        let start = pool.accounts_start;
                        seed::logins(&store, next_login, per_run, |k| start + k % accounts_len, now).await?;
                        next_login += per_run;
                        pool.logins_len = per_run;
                    }
                    Kind::Me => seed::sessions(&store, next_account..next_account + accounts_len, now).await?,
                    Kind::OidcRefresh => {
                        seed::sessions(&store, next_account..next_account + accounts_len, now).await?;
                        let start = pool.accounts_start;
                        let of = |k| start + k % accounts_len;
                        seed::oidc_grants(&store, &keyring, next_login, per_run, of, now).await?;
                        next_login += per_run;
                        pool.logins_len = per_run;
                    }
                    _ => {}
                }
                next_account += accounts_len;
                let mut flood = None;
                if scenario == "neighbour" {
                    let noisy = next_account..next_account + 1;
                    seed::accounts(&store, &keyring, noisy.clone(), &hash, seed::Factor::None, now).await?;
                    seed::sessions(&store, noisy, now).await?;
                    flood =
                        Some(Pool { accounts_start: next_account, accounts_len: 1, logins_start: 0, logins_len: 0 });
                    next_account += 1;
                }
                plan.push(Planned { kind, connections, pool, rate, spec: spec.clone(), series, flood });
            }
        }
    }
    let seeded = seeding.elapsed();
    store.settle_after_load().await?;
    eprintln!(
        "seeded {next_account} accounts and {next_login} login attempts in {:.1} s, settled in {:.1} s",
        seeded.as_secs_f64(),
        (seeding.elapsed() - seeded).as_secs_f64()
    );
    store.close().await;

    let mut rows = Vec::new();
    let mut servers: Option<Servers> = None;
    let mut misses = (0usize, 0u32);
    for p in plan {
        if misses.0 == p.series && misses.1 >= 2 {
            continue;
        }
        if servers.as_ref().is_none_or(|s| s.spec != p.spec) {
            if let Some(s) = servers.take() {
                s.stop().await;
            }
            servers = Some(Servers::start(binary, dir, url, &p.spec).await?);
        }
        let s = servers.as_ref().expect("started above");
        let run = run_one(args, &p, s, &argon2).await?;
        if p.rate.is_some() {
            let missed = run[0].holds_p99_10ms != Some(true);
            let before = if misses.0 == p.series { misses.1 } else { 0 };
            misses = (p.series, if missed { before + 1 } else { 0 });
        }
        rows.extend(run);
    }
    if let Some(s) = servers.take() {
        s.stop().await;
    }
    Ok(rows)
}

async fn run_one(args: &BenchArgs, p: &Planned, servers: &Servers, argon2: &Argon2) -> Result<Vec<Row>> {
    if let Some(flood) = p.flood {
        return super::neighbour::run(args, p, servers, flood).await;
    }
    let addrs = servers.addrs();
    let mut captchas = Vec::new();
    let mut solve_note = String::new();
    if p.kind == Kind::WholeSignIn {
        let (solved, note) = solve_captchas(&addrs, p.pool.accounts_len as usize, argon2.cores).await?;
        captchas = solved;
        solve_note = note;
    }
    let scenario = Arc::new(Scenario { kind: p.kind, pool: p.pool, captchas });
    let cpu_before = servers.cpu_seconds();
    let generator_before = super::server::cpu_seconds(std::process::id());
    // While the password step saturates the hashers, the calls every page
    // makes must still answer quickly: probe them every 10 ms.
    let probes: Vec<_> = [(Kind::Healthz, "healthz-during-password"), (Kind::Me, "me-during-password")]
        .into_iter()
        .filter(|_| p.kind == Kind::Password)
        .map(|(probe, name)| {
            let addrs = addrs.clone();
            let first = Pool { accounts_start: 0, accounts_len: 1, logins_start: 0, logins_len: 0 };
            let probe = Arc::new(Scenario { kind: probe, pool: first, captchas: Vec::new() });
            let seconds = args.seconds;
            let pause = Mode::Closed { pause: Some(Duration::from_millis(10)) };
            (name, tokio::spawn(async move { drive(&addrs[..1], probe, 1, seconds, pause).await }))
        })
        .collect();
    let mode = match p.rate {
        Some(rate) => Mode::Open { rate },
        None => Mode::Closed { pause: None },
    };
    let outcome = drive(&addrs, scenario, p.connections, args.seconds, mode).await?;
    let cpu = servers.cpu_seconds() - cpu_before;
    let generator_cpu = super::server::cpu_seconds(std::process::id()) - generator_before;
    let Outcome { tally, inner } = outcome;
    let rps = tally.expected() as f64 / tally.elapsed.as_secs_f64().max(1e-9);
    let mut note = String::new();
    if matches!(p.kind, Kind::TotpValid | Kind::TotpWrong | Kind::SmsCodes | Kind::OidcRefresh)
        && p.rate.is_none()
        && tally.elapsed.as_secs_f64() < args.seconds as f64 * 0.95
    {
        note = format!(
            "pool of {} single-use sign-ins used up after {:.1} s",
            p.pool.logins_len,
            tally.elapsed.as_secs_f64()
        );
    }
    if p.kind == Kind::Password {
        note = argon2.note(rps);
    }
    if p.kind == Kind::OidcRefresh {
        let signing = twostep_app::oidc::tokens::time_id_token_signing(200).map_err(|e| anyhow::anyhow!("{e}"))?;
        let us = |q: f64| signing[((signing.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
        let signing = format!(
            "ID token signing alone (RS256, 2048-bit, this process): p50 {:.0} µs, p99 {:.0} µs",
            us(0.5),
            us(0.99)
        );
        note = if note.is_empty() { signing } else { format!("{note}; {signing}") };
    }
    if p.kind == Kind::WholeSignIn {
        note = format!("{}; {solve_note}", argon2.note(rps));
        if p.rate.is_none() && tally.started as usize >= p.pool.accounts_len as usize {
            note.push_str("; pool of solved captchas used up");
        }
    }
    let name = match p.kind {
        Kind::SmsCodes => "sms-codes-issue",
        other => other.name(),
    };
    let mut rows = vec![row(name, args, p, &tally, cpu, servers, note)];
    rows[0].generator_cpu_s_per_1k = per_1k(generator_cpu, tally.expected());
    if p.kind == Kind::SmsCodes {
        let note = "same run: code read from the outbox, then verified; CPU counted on the issue row".to_owned();
        let mut r = row("sms-codes-verify", args, p, &inner, 0.0, servers, note);
        r.counts = "SMS codes verified (200)".into();
        rows.push(r);
    }
    for (name, probe) in probes {
        let probe = probe.await??;
        let probe_plan = Planned { kind: Kind::Healthz, connections: 1, rate: None, ..p.clone() };
        let mut r = row(name, args, &probe_plan, &probe.tally, 0.0, servers, "probe every 10 ms".into());
        r.counts = if name.starts_with("me") { Kind::Me.counts() } else { Kind::Healthz.counts() }.into();
        rows.push(r);
    }
    Ok(rows)
}

/// Fetches `n` captcha challenges and solves them, on every core, before the
/// clock starts: on a real deployment each is solved in its user's browser,
/// not on the server's machine. Returns them and a note with the solve time.
async fn solve_captchas(addrs: &[String], n: usize, cores: usize) -> Result<(Vec<Solved>, String)> {
    let t = Instant::now();
    let mut fetch = Tally::new();
    let mut challenges = Vec::with_capacity(n);
    let mut conn = Conn::open(&addrs[0]).await?;
    for _ in 0..n {
        let sent = Instant::now();
        let (status, body) = conn.request("GET", "/api/v1/captcha", None, None).await?;
        anyhow::ensure!(status == 200, "GET /api/v1/captcha answered {status}: {body}");
        fetch.record(sent.elapsed());
        let v: serde_json::Value = serde_json::from_str(&body)?;
        let field = |k: &str| v[k].as_str().map(str::to_owned).with_context(|| format!("no {k} in {body}"));
        let bits = v["difficulty_bits"].as_u64().context("no difficulty_bits")? as u32;
        challenges.push((field("challenge_id")?, field("salt")?, bits));
    }
    let bits = challenges.first().map_or(0, |c| c.2);
    let solving = Instant::now();
    let chunk = n.div_ceil(cores.max(1)).max(1);
    let tasks: Vec<_> = challenges
        .chunks(chunk)
        .map(|part| {
            let part = part.to_vec();
            tokio::task::spawn_blocking(move || {
                part.into_iter()
                    .map(|(id, salt, bits)| (id, twostep_domain::captcha::solve(&salt, bits)))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut solved = Vec::with_capacity(n);
    for task in tasks {
        solved.extend(task.await?);
    }
    let per_solve_ms = solving.elapsed().as_secs_f64() * cores as f64 / n.max(1) as f64 * 1000.0;
    let note = format!(
        "{n} captchas of {bits} bits fetched (p99 {:.2} ms) and solved before the clock started, \
         {per_solve_ms:.0} ms of generator CPU each, {:.0} s in all",
        fetch.ms(0.99),
        t.elapsed().as_secs_f64()
    );
    eprintln!("{note}");
    Ok((solved, note))
}

/// The time of one argon2id hash with the production parameters, in seconds.
async fn time_one_hash(hasher: &twostep_app::passwords::PasswordHasher) -> Result<f64> {
    let n = 10;
    let t = Instant::now();
    for _ in 0..n {
        hasher.hash(seed::PASSWORD).await?;
    }
    Ok(t.elapsed().as_secs_f64() / n as f64)
}

/// Hashes per second of `threads` hashers kept busy together, with the
/// production parameters and nothing else running.
async fn hashes_per_second(threads: usize) -> Result<f64> {
    let hasher = Arc::new(twostep_app::passwords::PasswordHasher::new(threads));
    let per_thread = 10;
    let t = Instant::now();
    let tasks: Vec<_> = (0..threads)
        .map(|_| {
            let hasher = hasher.clone();
            tokio::spawn(async move {
                for _ in 0..per_thread {
                    hasher.hash(seed::PASSWORD).await?;
                }
                Ok::<_, twostep_app::AppError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok((threads * per_thread) as f64 / t.elapsed().as_secs_f64())
}

fn per_1k(seconds: f64, n: u64) -> f64 {
    if n > 0 { seconds / (n as f64 / 1000.0) } else { 0.0 }
}

pub fn row(scenario: &str, args: &BenchArgs, p: &Planned, t: &Tally, cpu: f64, servers: &Servers, note: String) -> Row {
    let n = t.expected();
    let unexpected = t.unexpected_total();
    let open = p.rate.is_some();
    let kept_up = open.then(|| t.late * 100 <= t.started);
    let p99_ms = t.ms(0.99);
    Row {
        scenario: scenario.to_owned(),
        backend: args.backend.clone(),
        accounts: args.accounts,
        concurrency: p.connections,
        requests: n,
        rps: n as f64 / t.elapsed.as_secs_f64().max(1e-9),
        p50_ms: t.ms(0.50),
        p99_ms,
        p999_ms: t.ms(0.999),
        errors: t.transport_errors + unexpected,
        cpu_s_per_1k: per_1k(cpu, n),
        generator_cpu_s_per_1k: 0.0,
        peak_rss_mb: servers.peak_rss_mb(),
        note,
        counts: p.kind.counts().to_owned(),
        mode: if open { "open" } else { "closed" }.to_owned(),
        offered_rps: p.rate,
        started: t.started,
        max_ms: t.max_ms(),
        transport_errors: t.transport_errors,
        unexpected_answers: unexpected,
        unexpected_statuses: t.unexpected.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
        late_starts: open.then_some(t.late),
        late_no_connection: open.then_some(t.late_no_connection),
        max_lag_ms: open.then_some(t.max_lag.as_secs_f64() * 1000.0),
        generator_kept_up: kept_up,
        holds_p99_10ms: open.then(|| {
            n > 0 && p99_ms < SUSTAINABLE_P99_MS && t.transport_errors + unexpected == 0 && kept_up == Some(true)
        }),
        variant: p.spec.variant(),
        instances: p.spec.instances,
        sqlite_synchronous: p.spec.synchronous.map(str::to_uppercase),
        group_commit: p.spec.group_commit,
        audit_chain: p.spec.audit_chain,
        idle_rss_mb: servers.idle_rss_mb,
    }
}
