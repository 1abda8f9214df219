//! Pure domain rules for twostep: one-time codes, backup keys, proof of
//! work, validation (e-mail, phone numbers), masking, throttling, holds, the
//! login state machine, the outbound message queue's retry rules, and
//! lost-2FA recovery: the case state machine, its risk score, security
//! questions and identity document images; and what staff accounts may do.
//!
//! Nothing here does I/O, reads the clock or owns a randomness source: time
//! arrives as unix seconds and randomness as a caller-supplied RNG, so every
//! rule is deterministic and testable in isolation.

pub mod audit_chain;
pub mod audit_kind;
pub mod backup_key;
pub mod captcha;
pub mod codes;
pub mod device;
pub mod document_image;
pub mod email;
pub mod error;
pub mod factor;
pub mod hold;
pub mod login;
pub mod mask;
pub mod oidc;
pub mod outbound;
pub mod password;
mod percent;
pub mod phone;
pub mod questions;
pub mod recovery;
pub mod risk;
pub mod staff;
pub mod sudo;
pub mod throttle;
pub mod totp;

pub use backup_key::{
    BackupKeyLength, encode_backup_key, generate_secret, group_backup_key, otpauth_uri, parse_backup_key,
    parse_otpauth_uri,
};
pub use captcha::{leading_zero_bits, pow_ok, solve};
pub use codes::{MAX_CODE_TRIES, code_matches, generate_code, hash_code};
pub use email::normalize_email;
pub use error::DomainError;
pub use factor::{Role, SecondFactorMethod};
pub use hold::{active_hold, extend_hold};
pub use login::{LoginAttempt, LoginRefusal, LoginState, MAX_SECOND_FACTOR_FAILURES, after_failure};
pub use mask::{mask_email, mask_phone};
pub use outbound::{AfterFailure, MessageStatus, RetryPolicy};
pub use password::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, validate_password};
pub use phone::normalize_phone;
pub use throttle::FailurePolicy;
pub use totp::{DIGITS, HmacAlg, STEP_S, code_at, hotp, step_at, verify};
