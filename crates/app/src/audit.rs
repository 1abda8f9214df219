//! Appending to the audit log. An event with a change of its own is written
//! in that change's transaction (`audit_event` handed to the store); an event
//! that is only a refusal or a notice is appended on its own with `audit`,
//! and when that fails the request fails: no security event goes unrecorded
//! while its request looks successful.

use twostep_domain::audit_kind::AuditKind;

use crate::ports::AuditEvent;
use crate::{App, AppError, AppResult, RequestMeta};

impl App {
    /// The audit entry for an event, for writes that record it in their own
    /// transaction.
    pub fn audit_event(
        &self,
        kind: AuditKind,
        account_id: Option<&str>,
        meta: &RequestMeta,
        detail: &str,
    ) -> AuditEvent {
        AuditEvent {
            at: self.now(),
            account_id: account_id.map(str::to_owned),
            kind: kind.as_str().to_owned(),
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.chars().take(256).collect(),
            detail: detail.to_owned(),
        }
    }

    pub async fn audit(
        &self,
        kind: AuditKind,
        account_id: Option<&str>,
        meta: &RequestMeta,
        detail: &str,
    ) -> AppResult<()> {
        let event = self.audit_event(kind, account_id, meta, detail);
        self.store.append_audit(&event).await.map_err(|e| {
            tracing::error!(kind = kind.as_str(), error = %e, "audit append failed");
            AppError::from(e)
        })
    }
}
