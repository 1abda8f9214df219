//! `twostep staff reset|confirm`: an admin resets a staff account's lost
//! second factor (two different admins must agree) and confirms the
//! account afterwards. The rules are the app's (`twostep_app::staff`): the
//! admins named with `--by` must be admins with an authenticator, never the
//! account itself; every step is audited and told to the staff account.

use anyhow::{Result, anyhow};
use twostep_app::{App, AppError};
use twostep_domain::staff::StaffResetItem;

use crate::StaffCommand;

fn refusal(flag_email: (&str, &str), e: AppError) -> anyhow::Error {
    match e {
        AppError::NotFound => anyhow!("{} {}: no such account", flag_email.0, flag_email.1),
        AppError::Forbidden => anyhow!("{} {}: not an admin", flag_email.0, flag_email.1),
        AppError::Staff(r) => anyhow!("{} {}: {r}", flag_email.0, flag_email.1),
        other => anyhow!("{other}"),
    }
}

pub async fn run(app: &App, command: StaffCommand) -> Result<()> {
    match command {
        StaffCommand::Add { .. } => unreachable!("handled with its password in main"),
        StaffCommand::Reset { email, items, by, .. } => {
            let items = StaffResetItem::parse_list(&items).map_err(|e| anyhow!("--{e}"))?;
            admin(app, &by).await?;
            match app.reset_staff(&email, &items, &by).await.map_err(|e| refusal(("--email", &email), e))? {
                twostep_app::staff::StaffResetOutcome::Requested { items } => println!(
                    "reset of {} for {email} requested; a second, different admin must run the same command to apply it",
                    StaffResetItem::join(&items)
                ),
                twostep_app::staff::StaffResetOutcome::Applied { items, .. } => println!(
                    "{email}: {} reset by two admins, every session signed out; no staff access until it binds a new \
                     authenticator and an admin runs `twostep staff confirm`",
                    StaffResetItem::join(&items)
                ),
            }
            Ok(())
        }
        StaffCommand::Confirm { email, by, .. } => {
            admin(app, &by).await?;
            app.confirm_staff(&email, &by).await.map_err(|e| refusal(("--email", &email), e))?;
            println!("{email}: confirmed; its staff access is back");
            Ok(())
        }
    }
}

/// The `--by` admin may manage staff, or the command says why not.
async fn admin(app: &App, by: &str) -> Result<()> {
    match app.admin_by_email(by).await {
        Ok(_) => Ok(()),
        Err(e) => Err(refusal(("--by", by), e)),
    }
}

/// After `staff add`: what the account still needs before it has staff access.
pub async fn print_standing(app: &App, account_id: &str) -> Result<()> {
    let account = app.account(account_id).await.map_err(|e| anyhow!("{e}"))?;
    let standing = app.staff_standing(&account).await.map_err(|e| anyhow!("{e}"))?;
    if !standing.authenticator {
        println!("it has no staff access until it signs in and binds an authenticator");
    }
    if standing.reset_unconfirmed {
        println!("its factors were reset: no staff access until an admin runs `twostep staff confirm`");
    }
    Ok(())
}
