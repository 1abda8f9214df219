//! Storage: the `Store` ports of `twostep-app` implemented on SQL for both
//! SQLite (one machine) and PostgreSQL (many instances). The SQL is written
//! once in the dialect both share (numbered `$n` parameters, `ON CONFLICT`,
//! `RETURNING`, integer seconds) and runs through sqlx's `Any` driver, so the
//! two backends cannot drift; what truly differs (type names in migrations,
//! connection set-up, migration locking) is confined to `Backend`. Security
//! state is changed only by conditional writes, so that two instances racing
//! on one row cannot both win.

mod account_changes;
mod accounts;
mod auth;
mod backup;
mod centre;
mod checkpoint;
mod devices;
mod group_commit;
mod master_key;
mod oidc;
mod owner;
mod passkeys;
mod queue;
mod records;
mod recovery;
mod rotation;
pub mod schema;
mod signin;
mod sql;
mod staff;
pub(crate) mod throttle;
pub mod transfer;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor, Row};
use twostep_app::ports::StoreError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::other("database URL must start with sqlite: or postgres:"))
        }
    }
}

#[derive(Clone, Debug)]
pub struct PoolSettings {
    /// The pool's size on PostgreSQL; on SQLite the readers' (one writer
    /// besides them), capped at twice the cores.
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// PostgreSQL only: a statement running longer is cancelled.
    pub statement_timeout: Duration,
    /// SQLite only: when a commit reaches the disk.
    pub sqlite_synchronous: SqliteSynchronous,
    /// Switches for measuring what a mechanism costs; never for production.
    pub bench_only: BenchOnly,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
            sqlite_synchronous: SqliteSynchronous::default(),
            bench_only: BenchOnly::default(),
        }
    }
}

/// SQLite's `PRAGMA synchronous`, set on every connection (writer, readers,
/// checkpoints). In WAL mode `Full` fsyncs the log at every commit, so a
/// sign-in that was answered survives a power cut or a kernel crash: its used
/// TOTP step (no replay), its session and its audit entry. `Normal` fsyncs
/// only at checkpoints: it survives a crash of the process, but a crash of the
/// machine can roll back the last commits that were already answered. It
/// costs about 9% of the second steps per second (docs/benchmarks.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SqliteSynchronous {
    #[default]
    Full,
    Normal,
}

impl SqliteSynchronous {
    pub fn as_str(self) -> &'static str {
        match self {
            SqliteSynchronous::Full => "FULL",
            SqliteSynchronous::Normal => "NORMAL",
        }
    }
}

/// Benchmark-only switches, so that `twostep bench` can show what group
/// commit and the audit chain cost in one run. Both default to off (the
/// production behaviour); `twostep serve` takes them only as hidden flags and
/// warns at start. Without the audit chain the second step's audit entries
/// are written unchained, which `twostep audit verify` then reports as a
/// break: such a database is for measuring only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BenchOnly {
    /// Each second step commits its own transaction, from its own caller.
    pub without_group_commit: bool,
    /// Second steps write their audit entries without the hash chain.
    pub without_audit_chain: bool,
}

#[derive(Clone, Debug)]
pub struct SqlStore {
    /// Writes (and anything in a transaction). On SQLite a single connection:
    /// writers then queue in order inside the pool instead of colliding on
    /// the database lock and sleeping in SQLite's busy handler, which made
    /// the tail latency of sign-ins hundreds of milliseconds under load.
    pool: AnyPool,
    /// Reads on the hot paths; on SQLite several read-only connections that
    /// run beside the writer (WAL). On PostgreSQL the same pool as `pool`.
    reader: AnyPool,
    backend: Backend,
    /// Applies the writes of second sign-in steps in groups.
    signins: group_commit::SignInWriter,
    /// SQLite: the connection that checkpoints the log (`checkpoint`).
    checkpoints: Option<AnyPool>,
    /// Background tasks of this store stop when the last clone is dropped.
    _alive: Arc<()>,
}

pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    let unavailable = match &e {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => true,
        // Connection exceptions (08…) and operator intervention such as a
        // server restart (57…) mean the database is away, not that the
        // request was wrong.
        sqlx::Error::Database(d) => {
            d.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57") || c.starts_with("53") || c == "55000")
        }
        _ => false,
    };
    StoreError::caused_by(e, unavailable)
}

impl SqlStore {
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url).map_err(db_err)?;
        let statement_timeout_ms = settings.statement_timeout.as_millis();
        let synchronous = settings.sqlite_synchronous;
        let open = |max_connections: u32, read_only: bool| {
            AnyPoolOptions::new()
                .max_connections(max_connections)
                .min_connections(0)
                .acquire_timeout(settings.acquire_timeout)
                // A ping before every use costs a round trip to the
                // connection's thread (SQLite) or the server (PostgreSQL);
                // only a networked database needs it, to drop connections a
                // restart or a cut left dead.
                .test_before_acquire(backend == Backend::Postgres)
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        let setup = match backend {
                            // WAL lets readers run beside the writer; see
                            // `SqliteSynchronous` for what each setting keeps.
                            Backend::Sqlite => format!(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; \
                                 PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA query_only = {}; \
                                 PRAGMA wal_autocheckpoint = {};",
                                synchronous.as_str(),
                                i32::from(read_only),
                                checkpoint::BACKSTOP_PAGES
                            ),
                            Backend::Postgres => format!("SET statement_timeout = {statement_timeout_ms}"),
                        };
                        conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(setup))).await?;
                        Ok(())
                    })
                })
                .connect_with(options.clone())
        };
        let alive = Arc::new(());
        let (pool, reader, checkpoints) = match backend {
            Backend::Sqlite => {
                let pool = open(1, false).await.map_err(db_err)?;
                // A read on SQLite is CPU work on its connection's thread
                // (the pages sit in the OS cache); more threads than twice the
                // cores only add switching between them. Measured on 2 cores:
                // 4 readers sign in 10,300 people/s, 16 readers 8,000-9,600.
                let cores = std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(2);
                let readers = settings.max_connections.clamp(1, 2 * cores);
                let reader = open(readers, true).await.map_err(db_err)?;
                let checkpoints = open(1, false).await.map_err(db_err)?;
                checkpoint::start(checkpoints.clone(), Arc::downgrade(&alive));
                (pool, reader, Some(checkpoints))
            }
            Backend::Postgres => {
                let pool = open(settings.max_connections, false).await.map_err(db_err)?;
                (pool.clone(), pool, None)
            }
        };
        let signins = group_commit::SignInWriter::start(pool.clone(), settings.bench_only);
        Ok(Self { pool, reader, backend, signins, checkpoints, _alive: alive })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Second-step transactions committed by group commit and the sign-ins
    /// they carried, since this store was opened.
    pub fn sign_in_groups(&self) -> (u64, u64) {
        self.signins.groups()
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// How durable a commit is, as each connection reports it: on SQLite
    /// `PRAGMA synchronous` of the writer, of every reader (all held at once,
    /// so each is a connection of its own) and of the checkpoint connection;
    /// on PostgreSQL `synchronous_commit` of one connection (every connection
    /// gets the same set-up). Pairs of (connection, setting).
    pub async fn durability(&self) -> Result<Vec<(&'static str, String)>, StoreError> {
        if self.backend == Backend::Postgres {
            let row = sqlx::query("SHOW synchronous_commit").fetch_one(&self.pool).await.map_err(db_err)?;
            return Ok(vec![("connection", row.try_get::<String, _>(0).map_err(db_err)?)]);
        }
        async fn synchronous(conn: &mut sqlx::AnyConnection) -> Result<String, StoreError> {
            let row = sqlx::query("PRAGMA synchronous").fetch_one(conn).await.map_err(db_err)?;
            let level: i64 = row.try_get(0).map_err(db_err)?;
            Ok(["OFF", "NORMAL", "FULL", "EXTRA"].get(level as usize).copied().unwrap_or("unknown").to_owned())
        }
        let mut settings = Vec::new();
        let mut writer = self.pool.acquire().await.map_err(db_err)?;
        settings.push(("writer", synchronous(&mut writer).await?));
        drop(writer);
        let mut readers = Vec::new();
        for _ in 0..self.reader.options().get_max_connections() {
            readers.push(self.reader.acquire().await.map_err(db_err)?);
        }
        for reader in &mut readers {
            settings.push(("reader", synchronous(reader).await?));
        }
        drop(readers);
        if let Some(checkpoints) = &self.checkpoints {
            let mut conn = checkpoints.acquire().await.map_err(db_err)?;
            settings.push(("checkpoint", synchronous(&mut conn).await?));
        }
        Ok(settings)
    }

    /// Applies pending migrations; safe when several instances start at once.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        // The lock serialises instances migrating the same database.
        let (lock, unlock) = match self.backend {
            Backend::Sqlite => ("BEGIN IMMEDIATE", "COMMIT"),
            Backend::Postgres => ("SELECT pg_advisory_lock(727274)", "SELECT pg_advisory_unlock(727274)"),
        };
        conn.execute(lock).await.map_err(db_err)?;
        let result = self.migrate_locked(&mut conn).await;
        // On SQLite the lock is the transaction itself: a failed migration must
        // roll it back, not commit the statements that ran before the failure.
        let unlock = if result.is_err() && self.backend == Backend::Sqlite { "ROLLBACK" } else { unlock };
        let unlocked = conn.execute(unlock).await.map_err(db_err);
        let applied = result?;
        unlocked?;
        Ok(applied)
    }

    async fn migrate_locked(&self, conn: &mut sqlx::AnyConnection) -> Result<Vec<i64>, StoreError> {
        conn.execute(
            "CREATE TABLE IF NOT EXISTS twostep_migrations \
             (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL, checksum TEXT)",
        )
        .await
        .map_err(db_err)?;
        // A database migrated before checksums were recorded lacks the column.
        if conn.execute("SELECT checksum FROM twostep_migrations WHERE 1 = 0").await.is_err() {
            conn.execute("ALTER TABLE twostep_migrations ADD COLUMN checksum TEXT").await.map_err(db_err)?;
        }
        let rows: Vec<(i64, String, Option<String>)> =
            sqlx::query_as("SELECT version, name, checksum FROM twostep_migrations")
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
        for (version, name, recorded) in &rows {
            match schema::check_applied(*version, name, recorded.as_deref())? {
                schema::Applied::Matches => {}
                // Applied by a binary from before checksums: record this one's.
                schema::Applied::Unrecorded(checksum) => {
                    sqlx::query("UPDATE twostep_migrations SET checksum = $1 WHERE version = $2 AND checksum IS NULL")
                        .bind(checksum)
                        .bind(*version)
                        .execute(&mut *conn)
                        .await
                        .map_err(db_err)?;
                }
            }
        }
        let done: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let mut applied = Vec::new();
        for (version, name, sql_source) in schema::MIGRATIONS {
            if done.contains(version) {
                continue;
            }
            let sql = schema::render(sql_source, self.backend);
            // SQLite already runs inside BEGIN IMMEDIATE; PostgreSQL gets its own
            // transaction so a failed migration leaves nothing half-applied.
            if self.backend == Backend::Postgres {
                conn.execute("BEGIN").await.map_err(db_err)?;
            }
            let step = async {
                conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql))).await.map_err(db_err)?;
                if *version == schema::AUDIT_CHAIN_VERSION {
                    records::chain_existing_audit(&mut *conn).await?;
                }
                sqlx::query(
                    "INSERT INTO twostep_migrations (version, name, applied_at, checksum) VALUES ($1, $2, $3, $4)",
                )
                .bind(*version)
                .bind(*name)
                .bind(unix_now())
                .bind(schema::checksum(sql_source))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                Ok::<(), StoreError>(())
            }
            .await;
            if self.backend == Backend::Postgres {
                conn.execute(if step.is_ok() { "COMMIT" } else { "ROLLBACK" }).await.map_err(db_err)?;
            }
            step?;
            applied.push(*version);
        }
        Ok(applied)
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.reader.close().await;
        if let Some(checkpoints) = &self.checkpoints {
            checkpoints.close().await;
        }
    }
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
