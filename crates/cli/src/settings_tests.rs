//! Every setting followed from each layer into the resolved configuration,
//! bad values refused naming the setting, and README's table of settings
//! kept equal to the declarations. The environment layer is walked through
//! the real binary in tests/settings.rs (this crate forbids the `unsafe`
//! that setting variables in-process needs).

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::CommandFactory;

use crate::config::{ServeArgs, ServeConfig, StorageConfig, setting_ids, settings_command};
use crate::layers::{self, Layered, Source};
use crate::{Cli, Command};

include!("../tests/common/setting_samples.rs");

/// `twostep serve ARGS` as clap reads it (flags and environment, no file).
pub fn serve_args(args: &[&str]) -> ServeArgs {
    let argv = ["twostep", "serve"].iter().chain(args);
    match <Cli as clap::Parser>::try_parse_from(argv).expect("valid flags").command {
        Command::Serve(a) => *a,
        _ => unreachable!(),
    }
}

fn temp_file(text: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("twostep-settings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.toml", N.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&path, text).unwrap();
    path
}

/// A config file setting `key` to `value`, typed as an operator would write it.
fn file_with(key: &str, value: &str) -> PathBuf {
    let value =
        if value == "true" || value == "false" || (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())) {
            value.to_string()
        } else {
            format!("{value:?}")
        };
    temp_file(&format!("{key} = {value}\n"))
}

fn parse(args: &[&str], config: Option<&PathBuf>) -> anyhow::Result<Layered<Cli>> {
    let mut argv: Vec<OsString> = ["twostep", "serve"].iter().chain(args).map(OsString::from).collect();
    if let Some(path) = config {
        argv.extend(["--config".into(), path.into()]);
    }
    layers::parse(argv, &setting_ids())
}

/// Everything a setting can reach: storage, the log format, the server's settings.
fn resolved(l: &Layered<Cli>) -> String {
    let Command::Serve(a) = &l.cli.command else { unreachable!() };
    let serve = ServeConfig::resolve(a).map(|c| format!("{c:?}")).unwrap_or_else(|e| format!("refused: {e}"));
    format!("{:?} {:?} {serve}", StorageConfig::resolve(&l.cli.global), l.cli.global.log_format)
}

fn value_and_source(l: &Layered<Cli>, id: &str) -> (Option<String>, Source) {
    let (_, value, source) =
        layers::report(l, &setting_ids()).into_iter().find(|(key, _, _)| key == id).expect("serve takes every setting");
    (value, source)
}

#[test]
fn every_setting_has_a_sample_and_the_names_derived_from_its_key() {
    let sampled: BTreeSet<String> = SETTING_SAMPLES.iter().map(|s| s.0.to_string()).collect();
    assert_eq!(sampled, setting_ids(), "tests/common/setting_samples.rs must list exactly the settings");
    for arg in settings_command().get_arguments().filter(|a| setting_ids().contains(a.get_id().as_str())) {
        let id = arg.get_id().as_str();
        assert_eq!(arg.get_long(), Some(id.replace('_', "-").as_str()), "{id}'s flag");
        let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
        assert_eq!(env, Some(format!("TWOSTEP_{}", id.to_ascii_uppercase())), "{id}'s variable");
        assert!(arg.get_help().is_some(), "{id} has no help text");
    }
}

