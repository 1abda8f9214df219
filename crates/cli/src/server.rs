//! Wiring: opens the store, builds the app and serves HTTP until a signal.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use twostep_app::passwords::PasswordHasher;
use twostep_app::ports::{Clock, Delivery, Store};
use twostep_app::{App, SystemClock};
use twostep_store::{Backend, SqlStore};
use twostep_web::AppState;

use crate::config::{ServeArgs, ServeConfig, StorageConfig};
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

pub async fn build_app(storage: &StorageConfig, args: &ServeArgs) -> Result<(App, ServeConfig, SqlStore)> {
    let config = ServeConfig::resolve(args)?;
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
    let keyring = keys::load_checked(&storage.data_dir, storage.master_key_file.as_deref(), &sql, false).await?;
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
        PasswordHasher::with_queue(config.hash_concurrency, config.hash_queue, PasswordHasher::owasp_params()),
        config.settings.clone(),
    );
    Ok((app, config, sql))
}

pub async fn serve(storage: &StorageConfig, args: &ServeArgs) -> Result<()> {
    let (app, config, sql) = build_app(storage, args).await?;
    // The dev outbox route exists only while no provider at all is configured.
    let mut state = AppState::new(app.clone(), !config.providers.any());
    state.trusted_proxies = Arc::new(config.trusted_proxies.clone());
    state.request_timeout = config.request_timeout;
    state.metrics_access = twostep_web::MetricsAccess {
        token: config.metrics_token.as_ref().map(|t| t.expose().into()),
        separate_listener: config.metrics_listen.is_some(),
    };
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr()?;
    warn_about_exposure(&config, addr);
    let _delivery_workers = app.spawn_delivery_workers();
    crate::delivery_check::log_at_start(config.providers.clone());
    tokio::spawn(housekeeping(app));
    let messages = if config.providers.any() { "providers, dev outbox for the rest" } else { "development outbox" };
    // Bound before the banner, which names both addresses on its one line.
    let mut metrics_note = String::new();
    if let Some(metrics_addr) = &config.metrics_listen {
        let metrics_listener = tokio::net::TcpListener::bind(metrics_addr)
            .await
            .with_context(|| format!("listening for metrics on {metrics_addr}"))?;
        metrics_note = format!(", metrics on http://{}/metrics", metrics_listener.local_addr()?);
        let metrics_router = twostep_web::metrics_app(state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(metrics_listener, metrics_router).await {
                tracing::warn!(error = %e, "the metrics listener stopped");
            }
        });
    }
    let mut banner = format!(
        "twostep listening on http://{addr} (database: {:?}, messages: {messages}{metrics_note})",
        sql.backend()
    );
    for line in start_banner(addr, state.outbox_enabled) {
        banner.push('\n');
        banner.push_str(&line);
    }
    banner.push('\n');
    // Ending in its newline, the banner leaves in one write; and a reader
    // that has gone (closed the pipe) never stops the server.
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
    }
    let router = twostep_web::app(state);
    axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    sql.close().await;
    Ok(())
}

/// What a person needs to start: where the pages are and, while messages
/// go to the development outbox, where to read the codes.
fn start_banner(addr: std::net::SocketAddr, outbox: bool) -> Vec<String> {
    let base = format!("http://{addr}");
    let mut lines = vec![format!("pages:  {base}/")];
    if outbox {
        lines.push(format!("outbox: {base}/dev/outbox (page), {base}/api/v1/dev/outbox?to=ADDRESS (JSON)"));
    }
    lines
}

