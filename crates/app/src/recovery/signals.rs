//! Gathers what the risk score looks at: which codes were proven, the
//! answers' score, the IP address and browser against the account's earlier
//! sign-ins, the account's age, earlier cases, what is being reset and
//! whether the account is staff. The
//! score itself is the domain's; this only collects the facts.

use serde_json::json;
use twostep_domain::audit_kind::AuditKind;
use twostep_domain::recovery::{CaseStatus, RecoveryStep, ResetItem};
use twostep_domain::risk::{RiskAssessment, RiskInputs, assess};

use super::port::{CaseRecord, SUPERSEDED};
use crate::error::AppResult;
use crate::{App, RequestMeta};

/// Own questions set within this long before the case count as "changed recently".
const RECENT_QUESTIONS_S: i64 = 7 * 86_400;
/// Earlier cases within this long count against a new one.
const EARLIER_CASES_S: i64 = 90 * 86_400;

impl App {
    pub(crate) async fn assess_case(&self, record: &CaseRecord, meta: &RequestMeta) -> AppResult<RiskAssessment> {
        let case = &record.case;
        let account = self.account(&case.account_id).await?;
        let own = self.store.security_answers(&case.account_id).await?;
        let history = self.store.audit_events(Some(&case.account_id), 1000).await?;
        let sign_ins: Vec<_> =
            history.iter().filter(|e| e.kind == AuditKind::LoginOk.as_str() && e.at <= case.created_at).collect();
        let seen_ip = |ip: &str| sign_ins.iter().any(|e| e.ip == ip);
        let seen_agent = |ua: &str| sign_ins.iter().any(|e| e.user_agent == ua);
        let earlier: Vec<CaseRecord> = self
            .store
            .cases_of_account(&case.account_id)
            .await?
            .into_iter()
            .filter(|c| c.case.id != case.id && c.case.created_at >= case.created_at - EARLIER_CASES_S)
            .collect();
        let refused = earlier
            .iter()
            .filter(|c| {
                c.case.status == CaseStatus::Rejected
                    || (c.cancelled_at.is_some() && c.decision_note.as_deref() != Some(SUPERSEDED))
            })
            .count() as i64;
        let resets = |i| case.reset_items.contains(&i);
        let inputs = RiskInputs {
            email_code_proven: case.email_verified_at.is_some(),
            phone_code_needed: case.phone_code_needed(),
            phone_code_proven: case.phone_verified_at.is_some(),
            questions_asked: if case.step_done(RecoveryStep::Questions) { record.answers_total } else { 0 },
            questions_right: record.answers_right,
            has_own_questions: !own.is_empty(),
            questions_changed_recently: own.iter().any(|q| q.created_at > case.created_at - RECENT_QUESTIONS_S),
            ip_seen_before: seen_ip(&record.open_ip) && seen_ip(&meta.ip),
            user_agent_seen_before: seen_agent(&record.open_user_agent) && seen_agent(&meta.user_agent),
            account_age_days: (case.created_at - account.created_at).max(0) / 86_400,
            earlier_cases: earlier.len() as i64,
            earlier_refused: refused,
            // Passkeys weigh as the authenticator does: a strong factor gone.
            resets_authenticator: resets(ResetItem::Authenticator) || resets(ResetItem::Passkeys),
            resets_phone: resets(ResetItem::Phone),
            resets_email: resets(ResetItem::Email),
            identity_provided: case.step_done(RecoveryStep::Identity),
            owner_objected: account.owner_objected_at.is_some(),
            staff_account: account.role.is_staff(),
        };
        Ok(assess(&inputs))
    }
}

/// The signals as stored with the case: `[{name, points, detail}]`.
pub(crate) fn signals_json(a: &RiskAssessment) -> String {
    let list: Vec<_> =
        a.signals.iter().map(|s| json!({"name": s.name, "points": s.points, "detail": s.detail})).collect();
    serde_json::Value::Array(list).to_string()
}
