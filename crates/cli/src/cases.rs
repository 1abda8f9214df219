//! `twostep cases list|show|approve|reject`: the recovery review queue from
//! the command line. Decisions go through the same use cases as the API,
//! under a named staff account (`--reviewer EMAIL`), so the same rules hold:
//! staff only, never one's own account, two reviewers for a high-risk case.

use anyhow::{Result, anyhow, bail};
use clap::Subcommand;
use twostep_app::{App, RequestMeta};
use twostep_domain::recovery::CaseStatus;

use crate::config::ServeArgs;

#[derive(Subcommand, Debug)]
pub enum CasesCommand {
    /// List recovery cases, riskiest first.
    List {
        /// open, pending_review, approved, rejected, cancelled or expired
        #[arg(long, default_value = "pending_review")]
        status: String,
        #[command(flatten)]
        settings: Box<ServeArgs>,
    },
    /// Show a case's evidence.
    Show {
        /// The case id, or its first characters (at least 6, as the staff console shows them).
        case_id: String,
        /// E-mail of the staff account looking (applies the staff rules, e.g. not one's own account).
        #[arg(long)]
        reviewer: Option<String>,
        #[command(flatten)]
        settings: Box<ServeArgs>,
    },
    /// Approve a case (a high-risk case needs two different reviewers).
    Approve {
        case_id: String,
        /// E-mail of the staff account deciding.
        #[arg(long)]
        reviewer: String,
        #[arg(long)]
        note: String,
        #[command(flatten)]
        settings: Box<ServeArgs>,
    },
    /// Reject a case.
    Reject {
        case_id: String,
        /// E-mail of the staff account deciding.
        #[arg(long)]
        reviewer: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        settings: Box<ServeArgs>,
    },
}

impl CasesCommand {
    /// The server settings (holds, risk threshold, …), read as `serve` reads
    /// them: flags, then `TWOSTEP_*` variables, then the config file.
    pub fn settings(&self) -> &ServeArgs {
        match self {
            CasesCommand::List { settings, .. }
            | CasesCommand::Show { settings, .. }
            | CasesCommand::Approve { settings, .. }
            | CasesCommand::Reject { settings, .. } => settings,
        }
    }
}

fn meta() -> RequestMeta {
    RequestMeta { ip: "cli".into(), user_agent: "twostep cases".into(), language: None, device_token: None }
}

fn app_err(e: twostep_app::AppError) -> anyhow::Error {
    anyhow!("{e}")
}

async fn reviewer_id(app: &App, email: &str) -> Result<String> {
    match app.staff_by_email(email).await {
        Ok(a) => Ok(a.id),
        Err(twostep_app::AppError::NotFound) => bail!("--reviewer {email}: no such account"),
        Err(twostep_app::AppError::Forbidden) => bail!("--reviewer {email}: not a reviewer or admin"),
        Err(twostep_app::AppError::Staff(r)) => bail!("--reviewer {email}: {r}"),
        Err(e) => Err(app_err(e)),
    }
}

/// Fewest characters of a case id accepted; the staff console shows eight.
const SHORTEST_CASE_PREFIX: usize = 6;

/// The full id of the case `given` names: the id itself, or the start of
/// exactly one case's id (as the staff console shows it).
async fn full_case_id(app: &App, given: &str) -> Result<String> {
    let given = given.trim().trim_end_matches('…').to_ascii_lowercase();
    if given.len() < SHORTEST_CASE_PREFIX {
        bail!(
            "case \"{given}\": give at least {SHORTEST_CASE_PREFIX} characters of the case id (the staff console shows 8)"
        );
    }
    let ids = app.operator_case_ids_starting_with(&given).await.map_err(app_err)?;
    match ids.as_slice() {
        [] => bail!("case \"{given}\": no recovery case has an id starting with this (see `twostep cases list`)"),
        [one] => Ok(one.clone()),
        several => bail!(
            "case \"{given}\" is ambiguous: it starts {} case ids ({}); give more characters",
            if several.len() >= 5 { "at least 5".to_owned() } else { several.len().to_string() },
            several.join(", ")
        ),
    }
}

fn time(unix_s: Option<i64>) -> String {
    unix_s.map(twostep_web::time::rfc3339).unwrap_or_else(|| "-".into())
}

