//! Every setting through the real binary: by its `TWOSTEP_*` variable, by
//! the config file, and against each other (flag over environment over
//! file), read back from `twostep settings`, which prints each value and
//! where it came from. Secrets are never printed.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "common/setting_samples.rs"]
mod setting_samples;

use setting_samples::SETTING_SAMPLES;

const BIN: &str = env!("CARGO_BIN_EXE_twostep");
const SECRETS: [&str; 6] = [
    "metrics_token",
    "smtp_password",
    "sms_auth_header",
    "sms_twilio_auth_token",
    "voice_auth_header",
    "voice_twilio_auth_token",
];

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("twostep-settings-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn file_with(dir: &Path, key: &str, value: &str) -> PathBuf {
    let value = if value == "true" || value == "false" || value.bytes().all(|b| b.is_ascii_digit()) {
        value.to_string()
    } else {
        format!("{value:?}")
    };
    let path = dir.join(format!("{key}.toml"));
    std::fs::write(&path, format!("{key} = {value}\n")).unwrap();
    path
}

/// `twostep settings ARGS` with only `envs` in its environment; its output.
fn settings(args: &[String], envs: &[(String, &str)]) -> String {
    let out = Command::new(BIN).arg("settings").args(args).env_clear().envs(envs.iter().cloned()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{args:?} {envs:?}: {text}{}", String::from_utf8_lossy(&out.stderr));
    text
}

fn line<'a>(out: &'a str, id: &str) -> &'a str {
    let prefix = format!("{id} = ");
    out.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no line for {id} in {out}"))
}

#[test]
fn every_setting_through_environment_file_and_flag() {
    let dir = temp_dir();
    for &(id, a, b, needs) in SETTING_SAMPLES {
        let env = (format!("TWOSTEP_{}", id.to_ascii_uppercase()), a);
        let flag_b = format!("--{}={b}", id.replace('_', "-"));
        let file_b = file_with(&dir, id, b);
        let needs: Vec<String> = needs.iter().map(|s| s.to_string()).collect();
        let with = |extra: &[String]| needs.iter().chain(extra).cloned().collect::<Vec<_>>();
        let config = ["--config".to_string(), file_b.display().to_string()];
        let expect = |value: &str, source: &str| {
            let shown = if SECRETS.contains(&id) { "(secret)" } else { value };
            format!("{id} = {shown:?}  # {source}")
        };

        let out = settings(&with(&[]), std::slice::from_ref(&env));
        assert_eq!(line(&out, id), expect(a, "environment"), "{id} from the environment");
        if SECRETS.contains(&id) {
            assert!(!out.contains(a), "{id}'s value was printed: {out}");
        }
        let out = settings(&with(&config), &[]);
        assert_eq!(line(&out, id), expect(b, "file"), "{id} from the file");
        let out = settings(&with(&config), std::slice::from_ref(&env));
        assert_eq!(line(&out, id), expect(a, "environment"), "{id}: the environment wins over the file");
        let out = settings(&with(std::slice::from_ref(&flag_b)), std::slice::from_ref(&env));
        assert_eq!(line(&out, id), expect(b, "flag"), "{id}: the flag wins over the environment");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_bad_variable_is_refused_naming_the_setting() {
    let out = Command::new(BIN).args(["settings"]).env_clear().env("TWOSTEP_SESSION_TTL_S", "-60").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    for name in ["session_ttl_s", "--session-ttl-s", "TWOSTEP_SESSION_TTL_S", "1.."] {
        assert!(stderr.contains(name), "{name} missing: {stderr}");
    }
}
