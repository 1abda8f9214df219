//! Settings in layers: built-in defaults, then the config file (`--config
//! twostep.toml`), then `TWOSTEP_*` variables, then flags.
//!
//! Each setting is declared once, as a clap argument of a settings struct
//! (`GlobalArgs`, `ServeArgs`, `MessagingArgs`, `RecoveryArgs`) carrying its
//! flag, its `env` and its default. Its config-file key is the argument's id
//! (the flag's name with underscores). clap layers flags over the
//! environment over the default; this module puts the file between the
//! environment and the default by reading it through the same declaration:
//! each key is checked by its argument's own value parser, and a key that
//! neither a flag nor the environment set is handed to clap as that flag.
//! One parser for all three sources means one set of rules and one wording
//! of every error, and no second struct of file keys to keep in step.
//!
//! This module knows no setting by name; what a setting means is the
//! settings structs' business (config.rs, messaging.rs, recovery_config.rs).

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Command};

/// The global flag naming the config file; not itself a key in the file.
pub const CONFIG: &str = "config";

/// The parsed command line, and which settings the config file gave.
pub struct Layered<P> {
    pub cli: P,
    pub matches: ArgMatches,
    pub from_file: BTreeSet<String>,
}

/// Where a setting's value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Default,
    File,
    Environment,
    Flag,
    Unset,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Default => "default",
            Source::File => "file",
            Source::Environment => "environment",
            Source::Flag => "flag",
            Source::Unset => "unset",
        }
    }
}

/// How errors and notes name a setting: its file key, flag and variable.
pub fn describe(id: &str) -> String {
    format!("{id} (--{}, TWOSTEP_{})", id.replace('_', "-"), id.to_ascii_uppercase())
}

/// Parses `argv` with the config file as the layer under the environment.
/// `settings` are the ids of every setting: only they are file keys (not
/// `--out`, `--email` and the other arguments of single commands).
pub fn parse<P: clap::Parser>(argv: Vec<OsString>, settings: &BTreeSet<String>) -> Result<Layered<P>> {
    let mut cmd = P::command();
    cmd.build();
    let first = match cmd.clone().try_get_matches_from(&argv) {
        Ok(m) => m,
        Err(e) => return Err(naming_the_setting(e, &cmd, settings)),
    };
    let mut from_file = BTreeSet::new();
    let matches = match first.get_one::<PathBuf>(CONFIG).cloned() {
        None => first,
        Some(path) => {
            let flags = file_flags(&cmd, &first, settings, &path, &mut from_file)?;
            let at = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
            let mut argv = argv;
            argv.splice(at..at, flags);
            // Every value was checked above, so this parse fails only on
            // what the first one already accepted.
            cmd.clone().try_get_matches_from(&argv).map_err(|e| anyhow!("{}: {}", path.display(), clap_message(&e)))?
        }
    };
    let cli = P::from_arg_matches(&matches).map_err(|e| anyhow!("{}", clap_message(&e)))?;
    Ok(Layered { cli, matches, from_file })
}

/// The command that runs (`twostep cases approve` …) and its matches.
pub fn leaf<'a>(mut cmd: &'a Command, mut matches: &'a ArgMatches) -> (&'a Command, &'a ArgMatches) {
    while let Some((name, sub)) = matches.subcommand() {
        match cmd.find_subcommand(name) {
            Some(c) => cmd = c,
            None => break,
        }
        matches = sub;
    }
    (cmd, matches)
}

/// The settings the running command takes, each with its value as given
/// (None when unset) and its source. Secrets (`hide_env_values`) are never
/// shown.
pub fn report<P: clap::CommandFactory>(
    layered: &Layered<P>,
    settings: &BTreeSet<String>,
) -> Vec<(String, Option<String>, Source)> {
    let mut cmd = P::command();
    cmd.build();
    let (leaf_cmd, m) = leaf(&cmd, &layered.matches);
    let mut out = Vec::new();
    for arg in leaf_cmd.get_arguments().filter(|a| settings.contains(a.get_id().as_str())) {
        let id = arg.get_id().as_str();
        let source = match m.value_source(id) {
            _ if layered.from_file.contains(id) => Source::File,
            Some(ValueSource::CommandLine) => Source::Flag,
            Some(ValueSource::EnvVariable) => Source::Environment,
            Some(ValueSource::DefaultValue) => Source::Default,
            _ => Source::Unset,
        };
        let value = m.get_raw(id).map(|values| {
            if arg.is_hide_env_values_set() {
                "(secret)".to_string()
            } else {
                values.map(|v| v.to_string_lossy().into_owned()).collect::<Vec<_>>().join(",")
            }
        });
        out.push((id.to_string(), value, source));
    }
    out
}

