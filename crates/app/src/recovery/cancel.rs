//! The owner's "this wasn't me": a cancel code from a notice stops a case
//! that is open or under review; after approval, while the withdrawal hold
//! runs, it freezes the account (no sign-in, no withdrawal) until staff
//! look. Either way the cancel, its audit entry and the notice to the
//! account's channels are written in one transaction. Also the background
//! job that expires idle cases and purges the documents of closed ones.

use twostep_domain::recovery::{CancelEffect, CaseStatus};

use super::port::{CaseChange, Effects, CANCELLED_BY_OWNER};
use super::conflict;
use crate::crypto::token_hash;
use crate::error::{AppError, AppResult};
use crate::{App, RequestMeta};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancelOutcome {
    pub status: CaseStatus,
    pub account_frozen: bool,
}

impl App {
    /// `POST /recovery/cancel`.
    pub async fn cancel_recovery(&self, cancel_token: &str, meta: &RequestMeta) -> AppResult<CancelOutcome> {
        self.rate_limit(&format!("recovery-cancel:ip:{}", meta.limit_key()), 60, self.settings.codes_per_ip_per_minute).await?;
        if cancel_token.is_empty() || cancel_token.len() > 256 {
            return Err(AppError::NotFound);
        }
        let record = self.store.case_by_cancel_token(&token_hash(cancel_token)).await?.ok_or(AppError::NotFound)?;
        let now = self.now();
        let account_id = record.case.account_id.clone();
        match record.case.check_cancel(now).map_err(conflict)? {
            CancelEffect::AlreadyCancelled => {
                let frozen = self.account(&account_id).await?.frozen_at.is_some();
                Ok(CancelOutcome { status: CaseStatus::Cancelled, account_frozen: frozen })
            }
            CancelEffect::CancelCase => {
                let account = self.account(&account_id).await?;
                let effects = Effects {
                    audit: vec![self.recovery_event("recovery_cancelled", &record, meta, "by the owner's cancel code", now)],
                    notices: self.current_channel_notices(
                        &account,
                        "Account recovery cancelled",
                        "The recovery of your account was cancelled with your cancel code. Nothing was changed. \
                         Someone may know your password: change it now.",
                    )?,
                };
                let change = CaseChange::Cancelled { reason: CANCELLED_BY_OWNER.into() };
                if !self.decide(&record, now, &change, &effects).await? {
                    return Err(AppError::Conflict("the case changed meanwhile; load it again".into()));
                }
                Ok(CancelOutcome { status: CaseStatus::Cancelled, account_frozen: false })
            }
            CancelEffect::FreezeAccount => {
                let account = self.account(&account_id).await?;
                let detail = "cancel code used during the recovery hold";
                let body = "The recovery of your account was cancelled after it had been approved. The account is \
                            frozen: nobody can sign in or withdraw until our staff have looked at it.";
                let effects = Effects {
                    audit: vec![self.recovery_event("account_frozen", &record, meta, detail, now)],
                    notices: self.current_channel_notices(&account, "Account frozen", body)?,
                };
                let done =
                    self.store.cancel_and_freeze(&record.case.id, record.case.version, &account_id, now, &effects).await?;
                if !done {
                    return Err(AppError::Conflict("the case changed meanwhile; try again".into()));
                }
                self.outbound_wake.notify_one();
                Ok(CancelOutcome { status: CaseStatus::Cancelled, account_frozen: true })
            }
        }
    }

    /// Expires idle cases and deletes the documents of cases closed longer
    /// than the retention ago. Every write is idempotent, so any number of
    /// instances may run it at once. Returns (cases expired, documents purged).
    pub async fn recovery_housekeeping(&self) -> AppResult<(u64, u64)> {
        let now = self.now();
        let expired = self.store.expire_idle_cases(now).await?;
        let cutoff = now - self.settings.recovery.document_retention_s;
        let purged = self.store.purge_documents(cutoff, now).await?;
        if purged > 0 {
            tracing::info!(purged, "recovery documents purged after retention");
        }
        Ok((expired, purged))
    }
}
