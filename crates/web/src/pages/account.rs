//! Security settings of the signed-in account: the overview, binding an
//! authenticator and a phone, changing the password, security questions, the
//! activity list and the withdrawal form with the hold countdown.

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};
use twostep_app::AppError;
use twostep_app::accounts::AccountOverview;
use twostep_app::codes::CodeSent;
use twostep_app::ports::Channel;
use twostep_app::security::WithdrawalRequest;

use super::render::{Errors, failure, render_status};
use super::sudo::confirm_first;
use super::{PageForm, SignedIn, see_other};

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// The account as the templates show it, in `lang`.
fn account_ctx(o: &AccountOverview, now: i64, lang: twostep_app::Lang) -> Value {
    let hold = o.withdrawals_blocked_until.filter(|until| *until > now);
    context! {
        email => o.email,
        phone => o.phone,
        totp => o.totp,
        passkeys => o.passkeys,
        phone_bound => o.phone_bound,
        staff => o.role.as_str() != "user",
        hold_until => hold,
        hold_left => hold.map(|h| super::texts::wait(lang, h - now)),
        hold_remaining => hold.map(|h| h - now),
        phrase_set => o.anti_phishing_phrase_set,
    }
}

/// Renders `name` for the signed-in account, with its overview as `account`.
pub(super) async fn show(s: &SignedIn, name: &str, status: StatusCode, ctx: Value) -> Response {
    match s.page.app().overview(&s.account_id).await {
        Ok(o) => {
            let account = account_ctx(&o, s.page.app().now(), s.page.lang);
            render_status(&s.page, status, name, context! { account => account, ..ctx })
        }
        Err(e) => failure(&s.page, e),
    }
}

fn status_of(errors: &Errors) -> StatusCode {
    if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST }
}

pub async fn overview(s: SignedIn, Query(q): Query<DoneQuery>) -> Response {
    let notice = match q.done.as_deref() {
        Some("authenticator") => Some("account-done-authenticator"),
        Some("authenticator_removed") => Some("account-done-authenticator-removed"),
        Some("phone") => Some("account-done-phone"),
        Some("password") => Some("account-done-password"),
        Some("questions") => Some("account-done-questions"),
        Some("anti_phishing") => Some("account-done-phrase"),
        Some("anti_phishing_removed") => Some("account-done-phrase-removed"),
        _ => None,
    };
    show(&s, "account.html", StatusCode::OK, context! { notice => notice }).await
}

// ---- authenticator --------------------------------------------------------------

/// An enrolment in progress as the page shows it. The page is not cached,
/// and the key travels back in the confirm form only so that a mistyped
/// code can be corrected without starting over.
#[derive(Serialize)]
struct Setup {
    setup_id: String,
    backup_key: String,
    groups: Vec<String>,
    otpauth_uri: String,
    qr_svg: String,
}

fn setup(setup_id: String, backup_key: String, otpauth_uri: String) -> Setup {
    let svg = twostep_app::totp::qr_svg(&otpauth_uri);
    // Inline in HTML: drop the XML prolog, keep the drawing.
    let qr_svg = svg.find("<svg").map(|at| svg[at..].to_owned()).unwrap_or_default();
    let groups = backup_key.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    Setup { setup_id, backup_key, groups, otpauth_uri, qr_svg }
}

pub async fn authenticator_page(s: SignedIn) -> Response {
    show(&s, "authenticator.html", StatusCode::OK, context! { errors => Errors::default() }).await
}

pub async fn authenticator_start(s: SignedIn, PageForm(_): PageForm<serde::de::IgnoredAny>) -> Response {
    match s.page.app().start_totp_enrolment(&s.account_id, &s.token, &s.page.meta).await {
        Err(AppError::StepUpRequired { .. }) => confirm_first("/account/authenticator"),
        Ok(e) => {
            let setup = setup(e.setup_id, e.backup_key, e.otpauth_uri);
            show(&s, "authenticator.html", StatusCode::OK, context! { setup => setup, errors => Errors::default() })
                .await
        }
        Err(e) => {
            show(&s, "authenticator.html", StatusCode::BAD_REQUEST, context! { errors => s.page.errors(e) }).await
        }
    }
}

/// `POST /account/authenticator/remove`: in sudo mode (a code of the
/// authenticator itself, or of the phone).
pub async fn authenticator_remove(s: SignedIn, PageForm(_): PageForm<serde::de::IgnoredAny>) -> Response {
    match s.page.app().disable_totp(&s.account_id, &s.token, None, &s.page.meta).await {
        Ok(()) => see_other("/account?done=authenticator_removed"),
        Err(AppError::StepUpRequired { .. }) => confirm_first("/account/authenticator"),
        Err(e) => {
            show(&s, "authenticator.html", StatusCode::BAD_REQUEST, context! { errors => s.page.errors(e) }).await
        }
    }
}

