//! The settings of storage and of the running server, each declared once:
//! a field here is the flag, its `TWOSTEP_*` variable, its config-file key
//! (the field's name) and its default. layers.rs stacks the sources; this
//! module turns the result into the store's, app's and web's settings.
//! Sent codes and their delivery are in messaging.rs, lost-2FA recovery in
//! recovery_config.rs; both are flattened into `ServeArgs` and neither
//! knows this module.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::builder::{PossibleValuesParser, RangedU64ValueParser, TypedValueParser};
use clap::{ArgAction, Args, Command};
use twostep_app::Settings;
use twostep_domain::BackupKeyLength;

use crate::layers::describe;

/// Flags every command takes.
#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// TOML file with settings (keys as the long flag names, with underscores).
    #[arg(long, global = true, env = "TWOSTEP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the SQLite database and the master key live
    #[arg(long, global = true, env = "TWOSTEP_DATA_DIR", default_value = "./twostep-data")]
    pub data_dir: PathBuf,
    /// sqlite://PATH or postgres://USER@HOST/DB [default: sqlite://<data-dir>/twostep.db]
    #[arg(long, global = true, env = "TWOSTEP_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Largest number of database connections per instance
    #[arg(long, global = true, env = "TWOSTEP_DB_MAX_CONNECTIONS",
          default_value_t = twostep_store::PoolSettings::default().max_connections,
          allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..))]
    pub db_max_connections: u32,
    /// Seconds to wait for a free database connection
    #[arg(long, global = true, env = "TWOSTEP_DB_ACQUIRE_TIMEOUT_S",
          default_value_t = twostep_store::PoolSettings::default().acquire_timeout.as_secs(),
          allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..))]
    pub db_acquire_timeout_s: u64,
    /// PostgreSQL statement timeout in seconds
    #[arg(long, global = true, env = "TWOSTEP_DB_STATEMENT_TIMEOUT_S",
          default_value_t = twostep_store::PoolSettings::default().statement_timeout.as_secs())]
    pub db_statement_timeout_s: u64,
    /// The master key file, e.g. a mounted secret; never created [default: <data-dir>/master.key]
    #[arg(long, global = true, env = "TWOSTEP_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// Log lines as text or as JSON objects, one a line
    #[arg(long, global = true, env = "TWOSTEP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// SQLite commit durability: full (the log is fsync'd at every commit, so an
    /// answered write survives a power cut) or normal (fsync'd at checkpoints only:
    /// a machine crash can lose the last answered writes; 5-15% faster, see docs/benchmarks.md)
    #[arg(long, global = true, env = "TWOSTEP_SQLITE_SYNCHRONOUS", value_enum, default_value_t = SqliteSynchronous::Full)]
    pub sqlite_synchronous: SqliteSynchronous,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// `--sqlite-synchronous`, `sqlite_synchronous` in the config file.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteSynchronous {
    Full,
    Normal,
}

impl From<SqliteSynchronous> for twostep_store::SqliteSynchronous {
    fn from(s: SqliteSynchronous) -> Self {
        match s {
            SqliteSynchronous::Full => Self::Full,
            SqliteSynchronous::Normal => Self::Normal,
        }
    }
}

/// `--device-confirmation`, `device_confirmation` in the config file.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceConfirmation {
    Off,
    Withdrawals,
    All,
}

impl From<DeviceConfirmation> for twostep_domain::device::DeviceConfirmationPolicy {
    fn from(d: DeviceConfirmation) -> Self {
        match d {
            DeviceConfirmation::Off => Self::Off,
            DeviceConfirmation::Withdrawals => Self::Withdrawals,
            DeviceConfirmation::All => Self::All,
        }
    }
}

