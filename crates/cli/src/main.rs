//! The `twostep` command: serve, migrate, staff accounts and key rotation.
//! Wiring and configuration live here; behaviour lives in the other crates.

mod audit;
mod bench;
mod cases;
mod clients;
mod config;
mod delivery_check;
mod keys;
mod layers;
mod messaging;
mod recovery_config;
mod server;
#[cfg(test)]
mod settings_tests;
mod staff;
mod transfer;

use std::io::Read;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use twostep_domain::Role;

use config::{GlobalArgs, LogFormat, ServeArgs, StorageConfig};
use layers::Layered;

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
    Serve(Box<ServeArgs>),
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
    /// Copy a live SQLite database to a new file while the server runs (PostgreSQL: use pg_dump).
    Backup {
        /// File to write; must not exist.
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
    /// Test the configured e-mail, SMS and voice transports (connection, TLS, login) without sending anything.
    CheckDelivery(Box<ServeArgs>),
    /// Print the settings `serve` would run with and where each came from (default, file, environment or
    /// flag), then check them as `serve` does. Secrets are not shown.
    Settings(Box<ServeArgs>),
    /// Register the applications that sign their users in with twostep (OpenID Connect).
    Clients {
        #[command(subcommand)]
        command: clients::ClientsCommand,
    },
    /// Manage the master key that seals secrets at rest, and the OpenID Connect signing key.
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
        /// Server settings, read as `serve` reads them.
        #[command(flatten)]
        settings: Box<ServeArgs>,
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
        /// Server settings, read as `serve` reads them.
        #[command(flatten)]
        settings: Box<ServeArgs>,
    },
    /// Give a reset staff account its staff access back, once it has bound a new authenticator.
    Confirm {
        #[arg(long)]
        email: String,
        /// E-mail of the admin confirming (another admin than the account).
        #[arg(long)]
        by: String,
        /// Server settings, read as `serve` reads them.
        #[command(flatten)]
        settings: Box<ServeArgs>,
    },
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Re-encrypt every stored secret under a new master key, and start signing ID tokens with a new key
    /// (the old one stays published until its tokens have expired).
    Rotate,
}

impl StaffCommand {
    fn settings(&self) -> &ServeArgs {
        match self {
            StaffCommand::Add { settings, .. }
            | StaffCommand::Reset { settings, .. }
            | StaffCommand::Confirm { settings, .. } => settings,
        }
    }
}

/// A refusal (a bad flag, an unknown case, a database that cannot be
/// opened) is one line on standard error and a non-zero exit: never a
/// backtrace, whatever RUST_BACKTRACE says; those are for panics.
fn main() -> std::process::ExitCode {
    match try_main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn try_main() -> Result<()> {
    let layered: Layered<Cli> = layers::parse(std::env::args_os().collect(), &config::setting_ids())?;
    init_logs(layered.cli.global.log_format);
    // One TLS crypto provider for the process (ring): reqwest and lettre use it.
    twostep_delivery::install_tls_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(layered))
}

/// `twostep settings`: one line per setting, `key = value  # source`.
fn print_settings(layered: &Layered<Cli>, args: &ServeArgs) -> Result<()> {
    for (key, value, source) in layers::report(layered, &config::setting_ids()) {
        match value {
            Some(v) => println!("{key} = {v:?}  # {}", source.as_str()),
            None => println!("# {key} unset"),
        }
    }
    config::ServeConfig::resolve(args)?;
    Ok(())
}

/// Log lines go to standard error, as text or JSON (`--log-format`),
/// filtered by `TWOSTEP_LOG`. In JSON a panic is logged as an error line
/// too (with the request's id when a request panicked), so the log stays JSON.
fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TWOSTEP_LOG").unwrap_or_else(|_| "info,sqlx=warn".into());
    // Colours only for a person at a terminal, never into a file or a collector.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        LogFormat::Text => return logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(%location, %message, "thread panicked");
    }));
}

async fn run(layered: Layered<Cli>) -> Result<()> {
    let storage = StorageConfig::resolve(&layered.cli.global);
    if let Command::Settings(args) = &layered.cli.command {
        return print_settings(&layered, args);
    }
    match layered.cli.command {
        Command::Serve(args) => server::serve(&storage, &args).await,
        Command::Migrate => {
            let store = server::open_store(&storage).await?;
            let applied = store.migrate().await?;
            println!("migrations applied: {applied:?}");
            Ok(())
        }
        Command::Staff { command: StaffCommand::Add { email, role, settings } } => {
            let role = Role::try_from(role.as_str()).ok().filter(|r| r.is_staff());
            let Some(role) = role else { bail!("--role must be reviewer or admin") };
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password).context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let app = server::build_app(&storage, &settings).await?.0;
            let id = app.add_staff(&email, password, role).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("staff account {id} ({}) ready", role.as_str());
            staff::print_standing(&app, &id).await
        }
        Command::Staff { command } => {
            let app = server::build_app(&storage, command.settings()).await?.0;
            staff::run(&app, command).await
        }
        Command::Backup { out } => server::backup(&storage, &out).await,
        Command::Export { out } => transfer::export(&server::open_store(&storage).await?, &out).await,
        Command::Import { input } => transfer::import(&server::open_store(&storage).await?, &input).await,
        Command::Bench(args) => {
            let sqlite_normal = storage.pool.sqlite_synchronous == twostep_store::SqliteSynchronous::Normal;
            bench::bench(args, std::env::current_exe()?, sqlite_normal).await
        }
        Command::Cases { command } => {
            let app = server::build_app(&storage, command.settings()).await?.0;
            cases::run(&app, command).await
        }
        Command::Audit { command } => audit::run(&storage, command).await,
        Command::Clients { command } => {
            let app = server::build_app(&storage, command.settings()).await?.0;
            clients::run(&app, command).await
        }
        Command::Keys { command: KeysCommand::Rotate } => server::rotate_keys(&storage).await,
        Command::CheckDelivery(args) => delivery_check::run(&args).await,
        Command::Settings(_) => unreachable!("answered above"),
    }
}
