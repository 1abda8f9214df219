//! The ports the use cases need from the outside world: storage, message delivery
//! and the clock. Only traits and plain records live here; the SQL lives in the
//! `store` crate and vendors in `delivery`.

use async_trait::async_trait;
use twostep_domain::{LoginAttempt, MessageStatus, Role};

/// A storage failure. Storage never speaks HTTP: the use cases decide what a
/// missing row or a lost race means for the caller.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database unavailable: {message}")]
    Unavailable { message: String, source: Option<Cause> },
    #[error("database error: {message}")]
    Other { message: String, source: Option<Cause> },
}

/// The error a store error came from (the driver's), kept for the logs.
pub type Cause = std::sync::Arc<dyn std::error::Error + Send + Sync>;

impl StoreError {
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::Unavailable { message: message.into(), source: None }
    }

    pub fn other(message: impl Into<String>) -> Self {
        Self::Other { message: message.into(), source: None }
    }

    /// The failure of `cause`, which stays reachable as the error's source.
    pub fn caused_by(cause: impl std::error::Error + Send + Sync + 'static, unavailable: bool) -> Self {
        let message = cause.to_string();
        let source = Some(std::sync::Arc::new(cause) as Cause);
        if unavailable { Self::Unavailable { message, source } } else { Self::Other { message, source } }
    }

    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Unix seconds. Every layer below HTTP speaks integer seconds so that both
/// database backends store time the same way.
pub trait Clock: Send + Sync {
    fn now(&self) -> i64;
}

#[derive(Clone, Debug)]
pub struct AccountRecord {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub email_verified_at: Option<i64>,
    pub phone: Option<String>,
    pub role: Role,
    pub created_at: i64,
    pub frozen_at: Option<i64>,
    pub withdrawals_blocked_until: Option<i64>,
    pub second_factor_failures: i64,
    /// When the owner last used a cancel code ("this wasn't me"); every
    /// recovery case opened after it is high risk.
    pub owner_objected_at: Option<i64>,
    /// The language of its messages, as its sign-up asked; `None`: the
    /// server's `--language`.
    pub language: Option<crate::Lang>,
}

#[derive(Clone, Debug)]
pub struct NewAccount {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub verified: bool,
    pub created_at: i64,
    pub language: Option<crate::Lang>,
}

#[derive(Clone, Debug)]
pub enum CreateOutcome {
    Created,
    /// The e-mail belongs to an account already; its id is returned so that the
    /// caller can decide what the address owner should hear.
    EmailTaken(AccountRecord),
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn create_account(&self, account: &NewAccount) -> StoreResult<CreateOutcome>;
    async fn account_by_email(&self, email: &str) -> StoreResult<Option<AccountRecord>>;
    async fn account_by_id(&self, id: &str) -> StoreResult<Option<AccountRecord>>;
    async fn mark_email_verified(&self, id: &str, now: i64) -> StoreResult<()>;
    async fn set_password(&self, id: &str, hash: &str) -> StoreResult<()>;
    /// Replaces the password hash only while it is still `current`, so that
    /// re-hashing a checked password never undoes a change made meanwhile.
    /// Returns whether it was replaced.
    async fn replace_password_hash(&self, id: &str, current: &str, new: &str) -> StoreResult<bool>;
    /// Raises the withdrawal hold to `until` unless a later one is already set.
    async fn extend_withdrawal_hold(&self, id: &str, until: i64) -> StoreResult<()>;
    /// Counts one more consecutive second-factor failure; returns the new count.
    async fn add_second_factor_failure(&self, id: &str) -> StoreResult<i64>;
    async fn clear_second_factor_failures(&self, id: &str) -> StoreResult<()>;
    async fn set_role(&self, id: &str, role: Role) -> StoreResult<()>;
    /// Binds (or, with None, removes) the account's phone number, in E.164.
    async fn set_phone(&self, id: &str, phone: Option<&str>) -> StoreResult<()>;
}

