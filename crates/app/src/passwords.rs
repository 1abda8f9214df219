//! Password hashing with argon2id (OWASP parameters: 19 MiB, t=2, p=1) on a
//! small pool of dedicated threads, one per permitted concurrent hash. A login
//! flood then queues instead of starving the async executor, and memory stays
//! bounded: each thread owns one argon2 work area and reuses it for every
//! hash, so the allocator never accumulates freed 19 MiB blocks. The queue in
//! front of the threads is bounded: when it is full a request is refused at
//! once (`AppError::Overloaded`, 503 with Retry-After) rather than waiting
//! behind thousands of others. Checks of a password someone is typing (a
//! sign-in, a step-up) go before new hashes (a sign-up, a password change,
//! security answers): one account setting its security questions in a loop
//! cannot make everyone else's sign-in wait behind its hashes. Every fourth
//! job still goes to a waiting new hash, so neither kind starves. Hashes are
//! standard PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), read and
//! written with argon2's `PasswordHash`. A hash made with other parameters
//! than the configured ones is remade after its password next signs in
//! ([`PasswordHasher::needs_rehash`]).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, PasswordHash, Version};
use rand::Rng;
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;
use zeroize::Zeroizing;

use crate::error::{AppError, AppResult};

/// A password travels to its thread in a buffer that is wiped when the job
/// is done.
enum Job {
    Hash { password: Zeroizing<String>, reply: oneshot::Sender<AppResult<String>> },
    Verify { password: Zeroizing<String>, hash: String, reply: oneshot::Sender<bool> },
}

/// Hashes that may wait per hashing thread by default: at about 50 ms a
/// hash, a full queue is served in under two seconds.
pub const QUEUE_PER_THREAD: usize = 32;

/// Checks taken in a row while a new hash waits.
const CHECKS_PER_HASH: u32 = 3;

/// The jobs waiting for a thread, in two lanes.
#[derive(Default)]
struct Lanes {
    checks: VecDeque<Job>,
    hashes: VecDeque<Job>,
    /// Checks taken in a row while a hash was waiting.
    streak: u32,
    closed: bool,
}

impl Lanes {
    fn next(&mut self) -> Option<Job> {
        let hash_turn = self.streak >= CHECKS_PER_HASH || self.checks.is_empty();
        match (hash_turn, self.hashes.is_empty()) {
            (true, false) => {
                self.streak = 0;
                self.hashes.pop_front()
            }
            _ => {
                let job = self.checks.pop_front()?;
                self.streak = if self.hashes.is_empty() { 0 } else { self.streak + 1 };
                Some(job)
            }
        }
    }
}

struct Queue {
    lanes: Mutex<Lanes>,
    ready: Condvar,
    capacity: usize,
}

/// Held by every clone of a hasher: when the last goes, the threads stop.
struct Closer(Arc<Queue>);

impl Drop for Closer {
    fn drop(&mut self) {
        if let Ok(mut lanes) = self.0.lanes.lock() {
            lanes.closed = true;
        }
        self.0.ready.notify_all();
    }
}

#[derive(Clone)]
pub struct PasswordHasher {
    queue: Arc<Queue>,
    _closer: Arc<Closer>,
    threads: usize,
    params: Params,
    /// Verified against when the e-mail is unknown, so that both answers take
    /// the same time.
    dummy_hash: Arc<String>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = &self.params;
        write!(
            f,
            "PasswordHasher(argon2id m={} t={} p={}, threads={})",
            p.m_cost(),
            p.t_cost(),
            p.p_cost(),
            self.threads
        )
    }
}

impl PasswordHasher {
    /// `concurrency` hashes run at once at most (normally the core count).
    pub fn new(concurrency: usize) -> Self {
        Self::with_params(concurrency, Self::owasp_params())
    }

    /// argon2id, 19 MiB, t=2, p=1.
    pub fn owasp_params() -> Params {
        Params::new(19 * 1024, 2, 1, None).expect("valid argon2 params")
    }

    /// Cheaper parameters, for tests that create many accounts.
    pub fn with_params(concurrency: usize, params: Params) -> Self {
        Self::with_queue(concurrency, concurrency.max(1) * QUEUE_PER_THREAD, params)
    }

