//! Headless Chromium for tests: starts Debian's chromedriver on a free local
//! port with a fresh profile, drives it with fantoccini over plain HTTP, and
//! writes screenshots at desktop and phone width.
//!
//! Every screenshot is also an accessibility check: axe-core (from the npm
//! registry, pinned to [`AXE_VERSION`], installed under `target/axe` on
//! first use) runs in the page at both widths, and any violation of impact
//! serious or critical fails the test with its rule and elements.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

pub const AXE_VERSION: &str = "4.10.3";
pub const DESKTOP: (u32, u32) = (1280, 900);
pub const PHONE: (u32, u32) = (360, 780);
const PATIENCE: Duration = Duration::from_secs(20);

pub struct Browser {
    pub client: Client,
    pub base: String,
    pub shots: PathBuf,
    driver: Child,
    /// chromedriver's address, for the commands fantoccini does not have
    /// (the WebAuthn virtual authenticators).
    webdriver: String,
    profile: PathBuf,
    axe: std::sync::OnceLock<String>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn chromium_binary() -> &'static str {
    // Debian's /usr/bin/chromium is a wrapper script; the real binary is here.
    ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("chromium must be installed (apt-get install chromium chromium-driver; scripts/test.sh does it)")
}

/// `target/screenshots` of this workspace (or of CARGO_TARGET_DIR).
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir.canonicalize().unwrap()
}

/// axe.min.js, installed with npm into `target/axe` when missing. Test
/// processes run at once: each installs into a directory of its own and
/// renames it into place, so a half-installed copy is never read.
pub fn axe_source() -> String {
    let target = screenshot_dir().parent().unwrap().to_owned();
    let dir = target.join("axe");
    let script = |dir: &Path| dir.join("node_modules/axe-core/axe.min.js");
    let version_ok = |dir: &Path| {
        std::fs::read_to_string(dir.join("node_modules/axe-core/package.json"))
            .is_ok_and(|p| p.contains(&format!("\"version\": \"{AXE_VERSION}\"")))
    };
    if !version_ok(&dir) {
        let fresh = target.join(format!("axe-{}", twostep_app::crypto::new_id()));
        let status = Command::new("npm")
            .args(["install", "--no-save", "--no-audit", "--no-fund", "--no-package-lock", "--silent", "--prefix"])
            .arg(&fresh)
            .arg(format!("axe-core@{AXE_VERSION}"))
            .status()
            .expect("npm must be installed (apt-get install npm; scripts/test.sh does it)");
        assert!(status.success(), "npm install axe-core@{AXE_VERSION} failed");
        if !version_ok(&dir) {
            let _ = std::fs::remove_dir_all(&dir);
            if std::fs::rename(&fresh, &dir).is_err() {
                assert!(version_ok(&dir), "axe-core could not be put in {}", dir.display());
            }
        }
        let _ = std::fs::remove_dir_all(&fresh);
    }
    std::fs::read_to_string(script(&dir)).unwrap()
}
impl Browser {
    pub async fn start(base: &str) -> Browser {
        Browser::start_full(base, "en-GB,en", &[]).await
    }

    /// A browser whose `Accept-Language` is `languages` (e.g. "fr-FR,fr").
    pub async fn start_in(base: &str, languages: &str) -> Browser {
        Browser::start_full(base, languages, &[]).await
    }

    /// A browser whose chromedriver (and so Chromium) runs with `envs`, e.g.
    /// `TZ=Asia/Tokyo` for a reader in another time zone.
    pub async fn start_with_env(base: &str, envs: &[(&str, &str)]) -> Browser {
        Browser::start_full(base, "en-GB,en", envs).await
    }

