//! Appending to the audit log. A failure to audit is logged, never shown to
//! the user as a failure of the action already done.

use crate::ports::AuditEvent;
use crate::{App, RequestMeta};

impl App {
    /// The audit entry for an event, for writes that record it in their own
    /// transaction.
    pub fn audit_event(&self, kind: &str, account_id: Option<&str>, meta: &RequestMeta, detail: &str) -> AuditEvent {
        AuditEvent {
            at: self.now(),
            account_id: account_id.map(str::to_owned),
            kind: kind.to_owned(),
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.chars().take(256).collect(),
            detail: detail.to_owned(),
        }
    }

    pub async fn audit(&self, kind: &str, account_id: Option<&str>, meta: &RequestMeta, detail: &str) {
        let event = self.audit_event(kind, account_id, meta, detail);
        if let Err(e) = self.store.append_audit(&event).await {
            tracing::error!(kind, error = %e, "audit append failed");
        }
    }
}