    /// `queue`: hashes that may wait for a thread before more are refused.
    pub fn with_queue(concurrency: usize, queue: usize, params: Params) -> Self {
        let mut area = WorkArea::default();
        let dummy = area.hash(&params, b"twostep: no such account").expect("hashing a constant works");
        let queue = Arc::new(Queue { lanes: Mutex::default(), ready: Condvar::new(), capacity: queue.max(1) });
        let threads = concurrency.max(1);
        for i in 0..threads {
            let queue = queue.clone();
            let params = params.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || worker(&queue, &params))
                .expect("spawning a hashing thread");
        }
        let closer = Arc::new(Closer(queue.clone()));
        Self { queue, _closer: closer, threads, params, dummy_hash: Arc::new(dummy) }
    }

    /// Queues a job, or refuses at once when the queue is full.
    fn submit(&self, job: Job) -> AppResult<()> {
        let mut lanes = self.queue.lanes.lock().map_err(|_| AppError::Internal("hashing threads stopped".into()))?;
        if lanes.checks.len() + lanes.hashes.len() >= self.queue.capacity {
            return Err(AppError::Overloaded { retry_after_s: 1 });
        }
        match job {
            Job::Verify { .. } => lanes.checks.push_back(job),
            Job::Hash { .. } => lanes.hashes.push_back(job),
        }
        drop(lanes);
        self.queue.ready.notify_one();
        Ok(())
    }

    pub async fn hash(&self, password: &str) -> AppResult<String> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash { password: Zeroizing::new(password.to_owned()), reply })?;
        answer.await.map_err(|_| AppError::Internal("hashing thread failed".into()))?
    }

    /// Whether `hash` was made with other parameters than this hasher's, and
    /// should be replaced once the password has been checked against it.
    pub fn needs_rehash(&self, hash: &str) -> bool {
        needs_rehash(hash, &self.params)
    }

    /// Checks `password` against `hash`, or against a dummy hash when there is
    /// no account, so that the caller's timing does not reveal which.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> AppResult<bool> {
        let known = hash.is_some();
        let hash = hash.map(str::to_owned).unwrap_or_else(|| self.dummy_hash.to_string());
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Verify { password: Zeroizing::new(password.to_owned()), hash, reply })?;
        let ok = answer.await.map_err(|_| AppError::Internal("hashing thread failed".into()))?;
        Ok(ok && known)
    }
}

/// One thread's argon2 memory, grown to the largest parameters seen and
/// reused for every hash. Reusing it needs argon2's low-level entry point
/// (`hash_password_into_with_memory`); the PHC strings around it are the
/// crate's own `PasswordHash` type.
#[derive(Default)]
struct WorkArea {
    blocks: Vec<Block>,
}

const SALT_LEN: usize = Salt::RECOMMENDED_LENGTH;
const OUTPUT_LEN: usize = Params::DEFAULT_OUTPUT_LEN;
/// Argon2 version 1.3, the only one written or accepted.
const VERSION_19: u32 = 0x13;

impl WorkArea {
    fn run(&mut self, params: &Params, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), argon2::Error> {
        let needed = params.block_count();
        if self.blocks.len() < needed {
            self.blocks.resize(needed, Block::default());
        }
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone()).hash_password_into_with_memory(
            password,
            salt,
            out,
            &mut self.blocks[..needed],
        )
    }

    fn hash(&mut self, params: &Params, password: &[u8]) -> Result<String, String> {
        let mut salt = [0u8; SALT_LEN];
        rand::rng().fill_bytes(&mut salt);
        let mut out = [0u8; OUTPUT_LEN];
        let params = Params::new(params.m_cost(), params.t_cost(), params.p_cost(), Some(OUTPUT_LEN))
            .map_err(|e| e.to_string())?;
        self.run(&params, password, &salt, &mut out).map_err(|e| e.to_string())?;
        let phc = PasswordHash {
            algorithm: ARGON2ID_IDENT,
            version: Some(VERSION_19),
            params: ParamsString::try_from(&params).map_err(|e| e.to_string())?,
            salt: Some(Salt::new(&salt).map_err(|e| e.to_string())?),
            hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
        };
        Ok(phc.to_string())
    }

    /// Checks a PHC argon2id string; anything unparsable is simply a mismatch.
    fn verify(&mut self, password: &[u8], phc: &str) -> bool {
        let Some((params, salt, expected)) = parse_phc(phc) else { return false };
        let mut out = vec![0u8; expected.len()];
        self.run(&params, password, &salt, &mut out).is_ok() && bool::from(out.ct_eq(expected.as_bytes()))
    }
}

