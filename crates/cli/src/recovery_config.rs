//! Settings of lost-2FA recovery: each a flag, a `TWOSTEP_*` variable and a
//! config-file key (flags over environment over file), checked at start-up.

use anyhow::{anyhow, ensure, Result};
use clap::Args;
use twostep_app::Settings;
use twostep_domain::recovery::{parse_names, recovery_code_ttl, RecoveryStep};

use crate::config::FileConfig;

#[derive(Args, Debug, Clone, Default)]
pub struct RecoveryArgs {
    /// Lifetime of recovery codes in seconds, 60 to 1800 [default: 600]
    #[arg(long, env = "TWOSTEP_RECOVERY_CODE_TTL_S")]
    pub recovery_code_ttl_s: Option<i64>,
    /// Withdrawal hold after an approved recovery, in seconds [default: 172800]
    #[arg(long, env = "TWOSTEP_RECOVERY_HOLD_S")]
    pub recovery_hold_s: Option<i64>,
    /// Steps every recovery case needs, comma-separated from codes, questions, identity [default: codes,questions,identity]
    #[arg(long, env = "TWOSTEP_RECOVERY_STEPS")]
    pub recovery_steps: Option<String>,
    /// Always require identity documents when the e-mail address is replaced [default: true]
    #[arg(long, env = "TWOSTEP_RECOVERY_IDENTITY_WHEN_EMAIL_RESET")]
    pub recovery_identity_when_email_reset: Option<bool>,
    /// Risk score (0-100) from which two different reviewers must approve [default: 50]
    #[arg(long, env = "TWOSTEP_RECOVERY_HIGH_RISK_SCORE")]
    pub recovery_high_risk_score: Option<i64>,
    /// Days after a case is closed before its identity documents are deleted [default: 30]
    #[arg(long, env = "TWOSTEP_RECOVERY_DOCUMENT_RETENTION_DAYS")]
    pub recovery_document_retention_days: Option<i64>,
}

/// Fills `settings.recovery` from flags, environment and file.
pub fn resolve(a: &RecoveryArgs, f: &FileConfig, settings: &mut Settings) -> Result<()> {
    let r = &mut settings.recovery;
    let ttl = a.recovery_code_ttl_s.or(f.recovery_code_ttl_s).unwrap_or(r.code_ttl_s);
    r.code_ttl_s = recovery_code_ttl(ttl).map_err(|e| anyhow!("{e}"))?;
    r.hold_s = a.recovery_hold_s.or(f.recovery_hold_s).unwrap_or(r.hold_s);
    ensure!(r.hold_s >= 0, "recovery_hold_s must not be negative");
    if let Some(steps) = a.recovery_steps.clone().or(f.recovery_steps.clone()) {
        let steps = parse_names::<RecoveryStep>(&steps.replace(' ', "")).map_err(|e| anyhow!("recovery_steps: {e}"))?;
        ensure!(!steps.is_empty(), "recovery_steps must name at least one of codes, questions, identity");
        r.policy.base_steps = steps;
    }
    r.policy.identity_when_email_reset = a
        .recovery_identity_when_email_reset
        .or(f.recovery_identity_when_email_reset)
        .unwrap_or(r.policy.identity_when_email_reset);
    r.high_risk_score = a.recovery_high_risk_score.or(f.recovery_high_risk_score).unwrap_or(r.high_risk_score);
    ensure!((0..=100).contains(&r.high_risk_score), "recovery_high_risk_score must be between 0 and 100");
    if let Some(days) = a.recovery_document_retention_days.or(f.recovery_document_retention_days) {
        ensure!(days >= 1, "recovery_document_retention_days must be at least 1");
        r.document_retention_s = days * 86_400;
    }
    Ok(())
}
