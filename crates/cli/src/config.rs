//! Layered configuration: built-in defaults, then the config file
//! (`--config twostep.toml`), then `TWOSTEP_*` variables, then flags. Every
//! setting is all three; clap resolves flag-over-environment and the file
//! fills what neither gave.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use serde::Deserialize;
use twostep_app::Settings;
use twostep_domain::BackupKeyLength;

/// Flags every command takes.
#[derive(Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// TOML file with settings (keys as the long flag names, with underscores).
    #[arg(long, global = true, env = "TWOSTEP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the SQLite database and the master key live [default: ./twostep-data]
    #[arg(long, global = true, env = "TWOSTEP_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST/DB [default: sqlite://<data-dir>/twostep.db]
    #[arg(long, global = true, env = "TWOSTEP_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Largest number of database connections per instance [default: 16]
    #[arg(long, global = true, env = "TWOSTEP_DB_MAX_CONNECTIONS")]
    pub db_max_connections: Option<u32>,
    /// Seconds to wait for a free database connection [default: 5]
    #[arg(long, global = true, env = "TWOSTEP_DB_ACQUIRE_TIMEOUT_S")]
    pub db_acquire_timeout_s: Option<u64>,
    /// PostgreSQL statement timeout in seconds [default: 10]
    #[arg(long, global = true, env = "TWOSTEP_DB_STATEMENT_TIMEOUT_S")]
    pub db_statement_timeout_s: Option<u64>,
    /// The master key file, e.g. a mounted secret; never created [default: <data-dir>/master.key]
    #[arg(long, global = true, env = "TWOSTEP_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// Log lines as text or as JSON objects, one a line [default: text]
    #[arg(long, global = true, env = "TWOSTEP_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// SQLite commit durability: full (the log is fsync'd at every commit, so an
    /// answered write survives a power cut) or normal (fsync'd at checkpoints only:
    /// a machine crash can lose the last answered writes; about 9% faster) [default: full]
    #[arg(long, global = true, env = "TWOSTEP_SQLITE_SYNCHRONOUS", value_enum)]
    pub sqlite_synchronous: Option<SqliteSynchronous>,
}

#[derive(clap::ValueEnum, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// `--sqlite-synchronous`, `sqlite_synchronous` in the config file.
#[derive(clap::ValueEnum, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
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

