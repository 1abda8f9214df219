//! Group commit for the second sign-in step. Every sign-in's writes go to
//! one task per instance, which applies all that are waiting in one
//! transaction of a few statements (`signin::apply`) and then answers each.
//! Under a login wave this turns thousands of small transactions — each of
//! about ten statements, and on SQLite each statement a hand-off to the
//! connection's thread — into a few hundred larger ones, while a lone
//! sign-in still commits at once. Nobody is answered before the commit, so
//! an acknowledged sign-in is as durable as before.

use std::collections::{HashSet, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::FutureExt;
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};
use twostep_app::ports::{StoreError, StoreResult};

use crate::BenchOnly;
use crate::signin::{Write, Written, apply};

/// The most sign-ins in one transaction; SQLite allows 32,766 parameters and
/// the widest statement binds 8 per sign-in.
const MAX_GROUP: usize = 256;
/// How many may wait before callers wait to hand theirs over.
const QUEUE: usize = 4096;

struct Job {
    write: Write,
    reply: oneshot::Sender<StoreResult<Written>>,
}

/// The handle the store keeps; cloning it shares the one writer task.
#[derive(Clone, Debug)]
pub(crate) struct SignInWriter {
    jobs: mpsc::Sender<Job>,
    stats: Arc<Stats>,
    /// For the benchmark-only path without group commit.
    pool: AnyPool,
    bench_only: BenchOnly,
}

/// Transactions committed and sign-ins they carried, since start.
#[derive(Debug, Default)]
struct Stats {
    groups: AtomicU64,
    sign_ins: AtomicU64,
}

impl SignInWriter {
    /// Starts the writer task on the current runtime; it ends when the last
    /// handle is dropped.
    pub(crate) fn start(pool: AnyPool, bench_only: BenchOnly) -> Self {
        let (jobs, rx) = mpsc::channel(QUEUE);
        let stats = Arc::new(Stats::default());
        let chain = !bench_only.without_audit_chain;
        tokio::spawn(run(pool.clone(), rx, stats.clone(), chain));
        Self { jobs, stats, pool, bench_only }
    }

    /// (groups committed, sign-ins in them) since start.
    pub(crate) fn groups(&self) -> (u64, u64) {
        (self.stats.groups.load(Ordering::Relaxed), self.stats.sign_ins.load(Ordering::Relaxed))
    }

    pub(crate) async fn write(&self, write: Write) -> StoreResult<Written> {
        if self.bench_only.without_group_commit {
            let chain = !self.bench_only.without_audit_chain;
            return apply(&self.pool, &[&write], chain).await.map(|mut w| w.remove(0));
        }
        let stopped = || StoreError::unavailable("the sign-in writer has stopped");
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job { write, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(pool: AnyPool, mut rx: mpsc::Receiver<Job>, stats: Arc<Stats>, chain: bool) {
    let mut waiting = VecDeque::new();
    loop {
        if waiting.is_empty() {
            match rx.recv().await {
                Some(job) => waiting.push_back(job),
                None => return,
            }
        }
        while waiting.len() < 2 * MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => waiting.push_back(job),
                Err(_) => break,
            }
        }
        let group = take_group(&mut waiting);
        let size = group.len() as u64;
        // A panic must not stop every later sign-in: its group's callers see
        // their answer dropped (an unavailable store) and the task goes on.
        match AssertUnwindSafe(commit(&pool, group, chain)).catch_unwind().await {
            Ok(true) => {
                stats.groups.fetch_add(1, Ordering::Relaxed);
                stats.sign_ins.fetch_add(size, Ordering::Relaxed);
            }
            Ok(false) => {}
            Err(_) => tracing::error!(sign_ins = size, "a sign-in group panicked; its callers were refused"),
        }
    }
}

/// Takes, in arrival order, the waiting jobs that share no row with one
/// taken before them; the others wait for the next group.
fn take_group(waiting: &mut VecDeque<Job>) -> Vec<Job> {
    let mut keys = HashSet::new();
    let mut group = Vec::new();
    let mut later = VecDeque::new();
    for job in waiting.drain(..) {
        let free = job.write.keys().iter().all(|k| k.is_empty() || !keys.contains(*k));
        if free && group.len() < MAX_GROUP {
            keys.extend(job.write.keys().into_iter().filter(|k| !k.is_empty()).map(str::to_owned));
            group.push(job);
        } else {
            later.push_back(job);
        }
    }
    *waiting = later;
    group
}

/// Applies a group and answers each caller. If the group's transaction fails
/// (a PostgreSQL deadlock with another instance, say), each sign-in is
/// retried alone, so one bad write cannot fail its neighbours; if the
/// database is unavailable, every caller is told so at once. True when the
/// group committed as one.
async fn commit(pool: &AnyPool, group: Vec<Job>, chain: bool) -> bool {
    let writes: Vec<&Write> = group.iter().map(|j| &j.write).collect();
    match apply(pool, &writes, chain).await {
        Ok(results) => {
            for (job, result) in group.into_iter().zip(results) {
                let _ = job.reply.send(Ok(result));
            }
            return true;
        }
        Err(e) if group.len() == 1 => {
            let _ = group.into_iter().next().map(|job| job.reply.send(Err(e)));
        }
        // The database is away: one at a time would only wait longer.
        Err(e) if e.is_unavailable() => {
            for job in group {
                let _ = job.reply.send(Err(e.clone()));
            }
        }
        Err(e) => {
            tracing::warn!(sign_ins = group.len(), error = %e, "group commit failed; applying each sign-in alone");
            for job in group {
                let result = apply(pool, &[&job.write], chain).await.map(|mut r| r.remove(0));
                let _ = job.reply.send(result);
            }
        }
    }
    false
}
