//! What a page says about a refusal, in the page's language, from the
//! catalogues (`errors.ftl`). The use cases refuse in the API's English
//! (the contract in docs/api.md); here each kind of refusal becomes a
//! catalogue text, and the field refusals and conflicts that people meet
//! are matched by their English words to a text of their own. A refusal
//! with no text of its own reads, in English, as the use case put it, and
//! in another language as the general text of its kind.

use axum::http::StatusCode;
use twostep_app::i18n::{text, text_with};
use twostep_app::{AppError, Lang};

use super::render::{Errors, human_time};
use crate::error::ApiError;

/// A use case's refusal as a form shows it.
pub(super) fn refusal(lang: Lang, e: AppError) -> Errors {
    let t = |id: &str| text(lang, id);
    match e {
        AppError::InvalidRequest { field, message } => {
            let said = invalid(lang, &field, &message);
            Errors::field(&field, said)
        }
        AppError::InvalidCode => Errors::field("code", t("error-invalid-code")),
        AppError::CodeAlreadyUsed => Errors::field("code", t("error-code-already-used")),
        AppError::CaptchaFailed => Errors::form(t("error-captcha-failed")),
        AppError::CaptchaTooEasy { .. } => Errors::form(t("error-captcha-too-easy")),
        AppError::StepUpRequired { .. } => Errors::form(t("error-step-up-required")),
        AppError::EmailUnverified => Errors::form(t("error-email-unverified")),
        AppError::TooManyAttempts { retry_after_s } => {
            Errors::form(text_with(lang, "error-too-many-attempts", &[("wait", wait(lang, retry_after_s).into())]))
        }
        AppError::SecurityHold { until } => {
            Errors::form(text_with(lang, "error-security-hold", &[("until", human_time(until).into())]))
        }
        AppError::Conflict(message) => Errors::form(conflict(lang, &message)),
        // Staff refusals say what the person can do; the staff console
        // shows them as the use case words them.
        AppError::Staff(refusal) => Errors::form(refusal.message()),
        other => {
            let api = ApiError::from(other);
            Errors::form(t(kind_text(api.code)))
        }
    }
}

/// The general text of a refusal by its API code.
fn kind_text(code: &str) -> &'static str {
    match code {
        "invalid_credentials" => "error-invalid-credentials",
        "unauthorized" => "error-unauthorized",
        "invalid_code" => "error-invalid-code",
        "email_unverified" => "error-email-unverified",
        "captcha_failed" => "error-captcha-failed",
        "step_up_required" => "error-step-up-required",
        "forbidden" => "error-forbidden",
        "not_found" => "error-not-found",
        "conflict" => "error-conflict",
        "payload_too_large" => "error-payload-too-large",
        "unsupported_media_type" => "error-unsupported-media",
        "too_many_attempts" => "error-busy",
        "unavailable" => "error-unavailable",
        "invalid_request" => "error-invalid",
        _ => "error-internal",
    }
}

/// A refusal outside any form: its status and one sentence.
pub(super) fn failure(lang: Lang, e: AppError) -> (StatusCode, String) {
    let api = ApiError::from(e);
    (api.status, text(lang, kind_text(api.code)))
}

/// "The first letter up, a full stop at the end": a use case's own words
/// made a sentence.
fn sentence(s: &str) -> String {
    let mut c = s.chars();
    let first = c.next().map(|f| f.to_uppercase().collect::<String>()).unwrap_or_default();
    let mut out = format!("{first}{}", c.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// A refusal with no text of its own: the use case's words in English, the
/// general text `id` otherwise.
fn as_said(lang: Lang, message: &str, id: &str) -> String {
    if lang == Lang::En { sentence(message) } else { text(lang, id) }
}

/// A field's refusal, by the words the rules used.
fn invalid(lang: Lang, field: &str, message: &str) -> String {
    let number = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(" characters"))
            .and_then(|n| n.parse::<i64>().ok())
    };
    if message == "is required" {
        return text(lang, "invalid-required");
    }
    if field.contains("password") {
        if let Some(n) = number("must be at least ") {
            return text_with(lang, "invalid-password-short", &[("n", n.into())]);
        }
        if let Some(n) = number("must be at most ") {
            return text_with(lang, "invalid-password-long", &[("n", n.into())]);
        }
    }
    if field == "email" || field == "new_email" {
        let id = match message {
            "is too long" => "invalid-email-too-long",
            "must not contain invisible or text-direction characters" => "invalid-email-invisible",
            "must not contain spaces or control characters" => "invalid-email-spaces",
            m if m.starts_with("must be a bare address") => "invalid-email-bare",
            "must contain exactly one @" => "invalid-email-one-at",
            "the part before @ must be 1 to 64 characters" => "invalid-email-local-length",
            m if m.starts_with("the part before @ may only hold") => "invalid-email-local-chars",
            m if m.starts_with("the part before @ must not start or end with a dot") => "invalid-email-local-dots",
            m if m.starts_with("the part before @ must not mix") => "invalid-email-local-scripts",
            "the domain must contain a dot" => "invalid-email-domain-dot",
            m if m.starts_with("the domain must not mix") => "invalid-email-domain-scripts",
            m if m.starts_with("the domain") => "invalid-email-domain",
            _ => return as_said(lang, message, "invalid-email"),
        };
        return text(lang, id);
    }
    if field == "phone" || field == "new_phone" {
        if message.starts_with("cannot receive codes") {
            return text(lang, "invalid-phone-premium");
        }
        return as_said(lang, message, "invalid-phone");
    }
    if field == "channel" {
        return text(lang, "invalid-channel");
    }
    as_said(lang, message, "error-invalid")
}