/// Every setting's argument, in the whole command tree (each id once).
pub fn setting_args<'a>(cmd: &'a Command, settings: &BTreeSet<String>) -> Vec<&'a Arg> {
    fn walk<'a>(cmd: &'a Command, settings: &BTreeSet<String>, seen: &mut BTreeSet<String>, out: &mut Vec<&'a Arg>) {
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if settings.contains(id) && seen.insert(id.to_string()) {
                out.push(arg);
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, settings, seen, out);
        }
    }
    let mut out = Vec::new();
    walk(cmd, settings, &mut BTreeSet::new(), &mut out);
    out
}

/// The config file as flags for the running command: each key checked by
/// its argument's parser, unknown keys refused, keys of other commands
/// (`listen` for `twostep migrate`) left aside, keys a flag or variable
/// already set left to them.
fn file_flags(
    cmd: &Command,
    matches: &ArgMatches,
    settings: &BTreeSet<String>,
    path: &std::path::Path,
    from_file: &mut BTreeSet<String>,
) -> Result<Vec<OsString>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let table: toml::Table = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let (leaf_cmd, leaf_matches) = leaf(cmd, matches);
    let mut flags = Vec::new();
    for (key, value) in &table {
        if !settings.contains(key.as_str()) {
            bail!(
                "{}: unknown setting `{key}`; the keys are the flags' names with underscores (see `twostep serve --help`)",
                path.display()
            );
        }
        let Some(arg) = leaf_cmd.get_arguments().find(|a| a.get_id() == key.as_str()) else { continue };
        let text = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            _ => bail!("{}: {} must be a string, a whole number or true/false", path.display(), describe(key)),
        };
        let long = arg.get_long().with_context(|| format!("{key} has no long flag"))?;
        let flag = format!("--{long}={text}");
        // Checked even when a flag or variable replaces it: a bad file is a bad file.
        Command::new("twostep")
            .no_binary_name(true)
            .arg(arg.clone().global(false).required(false))
            .try_get_matches_from([&flag])
            .map_err(|e| anyhow!("{}: {}: {}", path.display(), describe(key), clap_message(&e)))?;
        let given = matches!(leaf_matches.value_source(key), Some(ValueSource::CommandLine | ValueSource::EnvVariable));
        if given {
            continue;
        }
        flags.push(flag.into());
        from_file.insert(key.clone());
    }
    Ok(flags)
}

/// clap's message without its `error:` prefix and its closing hint.
fn clap_message(e: &clap::Error) -> String {
    let text = e.to_string();
    let text = text.trim_start_matches("error: ");
    let text = text.split("\n\nFor more information").next().unwrap_or(text);
    text.trim_end().to_string()
}

/// A bad value for a setting from a flag or a variable: clap's message
/// (the flag and what it allows) and the setting's other names. Anything
/// else (help, version, an unknown flag) clap answers itself.
fn naming_the_setting(e: clap::Error, cmd: &Command, settings: &BTreeSet<String>) -> anyhow::Error {
    if matches!(e.kind(), ErrorKind::InvalidValue | ErrorKind::ValueValidation)
        && let Some(ContextValue::String(name)) = e.get(ContextKind::InvalidArg)
    {
        let long = name.trim_start_matches("--").split([' ', '=']).next().unwrap_or_default();
        let arg = setting_args(cmd, settings).into_iter().find(|a| a.get_long() == Some(long));
        if let Some(arg) = arg {
            return anyhow!("{}\n  the setting {}", clap_message(&e), describe(arg.get_id().as_str()));
        }
    }
    e.exit()
}
