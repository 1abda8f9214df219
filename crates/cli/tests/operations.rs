//! What an operator relies on once `twostep serve` runs for real: the
//! client's address behind proxies, requests that are shed or cut off
//! instead of piling up, logs that can be followed request by request, and
//! backups taken while the server runs. Each through the real binary.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use common::{Server, start, temp_dir};
use serde_json::{Value, json};
use twostep_testkit::db::BOTH;
use twostep_testkit::{Backend, TestDatabase, oathtool};

const PW: &str = "correct horse battery";

/// `twostep serve` on a fresh SQLite data directory in `cwd`, its standard
/// error in `cwd/serve.log`.
fn serve(cwd: &Path, extra: &[&str]) -> Server {
    let mut argv = vec!["serve", "--listen", "127.0.0.1:0", "--captcha-bits", "0", "--data-dir", "data"];
    argv.extend_from_slice(extra);
    start(cwd, &argv, &[], &cwd.join("serve.log")).unwrap_or_else(|e| panic!("serve refused: {e}"))
}

/// A JSON request with extra headers: status, headers and JSON body.
async fn send(
    url: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = twostep_testkit::http_client()
        .request(method.parse().unwrap(), format!("{url}{path}"))
        .timeout(Duration::from_secs(30));
    if let Some(b) = body {
        req = req.json(&b);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.json().await.unwrap_or(Value::Null))
}

async fn verified_account(s: &Server, email: &str, headers: &[(&str, &str)]) {
    let r = send(&s.url, "POST", "/api/v1/accounts", Some(json!({"email": email, "password": PW})), headers).await;
    assert_eq!(r.0, 202, "{}", r.2);
    let code = common::outbox_code(&s.url, email, 0).await.expect("the sign-up code");
    let r = send(&s.url, "POST", "/api/v1/accounts/verify-email", Some(json!({"email": email, "code": code})), headers)
        .await;
    assert_eq!(r.0, 200, "{}", r.2);
}

// ------------------------------------------------------------ client address

