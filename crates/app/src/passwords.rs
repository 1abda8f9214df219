//! Password hashing with argon2id (OWASP parameters: 19 MiB, t=2, p=1), run on
//! the blocking pool behind a semaphore so that a login flood queues instead of
//! starving the async executor or exhausting memory (each hash holds 19 MiB).

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::{AppError, AppResult};

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    params: Params,
    /// Verified against when the e-mail is unknown, so that both answers take
    /// the same time.
    dummy_hash: Arc<String>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PasswordHasher(permits={})", self.permits.available_permits())
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
        let dummy = argon
            .hash_password(b"twostep: no such account")
            .expect("hashing a constant works")
            .to_string();
        Self { permits: Arc::new(Semaphore::new(concurrency.max(1))), params, dummy_hash: Arc::new(dummy) }
    }

    fn argon(params: &Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
    }

    pub async fn hash(&self, password: &str) -> AppResult<String> {
        let _permit = self.permits.acquire().await.map_err(|e| AppError::Internal(e.to_string()))?;
        let params = self.params.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            Self::argon(&params)
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| AppError::Internal(format!("password hash: {e}")))
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
    }

    /// Checks `password` against `hash`, or against a dummy hash when there is
    /// no account, so that the caller's timing does not reveal which.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> AppResult<bool> {
        let _permit = self.permits.acquire().await.map_err(|e| AppError::Internal(e.to_string()))?;
        let known = hash.is_some();
        let hash = hash.map(str::to_owned).unwrap_or_else(|| self.dummy_hash.to_string());
        let password = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || {
            // Verification uses the parameters recorded in the stored hash.
            Argon2::default().verify_password(password.as_bytes(), hash.as_str()).is_ok()
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(ok && known)
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