/// Each setting by flag changes the resolved configuration; the same value
/// from the file gives the same configuration; a flag wins over the file.
#[test]
fn every_setting_reaches_the_configuration_from_a_flag_and_from_the_file() {
    for &(id, a, b, needs) in SETTING_SAMPLES {
        let flag = |v: &str| format!("--{}={v}", id.replace('_', "-"));
        let base = resolved(&parse(needs, None).unwrap());

        let with_flag: Vec<String> = needs.iter().map(|s| s.to_string()).chain([flag(a)]).collect();
        let with_flag: Vec<&str> = with_flag.iter().map(String::as_str).collect();
        let by_flag = parse(&with_flag, None).unwrap_or_else(|e| panic!("{id}={a}: {e}"));
        let (value, source) = value_and_source(&by_flag, id);
        assert_eq!(source, Source::Flag, "{id}");
        assert_ne!(resolved(&by_flag), base, "{id}={a} by flag changed nothing");
        assert!(!resolved(&by_flag).contains("refused"), "{id}={a}: {}", resolved(&by_flag));

        let file = file_with(id, a);
        let by_file = parse(needs, Some(&file)).unwrap_or_else(|e| panic!("{id}={a} in the file: {e}"));
        assert_eq!(value_and_source(&by_file, id), (value, Source::File), "{id}");
        assert_eq!(resolved(&by_file), resolved(&by_flag), "{id} from the file differs from the flag");

        let over: Vec<String> = needs.iter().map(|s| s.to_string()).chain([flag(b)]).collect();
        let over: Vec<&str> = over.iter().map(String::as_str).collect();
        let both = parse(&over, Some(&file)).unwrap();
        assert_eq!(value_and_source(&both, id).1, Source::Flag, "{id}: the flag wins over the file");
        assert_eq!(resolved(&both), resolved(&parse(&over, None).unwrap()), "{id}: the file's value stays unused");
    }
}

#[test]
fn defaults_come_from_the_declaration() {
    let l = parse(&[], None).unwrap();
    assert_eq!(value_and_source(&l, "session_ttl_s"), (Some("43200".into()), Source::Default));
    assert_eq!(value_and_source(&l, "smtp_tls"), (Some("starttls".into()), Source::Default));
    assert_eq!(value_and_source(&l, "smtp_host"), (None, Source::Unset));
    // The declared defaults are the app's: nothing set resolves to Settings::default().
    let Command::Serve(a) = &l.cli.command else { unreachable!() };
    let c = ServeConfig::resolve(a).unwrap();
    let d = twostep_app::Settings { public_url: "http://127.0.0.1:8080".into(), ..Default::default() };
    assert_eq!(format!("{:?}", c.settings), format!("{d:?}"));
}

