//! The one error type of the use cases. Each variant is a kind of refusal a
//! client can act on; the web layer maps it to the API's status and code.

use crate::ports::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{field}: {message}")]
    InvalidRequest { field: String, message: String },
    #[error("the captcha is missing, expired, reused or wrong")]
    CaptchaFailed,
    /// The puzzle was easier than this address needs after recent password
    /// failures; a new one for the address is that hard.
    #[error("this sign-in needs a puzzle of {difficulty_bits} bits")]
    CaptchaTooEasy { difficulty_bits: u32 },
    /// A sensitive change needs a recent proof of one of these factors.
    #[error("confirm it is you first")]
    StepUpRequired { methods: Vec<twostep_domain::sudo::ProofFactor> },
    #[error("e-mail or password not accepted")]
    InvalidCredentials,
    #[error("sign in first")]
    Unauthorized,
    #[error("the code is wrong, expired or already used")]
    InvalidCode,
    /// The right authenticator code, but its time step was already used
    /// (the same code twice, e.g. straight after enrolling): the next code
    /// will do. Answered as `invalid_code` like any refused code.
    #[error("this code was already used; wait for the next code")]
    CodeAlreadyUsed,
    #[error("confirm your e-mail address first")]
    EmailUnverified,
    #[error("not allowed")]
    Forbidden,
    /// Staff power withheld, with what the person can do about it.
    #[error("{0}")]
    Staff(twostep_domain::staff::StaffRefusal),
    #[error("blocked by a security hold")]
    SecurityHold { until: i64 },
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMedia(String),
    #[error("too many attempts")]
    TooManyAttempts { retry_after_s: i64 },
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Shed load: a bounded queue (password hashing) is full.
    #[error("overloaded; retry in {retry_after_s} s")]
    Overloaded { retry_after_s: i64 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::InvalidRequest { field: field.to_string(), message: message.into() }
    }
}

/// An error and each of its sources, for the log line that reports it.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable { .. } => AppError::Unavailable(error_chain(&e)),
            StoreError::Other { .. } => AppError::Internal(error_chain(&e)),
        }
    }
}

impl From<twostep_domain::DomainError> for AppError {
    fn from(e: twostep_domain::DomainError) -> Self {
        use twostep_domain::DomainError as D;
        match e {
            D::InvalidField { field, message } => AppError::invalid(field, message),
            D::InvalidCode => AppError::InvalidCode,
            D::Conflict(m) => AppError::Conflict(m),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
