//! The texts of messages that carry a code, as templates an operator can
//! replace in the config (defaults in English). Placeholders: `{code}`,
//! `{minutes}` (the code's lifetime) and `{app}` (the issuer name).
//!
//! For voice calls `{code}` is spoken digit by digit ("4, 2, 0, …") so a
//! text-to-speech engine reads it slowly instead of as one large number.

use crate::ports::Channel;

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
                         Never share it: {app} staff will never ask for it. \
                         If you did not ask for a code, someone may know your password; change it."
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

    /// (subject, body) of the message carrying `code` on `channel`.
    pub fn render(&self, channel: Channel, app: &str, code: &str, minutes: i64) -> (String, String) {
        let minutes = minutes.to_string();
        let spoken: String = code.chars().map(String::from).collect::<Vec<_>>().join(", ");
        let fill = |t: &str, code: &str| render(t, &[("app", app), ("code", code), ("minutes", &minutes)]);
        match channel {
            Channel::Sms => (String::new(), fill(&self.sms, code)),
            Channel::Voice => (String::new(), fill(&self.voice, &spoken)),
            Channel::Email => (fill(&self.email_subject, code), fill(&self.email_body, code)),
        }
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
        let (subject, body) = t.render(Channel::Sms, "twostep", "004217", 5);
        assert_eq!(subject, "");
        assert_eq!(body, "Your twostep code is 004217. It expires in 5 minutes. Never share it.");
        let (_, voice) = t.render(Channel::Voice, "twostep", "004217", 5);
        assert_eq!(voice, "Your twostep code is: 0, 0, 4, 2, 1, 7. Again, your code is: 0, 0, 4, 2, 1, 7.");
        let (subject, body) = t.render(Channel::Email, "Acme", "123456", 10);
        assert_eq!(subject, "Acme code".replace("Acme", "Your Acme"));
        assert!(body.starts_with("Your Acme code is 123456. It expires in 10 minutes."));
    }

    #[test]
    fn a_template_without_the_code_is_refused() {
        let t = MessageTemplates { sms: "hello".into(), ..MessageTemplates::default() };
        assert!(t.validate().unwrap_err().contains("sms"));
    }
}
