//! Storage of passkeys and of the WebAuthn ceremonies under way. Part of the
//! `Store` port; the SQL is in the store crate (`passkeys.rs`), tested by
//! the one contract suite on both backends. Adding and removing a passkey
//! are account changes (`AccountChange::AddPasskey`, `RemovePasskey`),
//! written with their hold, notices and audit entry.

use async_trait::async_trait;

use crate::ports::{Effects, StoreResult};

/// A passkey of an account. Its public key and signature counter are in
/// `credential` (webauthn-rs's `Passkey`, as JSON: nothing in it is secret);
/// `sign_count` is that counter again, so that a use is recorded only over
/// the count it was checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyRecord {
    pub id: String,
    pub account_id: String,
    /// The credential id, base64url: unique across every account.
    pub credential_id: String,
    pub name: String,
    pub credential: String,
    pub sign_count: i64,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// What a ceremony is for; a challenge answers only the ceremony it was
/// issued for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CeremonyPurpose {
    /// Registering a new passkey (`subject` is the session's token hash).
    Register,
    /// The second step of a sign-in (`subject` is the login id).
    SecondStep,
    /// A sign-in with no e-mail or password typed.
    SignIn,
    /// Sudo mode (`subject` is the session's token hash: the session that
    /// started it is the one that may answer).
    Sudo,
    /// Completing a forgotten-password reset (`subject` is the reset id).
    PasswordReset,
}

impl CeremonyPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            CeremonyPurpose::Register => "register",
            CeremonyPurpose::SecondStep => "second_step",
            CeremonyPurpose::SignIn => "sign_in",
            CeremonyPurpose::Sudo => "sudo",
            CeremonyPurpose::PasswordReset => "password_reset",
        }
    }
}

/// A WebAuthn ceremony under way: the server's half (webauthn-rs's state,
/// holding the challenge) kept in the database, so that any instance can
/// finish it; taken once, and only before `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyChallenge {
    pub id: String,
    pub purpose: String,
    /// None for a sign-in with no account named yet.
    pub account_id: Option<String>,
    pub subject: String,
    pub state: String,
    /// Who started it (the per-IP limit's subject), for the record.
    pub ip: String,
    pub created_at: i64,
    pub expires_at: i64,
}

#[async_trait]
pub trait PasskeyStore: Send + Sync {
    /// The account's passkeys, oldest first.
    async fn passkeys(&self, account_id: &str) -> StoreResult<Vec<PasskeyRecord>>;
    async fn passkey_by_credential(&self, credential_id: &str) -> StoreResult<Option<PasskeyRecord>>;
    /// Renames one of the account's passkeys, with the effects; false if the
    /// account has no such passkey.
    async fn rename_passkey(&self, account_id: &str, id: &str, name: &str, effects: &Effects) -> StoreResult<bool>;
    /// Records a use: the new counter and credential, only over the count
    /// the signature was checked against (false: another use won meanwhile).
    async fn record_passkey_use(
        &self,
        id: &str,
        checked_count: i64,
        new_count: i64,
        credential: &str,
        now: i64,
    ) -> StoreResult<bool>;
    /// Stores a ceremony; deletes expired ones first.
    async fn create_passkey_challenge(&self, c: &PasskeyChallenge) -> StoreResult<()>;
    /// Takes a ceremony once: it is deleted whether or not it is still live;
    /// None if it was taken already or never existed.
    async fn take_passkey_challenge(&self, id: &str) -> StoreResult<Option<PasskeyChallenge>>;
    /// Audit entries and notices of an event that changes nothing else (a
    /// refused copy of a passkey), in one transaction.
    async fn record_effects(&self, effects: &Effects) -> StoreResult<()>;
}
