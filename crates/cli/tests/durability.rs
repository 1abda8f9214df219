//! `--sqlite-synchronous` as an operator sets it: a flag, a `TWOSTEP_*`
//! variable and a config key like every setting, FULL when none is given,
//! and what the connections then report is said at start.

mod common;

use std::process::Command;

use common::{BIN, temp_dir};

/// Runs `twostep migrate ARGS` in `cwd` with `envs`; success and all output.
fn migrate(cwd: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(BIN)
        .arg("migrate")
        .args(args)
        .envs(envs.iter().copied())
        .env("TWOSTEP_LOG", "info")
        .current_dir(cwd)
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn sqlite_synchronous_is_full_unless_chosen_by_flag_environment_or_file() {
    let cwd = temp_dir();
    let full = "synchronous=FULL on every connection";
    let (ok, text) = migrate(&cwd, &[], &[]);
    assert!(ok && text.contains(full), "{text}");
    assert!(text.contains("writer=FULL") && text.contains("reader=FULL") && text.contains("checkpoint=FULL"), "{text}");

    let (ok, text) = migrate(&cwd, &["--sqlite-synchronous", "normal"], &[]);
    assert!(ok && text.contains("synchronous is not FULL") && text.contains("writer=NORMAL"), "{text}");
    assert!(!text.contains("=FULL"), "every connection: {text}");

    std::fs::write(cwd.join("twostep.toml"), "sqlite_synchronous = \"normal\"\n").unwrap();
    let (ok, text) = migrate(&cwd, &["--config", "twostep.toml"], &[]);
    assert!(ok && text.contains("writer=NORMAL"), "from the file: {text}");
    let (ok, text) = migrate(&cwd, &["--config", "twostep.toml"], &[("TWOSTEP_SQLITE_SYNCHRONOUS", "full")]);
    assert!(ok && text.contains(full), "the environment over the file: {text}");
    let envs = [("TWOSTEP_SQLITE_SYNCHRONOUS", "full")];
    let (ok, text) = migrate(&cwd, &["--config", "twostep.toml", "--sqlite-synchronous", "normal"], &envs);
    assert!(ok && text.contains("writer=NORMAL"), "the flag over the environment: {text}");

    let (ok, text) = migrate(&cwd, &["--sqlite-synchronous", "off"], &[]);
    assert!(!ok && text.contains("--sqlite-synchronous"), "{text}");
    std::fs::write(cwd.join("bad.toml"), "sqlite_synchronous = \"off\"\n").unwrap();
    let (ok, text) = migrate(&cwd, &["--config", "bad.toml"], &[]);
    assert!(!ok && text.contains("sqlite_synchronous"), "{text}");
    let _ = std::fs::remove_dir_all(cwd);
}
