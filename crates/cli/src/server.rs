//! Wiring: opens the store, builds the app and serves HTTP until a signal.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use twostep_app::passwords::PasswordHasher;
use twostep_app::ports::{Clock, Delivery, Store};
use twostep_app::{App, SystemClock};
use twostep_store::{Backend, SqlStore};
use twostep_web::AppState;

use crate::config::{FileConfig, ServeArgs, ServeConfig, StorageConfig};
use crate::keys;

pub async fn open_store(storage: &StorageConfig) -> Result<SqlStore> {
    if Backend::from_url(&storage.database_url)? == Backend::Sqlite {
        keys::ensure_data_dir(&storage.data_dir)?;
    }
    let store = SqlStore::connect(&storage.database_url, &storage.pool).await.context("opening the database")?;
    log_durability(&store).await?;
    Ok(store)
}

/// Says at start how durable a commit is, as the connections themselves
/// report it, and warns when an answered write could be lost to a crash of
/// the machine.
async fn log_durability(store: &SqlStore) -> Result<()> {
    let settings = store.durability().await.context("reading the database's durability settings")?;
    let mut values: Vec<&str> = settings.iter().map(|(_, v)| v.as_str()).collect();
    values.dedup();
    let summary = settings.iter().map(|(c, v)| format!("{c}={v}")).collect::<Vec<_>>().join(" ");
    match store.backend() {
        Backend::Sqlite if values == ["FULL"] => {
            tracing::info!("durability: SQLite synchronous=FULL on every connection ({summary})")
        }
        Backend::Sqlite => tracing::warn!(
            "durability: SQLite synchronous is not FULL ({summary}): a crash of the machine can lose sign-ins \
             that were already answered (see --sqlite-synchronous)"
        ),
        Backend::Postgres if values == ["off"] => tracing::warn!(
            "durability: PostgreSQL synchronous_commit=off: a crash of the database server can lose answered writes"
        ),
        Backend::Postgres => tracing::info!("durability: PostgreSQL synchronous_commit={}", values.join(",")),
    }
    Ok(())
}

pub async fn build_app(storage: &StorageConfig, args: &ServeArgs, file: &FileConfig) -> Result<(App, ServeConfig, SqlStore)> {
    let config = ServeConfig::resolve(args, file)?;
    let keyring = keys::load_keyring(&storage.data_dir)?;
    let mut storage = storage.clone();
    storage.pool.bench_only = twostep_store::BenchOnly {
        without_group_commit: args.bench_only_without_group_commit,
        without_audit_chain: args.bench_only_without_audit_chain,
    };
    if storage.pool.bench_only != twostep_store::BenchOnly::default() {
        tracing::warn!(
            "benchmark-only settings in force ({:?}): never run a production server like this",
            storage.pool.bench_only
        );
    }
    let sql = open_store(&storage).await?;
    sql.migrate().await.context("migrating the database")?;
    let store: Arc<dyn Store> = Arc::new(sql.clone());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    twostep_delivery::install_tls_provider();
    let router = config.providers.build(store.clone(), clock.clone()).map_err(anyhow::Error::msg)?;
    let delivery: Arc<dyn Delivery> = Arc::new(router);
    let app = App::new(
        store,
        delivery,
        clock,
        Arc::new(keyring),
        PasswordHasher::new(config.hash_concurrency),
        config.settings.clone(),
    );
    Ok((app, config, sql))
}

pub async fn serve(storage: &StorageConfig, args: &ServeArgs, file: &FileConfig) -> Result<()> {
    let (app, config, sql) = build_app(storage, args, file).await?;
    // The dev outbox route exists only while no provider at all is configured.
    let mut state = AppState::new(app.clone(), !config.providers.any());
    state.trust_forwarded_for = config.trust_forwarded_for;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let _delivery_workers = app.spawn_delivery_workers();
    tokio::spawn(housekeeping(app));
    let messages = if config.providers.any() { "providers, dev outbox for the rest" } else { "development outbox" };
    println!("twostep listening on http://{addr} (database: {:?}, messages: {messages})", sql.backend());
    let router = twostep_web::app(state);
    axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    sql.close().await;
    Ok(())
}

/// Deletes expired challenges, attempts, codes and counters now and then.
async fn housekeeping(app: App) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        // Keep a day of history for the throttles' windows.
        if let Err(e) = app.store.prune_throttle(app.now() - 86_400).await {
            tracing::warn!(error = %e, "housekeeping failed");
        }
        if let Err(e) = app.store.prune_messages(app.now() - 86_400).await {
            tracing::warn!(error = %e, "pruning delivered messages failed");
        }
        // Idle recovery cases expire; documents go a set time after the decision.
        if let Err(e) = app.recovery_housekeeping().await {
            tracing::warn!(error = %e, "recovery housekeeping failed");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("signal handler");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
}

pub async fn rotate_keys(storage: &StorageConfig) -> Result<()> {
    use twostep_app::ports::SecretKind;
    use twostep_app::rotation::{kind_name, reseal_all};
    let _ = keys::load_keyring(&storage.data_dir)?;
    let sql = open_store(storage).await?;
    sql.migrate().await?;
    let (rotation, keyring) = keys::Rotation::begin(&storage.data_dir)?;
    if rotation.resumed {
        println!("resuming the rotation to {} that stopped before it finished", rotation.new_key.id_hex());
    }
    // Every sealed value: authenticator secrets and setups, identity
    // documents, queued messages.
    let report = reseal_all(&sql, &keyring).await?;
    sql.close().await;
    let id = rotation.new_key.id_hex();
    rotation.finish()?;
    let kinds: Vec<String> = SecretKind::ALL.iter().map(|&k| format!("{} {}", report.of(k), kind_name(k))).collect();
    println!(
        "master key rotated to {id}; {} secrets re-encrypted ({}). Restart every instance with the new key file.",
        report.total(),
        kinds.join(", ")
    );
    if report.left_behind > 0 {
        eprintln!(
            "warning: {} values kept changing during the rotation and are still under an older key: \
             stop every instance and run `twostep keys rotate` again",
            report.left_behind
        );
    }
    Ok(())
}