    async fn start_full(base: &str, languages: &str, envs: &[(&str, &str)]) -> Browser {
        let binary = chromium_binary();
        let port = free_port();
        let driver = Command::new("chromedriver")
            .envs(envs.iter().copied())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver must be installed (apt-get install chromium-driver)");
        let webdriver = format!("http://127.0.0.1:{port}");
        let http = twostep_testkit::http_client();
        let started = Instant::now();
        while http.get(format!("{webdriver}/status")).send().await.is_err() {
            assert!(started.elapsed() < PATIENCE, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = std::env::temp_dir().join(format!("twostep-chromium-{}", twostep_app::crypto::new_id()));
        let args = vec![
            "--headless".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-default-apps".into(),
            "--disable-extensions".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--no-default-browser-check".into(),
            "--hide-scrollbars".into(),
            format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
            format!("--user-data-dir={}", profile.display()),
            format!("--lang={}", languages.split(',').next().unwrap_or("en")),
        ];
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": binary,
                "args": args,
                "prefs": { "intl": { "accept_languages": languages } },
            },
        });
        let Value::Object(caps) = caps else { unreachable!() };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&webdriver)
            .await
            .expect("a Chromium session");
        let b = Browser {
            client,
            base: base.to_owned(),
            shots: screenshot_dir(),
            driver,
            webdriver: webdriver.clone(),
            profile,
            axe: std::sync::OnceLock::new(),
        };
        b.resize(DESKTOP).await;
        b
    }

    /// A WebDriver command of this session that fantoccini does not have.
    async fn session_command(&self, method: reqwest::Method, tail: &str, body: Option<Value>) -> Value {
        let id = self.client.session_id().await.unwrap().expect("a session");
        let url = format!("{}/session/{id}/{tail}", self.webdriver);
        let mut req = twostep_testkit::http_client().request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let answer: Value = req.send().await.unwrap().json().await.unwrap();
        assert!(answer["value"].get("error").is_none(), "{tail}: {answer}");
        answer["value"].clone()
    }

    /// A virtual platform authenticator (CTAP2, resident keys, user
    /// verification that always succeeds); returns its id.
    pub async fn add_virtual_authenticator(&self) -> String {
        let options = json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
            "automaticPresenceSimulation": true,
        });
        let v = self.session_command(reqwest::Method::POST, "webauthn/authenticator", Some(options)).await;
        v.as_str().expect("an authenticator id").to_owned()
    }

    /// The credentials the virtual authenticator holds (with their private
    /// keys and signature counts).
    pub async fn virtual_credentials(&self, authenticator: &str) -> Vec<Value> {
        let tail = format!("webauthn/authenticator/{authenticator}/credentials");
        self.session_command(reqwest::Method::GET, &tail, None).await.as_array().cloned().unwrap_or_default()
    }

    /// Takes `credential` out of the authenticator (the person has the
    /// device in another pocket); [`Browser::put_credential`] puts it back.
    pub async fn take_credential(&self, authenticator: &str, credential: &Value) {
        let id = credential["credentialId"].as_str().unwrap();
        let tail = format!("webauthn/authenticator/{authenticator}/credentials/{id}");
        self.session_command(reqwest::Method::DELETE, &tail, None).await;
    }

    pub async fn put_credential(&self, authenticator: &str, credential: &Value) {
        let tail = format!("webauthn/authenticator/{authenticator}/credential");
        self.session_command(reqwest::Method::POST, &tail, Some(credential.clone())).await;
    }

    /// Puts `credential` back into the authenticator with another signature
    /// count: what a copy of the key made earlier would answer with.
    pub async fn set_sign_count(&self, authenticator: &str, credential: &Value, sign_count: u64) {
        self.take_credential(authenticator, credential).await;
        let mut again = credential.clone();
        again["signCount"] = sign_count.into();
        self.put_credential(authenticator, &again).await;
    }

    /// `navigator.credentials.create()` or `.get()` (`kind`) with the
    /// server's options (JSON), in the page; the credential as JSON.
    pub async fn webauthn(&self, kind: &str, options: &Value) -> Value {
        let script = r#"
            const [kind, options, done] = arguments;
            (async () => {
                const cred = kind === 'create'
                    ? await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) })
                    : await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
                return cred.toJSON();
            })().then(done, e => done({ error: String(e) }));
        "#;
        let v = self.client.execute_async(script, vec![json!(kind), options.clone()]).await.unwrap();
        assert!(v.get("error").is_none(), "navigator.credentials.{kind}: {v}");
        v
    }

    /// Password and authenticator on the sign-in pages; the caller waits for
    /// where that leads.
    pub async fn sign_in_with_totp(&self, s: &twostep_testkit::TestServer, owner: &twostep_testkit::recovery::Owner) {
        self.goto("/login").await;
        self.fill("#f-email", &owner.email).await;
        self.fill("#f-password", twostep_testkit::recovery::PW).await;
        self.click("#login-submit").await;
        self.wait_path("/login/second-step").await;
        s.clock.advance(30);
        self.fill("#f-code", &twostep_testkit::oathtool(&owner.backup_key, s.now())).await;
        self.click("button.primary").await;
    }

    pub async fn goto(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.unwrap();
    }

    /// Opens an address on any site (an application's link to twostep).
    pub async fn goto_url(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// The whole address of the page.
    pub async fn url(&self) -> String {
        self.client.current_url().await.unwrap().to_string()
    }

    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        match self.client.wait().at_most(PATIENCE).for_element(Locator::Css(css)).await {
            Ok(el) => el,
            Err(e) => {
                let body = self.client.source().await.unwrap_or_default();
                let at = self.path().await;
                panic!("no {css} on {at}: {e}\n{}", &body[..body.len().min(4000)]);
            }
        }
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        url.path().to_owned()
    }

    /// Waits until the page's path is exactly `path` (any query).
    pub async fn wait_path(&self, path: &str) {
        let started = Instant::now();
        loop {
            let now = self.path().await;
            if now == path && self.ready().await {
                return;
            }
            if started.elapsed() > PATIENCE {
                let body = self.client.source().await.unwrap_or_default();
                panic!("expected {path}, still on {now}:\n{}", &body[..body.len().min(3000)]);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn ready(&self) -> bool {
        self.client.execute("return document.readyState", vec![]).await.is_ok_and(|v| v == "complete")
    }

    pub async fn wait_attr(&self, css: &str, attr: &str) {
        let started = Instant::now();
        let el = self.wait_for(css).await;
        while el.attr(attr).await.unwrap().is_none() {
            assert!(started.elapsed() < PATIENCE, "{css} never got {attr}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let el = self.wait_for(css).await;
        el.clear().await.unwrap();
        el.send_keys(text).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.wait_for(css).await.click().await.unwrap();
    }

    /// Clicks what submits a form or follows a link and waits until the next
    /// page has loaded — not merely until the path matches, since many forms
    /// answer on the path they were posted from.
    pub async fn click_and_load(&self, css: &str) {
        self.client.execute("window.__leaving = true", vec![]).await.unwrap();
        self.click(css).await;
        let started = Instant::now();
        loop {
            let gone = self.client.execute("return window.__leaving === undefined", vec![]).await;
            if gone.is_ok_and(|v| v == true) && self.ready().await {
                return;
            }
            assert!(started.elapsed() < PATIENCE, "clicking {css} loaded no new page");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The text of `css`, found again if it went stale (`read_fresh`).
    pub async fn text(&self, css: &str) -> String {
        self.read_fresh(css, async |el| el.text().await).await
    }

    /// The attribute `attr` of `css`, found again if it went stale.
    pub async fn attr(&self, css: &str, attr: &str) -> Option<String> {
        self.read_fresh(css, async |el| el.attr(attr).await).await
    }

    /// Reads `css` with `read`. An element found just as its page was
    /// replaced (a script's navigation, a late redirect) is stale: it is
    /// found again until it reads or `PATIENCE` runs out.
    async fn read_fresh<T>(
        &self,
        css: &str,
        read: impl AsyncFn(fantoccini::elements::Element) -> Result<T, fantoccini::error::CmdError>,
    ) -> T {
        let started = Instant::now();
        loop {
            match read(self.wait_for(css).await).await {
                Ok(value) => return value,
                Err(e) if started.elapsed() < PATIENCE => assert_stale(css, &e),
                Err(e) => panic!("{css}: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn exists(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    pub async fn enabled(&self, css: &str) -> bool {
        self.wait_for(css).await.is_enabled().await.unwrap()
    }

    /// Sets the viewport (not the window) to `size`.
    pub async fn resize(&self, (width, height): (u32, u32)) {
        self.client.set_window_size(width, height).await.unwrap();
        let inner = self.client.execute("return [window.innerWidth, window.innerHeight]", vec![]).await.unwrap();
        let (w, h) = (inner[0].as_i64().unwrap(), inner[1].as_i64().unwrap());
        let (dw, dh) = (width as i64 - w, height as i64 - h);
        if dw != 0 || dh != 0 {
            self.client.set_window_size((width as i64 + dw) as u32, (height as i64 + dh) as u32).await.unwrap();
        }
    }

    /// Runs axe-core in the page and fails on any violation of impact
    /// serious or critical, naming each rule and the elements it found.
    pub async fn check_accessibility(&self, name: &str) {
        let found = self.accessibility_violations().await;
        let at = self.path().await;
        assert!(found.is_empty(), "{name} ({at}) has accessibility violations:\n{}", found.join("\n"));
    }

    /// axe-core's violations of impact serious or critical in the page, as
    /// "impact rule (help): elements".
    pub async fn accessibility_violations(&self) -> Vec<String> {
        let source = self.axe.get_or_init(axe_source);
        let loaded = self.client.execute("return typeof window.axe === 'object'", vec![]).await.unwrap();
        if loaded != true {
            self.client.execute(&format!("{source}\nreturn true;"), vec![]).await.unwrap();
        }
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then(r => done(r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.impact + ' ' + v.id + ' (' + v.help + '): '
                       + v.nodes.map(n => n.target.join(' ')).join(', '))))
                   .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .unwrap();
        serde_json::from_value(found).unwrap()
    }

    /// `<name>-desktop.png` and `<name>-phone.png`; at phone width the page
    /// must not scroll sideways. At both widths axe-core finds no serious or
    /// critical violation.
    pub async fn shoot(&self, name: &str) {
        for (label, size) in [("desktop", DESKTOP), ("phone", PHONE)] {
            self.resize(size).await;
            self.check_accessibility(&format!("{name} at {label} width")).await;
            let png = self.client.screenshot().await.unwrap();
            std::fs::write(self.shots.join(format!("{name}-{label}.png")), png).unwrap();
            let overflow = self
                .client
                .execute("return document.documentElement.scrollWidth - window.innerWidth", vec![])
                .await
                .unwrap();
            assert!(overflow.as_i64().unwrap_or(0) <= 0, "{name} scrolls sideways at {label} width ({overflow})");
        }
        self.resize(DESKTOP).await;
    }

    /// Presses `keys` one after the other on the keyboard (text, or
    /// `fantoccini::key::Key`s as chars): they go to whatever has the focus.
    pub async fn press(&self, keys: &str) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let mut actions = KeyActions::new("keyboard".into());
        for value in keys.chars() {
            actions = actions.then(KeyAction::Down { value }).then(KeyAction::Up { value });
        }
        self.client.perform_actions(actions).await.unwrap();
    }

    /// Shift+Tab: the focus moves back.
    pub async fn press_shift_tab(&self) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        use fantoccini::key::Key;
        let (shift, tab) = (char::from(Key::Shift), char::from(Key::Tab));
        let actions = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: shift })
            .then(KeyAction::Down { value: tab })
            .then(KeyAction::Up { value: tab })
            .then(KeyAction::Up { value: shift });
        self.client.perform_actions(actions).await.unwrap();
    }

    /// The id of the element that has the focus ("" if none has one).
    pub async fn focused(&self) -> String {
        let id = self.client.execute("return document.activeElement ? document.activeElement.id : ''", vec![]).await;
        id.unwrap().as_str().unwrap_or("").to_owned()
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// Only a stale element is worth a second look; any other error fails now.
fn assert_stale(css: &str, e: &fantoccini::error::CmdError) {
    let stale = matches!(e, fantoccini::error::CmdError::Standard(w) if w.error == fantoccini::error::ErrorStatus::StaleElementReference);
    assert!(stale, "{css}: {e}");
}