/// Settings of the running server.
#[derive(Args, Debug, Clone, Default)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "TWOSTEP_LISTEN")]
    pub listen: Option<String>,
    /// Proof-of-work difficulty in bits; 0 turns the captcha off (tests only) [default: 18]
    #[arg(long, env = "TWOSTEP_CAPTCHA_BITS")]
    pub captcha_bits: Option<u32>,
    /// Base URL used in links sent to users [default: http://<listen>]
    #[arg(long, env = "TWOSTEP_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Name shown in authenticator apps [default: twostep]
    #[arg(long, env = "TWOSTEP_ISSUER")]
    pub issuer: Option<String>,
    /// Backup key length in base32 characters: 32 (160 bits) or 16 (80 bits) [default: 32]
    #[arg(long, env = "TWOSTEP_BACKUP_KEY_CHARS")]
    pub backup_key_chars: Option<u32>,
    /// Session lifetime in seconds [default: 43200]
    #[arg(long, env = "TWOSTEP_SESSION_TTL_S")]
    pub session_ttl_s: Option<i64>,
    /// Lifetime of a login that passed the password step, in seconds [default: 600]
    #[arg(long, env = "TWOSTEP_LOGIN_TTL_S")]
    pub login_ttl_s: Option<i64>,
    /// Lifetime of a sent one-time code in seconds, at most 600 [default: 300]
    #[arg(long, env = "TWOSTEP_CODE_TTL_S")]
    pub code_ttl_s: Option<i64>,
    /// How long a proof of a factor keeps a session in sudo mode for sensitive changes, 60 to 3600 seconds [default: 600]
    #[arg(long, env = "TWOSTEP_SUDO_TTL_S")]
    pub sudo_ttl_s: Option<i64>,
    /// Withdrawal hold after a password change, in seconds [default: 86400]
    #[arg(long, env = "TWOSTEP_HOLD_AFTER_PASSWORD_CHANGE_S")]
    pub hold_after_password_change_s: Option<i64>,
    /// Withdrawal hold after the authenticator is removed or replaced, in seconds [default: 86400]
    #[arg(long, env = "TWOSTEP_HOLD_AFTER_AUTHENTICATOR_CHANGE_S")]
    pub hold_after_authenticator_change_s: Option<i64>,
    /// Password-step requests per IP per minute [default: 30]
    #[arg(long, env = "TWOSTEP_LOGIN_PER_IP_PER_MINUTE")]
    pub login_per_ip_per_minute: Option<i64>,
    /// Sign-ups per IP per hour [default: 20]
    #[arg(long, env = "TWOSTEP_ACCOUNTS_PER_IP_PER_HOUR")]
    pub accounts_per_ip_per_hour: Option<i64>,
    /// Captcha challenges per IP per minute [default: 60]
    #[arg(long, env = "TWOSTEP_CAPTCHA_PER_IP_PER_MINUTE")]
    pub captcha_per_ip_per_minute: Option<i64>,
    /// Code requests and checks per IP per minute [default: 30]
    #[arg(long, env = "TWOSTEP_CODES_PER_IP_PER_MINUTE")]
    pub codes_per_ip_per_minute: Option<i64>,
    /// Password hashes computed at once [default: number of cores]
    #[arg(long, env = "TWOSTEP_HASH_CONCURRENCY")]
    pub hash_concurrency: Option<usize>,
    /// Older form of --trusted-proxies: the connecting peer, whatever its address, is one trusted proxy hop [default: false]
    #[arg(long, env = "TWOSTEP_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: Option<bool>,
    /// Bearer token that /metrics asks for; without it /metrics is open to anyone who reaches the listener
    #[arg(long, env = "TWOSTEP_METRICS_TOKEN")]
    pub metrics_token: Option<twostep_delivery::Secret>,
    /// Serve /metrics only on this address (e.g. 127.0.0.1:9100), not on --listen
    #[arg(long, env = "TWOSTEP_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Proxies whose X-Forwarded-For entries are believed: addresses and CIDR blocks, comma-separated [default: none]
    #[arg(long, env = "TWOSTEP_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,
    /// Password hashes that may wait for a hashing thread; past that, 503 with Retry-After [default: 32 per thread]
    #[arg(long, env = "TWOSTEP_HASH_QUEUE")]
    pub hash_queue: Option<usize>,
    /// A request still running after this many seconds is answered 503 [default: 60]
    #[arg(long, env = "TWOSTEP_REQUEST_TIMEOUT_S")]
    pub request_timeout_s: Option<u64>,
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