#[derive(Clone, Debug)]
pub struct NewLoginAttempt {
    pub attempt: LoginAttempt,
    pub created_at: i64,
    pub ip: String,
    pub user_agent: String,
    /// The password step's audit entry, written in the attempt's transaction.
    pub audit: Option<AuditEvent>,
}

/// Everything the second step needs, read in one round trip: the attempt,
/// its account, the authenticator, the sign-in throttle's state and the
/// device.
#[derive(Clone, Debug)]
pub struct SignInContext {
    pub attempt: LoginAttempt,
    pub account: AccountRecord,
    pub totp: Option<TotpFactor>,
    pub failures: FailureState,
    /// The device the client presented (its token), as the account knows it.
    pub device: crate::devices::port::DeviceFacts,
}

/// The writes of a successful second step, applied in one transaction.
#[derive(Clone, Debug)]
pub struct SignInSuccess {
    pub login_id: String,
    pub account_id: String,
    /// The authenticator step to record as used; None for a sent code.
    pub totp_step: Option<i64>,
    /// The sent code to use up, in the same transaction as the rest: a
    /// concurrent copy of the right code then finds the attempt complete
    /// instead of counting as a failure. None for an authenticator.
    pub sent_code_id: Option<String>,
    pub session_token_hash: String,
    pub session_expires_at: i64,
    pub now: i64,
    pub max_failures: i64,
    /// The throttle subject to clear, when it holds failures.
    pub clear_subject: Option<String>,
    pub clear_second_factor_failures: bool,
    pub audit: AuditEvent,
    /// The device the session is opened on.
    pub device_id: Option<String>,
    /// Its row, added or marked seen with the rest when the sign-in wins.
    pub device_write: crate::devices::port::DeviceWrite,
    /// The factors the session signs in with, by name, space-separated.
    pub factors: String,
    /// True when the device waits for the e-mail's confirmation: the
    /// attempt is completed and its step used up, but no session opened.
    pub held_for_device: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInOutcome {
    Completed,
    /// The authenticator step or the sent code was used meanwhile (a replay
    /// or a race lost).
    CodeAlreadyUsed,
    /// The attempt is no longer pending (completed, dead or expired).
    AttemptClosed,
}

/// The writes of a refused second step, applied in one transaction.
#[derive(Clone, Debug)]
pub struct SignInFailure {
    pub login_id: String,
    pub account_id: String,
    pub max_failures: i64,
    pub subject: String,
    pub now: i64,
    pub window_s: i64,
    pub audit: AuditEvent,
    /// Written beside `audit` when the refused code was a used authenticator
    /// code presented again.
    pub replayed: Option<AuditEvent>,
    /// Written beside `audit` when this refusal brings the account's
    /// consecutive second-factor failures to `lock_after` (the lock-out).
    pub lock_after: i64,
    pub locked: AuditEvent,
}

#[async_trait]
pub trait LoginStore: Send + Sync {
    async fn create_login(&self, login: &NewLoginAttempt) -> StoreResult<()>;
    async fn login_by_id(&self, id: &str) -> StoreResult<Option<LoginAttempt>>;
    /// Counts a wrong code against a pending attempt, killing it at the limit.
    /// Returns the failures so far, or None if the attempt was not pending.
    async fn add_login_failure(&self, id: &str, max_failures: i64) -> StoreResult<Option<i64>>;
    /// Moves a pending, live attempt to completed. Exactly one caller wins.
    async fn complete_login(&self, id: &str, now: i64, max_failures: i64) -> StoreResult<bool>;
    /// The attempt with its account, authenticator, the failures of the
    /// throttle subject `subject_prefix + email` since `since`, and the
    /// account's device whose token hashes to `device_token_hash` ("" when
    /// the client presented none).
    async fn sign_in_context(
        &self,
        login_id: &str,
        subject_prefix: &str,
        since: i64,
        device_token_hash: &str,
    ) -> StoreResult<Option<SignInContext>>;
    /// Records the used step, completes the attempt, opens the session and
    /// audits, all or nothing. Exactly one of several concurrent callers wins.
    async fn complete_sign_in(&self, success: &SignInSuccess) -> StoreResult<SignInOutcome>;
    /// Counts a refused code everywhere it counts; returns the account's
    /// consecutive second-factor failures, or None, counting nothing, when
    /// the attempt was completed meanwhile (a copy of the right code lost to
    /// its twin: a double submission, not a guess).
    async fn fail_sign_in(&self, failure: &SignInFailure) -> StoreResult<Option<i64>>;
}

#[derive(Clone, Debug)]
pub struct TotpFactor {
    pub account_id: String,
    pub sealed_secret: Vec<u8>,
    pub last_step: i64,
    pub created_at: i64,
}

#[derive(Clone, Debug)]
pub struct TotpSetup {
    pub id: String,
    pub account_id: String,
    pub sealed_secret: Vec<u8>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Where a value sealed at rest lives, for key rotation. Every sealed value
/// the server stores is of one of these kinds; `twostep keys rotate`
/// re-encrypts them all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretKind {
    /// A bound authenticator's secret.
    TotpFactor,
    /// The secret of an authenticator being enrolled.
    TotpSetup,
    /// An identity document image or selfie of a recovery case (up to the
    /// upload limit, 10 MiB, each).
    RecoveryDocument,
    /// The text of a message waiting in the delivery queue. It is wiped
    /// once the message is sent or given up on.
    QueuedMessage,
    /// An account's anti-phishing phrase.
    AntiPhishingPhrase,
    /// An OpenID Connect signing key (PKCS#1 PEM).
    SigningKey,
    /// An application's webhook signing secret.
    WebhookSecret,
}

impl SecretKind {
    pub const ALL: [SecretKind; 7] = [
        SecretKind::TotpFactor,
        SecretKind::TotpSetup,
        SecretKind::RecoveryDocument,
        SecretKind::QueuedMessage,
        SecretKind::AntiPhishingPhrase,
        SecretKind::SigningKey,
        SecretKind::WebhookSecret,
    ];
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedSecret {
    pub kind: SecretKind,
    /// account id for a factor, setup id for a setup, case id for a
    /// document, message id for a queued message.
    pub id: String,
    /// The document's slot (front, back, selfie); empty for other kinds.
    pub slot: String,
    pub sealed: Vec<u8>,
}

#[async_trait]
pub trait TotpStore: Send + Sync {
    async fn create_totp_setup(&self, setup: &TotpSetup) -> StoreResult<()>;
    async fn totp_setup(&self, id: &str) -> StoreResult<Option<TotpSetup>>;
    /// Deletes enrolments that expired by `now`: the account's, or (None)
    /// everyone's. Returns how many went.
    async fn delete_expired_totp_setups(&self, account_id: Option<&str>, now: i64) -> StoreResult<u64>;
    /// Consumes the setup and binds its secret with `last_step` already used,
    /// recording the account's first binding (see `AccountChange::BindTotp`).
    /// Returns false when the setup was consumed meanwhile or a factor exists.
    async fn bind_totp(&self, setup: &TotpSetup, last_step: i64, now: i64) -> StoreResult<bool>;
    async fn totp_factor(&self, account_id: &str) -> StoreResult<Option<TotpFactor>>;
    /// Conditional write: records `step` as used only if it is later than the
    /// last accepted step. Exactly one of several concurrent callers wins.
    async fn advance_totp_step(&self, account_id: &str, step: i64) -> StoreResult<bool>;
    async fn remove_totp(&self, account_id: &str) -> StoreResult<bool>;
}

/// Every value sealed at rest, for key rotation. Listed a page at a time in
/// key order, so a rotation holds one page in memory, never every document.
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// Up to `limit` stored values of `kind` that do not begin with `current`
    /// (the header of values sealed under the current key), in key order,
    /// after `after` (the last value of the previous page; None to start). A
    /// queued message whose text was wiped (sent or given up on) holds no
    /// secret and is not listed.
    async fn stale_secrets(
        &self,
        kind: SecretKind,
        current: &[u8],
        after: Option<&SealedSecret>,
        limit: i64,
    ) -> StoreResult<Vec<SealedSecret>>;
    /// Replaces a sealed value with `new` only if it still holds
    /// `secret.sealed` (compare-and-swap), so a value written meanwhile (a
    /// new factor, a message sent and wiped, a purged document) is never
    /// overwritten. False when the value changed or is gone.
    async fn reseal_secret(&self, secret: &SealedSecret, new: &[u8]) -> StoreResult<bool>;
}

#[derive(Clone, Debug)]
pub struct CaptchaChallenge {
    pub id: String,
    pub salt: String,
    pub difficulty_bits: i64,
    pub expires_at: i64,
}

#[async_trait]
pub trait CaptchaStore: Send + Sync {
    async fn create_challenge(&self, challenge: &CaptchaChallenge) -> StoreResult<()>;
    /// Marks a live challenge used and returns it; None if unknown, used or expired.
    async fn take_challenge(&self, id: &str, now: i64) -> StoreResult<Option<CaptchaChallenge>>;
}

#[derive(Clone, Debug)]
pub struct SentCode {
    pub id: String,
    pub account_id: String,
    pub purpose: String,
    pub channel: String,
    pub destination: String,
    pub code_hash: Vec<u8>,
    pub created_at: i64,
    pub expires_at: i64,
    pub tries: i64,
}

#[async_trait]
pub trait CodeStore: Send + Sync {
    async fn create_code(&self, code: &SentCode) -> StoreResult<()>;
    /// The newest unused, unexpired code for this account and purpose.
    async fn live_code(&self, account_id: &str, purpose: &str, now: i64) -> StoreResult<Option<SentCode>>;
    /// Counts one try against a code that still has tries left; false if none left.
    async fn add_code_try(&self, id: &str, max_tries: i64) -> StoreResult<bool>;
    /// Marks the code used. Exactly one of several concurrent callers wins.
    async fn consume_code(&self, id: &str, now: i64) -> StoreResult<bool>;
    /// Kills every live code of this account and purpose (used after success).
    async fn retire_codes(&self, account_id: &str, purpose: &str, now: i64) -> StoreResult<()>;
    /// Kills one code if still unused (its message could not be delivered).
    async fn retire_code(&self, id: &str, now: i64) -> StoreResult<bool>;
}

#[derive(Clone, Debug)]
pub struct SessionInfo {
    pub account_id: String,
    pub expires_at: i64,
    /// When the session signed in, and with which factors.
    pub created_at: i64,
    pub factors: Vec<twostep_domain::sudo::ProofFactor>,
    /// The latest proof of a factor given in this session (sudo mode).
    pub proof: Option<twostep_domain::sudo::SessionProof>,
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Opens a session, stamped with the account's security epoch, with its
    /// audit entry in the same transaction; false (nothing written) when the
    /// account is frozen.
    async fn create_session(
        &self,
        token_hash: &str,
        account_id: &str,
        now: i64,
        expires_at: i64,
        audit: Option<&AuditEvent>,
    ) -> StoreResult<bool>;
    /// A live session: not revoked or expired, of an account that is not
    /// frozen, opened in the account's current security epoch.
    async fn session(&self, token_hash: &str, now: i64) -> StoreResult<Option<SessionInfo>>;
    /// Ends one session, with its audit entry in the same transaction (none
    /// when it had already ended).
    async fn revoke_session(&self, token_hash: &str, now: i64, audit: Option<&AuditEvent>) -> StoreResult<()>;
    /// Revokes every session of the account except `keep` (when given).
    async fn revoke_sessions(&self, account_id: &str, keep: Option<&str>, now: i64) -> StoreResult<u64>;
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FailureState {
    pub recent: i64,
    pub consecutive: i64,
    pub last_failure_at: Option<i64>,
}

#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Adds one hit to a fixed-window counter and returns the count in the window.
    async fn hit(&self, bucket: &str, window_start: i64) -> StoreResult<i64>;
    /// Takes back one hit (a reservation that turned out not to count).
    async fn unhit(&self, bucket: &str, window_start: i64) -> StoreResult<()>;
    /// The count of a fixed-window counter without adding to it.
    async fn hits(&self, bucket: &str, window_start: i64) -> StoreResult<i64>;
    async fn record_failure(&self, subject: &str, now: i64, window_s: i64) -> StoreResult<FailureState>;
    async fn failure_state(&self, subject: &str, now: i64, window_s: i64) -> StoreResult<FailureState>;
    async fn clear_failures(&self, subject: &str) -> StoreResult<()>;
    /// Deletes counters and failure rows older than `before`.
    async fn prune_throttle(&self, before: i64) -> StoreResult<()>;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: i64,
    pub account_id: Option<String>,
    pub kind: String,
    pub ip: String,
    pub user_agent: String,
    pub detail: String,
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn append_audit(&self, event: &AuditEvent) -> StoreResult<()>;
    /// Newest first.
    async fn audit_events(&self, account_id: Option<&str>, limit: i64) -> StoreResult<Vec<AuditEvent>>;
}

/// A message in the development outbox; `Debug` leaves out its text (it
/// may carry a code).
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: String,
    pub channel: String,
    pub to: String,
    pub body: String,
    pub sent_at: i64,
}

