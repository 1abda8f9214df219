//! `twostep staff reset` and `twostep staff confirm`: a staff account that
//! lost its second factor gets it reset by two different admins (the first
//! call records the request, a second admin's call applies it), and holds
//! no staff power afterwards until an admin confirms it once it has bound a
//! new authenticator. Every step is audited and told to the staff account's
//! current channels in the transaction that makes it.

use twostep_domain::audit_kind::AuditKind;
use twostep_domain::hold::extend_hold;
use twostep_domain::normalize_email;
use twostep_domain::staff::{
    PENDING_STAFF_RESET_TTL_S, PendingStaffReset, StaffDuty, StaffResetItem, StaffResetRefusal, StaffResetStep,
    staff_reset_step,
};

use super::port::StaffResetPlan;
use crate::error::{AppError, AppResult};
use crate::ports::{AccountRecord, AuditEvent, Effects};
use crate::{App, RequestMeta};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StaffResetOutcome {
    /// The request is recorded; a second, different admin must agree.
    Requested { items: Vec<StaffResetItem> },
    /// Two admins agreed: the items are reset, every session is signed out.
    Applied { items: Vec<StaffResetItem>, first_admin: String },
}

fn cli_meta(command: &str) -> RequestMeta {
    RequestMeta { ip: "cli".into(), user_agent: format!("twostep staff {command}"), language: None, device_token: None }
}

impl App {
    /// An admin named by e-mail (the command line's `--by`), if it may
    /// manage staff now: an admin, with an authenticator, confirmed.
    pub async fn admin_by_email(&self, email: &str) -> AppResult<AccountRecord> {
        let email = normalize_email(email).map_err(|_| AppError::invalid("by", "is not a valid e-mail address"))?;
        let account = self.store.account_by_email(&email).await?.ok_or(AppError::NotFound)?;
        self.require_duty(&account.id, StaffDuty::ManageStaff).await
    }

    async fn staff_target(&self, email: &str, admin: &AccountRecord) -> AppResult<AccountRecord> {
        let email = normalize_email(email).map_err(|_| AppError::invalid("email", "is not a valid e-mail address"))?;
        let target = self.store.account_by_email(&email).await?.ok_or(AppError::NotFound)?;
        if !target.role.is_staff() {
            return Err(AppError::invalid(
                "email",
                "is not a staff account; customers recover through the recovery flow",
            ));
        }
        if target.id == admin.id {
            return Err(AppError::invalid("by", StaffResetRefusal::OwnAccount.to_string()));
        }
        Ok(target)
    }

    /// One admin's `staff reset` call: records a request, or applies the
    /// request of another admin who asked for the same items.
    pub async fn reset_staff(&self, email: &str, items: &[StaffResetItem], by: &str) -> AppResult<StaffResetOutcome> {
        let admin = self.admin_by_email(by).await?;
        let target = self.staff_target(email, &admin).await?;
        let now = self.now();
        let pending = self.store.pending_staff_reset(&target.id).await?;
        let step = staff_reset_step(&target.id, pending.as_ref(), &admin.id, items, now).map_err(|r| match r {
            StaffResetRefusal::OwnAccount => AppError::invalid("by", r.to_string()),
            other => AppError::Conflict(other.to_string()),
        })?;
        let names = StaffResetItem::join(items);
        let lang = self.language_of(&target);
        let words = self.item_list(lang, items.iter().map(|i| i.as_str()));
        let event = |kind: AuditKind, detail: String| AuditEvent {
            at: now,
            ..self.audit_event(kind, Some(&target.id), &cli_meta("reset"), &detail)
        };
        match step {
            StaffResetStep::Request => {
                let request =
                    PendingStaffReset { items: items.to_vec(), requested_by: admin.id.clone(), requested_at: now };
                let body = self.text(
                    lang,
                    "mail-staff-reset-requested-body",
                    &[("items", words.as_str().into()), ("hours", (PENDING_STAFF_RESET_TTL_S / 3600).into())],
                );
                let effects = Effects {
                    audit: vec![event(
                        AuditKind::StaffResetRequested,
                        format!("{names}: asked by {} ({})", admin.id, admin.email),
                    )],
                    notices: self.current_channel_notices(
                        &target,
                        &self.text(lang, "mail-staff-reset-requested-subject", &[]),
                        &body,
                    )?,
                };
                if !self
                    .store
                    .request_staff_reset(&target.id, &request, now - PENDING_STAFF_RESET_TTL_S, &effects)
                    .await?
                {
                    return Err(AppError::Conflict(
                        "another admin asked for a reset of this account meanwhile; run the command again to agree"
                            .into(),
                    ));
                }
                self.outbound_wake.notify_one();
                Ok(StaffResetOutcome::Requested { items: items.to_vec() })
            }
            StaffResetStep::Apply { first_admin } => {
                let agreed = pending.ok_or_else(|| AppError::Internal("applying a reset nobody asked for".into()))?;
                let body = self.text(lang, "mail-staff-reset-body", &[("items", words.as_str().into())]);
                let detail = format!("{names}: asked by {first_admin}, agreed by {} ({})", admin.id, admin.email);
                let plan = StaffResetPlan {
                    account_id: target.id.clone(),
                    agreed,
                    now,
                    hold_until: extend_hold(None, now, self.settings.recovery.hold_s),
                    effects: Effects {
                        audit: vec![event(AuditKind::StaffReset, detail)],
                        notices: self.current_channel_notices(
                            &target,
                            &self.text(lang, "mail-staff-reset-subject", &[]),
                            &body,
                        )?,
                    },
                };
                if !self.store.apply_staff_reset(&plan).await? {
                    return Err(AppError::Conflict(
                        "the reset request changed meanwhile; run the command again".into(),
                    ));
                }
                self.outbound_wake.notify_one();
                Ok(StaffResetOutcome::Applied { items: items.to_vec(), first_admin })
            }
        }
    }

    /// `staff confirm`: gives a reset staff account its staff power back,
    /// once it has bound a new authenticator.
    pub async fn confirm_staff(&self, email: &str, by: &str) -> AppResult<()> {
        let admin = self.admin_by_email(by).await?;
        let target = self.staff_target(email, &admin).await?;
        let facts = self.store.staff_facts(&target.id).await?.unwrap_or_default();
        let Some(reset_at) = facts.unconfirmed_reset_at else {
            return Err(AppError::Conflict(
                "nothing to confirm: the account was not reset since it was last confirmed".into(),
            ));
        };
        if !facts.authenticator {
            return Err(AppError::Conflict(
                "the account has no authenticator yet: it must bind its new one before an admin confirms it".into(),
            ));
        }
        let now = self.now();
        let event = self.audit_event(
            AuditKind::StaffConfirmed,
            Some(&target.id),
            &cli_meta("confirm"),
            &format!("by {} ({})", admin.id, admin.email),
        );
        let lang = self.language_of(&target);
        let body = self.text(lang, "mail-staff-confirmed-body", &[]);
        let effects = Effects {
            audit: vec![AuditEvent { at: now, ..event }],
            notices: self.current_channel_notices(
                &target,
                &self.text(lang, "mail-staff-confirmed-subject", &[]),
                &body,
            )?,
        };
        if !self.store.confirm_staff(&target.id, reset_at, &effects).await? {
            return Err(AppError::Conflict(
                "the account changed meanwhile (confirmed, reset again or its authenticator removed)".into(),
            ));
        }
        self.outbound_wake.notify_one();
        Ok(())
    }
}
