//! Password hashing with argon2id (OWASP parameters: 19 MiB, t=2, p=1) on a
//! small pool of dedicated threads, one per permitted concurrent hash. A login
//! flood then queues instead of starving the async executor, and memory stays
//! bounded: each hash needs 19 MiB, and with a fixed set of threads the
//! allocator keeps at most one such block per thread (on the shared blocking
//! pool every new thread would keep one more).

use std::sync::{mpsc, Arc, Mutex};

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::oneshot;

use crate::error::{AppError, AppResult};

enum Job {
    Hash { password: String, reply: oneshot::Sender<AppResult<String>> },
    Verify { password: String, hash: String, reply: oneshot::Sender<bool> },
}

#[derive(Clone)]
pub struct PasswordHasher {
    jobs: mpsc::Sender<Job>,
    threads: usize,
    params: Params,
    /// Verified against when the e-mail is unknown, so that both answers take
    /// the same time.
    dummy_hash: Arc<String>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PasswordHasher(threads={})", self.threads)
    }
}

impl PasswordHasher {
    /// `concurrency` hashes run at once at most (normally the core count).
    pub fn new(concurrency: usize) -> Self {
        Self::with_params(concurrency, Params::new(19 * 1024, 2, 1, None).expect("valid argon2 params"))
    }

    /// Cheaper parameters, for tests that create many accounts.
    pub fn with_params(concurrency: usize, params: Params) -> Self {
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let dummy = argon.hash_password(b"twostep: no such account").expect("hashing a constant works").to_string();
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let threads = concurrency.max(1);
        for i in 0..threads {
            let queue = queue.clone();
            let params = params.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || worker(&queue, &params))
                .expect("spawning a hashing thread");
        }
        Self { jobs, threads, params, dummy_hash: Arc::new(dummy) }
    }

    pub async fn hash(&self, password: &str) -> AppResult<String> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Hash { password: password.to_owned(), reply })
            .map_err(|_| AppError::Internal("hashing threads stopped".into()))?;
        answer.await.map_err(|_| AppError::Internal("hashing thread failed".into()))?
    }

    /// Checks `password` against `hash`, or against a dummy hash when there is
    /// no account, so that the caller's timing does not reveal which.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> AppResult<bool> {
        let known = hash.is_some();
        let hash = hash.map(str::to_owned).unwrap_or_else(|| self.dummy_hash.to_string());
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Verify { password: password.to_owned(), hash, reply })
            .map_err(|_| AppError::Internal("hashing threads stopped".into()))?;
        let ok = answer.await.map_err(|_| AppError::Internal("hashing thread failed".into()))?;
        Ok(ok && known)
    }
}

fn worker(queue: &Mutex<mpsc::Receiver<Job>>, params: &Params) {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    loop {
        // The lock is held only while waiting for the next job.
        let job = match queue.lock() {
            Ok(q) => q.recv(),
            Err(_) => return,
        };
        match job {
            Ok(Job::Hash { password, reply }) => {
                let result = argon
                    .hash_password(password.as_bytes())
                    .map(|h| h.to_string())
                    .map_err(|e| AppError::Internal(format!("password hash: {e}")));
                let _ = reply.send(result);
            }
            Ok(Job::Verify { password, hash, reply }) => {
                // Verification uses the parameters recorded in the stored hash.
                let ok = Argon2::default().verify_password(password.as_bytes(), hash.as_str()).is_ok();
                let _ = reply.send(ok);
            }
            Err(_) => return,
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

    #[test]
    fn default_parameters_are_owasp() {
        let h = PasswordHasher::new(1);
        assert_eq!((h.params.m_cost(), h.params.t_cost(), h.params.p_cost()), (19 * 1024, 2, 1));
    }
}
