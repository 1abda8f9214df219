//! The owner's "this wasn't me". Any cancel code the account's channels
//! received — of a live case, of one superseded since, or of one approved
//! whose hold still runs — is an objection: it stops every live case of the
//! account, freezes the account when something was already reset (no
//! sign-in, no withdrawal, every session ended, until staff look), is
//! recorded on the account so that every later case is high risk, and is
//! audited and told to every channel the account had in the last 30 days.
//! The answer says truthfully what it did. Also the background job that
//! expires idle cases and purges the documents of closed ones.

use twostep_domain::audit_kind::AuditKind;
use twostep_domain::recovery::{CancelEffect, CaseStatus};

use crate::crypto::token_hash;
use crate::error::{AppError, AppResult};
use crate::owner_port::Objection;
use crate::ports::{AccountRecord, AuditEvent, Channel, QueuedMessage};
use crate::{App, RequestMeta};

/// How far back the channels a freeze notice reaches go.
const FORMER_CHANNELS_S: i64 = 30 * 86_400;

/// The decision note of a case the owner's objection stopped.
pub const STOPPED_BY_OWNER: &str = "the owner objected";

/// The decision note of a case its requester withdrew.
pub const WITHDRAWN_BY_REQUESTER: &str = "withdrawn by the person who asked";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancelOutcome {
    /// `Cancelled` when the objection stopped a case or froze the account;
    /// otherwise the code found nothing left to stop.
    pub stopped_anything: bool,
    pub cases_stopped: usize,
    pub account_frozen: bool,
}

impl CancelOutcome {
    pub fn status(&self) -> &'static str {
        if self.stopped_anything { CaseStatus::Cancelled.as_str() } else { "nothing_to_stop" }
    }
}

impl App {
    /// `POST /recovery/cancel`.
    pub async fn cancel_recovery(&self, cancel_token: &str, meta: &RequestMeta) -> AppResult<CancelOutcome> {
        self.rate_limit(&format!("recovery-cancel:ip:{}", meta.limit_key()), 60, self.settings.codes_per_ip_per_minute)
            .await?;
        if cancel_token.is_empty() || cancel_token.len() > 256 {
            return Err(AppError::NotFound);
        }
        let record = self.store.case_by_cancel_token(&token_hash(cancel_token)).await?.ok_or(AppError::NotFound)?;
        let now = self.now();
        let account = self.account(&record.case.account_id).await?;
        let cases = self.store.cases_of_account(&account.id).await?;
        let live: Vec<&str> =
            cases.iter().filter(|c| c.case.status_at(now).is_active()).map(|c| c.case.id.as_str()).collect();
        // Something was reset and its hold still runs: the owner may have
        // lost the account to whoever asked.
        let approved_in_hold = cases
            .iter()
            .find(|c| c.case.check_cancel(now) == Ok(CancelEffect::FreezeAccount))
            .map(|c| c.case.id.clone());
        let freeze = approved_in_hold.is_some() && account.frozen_at.is_none();
        let detail = format!(
            "cancel code of case {}; stops {} live case(s){}",
            record.case.id,
            live.len(),
            if freeze { "; freezes the account" } else { "" }
        );
        let event = |kind: AuditKind, detail: &str| AuditEvent {
            at: now,
            ..self.audit_event(kind, Some(&account.id), meta, detail)
        };
        let lang = self.language_of(&account);
        let notices = if freeze {
            let body = self.text(lang, "mail-account-frozen-body", &[]);
            let subject = self.text(lang, "mail-account-frozen-subject", &[]);
            self.every_channel_notices(&account, now, &subject, &body).await?
        } else if !live.is_empty() {
            let body = self.text(lang, "mail-recovery-stopped-by-code-body", &[]);
            let subject = self.text(lang, "mail-recovery-stopped-subject", &[]);
            self.every_channel_notices(&account, now, &subject, &body).await?
        } else {
            Vec::new()
        };
        let objection = Objection {
            account_id: account.id.clone(),
            now,
            reason: STOPPED_BY_OWNER.into(),
            freeze,
            objected: true,
            approved_case: approved_in_hold.filter(|_| freeze),
            audit: vec![event(AuditKind::RecoveryObjection, &detail)],
            stopped_event: event(AuditKind::RecoveryCancelled, ""),
            frozen_event: event(AuditKind::AccountFrozen, "cancel code used during the recovery hold"),
            notices,
        };
        let outcome = self.store.object(&objection).await?;
        if !outcome.stopped.is_empty() || outcome.froze {
            self.outbound_wake.notify_one();
        }
        Ok(CancelOutcome {
            stopped_anything: !outcome.stopped.is_empty() || outcome.froze,
            cases_stopped: outcome.stopped.len(),
            account_frozen: outcome.frozen,
        })
    }