impl std::fmt::Debug for OutboxMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxMessage")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .field("to", &self.to)
            .field("body_len", &self.body.len())
            .field("sent_at", &self.sent_at)
            .finish()
    }
}

#[async_trait]
pub trait OutboxStore: Send + Sync {
    async fn push_outbox(&self, message: &OutboxMessage) -> StoreResult<()>;
    /// Newest first.
    async fn outbox_for(&self, to: Option<&str>, limit: i64) -> StoreResult<Vec<OutboxMessage>>;
}

/// A message waiting in (or done with) the durable outbound queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedMessage {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    /// Subject and body, sealed by the keyring: they may hold a live code.
    /// Emptied once the message is sent or given up on.
    pub sealed: Vec<u8>,
    /// The sent code this message carries, retired if delivery fails so that
    /// the resend cool-down does not keep the user waiting for nothing.
    pub code_id: Option<String>,
    pub status: MessageStatus,
    /// Attempts started so far; also the token of the current claim.
    pub attempts: i64,
    pub created_at: i64,
    pub next_attempt_at: i64,
    /// Worth sending only before this (the code's expiry).
    pub expires_at: i64,
    pub finished_at: Option<i64>,
    /// The last provider error, never the message text.
    pub last_error: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueCounts {
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
    /// Of `failed`: webhooks and logout tokens to applications (the dead
    /// letters of `oidc::feed`).
    pub webhooks_failed: i64,
}

