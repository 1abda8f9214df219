//! Boots a real twostep server for tests: a real TCP listener, a temporary
//! SQLite file or a fresh PostgreSQL database, the delivery workers with the
//! development outbox (or real providers: an SMTP sink and an HTTP stand-in
//! for SMS and voice, both in this crate; a Postfix instance and a private
//! CA for TLS) and a clock the test controls. Also
//! helpers that act as an outside client would: solving the captcha, reading
//! codes from the outbox, computing TOTP codes with the reference `oathtool`.

pub mod contract;
pub mod db;
pub mod postfix;
pub mod provider_stub;
pub mod recovery;
pub mod rp;
pub mod smtp_sink;
pub mod test_ca;

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use twostep_app::passwords::PasswordHasher;
use twostep_app::ports::{Clock, Delivery, Store};
use twostep_app::{App, FixedClock, Settings};
use twostep_delivery::Providers;
use twostep_store::SqlStore;
use twostep_web::AppState;

pub use db::{Backend, TestDatabase};

/// One TOTP step: how far a test moves the clock for a fresh code.
pub const TOTP_STEP_S: i64 = 30;

/// Settings for tests: generous per-IP limits (every test client is
/// 127.0.0.1) unless a test is about those limits, and a cheap captcha.
pub fn test_settings() -> Settings {
    Settings {
        captcha_bits: 8,
        login_per_ip_per_minute: 10_000,
        accounts_per_ip_per_hour: 10_000,
        captcha_per_ip_per_minute: 10_000,
        codes_per_ip_per_minute: 10_000,
        codes_sent_per_ip_per_hour: 10_000,
        password_failures_per_ip_per_hour: 10_000,
        recovery: twostep_app::recovery::RecoverySettings { opens_per_opener_per_day: 10_000, ..Default::default() },
        password_slowdown_ms: 20,
        costs: test_cost_limits(),
        // Above a refusal's own time in a debug build with cheap hashing.
        refusal_floor_ms: 15,
        // Retries fall due when a test moves the clock; a short poll notices.
        outbound: twostep_app::settings::OutboundPolicy { poll_interval_ms: 20, ..Default::default() },
        // Most tests sign in from a new client each time; the new-device
        // tests (`api_devices.rs`, `pages_devices_browser.rs`) turn it on.
        device_confirmation: twostep_domain::device::DeviceConfirmationPolicy::Off,
        ..Settings::default()
    }
}

/// The default caps per account, and per IP ones out of the way.
/// Test settings whose deliveries are given up after three attempts, one
/// second apart at first: small enough to watch a message fail.
pub fn settings_with_three_attempts() -> Settings {
    let mut settings = test_settings();
    settings.outbound.retry.max_attempts = 3;
    settings.outbound.retry.base_delay_s = 1;
    settings
}

pub fn test_cost_limits() -> twostep_app::limits::CostLimits {
    use twostep_app::limits::{CostLimits, HourlyCap};
    let d = CostLimits::default();
    let open = |cap: HourlyCap| HourlyCap { per_ip: 10_000, ..cap };
    CostLimits {
        security_questions: open(d.security_questions),
        totp_setups: open(d.totp_setups),
        phone_bindings: open(d.phone_bindings),
        password_changes: open(d.password_changes),
        uploads: open(d.uploads),
        ..d
    }
}