    /// `body` for the account's current channels and every address and
    /// number it had in the last 30 days: a thief who replaced them does not
    /// silence the owner.
    pub(crate) async fn every_channel_notices(
        &self,
        account: &AccountRecord,
        now: i64,
        subject: &str,
        body: &str,
    ) -> AppResult<Vec<QueuedMessage>> {
        self.every_channel_notices_short(account, now, subject, body, body).await
    }

    /// Like [`App::every_channel_notices`], with a short text for phones.
    pub(crate) async fn every_channel_notices_short(
        &self,
        account: &AccountRecord,
        now: i64,
        subject: &str,
        body: &str,
        sms: &str,
    ) -> AppResult<Vec<QueuedMessage>> {
        let mut told: Vec<(Channel, String)> = vec![(Channel::Email, account.email.clone())];
        told.extend(account.phone.iter().map(|p| (Channel::Sms, p.clone())));
        for (channel, to) in self.store.former_channels(&account.id, now - FORMER_CHANNELS_S).await? {
            let channel = if channel == Channel::Voice { Channel::Sms } else { channel };
            if !told.iter().any(|(c, t)| *c == channel && *t == to) {
                told.push((channel, to));
            }
        }
        told.into_iter()
            .map(|(channel, to)| {
                let (subject, body) = if channel == Channel::Email { (subject, body) } else { ("", sms) };
                self.sealed_notice(channel, &to, subject, body)
            })
            .collect()
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

impl App {
    /// `POST /me/recovery/stop`: the owner, signed in and in sudo mode (so
    /// with a factor the account has), says "this wasn't me" to every
    /// recovery under way: each stops, with the same objection as a cancel
    /// code (later cases are high risk). Returns how many were stopped.
    pub async fn stop_recoveries(&self, account_id: &str, session_token: &str, meta: &RequestMeta) -> AppResult<usize> {
        let account = self.require_sudo(account_id, session_token).await?;
        let now = self.now();
        let live =
            self.store.cases_of_account(account_id).await?.iter().filter(|c| c.case.status_at(now).is_active()).count();
        if live == 0 {
            return Ok(0);
        }
        let detail = format!("signed in with a second factor; stops {live} live case(s)");
        let event = |kind: AuditKind, detail: &str| AuditEvent {
            at: now,
            ..self.audit_event(kind, Some(account_id), meta, detail)
        };
        let lang = self.language_of(&account);
        let body = self.text(lang, "mail-recovery-stopped-signed-in-body", &[]);
        let subject = self.text(lang, "mail-recovery-stopped-subject", &[]);
        let objection = Objection {
            account_id: account_id.to_owned(),
            now,
            reason: STOPPED_BY_OWNER.into(),
            freeze: false,
            objected: true,
            approved_case: None,
            audit: vec![event(AuditKind::RecoveryObjection, &detail)],
            stopped_event: event(AuditKind::RecoveryCancelled, ""),
            frozen_event: event(AuditKind::AccountFrozen, ""),
            notices: self.every_channel_notices(&account, now, &subject, &body).await?,
        };
        let outcome = self.store.object(&objection).await?;
        if !outcome.stopped.is_empty() {
            self.outbound_wake.notify_one();
        }
        Ok(outcome.stopped.len())
    }

    /// `POST /recovery/{case_id}/withdraw`: the person who opened the case
    /// (holding its case token) takes it back while it is open or waits for
    /// review. Nothing on the account changed, so nothing is frozen; the
    /// account's current channels hear that the request was withdrawn.
    pub async fn withdraw_recovery(&self, case_id: &str, case_token: &str, meta: &RequestMeta) -> AppResult<()> {
        let record = self.case_for(case_id, case_token).await?;
        self.recovery_call(case_id).await?;
        let now = self.now();
        if !record.case.status_at(now).is_active() {
            return Err(AppError::Conflict("this recovery is no longer open or waiting for review".into()));
        }
        let account = self.account(&record.case.account_id).await?;
        let lang = self.language_of(&account);
        let subject = self.text(lang, "mail-recovery-withdrawn-subject", &[]);
        let body = self.text(lang, "mail-recovery-withdrawn-body", &[]);
        let effects = super::port::Effects {
            audit: vec![self.recovery_event(AuditKind::RecoveryCancelled, &record, meta, WITHDRAWN_BY_REQUESTER, now)],
            notices: self.current_channel_notices(&account, &subject, &body)?,
        };
        let change = super::port::CaseChange::Cancelled { reason: WITHDRAWN_BY_REQUESTER.into() };
        if !self.decide(&record, now, &change, &effects).await? {
            return Err(AppError::Conflict("the case changed meanwhile; load it again".into()));
        }
        Ok(())
    }
}