/// An argon2id (version 19) PHC string's parameters, salt and hash.
fn parse_phc(phc: &str) -> Option<(Params, Salt, Output)> {
    let phc = PasswordHash::new(phc).ok()?;
    if phc.algorithm != ARGON2ID_IDENT || phc.version != Some(VERSION_19) {
        return None;
    }
    let params = Params::try_from(&phc).ok()?;
    Some((params, phc.salt?, phc.hash?))
}

/// Whether a stored hash was made with other parameters than `params` (or
/// cannot be read at all), so that it should be replaced after the next
/// successful check.
pub fn needs_rehash(phc: &str, params: &Params) -> bool {
    let Some((stored, salt, hash)) = parse_phc(phc) else { return true };
    (stored.m_cost(), stored.t_cost(), stored.p_cost()) != (params.m_cost(), params.t_cost(), params.p_cost())
        || !stored.keyid().is_empty()
        || !stored.data().is_empty()
        || salt.len() != SALT_LEN
        || hash.len() != OUTPUT_LEN
}

fn worker(queue: &Queue, params: &Params) {
    let mut area = WorkArea::default();
    loop {
        // The lock is held only while taking the next job.
        let job = {
            let Ok(mut lanes) = queue.lanes.lock() else { return };
            loop {
                if let Some(job) = lanes.next() {
                    break job;
                }
                if lanes.closed {
                    return;
                }
                lanes = match queue.ready.wait(lanes) {
                    Ok(lanes) => lanes,
                    Err(_) => return,
                };
            }
        };
        match job {
            Job::Hash { password, reply } => {
                let result = area
                    .hash(params, password.as_bytes())
                    .map_err(|e| AppError::Internal(format!("password hash: {e}")));
                let _ = reply.send(result);
            }
            Job::Verify { password, hash, reply } => {
                let _ = reply.send(area.verify(password.as_bytes(), &hash));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_never_matches() {
        let h = PasswordHasher::with_params(2, Params::new(1024, 1, 1, None).unwrap());
        let hash = h.hash("correct horse").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(h.verify("correct horse", Some(&hash)).await.unwrap());
        assert!(!h.verify("wrong horse", Some(&hash)).await.unwrap());
        assert!(!h.verify("twostep: no such account", None).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_are_standard_phc_strings_both_ways() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let params = Params::new(1024, 1, 1, None).unwrap();
        let h = PasswordHasher::with_params(1, params.clone());
        let ours = h.hash("interoperable").await.unwrap();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        assert!(argon.verify_password(b"interoperable", ours.as_str()).is_ok(), "{ours}");
        let theirs = argon.hash_password(b"interoperable").unwrap().to_string();
        assert!(h.verify("interoperable", Some(&theirs)).await.unwrap(), "{theirs}");
        assert!(
            !h.verify("interoperable", Some("$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g")).await.unwrap()
        );
        assert!(!h.verify("interoperable", Some("garbage")).await.unwrap());
    }

    #[tokio::test]
    async fn the_stored_form_is_unchanged() {
        let h = PasswordHasher::with_params(1, Params::new(1024, 1, 1, None).unwrap());
        let ours = h.hash("same form").await.unwrap();
        let fields: Vec<&str> = ours.split('$').collect();
        assert_eq!(fields[..4], ["", "argon2id", "v=19", "m=1024,t=1,p=1"], "{ours}");
        // 16 bytes of salt and 32 of hash, base64 without padding.
        assert_eq!((fields.len(), fields[4].len(), fields[5].len()), (6, 22, 43), "{ours}");
        // A hash in the form stored so far: salt "saltsaltsaltsalt", the
        // raw argon2id output of "stored" under m=1024, t=1, p=1.
        let stored = "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$KkIbYbAXVNYvmQHf95nvLlLK4XIgp7rfOwAXMnFEzl4";
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(1024, 1, 1, Some(32)).unwrap());
        let mut expected = [0u8; 32];
        argon.hash_password_into(b"stored", b"saltsaltsaltsalt", &mut expected).unwrap();
        assert!(stored.ends_with(&format!("${}", data_encoding::BASE64_NOPAD.encode(&expected))));
        assert!(h.verify("stored", Some(stored)).await.unwrap(), "{stored}");
        assert!(!h.needs_rehash(stored));
        assert!(!h.verify("other", Some(stored)).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_made_with_other_parameters_need_remaking() {
        let h = PasswordHasher::with_params(1, Params::new(1024, 1, 1, None).unwrap());
        let ours = h.hash("pw").await.unwrap();
        assert!(!h.needs_rehash(&ours), "{ours}");
        for other in [
            Params::new(2048, 1, 1, None).unwrap(),
            Params::new(1024, 2, 1, None).unwrap(),
            Params::new(1024, 1, 2, None).unwrap(),
        ] {
            let theirs = PasswordHasher::with_params(1, other).hash("pw").await.unwrap();
            assert!(h.verify("pw", Some(&theirs)).await.unwrap(), "{theirs}");
            assert!(h.needs_rehash(&theirs), "{theirs}");
        }
        let short = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(1024, 1, 1, Some(16)).unwrap());
        use argon2::password_hash::PasswordHasher as _;
        let short = short.hash_password(b"pw").unwrap().to_string();
        assert!(h.verify("pw", Some(&short)).await.unwrap(), "{short}");
        assert!(h.needs_rehash(&short), "{short}");
        assert!(h.needs_rehash("garbage"));
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_instead_of_waiting() {
        // One thread, one waiting place, a hash slow enough to keep them busy.
        let h = PasswordHasher::with_queue(1, 1, Params::new(64 * 1024, 4, 1, None).unwrap());
        // Eight requests at once: each submits when first polled.
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let h = h.clone();
                tokio::spawn(async move { h.hash("correct horse").await })
            })
            .collect();
        let mut results = Vec::new();
        for c in calls {
            results.push(c.await.unwrap());
        }
        let refused = results.iter().filter(|r| matches!(r, Err(AppError::Overloaded { retry_after_s: 1 }))).count();
        let hashed = results.iter().filter(|r| r.is_ok()).count();
        assert!(refused >= 1 && hashed >= 1 && refused + hashed == 8, "{refused} refused, {hashed} hashed");
        // Once the queue drains, hashing works again.
        assert!(h.hash("correct horse").await.is_ok());
    }

    #[test]
    fn checks_go_first_yet_every_fourth_job_is_a_waiting_hash() {
        let mut lanes = Lanes::default();
        for n in 0..6 {
            lanes.checks.push_back(Job::Verify {
                password: Zeroizing::new(format!("c{n}")),
                hash: String::new(),
                reply: oneshot::channel().0,
            });
        }
        for n in 0..2 {
            lanes
                .hashes
                .push_back(Job::Hash { password: Zeroizing::new(format!("h{n}")), reply: oneshot::channel().0 });
        }
        let order: Vec<String> = std::iter::from_fn(|| lanes.next())
            .map(|job| match job {
                Job::Verify { password, .. } | Job::Hash { password, .. } => password.to_string(),
            })
            .collect();
        assert_eq!(order, ["c0", "c1", "c2", "h0", "c3", "c4", "c5", "h1"]);
    }

    #[tokio::test]
    async fn a_check_waits_for_the_running_hash_not_for_the_queue() {
        // One thread; six new hashes queued; a check submitted behind them
        // is taken as soon as the running hash ends.
        let h = PasswordHasher::with_queue(1, 16, Params::new(32 * 1024, 2, 1, None).unwrap());
        let typed = h.hash("typed").await.unwrap();
        let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let hashes: Vec<_> = (0..6)
            .map(|_| {
                let (h, done) = (h.clone(), done.clone());
                tokio::spawn(async move {
                    h.hash("new password").await.unwrap();
                    done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                })
            })
            .collect();
        // Once all six are in (queued or done; one runs), the check comes.
        let (queued, done_before) = loop {
            let queued = h.queue.lanes.lock().unwrap().hashes.len();
            let done_before = done.load(std::sync::atomic::Ordering::SeqCst);
            if queued + done_before >= 5 {
                break (queued, done_before);
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        };
        assert!(h.verify("typed", Some(&typed)).await.unwrap());
        let overtaken = done.load(std::sync::atomic::Ordering::SeqCst) - done_before;
        // The running hash, and at most one taken between our two reads.
        assert!(overtaken <= 2, "{overtaken} of {queued} queued hashes went before the check");
        for task in hashes {
            task.await.unwrap();
        }
        assert_eq!(done.load(std::sync::atomic::Ordering::SeqCst), 6);
    }

    #[test]
    fn default_parameters_are_owasp() {
        let h = PasswordHasher::new(1);
        assert_eq!((h.params.m_cost(), h.params.t_cost(), h.params.p_cost()), (19 * 1024, 2, 1));
    }
}
