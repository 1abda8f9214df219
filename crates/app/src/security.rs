//! Sensitive actions of a signed-in account: changing the password (with
//! the sign-out of other sessions, the hold, the audit entry and the notice
//! in one transaction), asking for a withdrawal (refused during a security
//! hold) and reading the account's own security activity.

use twostep_domain::audit_kind::AuditKind;
use twostep_domain::{active_hold, validate_password};

use crate::account_changes::hold_sentence;
use crate::crypto::{new_id, token_hash};
use crate::error::{AppError, AppResult};
use crate::ports::{AccountChange, AccountChangeOutcome, AccountChangePlan, AuditEvent, Effects, SignOut, Withdrawal};
use crate::{App, RequestMeta};

#[derive(Clone)]
pub struct WithdrawalRequest {
    pub asset: String,
    pub amount: String,
    pub address: String,
    /// A fresh proof; without one the session must be in sudo mode. `Debug`
    /// says only whether there is one.
    pub code: Option<String>,
}

impl std::fmt::Debug for WithdrawalRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithdrawalRequest")
            .field("asset", &self.asset)
            .field("amount", &self.amount)
            .field("address", &self.address)
            .field("code", &self.code.as_ref().map(|_| "***"))
            .finish()
    }
}

impl App {
    pub async fn change_password(
        &self,
        account_id: &str,
        session_token: &str,
        current: &str,
        new: &str,
        code: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        validate_password("new_password", new)?;
        self.limit_cost("password-changes", self.settings.costs.password_changes, account_id, meta).await?;
        let account = self.account(account_id).await?;
        if account.frozen_at.is_some() {
            return Err(AppError::Forbidden);
        }
        let subject = crate::limits::step_up_subject(account_id);
        self.check_throttle(&subject).await?;
        if !self.hasher.verify(current, Some(&account.password_hash)).await? {
            self.record_failure(&subject).await?;
            return Err(AppError::InvalidCredentials);
        }
        // Beside an authenticator or a phone, the password just typed is not
        // proof enough: one of those must be proven too (or was, recently).
        if self.account_factors(&account).await?.has_strong() {
            self.sudo_or_code(account_id, session_token, code, meta).await?;
        }
        let hash = self.hasher.hash(new).await?;
        let now = self.now();
        let hold_s = self.settings.hold_after_password_change_s;
        // Recoveries under way end with it (in the change's transaction);
        // the owner is told which.
        let live: Vec<String> = self
            .store
            .cases_of_account(account_id)
            .await?
            .into_iter()
            .filter(|r| r.case.status_at(now).is_active())
            .map(|r| r.case.id)
            .collect();
        let lang = self.language_of(&account);
        let stopped = if live.is_empty() {
            String::new()
        } else {
            format!("{} ", self.text(lang, "mail-password-changed-recovery-stopped", &[]))
        };
        let body = self.text(
            lang,
            "mail-password-changed-body",
            &[("hold", hold_sentence(lang, hold_s).into()), ("stopped", stopped.into())],
        );
        let mut audit =
            vec![AuditEvent { at: now, ..self.audit_event(AuditKind::PasswordChanged, Some(account_id), meta, "") }];
        for id in &live {
            let detail = format!("case {id}: stopped by the password change");
            audit.push(AuditEvent {
                at: now,
                ..self.audit_event(AuditKind::RecoveryCancelled, Some(account_id), meta, &detail)
            });
        }
        // The new password, the sign-out of every other session and pending
        // sign-in, the hold, the audit entry and the notice: all or nothing,
        // and only over the password just verified.
        let plan = AccountChangePlan {
            account_id: account_id.to_owned(),
            now,
            change: AccountChange::Password { checked_hash: account.password_hash.clone(), new_hash: hash },
            hold_until: (hold_s > 0).then_some(now + hold_s),
            sign_out: SignOut::AllBut { keep: token_hash(session_token) },
            clear_failures: None,
            effects: Effects {
                audit,
                notices: self.current_channel_notices(
                    &account,
                    &self.text(lang, "mail-password-changed-subject", &[]),
                    &body,
                )?,
            },
        };
        match self.apply_account_change(&plan).await? {
            AccountChangeOutcome::Applied { .. } => Ok(()),
            AccountChangeOutcome::CodeUsed | AccountChangeOutcome::Changed => {
                Err(AppError::Conflict("the password was changed meanwhile; sign in again".into()))
            }
        }
    }

    pub async fn request_withdrawal(
        &self,
        account_id: &str,
        session_token: &str,
        request: &WithdrawalRequest,
        meta: &RequestMeta,
    ) -> AppResult<String> {
        validate_withdrawal(request)?;
        let account = self.account(account_id).await?;
        if account.frozen_at.is_some() {
            return Err(AppError::Forbidden);
        }
        // Refuse before the code is checked, so a hold never burns a code.
        if let Some(until) = active_hold(account.withdrawals_blocked_until, self.now()) {
            self.audit(AuditKind::WithdrawalRefusedHold, Some(account_id), meta, "").await?;
            return Err(AppError::SecurityHold { until });
        }
        self.sudo_or_code(account_id, session_token, request.code.as_deref(), meta).await?;
        let withdrawal = Withdrawal {
            id: new_id(),
            account_id: account_id.to_owned(),
            asset: request.asset.clone(),
            amount: request.amount.clone(),
            address: request.address.clone(),
            created_at: self.now(),
        };
        self.store.create_withdrawal(&withdrawal).await?;
        self.audit(AuditKind::WithdrawalRequested, Some(account_id), meta, &withdrawal.id).await?;
        Ok(withdrawal.id)
    }

    /// The account's own security events, newest first; what staff did is
    /// named as the service's staff, without who or from where.
    pub async fn activity(&self, account_id: &str) -> AppResult<Vec<crate::staff::ActivityEntry>> {
        let events = self.store.audit_events(Some(account_id), 100).await?;
        Ok(events.into_iter().map(|e| self.as_seen_by_owner(e)).collect())
    }
}

fn validate_withdrawal(r: &WithdrawalRequest) -> AppResult<()> {
    let asset_ok = (1..=16).contains(&r.asset.len()) && r.asset.chars().all(|c| c.is_ascii_alphanumeric());
    if !asset_ok {
        return Err(AppError::invalid("asset", "must be 1 to 16 letters or digits"));
    }
    if !is_positive_decimal(&r.amount) {
        return Err(AppError::invalid("amount", "must be a positive decimal number, as a string"));
    }
    let address_ok = (1..=128).contains(&r.address.len()) && r.address.chars().all(|c| c.is_ascii_graphic());
    if !address_ok {
        return Err(AppError::invalid("address", "must be 1 to 128 printable characters"));
    }
    Ok(())
}

fn is_positive_decimal(s: &str) -> bool {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |p: &str| p.chars().all(|c| c.is_ascii_digit());
    s.len() <= 40
        && !whole.is_empty()
        && digits(whole)
        && digits(frac)
        && !(s.contains('.') && frac.is_empty())
        && s.chars().any(|c| c.is_ascii_digit() && c != '0')
}

#[cfg(test)]
mod tests {
    use super::is_positive_decimal;

    #[test]
    fn amounts() {
        for ok in ["1", "0.5", "10.000001", "007"] {
            assert!(is_positive_decimal(ok), "{ok}");
        }
        for bad in ["", "0", "0.0", "-1", "1.", ".5", "1e5", "1,5", "NaN", " 1"] {
            assert!(!is_positive_decimal(bad), "{bad}");
        }
    }
}
