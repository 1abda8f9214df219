//! Storage of devices and of the e-mail confirmations of sign-ins from new
//! ones. Part of the `Store` port; the SQL is in the store crate
//! (`devices.rs`), tested by the one contract suite on both backends.

use async_trait::async_trait;
use twostep_domain::device::DeviceDecision;

use crate::ports::{AuditEvent, QueuedMessage, StoreResult};

/// A browser or client an account signed in from. Its token is the
/// server's, issued at a sign-in and kept by the client (a cookie, or the
/// API's `device_token`); only its hash is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    pub account_id: String,
    pub token_hash: String,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    /// Of the latest sign-in from it.
    pub ip: String,
    pub user_agent: String,
    /// When the account's e-mail approved it; None: never approved.
    pub confirmed_at: Option<i64>,
}

/// What the new-device rule needs to know of a sign-in's device; the second
/// step reads it with the rest of its context, in the same query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceFacts {
    /// The account's device holding the token the client presented.
    pub known: Option<Device>,
    /// The owner's stored choice ('', 'on', 'off').
    pub choice: String,
    /// Whether the account ever asked for a withdrawal.
    pub has_withdrawals: bool,
}

/// What a sign-in writes of its device. It is written in the sign-in's own
/// transaction, which on the second step is group-committed with others,
/// so that a device costs no commit of its own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum DeviceWrite {
    /// A known device seen a moment ago from the same place: nothing.
    #[default]
    Nothing,
    /// A device the account has not used: recorded, and the account then
    /// keeps at most `keep` devices, as `DeviceStore::add_device` says.
    Add { device: Device, keep: i64 },
    /// A known device: last seen now, from this IP and browser.
    Seen { ip: String, user_agent: String },
}

/// The "Was this you?" of one sign-in from a device the account has not
/// confirmed. Bound to that sign-in (`login_id`) and device; its link token
/// is stored as a hash, answered once, and dies with the sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceConfirmation {
    pub login_id: String,
    pub account_id: String,
    pub device_id: String,
    pub link_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub ip: String,
    pub user_agent: String,
    pub decision: Option<DeviceDecision>,
    pub decided_at: Option<i64>,
    /// When the sign-in took its session, after an approval.
    pub finished_at: Option<i64>,
    /// SHA-256 of the account's password hash when the sign-in asked: a
    /// password changed or reset since ends the sign-in, as it ends every
    /// other pending one.
    pub password_digest: String,
    /// What the sign-in proved before it was held (by name, space-separated,
    /// as a session's factors).
    pub factors: String,
}

/// A session opened on a device.
#[derive(Clone, Debug)]
pub struct DeviceSession {
    pub token_hash: String,
    pub account_id: String,
    pub device_id: String,
    pub now: i64,
    pub expires_at: i64,
    /// The factors it signed in with, by name, space-separated.
    pub factors: String,
}

#[async_trait]
pub trait DeviceStore: Send + Sync {
    /// The account's device holding this token.
    async fn device_by_token(&self, account_id: &str, token_hash: &str) -> StoreResult<Option<Device>>;
    /// Whether this server issued the token (to any account): such a token
    /// is kept when another account signs in from the same browser.
    async fn device_token_issued(&self, token_hash: &str) -> StoreResult<bool>;
    /// Records a new device; the account then keeps at most `keep` devices,
    /// the oldest unconfirmed ones dropped first (with their confirmations).
    async fn add_device(&self, device: &Device, keep: i64) -> StoreResult<()>;
    /// A sign-in from the device: last seen now, from this IP and browser.
    async fn touch_device(&self, id: &str, now: i64, ip: &str, user_agent: &str) -> StoreResult<()>;
    /// The account's devices, most recently seen first.
    async fn devices_of(&self, account_id: &str) -> StoreResult<Vec<Device>>;
    /// The owner's stored choice ('', 'on', 'off') and whether the account
    /// ever asked for a withdrawal.
    async fn device_policy_facts(&self, account_id: &str) -> StoreResult<(String, bool)>;
    /// Stores the owner's choice with its audit entry and notices.
    async fn set_device_choice(
        &self,
        account_id: &str,
        choice: &str,
        audit: &AuditEvent,
        notices: &[QueuedMessage],
    ) -> StoreResult<()>;
    /// Stores a confirmation with the e-mail that carries its link and its
    /// audit entry, in one transaction.
    async fn create_device_confirmation(
        &self,
        confirmation: &DeviceConfirmation,
        message: &QueuedMessage,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    async fn device_confirmation(&self, login_id: &str) -> StoreResult<Option<DeviceConfirmation>>;
    async fn device_confirmation_by_link(&self, link_hash: &str) -> StoreResult<Option<DeviceConfirmation>>;
    /// Answers a live, unanswered confirmation, with its audit entry; false,
    /// writing nothing, when it was answered or expired meanwhile: of two
    /// answers racing, one wins. The device is confirmed only when the
    /// approved sign-in takes its session.
    async fn decide_device(
        &self,
        link_hash: &str,
        decision: DeviceDecision,
        now: i64,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Opens the session of an approved, unfinished, live confirmation, for
    /// an account that is not frozen and was not frozen or reset since the
    /// sign-in asked (its security epoch is the same), confirms its device,
    /// with its audit entry; false, writing nothing, otherwise. Exactly one
    /// of concurrent callers wins.
    async fn finish_device_sign_in(
        &self,
        login_id: &str,
        session: &DeviceSession,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Opens a session on a device (stamped with the account's security
    /// epoch) with its audit entry; false when the account is frozen.
    async fn open_device_session(&self, session: &DeviceSession, audit: Option<&AuditEvent>) -> StoreResult<bool>;
    /// The device a session was opened on.
    async fn session_device(&self, token_hash: &str) -> StoreResult<Option<String>>;
    /// Ends every session of the account's device; None when the account
    /// has no such device. The audit entry is written with it.
    async fn sign_out_device(
        &self,
        account_id: &str,
        device_id: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> StoreResult<Option<u64>>;
    /// Ends the device's sessions and deletes it (its next sign-in is a new
    /// device); false when the account has no such device.
    async fn forget_device(&self, account_id: &str, device_id: &str, now: i64, audit: &AuditEvent)
    -> StoreResult<bool>;
}