/// Settings meant for a developer's machine, running where others can reach them.
fn warn_about_exposure(config: &ServeConfig, addr: std::net::SocketAddr) {
    if !config.providers.any() && !addr.ip().is_loopback() {
        tracing::warn!(
            listen = %addr,
            "the development outbox is reachable from other machines at /api/v1/dev/outbox: anyone who can reach \
             this address reads every code sent. Configure SMTP and SMS/voice providers, or listen on 127.0.0.1"
        );
    }
    if config.settings.captcha_bits == 0 {
        tracing::warn!("the captcha is off (--captcha-bits 0): password guessing is limited by the rate limits only");
    }
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
        // Enrolments are secrets: they go as soon as they expire.
        if let Err(e) = app.store.delete_expired_totp_setups(None, app.now()).await {
            tracing::warn!(error = %e, "deleting expired enrolments failed");
        }
        if let Err(e) = app.store.prune_messages(app.now() - 86_400).await {
            tracing::warn!(error = %e, "pruning delivered messages failed");
        }
        // Applications: expired requests, codes and tokens; grants told of
        // their end a month ago.
        if let Err(e) = app.store.prune_oidc(app.now(), app.now() - 30 * 86_400).await {
            tracing::warn!(error = %e, "pruning OpenID Connect rows failed");
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

/// `twostep backup --out FILE`: a consistent copy of a live SQLite database.
pub async fn backup(storage: &StorageConfig, out: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if Backend::from_url(&storage.database_url)? != Backend::Sqlite {
        anyhow::bail!(
            "twostep backup copies SQLite databases; back up PostgreSQL with pg_dump (see docs/deployment.md)"
        );
    }
    let sql = open_store(storage).await?;
    // The copy holds password hashes and sealed secrets: readable by the owner only.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .with_context(|| format!("creating {} (it must not exist yet)", out.display()))?;
    let copied = sql.backup_to(out).await;
    sql.close().await;
    if let Err(e) = copied {
        let _ = std::fs::remove_file(out);
        return Err(e).context("copying the database");
    }
    let size = std::fs::metadata(out)?.len();
    println!(
        "backup written to {} ({size} bytes). It holds no master key: keep a copy of master.key (and retired-keys/) \
         apart from it, or the secrets in it cannot be opened",
        out.display()
    );
    Ok(())
}

pub async fn rotate_keys(storage: &StorageConfig) -> Result<()> {
    use twostep_app::ports::SecretKind;
    use twostep_app::rotation::{kind_name, reseal_all};
    if let Some(file) = &storage.master_key_file {
        anyhow::bail!(
            "keys rotate works on the key in the data directory, not on --master-key-file {}: copy the key to \
             {}/master.key, rotate, then mount the new master.key in its place",
            file.display(),
            storage.data_dir.display()
        );
    }
    let sql = open_store(storage).await?;
    sql.migrate().await?;
    keys::load_checked(&storage.data_dir, None, &sql, true).await?;
    let (rotation, keyring) = keys::Rotation::begin(&storage.data_dir)?;
    if rotation.resumed {
        println!("resuming the rotation to {} that stopped before it finished", rotation.new_key.id_hex());
    }
    // Every sealed value: authenticator secrets and setups, identity
    // documents, queued messages.
    let report = reseal_all(&sql, &keyring).await?;
    // The database names the new key before the key file changes: a crash
    // between the two leaves instances refusing to start until the rotation
    // is run again, never running on two keys.
    let id = rotation.new_key.id_hex();
    if !sql.replace_master_key_check(&rotation.old_id, &id).await?
        && sql.master_key_check().await?.as_deref() != Some(&id)
    {
        anyhow::bail!("the database's master key check changed during the rotation; is another rotation running?");
    }
    // A new signing key too, sealed under the new master key; the others
    // stay published until their tokens have expired.
    let signing = twostep_app::oidc::tokens::make_signing_key(&keyring, twostep_app::SystemClock.now())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    twostep_app::oidc::port::OidcStore::add_signing_key(&sql, &signing, false).await?;
    sql.close().await;
    rotation.finish()?;
    let kinds: Vec<String> = SecretKind::ALL.iter().map(|&k| format!("{} {}", report.of(k), kind_name(k))).collect();
    println!(
        "master key rotated to {id}; {} secrets re-encrypted ({}). ID tokens are now signed with key {}. Restart \
         every instance with the new key file.",
        report.total(),
        kinds.join(", "),
        signing.kid
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