/// A conflict, by the words the use case used.
fn conflict(lang: Lang, message: &str) -> String {
    let id = match message {
        "this sign-in is already complete" => "conflict-sign-in-complete",
        "this code has just been used" => "conflict-code-just-used",
        "the password was changed meanwhile; sign in again" => "conflict-password-changed",
        "no authenticator is bound" | "no authenticator is bound; choose another method" => "conflict-no-authenticator",
        "this method is not available for this account" => "conflict-method-unavailable",
        "no phone is bound to this account" => "conflict-no-phone",
        _ => return as_said(lang, message, "error-conflict"),
    };
    text(lang, id)
}

/// "42 seconds", "3 minutes", "2 hours": how long to wait, rounded up.
pub fn wait(lang: Lang, seconds: i64) -> String {
    let (id, n) = match seconds.max(1) {
        s if s < 120 => ("error-wait-seconds", s),
        s if s < 7200 => ("error-wait-minutes", (s + 59) / 60),
        s => ("error-wait-hours", (s + 3599) / 3600),
    };
    text_with(lang, id, &[("n", n.into())])
}

/// An audit event's kind in words of `lang`; a kind this version does not
/// know (written by a newer one) is shown as it is named.
pub fn audit_words(lang: Lang, kind: &str) -> String {
    match twostep_domain::audit_kind::AuditKind::parse(kind) {
        Some(known) => text(lang, &format!("audit-{}", known.as_str().replace('_', "-"))),
        None => kind.replace('_', " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_said_in_the_page_language() {
        let fr = refusal(Lang::Fr, AppError::InvalidCode);
        assert_eq!(fr.fields["code"], "Ce code est faux, expiré ou déjà utilisé.");
        let en = refusal(Lang::En, AppError::TooManyAttempts { retry_after_s: 90 });
        assert_eq!(en.form.as_deref(), Some("Too many attempts. Please wait 90 seconds and try again."));
        let fr = refusal(Lang::Fr, AppError::TooManyAttempts { retry_after_s: 600 });
        assert_eq!(fr.form.as_deref(), Some("Trop de tentatives. Veuillez patienter 10 minutes et réessayer."));
        let fr = refusal(Lang::Fr, AppError::InvalidCredentials);
        assert_eq!(fr.form.as_deref(), Some("Cette adresse e-mail et ce mot de passe n’ont pas été acceptés."));
        assert_eq!(failure(Lang::Fr, AppError::Unavailable("db".into())).0, StatusCode::SERVICE_UNAVAILABLE);
    }

    /// Every refusal of the address and password rules has a text of its
    /// own, so a French page never shows the rules' English.
    #[test]
    fn field_rules_have_their_own_texts() {
        let bad_addresses = [
            "",
            "a b@example.com",
            "Name <a@example.com>",
            "a@@example.com",
            "no-at.example.com",
            ".a@example.com",
            "a..b@example.com",
            "a@example",
            "a@-example.com",
            "a\u{202e}@example.com",
        ];
        for input in bad_addresses {
            let Err(twostep_domain::DomainError::InvalidField { field, message }) =
                twostep_domain::normalize_email(input)
            else {
                panic!("{input:?} was accepted")
            };
            let said = invalid(Lang::Fr, field, &message);
            assert!(!said.contains(&message), "{input:?}: {message} has no French text");
        }
        for password in ["short", &"x".repeat(200)] {
            let Err(twostep_domain::DomainError::InvalidField { field, message }) =
                twostep_domain::validate_password("new_password", password)
            else {
                panic!("{password:?} was accepted")
            };
            assert!(invalid(Lang::Fr, field, &message).starts_with("Le mot de passe doit compter"), "{message}");
        }
        assert_eq!(invalid(Lang::En, "amount", "must be positive"), "Must be positive.");
        assert_eq!(invalid(Lang::Fr, "amount", "must be positive"), "Cette valeur n’est pas acceptée.");
    }

    #[test]
    fn audit_kinds_are_words() {
        assert_eq!(audit_words(Lang::En, "login_ok"), "Signed in");
        assert_eq!(audit_words(Lang::Fr, "login_ok"), "Connexion");
        assert_eq!(audit_words(Lang::Fr, "some_future_kind"), "some future kind");
    }

    #[test]
    fn waits_read_naturally() {
        assert_eq!(wait(Lang::En, 1), "1 second");
        assert_eq!(wait(Lang::En, 150), "3 minutes");
        assert_eq!(wait(Lang::Fr, 7200), "2 heures");
    }
}
