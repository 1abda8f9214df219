//! `twostep check-delivery` and the same check logged at start-up, against
//! a real Postfix and a real HTTPS provider, both with certificates from a
//! private CA: each channel's line names its transport and either what was
//! accepted or the certificate problem; the CA setting works as a flag, a
//! `TWOSTEP_*` variable and a config-file key, per transport too; nothing is
//! sent to anyone. The server's log, written to a pipe, has no colour codes.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{BIN, temp_dir};
use tokio::io::{AsyncBufReadExt, BufReader};
use twostep_testkit::postfix::Postfix;
use twostep_testkit::provider_stub::ProviderStub;
use twostep_testkit::test_ca::TestCa;

/// Runs `twostep check-delivery ARGS` with `envs`; success and stdout + stderr.
async fn check_delivery(cwd: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> (bool, String) {
    let out = tokio::process::Command::new(BIN)
        .arg("check-delivery")
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(cwd)
        .output()
        .await
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn line<'a>(out: &'a str, channel: &str) -> &'a str {
    out.lines().find(|l| l.starts_with(&format!("{channel}: "))).unwrap_or_else(|| panic!("no {channel} line in {out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_delivery_names_each_transport_and_the_certificate_problem() {
    let ca = TestCa::create("twostep test CA");
    let postfix = Postfix::start(&ca.server_cert("relay", &["localhost"]), &ca.cert);
    let stub = ProviderStub::start_tls(&ca.server_cert("sms", &["localhost"]), None).await;
    let dir = temp_dir();
    let (smtp_port, sms_url) = (postfix.starttls_port.to_string(), format!("{}/v1/sms", stub.url));
    let base = [
        "--smtp-host",
        "localhost",
        "--smtp-port",
        &smtp_port,
        "--smtp-from",
        "no-reply@twostep.test",
        "--sms-url",
        &sms_url,
    ];
    let ca_path = ca.cert.to_str().unwrap();

    // Neither trusts the private CA: both fail, naming the problem.
    let (success, out) = check_delivery(&dir, &base, &[]).await;
    assert!(!success, "{out}");
    let email = line(&out, "e-mail");
    assert!(email.starts_with(&format!("e-mail: smtp starttls localhost:{smtp_port}: FAILED: ")), "{email}");
    assert!(
        email.contains("invalid peer certificate: UnknownIssuer") && email.contains("--outbound-ca-file"),
        "{email}"
    );
    let sms = line(&out, "sms");
    assert!(sms.starts_with(&format!("sms: {}: FAILED: ", stub.url)), "{sms}");
    assert!(sms.contains("invalid peer certificate: UnknownIssuer"), "{sms}");
    assert_eq!(line(&out, "voice"), "voice: not configured (development outbox)");
    assert!(out.contains("2 delivery transport(s) failed"), "{out}");

    // The CA from the environment: both pass.
    let (success, out) = check_delivery(&dir, &base, &[("TWOSTEP_OUTBOUND_CA_FILE", ca_path)]).await;
    assert!(success, "{out}");
    assert_eq!(
        line(&out, "e-mail"),
        format!("e-mail: smtp starttls localhost:{smtp_port}: ok: EHLO, STARTTLS with a trusted certificate accepted")
    );
    assert_eq!(
        line(&out, "sms"),
        format!("sms: {}: ok: TLS handshake with a trusted certificate, HEAD / answered 200 OK", stub.url)
    );

    // From the config file; and implicit TLS.
    let config = dir.join("twostep.toml");
    std::fs::write(&config, format!("outbound_ca_file = {:?}\nsmtp_tls = \"implicit\"\n", ca_path)).unwrap();
    let implicit_port = postfix.implicit_port.to_string();
    let mut args = base.to_vec();
    args[3] = &implicit_port;
    args.extend(["--config", config.to_str().unwrap()]);
    let (success, out) = check_delivery(&dir, &args, &[]).await;
    assert!(success, "{out}");
    assert!(line(&out, "e-mail").ends_with("ok: TLS handshake with a trusted certificate, EHLO accepted"), "{out}");

    // A transport's own flag applies to that transport only.
    let mut args = base.to_vec();
    args.extend(["--smtp-ca-file", ca_path]);
    let (success, out) = check_delivery(&dir, &args, &[]).await;
    assert!(!success, "{out}");
    assert!(line(&out, "e-mail").contains(": ok: "), "{out}");
    assert!(line(&out, "sms").contains("FAILED: ") && out.contains("1 delivery transport(s) failed"), "{out}");

    // A missing bundle stops the command with the path named.
    let (success, out) =
        check_delivery(&dir, &base, &[("TWOSTEP_OUTBOUND_CA_FILE", "/nonexistent/company-ca.pem")]).await;
    assert!(!success && out.contains("/nonexistent/company-ca.pem"), "{out}");

    // Nothing was sent: no mail, and the provider saw only `HEAD /`.
    assert!(postfix.mails().is_empty());
    let requests = stub.requests();
    assert!(!requests.is_empty() && requests.iter().all(|r| r.method == "HEAD" && r.path == "/"), "{requests:?}");
}

/// Starts `twostep serve` with stderr on a pipe and returns the first log
/// line about the e-mail check, and everything logged until then.
async fn startup_check_line(cwd: &std::path::Path, args: &[&str]) -> (String, String) {
    let mut child = tokio::process::Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .current_dir(cwd)
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = String::new();
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(l) = lines.next_line().await.unwrap() {
            log.push_str(&l);
            log.push('\n');
            if l.contains("delivery check: e-mail") {
                return Some(l);
            }
        }
        None
    })
    .await;
    let _ = child.kill().await;
    match found {
        Ok(Some(l)) => (l, log),
        _ => panic!("no delivery check in the log:\n{log}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_logs_the_check_at_start_without_colour_codes() {
    let ca = TestCa::create("twostep test CA");
    let postfix = Postfix::start(&ca.server_cert("relay", &["localhost"]), &ca.cert);
    let port = postfix.starttls_port.to_string();
    let args = ["--smtp-host", "localhost", "--smtp-port", &port, "--smtp-from", "no-reply@twostep.test"];
    let (line, log) = startup_check_line(&temp_dir(), &args).await;
    assert!(
        line.contains(" WARN ")
            && line.contains(": FAILED: Connection error: invalid peer certificate: UnknownIssuer ("),
        "{line}"
    );
    assert!(!log.contains('\x1b'), "colour codes in a log that is not a terminal:\n{log:?}");

    let mut trusted = args.to_vec();
    trusted.extend(["--outbound-ca-file", ca.cert.to_str().unwrap()]);
    let (line, log) = startup_check_line(&temp_dir(), &trusted).await;
    assert!(line.contains(" INFO ") && line.contains(": ok: EHLO, STARTTLS"), "{line}");
    assert!(!log.contains('\x1b'), "{log:?}");
    assert!(postfix.mails().is_empty());
}