/// The config file: the same keys as the flags, all optional.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub db_max_connections: Option<u32>,
    pub db_acquire_timeout_s: Option<u64>,
    pub db_statement_timeout_s: Option<u64>,
    pub master_key_file: Option<PathBuf>,
    pub sqlite_synchronous: Option<SqliteSynchronous>,
    pub listen: Option<String>,
    pub captcha_bits: Option<u32>,
    pub public_url: Option<String>,
    pub issuer: Option<String>,
    pub backup_key_chars: Option<u32>,
    pub session_ttl_s: Option<i64>,
    pub login_ttl_s: Option<i64>,
    pub code_ttl_s: Option<i64>,
    pub sudo_ttl_s: Option<i64>,
    pub hold_after_password_change_s: Option<i64>,
    pub hold_after_authenticator_change_s: Option<i64>,
    pub login_per_ip_per_minute: Option<i64>,
    pub accounts_per_ip_per_hour: Option<i64>,
    pub captcha_per_ip_per_minute: Option<i64>,
    pub codes_per_ip_per_minute: Option<i64>,
    pub hash_concurrency: Option<usize>,
    pub trust_forwarded_for: Option<bool>,
    pub metrics_token: Option<twostep_delivery::Secret>,
    pub metrics_listen: Option<String>,
    pub trusted_proxies: Option<String>,
    pub hash_queue: Option<usize>,
    pub request_timeout_s: Option<u64>,
    pub log_format: Option<LogFormat>,
    // Sent codes and their delivery (see messaging.rs for what each means).
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    pub smtp_tls: Option<String>,
    pub smtp_user: Option<String>,
    pub smtp_password: Option<twostep_delivery::Secret>,
    pub smtp_from: Option<String>,
    pub sms_provider: Option<String>,
    pub sms_url: Option<String>,
    pub sms_method: Option<String>,
    pub sms_auth_header: Option<twostep_delivery::Secret>,
    pub sms_body_template: Option<String>,
    pub sms_body_format: Option<String>,
    pub sms_twilio_account_sid: Option<String>,
    pub sms_twilio_auth_token: Option<twostep_delivery::Secret>,
    pub sms_twilio_api_base: Option<String>,
    pub sms_from: Option<String>,
    pub voice_provider: Option<String>,
    pub voice_url: Option<String>,
    pub voice_method: Option<String>,
    pub voice_auth_header: Option<twostep_delivery::Secret>,
    pub voice_body_template: Option<String>,
    pub voice_body_format: Option<String>,
    pub voice_twilio_account_sid: Option<String>,
    pub voice_twilio_auth_token: Option<twostep_delivery::Secret>,
    pub voice_twilio_api_base: Option<String>,
    pub voice_from: Option<String>,
    pub provider_timeout_s: Option<u64>,
    pub sms_template: Option<String>,
    pub voice_template: Option<String>,
    pub email_code_subject: Option<String>,
    pub email_code_template: Option<String>,
    pub codes_per_destination_per_hour: Option<i64>,
    pub codes_per_destination_per_day: Option<i64>,
    pub codes_per_account_per_hour: Option<i64>,
    pub codes_per_account_per_day: Option<i64>,
    pub codes_sent_per_ip_per_hour: Option<i64>,
    pub resend_after_s: Option<i64>,
    pub hold_after_contact_change_s: Option<i64>,
    pub delivery_max_attempts: Option<i64>,
    pub delivery_retry_base_s: Option<i64>,
    pub delivery_workers: Option<usize>,
    // Outbound TLS (see messaging.rs).
    pub outbound_ca_file: Option<PathBuf>,
    pub outbound_client_cert: Option<PathBuf>,
    pub outbound_client_key: Option<PathBuf>,
    pub smtp_ca_file: Option<PathBuf>,
    pub smtp_client_cert: Option<PathBuf>,
    pub smtp_client_key: Option<PathBuf>,
    pub sms_ca_file: Option<PathBuf>,
    pub sms_client_cert: Option<PathBuf>,
    pub sms_client_key: Option<PathBuf>,
    pub voice_ca_file: Option<PathBuf>,
    pub voice_client_cert: Option<PathBuf>,
    pub voice_client_key: Option<PathBuf>,
    // Lost-2FA recovery (see recovery_config.rs).
    pub recovery_code_ttl_s: Option<i64>,
    pub recovery_hold_s: Option<i64>,
    pub recovery_steps: Option<String>,
    pub recovery_identity_when_email_reset: Option<bool>,
    pub recovery_high_risk_score: Option<i64>,
    pub recovery_document_retention_days: Option<i64>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let Some(path) = path else { return Ok(Self::default()) };
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
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
    pub fn resolve(g: &GlobalArgs, file: &FileConfig) -> Self {
        let data_dir = g.data_dir.clone().or(file.data_dir.clone()).unwrap_or_else(|| PathBuf::from("./twostep-data"));
        let database_url = g
            .database_url
            .clone()
            .or(file.database_url.clone())
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("twostep.db").display()));
        let defaults = twostep_store::PoolSettings::default();
        let secs = std::time::Duration::from_secs;
        let pool = twostep_store::PoolSettings {
            max_connections: g.db_max_connections.or(file.db_max_connections).unwrap_or(defaults.max_connections),
            acquire_timeout: g.db_acquire_timeout_s.or(file.db_acquire_timeout_s).map(secs).unwrap_or(defaults.acquire_timeout),
            statement_timeout: g
                .db_statement_timeout_s
                .or(file.db_statement_timeout_s)
                .map(secs)
                .unwrap_or(defaults.statement_timeout),
            sqlite_synchronous: g
                .sqlite_synchronous
                .or(file.sqlite_synchronous)
                .map_or(defaults.sqlite_synchronous, Into::into),
            bench_only: defaults.bench_only,
        };
        let master_key_file = g.master_key_file.clone().or(file.master_key_file.clone());
        Self { data_dir, database_url, pool, master_key_file }
    }
}