/// Settings of the running server.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on
    #[arg(long, env = "TWOSTEP_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Proof-of-work difficulty in bits; 0 turns the captcha off (tests only)
    #[arg(long, env = "TWOSTEP_CAPTCHA_BITS", default_value_t = Settings::default().captcha_bits,
          allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(..=32))]
    pub captcha_bits: u32,
    /// Base URL used in links sent to users [default: http://<listen>]
    #[arg(long, env = "TWOSTEP_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Name shown in authenticator apps
    #[arg(long, env = "TWOSTEP_ISSUER", default_value_t = Settings::default().issuer)]
    pub issuer: String,
    /// Language (en or fr) of pages whose browser asks for none of these, and of messages to accounts whose sign-up named none
    #[arg(long, env = "TWOSTEP_LANGUAGE", default_value_t = Settings::default().language)]
    pub language: twostep_app::Lang,
    /// Backup key length in base32 characters: 32 (160 bits) or 16 (80 bits)
    #[arg(long, env = "TWOSTEP_BACKUP_KEY_CHARS", default_value_t = 32,
          value_parser = PossibleValuesParser::new(["32", "16"]).map(|s| if s == "16" { 16u32 } else { 32 }))]
    pub backup_key_chars: u32,
    /// Session lifetime in seconds
    #[arg(long, env = "TWOSTEP_SESSION_TTL_S", default_value_t = Settings::default().session_ttl_s,
          allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(1..))]
    pub session_ttl_s: i64,
    /// Lifetime of a login that passed the password step, in seconds
    #[arg(long, env = "TWOSTEP_LOGIN_TTL_S", default_value_t = Settings::default().login_ttl_s,
          allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(1..))]
    pub login_ttl_s: i64,
    /// Lifetime in seconds, 60 to 600, of a code sent by SMS, voice or e-mail to sign in, confirm it's you or bind a phone
    #[arg(long, env = "TWOSTEP_CODE_TTL_S", default_value_t = Settings::default().code_ttl_s,
          allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(60..=600))]
    pub code_ttl_s: i64,
    /// Lifetime in seconds, 60 to 86400, of the code that confirms a sign-up's e-mail address
    #[arg(long, env = "TWOSTEP_SIGNUP_CODE_TTL_S", default_value_t = Settings::default().signup_code_ttl_s,
          allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(60..=86_400))]
    pub signup_code_ttl_s: i64,
    /// How long a proof of a factor keeps a session in sudo mode for sensitive changes, 60 to 3600 seconds
    #[arg(long, env = "TWOSTEP_SUDO_TTL_S", default_value_t = Settings::default().sudo_ttl_s,
          allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(60..=3600))]
    pub sudo_ttl_s: i64,
    /// Withdrawal hold after a password change, in seconds
    #[arg(long, env = "TWOSTEP_HOLD_AFTER_PASSWORD_CHANGE_S", default_value_t = Settings::default().hold_after_password_change_s,
          allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(0..))]
    pub hold_after_password_change_s: i64,
    /// Withdrawal hold after a forgotten password is reset, in seconds
    #[arg(long, env = "TWOSTEP_HOLD_AFTER_PASSWORD_RESET_S", default_value_t = Settings::default().hold_after_password_reset_s,
          allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(0..))]
    pub hold_after_password_reset_s: i64,
    /// Withdrawal hold after the authenticator is removed or replaced, in seconds
    #[arg(long, env = "TWOSTEP_HOLD_AFTER_AUTHENTICATOR_CHANGE_S",
          default_value_t = Settings::default().hold_after_authenticator_change_s,
          allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(0..))]
    pub hold_after_authenticator_change_s: i64,
    /// Password-step requests per IP per minute
    #[arg(long, env = "TWOSTEP_LOGIN_PER_IP_PER_MINUTE", default_value_t = Settings::default().login_per_ip_per_minute,
          allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(1..))]
    pub login_per_ip_per_minute: i64,
    /// Sign-ups per IP per hour
    #[arg(long, env = "TWOSTEP_ACCOUNTS_PER_IP_PER_HOUR", default_value_t = Settings::default().accounts_per_ip_per_hour,
          allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(1..))]
    pub accounts_per_ip_per_hour: i64,
    /// Captcha challenges per IP per minute
    #[arg(long, env = "TWOSTEP_CAPTCHA_PER_IP_PER_MINUTE", default_value_t = Settings::default().captcha_per_ip_per_minute,
          allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(1..))]
    pub captcha_per_ip_per_minute: i64,
    /// Code requests and checks per IP per minute
    #[arg(long, env = "TWOSTEP_CODES_PER_IP_PER_MINUTE", default_value_t = Settings::default().codes_per_ip_per_minute,
          allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(1..))]
    pub codes_per_ip_per_minute: i64,
    /// Which accounts must approve sign-ins from new devices by e-mail: off, withdrawals (accounts that asked for a withdrawal, and staff) or all (staff always do unless off)
    #[arg(long, env = "TWOSTEP_DEVICE_CONFIRMATION", value_enum, default_value_t = DeviceConfirmation::Withdrawals)]
    pub device_confirmation: DeviceConfirmation,
    /// Password hashes computed at once [default: number of cores]
    #[arg(long, env = "TWOSTEP_HASH_CONCURRENCY", allow_negative_numbers = true, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub hash_concurrency: Option<usize>,
    /// Older form of --trusted-proxies: the connecting peer, whatever its address, is one trusted proxy hop
    #[arg(long, env = "TWOSTEP_TRUST_FORWARDED_FOR", default_value_t = false, action = ArgAction::Set)]
    pub trust_forwarded_for: bool,
    /// Bearer token that /metrics asks for; without it /metrics is open to anyone who reaches the listener
    #[arg(long, env = "TWOSTEP_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<twostep_delivery::Secret>,
    /// Serve /metrics only on this address (e.g. 127.0.0.1:9100), not on --listen
    #[arg(long, env = "TWOSTEP_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Proxies whose X-Forwarded-For entries are believed: addresses and CIDR blocks, comma-separated [default: none]
    #[arg(long, env = "TWOSTEP_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,
    /// Password hashes that may wait for a hashing thread; past that, 503 with Retry-After [default: 32 per thread]
    #[arg(long, env = "TWOSTEP_HASH_QUEUE", allow_negative_numbers = true, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub hash_queue: Option<usize>,
    /// A request still running after this many seconds is answered 503
    #[arg(long, env = "TWOSTEP_REQUEST_TIMEOUT_S", default_value_t = twostep_web::DEFAULT_REQUEST_TIMEOUT.as_secs(),
          allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_s: u64,
    /// Benchmark only, never in production: each second step commits alone
    /// (`twostep bench --scenario costs` measures what group commit buys).
    #[arg(long, hide = true)]
    pub bench_only_without_group_commit: bool,
    /// Benchmark only, never in production: second steps write their audit
    /// entries without the hash chain, which `twostep audit verify` then reports
    /// as broken (`twostep bench --scenario costs` measures what the chain costs).
    #[arg(long, hide = true)]
    pub bench_only_without_audit_chain: bool,
    /// Sent codes: providers, templates, caps, retries.
    #[command(flatten)]
    pub messaging: crate::messaging::MessagingArgs,
    /// Lost-2FA recovery: code lifetime, hold, steps, review, retention.
    #[command(flatten)]
    pub recovery: crate::recovery_config::RecoveryArgs,
}