pub async fn run(app: &App, command: CasesCommand) -> Result<()> {
    match command {
        CasesCommand::List { status, .. } => {
            let status = CaseStatus::try_from(status.as_str()).map_err(|e| anyhow!("--status: {e}"))?;
            let cases = app.operator_queue(status).await.map_err(app_err)?;
            println!("{:<32}  {:<32}  {:>4}  {:<20}  reset", "case", "account", "risk", "submitted");
            for c in cases {
                let items: Vec<&str> = c.reset_items.iter().map(|i| i.as_str()).collect();
                let risk = c.risk_score.map(|r| r.to_string()).unwrap_or_else(|| "-".into());
                let staff = if c.staff_account { "  STAFF ACCOUNT" } else { "" };
                println!(
                    "{:<32}  {:<32}  {:>4}  {:<20}  {}{staff}",
                    c.case_id,
                    c.account_id,
                    risk,
                    time(c.submitted_at),
                    items.join(",")
                );
            }
            Ok(())
        }
        CasesCommand::Show { case_id, reviewer, .. } => {
            let case_id = full_case_id(app, &case_id).await?;
            let e = match reviewer {
                Some(email) => app.case_evidence(&reviewer_id(app, &email).await?, &case_id).await,
                None => app.operator_case_evidence(&case_id).await,
            }
            .map_err(app_err)?;
            let c = &e.record.case;
            let items: Vec<&str> = c.reset_items.iter().map(|i| i.as_str()).collect();
            println!("case        {}", c.id);
            println!("account     {} ({})", c.account_id, e.account_email);
            if e.staff_account {
                println!("STAFF ACCOUNT: high risk; after a reset no staff access until `twostep staff confirm`");
            }
            println!("status      {}", c.status_at(app.now()).as_str());
            println!("submitted   {}", time(c.submitted_at));
            println!("reset       {}", items.join(","));
            println!("new phone   {}", c.new_phone.as_deref().unwrap_or("-"));
            println!(
                "new e-mail  {}{}",
                c.new_email.as_deref().unwrap_or("-"),
                if e.new_email_taken { " (TAKEN)" } else { "" }
            );
            println!(
                "codes       e-mail {}, phone {}",
                if c.email_verified_at.is_some() { "proven" } else { "not proven" },
                match (c.phone_code_needed(), c.phone_verified_at.is_some()) {
                    (false, _) => "not needed",
                    (true, true) => "proven",
                    (true, false) => "not proven",
                }
            );
            let passkeys: Vec<String> = e
                .passkeys
                .iter()
                .map(|p| {
                    let used = p.last_used_at.map(twostep_web::time::rfc3339).unwrap_or_else(|| "never".into());
                    format!("{} (added {}, last used {used})", p.name, time(Some(p.created_at)))
                })
                .collect();
            println!("passkeys    {}", if passkeys.is_empty() { "-".to_owned() } else { passkeys.join("; ") });
            println!("answers     {} of {} right", e.record.answers_right, e.record.answers_total);
            let docs: Vec<String> =
                e.documents.iter().map(|d| format!("{} {}x{} {}", d.slot, d.width, d.height, d.content_type)).collect();
            println!(
                "identity    {} {} [{}]",
                e.record.country.as_deref().unwrap_or("-"),
                e.record.id_type.as_deref().unwrap_or("-"),
                docs.join("; ")
            );
            println!(
                "risk        {} ({}; {} approval(s) still needed)",
                e.record.risk_score.map(|r| r.to_string()).unwrap_or_else(|| "-".into()),
                if e.high_risk { "high" } else { "normal" },
                e.approvals_remaining
            );
            if let Some(signals) = &e.record.risk_signals {
                println!("signals     {signals}");
            }
            println!("opened from {} ({})", e.record.open_ip, e.record.open_user_agent);
            Ok(())
        }
        CasesCommand::Approve { case_id, reviewer, note, .. } => {
            let case_id = full_case_id(app, &case_id).await?;
            let staff = reviewer_id(app, &reviewer).await?;
            let r = app.approve_recovery(&staff, &case_id, &note, &meta()).await.map_err(app_err)?;
            match r.status {
                CaseStatus::Approved => {
                    println!("case {case_id} approved; withdrawals blocked until {}", time(r.hold_until))
                }
                _ => println!("case {case_id}: first approval recorded; a second, different reviewer must approve"),
            }
            Ok(())
        }
        CasesCommand::Reject { case_id, reviewer, reason, .. } => {
            let case_id = full_case_id(app, &case_id).await?;
            let staff = reviewer_id(app, &reviewer).await?;
            app.reject_recovery(&staff, &case_id, &reason, &meta()).await.map_err(app_err)?;
            println!("case {case_id} rejected");
            Ok(())
        }
    }
}