fn refusal(args: &[&str], file: Option<&str>) -> String {
    let path = file.map(temp_file);
    match parse(args, path.as_ref()) {
        Ok(l) => {
            let Command::Serve(a) = &l.cli.command else { unreachable!() };
            ServeConfig::resolve(a)
                .err()
                .map(|e| format!("{e:#}"))
                .unwrap_or_else(|| panic!("{args:?} {file:?} accepted"))
        }
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn bad_values_are_refused_naming_the_setting_and_what_it_allows() {
    for (args, file, wanted) in [
        (
            &["--smtp-tls=ssl"][..],
            None,
            &["smtp_tls", "--smtp-tls", "TWOSTEP_SMTP_TLS", "none, starttls, implicit"][..],
        ),
        (&["--session-ttl-s=-5"], None, &["session_ttl_s", "--session-ttl-s", "1.."]),
        (&["--session-ttl-s", "-5"], None, &["session_ttl_s", "--session-ttl-s", "1.."]),
        (&["--hash-queue", "-1"], None, &["hash_queue", "--hash-queue"]),
        (&["--code-ttl-s=601"], None, &["code_ttl_s", "60..=600"]),
        (&["--signup-code-ttl-s=59"], None, &["signup_code_ttl_s", "60..=86400"]),
        (&["--backup-key-chars=24"], None, &["backup_key_chars", "32, 16"]),
        (&[], Some("sms_method = \"GET\"\n"), &["sms_method", "--sms-method", "POST, PUT, PATCH"]),
        (&[], Some("recovery_high_risk_score = 101\n"), &["recovery_high_risk_score", "0..=100"]),
        (&[], Some("delivery_workers = 0\n"), &["delivery_workers", "1..=64"]),
        (&[], Some("provider_timeout_s = -1\n"), &["provider_timeout_s", "--provider-timeout-s"]),
        (&[], Some("recovery_steps = \"codes,selfies\"\n"), &["recovery_steps", "selfies"]),
        (&[], Some("captcha_bitz = 5\n"), &["captcha_bitz", "unknown setting"]),
        (&[], Some("captcha_bits = [5]\n"), &["captcha_bits", "a whole number"]),
        (&["--trusted-proxies=10.0.0.0/33"], None, &["trusted_proxies", "--trusted-proxies"]),
        (&["--sms-provider=twilio"], None, &["sms_twilio_account_sid", "--sms-twilio-account-sid"]),
    ] {
        let message = refusal(args, file);
        for w in wanted {
            assert!(message.contains(w), "{args:?} {file:?}: {w:?} missing from {message:?}");
        }
    }
    // A bad value in the file is refused even when a flag overrides it.
    let message = refusal(&["--captcha-bits=3"], Some("captcha_bits = 99\n"));
    assert!(message.contains("captcha_bits"), "{message}");
}

#[test]
fn keys_of_other_commands_are_left_to_them() {
    let file = temp_file("listen = \"127.0.0.1:9\"\ndata_dir = \"/tmp/twostep-migrate\"\n");
    let argv: Vec<OsString> =
        ["twostep", "migrate", "--config"].iter().map(OsString::from).chain([file.into()]).collect();
    let l: Layered<Cli> = layers::parse(argv, &setting_ids()).unwrap();
    assert_eq!(l.cli.global.data_dir, PathBuf::from("/tmp/twostep-migrate"));
}

/// The settings table in README.md, generated from the declarations.
fn readme_table() -> String {
    let cmd = settings_command();
    let ids = setting_ids();
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', "\\n");
    let mut out = String::from("| Flag | Variable | File key | Default | What it sets |\n|---|---|---|---|---|\n");
    for arg in cmd.get_arguments().filter(|a| ids.contains(a.get_id().as_str())) {
        let id = arg.get_id().as_str();
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default().replace('\n', " ");
        // A default that depends on other settings is written in the help text.
        let (help, derived) = match help.split_once(" [default: ") {
            Some((h, d)) => (h.to_string(), Some(d.trim_end_matches(']').to_string())),
            None => (help, None),
        };
        let defaults: Vec<String> = arg.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
        let default = match (defaults.first(), derived) {
            (Some(_), _) => format!("`{}`", cell(&defaults.join(","))),
            (None, Some(d)) => cell(&d),
            (None, None) => "—".into(),
        };
        let values: Vec<String> = arg.get_possible_values().iter().map(|v| v.get_name().to_string()).collect();
        let help = if values.is_empty() || arg.get_action().takes_values() && values == ["true", "false"] {
            help
        } else {
            format!("{help} (one of: {})", values.join(", "))
        };
        let env = arg.get_env().unwrap().to_string_lossy().into_owned();
        out += &format!("| `--{}` | `{env}` | `{id}` | {default} | {} |\n", arg.get_long().unwrap(), cell(&help));
    }
    out
}

const TABLE_START: &str = "<!-- settings table: generated from crates/cli/src/config.rs, messaging.rs and recovery_config.rs; \
                           `TWOSTEP_WRITE_README=1 cargo nextest run -p twostep-cli readme` rewrites it -->\n";
const TABLE_END: &str = "<!-- end of the settings table -->";

#[test]
fn readme_lists_every_setting_as_declared() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let start = readme.find(TABLE_START).expect("README.md has the settings table's start marker") + TABLE_START.len();
    let end = start + readme[start..].find(TABLE_END).expect("README.md has the settings table's end marker");
    let table = readme_table();
    if std::env::var_os("TWOSTEP_WRITE_README").is_some() {
        std::fs::write(path, format!("{}{table}{}", &readme[..start], &readme[end..])).unwrap();
        return;
    }
    assert_eq!(readme[start..end], table, "README.md's settings table is out of date");
    // And the table and `serve --help` name the same flags.
    let mut cli = Cli::command();
    cli.build();
    let help = cli.find_subcommand_mut("serve").unwrap().render_long_help().to_string();
    let flags = |text: &str, line_start: &str| -> BTreeSet<String> {
        text.lines()
            .filter_map(|l| l.trim_start().strip_prefix(line_start))
            .map(|l| l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).next().unwrap().to_string())
            .collect()
    };
    let in_help: BTreeSet<String> =
        flags(&help, "--").into_iter().filter(|f| !["config", "help"].contains(&f.as_str())).collect();
    assert_eq!(flags(&table, "| `--"), in_help, "the README table and `twostep serve --help` differ");
}
