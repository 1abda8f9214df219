//! The texts of the messages the use cases send. Every text comes from the
//! message catalogues (`twostep_i18n`, see its module doc to add one) in the
//! recipient's language: the account's, recorded at sign-up from the
//! request, else the server's `--language`.
//!
//! The messages that carry a code can also be replaced by an operator's own
//! templates in the config; placeholders `{code}`, `{minutes}` (the code's
//! lifetime) and `{app}` (the issuer name). A template left at its default
//! (the English text below) means "the catalogue's text in the recipient's
//! language"; an operator's own text is sent in every language.
//!
//! For voice calls `{code}` is spoken digit by digit ("4, 2, 0, …") so a
//! text-to-speech engine reads it slowly instead of as one large number.

use twostep_i18n::{Arg, Lang, text_with};

use crate::App;
use crate::ports::{AccountRecord, Channel};

impl App {
    /// The language of the messages to `account`.
    pub fn language_of(&self, account: &AccountRecord) -> Lang {
        account.language.unwrap_or(self.settings.language)
    }

    /// What a reset or recovery changes (`authenticator`, `phone`, `email`),
    /// in words of `lang`, joined by commas.
    pub fn item_list<'a>(&self, lang: Lang, items: impl IntoIterator<Item = &'a str>) -> String {
        items.into_iter().map(|item| text_with(lang, &format!("mail-item-{item}"), &[])).collect::<Vec<_>>().join(", ")
    }

    /// (subject, body) of the message carrying `code` for `purpose`: the
    /// operator's template or the catalogue's, and by e-mail then what the
    /// code is for (`code_why`).
    pub(crate) fn code_message(
        &self,
        lang: Lang,
        channel: Channel,
        purpose: &str,
        code: &str,
        minutes: i64,
    ) -> (String, String) {
        let (subject, body) = self.settings.templates.render(lang, channel, &self.settings.issuer, code, minutes);
        match code_why(purpose).filter(|_| channel == Channel::Email) {
            Some(why) => (subject, format!("{body}\n\n{}", self.text(lang, why, &[]))),
            None => (subject, body),
        }
    }

    /// The catalogue text `id` in `lang`, with `{ $app }` set to the issuer.
    pub fn text(&self, lang: Lang, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(("app", Arg::from(self.settings.issuer.as_str())));
        all.extend(args.iter().cloned());
        text_with(lang, id, &all)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageTemplates {
    pub sms: String,
    pub voice: String,
    pub email_subject: String,
    pub email_body: String,
}

impl Default for MessageTemplates {
    fn default() -> Self {
        Self {
            sms: "Your {app} code is {code}. It expires in {minutes} minutes. Never share it.".into(),
            voice: "Your {app} code is: {code}. Again, your code is: {code}.".into(),
            email_subject: "Your {app} code".into(),
            email_body: "Your {app} code is {code}. It expires in {minutes} minutes.\n\n\
                         Never share it: {app} staff will never ask for it."
                .into(),
        }
    }
}

impl MessageTemplates {
    /// Refuses a template that would send no code.
    pub fn validate(&self) -> Result<(), String> {
        for (name, t) in [("sms", &self.sms), ("voice", &self.voice), ("email body", &self.email_body)] {
            if !t.contains("{code}") {
                return Err(format!("the {name} template must contain {{code}}"));
            }
        }
        Ok(())
    }

    /// (subject, body) of the message carrying `code` on `channel`, in
    /// `lang` unless the operator replaced the template.
    pub fn render(&self, lang: Lang, channel: Channel, app: &str, code: &str, minutes: i64) -> (String, String) {
        let defaults = MessageTemplates::default();
        let spoken: String = code.chars().map(String::from).collect::<Vec<_>>().join(", ");
        let fill = |template: &str, default: &str, id: &str, code: &str| {
            if template == default {
                let args = [("app", Arg::from(app)), ("code", Arg::from(code)), ("minutes", Arg::from(minutes))];
                text_with(lang, id, &args)
            } else {
                render(template, &[("app", app), ("code", code), ("minutes", &minutes.to_string())])
            }
        };
        match channel {
            Channel::Sms => (String::new(), fill(&self.sms, &defaults.sms, "code-sms", code)),
            // Codes never go to an application.
            Channel::Webhook => (String::new(), String::new()),
            Channel::Voice => (String::new(), fill(&self.voice, &defaults.voice, "code-voice", &spoken)),
            Channel::Email => (
                fill(&self.email_subject, &defaults.email_subject, "code-email-subject", code),
                fill(&self.email_body, &defaults.email_body, "code-email-body", code),
            ),
        }
    }
}

/// The catalogue text that says, after an e-mailed code's message, what
/// the code of `purpose` is for and what to do if nobody asked for it.
pub(crate) fn code_why(purpose: &str) -> Option<&'static str> {
    match purpose {
        crate::login::PURPOSE_LOGIN => Some("code-why-login"),
        crate::codes::PURPOSE_STEP_UP => Some("code-why-step-up"),
        crate::password_reset::PURPOSE_PASSWORD_RESET => Some("code-why-password-reset"),
        crate::freeze::PURPOSE_FREEZE => Some("code-why-freeze"),
        p if p.starts_with(&crate::accounts::signup_purpose("")) => Some("code-why-signup"),
        p if p.starts_with(&crate::recovery::email_code_purpose("")) => Some("code-why-recovery"),
        _ => None,
    }
}