/// The outbound queue. Workers of several instances share it safely: a
/// message is sent only by the worker whose conditional claim won, and a
/// claim is a lease that lapses if its worker dies.
#[async_trait]
pub trait MessageQueueStore: Send + Sync {
    async fn enqueue_message(&self, message: &QueuedMessage) -> StoreResult<()>;
    /// Queued messages due at `now` and not leased, oldest first.
    async fn due_messages(&self, now: i64, limit: i64) -> StoreResult<Vec<QueuedMessage>>;
    /// Leases a due message until `lease_until` and counts an attempt.
    /// Returns the attempt number (the claim token) if this caller won.
    async fn claim_message(&self, id: &str, now: i64, lease_until: i64) -> StoreResult<Option<i64>>;
    /// Releases the claim `attempt` and schedules another try.
    async fn retry_message(&self, id: &str, attempt: i64, next_attempt_at: i64, error: &str) -> StoreResult<bool>;
    /// Ends the message (sent or failed) if claim `attempt` still holds it,
    /// and wipes its sealed text.
    async fn finish_message(
        &self,
        id: &str,
        attempt: i64,
        status: MessageStatus,
        now: i64,
        error: &str,
    ) -> StoreResult<bool>;
    async fn message(&self, id: &str) -> StoreResult<Option<QueuedMessage>>;
    async fn queue_counts(&self) -> StoreResult<QueueCounts>;
    /// Queued messages due by `now`, leased or not: those a worker is
    /// sending or is about to send (not those waiting out a backoff).
    async fn pending_now(&self, now: i64) -> StoreResult<i64>;
    /// Deletes finished messages older than `before`.
    async fn prune_messages(&self, before: i64) -> StoreResult<u64>;
}

