//! Orchestration of a benchmark: database, seeding, the server process, the
//! load generator and the measurements taken from /proc.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use sqlx::{Connection, Executor};
use tokio::io::AsyncBufReadExt;
use twostep_app::crypto::new_id;
use twostep_domain::totp;
use twostep_store::SqlStore;

use super::http::Conn;
use super::seed;
use super::{BenchArgs, Row};

/// Throughput the pools of single-use codes and login attempts are sized for;
/// a run that would need more simply ends early and says so.
fn expected_rps(backend: &str) -> u64 {
    if backend == "sqlite" { 12_000 } else { 8_000 }
}

#[derive(Clone, Copy)]
enum Kind {
    TotpValid,
    TotpWrong,
    Password,
    Me,
    Healthz,
    /// Ask for an SMS code at the second step, read it from the outbox, verify it.
    SmsCodes,
}

#[derive(Clone, Copy)]
struct Pool {
    accounts_start: u64,
    accounts_len: u64,
    logins_start: u64,
    logins_len: u64,
}

struct Job {
    method: &'static str,
    path: String,
    token: Option<String>,
    body: Option<String>,
    expect: u16,
}

fn job(kind: Kind, pool: Pool, k: u64) -> Option<Job> {
    let account = pool.accounts_start + k % pool.accounts_len.max(1);
    let round = k / pool.accounts_len.max(1);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64;
    match kind {
        Kind::TotpValid | Kind::TotpWrong => {
            if k >= pool.logins_len {
                return None;
            }
            // Each account serves two sign-ins, at steps now and now+1 taken
            // at send time: always increasing, so no code is replayed, and
            // both still inside the server's window of one step either way
            // if a step boundary passes while the request is queued.
            let step = totp::step_at(now) + round as i64;
            let right = totp::code_at(&seed::secret(account), step * totp::STEP_S);
            let code = match kind {
                Kind::TotpValid => right,
                _ => if right == "000000" { "000001".into() } else { "000000".into() },
            };
            Some(Job {
                method: "POST",
                path: format!("/api/v1/login/{}/totp", seed::login_id(pool.logins_start + k)),
                token: None,
                body: Some(format!("{{\"code\":\"{code}\"}}")),
                expect: if matches!(kind, Kind::TotpValid) { 200 } else { 401 },
            })
        }
        Kind::Password => Some(Job {
            method: "POST",
            path: "/api/v1/login".into(),
            token: None,
            body: Some(format!("{{\"email\":\"{}\",\"password\":\"{}\"}}", seed::email(account), seed::PASSWORD)),
            expect: 200,
        }),
        Kind::Me => Some(Job { method: "GET", path: "/api/v1/me".into(), token: Some(seed::session_token(account)), body: None, expect: 200 }),
        Kind::Healthz => Some(Job { method: "GET", path: "/healthz".into(), token: None, body: None, expect: 200 }),
        Kind::SmsCodes => (k < pool.logins_len).then(|| Job {
            method: "POST",
            path: format!("/api/v1/login/{}/code", seed::login_id(pool.logins_start + k)),
            token: None,
            body: Some("{\"channel\":\"sms\"}".into()),
            expect: 202,
        }),
    }
}

