//! Storage for the security centre: the reset of a forgotten password and
//! the owner's anti-phishing phrase. Part of the `Store` port; the SQL is in
//! the store crate. (The owner's own freeze is an [`crate::owner_port::Objection`].)

use async_trait::async_trait;

use crate::ports::{Effects, StoreResult};

/// A forgotten password's reset, opened by the code sent to the account's
/// address. It lives a few minutes and is used once: to set the new password
/// (after a proof of the account's second factor) or to open a lost-2FA case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordReset {
    pub id: String,
    pub account_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub ip: String,
    pub user_agent: String,
}

#[async_trait]
pub trait SecurityCentreStore: Send + Sync {
    /// Stores a reset; the account keeps at most `keep` resets (the oldest
    /// go first), so repeated requests cost bounded rows.
    async fn create_password_reset(&self, reset: &PasswordReset, keep: i64) -> StoreResult<()>;
    async fn password_reset(&self, reset_id: &str) -> StoreResult<Option<PasswordReset>>;
    /// Marks a live reset used; false when it was used or expired meanwhile.
    async fn use_password_reset(&self, reset_id: &str, now: i64) -> StoreResult<bool>;
    /// Sets (`Some`) or removes the sealed phrase, with its audit entries and
    /// notices, in one transaction; false when the account is gone.
    async fn set_anti_phishing(&self, account_id: &str, sealed: Option<&[u8]>, effects: &Effects) -> StoreResult<bool>;
    /// The account's sealed phrase, if it set one.
    async fn anti_phishing(&self, account_id: &str) -> StoreResult<Option<Vec<u8>>>;
}
