//! Settings of lost-2FA recovery, each declared once: flag, `TWOSTEP_*`
//! variable, config-file key and default.

use std::fmt;
use std::str::FromStr;

use anyhow::{Result, anyhow};
use clap::{ArgAction, Args};
use twostep_app::Settings;
use twostep_domain::recovery::{
    MAX_RECOVERY_CODE_TTL_S, MIN_RECOVERY_CODE_TTL_S, RecoveryStep, parse_names, recovery_code_ttl,
};

#[derive(Args, Debug, Clone)]
pub struct RecoveryArgs {
    /// Lifetime in seconds, 60 to 1800, of the codes a recovery case sends to the phone and e-mail address
    #[arg(long, env = "TWOSTEP_RECOVERY_CODE_TTL_S", default_value_t = Settings::default().recovery.code_ttl_s,
          allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(MIN_RECOVERY_CODE_TTL_S..=MAX_RECOVERY_CODE_TTL_S))]
    pub recovery_code_ttl_s: i64,
    /// Withdrawal hold after an approved recovery, in seconds
    #[arg(long, env = "TWOSTEP_RECOVERY_HOLD_S", default_value_t = Settings::default().recovery.hold_s,
          allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(0..))]
    pub recovery_hold_s: i64,
    /// Steps every recovery case needs, comma-separated from codes, questions, identity
    #[arg(long, env = "TWOSTEP_RECOVERY_STEPS",
          default_value_t = RecoverySteps(Settings::default().recovery.policy.base_steps))]
    pub recovery_steps: RecoverySteps,
    /// Always require identity documents when the e-mail address is replaced
    #[arg(long, env = "TWOSTEP_RECOVERY_IDENTITY_WHEN_EMAIL_RESET", action = ArgAction::Set,
          default_value_t = Settings::default().recovery.policy.identity_when_email_reset)]
    pub recovery_identity_when_email_reset: bool,
    /// Risk score from which two different reviewers must approve, 0 to 100
    #[arg(long, env = "TWOSTEP_RECOVERY_HIGH_RISK_SCORE", default_value_t = Settings::default().recovery.high_risk_score,
          allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(0..=100))]
    pub recovery_high_risk_score: i64,
    /// Days after a case is closed before its identity documents are deleted
    #[arg(long, env = "TWOSTEP_RECOVERY_DOCUMENT_RETENTION_DAYS",
          default_value_t = Settings::default().recovery.document_retention_s / 86_400,
          allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(1..))]
    pub recovery_document_retention_days: i64,
}

/// `--recovery-steps codes,questions,identity`: known names, at least one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoverySteps(pub Vec<RecoveryStep>);

impl FromStr for RecoverySteps {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        const ALLOWED: &str = "name one or more of codes, questions, identity, comma-separated";
        let s = s.replace(' ', "");
        if let Some(bad) = s.split(',').find(|name| !name.is_empty() && RecoveryStep::try_from(*name).is_err()) {
            return Err(format!("{bad:?} is not a step: {ALLOWED}"));
        }
        let steps = parse_names::<RecoveryStep>(&s).map_err(|e| e.to_string())?;
        if steps.is_empty() {
            return Err(ALLOWED.into());
        }
        Ok(Self(steps))
    }
}

impl fmt::Display for RecoverySteps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        f.write_str(&names.join(","))
    }
}

/// Fills `settings.recovery`.
pub fn resolve(a: &RecoveryArgs, settings: &mut Settings) -> Result<()> {
    let r = &mut settings.recovery;
    r.code_ttl_s = recovery_code_ttl(a.recovery_code_ttl_s).map_err(|e| anyhow!("recovery_code_ttl_s: {e}"))?;
    r.hold_s = a.recovery_hold_s;
    r.policy.base_steps = a.recovery_steps.0.clone();
    r.policy.identity_when_email_reset = a.recovery_identity_when_email_reset;
    r.high_risk_score = a.recovery_high_risk_score;
    r.document_retention_s = a.recovery_document_retention_days * 86_400;
    Ok(())
}
