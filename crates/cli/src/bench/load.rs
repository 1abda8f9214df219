//! The load generator: workers, each with one keep-alive connection, that
//! run units of work (`scenario::Scenario::perform`) either closed-loop (a
//! worker sends its next unit when the last one was answered) or open-loop
//! (unit k starts at `start + k / rate` whatever the answers, handed out by
//! a pacer thread, so that a stalled server cannot hold back the requests
//! that would have measured the stall). Only expected answers enter the throughput and the latency
//! histogram; transport errors and unexpected answers are counted apart, and
//! a worker whose connection broke opens a new one and goes on.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use hdrhistogram::Histogram;
use tokio::sync::{Mutex, mpsc};

use super::http::Conn;
use super::scenario::{Answer, Scenario};

/// A start more than this after its scheduled time is late.
const LATE: Duration = Duration::from_millis(1);
/// How many unexpected answers each worker keeps to print.
const SAMPLES: usize = 3;

/// How the units are paced.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    /// Each worker sends its next unit when its last one is answered, after
    /// an optional pause (the probes).
    Closed { pause: Option<Duration> },
    /// Units start at a fixed rate per second, shared by all workers.
    Open { rate: f64 },
}

/// What a run measured.
pub struct Tally {
    /// Microseconds, expected answers only: from the send (closed-loop) or
    /// from the scheduled start (open-loop) to the end of the answer.
    pub latency: Histogram<u64>,
    /// Units started (open-loop: scheduled slots taken).
    pub started: u64,
    pub transport_errors: u64,
    pub unexpected: BTreeMap<u16, u64>,
    pub samples: Vec<String>,
    /// Open-loop: units that started more than 1 ms after their time, and of
    /// those the ones no worker was free for when they fell due.
    pub late: u64,
    pub late_no_connection: u64,
    pub max_lag: Duration,
    /// From the first start to the last answer.
    pub elapsed: Duration,
}

impl Default for Tally {
    fn default() -> Self {
        Self::new()
    }
}

impl Tally {
    pub fn new() -> Self {
        Self {
            latency: Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds"),
            started: 0,
            transport_errors: 0,
            unexpected: BTreeMap::new(),
            samples: Vec::new(),
            late: 0,
            late_no_connection: 0,
            max_lag: Duration::ZERO,
            elapsed: Duration::ZERO,
        }
    }

    pub fn expected(&self) -> u64 {
        self.latency.len()
    }

    pub fn unexpected_total(&self) -> u64 {
        self.unexpected.values().sum()
    }

    pub fn record(&mut self, latency: Duration) {
        self.latency.saturating_record(latency.as_micros().max(1).min(u64::MAX as u128) as u64);
    }

    pub fn count(&mut self, answer: Answer) {
        match answer {
            Answer::Expected(latency) => self.record(latency),
            Answer::Unexpected(status, body) => {
                *self.unexpected.entry(status).or_default() += 1;
                if self.samples.len() < SAMPLES {
                    self.samples.push(format!("{status} {}", body.chars().take(120).collect::<String>()));
                }
            }
        }
    }

    fn transport(&mut self, e: &anyhow::Error) {
        self.transport_errors += 1;
        if self.samples.len() < SAMPLES {
            self.samples.push(format!("no answer: {e:#}"));
        }
    }

    fn merge(&mut self, other: Tally) {
        self.latency.add(&other.latency).expect("same histogram bounds");
        self.started += other.started;
        self.transport_errors += other.transport_errors;
        for (status, n) in other.unexpected {
            *self.unexpected.entry(status).or_default() += n;
        }
        self.samples.extend(other.samples);
        self.late += other.late;
        self.late_no_connection += other.late_no_connection;
        self.max_lag = self.max_lag.max(other.max_lag);
    }

    /// Milliseconds at quantile `q` of the expected answers.
    pub fn ms(&self, q: f64) -> f64 {
        if self.latency.is_empty() { 0.0 } else { self.latency.value_at_quantile(q) as f64 / 1000.0 }
    }

    pub fn max_ms(&self) -> f64 {
        self.latency.max() as f64 / 1000.0
    }
}

/// The results of one `drive`: the units, and a second series some scenarios
/// measure inside their units (verifying a sent code).
pub struct Outcome {
    pub tally: Tally,
    pub inner: Tally,
}