/// `POST /account/authenticator/replace`: removes the bound authenticator
/// and starts setting up the new one. When what proved it was you was the
/// old authenticator, the set-up first asks again, with what is left.
pub async fn authenticator_replace(s: SignedIn, PageForm(_): PageForm<serde::de::IgnoredAny>) -> Response {
    match s.page.app().disable_totp(&s.account_id, &s.token, None, &s.page.meta).await {
        Ok(()) => {}
        Err(AppError::StepUpRequired { .. }) => return confirm_first("/account/authenticator"),
        Err(e) => {
            return show(&s, "authenticator.html", StatusCode::BAD_REQUEST, context! { errors => s.page.errors(e) })
                .await;
        }
    }
    authenticator_start(s, PageForm(serde::de::IgnoredAny)).await
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    setup_id: String,
    shown_key: String,
    otpauth_uri: String,
    backup_key: String,
    code: String,
}

pub async fn authenticator_confirm(s: SignedIn, PageForm(f): PageForm<ConfirmForm>) -> Response {
    let app = s.page.app();
    match app.confirm_totp_enrolment(&s.account_id, &s.token, &f.setup_id, &f.backup_key, &f.code, &s.page.meta).await {
        Ok(()) => see_other("/account?done=authenticator"),
        Err(AppError::StepUpRequired { .. }) => confirm_first("/account/authenticator"),
        Err(e) => {
            let errors = s.page.errors(e);
            let setup = setup(f.setup_id, f.shown_key, f.otpauth_uri);
            let ctx = context! { setup => setup, errors => errors, typed_key => f.backup_key };
            show(&s, "authenticator.html", StatusCode::BAD_REQUEST, ctx).await
        }
    }
}

// ---- phone ----------------------------------------------------------------------

#[derive(Serialize)]
struct Sent {
    channel: &'static str,
    sent_to: String,
    expires: minijinja::Value,
    resend_after_s: i64,
}

impl From<CodeSent> for Sent {
    fn from(c: CodeSent) -> Self {
        Sent {
            channel: c.channel.as_str(),
            sent_to: c.sent_to,
            expires: super::render::time_tag(c.expires_at),
            resend_after_s: c.resend_after_s,
        }
    }
}

pub async fn phone_page(s: SignedIn) -> Response {
    show(&s, "phone.html", StatusCode::OK, context! { errors => Errors::default() }).await
}

#[derive(Deserialize)]
pub struct PhoneForm {
    phone: String,
}

