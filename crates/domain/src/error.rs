//! The single error type for every rule in this crate.
//!
//! Variants are coarse on purpose: callers map them to HTTP answers, and a
//! wrong code must never reveal *why* it was wrong (expired, reused, typo).

/// Why a domain rule refused its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A user-supplied value is malformed; `field` names it for the client.
    #[error("{field}: {message}")]
    InvalidField { field: &'static str, message: String },
    /// A one-time code did not verify. Deliberately says nothing more.
    #[error("the code is wrong, expired or already used")]
    InvalidCode,
    /// The request is well-formed but the current state forbids it.
    #[error("this step is not allowed now")]
    Conflict(String),
}

impl DomainError {
    /// Shorthand used by the validators in this crate.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        DomainError::InvalidField { field, message: message.into() }
    }
}