#[derive(Clone, Debug)]
pub struct Withdrawal {
    pub id: String,
    pub account_id: String,
    pub asset: String,
    pub amount: String,
    pub address: String,
    pub created_at: i64,
}

#[async_trait]
pub trait WithdrawalStore: Send + Sync {
    async fn create_withdrawal(&self, withdrawal: &Withdrawal) -> StoreResult<()>;
}

#[async_trait]
pub trait HealthStore: Send + Sync {
    async fn ping(&self) -> StoreResult<()>;
    /// Second sign-in steps committed in groups by this instance since it
    /// started: (transactions, sign-ins they carried), for `/metrics`.
    fn sign_in_groups(&self) -> (u64, u64);
}

pub use crate::centre_port::SecurityCentreStore;
pub use crate::owner_port::OwnerStore;
pub use crate::recovery::port::RecoveryStore;
pub use crate::staff::port::StaffStore;

/// What a change writes besides itself, in the same transaction: its audit
/// entries and the notices (sealed beforehand) that tell the owner. A crash
/// leaves the change with all of them or with none; a change that loses its
/// race, or is refused, writes none of them. Used by every recovery
/// decision and every sensitive account change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    pub audit: Vec<AuditEvent>,
    pub notices: Vec<QueuedMessage>,
}

/// A sensitive change a signed-in owner makes to their account. Each is a
/// conditional write: it lands only if the account is still as the use case
/// checked it, so of two racing requests at most one changes anything.
#[derive(Clone, Debug)]
pub enum AccountChange {
    /// The new password hash, written only over `checked_hash`, the hash the
    /// current password was verified against.
    Password { checked_hash: String, new_hash: String },
    /// Binds `phone` and uses up `code_id`, the code sent there that proved
    /// it; only while the code is unused and unexpired and the account's
    /// number is still `previous`.
    Phone { code_id: String, phone: String, previous: Option<String> },
    /// Binds the authenticator of an enrolment, consuming the enrolment,
    /// with `last_step` already used; only if the enrolment is unused and no
    /// authenticator is bound. Whether one was ever bound before is durable
    /// state of the account: then this is a replacement, withdrawals are
    /// also held until `replacement_hold_until`, and `replacement_notices`
    /// are queued instead of the plan's notices (both sealed beforehand, as
    /// only the transaction knows which it is).
    BindTotp { setup: TotpSetup, last_step: i64, replacement_hold_until: i64, replacement_notices: Vec<QueuedMessage> },
    /// Removes the bound authenticator; refused if none is bound.
    RemoveTotp,
    /// Adds a passkey; refused if its credential is registered anywhere
    /// already or the account holds `max` passkeys.
    AddPasskey { passkey: crate::passkeys::port::PasskeyRecord, max: i64 },
    /// Removes one of the account's passkeys; refused if it has no such one.
    RemovePasskey { id: String },
}