/// Runs `connections` workers for `seconds` (or until the scenario's pool of
/// single-use units is used up), worker i on `addrs[i % addrs.len()]`.
pub async fn drive(
    addrs: &[String],
    scenario: Arc<Scenario>,
    connections: usize,
    seconds: u64,
    mode: Mode,
) -> Result<Outcome> {
    let mut conns = Vec::with_capacity(connections);
    for i in 0..connections {
        conns.push(Conn::open(&addrs[i % addrs.len()]).await?);
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let slots = match mode {
        Mode::Closed { .. } => Slots::Counter(Arc::new(AtomicU64::new(0))),
        Mode::Open { rate } => {
            let (tx, rx) = mpsc::unbounded_channel();
            let scenario = scenario.clone();
            std::thread::Builder::new()
                .name("bench-pacer".into())
                .spawn(move || pace(&tx, &scenario, started, deadline, rate))?;
            Slots::Schedule(Arc::new(Mutex::new(rx)), rate)
        }
    };
    let workers: Vec<_> = conns
        .into_iter()
        .map(|conn| tokio::spawn(worker(conn, scenario.clone(), slots.clone(), started, deadline, mode)))
        .collect();
    let (mut tally, mut inner) = (Tally::new(), Tally::new());
    for w in workers {
        let (t, i) = w.await?;
        tally.merge(t);
        inner.merge(i);
    }
    tally.elapsed = started.elapsed();
    inner.elapsed = tally.elapsed;
    for sample in tally.samples.iter().chain(&inner.samples) {
        eprintln!("unexpected answer: {sample}");
    }
    Ok(Outcome { tally, inner })
}

/// Where a worker takes its next unit's number from.
#[derive(Clone)]
enum Slots {
    /// Closed-loop: the next number, as soon as a worker is free.
    Counter(Arc<AtomicU64>),
    /// Open-loop: numbers the pacer hands out, each when it falls due, and
    /// the rate of the schedule.
    Schedule(Arc<Mutex<mpsc::UnboundedReceiver<u64>>>, f64),
}

/// The open-loop schedule, on a thread of its own: unit k falls due at
/// `start + k / rate` and is handed to the workers then (a thread sleep is
/// precise to tens of microseconds, the runtime's timers only to a
/// millisecond). If the thread itself wakes late it hands out every unit
/// already due at once, so the schedule never drifts.
fn pace(tx: &mpsc::UnboundedSender<u64>, scenario: &Scenario, start: Instant, deadline: Instant, rate: f64) {
    for k in 0.. {
        let due = start + Duration::from_secs_f64(k as f64 / rate);
        if due >= deadline || !scenario.available(k) {
            return;
        }
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        if tx.send(k).is_err() {
            return;
        }
    }
}

async fn worker(
    mut conn: Conn,
    scenario: Arc<Scenario>,
    slots: Slots,
    start: Instant,
    deadline: Instant,
    mode: Mode,
) -> (Tally, Tally) {
    let (mut tally, mut inner) = (Tally::new(), Tally::new());
    loop {
        let (k, begin) = match &slots {
            Slots::Counter(counter) => {
                let k = counter.fetch_add(1, Ordering::Relaxed);
                if !scenario.available(k) || Instant::now() >= deadline {
                    break;
                }
                (k, Instant::now())
            }
            Slots::Schedule(due_units, rate) => {
                // A unit already waiting when this worker came for it fell
                // due while no worker (no connection) was free.
                let (k, waited) = {
                    let mut rx = due_units.lock().await;
                    match rx.try_recv() {
                        Ok(k) => (k, true),
                        Err(_) => match rx.recv().await {
                            Some(k) => (k, false),
                            None => break,
                        },
                    }
                };
                let due = start + Duration::from_secs_f64(k as f64 / rate);
                let lag = Instant::now().saturating_duration_since(due);
                if lag > LATE {
                    tally.late += 1;
                    tally.late_no_connection += u64::from(waited);
                }
                tally.max_lag = tally.max_lag.max(lag);
                (k, due)
            }
        };
        tally.started += 1;
        match scenario.perform(&mut conn, k, begin, &mut inner).await {
            Ok(answer) => tally.count(answer),
            Err(e) => {
                tally.transport(&e);
                let addr = conn.addr().to_owned();
                match reconnect(&addr, deadline).await {
                    Some(fresh) => conn = fresh,
                    None => break,
                }
            }
        }
        if let Mode::Closed { pause: Some(p) } = mode {
            tokio::time::sleep(p).await;
        }
    }
    (tally, inner)
}

/// A new connection after a transport error, retried every 10 ms until the
/// deadline.
async fn reconnect(addr: &str, deadline: Instant) -> Option<Conn> {
    loop {
        match Conn::open(addr).await {
            Ok(conn) => return Some(conn),
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(10)).await,
            Err(_) => return None,
        }
    }
}