/// The ids of every setting, which are the config file's keys: the
/// arguments of the settings structs that have a `TWOSTEP_*` variable
/// (not `--config` itself, nor the hidden benchmark switches).
pub fn setting_ids() -> BTreeSet<String> {
    settings_command()
        .get_arguments()
        .filter(|a| a.get_env().is_some() && a.get_id() != crate::layers::CONFIG)
        .map(|a| a.get_id().to_string())
        .collect()
}

/// Every setting as one command, in declaration order.
pub fn settings_command() -> Command {
    ServeArgs::augment_args(GlobalArgs::augment_args(Command::new("settings")))
}

/// Where the data lives and how to reach the database.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub pool: twostep_store::PoolSettings,
    /// `--master-key-file`; None: `<data_dir>/master.key`.
    pub master_key_file: Option<PathBuf>,
}

impl StorageConfig {
    pub fn resolve(g: &GlobalArgs) -> Self {
        let database_url =
            g.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", g.data_dir.join("twostep.db").display()));
        let pool = twostep_store::PoolSettings {
            max_connections: g.db_max_connections,
            acquire_timeout: std::time::Duration::from_secs(g.db_acquire_timeout_s),
            statement_timeout: std::time::Duration::from_secs(g.db_statement_timeout_s),
            sqlite_synchronous: g.sqlite_synchronous.into(),
            ..Default::default()
        };
        Self { data_dir: g.data_dir.clone(), database_url, pool, master_key_file: g.master_key_file.clone() }
    }
}