/// Who is signed out with a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignOut {
    Nobody,
    /// Every session but `keep` (a token hash: the one making the change)
    /// is revoked, and every pending sign-in dies.
    AllBut {
        keep: String,
    },
}

/// A sensitive account change with everything that belongs to it, written
/// in one transaction by [`AccountChangeStore::apply_account_change`].
#[derive(Clone, Debug)]
pub struct AccountChangePlan {
    pub account_id: String,
    pub now: i64,
    pub change: AccountChange,
    /// Withdrawals held at least until then (a later hold is kept).
    pub hold_until: Option<i64>,
    pub sign_out: SignOut,
    /// A throttle subject whose failures the change forgets.
    pub clear_failures: Option<String>,
    pub effects: Effects,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountChangeOutcome {
    /// Written with its hold, sign-out, audit entries and notices.
    /// `replaced_authenticator`: a bound authenticator replaced one bound
    /// before, and the replacement hold was set.
    Applied { replaced_authenticator: bool },
    /// The code was used meanwhile (or expired); nothing written.
    CodeUsed,
    /// The account is no longer as checked (password or phone changed, the
    /// enrolment used, an authenticator bound or none to remove); nothing
    /// written.
    Changed,
}

#[async_trait]
pub trait AccountChangeStore: Send + Sync {
    /// Applies the change, raises the hold, signs out, forgets the failures,
    /// queues the notices and appends the audit entries, all in one
    /// transaction, or writes nothing.
    async fn apply_account_change(&self, plan: &AccountChangePlan) -> StoreResult<AccountChangeOutcome>;
}

/// Everything the use cases store, as one object.
pub trait Store:
    AccountStore
    + LoginStore
    + TotpStore
    + SecretStore
    + CaptchaStore
    + CodeStore
    + SessionStore
    + ThrottleStore
    + AuditStore
    + OutboxStore
    + MessageQueueStore
    + WithdrawalStore
    + HealthStore
    + RecoveryStore
    + AccountChangeStore
    + OwnerStore
    + StaffStore
    + SecurityCentreStore
    + crate::devices::port::DeviceStore
    + crate::passkeys::port::PasskeyStore
    + crate::oidc::port::OidcStore
{
}

impl<T> Store for T where
    T: AccountStore
        + LoginStore
        + TotpStore
        + SecretStore
        + CaptchaStore
        + CodeStore
        + SessionStore
        + ThrottleStore
        + AuditStore
        + OutboxStore
        + MessageQueueStore
        + WithdrawalStore
        + HealthStore
        + RecoveryStore
        + AccountChangeStore
        + OwnerStore
        + StaffStore
        + SecurityCentreStore
        + crate::devices::port::DeviceStore
        + crate::passkeys::port::PasskeyStore
        + crate::oidc::port::OidcStore
{
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
    Voice,
    /// An HTTP POST to an application: a security webhook or a
    /// back-channel logout token (see `oidc::feed`).
    Webhook,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Voice => "voice",
            Channel::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "email" => Some(Channel::Email),
            "sms" => Some(Channel::Sms),
            "voice" => Some(Channel::Voice),
            "webhook" => Some(Channel::Webhook),
            _ => None,
        }
    }
}

