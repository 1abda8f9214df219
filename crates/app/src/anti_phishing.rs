//! The anti-phishing phrase: a few words the owner chooses (in sudo mode)
//! that every e-mail to the account then shows on its first line, so a
//! phishing e-mail without it stands out. It is sealed at rest, never
//! answered by the API or shown on a page, and never sent by SMS or voice.
//!
//! Every e-mail is dressed when it is sent, not when it is queued: the
//! phrase and the freeze link (see [`crate::freeze`]) go only to the
//! address the account has at that moment, so an address a thief just
//! added never learns the phrase, and a queued text never holds it.

use twostep_domain::audit_kind::AuditKind;

use crate::error::{AppError, AppResult};
use crate::ports::{AuditEvent, Channel, DeliveryError, Effects, Message};
use crate::{App, RequestMeta};

/// Shortest and longest phrase, in characters.
pub const PHRASE_MIN_CHARS: usize = 4;
pub const PHRASE_MAX_CHARS: usize = 40;

/// The context (associated data) an account's phrase is sealed under.
pub fn phrase_context(account_id: &str) -> String {
    format!("anti-phishing:{account_id}")
}

/// The phrase as stored: trimmed, inner runs of spaces made one, and only
/// printable characters (no control or invisible ones, which would let two
/// phrases look alike).
pub fn normalize_phrase(phrase: &str) -> AppResult<String> {
    let words: Vec<&str> = phrase.split_whitespace().collect();
    let phrase = words.join(" ");
    let count = phrase.chars().count();
    if !(PHRASE_MIN_CHARS..=PHRASE_MAX_CHARS).contains(&count) {
        return Err(AppError::invalid(
            "phrase",
            format!("must be {PHRASE_MIN_CHARS} to {PHRASE_MAX_CHARS} characters"),
        ));
    }
    let invisible = |c: char| {
        c.is_control() || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}')
    };
    if phrase.chars().any(|c| invisible(c) || c == '\u{FEFF}' || c == '<' || c == '>') {
        return Err(AppError::invalid("phrase", "may hold letters, digits, spaces and punctuation other than < >"));
    }
    Ok(phrase)
}

impl App {
    /// `PUT /me/anti-phishing` (`Some`) and `DELETE` (`None`), in sudo mode
    /// or with a fresh `code`. The account's channels are told (the e-mail
    /// then already shows the new phrase; the SMS never does).
    pub async fn set_anti_phishing(
        &self,
        account_id: &str,
        session_token: &str,
        phrase: Option<&str>,
        code: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let phrase = phrase.map(normalize_phrase).transpose()?;
        self.limit_cost("anti-phishing", self.settings.costs.password_changes, account_id, meta).await?;
        let account = self.sudo_or_code(account_id, session_token, code, meta).await?;
        let sealed = phrase.as_ref().map(|p| self.keyring.seal(&phrase_context(account_id), p.as_bytes()));
        let lang = self.language_of(&account);
        let (kind, id) = match phrase {
            Some(_) => (AuditKind::AntiPhishingSet, "mail-anti-phishing-set-body"),
            None => (AuditKind::AntiPhishingRemoved, "mail-anti-phishing-removed-body"),
        };
        let now = self.now();
        let effects = Effects {
            audit: vec![AuditEvent { at: now, ..self.audit_event(kind, Some(account_id), meta, "") }],
            notices: self.current_channel_notices(
                &account,
                &self.text(lang, "mail-anti-phishing-subject", &[]),
                &self.text(lang, id, &[]),
            )?,
        };
        if !self.store.set_anti_phishing(account_id, sealed.as_deref(), &effects).await? {
            return Err(AppError::NotFound);
        }
        self.outbound_wake.notify_one();
        Ok(())
    }

    /// Whether the account has a phrase (the phrase itself is never answered).
    pub async fn has_anti_phishing(&self, account_id: &str) -> AppResult<bool> {
        Ok(self.store.anti_phishing(account_id).await?.is_some())
    }

    /// An e-mail about to leave, dressed for the account that has its
    /// address now: the phrase on the first line (if the owner set one) and
    /// the freeze link at the foot. Other messages go as they are.
    pub(crate) async fn dress(&self, mut message: Message) -> Result<Message, DeliveryError> {
        if message.channel != Channel::Email {
            return Ok(message);
        }
        let temporary = |e: crate::ports::StoreError| DeliveryError::temporary(format!("account not read: {e}"));
        let Some(account) = self.store.account_by_email(&message.to).await.map_err(temporary)? else {
            return Ok(message);
        };
        let lang = self.language_of(&account);
        let mut body = String::with_capacity(message.body.len() + 256);
        if let Some(sealed) = self.store.anti_phishing(&account.id).await.map_err(temporary)? {
            let plain = self
                .keyring
                .open(&phrase_context(&account.id), &sealed)
                .map_err(|e| DeliveryError::temporary(format!("anti-phishing phrase not opened: {e}")))?;
            let phrase = String::from_utf8_lossy(&plain);
            body.push_str(&self.text(lang, "mail-anti-phishing-line", &[("phrase", phrase.as_ref().into())]));
            body.push_str("\n\n");
        }
        body.push_str(&message.body);
        body.push_str("\n\n");
        body.push_str(&self.text(lang, "mail-freeze-footer", &[("link", self.freeze_link(&account.id).into())]));
        message.body = body;
        Ok(message)
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_phrase;

    #[test]
    fn phrases_are_tidied_and_checked() {
        assert_eq!(normalize_phrase("  blue   heron 42 ").unwrap(), "blue heron 42");
        assert_eq!(normalize_phrase("héron bleu").unwrap(), "héron bleu");
        for bad in ["abc", "", &"x".repeat(41), "a\u{200B}bcde", "<b>bold</b>", "tab\u{7}bell"] {
            assert!(normalize_phrase(bad).is_err(), "{bad:?}");
        }
    }
}