/// Replaces `{name}` placeholders in one pass, so a value that itself looks
/// like a placeholder is never expanded again. Unknown placeholders stay.
pub fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after
            .find('}')
            .and_then(|close| values.iter().find(|(k, _)| *k == &after[..close]).map(|(_, v)| (close, *v)));
        match value {
            Some((close, v)) => {
                out.push_str(v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_once() {
        assert_eq!(render("{a}-{b}-{a}", &[("a", "1"), ("b", "{a}")]), "1-{a}-1");
        assert_eq!(render("{unknown} {", &[("a", "1")]), "{unknown} {");
        assert_eq!(render("", &[]), "");
    }

    #[test]
    fn default_texts() {
        let t = MessageTemplates::default();
        t.validate().unwrap();
        let (subject, body) = t.render(Lang::En, Channel::Sms, "twostep", "004217", 5);
        assert_eq!(subject, "");
        assert_eq!(body, "Your twostep code is 004217. It expires in 5 minutes. Never share it.");
        let (_, voice) = t.render(Lang::En, Channel::Voice, "twostep", "004217", 5);
        assert_eq!(voice, "Your twostep code is: 0, 0, 4, 2, 1, 7. Again, your code is: 0, 0, 4, 2, 1, 7.");
        let (subject, body) = t.render(Lang::En, Channel::Email, "Acme", "123456", 10);
        assert_eq!(subject, "Acme code".replace("Acme", "Your Acme"));
        assert!(body.starts_with("Your Acme code is 123456. It expires in 10 minutes."));
    }

    /// The default templates are the English catalogue's texts, so an
    /// operator who sets none gets every language.
    #[test]
    fn the_defaults_are_the_english_catalogue() {
        let t = MessageTemplates::default();
        for channel in [Channel::Sms, Channel::Voice, Channel::Email] {
            let from_catalogue = t.render(Lang::En, channel, "Acme", "123456", 10);
            let spoken = if channel == Channel::Voice { "1, 2, 3, 4, 5, 6" } else { "123456" };
            let values = [("app", "Acme"), ("code", spoken), ("minutes", "10")];
            let (subject, body) = match channel {
                Channel::Sms => (String::new(), render(&t.sms, &values)),
                Channel::Voice => (String::new(), render(&t.voice, &values)),
                Channel::Email => (render(&t.email_subject, &values), render(&t.email_body, &values)),
                Channel::Webhook => unreachable!("not in the list"),
            };
            assert_eq!(from_catalogue, (subject, body), "{channel:?}");
        }
        let (subject, body) = t.render(Lang::Fr, Channel::Email, "Acme", "123456", 10);
        assert_eq!(subject, "Votre code Acme");
        assert!(body.starts_with("Votre code Acme est 123456. Il expire dans 10 minutes."), "{body}");
    }

    #[test]
    fn an_operators_template_is_sent_in_every_language() {
        let t = MessageTemplates { sms: "{app}: {code}".into(), ..MessageTemplates::default() };
        assert_eq!(t.render(Lang::Fr, Channel::Sms, "Acme", "123456", 10).1, "Acme: 123456");
    }

    #[test]
    fn every_item_a_message_lists_has_its_words() {
        let names = twostep_domain::recovery::ResetItem::ALL.iter().map(|i| i.as_str()).chain(
            [twostep_domain::staff::StaffResetItem::Authenticator, twostep_domain::staff::StaffResetItem::Phone]
                .map(|i| i.as_str()),
        );
        for name in names {
            for lang in Lang::ALL {
                assert!(twostep_i18n::has(*lang, &format!("mail-item-{name}")), "{lang}: {name}");
            }
        }
    }

    #[test]
    fn every_e_mailed_code_says_what_it_is_for_in_every_language() {
        let purposes = [
            crate::login::PURPOSE_LOGIN.to_owned(),
            crate::codes::PURPOSE_STEP_UP.to_owned(),
            crate::password_reset::PURPOSE_PASSWORD_RESET.to_owned(),
            crate::freeze::PURPOSE_FREEZE.to_owned(),
            crate::recovery::email_code_purpose("0123abcd"),
            crate::accounts::signup_purpose("0123abcd"),
        ];
        let mut ids: Vec<&str> = purposes.iter().map(|p| code_why(p).expect(p)).collect();
        ids.dedup();
        assert_eq!(ids.len(), purposes.len(), "one text for each");
        for id in ids {
            for lang in Lang::ALL {
                assert!(twostep_i18n::has(*lang, id), "{lang}: {id}");
            }
        }
        // Codes that only ever go by phone say nothing more.
        assert_eq!(code_why(crate::phone::PURPOSE_BIND_PHONE), None);
        assert_eq!(code_why(crate::password_reset::PURPOSE_RESET_FACTOR), None);
    }

    #[test]
    fn a_template_without_the_code_is_refused() {
        let t = MessageTemplates { sms: "hello".into(), ..MessageTemplates::default() };
        assert!(t.validate().unwrap_err().contains("sms"));
    }
}
