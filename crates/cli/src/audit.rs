//! `twostep audit verify`: walks the audit log's hash chain and fails, naming
//! the first broken entry, if any entry was edited, removed or reordered.

use anyhow::{Context, Result, bail};
use clap::Subcommand;

use crate::config::StorageConfig;
use crate::server;

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the audit log's hash chain; exits non-zero at the first break.
    Verify,
}

pub async fn run(storage: &StorageConfig, command: AuditCommand) -> Result<()> {
    match command {
        AuditCommand::Verify => {
            let store = server::open_store(storage).await?;
            store.migrate().await.context("migrating the database")?;
            let outcome = store.verify_audit_chain().await.context("reading the audit log")?;
            store.close().await;
            match outcome {
                Ok((entries, head)) => {
                    println!(
                        "audit log intact: {entries} entries, head {}",
                        if head.is_empty() { "(empty)" } else { &head }
                    );
                    Ok(())
                }
                Err(broken) => bail!("audit log tampered with: {broken}"),
            }
        }
    }
}