/// The server's settings after layering.
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
    pub fn resolve(a: &ServeArgs, f: &FileConfig) -> Result<Self> {
        let d = Settings::default();
        let listen = a.listen.clone().or(f.listen.clone()).unwrap_or_else(|| "127.0.0.1:8080".into());
        let chars = a.backup_key_chars.or(f.backup_key_chars).unwrap_or(32);
        let backup_key_length =
            BackupKeyLength::from_chars(chars).context("backup_key_chars must be 16 or 32")?;
        let code_ttl_s = a.code_ttl_s.or(f.code_ttl_s).unwrap_or(d.code_ttl_s);
        anyhow::ensure!((60..=600).contains(&code_ttl_s), "code_ttl_s must be between 60 and 600 seconds");
        let sudo_ttl_s = a.sudo_ttl_s.or(f.sudo_ttl_s).unwrap_or(d.sudo_ttl_s);
        anyhow::ensure!((60..=3600).contains(&sudo_ttl_s), "sudo_ttl_s must be between 60 and 3600 seconds");
        let captcha_bits = a.captcha_bits.or(f.captcha_bits).unwrap_or(d.captcha_bits);
        anyhow::ensure!(captcha_bits <= 32, "captcha_bits must be at most 32");
        let mut settings = Settings {
            issuer: a.issuer.clone().or(f.issuer.clone()).unwrap_or(d.issuer),
            public_url: a.public_url.clone().or(f.public_url.clone()).unwrap_or_else(|| format!("http://{listen}")),
            captcha_bits,
            backup_key_length,
            session_ttl_s: a.session_ttl_s.or(f.session_ttl_s).unwrap_or(d.session_ttl_s),
            login_ttl_s: a.login_ttl_s.or(f.login_ttl_s).unwrap_or(d.login_ttl_s),
            code_ttl_s,
            sudo_ttl_s,
            hold_after_password_change_s: a
                .hold_after_password_change_s
                .or(f.hold_after_password_change_s)
                .unwrap_or(d.hold_after_password_change_s),
            hold_after_authenticator_change_s: a
                .hold_after_authenticator_change_s
                .or(f.hold_after_authenticator_change_s)
                .unwrap_or(d.hold_after_authenticator_change_s),
            login_per_ip_per_minute: a.login_per_ip_per_minute.or(f.login_per_ip_per_minute).unwrap_or(d.login_per_ip_per_minute),
            accounts_per_ip_per_hour: a.accounts_per_ip_per_hour.or(f.accounts_per_ip_per_hour).unwrap_or(d.accounts_per_ip_per_hour),
            captcha_per_ip_per_minute: a
                .captcha_per_ip_per_minute
                .or(f.captcha_per_ip_per_minute)
                .unwrap_or(d.captcha_per_ip_per_minute),
            codes_per_ip_per_minute: a.codes_per_ip_per_minute.or(f.codes_per_ip_per_minute).unwrap_or(d.codes_per_ip_per_minute),
            ..d
        };
        let providers = crate::messaging::resolve(&a.messaging, f, &mut settings)?;
        crate::recovery_config::resolve(&a.recovery, f, &mut settings)?;
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let hash_concurrency = a.hash_concurrency.or(f.hash_concurrency).unwrap_or(cores).max(1);
        let hash_queue = a.hash_queue.or(f.hash_queue).unwrap_or(hash_concurrency * twostep_app::passwords::QUEUE_PER_THREAD);
        anyhow::ensure!(hash_queue >= 1, "hash_queue must be at least 1");
        let trusted_proxies = twostep_web::client_address::TrustedProxies::parse(
            a.trusted_proxies.as_deref().or(f.trusted_proxies.as_deref()).unwrap_or(""),
            a.trust_forwarded_for.or(f.trust_forwarded_for).unwrap_or(false),
        )
        .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))?;
        let timeout_s = a.request_timeout_s.or(f.request_timeout_s).unwrap_or(twostep_web::DEFAULT_REQUEST_TIMEOUT.as_secs());
        anyhow::ensure!(timeout_s >= 1, "request_timeout_s must be at least 1");
        Ok(Self {
            listen,
            settings,
            hash_concurrency,
            hash_queue,
            trusted_proxies,
            request_timeout: std::time::Duration::from_secs(timeout_s),
            metrics_token: a.metrics_token.clone().or(f.metrics_token.clone()).filter(|t| !t.expose().is_empty()),
            metrics_listen: a.metrics_listen.clone().or(f.metrics_listen.clone()),
            providers,
        })
    }
}