/// A message to send. Its text may carry a live code or a cancel code:
/// `Debug` shows only its lengths.
#[derive(Clone)]
pub struct Message {
    pub channel: Channel,
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("channel", &self.channel)
            .field("to", &self.to)
            .field("subject_len", &self.subject.len())
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Why a provider did not take a message. `reason` names the provider's
/// answer (a status, a refused connection), never the message text.
#[derive(Debug, thiserror::Error)]
#[error("delivery failed: {reason}")]
pub struct DeliveryError {
    pub reason: String,
    /// Trying again cannot help (the provider refused this message itself,
    /// e.g. a number it cannot reach); the queue gives up at once.
    pub permanent: bool,
}

impl DeliveryError {
    pub fn temporary(reason: impl Into<String>) -> Self {
        Self { reason: reason.into(), permanent: false }
    }

    pub fn permanent(reason: impl Into<String>) -> Self {
        Self { reason: reason.into(), permanent: true }
    }
}

/// Hands one message to a provider (SMTP, an SMS or voice API, the dev
/// outbox). Use cases never call it directly: they enqueue, and the queue's
/// workers call it, so a slow or failing provider never holds up a request.
/// Implementations must never log the body: it holds one-time codes.
#[async_trait]
pub trait Delivery: Send + Sync {
    async fn send(&self, message: &Message) -> Result<(), DeliveryError>;
}
