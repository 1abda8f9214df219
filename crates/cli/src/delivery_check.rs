//! `twostep check-delivery`, and the same check in the log at start-up: for
//! each channel, which transport is configured and whether a test
//! connection to it succeeds (SMTP: EHLO, STARTTLS or the TLS handshake,
//! AUTH; HTTP providers: the TLS handshake and `HEAD /`). Nothing is sent to
//! anyone. A bad relay or a certificate twostep does not trust is found
//! before the first user waits for a code. `/readyz` stays about the
//! database: a provider's outage must not take instances out of rotation.

use anyhow::{Result, bail};
use twostep_delivery::Providers;

use crate::config::{ServeArgs, ServeConfig};

/// Prints one line per channel; fails if any configured transport failed.
pub async fn run(args: &ServeArgs) -> Result<()> {
    let config = ServeConfig::resolve(args)?;
    let checks = config.providers.check().await.map_err(anyhow::Error::msg)?;
    for check in &checks {
        println!("{check}");
    }
    let failed = checks.iter().filter(|c| c.failed()).count();
    if failed > 0 {
        bail!("{failed} delivery transport(s) failed their test connection");
    }
    Ok(())
}

/// Logs the check once, in the background, when the server starts.
pub fn log_at_start(providers: Providers) {
    if !providers.any() {
        return;
    }
    tokio::spawn(async move {
        match providers.check().await {
            Ok(checks) => {
                for check in checks {
                    if check.failed() {
                        tracing::warn!(channel = check.channel, "delivery check: {check}");
                    } else {
                        tracing::info!(channel = check.channel, "delivery check: {check}");
                    }
                }
            }
            Err(e) => tracing::warn!("delivery check: {e}"),
        }
    });
}
