//! Staff accounts: the gate every staff request passes (a staff role, an
//! authenticator bound, no reset an admin has not confirmed, and an admin's
//! role for admin duties), what the console flags about staff accounts, how
//! staff actions appear in a customer's own activity, and the refusal of
//! the customer's self-service recovery to staff. The rules are
//! `twostep_domain::staff`; resets and confirmations are in `reset`.
//!
//! The gate reads the account on every request, never a cached standing:
//! a reset takes effect on the next request of every session.

pub mod port;
mod reset;

use std::collections::HashSet;
use twostep_domain::audit_kind::AuditKind;

use serde_json::json;
use twostep_domain::risk::{STAFF_ACCOUNT_SIGNAL, staff_account_signal};
use twostep_domain::staff::{StaffDuty, StaffRefusal, StaffStanding, check_duty};

pub use port::{StaffFacts, StaffMember};
pub use reset::StaffResetOutcome;

use crate::error::{AppError, AppResult};
use crate::ports::{AccountRecord, AuditEvent, Channel};
use crate::recovery::port::CaseRecord;
use crate::{App, RequestMeta};

/// Audit kinds that staff (or the operator) record on a customer's own
/// account. The customer's activity names them as the service's staff and
/// leaves out who, from where and with what browser; the audit log keeps
/// all of it for admins. A new staff action on a customer's account must be
/// named here.
pub const STAFF_ACTIONS: &[AuditKind] = &[
    AuditKind::RecoveryFirstApproval,
    AuditKind::RecoveryApproved,
    AuditKind::RecoveryRejected,
    AuditKind::AccountUnfrozen,
    AuditKind::StaffAdded,
    AuditKind::StaffRoleSet,
    AuditKind::StaffResetRequested,
    AuditKind::StaffReset,
    AuditKind::StaffConfirmed,
];

/// One line of an account's own activity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityEntry {
    pub at: i64,
    pub kind: String,
    /// Empty for a staff action.
    pub ip: String,
    /// Empty for a staff action.
    pub user_agent: String,
    /// "twostep staff" (the service's name) for a staff action; None for
    /// what the account did itself.
    pub by: Option<String>,
}

/// One line of the audit log as admins read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditLine {
    pub event: AuditEvent,
    /// The account the entry is about holds a staff role: its sign-ins and
    /// cases are flagged in the console.
    pub staff_account: bool,
}

fn refused(r: StaffRefusal) -> AppError {
    match r {
        StaffRefusal::NotStaff => AppError::Forbidden,
        other => AppError::Staff(other),
    }
}

impl App {
    /// The account's standing as the staff rules see it, read now.
    pub async fn staff_standing(&self, account: &AccountRecord) -> AppResult<StaffStanding> {
        let facts = self.store.staff_facts(&account.id).await?.unwrap_or_default();
        Ok(StaffStanding {
            role: account.role,
            authenticator: facts.authenticator,
            reset_unconfirmed: facts.unconfirmed_reset_at.is_some(),
        })
    }

    /// The account, if it may do `duty` now; `forbidden` otherwise, with a
    /// message saying what to do when the person can do something about it.
    pub async fn require_duty(&self, account_id: &str, duty: StaffDuty) -> AppResult<AccountRecord> {
        let account = self.account(account_id).await?;
        if !account.role.is_staff() {
            return Err(AppError::Forbidden);
        }
        check_duty(&self.staff_standing(&account).await?, duty).map_err(refused)?;
        Ok(account)
    }

    /// The account, if it may review now (see [`App::require_duty`]).
    pub async fn require_staff(&self, account_id: &str) -> AppResult<AccountRecord> {
        self.require_duty(account_id, StaffDuty::Review).await
    }

    /// The ids of every account holding a staff role.
    pub async fn staff_account_ids(&self) -> AppResult<HashSet<String>> {
        Ok(self.store.staff_members().await?.into_iter().map(|m| m.account_id).collect())
    }

    /// `GET /admin/staff`: every staff account with its standing (admins only).
    pub async fn staff_list(&self, admin_id: &str) -> AppResult<Vec<StaffMember>> {
        self.require_duty(admin_id, StaffDuty::ManageStaff).await?;
        let now = self.now();
        let mut members = self.store.staff_members().await?;
        for m in &mut members {
            m.pending_reset = m.pending_reset.take().filter(|p| p.is_live(now));
        }
        Ok(members)
    }

    /// `GET /admin/audit`: the audit log, newest first, of one account or
    /// all (admins only), each entry flagged when its account is staff.
    pub async fn audit_log(&self, staff_id: &str, account_id: Option<&str>) -> AppResult<Vec<AuditLine>> {
        self.require_duty(staff_id, StaffDuty::ReadAuditLog).await?;
        let events = self.store.audit_events(account_id, 500).await?;
        let staff = self.staff_account_ids().await?;
        Ok(events
            .into_iter()
            .map(|event| {
                let staff_account = event.account_id.as_ref().is_some_and(|a| staff.contains(a));
                AuditLine { event, staff_account }
            })
            .collect())
    }

    /// An audit entry as the account it is about sees it in its activity.
    pub(crate) fn as_seen_by_owner(&self, e: AuditEvent) -> ActivityEntry {
        if AuditKind::parse(&e.kind).is_some_and(|k| STAFF_ACTIONS.contains(&k)) {
            let by = format!("{} staff", self.settings.issuer);
            ActivityEntry { at: e.at, kind: e.kind, ip: String::new(), user_agent: String::new(), by: Some(by) }
        } else {
            ActivityEntry { at: e.at, kind: e.kind, ip: e.ip, user_agent: e.user_agent, by: None }
        }
    }

    /// A staff account asked for the customer's self-service recovery: it
    /// is audited and the account's channels are told (whoever asked knows
    /// its password), and nothing else happens.
    pub(crate) async fn refuse_staff_recovery(&self, account: &AccountRecord, meta: &RequestMeta) -> AppError {
        if let Err(e) =
            self.audit(AuditKind::RecoveryRefusedStaff, Some(&account.id), meta, account.role.as_str()).await
        {
            return e;
        }
        let lang = self.language_of(account);
        let body = self.text(lang, "mail-staff-recovery-refused-body", &[("ip", meta.ip.as_str().into())]);
        let subject = self.text(lang, "mail-staff-recovery-refused-subject", &[]);
        self.notify(Channel::Email, &account.email, &subject, &body).await;
        if let Some(phone) = &account.phone {
            self.notify(Channel::Sms, phone, "", &body).await;
        }
        AppError::Staff(StaffRefusal::SelfServiceRecovery)
    }
}

/// Flags a case of a staff account for its reviewers: the `staff_account`
/// signal first in its signals, its points in the score (once), whatever
/// the account was when the case was submitted.
pub(crate) fn flag_staff_case(record: &mut CaseRecord) {
    let mut signals: Vec<serde_json::Value> =
        record.risk_signals.as_deref().and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default();
    if signals.iter().any(|s| s["name"] == STAFF_ACCOUNT_SIGNAL) {
        return;
    }
    let signal = staff_account_signal();
    signals.insert(0, json!({"name": signal.name, "points": signal.points, "detail": signal.detail}));
    record.risk_signals = Some(serde_json::Value::Array(signals).to_string());
    record.risk_score = record.risk_score.map(|s| (s + signal.points).min(100));
}
