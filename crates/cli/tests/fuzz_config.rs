//! Config files fuzzed through the real binary: a full config file, mutated
//! by byte and by TOML token, is given to `twostep staff add` (which loads
//! and checks every server setting before it opens the database). It must
//! answer with an error message or succeed, never panic. Storage comes from
//! flags (flags win over the file), so no mutation can point it elsewhere.

use std::io::Write;
use std::process::{Command, Stdio};

use twostep_fuzz::fuzz;

const BIN: &str = env!("CARGO_BIN_EXE_twostep");

const SEED: &str = r#"listen = "127.0.0.1:0"
captcha_bits = 12
public_url = "https://example.com"
issuer = "twostep"
backup_key_chars = 32
session_ttl_s = 43200
login_ttl_s = 600
code_ttl_s = 300
hold_after_password_change_s = 86400
login_per_ip_per_minute = 30
accounts_per_ip_per_hour = 20
codes_per_destination_per_hour = 5
resend_after_s = 60
delivery_max_attempts = 5
smtp_host = "smtp.example.com"
smtp_port = 587
smtp_tls = "starttls"
smtp_from = "twostep <no-reply@example.com>"
sms_url = "https://sms.example.com/send"
sms_method = "POST"
sms_body_format = "json"
sms_body_template = '{"to": "{to}", "text": "{message}"}'
trust_forwarded_for = false
recovery_steps = "codes,questions,identity"
recovery_hold_s = 172800
"#;

#[test]
fn config_files() {
    let dir = std::env::temp_dir().join(format!("twostep-fuzz-config-{}", twostep_app::crypto::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("twostep.toml");
    let db = format!("sqlite://{}", dir.join("twostep.db").display());
    let iterations = 120;
    fuzz("config_file", &[SEED.as_bytes(), b"", b"captcha_bits = -1\n", b"[x]\ny = 1\n"], iterations, |input| {
        std::fs::write(&file, input).unwrap();
        let mut child = Command::new(BIN)
            .args(["staff", "add", "--email", "staff@example.com", "--role", "admin", "--config"])
            .arg(&file)
            .args(["--data-dir"])
            .arg(&dir)
            .args(["--database-url", &db, "--db-max-connections", "2", "--db-acquire-timeout-s", "2"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A config refused at start ends the process before it reads the
        // password: a closed pipe then is an answer, not a failure.
        let _ = child.stdin.take().unwrap().write_all(b"correct horse battery\n");
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "the config file made twostep panic: {stderr}");
        assert!(matches!(out.status.code(), Some(0 | 1)), "exit {:?}: {stderr}", out.status.code());
    });
    let _ = std::fs::remove_dir_all(dir);
}