/// The rest of an SMS-code sign-in after the code was asked for: read it from
/// the outbox (it arrives through the delivery queue), then verify it.
/// Returns the verification's latency and whether it succeeded.
async fn finish_sms(conn: &mut Conn, pool: Pool, k: u64) -> Result<(u32, bool)> {
    let to = seed::phone(pool.accounts_start + k % pool.accounts_len.max(1)).replace('+', "%2B");
    let waited = Instant::now();
    let code = loop {
        let (status, body) = conn.request("GET", &format!("/api/v1/dev/outbox?to={to}"), None, None).await?;
        let code = (status == 200)
            .then(|| serde_json::from_str::<serde_json::Value>(&body).ok())
            .flatten()
            .and_then(|v| v["messages"][0]["body"].as_str().map(str::to_owned))
            .and_then(|text| text.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).map(str::to_owned));
        if let Some(code) = code {
            break code;
        }
        if waited.elapsed() > Duration::from_secs(5) {
            return Ok((0, false));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let t = Instant::now();
    let path = format!("/api/v1/login/{}/code/verify", seed::login_id(pool.logins_start + k));
    let body = format!("{{\"channel\":\"sms\",\"code\":\"{code}\"}}");
    let (status, _) = conn.request("POST", &path, None, Some(&body)).await?;
    Ok((t.elapsed().as_micros().min(u32::MAX as u128) as u32, status == 200))
}

struct Outcome {
    latencies_us: Vec<u32>,
    errors: u64,
    elapsed: Duration,
    /// Second series of a two-step scenario (verifying a sent code).
    verify: Option<(Vec<u32>, u64)>,
}

/// Runs `concurrency` workers for `seconds` (or until the pool is used up);
/// `pace` sleeps between a worker's requests (for a background probe).
async fn drive(addr: &str, kind: Kind, pool: Pool, concurrency: usize, seconds: u64, pace: Option<Duration>) -> Result<Outcome> {
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let counter = counter.clone();
        let mut conn = Conn::open(addr).await?;
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut unexpected = Vec::new();
            let (mut verify_latencies, mut verify_errors) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                let k = counter.fetch_add(1, Ordering::Relaxed);
                let Some(job) = job(kind, pool, k) else { break };
                let t = Instant::now();
                let result = conn.request(job.method, &job.path, job.token.as_deref(), job.body.as_deref()).await;
                latencies.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                match result {
                    Ok((status, _)) if status == job.expect => {
                        if matches!(kind, Kind::SmsCodes) {
                            match finish_sms(&mut conn, pool, k).await {
                                Ok((latency, ok)) => {
                                    verify_latencies.push(latency);
                                    verify_errors += u64::from(!ok);
                                }
                                Err(_) => {
                                    verify_errors += 1;
                                    break;
                                }
                            }
                        }
                    }
                    Ok((status, body)) => {
                        errors += 1;
                        if unexpected.len() < 3 {
                            unexpected.push(format!("{status} {}", body.chars().take(120).collect::<String>()));
                        }
                    }
                    Err(e) => {
                        errors += 1;
                        unexpected.push(format!("no answer: {e}"));
                        break;
                    }
                }
                if let Some(p) = pace {
                    tokio::time::sleep(p).await;
                }
            }
            for answer in &unexpected {
                eprintln!("unexpected answer: {answer}");
            }
            (latencies, errors, verify_latencies, verify_errors)
        }));
    }
    let mut latencies_us = Vec::new();
    let mut errors = 0;
    let (mut verify_us, mut verify_errors) = (Vec::new(), 0);
    for w in workers {
        let (l, e, vl, ve) = w.await?;
        latencies_us.extend(l);
        errors += e;
        verify_us.extend(vl);
        verify_errors += ve;
    }
    let verify = matches!(kind, Kind::SmsCodes).then_some((verify_us, verify_errors));
    Ok(Outcome { latencies_us, errors, elapsed: started.elapsed(), verify })
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i] as f64 / 1000.0
}