pub async fn phone_start(s: SignedIn, PageForm(f): PageForm<PhoneForm>) -> Response {
    let result = s.page.app().start_phone_binding(&s.account_id, &s.token, &f.phone, &s.page.meta).await;
    let (sent, errors) = match result {
        Err(AppError::StepUpRequired { .. }) => return confirm_first("/account/phone"),
        Ok(sent) => (Some(Sent::from(sent)), Errors::default()),
        Err(e) => (None, s.page.errors(e)),
    };
    let status = status_of(&errors);
    show(&s, "phone.html", status, context! { sent => sent, errors => errors, number => f.phone }).await
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

pub async fn phone_confirm(s: SignedIn, PageForm(f): PageForm<CodeForm>) -> Response {
    match s.page.app().confirm_phone_binding(&s.account_id, &s.token, &f.code, &s.page.meta).await {
        Ok(_) => see_other("/account?done=phone"),
        Err(AppError::StepUpRequired { .. }) => confirm_first("/account/phone"),
        Err(e) => {
            let ctx = context! { awaiting_code => true, errors => s.page.errors(e) };
            show(&s, "phone.html", StatusCode::BAD_REQUEST, ctx).await
        }
    }
}

// ---- step-up codes, password, withdrawals ----------------------------------------

#[derive(Deserialize)]
pub struct StepUpForm {
    channel: String,
    back: String,
}

/// Sends a code for a sensitive action and shows the form it was asked from.
pub async fn step_up_code(s: SignedIn, PageForm(f): PageForm<StepUpForm>) -> Response {
    let template = if f.back == "password" { "password.html" } else { "withdraw.html" };
    let Some(channel) = Channel::parse(&f.channel) else {
        return show(
            &s,
            template,
            StatusCode::BAD_REQUEST,
            context! { errors => Errors::field("channel", "Choose a channel.") },
        )
        .await;
    };
    let (sent, errors) = match s.page.app().send_step_up_code(&s.account_id, channel, &s.page.meta).await {
        Ok(sent) => (Some(Sent::from(sent)), Errors::default()),
        Err(e) => (None, s.page.errors(e)),
    };
    let status = status_of(&errors);
    show(&s, template, status, context! { sent => sent, errors => errors }).await
}

pub async fn password_page(s: SignedIn) -> Response {
    show(&s, "password.html", StatusCode::OK, context! { errors => Errors::default() }).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    #[serde(default)]
    code: String,
}

pub async fn password_change(s: SignedIn, PageForm(f): PageForm<PasswordForm>) -> Response {
    let app = s.page.app();
    let result = app
        .change_password(&s.account_id, &s.token, &f.current_password, &f.new_password, Some(&f.code), &s.page.meta)
        .await;
    match result {
        Ok(()) => see_other("/account?done=password"),
        Err(AppError::StepUpRequired { .. }) => confirm_first("/account/password"),
        Err(AppError::InvalidCredentials) => {
            let errors = Errors::text(s.page.lang, "current_password", "password-wrong-current");
            show(&s, "password.html", StatusCode::BAD_REQUEST, context! { errors => errors }).await
        }
        Err(e) => show(&s, "password.html", StatusCode::BAD_REQUEST, context! { errors => s.page.errors(e) }).await,
    }
}

pub async fn activity(s: SignedIn) -> Response {
    let events = match s.page.app().activity(&s.account_id).await {
        Ok(events) => events,
        Err(e) => return failure(&s.page, e),
    };
    let rows: Vec<Value> = events
        .iter()
        .map(|e| {
            context! {
                at => e.at,
                iso => crate::time::rfc3339(e.at),
                what => super::audit_words(s.page.lang, &e.kind),
                ip => e.ip,
                user_agent => e.user_agent,
                by => e.by,
            }
        })
        .collect();
    show(&s, "activity.html", StatusCode::OK, context! { events => rows }).await
}

/// Audit kinds in words; a kind this version does not know (written by a
/// newer one) is shown as it is named.
pub(crate) fn describe(kind: &str) -> String {
    super::audit_words(twostep_app::Lang::En, kind)
}

pub async fn withdraw_page(s: SignedIn) -> Response {
    show(&s, "withdraw.html", StatusCode::OK, context! { errors => Errors::default() }).await
}

#[derive(Deserialize, Serialize)]
pub struct WithdrawForm {
    asset: String,
    amount: String,
    address: String,
    #[serde(default)]
    code: String,
}

pub async fn withdraw(s: SignedIn, PageForm(f): PageForm<WithdrawForm>) -> Response {
    let code = Some(f.code).filter(|c| !c.trim().is_empty());
    let request =
        WithdrawalRequest { asset: f.asset.clone(), amount: f.amount.clone(), address: f.address.clone(), code };
    match s.page.app().request_withdrawal(&s.account_id, &s.token, &request, &s.page.meta).await {
        Err(AppError::StepUpRequired { .. }) => confirm_first("/account/withdraw"),
        Ok(id) => {
            show(&s, "withdraw.html", StatusCode::OK, context! { errors => Errors::default(), requested => id }).await
        }
        Err(e) => {
            let values = context! { asset => f.asset, amount => f.amount, address => f.address };
            show(
                &s,
                "withdraw.html",
                StatusCode::BAD_REQUEST,
                context! { errors => s.page.errors(e), values => values },
            )
            .await
        }
    }
}

// ---- security questions ------------------------------------------------------------

pub async fn questions_page(s: SignedIn) -> Response {
    show_questions(&s, StatusCode::OK, Errors::default()).await
}

async fn show_questions(s: &SignedIn, status: StatusCode, errors: Errors) -> Response {
    show_questions_typed(s, status, errors, Vec::new()).await
}

/// The questions page, with what was typed back in its boxes.
async fn show_questions_typed(
    s: &SignedIn,
    status: StatusCode,
    errors: Errors,
    typed: Vec<(String, String)>,
) -> Response {
    let catalogue: Vec<Value> = s
        .page
        .app()
        .security_question_catalogue()
        .into_iter()
        .map(|q| context! { id => q.question_id, text => q.text })
        .collect();
    let answers: std::collections::BTreeMap<String, String> = typed.into_iter().collect();
    show(s, "questions.html", status, context! { catalogue => catalogue, errors => errors, answers => answers }).await
}

/// `answer:<question_id>` fields; blank ones are questions not chosen.
pub async fn questions_save(s: SignedIn, PageForm(fields): PageForm<Vec<(String, String)>>) -> Response {
    let answers: Vec<(String, String)> = fields
        .into_iter()
        .filter_map(|(k, v)| k.strip_prefix("answer:").map(|id| (id.to_owned(), v)))
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    let result = s.page.app().set_security_questions(&s.account_id, &s.token, &answers, &s.page.meta).await;
    match result {
        Ok(()) => see_other("/account?done=questions"),
        Err(AppError::StepUpRequired { .. }) => confirm_first("/account/questions"),
        Err(e) => {
            let mut errors = s.page.errors(e);
            // The rule is about the set of answers, not one box.
            if let Some(m) = errors.fields.remove("answers").or_else(|| errors.fields.remove("question_id")) {
                errors.form = Some(m);
            }
            show_questions_typed(&s, StatusCode::BAD_REQUEST, errors, answers).await
        }
    }
}
