//! What staff accounts need from storage: the facts the staff gate reads on
//! every request, the list of staff, and the one-transaction writes of a
//! reset (requested by one admin, applied when a second agrees) and of an
//! admin's confirmation. Each write is conditional, so two admins racing
//! cannot both apply one request, and lands with its audit entries and
//! notices or not at all.

use async_trait::async_trait;
use twostep_domain::Role;
use twostep_domain::staff::{PendingStaffReset, StaffResetItem};

use crate::ports::{Effects, StoreResult};

/// What the staff gate reads about an account besides its role.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StaffFacts {
    /// An authenticator is bound.
    pub authenticator: bool,
    /// When the account's factors were last reset, if no admin has
    /// confirmed the account since.
    pub unconfirmed_reset_at: Option<i64>,
}

/// A staff account as admins see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffMember {
    pub account_id: String,
    pub email: String,
    pub role: Role,
    pub facts: StaffFacts,
    pub pending_reset: Option<PendingStaffReset>,
}

/// Everything an agreed reset changes, in one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffResetPlan {
    pub account_id: String,
    /// The request agreed to: applied only while it is still the one stored.
    pub agreed: PendingStaffReset,
    pub now: i64,
    /// Withdrawals held at least until then, as after an approved recovery.
    pub hold_until: i64,
    pub effects: Effects,
}

#[async_trait]
pub trait StaffStore: Send + Sync {
    /// None for an unknown account.
    async fn staff_facts(&self, account_id: &str) -> StoreResult<Option<StaffFacts>>;
    /// Every account holding a staff role, by e-mail.
    async fn staff_members(&self) -> StoreResult<Vec<StaffMember>>;
    async fn pending_staff_reset(&self, account_id: &str) -> StoreResult<Option<PendingStaffReset>>;
    /// Records `request` with its effects unless a request made at or after
    /// `lapsed_before` is waiting (an older one is replaced); false, with
    /// nothing written, otherwise.
    async fn request_staff_reset(
        &self,
        account_id: &str,
        request: &PendingStaffReset,
        lapsed_before: i64,
        effects: &Effects,
    ) -> StoreResult<bool>;
    /// Applies `plan.agreed` if it is still the waiting request: removes the
    /// request and the items, marks the account's reset unconfirmed, raises
    /// the withdrawal hold, kills its pending sign-ins and sessions, writes
    /// the effects. False, with
    /// nothing written, if the request changed meanwhile.
    async fn apply_staff_reset(&self, plan: &StaffResetPlan) -> StoreResult<bool>;
    /// Clears the account's unconfirmed reset made at `reset_at` (the one the
    /// admin was shown), with the effects, only while an authenticator is
    /// bound; false, with nothing written, otherwise.
    async fn confirm_staff(&self, account_id: &str, reset_at: i64, effects: &Effects) -> StoreResult<bool>;
}

/// The items as stored: `authenticator,phone`.
pub fn items_column(items: &[StaffResetItem]) -> String {
    StaffResetItem::join(items)
}