/// The server's settings after layering.
#[derive(Debug)]
pub struct ServeConfig {
    pub listen: String,
    pub settings: Settings,
    pub hash_concurrency: usize,
    pub metrics_token: Option<twostep_delivery::Secret>,
    pub metrics_listen: Option<String>,
    pub hash_queue: usize,
    pub trusted_proxies: twostep_web::client_address::TrustedProxies,
    pub request_timeout: std::time::Duration,
    /// SMTP and SMS/voice providers; channels without one use the dev outbox.
    pub providers: twostep_delivery::Providers,
}

impl ServeConfig {
    /// Each value was checked against its own rule when it was parsed;
    /// what is left are the rules between settings.
    pub fn resolve(a: &ServeArgs) -> Result<Self> {
        let backup_key_length = BackupKeyLength::from_chars(a.backup_key_chars)
            .with_context(|| format!("{} must be 16 or 32", describe("backup_key_chars")))?;
        let mut settings = Settings {
            issuer: a.issuer.clone(),
            language: a.language,
            public_url: a.public_url.clone().unwrap_or_else(|| format!("http://{}", a.listen)),
            captcha_bits: a.captcha_bits,
            backup_key_length,
            session_ttl_s: a.session_ttl_s,
            login_ttl_s: a.login_ttl_s,
            code_ttl_s: a.code_ttl_s,
            signup_code_ttl_s: a.signup_code_ttl_s,
            sudo_ttl_s: a.sudo_ttl_s,
            hold_after_password_change_s: a.hold_after_password_change_s,
            hold_after_password_reset_s: a.hold_after_password_reset_s,
            hold_after_authenticator_change_s: a.hold_after_authenticator_change_s,
            login_per_ip_per_minute: a.login_per_ip_per_minute,
            accounts_per_ip_per_hour: a.accounts_per_ip_per_hour,
            captcha_per_ip_per_minute: a.captcha_per_ip_per_minute,
            codes_per_ip_per_minute: a.codes_per_ip_per_minute,
            device_confirmation: a.device_confirmation.into(),
            ..Settings::default()
        };
        let providers = crate::messaging::resolve(&a.messaging, &mut settings)?;
        crate::recovery_config::resolve(&a.recovery, &mut settings)?;
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let hash_concurrency = a.hash_concurrency.unwrap_or(cores);
        let hash_queue = a.hash_queue.unwrap_or(hash_concurrency * twostep_app::passwords::QUEUE_PER_THREAD);
        let trusted_proxies = twostep_web::client_address::TrustedProxies::parse(
            a.trusted_proxies.as_deref().unwrap_or(""),
            a.trust_forwarded_for,
        )
        .map_err(|e| anyhow::anyhow!("{}: {e}", describe("trusted_proxies")))?;
        Ok(Self {
            listen: a.listen.clone(),
            settings,
            hash_concurrency,
            hash_queue,
            trusted_proxies,
            request_timeout: std::time::Duration::from_secs(a.request_timeout_s),
            metrics_token: a.metrics_token.clone().filter(|t| !t.expose().is_empty()),
            metrics_listen: a.metrics_listen.clone(),
            providers,
        })
    }
}
