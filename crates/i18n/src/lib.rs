//! Every text a person reads — pages, e-mails, text messages, the words of
//! audit events — comes from the message catalogues in `locales/<lang>/*.ftl`
//! (Project Fluent), compiled into the binary. This crate owns the
//! catalogues, the supported languages and how one is chosen from a
//! request's `Accept-Language`; it knows nothing of HTTP, templates or
//! accounts, so the use cases (`app`) and the pages (`web`) both use it.
//!
//! The JSON API's error messages are not here: they are the contract in
//! docs/api.md and stay English.
//!
//! # Adding a text
//! 1. Pick an id `<area>-<what>` (areas: the first word of the ids already
//!    in the file, e.g. `login-`, `mail-`, `error-`) and add it to the
//!    English file, e.g. `locales/en/pages.ftl`:
//!    `login-welcome = Welcome back, { $name }.`
//! 2. Add the same id to every other language's file of the same name
//!    (`locales/fr/pages.ftl`). The tests fail while a language lacks an id
//!    that another has, or while a template or the code uses an id that no
//!    catalogue has.
//! 3. Use it: in a template `{{ t("login-welcome", name=user) }}`; in Rust
//!    `text(lang, "login-welcome")` or
//!    `text_with(lang, "login-welcome", &[("name", name.into())])`.
//!    Numbers passed as numbers choose plural forms:
//!    `{ $minutes -> [one] # minute *[other] # minutes }`.
//!
//! # Adding a language
//! Add a variant to [`Lang`], a `locales/<code>/` folder with every file of
//! `locales/en/`, and the folder to `SOURCES` below.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// A language the catalogues are complete in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    #[default]
    En,
    Fr,
}

impl Lang {
    pub const ALL: &'static [Lang] = &[Lang::En, Lang::Fr];

    /// The BCP 47 code, as in `<html lang>` and as stored with an account.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    /// A language tag's language ("fr", "fr-CA", "FR_fr"), if we speak it.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or("");
        Lang::ALL.iter().copied().find(|l| l.code().eq_ignore_ascii_case(primary))
    }

    /// The language a request asks for with its `Accept-Language` value:
    /// the supported one with the highest weight (the first among equals);
    /// `None` when it names none we speak, so the caller uses its default.
    pub fn negotiate(accept_language: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        // A header is a few entries; a huge one is not worth reading through.
        for item in accept_language.split(',').take(32) {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("");
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok().filter(|q| q.is_finite()));
            let (Some(q), Some(lang)) = (q, Lang::parse(tag)) else { continue };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, lang)| lang)
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Lang {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Lang::parse(s).filter(|l| l.code().len() == s.trim().len()).ok_or_else(|| {
            let known = Lang::ALL.iter().map(|l| l.code()).collect::<Vec<_>>().join(", ");
            format!("unknown language {s:?}; one of: {known}")
        })
    }
}

/// A value for a placeable: text, or a number (which also picks the plural
/// form of a selector).
#[derive(Clone, Debug)]
pub enum Arg<'a> {
    Text(std::borrow::Cow<'a, str>),
    Number(i64),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Text(s.into())
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Self {
        Arg::Text(s.as_str().into())
    }
}

impl From<String> for Arg<'_> {
    fn from(s: String) -> Self {
        Arg::Text(s.into())
    }
}

impl From<i64> for Arg<'_> {
    fn from(n: i64) -> Self {
        Arg::Number(n)
    }
}

/// The catalogue files of one language; every language has the same ones.
macro_rules! files {
    ($lang:literal) => {
        &[
            ("pages.ftl", include_str!(concat!("../locales/", $lang, "/pages.ftl"))),
            ("errors.ftl", include_str!(concat!("../locales/", $lang, "/errors.ftl"))),
            ("messages.ftl", include_str!(concat!("../locales/", $lang, "/messages.ftl"))),
            ("audit.ftl", include_str!(concat!("../locales/", $lang, "/audit.ftl"))),
            ("account.ftl", include_str!(concat!("../locales/", $lang, "/account.ftl"))),
            ("recovery.ftl", include_str!(concat!("../locales/", $lang, "/recovery.ftl"))),
            ("devices.ftl", include_str!(concat!("../locales/", $lang, "/devices.ftl"))),
            ("applications.ftl", include_str!(concat!("../locales/", $lang, "/applications.ftl"))),
            ("staff.ftl", include_str!(concat!("../locales/", $lang, "/staff.ftl"))),
            ("security.ftl", include_str!(concat!("../locales/", $lang, "/security.ftl"))),
        ]
    };
}

/// (file name, source) per language, in the order of [`Lang::ALL`].
pub const SOURCES: &[&[(&str, &str)]] = &[files!("en"), files!("fr")];

struct Catalogue {
    bundle: FluentBundle<FluentResource>,
}

static CATALOGUES: LazyLock<Vec<Catalogue>> = LazyLock::new(|| {
    Lang::ALL
        .iter()
        .zip(SOURCES)
        .map(|(lang, files)| {
            let id: LanguageIdentifier = lang.code().parse().expect("a valid language code");
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // No bidi isolation marks around values: every supported language
            // is left-to-right, and the marks would reach e-mail subjects.
            bundle.set_use_isolating(false);
            for (name, source) in files.iter() {
                let resource = FluentResource::try_new((*source).to_owned())
                    .unwrap_or_else(|(_, e)| panic!("locales/{lang}/{name}: {e:?}"));
                bundle.add_resource(resource).unwrap_or_else(|e| panic!("locales/{lang}/{name}: {e:?}"));
            }
            Catalogue { bundle }
        })
        .collect()
});

fn catalogue(lang: Lang) -> &'static Catalogue {
    let i = Lang::ALL.iter().position(|l| *l == lang).expect("every language has a catalogue");
    &CATALOGUES[i]
}

/// The text `id` in `lang`, without arguments.
pub fn text(lang: Lang, id: &str) -> String {
    text_with(lang, id, &[])
}

/// The text `id` in `lang` with its placeables filled from `args`. A missing
/// text (which the tests rule out) falls back to English, then to the id.
pub fn text_with(lang: Lang, id: &str, args: &[(&str, Arg<'_>)]) -> String {
    let mut fluent_args = FluentArgs::with_capacity(args.len());
    for (name, value) in args {
        let value = match value {
            Arg::Text(s) => FluentValue::from(s.as_ref()),
            Arg::Number(n) => FluentValue::from(*n),
        };
        fluent_args.set(*name, value);
    }
    for lang in [lang, Lang::En] {
        let bundle = &catalogue(lang).bundle;
        let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else { continue };
        let mut errors = Vec::new();
        let out = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors).into_owned();
        if !errors.is_empty() {
            tracing::error!(id, lang = lang.code(), ?errors, "a text could not be filled in completely");
        }
        return out;
    }
    tracing::error!(id, lang = lang.code(), "no such text in the catalogues");
    id.to_owned()
}

/// Whether the catalogue of `lang` has the text `id`.
pub fn has(lang: Lang, id: &str) -> bool {
    catalogue(lang).bundle.has_message(id)
}

/// The ids of the messages in one catalogue file's source: the lines that
/// start with an identifier and ` =` (terms, comments and continuation
/// lines start otherwise).
pub fn ids_in(source: &str) -> Vec<&str> {
    source
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_alphabetic()))
        .filter_map(|l| l.split_once('=').map(|(id, _)| id.trim()))
        .collect()
}

#[cfg(test)]
mod tests;
