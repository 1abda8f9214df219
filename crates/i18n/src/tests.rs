//! The catalogues are complete: every language has the same texts with the
//! same placeables, and every text the templates and the code ask for exists.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::*;

/// id -> the names of its placeables (`$name`), per file of one language.
fn messages(source: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in source.lines() {
        if line.starts_with(|c: char| c.is_ascii_alphabetic()) {
            let (id, _) = line.split_once('=').expect("a message line");
            let id = id.trim().to_owned();
            assert!(out.insert(id.clone(), BTreeSet::new()).is_none(), "{id} defined twice");
            current = Some(id);
        } else if !line.starts_with(' ') {
            current = None;
        }
        if let Some(id) = &current {
            let mut rest = line;
            while let Some(at) = rest.find('$') {
                let name: String = rest[at + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                    .collect();
                if !name.is_empty() {
                    out.get_mut(id).unwrap().insert(name);
                }
                rest = &rest[at + 1..];
            }
        }
    }
    out
}

#[test]
fn every_language_has_the_same_texts_with_the_same_placeables() {
    let (english, others) = SOURCES.split_first().unwrap();
    for (lang, files) in Lang::ALL[1..].iter().zip(others) {
        assert_eq!(files.len(), english.len());
        for ((en_name, en), (name, source)) in english.iter().zip(files.iter()) {
            assert_eq!(en_name, name);
            let (en, theirs) = (messages(en), messages(source));
            let missing: Vec<_> = en.keys().filter(|id| !theirs.contains_key(*id)).collect();
            let extra: Vec<_> = theirs.keys().filter(|id| !en.contains_key(*id)).collect();
            assert!(missing.is_empty() && extra.is_empty(), "{lang}/{name}: missing {missing:?}, extra {extra:?}");
            for (id, names) in &en {
                assert_eq!(names, &theirs[id], "{lang}/{name}: {id} has other placeables than in English");
            }
        }
    }
    // Parsing each catalogue is part of loading it.
    for lang in Lang::ALL {
        assert!(has(*lang, "site-footer"));
    }
}

#[test]
fn ids_are_read_from_a_file() {
    let ids = ids_in("# comment\nfirst = One\n    continued\n-term = T\nsecond =\n    Two\n");
    assert_eq!(ids, ["first", "second"]);
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

fn files_under(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

/// The first words of every id: a string literal in the code that starts
/// with one of them and a dash is taken for a text id.
fn areas() -> BTreeSet<String> {
    SOURCES[0]
        .iter()
        .flat_map(|(_, source)| ids_in(source))
        .map(|id| id.split('-').next().unwrap().to_owned())
        .collect()
}

/// Ids in the templates: the first argument of every `t("…"`.
fn template_ids(source: &str) -> Vec<String> {
    source
        .match_indices("t(\"")
        .filter(|(at, _)| !source[..*at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
        .filter_map(|(at, m)| source[at + m.len()..].split('"').next().map(str::to_owned))
        .collect()
}

/// Literals in the code that look like text ids and are something else.
const NOT_TEXTS: &[&str] = &[
    // names of cost limits (`App::limit_cost`)
    "password-changes",
    "phone-bindings",
];

/// Ids in Rust code: string literals that look like `area-name`.
fn code_ids(source: &str, areas: &BTreeSet<String>) -> Vec<String> {
    source
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|lit| {
            let valid = lit.split('-').count() > 1
                && lit
                    .split('-')
                    .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
            valid && areas.contains(lit.split('-').next().unwrap()) && !NOT_TEXTS.contains(lit)
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_text_the_templates_and_the_code_use_exists() {
    let root = workspace();
    let mut missing = Vec::new();
    let mut templates = Vec::new();
    files_under(&root.join("web/templates"), "html", &mut templates);
    let mut found = 0;
    for path in &templates {
        let source = std::fs::read_to_string(path).unwrap();
        for id in template_ids(&source) {
            found += 1;
            // `t("form-channel-" ~ sent.channel)`: some text must start so.
            if let Some(prefix) = id.strip_suffix('-') {
                let all: Vec<&str> = SOURCES[0].iter().flat_map(|(_, s)| ids_in(s)).collect();
                if !all.iter().any(|known| known.starts_with(&format!("{prefix}-"))) {
                    missing.push(format!("{}: {id}…", path.display()));
                }
                continue;
            }
            if Lang::ALL.iter().any(|l| !has(*l, &id)) {
                missing.push(format!("{}: {id}", path.display()));
            }
        }
    }
    assert!(found > 20, "the templates use the catalogues ({found} texts found)");
    let areas = areas();
    let mut code = Vec::new();
    for dir in ["app/src", "web/src"] {
        files_under(&root.join(dir), "rs", &mut code);
    }
    for path in &code {
        let source = std::fs::read_to_string(path).unwrap();
        for id in code_ids(&source, &areas) {
            if Lang::ALL.iter().any(|l| !has(*l, &id)) {
                missing.push(format!("{}: {id}", path.display()));
            }
        }
    }
    assert!(missing.is_empty(), "texts used but in no catalogue:\n{}", missing.join("\n"));
}

#[test]
fn every_audit_kind_has_its_words() {
    for kind in twostep_domain::audit_kind::AuditKind::ALL {
        let id = format!("audit-{}", kind.as_str().replace('_', "-"));
        for lang in Lang::ALL {
            assert!(has(*lang, &id), "{lang}: {id}");
            let words = text(*lang, &id);
            assert!(words.chars().next().is_some_and(char::is_uppercase), "{lang}: {id}: {words}");
        }
    }
}

#[test]
fn texts_are_filled_in_with_plurals_per_language() {
    let args = |n: i64| [("app", Arg::from("Acme")), ("code", "123456".into()), ("minutes", n.into())];
    assert_eq!(
        text_with(Lang::En, "code-sms", &args(5)),
        "Your Acme code is 123456. It expires in 5 minutes. Never share it."
    );
    assert!(text_with(Lang::En, "code-sms", &args(1)).contains("in 1 minute."));
    assert!(
        text_with(Lang::Fr, "code-sms", &args(5)).starts_with("Votre code Acme est 123456. Il expire dans 5 minutes.")
    );
    assert!(text_with(Lang::Fr, "code-sms", &args(1)).contains("dans 1 minute."));
    // Paragraphs survive; no bidi isolation marks are added around values.
    let body = text_with(Lang::En, "code-email-body", &args(5));
    assert!(body.contains("minutes.\n\nNever share it"), "{body:?}");
    assert!(!body.contains('\u{2068}'));
    assert_eq!(text(Lang::Fr, "site-nav-signin"), "Se connecter");
}

#[test]
fn a_missing_text_falls_back_to_english_then_to_its_id() {
    assert_eq!(text(Lang::Fr, "no-such-text"), "no-such-text");
}

#[test]
fn the_language_is_negotiated_from_accept_language() {
    assert_eq!(Lang::negotiate("fr-FR,fr;q=0.9,en;q=0.8"), Some(Lang::Fr));
    assert_eq!(Lang::negotiate("de-DE, en;q=0.5, fr;q=0.7"), Some(Lang::Fr));
    assert_eq!(Lang::negotiate("en-GB"), Some(Lang::En));
    assert_eq!(Lang::negotiate("fr;q=0, en;q=0.1"), Some(Lang::En));
    assert_eq!(Lang::negotiate("de, it"), None);
    assert_eq!(Lang::negotiate("*"), None);
    assert_eq!(Lang::negotiate(""), None);
    assert_eq!(Lang::negotiate("fr;q=abc"), None);
    assert_eq!(Lang::negotiate("EN, FR"), Some(Lang::En));
    assert_eq!("fr".parse::<Lang>(), Ok(Lang::Fr));
    assert!("fr-CA".parse::<Lang>().is_err());
    assert!("de".parse::<Lang>().unwrap_err().contains("en, fr"));
}
