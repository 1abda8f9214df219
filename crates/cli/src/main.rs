//! The `twostep` command: serve, migrate, staff accounts and key rotation.
//! Wiring and configuration live here; behaviour lives in the other crates.

mod audit;
mod bench;
mod cases;
mod config;
mod keys;
mod messaging;
mod recovery_config;
mod server;
mod staff;
mod transfer;

use std::io::Read;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use twostep_domain::Role;

use config::{FileConfig, GlobalArgs, ServeArgs, StorageConfig};

#[derive(Parser, Debug)]
#[command(name = "twostep", version, about = "Account security: sign-in with a second factor, and a safe way back in.")]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server; creates the data directory, database and master key on first start.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage staff accounts.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Write the whole database as JSON lines (to move to another backend).
    Export {
        /// File to write.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Load an export into an empty database (run with the target --database-url).
    Import {
        /// File written by `twostep export`.
        #[arg(long = "in")]
        input: std::path::PathBuf,
    },
    /// Measure sign-in throughput and latency against a real server on a temporary database.
    Bench(bench::BenchArgs),
    /// The recovery review queue: list, show, approve, reject.
    Cases {
        #[command(subcommand)]
        command: cases::CasesCommand,
    },
    /// Check the tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Manage the master key that seals secrets at rest.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand, Debug)]
enum StaffCommand {
    /// Create a staff account (or promote an existing one); the password is read from standard input.
    Add {
        #[arg(long)]
        email: String,
        /// reviewer or admin
        #[arg(long)]
        role: String,
    },
    /// Reset a staff account's lost second factor. Two different admins must run it with the same
    /// items: the first call records the request, the second applies it.
    Reset {
        /// The staff account to reset.
        #[arg(long)]
        email: String,
        /// What to reset: authenticator and/or phone, comma-separated.
        #[arg(long)]
        items: String,
        /// E-mail of the admin asking (an admin with an authenticator).
        #[arg(long)]
        by: String,
    },
    /// Give a reset staff account its staff access back, once it has bound a new authenticator.
    Confirm {
        #[arg(long)]
        email: String,
        /// E-mail of the admin confirming (another admin than the account).
        #[arg(long)]
        by: String,
    },
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Re-encrypt every stored secret under a new master key.
    Rotate,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TWOSTEP_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    // One TLS crypto provider for the process (ring): reqwest and lettre use it.
    twostep_delivery::install_tls_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> Result<()> {
    let file = FileConfig::load(cli.global.config.as_deref())?;
    let storage = StorageConfig::resolve(&cli.global, &file);
    match cli.command {
        Command::Serve(args) => server::serve(&storage, &args, &file).await,
        Command::Migrate => {
            let store = server::open_store(&storage).await?;
            let applied = store.migrate().await?;
            println!("migrations applied: {applied:?}");
            Ok(())
        }
        Command::Staff { command: StaffCommand::Add { email, role } } => {
            let role = Role::try_from(role.as_str()).ok().filter(|r| r.is_staff());
            let Some(role) = role else { bail!("--role must be reviewer or admin") };
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password).context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let app = server::build_app(&storage, &ServeArgs::default(), &file).await?.0;
            let id = app.add_staff(&email, password, role).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("staff account {id} ({}) ready", role.as_str());
            staff::print_standing(&app, &id).await
        }
        Command::Staff { command } => {
            let app = server::build_app(&storage, &ServeArgs::default(), &file).await?.0;
            staff::run(&app, command).await
        }
        Command::Export { out } => transfer::export(&server::open_store(&storage).await?, &out).await,
        Command::Import { input } => transfer::import(&server::open_store(&storage).await?, &input).await,
        Command::Bench(args) => bench::bench(args, std::env::current_exe()?).await,
        Command::Cases { command } => {
            let app = server::build_app(&storage, &ServeArgs::default(), &file).await?.0;
            cases::run(&app, command).await
        }
        Command::Audit { command } => audit::run(&storage, command).await,
        Command::Keys { command: KeysCommand::Rotate } => server::rotate_keys(&storage).await,
    }
}
