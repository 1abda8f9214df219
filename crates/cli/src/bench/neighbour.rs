//! The `neighbour` scenario: what one account flooding the server costs
//! everyone else. A probe signs in with another account's password every
//! 10 ms, first on the idle server, then while 32 connections loop on one
//! signed-in account's most expensive call (`PUT /me/security-questions`,
//! five argon2id hashes until its caps answer 429), then while they loop on
//! the cheapest (`GET /me`), for comparison. Each probe row's note gives its
//! latency as a multiple of the idle one.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, ensure};

use super::http::Conn;
use super::load::{Mode, Outcome, drive};
use super::run::{Planned, row};
use super::scenario::{Kind, Pool, Scenario};
use super::seed;
use super::server::Servers;
use super::{BenchArgs, Row};

/// The connections that loop on the flooding account's calls.
const FLOOD: usize = 32;

pub async fn run(args: &BenchArgs, p: &Planned, servers: &Servers, flood: Pool) -> Result<Vec<Row>> {
    let addrs = servers.addrs();
    let probe = Arc::new(Scenario { kind: Kind::Password, pool: p.pool, captchas: Vec::new() });
    let every_10ms = Mode::Closed { pause: Some(Duration::from_millis(10)) };
    let idle = drive(&addrs, probe.clone(), 1, args.seconds, every_10ms).await?.tally;
    let mut idle_row =
        row("password-idle", args, p, &idle, 0.0, servers, "probe every 10 ms, nothing else running".into());
    idle_row.concurrency = 1;
    let mut rows = vec![idle_row];

    // The flooding account confirms itself as its owner would (sudo mode).
    let mut conn = Conn::open(&addrs[0]).await?;
    let body = format!("{{\"method\":\"password\",\"password\":\"{}\"}}", seed::PASSWORD);
    let token = seed::session_token(flood.accounts_start);
    let (status, answer) = conn.request("POST", "/api/v1/me/sudo", Some(&token), Some(&body)).await?;
    ensure!(status == 200, "POST /api/v1/me/sudo answered {status}: {answer}");

    for (kind, name) in [(Kind::Questions, "password-beside-questions"), (Kind::Me, "password-beside-me")] {
        let flooding = Arc::new(Scenario { kind, pool: flood, captchas: Vec::new() });
        let cpu_before = servers.cpu_seconds();
        let (flood_addrs, seconds) = (addrs.clone(), args.seconds);
        let flood_run =
            tokio::spawn(
                async move { drive(&flood_addrs, flooding, FLOOD, seconds, Mode::Closed { pause: None }).await },
            );
        let Outcome { tally, .. } = drive(&addrs, probe.clone(), 1, args.seconds, every_10ms).await?;
        let flooded = flood_run.await??.tally;
        let cpu = servers.cpu_seconds() - cpu_before;
        let times = |q: f64| tally.ms(q) / idle.ms(q).max(1e-9);
        let note = format!(
            "probe every 10 ms while {FLOOD} connections loop on {}: p50 {:.1}x, p99 {:.1}x the idle probe's",
            kind.name(),
            times(0.50),
            times(0.99)
        );
        let mut probe_row = row(name, args, p, &tally, 0.0, servers, note);
        probe_row.concurrency = 1;
        rows.push(probe_row);
        let flood_plan = Planned { kind, connections: FLOOD, pool: flood, ..p.clone() };
        let answers = flooded.expected() + flooded.unexpected_total();
        let note = format!(
            "the flood beside {name}: {answers} answers of any status, {:.0} us of server CPU each",
            cpu * 1e6 / answers.max(1) as f64
        );
        rows.push(row(&format!("{}-flood", kind.name()), args, &flood_plan, &flooded, cpu, servers, note));
    }
    Ok(rows)
}