pub struct TestServer {
    pub url: String,
    pub app: App,
    pub clock: Arc<FixedClock>,
    pub store: SqlStore,
    pub db: TestDatabase,
    client: reqwest::Client,
    /// The password each session of `session()` was opened with, so that a
    /// helper can confirm it is the owner (sudo mode) as a person would.
    passwords: std::sync::Mutex<std::collections::HashMap<String, String>>,
    server: tokio::task::JoinHandle<()>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, test_settings()).await
    }

    pub async fn start_with(backend: Backend, settings: Settings) -> Self {
        let db = TestDatabase::create(backend).await;
        Self::start_on(db, settings).await
    }

    pub async fn start_on(db: TestDatabase, settings: Settings) -> Self {
        Self::start_full(db, settings, Providers::default()).await
    }

    /// A server whose messages go to real providers (channels left None in
    /// `providers` still go to the dev outbox, as in production).
    pub async fn start_with_providers(backend: Backend, settings: Settings, providers: Providers) -> Self {
        Self::start_full(TestDatabase::create(backend).await, settings, providers).await
    }

    pub async fn start_full(db: TestDatabase, settings: Settings, providers: Providers) -> Self {
        twostep_delivery::install_tls_provider();
        let sql = SqlStore::connect(&db.url, &Default::default()).await.expect("connect");
        sql.migrate().await.expect("migrate");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let clock = Arc::new(FixedClock::new(now));
        let store: Arc<dyn Store> = Arc::new(sql.clone());
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let delivery: Arc<dyn Delivery> =
            Arc::new(providers.build(store.clone(), dyn_clock.clone()).expect("providers"));
        // Cheap hashing keeps tests fast; production parameters are unit-tested.
        let hasher = PasswordHasher::with_params(4, argon2::Params::new(1024, 1, 1, None).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // A public URL may name the port the server is given (for passkeys,
        // whose origin must be exact): "http://localhost:{port}".
        let mut settings = settings;
        settings.public_url = settings.public_url.replace("{port}", &addr.port().to_string());
        let app = App::new(store, delivery, dyn_clock, Arc::new(db.keyring()), hasher, settings);
        let router = twostep_web::app(AppState::new(app.clone(), !providers.any()));
        let workers = app.spawn_delivery_workers();
        let server = tokio::spawn(async move {
            axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
        });
        let passwords = Default::default();
        Self {
            url: format!("http://{addr}"),
            app,
            clock,
            store: sql,
            db,
            client: http_client(),
            passwords,
            server,
            workers,
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Sends a request and returns the status and the JSON body (Null if none).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        self.call_with(&self.client, method, path, body, token).await
    }

    /// `call` from another client, e.g. one of [`client_from`].
    pub async fn call_with(
        &self,
        client: &reqwest::Client,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = client.request(method, format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value, token: Option<&str>) -> (StatusCode, Value) {
        self.call("POST", path, Some(body), token).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call("GET", path, None, token).await
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Waits (up to 10 s) until the delivery workers have nothing left to
    /// send now: every message due is sent, failed, or waiting for a retry.
    pub async fn settle(&self) {
        use twostep_app::ports::MessageQueueStore;
        for _ in 0..1000 {
            if self.store.pending_now(self.now()).await.expect("queue") == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the delivery queue did not settle");
    }

    /// The 6-digit code in the newest outbox message to `to`.
    pub async fn outbox_code(&self, to: &str) -> String {
        self.settle().await;
        let (status, body) = self.get(&format!("/api/v1/dev/outbox?to={}", to.replace('+', "%2B")), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let text = body["messages"][0]["body"].as_str().unwrap_or_else(|| panic!("no message to {to}: {body}"));
        extract_code(text).unwrap_or_else(|| panic!("no code in {text:?}"))
    }

    /// Fetches a challenge and solves it as a browser would.
    pub async fn solved_captcha(&self) -> Value {
        let (status, c) = self.get("/api/v1/captcha", None).await;
        assert_eq!(status, StatusCode::OK, "{c}");
        let nonce = solve_pow(c["salt"].as_str().unwrap(), c["difficulty_bits"].as_u64().unwrap() as u32);
        json!({"challenge_id": c["challenge_id"], "nonce": nonce})
    }

    /// Registers and confirms an account through the API; returns its id.
    pub async fn verified_account(&self, email: &str, password: &str) -> String {
        use twostep_app::ports::AccountStore;
        let (status, body) = self.post("/api/v1/accounts", json!({"email": email, "password": password}), None).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let code = self.outbox_code(email).await;
        let (status, v) = self.post("/api/v1/accounts/verify-email", json!({"email": email, "code": code}), None).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let email = twostep_domain::normalize_email(email).unwrap();
        self.store.account_by_email(&email).await.unwrap().expect("the confirmed account").id
    }

    pub async fn login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        let captcha = self.solved_captcha().await;
        self.post("/api/v1/login", json!({"email": email, "password": password, "captcha": captcha}), None).await
    }

    /// Signs up and confirms with the code read from the outbox table (the
    /// development outbox route is off once any provider is configured),
    /// signs in and confirms the password (sudo mode); returns the token.
    pub async fn sudo_session_via_outbox_table(&self, email: &str, password: &str) -> String {
        let (status, body) = self.post("/api/v1/accounts", json!({"email": email, "password": password}), None).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        self.settle().await;
        let stored = twostep_app::ports::OutboxStore::outbox_for(&self.store, Some(email), 1).await.unwrap();
        let code = extract_code(&stored[0].body).expect("a code in the sign-up e-mail");
        let (status, v) = self.post("/api/v1/accounts/verify-email", json!({"email": email, "code": code}), None).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let token = self.session(email, password).await;
        self.sudo_password(&token).await;
        token
    }

    /// Signs in an account without a second factor and returns the token.
    pub async fn session(&self, email: &str, password: &str) -> String {
        let (status, body) = self.login(email, password).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "authenticated", "{body}");
        let token = body["session_token"].as_str().unwrap().to_owned();
        self.passwords.lock().unwrap().insert(token.clone(), password.to_owned());
        token
    }

    /// Puts a session of an account without an authenticator or phone in
    /// sudo mode with the password it was opened with.
    pub async fn sudo_password(&self, token: &str) {
        let password = self.passwords.lock().unwrap().get(token).cloned().expect("a session opened by session()");
        let (status, v) =
            self.post("/api/v1/me/sudo", json!({"method": "password", "password": password}), Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }

    /// Puts a session in sudo mode with the authenticator `key`, at the next
    /// time step (the current one may have been used already).
    pub async fn sudo_totp(&self, token: &str, key: &str) {
        self.clock.advance(30);
        let code = oathtool(key, self.now());
        let (status, v) = self.post("/api/v1/me/sudo", json!({"method": "totp", "code": code}), Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }

    /// Puts a session in sudo mode with a step-up code sent by SMS to `phone`.
    pub async fn sudo_sms(&self, token: &str, phone: &str) {
        let (status, v) = self.post("/api/v1/me/code", json!({"channel": "sms"}), Some(token)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{v}");
        let code = self.outbox_code(phone).await;
        let (status, v) = self.post("/api/v1/me/sudo", json!({"method": "sms", "code": code}), Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }

    /// Enrols a first authenticator on an account with no other factor
    /// (confirming it is the owner with the password); returns the backup key.
    pub async fn enrol_totp(&self, token: &str) -> String {
        self.sudo_password(token).await;
        self.enrol_totp_in_sudo(token).await
    }

    /// Enrols an authenticator with a session already in sudo mode.
    pub async fn enrol_totp_in_sudo(&self, token: &str) -> String {
        let (status, setup) = self.post("/api/v1/me/totp", json!({}), Some(token)).await;
        assert_eq!(status, StatusCode::CREATED, "{setup}");
        let key = setup["backup_key"].as_str().unwrap().to_owned();
        let code = oathtool(&key, self.now());
        let body = json!({"setup_id": setup["setup_id"], "backup_key": key, "code": code});
        let (status, v) = self.post("/api/v1/me/totp/confirm", body, Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        key
    }

    /// Stops the delivery workers; the API keeps answering, and whatever is
    /// queued from now on stays queued.
    pub fn stop_delivery(&mut self) {
        for w in self.workers.drain(..) {
            w.abort();
        }
    }

    /// Stops the server and its workers and closes the store but keeps the
    /// database, for another process to use; dropping it is the caller's.
    pub async fn shut_down(self) -> TestDatabase {
        self.server.abort();
        for w in &self.workers {
            w.abort();
        }
        self.store.close().await;
        self.db
    }

    pub async fn stop(self) {
        self.server.abort();
        for w in &self.workers {
            w.abort();
        }
        self.store.close().await;
        self.db.drop_database().await;
    }
}

/// An HTTP client for tests. reqwest is built with rustls but no crypto
/// provider of its own (ring is installed at start-up, keeping aws-lc out),
/// so every process must install it before building a client.
pub fn http_client() -> reqwest::Client {
    twostep_delivery::install_tls_provider();
    reqwest::Client::new()
}

/// A client whose connections come from `ip`, another loopback address
/// (127.0.0.2, 127.0.0.3, …): a second person at another address, as the
/// server's per-IP rules see it.
pub fn client_from(ip: &str) -> reqwest::Client {
    twostep_delivery::install_tls_provider();
    reqwest::Client::builder().local_address(ip.parse::<std::net::IpAddr>().expect("an IP address")).build().unwrap()
}

/// The code of a message as its reader finds it: the first word of six
/// digits. Six digits inside a link's token (every e-mail ends with the
/// freeze link) are not a code. Written from the messages, apart from the
/// server's own `code_in_text`, like the other helpers here.
pub fn extract_code(text: &str) -> Option<String> {
    text.split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned)
}

/// A proof-of-work solver written from the API's description, independent of
/// the server's own.
pub fn solve_pow(salt: &str, bits: u32) -> String {
    use sha2::{Digest, Sha256};
    (0u64..)
        .find(|n| {
            let h = Sha256::digest(format!("{salt}{n}").as_bytes());
            let zeros: u32 = h
                .iter()
                .try_fold(0u32, |acc, b| if *b == 0 { Ok(acc + 8) } else { Err(acc + b.leading_zeros()) })
                .unwrap_or_else(|e| e);
            zeros >= bits
        })
        .unwrap()
        .to_string()
}

/// The TOTP code for `key` at `unix_s`, from the reference implementation
/// `oathtool` (installed by `.ci/run`), never from twostep's own code.
pub fn oathtool(key: &str, unix_s: i64) -> String {
    let out = std::process::Command::new("oathtool")
        .args(["--totp", "-b", "-d", "6", &format!("--now=@{unix_s}"), key])
        .output()
        .expect("oathtool must be installed (apt-get install oathtool)");
    assert!(out.status.success(), "oathtool failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}