/// 40 sign-in attempts through a proxy that appends to X-Forwarded-For, each
/// with another forged address on the left: how many were refused 429. With
/// a limit of 5 a minute, at least 30 (the attempts may straddle the start
/// of a minute once); with the forged addresses believed, none.
async fn forged_attempts_refused(s: &Server) -> usize {
    let mut refused = 0;
    for i in 0..40 {
        let xff = format!("10.{}.{}.1, 198.51.100.9", i / 250, i % 250);
        // Another e-mail each time: the per-address throttle stays out of it.
        let body = json!({"email": format!("nobody{i}@example.com"), "password": "wrong password"});
        let r = send(&s.url, "POST", "/api/v1/login", Some(body), &[("x-forwarded-for", &xff)]).await;
        assert!(r.0 == 401 || r.0 == 429, "{} {}", r.0, r.2);
        refused += usize::from(r.0 == 429);
    }
    refused
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_address_is_the_first_untrusted_hop_from_the_right() {
    for backend in BOTH {
        behind_trusted_proxies(backend).await;
    }
    // The older --trust-forwarded-for trusts the connecting proxy only (one hop).
    let cwd2 = temp_dir();
    let s = serve(&cwd2, &["--trust-forwarded-for", "true", "--login-per-ip-per-minute", "5"]);
    let refused = forged_attempts_refused(&s).await;
    assert!(refused >= 30, "--trust-forwarded-for: {refused} of 40 refused");
    drop(s);
    // Without trusted proxies the header is the client's own claim: ignored.
    let cwd3 = temp_dir();
    let s = serve(&cwd3, &["--accounts-per-ip-per-hour", "2"]);
    for (n, xff) in ["192.0.2.1", "192.0.2.2", "192.0.2.3"].iter().enumerate() {
        let r = send(
            &s.url,
            "POST",
            "/api/v1/accounts",
            Some(json!({"email": format!("d{n}@example.com"), "password": PW})),
            &[("x-forwarded-for", xff)],
        )
        .await;
        assert_eq!(r.0, if n < 2 { 202 } else { 429 }, "{}", r.2);
    }
    drop(s);
    let refused = start(
        &cwd3,
        &["serve", "--listen", "127.0.0.1:0", "--trusted-proxies", "10.0.0.0/33", "--data-dir", "data"],
        &[],
        &cwd3.join("bad.log"),
    );
    assert!(refused.err().is_some_and(|e| e.contains("trusted_proxies")), "a bad proxy list is refused at start");
    for dir in [cwd2, cwd3] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

async fn behind_trusted_proxies(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let cwd = temp_dir();
    // The test client is the proxy: 127.0.0.1 is trusted.
    let mut args = vec![
        "--trusted-proxies",
        "127.0.0.1, 10.99.0.0/16",
        "--login-per-ip-per-minute",
        "5",
        "--accounts-per-ip-per-hour",
        "3",
    ];
    if backend == Backend::Postgres {
        args.extend_from_slice(&["--database-url", &db.url]);
    }
    let s = serve(&cwd, &args);
    let refused = forged_attempts_refused(&s).await;
    assert!(refused >= 30, "{backend:?}: forged addresses must not pass the per-IP limit: {refused} of 40 refused");

    // The owner's activity shows the address the proxies saw, not the forged one.
    let hops = [("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.99.0.1")];
    verified_account(&s, "ada@example.com", &hops).await;
    let login =
        send(&s.url, "POST", "/api/v1/login", Some(json!({"email": "ada@example.com", "password": PW})), &hops).await;
    let token = login.2["session_token"].as_str().unwrap_or_else(|| panic!("{}", login.2)).to_owned();
    let activity = common::get(&s.url, "/api/v1/me/activity", Some(&token)).await.1;
    let ips: Vec<&str> = activity["events"].as_array().unwrap().iter().filter_map(|e| e["ip"].as_str()).collect();
    assert!(!ips.is_empty() && ips.iter().all(|ip| *ip == "203.0.113.7"), "{activity}");

    // IPv6: a /64 is one client however many addresses it uses.
    for n in 1..=3 {
        let xff = format!("2001:db8:5:6::{n}");
        let r = send(
            &s.url,
            "POST",
            "/api/v1/accounts",
            Some(json!({"email": format!("v6-{n}@example.com"), "password": PW})),
            &[("x-forwarded-for", &xff)],
        )
        .await;
        assert_eq!(r.0, 202, "{}", r.2);
    }
    let other_address = [("x-forwarded-for", "2001:db8:5:6:ffff:1:2:3")];
    let r = send(
        &s.url,
        "POST",
        "/api/v1/accounts",
        Some(json!({"email": "v6-4@example.com", "password": PW})),
        &other_address,
    )
    .await;
    assert_eq!((r.0, r.2["error"]["code"].as_str()), (429, Some("too_many_attempts")), "{}", r.2);
    let next_network = [("x-forwarded-for", "2001:db8:5:7::1")];
    let r = send(
        &s.url,
        "POST",
        "/api/v1/accounts",
        Some(json!({"email": "v6-5@example.com", "password": PW})),
        &next_network,
    )
    .await;
    assert_eq!(r.0, 202, "another /64 has its own limit: {}", r.2);
    drop(s);
    db.drop_database().await;
    let _ = std::fs::remove_dir_all(cwd);
}

// ------------------------------------------------------------ shedding load

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_hashing_queue_answers_503_with_retry_after() {
    let cwd = temp_dir();
    let s = serve(&cwd, &["--hash-concurrency", "1", "--hash-queue", "1", "--accounts-per-ip-per-hour", "1000"]);
    let url = s.url.clone();
    let calls: Vec<_> = (0..24)
        .map(|i| {
            let url = url.clone();
            tokio::spawn(async move {
                send(
                    &url,
                    "POST",
                    "/api/v1/accounts",
                    Some(json!({"email": format!("q{i}@example.com"), "password": PW})),
                    &[],
                )
                .await
            })
        })
        .collect();
    let (mut created, mut shed) = (0, 0);
    for c in calls {
        let (status, headers, body) = c.await.unwrap();
        match status {
            202 => created += 1,
            503 => {
                assert_eq!(body["error"]["code"], "unavailable", "{body}");
                assert_eq!(headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
                shed += 1;
            }
            other => panic!("{other} {body}"),
        }
    }
    assert!(created >= 1 && shed >= 1, "{created} created, {shed} shed");
    // Once the queue drained, sign-ups work again.
    let r =
        send(&url, "POST", "/api/v1/accounts", Some(json!({"email": "later@example.com", "password": PW})), &[]).await;
    assert_eq!(r.0, 202, "{}", r.2);
    drop(s);
    let _ = std::fs::remove_dir_all(cwd);
}

/// Sends the headers of a JSON request and half its body, then waits: the
/// raw answer.
fn slow_body(url: &str) -> String {
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST /api/v1/accounts HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\
         x-request-id: slow-body-1\r\n\r\n{{\"email\": "
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = vec![0u8; 4096];
    let n = stream.read(&mut answer).unwrap_or(0);
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

// ------------------------------------------------------------ logs

fn log_lines(cwd: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(cwd.join("serve.log")).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_id_and_one_access_line_per_request() {
    let cwd = temp_dir();
    let mut argv = vec!["serve", "--listen", "0.0.0.0:0", "--captcha-bits", "0", "--data-dir", "data"];
    argv.extend_from_slice(&["--log-format", "json", "--request-timeout-s", "1"]);
    let s = start(&cwd, &argv, &[], &cwd.join("serve.log")).unwrap();

    // A sane incoming id is kept; a missing or hostile one is replaced.
    let r = send(&s.url, "GET", "/healthz", None, &[("x-request-id", "lb-7f3a-01")]).await;
    assert_eq!(r.1["x-request-id"], "lb-7f3a-01");
    let r = send(&s.url, "GET", "/api/v1/dev/outbox?to=secret.person%40example.com", None, &[]).await;
    let generated = r.1["x-request-id"].to_str().unwrap().to_owned();
    assert!(generated.len() == 32 && generated.chars().all(|c| c.is_ascii_hexdigit()), "{generated}");
    for hostile in ["forged line\" level=ERROR {}", &"a".repeat(65)] {
        let r = send(&s.url, "GET", "/healthz", None, &[("x-request-id", hostile)]).await;
        assert!(r.1["x-request-id"].to_str().unwrap().chars().all(|c| c.is_ascii_hexdigit()), "{hostile}");
    }
    // A request that runs out of time logs inside its span.
    let answer = tokio::task::spawn_blocking({
        let url = s.url.clone();
        move || slow_body(&url)
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 503") && answer.contains("x-request-id: slow-body-1"), "{answer}");
    drop(s);

    let lines = log_lines(&cwd);
    let access: Vec<&Value> = lines.iter().filter(|l| l["target"] == "twostep::access").collect();
    let of = |id: &str| access.iter().filter(|l| l["span"]["request_id"] == id).copied().collect::<Vec<_>>();
    let health = of("lb-7f3a-01");
    assert_eq!(health.len(), 1, "one access line per request: {access:?}");
    let f = &health[0]["fields"];
    assert_eq!(
        (f["method"].as_str(), f["route"].as_str(), f["status"].as_u64()),
        (Some("GET"), Some("/healthz"), Some(200)),
        "{f}"
    );
    assert!(f["duration_ms"].as_f64().is_some() && f["client"] == "127.0.0.1", "{f}");
    let outbox = of(&generated);
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0]["fields"]["route"], "/api/v1/dev/outbox");
    // Every line of the slow request carries its id; its access line says 503.
    let slow: Vec<&Value> = lines.iter().filter(|l| l["span"]["request_id"] == "slow-body-1").collect();
    assert!(
        slow.iter().any(|l| l["fields"]["message"].as_str().is_some_and(|m| m.contains("ran out of time"))),
        "{slow:?}"
    );
    assert!(slow.iter().any(|l| l["target"] == "twostep::access" && l["fields"]["status"] == 503), "{slow:?}");
    // Query strings (here an e-mail address) never reach the log.
    let text = std::fs::read_to_string(cwd.join("serve.log")).unwrap();
    assert!(!text.contains("secret.person"), "{text}");
    // Listening on every interface with the dev outbox and no captcha: warned.
    let warnings: Vec<&str> =
        lines.iter().filter(|l| l["level"] == "WARN").filter_map(|l| l["fields"]["message"].as_str()).collect();
    assert!(warnings.iter().any(|w| w.contains("development outbox is reachable")), "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("captcha is off")), "{warnings:?}");

    // Text logs name the request too; on the loopback the outbox is not warned about.
    let cwd2 = temp_dir();
    let argv = ["serve", "--listen", "127.0.0.1:0", "--captcha-bits", "12", "--data-dir", "data"];
    let s = start(&cwd2, &argv, &[], &cwd2.join("serve.log")).unwrap();
    let _ = send(&s.url, "GET", "/healthz", None, &[("x-request-id", "text-1")]).await;
    drop(s);
    let text = std::fs::read_to_string(cwd2.join("serve.log")).unwrap();
    let line = text.lines().find(|l| l.contains("twostep::access")).unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("request_id=text-1") && line.contains("route=\"/healthz\"") && line.contains("status=200"),
        "{line}"
    );
    assert!(!text.contains("development outbox is reachable") && !text.contains("captcha is off"), "{text}");
    let _ = std::fs::remove_dir_all(cwd);
    let _ = std::fs::remove_dir_all(cwd2);
}

// ------------------------------------------------------------ backups

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_of_the_live_database_restores() {
    let cwd = temp_dir();
    let s = serve(
        &cwd,
        &[
            "--accounts-per-ip-per-hour",
            "100000",
            "--login-per-ip-per-minute",
            "100000",
            "--codes-per-ip-per-minute",
            "100000",
        ],
    );
    // An account with an authenticator: its secret is sealed in the copy.
    verified_account(&s, "kept@example.com", &[]).await;
    let login =
        send(&s.url, "POST", "/api/v1/login", Some(json!({"email": "kept@example.com", "password": PW})), &[]).await;
    let token = login.2["session_token"].as_str().unwrap().to_owned();
    let sudo = json!({"method": "password", "password": PW});
    assert_eq!(common::post(&s.url, "/api/v1/me/sudo", sudo, Some(&token)).await.0, 200);
    let setup = common::post(&s.url, "/api/v1/me/totp", json!({}), Some(&token)).await.1;
    let key = setup["backup_key"].as_str().unwrap().to_owned();
    let body = json!({"setup_id": setup["setup_id"], "backup_key": key, "code": oathtool(&key, common::now())});
    assert_eq!(common::post(&s.url, "/api/v1/me/totp/confirm", body, Some(&token)).await.0, 200);

    // Sign-ups keep writing while the backup runs.
    let busy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let writer = tokio::spawn({
        let (url, busy) = (s.url.clone(), busy.clone());
        async move {
            let mut n = 0;
            while busy.load(std::sync::atomic::Ordering::SeqCst) {
                let body = json!({"email": format!("w{n}@example.com"), "password": PW});
                assert_eq!(send(&url, "POST", "/api/v1/accounts", Some(body), &[]).await.0, 202);
                n += 1;
            }
            n
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let copy = cwd.join("copy.db");
    let (ok, text) = common::run(&cwd, &["backup", "--out", copy.to_str().unwrap(), "--data-dir", "data"], "");
    assert!(ok && text.contains("backup written"), "{text}");
    busy.store(false, std::sync::atomic::Ordering::SeqCst);
    let written = writer.await.unwrap();
    assert!(written > 0);
    drop(s);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(common::sqlite_integrity(&copy), "ok");
    let (ok, text) = common::run(&cwd, &["backup", "--out", copy.to_str().unwrap(), "--data-dir", "data"], "");
    assert!(!ok && text.contains("must not exist"), "an existing file is never overwritten: {text}");

    // Restore: the copy and the key in a new data directory; sign in.
    let restored = cwd.join("restored");
    std::fs::create_dir_all(&restored).unwrap();
    std::fs::copy(&copy, restored.join("twostep.db")).unwrap();
    std::fs::copy(cwd.join("data/master.key"), restored.join("master.key")).unwrap();
    let mut argv = vec!["serve", "--listen", "127.0.0.1:0", "--captcha-bits", "0", "--data-dir", "restored"];
    argv.extend_from_slice(&["--login-per-ip-per-minute", "1000"]);
    let s = start(&cwd, &argv, &[], &cwd.join("restored.log")).unwrap_or_else(|e| panic!("{e}"));
    let login =
        send(&s.url, "POST", "/api/v1/login", Some(json!({"email": "kept@example.com", "password": PW})), &[]).await;
    let login_id = login.2["login_id"].as_str().unwrap_or_else(|| panic!("{}", login.2)).to_owned();
    let code = oathtool(&key, common::now() + 30);
    let r = common::post(&s.url, &format!("/api/v1/login/{login_id}/totp"), json!({"code": code}), None).await;
    assert_eq!(r.0, 200, "signed in on the restored copy: {}", r.1);
    drop(s);

    // PostgreSQL has its own tool; the command says so.
    let (ok, text) = common::run(
        &cwd,
        &["backup", "--out", "pg.db", "--database-url", "postgres://postgres@127.0.0.1:5432/none"],
        "",
    );
    assert!(!ok && text.contains("pg_dump"), "{text}");
    let _ = std::fs::remove_dir_all(cwd);
}
