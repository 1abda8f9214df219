//! Storage for the rules that make the owner win against a thief: sign-ups
//! that wait for their own code, proofs given in a session (sudo mode), the
//! channels an account had before a change, and the owner's objection to a
//! recovery. Part of the `Store` port; the SQL is in the store crate.

use async_trait::async_trait;
use twostep_domain::sudo::SessionProof;

use crate::ports::{AuditEvent, Channel, NewAccount, QueuedMessage, StoreResult};

/// A sign-up waiting for the code sent to its address. It holds the
/// password it was made with; only its own code turns it into an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    /// The keyed hash of its code, bound to this registration's id.
    pub code_hash: Vec<u8>,
    pub created_at: i64,
    pub expires_at: i64,
    pub ip: String,
    pub user_agent: String,
    /// The sign-up request's language, for the account it creates.
    pub language: Option<crate::Lang>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfirmOutcome {
    /// The account exists now, with the registration's password; every other
    /// registration of the address is gone.
    Created,
    /// The registration was used or expired meanwhile, or the address belongs
    /// to a confirmed account: nothing was written.
    Gone,
}

/// The owner's "this wasn't me", applied in one transaction: every live
/// recovery case of the account stops, the objection is recorded on the
/// account (later cases are high risk), and, when `freeze`, the account is
/// frozen with its sessions and pending sign-ins ended and its security
/// epoch moved (so no session opened before or racing the freeze works).
/// Of several objections racing (one code sent many times), each records
/// itself, but only what one of them actually did is audited and told.
#[derive(Clone, Debug)]
pub struct Objection {
    pub account_id: String,
    pub now: i64,
    /// Written as each stopped case's decision note.
    pub reason: String,
    pub freeze: bool,
    /// Whether it is recorded as an objection to recovery (every later case
    /// is high risk). The owner freezing their own account is not one: the
    /// lost-2FA case that unfreezes it must not start out suspect.
    pub objected: bool,
    /// An approved case whose hold still runs, closed by the objection.
    pub approved_case: Option<String>,
    /// Always appended: the objection's own entry.
    pub audit: Vec<AuditEvent>,
    /// Appended once per case this objection stopped, with the detail
    /// `case <id>: <reason>`.
    pub stopped_event: AuditEvent,
    /// Appended when this objection froze the account.
    pub frozen_event: AuditEvent,
    /// Queued only when this objection stopped a case or froze the account.
    pub notices: Vec<QueuedMessage>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectionOutcome {
    /// The cases this objection stopped.
    pub stopped: Vec<String>,
    /// Whether this objection froze the account.
    pub froze: bool,
    /// Whether the account is frozen now (by this objection or before).
    pub frozen: bool,
}

#[async_trait]
pub trait OwnerStore: Send + Sync {
    /// Stores a sign-up; the address keeps at most `keep` live ones (the
    /// oldest and the expired go first), so repeated sign-ups cost bounded rows.
    async fn create_registration(&self, registration: &Registration, keep: i64) -> StoreResult<()>;
    /// The address's live sign-ups whose codes have tries left, newest first.
    async fn live_registrations(&self, email: &str, now: i64) -> StoreResult<Vec<Registration>>;
    /// Counts a wrong code against every live sign-up of the address: after
    /// `MAX_CODE_TRIES` none of their codes works (sign up again for a new one).
    async fn count_registration_try(&self, email: &str, now: i64) -> StoreResult<()>;
    /// Turns a live registration into `account` (confirmed, with the
    /// registration's password), deletes every registration of the address
    /// and any never-confirmed account of it, and appends `audit`; all or
    /// nothing.
    async fn confirm_registration(
        &self,
        registration_id: &str,
        account: &NewAccount,
        now: i64,
        audit: &[AuditEvent],
    ) -> StoreResult<ConfirmOutcome>;
    /// Records a proof given in a live session; false when the session is gone.
    async fn record_session_proof(&self, token_hash: &str, proof: SessionProof) -> StoreResult<bool>;
    /// The addresses and numbers the account had and replaced since `since`.
    async fn former_channels(&self, account_id: &str, since: i64) -> StoreResult<Vec<(Channel, String)>>;
    async fn object(&self, objection: &Objection) -> StoreResult<ObjectionOutcome>;
}