/// utime + stime of a process, in seconds (Linux clock ticks of 1/100 s).
fn cpu_seconds(pid: u32) -> f64 {
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

struct Server {
    child: tokio::process::Child,
    addr: String,
    pid: u32,
}

async fn start_server(binary: &Path, dir: &Path, url: &str) -> Result<Server> {
    let big = "1000000000";
    let mut child = tokio::process::Command::new(binary)
        .args(["serve", "--listen", "127.0.0.1:0", "--captcha-bits", "0", "--data-dir"])
        .arg(dir)
        .args(["--database-url", url, "--login-per-ip-per-minute", big, "--accounts-per-ip-per-hour", big])
        .args(["--captcha-per-ip-per-minute", big, "--codes-per-ip-per-minute", big, "--codes-sent-per-ip-per-hour", big])
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

pub async fn run(args: &BenchArgs, scenarios: &[&str], binary: &Path) -> Result<Vec<Row>> {
    let dir = std::env::temp_dir().join(format!("twostep-bench-{}", new_id()));
    let (url, pg_name) = match args.backend.as_str() {
        "sqlite" => (format!("sqlite://{}", dir.join("twostep.db").display()), None),
        _ => {
            let name = format!("twostep_bench_{}", new_id());
            admin(&args.pg_url, &format!("CREATE DATABASE {name}")).await?;
            (format!("{}/{name}", args.pg_url), Some(name))
        }
    };
    let result = run_in(args, scenarios, binary, &dir, &url).await;
    if let Some(name) = pg_name {
        admin(&args.pg_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn admin(base: &str, sql: &str) -> Result<()> {
    let mut conn = sqlx::PgConnection::connect(&format!("{base}/postgres")).await.context("connecting to PostgreSQL")?;
    conn.execute(sqlx::AssertSqlSafe(sql.to_owned())).await?;
    Ok(())
}

async fn run_in(args: &BenchArgs, scenarios: &[&str], binary: &Path, dir: &PathBuf, url: &str) -> Result<Vec<Row>> {
    let keyring = crate::keys::load_keyring(dir)?;
    let store = SqlStore::connect(url, &Default::default()).await?;
    store.migrate().await?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
    let hasher = twostep_app::passwords::PasswordHasher::new(1);
    let hash = hasher.hash(seed::PASSWORD).await?;
    // Timed on the idle machine, before the server starts.
    let t_hash = time_one_hash(&hasher).await?;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    // What the hashers alone achieve with every core hashing at once (they
    // share caches and memory bandwidth, so usually less than cores / one).
    let all_cores_rate = hashes_per_second(cores).await?;

    let seeding = Instant::now();
    let mut next_account = 0u64;
    let mut next_login = 0u64;
    // The population the scenarios run among (scenario 6 varies it).
    seed::accounts(&store, &keyring, 0..args.accounts, &hash, seed::Factor::Totp, now).await?;
    // The session the /me probe of the password scenario uses.
    seed::sessions(&store, 0..1, now).await?;
    next_account += args.accounts;
    let per_run = expected_rps(&args.backend) * args.seconds;
    let mut plan: Vec<(String, Kind, usize, Pool)> = Vec::new();
    for &scenario in scenarios {
        let concurrencies: Vec<usize> = match (scenario, args.concurrency, args.scenario.as_str()) {
            (_, Some(c), _) => vec![c],
            ("totp-valid", None, _) => vec![1, 8, 32, 128],
            _ => vec![32],
        };
        for c in concurrencies {
            let (kind, uses_per_account, factor) = match scenario {
                "totp-valid" => (Kind::TotpValid, 2, seed::Factor::Totp),
                "totp-wrong" => (Kind::TotpWrong, 9, seed::Factor::Totp),
                "password" => (Kind::Password, u64::MAX, seed::Factor::None),
                "me" => (Kind::Me, u64::MAX, seed::Factor::None),
                // One code per number: the resend cool-down is per account.
                _ => (Kind::SmsCodes, 1, seed::Factor::Phone),
            };
            let per_run = if matches!(kind, Kind::SmsCodes) { per_run / 10 } else { per_run };
            let accounts_len = if uses_per_account == u64::MAX { 1000 } else { per_run.div_ceil(uses_per_account) };
            let pool = Pool { accounts_start: next_account, accounts_len, logins_start: next_login, logins_len: 0 };
            seed::accounts(&store, &keyring, next_account..next_account + accounts_len, &hash, factor, now).await?;
            let pool = match kind {
                Kind::TotpValid | Kind::TotpWrong | Kind::SmsCodes => {
                    let start = pool.accounts_start;
                    seed::logins(&store, next_login, per_run, |k| start + k % accounts_len, now).await?;
                    next_login += per_run;
                    Pool { logins_len: per_run, ..pool }
                }
                Kind::Me => {
                    seed::sessions(&store, next_account..next_account + accounts_len, now).await?;
                    pool
                }
                _ => pool,
            };
            next_account += accounts_len;
            plan.push((scenario.to_owned(), kind, c, pool));
        }
    }
    eprintln!("seeded {next_account} accounts and {next_login} login attempts in {:.1} s", seeding.elapsed().as_secs_f64());
    store.close().await;

    let mut server = start_server(binary, dir, url).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss_mb = status_kb(server.pid, "VmRSS:") / 1024.0;
    eprintln!("server idle RSS {idle_rss_mb:.1} MB");
    let mut rows = Vec::new();
    for (scenario, kind, concurrency, pool) in plan {
        let cpu_before = cpu_seconds(server.pid);
        // While the password step saturates the hashers, the calls every page
        // makes must still answer quickly: probe them every 10 ms.
        let probes: Vec<_> = [(Kind::Healthz, "healthz-during-password"), (Kind::Me, "me-during-password")]
            .into_iter()
            .filter(|_| matches!(kind, Kind::Password))
            .map(|(probe, name)| {
                let addr = server.addr.clone();
                let first = Pool { accounts_start: 0, accounts_len: 1, logins_start: 0, logins_len: 0 };
                let seconds = args.seconds;
                let task = tokio::spawn(async move { drive(&addr, probe, first, 1, seconds, Some(Duration::from_millis(10))).await });
                (name, task)
            })
            .collect();
        let outcome = drive(&server.addr, kind, pool, concurrency, args.seconds, None).await?;
        let cpu = cpu_seconds(server.pid) - cpu_before;
        let mut note = String::new();
        if matches!(kind, Kind::TotpValid | Kind::TotpWrong | Kind::SmsCodes) && outcome.elapsed.as_secs_f64() < args.seconds as f64 * 0.95 {
            note = format!("pool of {} single-use sign-ins used up after {:.1} s", pool.logins_len, outcome.elapsed.as_secs_f64());
        }
        if matches!(kind, Kind::Password) {
            let limit = cores as f64 / t_hash;
            let rps = outcome.latencies_us.len() as f64 / outcome.elapsed.as_secs_f64();
            note = format!(
                "argon2 limit {limit:.0}/s ({cores} cores / {:.1} ms); {:.0}% of it; {:.0}% of the {all_cores_rate:.0}/s \
                 of {cores} bare hashers at once",
                t_hash * 1000.0,
                rps / limit * 100.0,
                rps / all_cores_rate * 100.0
            );
        }
        let name = if matches!(kind, Kind::SmsCodes) { "sms-codes-issue" } else { scenario.as_str() };
        rows.push(row(name, args, concurrency, &outcome, cpu, server.pid, note));
        if let Some((verify_us, verify_errors)) = &outcome.verify {
            let verify = Outcome { latencies_us: verify_us.clone(), errors: *verify_errors, elapsed: outcome.elapsed, verify: None };
            let note = "same run: code read from the outbox, then verified; CPU counted on the issue row".to_owned();
            rows.push(row("sms-codes-verify", args, concurrency, &verify, 0.0, server.pid, note));
        }
        for (name, probe) in probes {
            let p = probe.await??;
            rows.push(row(name, args, 1, &p, 0.0, server.pid, "probe every 10 ms".into()));
        }
    }
    let _ = server.child.kill().await;
    if let Some(r) = rows.first_mut() {
        r.note = format!("{} (server idle RSS {idle_rss_mb:.1} MB)", r.note).trim().to_owned();
    }
    Ok(rows)
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

fn row(scenario: &str, args: &BenchArgs, concurrency: usize, o: &Outcome, cpu: f64, pid: u32, note: String) -> Row {
    let mut sorted = o.latencies_us.clone();
    sorted.sort_unstable();
    let n = sorted.len() as u64;
    Row {
        scenario: scenario.to_owned(),
        backend: args.backend.clone(),
        accounts: args.accounts,
        concurrency,
        requests: n,
        rps: n as f64 / o.elapsed.as_secs_f64().max(1e-9),
        p50_ms: percentile(&sorted, 0.50),
        p99_ms: percentile(&sorted, 0.99),
        p999_ms: percentile(&sorted, 0.999),
        errors: o.errors,
        cpu_s_per_1k: if n > 0 { cpu / (n as f64 / 1000.0) } else { 0.0 },
        peak_rss_mb: status_kb(pid, "VmHWM:") / 1024.0,
        note,
    }
}
