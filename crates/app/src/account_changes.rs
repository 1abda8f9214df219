//! Sensitive changes of a signed-in account (the password, the phone, the
//! authenticator) go to storage as one [`AccountChangePlan`]: the change
//! with its withdrawal hold, sign-out, audit entry and sealed notice, so
//! they land in one transaction or not at all. A crash or a database error
//! never leaves, say, a new password with the attacker's sessions alive, or
//! a replaced phone with no hold and no word to the owner.

use twostep_i18n::Lang;

use twostep_domain::audit_kind::AuditKind;

use crate::error::AppResult;
use crate::ports::{
    AccountChange, AccountChangeOutcome, AccountChangePlan, AccountRecord, AuditEvent, Effects, QueuedMessage, SignOut,
};
use crate::{App, RequestMeta};

/// What a factor change tells: its audit entry (`kind`, `detail`) and the
/// notice (the catalogue's `subject` and the `body` already filled in) to
/// the account's e-mail and phone; the phone gets `sms` when there is one
/// (one line, never text a person chose, such as a passkey's name).
pub(crate) struct Told<'a> {
    pub kind: AuditKind,
    pub detail: &'a str,
    pub subject: &'a str,
    pub body: String,
    pub sms: Option<String>,
}

impl App {
    /// A change of a factor (no sign-out, no throttle cleared) with its
    /// hold, its audit entry and its notice to the account's channels.
    pub(crate) fn factor_change_plan(
        &self,
        account: &AccountRecord,
        change: AccountChange,
        hold_until: Option<i64>,
        told: Told<'_>,
        meta: &RequestMeta,
    ) -> AppResult<AccountChangePlan> {
        let now = self.now();
        let lang = self.language_of(account);
        Ok(AccountChangePlan {
            account_id: account.id.clone(),
            now,
            change,
            hold_until,
            sign_out: SignOut::Nobody,
            clear_failures: None,
            effects: Effects {
                audit: vec![AuditEvent {
                    at: now,
                    ..self.audit_event(told.kind, Some(&account.id), meta, told.detail)
                }],
                notices: self.current_channel_notices_short(
                    account,
                    &self.text(lang, told.subject, &[]),
                    &told.body,
                    told.sms.as_deref().unwrap_or(&told.body),
                )?,
            },
        })
    }

    /// After `notices` were queued (in a write of their own): wakes a
    /// sender and counts each against its address's cap.
    pub(crate) async fn notices_queued(&self, notices: &[QueuedMessage]) {
        if !notices.is_empty() {
            self.outbound_wake.notify_one();
        }
        for notice in notices {
            self.count_notice(&notice.recipient).await;
        }
    }

    /// Writes the plan; wakes a sender once its notices are queued.
    pub(crate) async fn apply_account_change(&self, plan: &AccountChangePlan) -> AppResult<AccountChangeOutcome> {
        let outcome = self.store.apply_account_change(plan).await?;
        if matches!(outcome, AccountChangeOutcome::Applied { .. }) {
            if let AccountChange::BindTotp { replacement_notices, .. } = &plan.change
                && !replacement_notices.is_empty()
            {
                self.outbound_wake.notify_one();
            }
            self.notices_queued(&plan.effects.notices).await;
        }
        Ok(outcome)
    }
}

/// "Withdrawals are paused for 24 hours. ", in the largest whole unit of
/// the hold's length; nothing when there is no hold.
pub(crate) fn hold_sentence(lang: Lang, hold_s: i64) -> String {
    if hold_s <= 0 {
        return String::new();
    }
    let (n, id) = if hold_s % 86_400 == 0 && hold_s >= 2 * 86_400 {
        (hold_s / 86_400, "mail-hold-days")
    } else if hold_s % 3600 == 0 {
        (hold_s / 3600, "mail-hold-hours")
    } else if hold_s % 60 == 0 {
        (hold_s / 60, "mail-hold-minutes")
    } else {
        (hold_s, "mail-hold-seconds")
    };
    format!("{} ", twostep_i18n::text_with(lang, id, &[("n", n.into())]))
}

#[cfg(test)]
mod tests {
    use super::hold_sentence;
    use twostep_i18n::Lang;

    #[test]
    fn hold_lengths_read_naturally() {
        let en = |s| hold_sentence(Lang::En, s);
        assert_eq!(en(24 * 3600), "Withdrawals are paused for 24 hours. ");
        assert_eq!(en(3600), "Withdrawals are paused for 1 hour. ");
        assert_eq!(en(72 * 3600), "Withdrawals are paused for 3 days. ");
        assert_eq!(en(90 * 60), "Withdrawals are paused for 90 minutes. ");
        assert_eq!(en(45), "Withdrawals are paused for 45 seconds. ");
        assert_eq!(en(0), "");
        assert_eq!(hold_sentence(Lang::Fr, 3600), "Les retraits sont suspendus pendant 1 heure. ");
        assert_eq!(hold_sentence(Lang::Fr, 72 * 3600), "Les retraits sont suspendus pendant 3 jours. ");
    }
}
