//! Every value that carries a bearer secret (a session token, a backup key,
//! a case token, a code, a message text with a code in it, key bytes) keeps
//! it out of its `Debug` output, so that a `{:?}` in a log line or a panic
//! message cannot leak it.

use twostep_app::crypto::{Keyring, MasterKey, hex};
use twostep_app::login::{LoginOutcome, Session};
use twostep_app::ports::{Channel, Message, OutboxMessage};
use twostep_app::recovery::OpenedCase;
use twostep_app::security::WithdrawalRequest;
use twostep_app::totp::TotpEnrolment;
use twostep_domain::recovery::ResetItem;

const SECRET: &str = "K3YSECRETVALUE7Q";

fn assert_hidden(what: &str, debug: String, secret: &str) {
    assert!(!debug.contains(secret), "{what} shows its secret: {debug}");
}

#[test]
fn no_debug_output_holds_a_secret() {
    let session =
        Session { token: SECRET.into(), account_id: "acct-1".into(), expires_at: 7, device_token: Some(SECRET.into()) };
    let shown = format!("{session:?}");
    assert_hidden("Session", shown.clone(), SECRET);
    assert!(shown.contains("acct-1"), "{shown}");
    assert_hidden("LoginOutcome", format!("{:?}", LoginOutcome::Authenticated(session.clone())), SECRET);
    let pending = twostep_app::devices::PendingConfirmation {
        login_id: "login-1".into(),
        expires_at: 7,
        device_token: SECRET.into(),
    };
    let waiting = LoginOutcome::DeviceConfirmationRequired(pending);
    assert_hidden("LoginOutcome::DeviceConfirmationRequired", format!("{waiting:?}"), SECRET);
    let meta = twostep_app::RequestMeta {
        device_token: Some(twostep_app::devices::DeviceToken(SECRET.into())),
        ..Default::default()
    };
    assert_hidden("RequestMeta", format!("{meta:?}"), SECRET);

    let uri = format!("otpauth://totp/twostep:a%40example.com?secret={SECRET}&issuer=twostep");
    let enrolment = TotpEnrolment {
        setup_id: "setup-1".into(),
        backup_key: SECRET.into(),
        otpauth_uri: uri.clone(),
        qr_svg: twostep_app::totp::qr_svg(&uri),
    };
    let shown = format!("{enrolment:?}");
    assert_hidden("TotpEnrolment", shown.clone(), SECRET);
    assert!(!shown.contains("<svg") && !shown.contains("otpauth"), "{shown}");

    let case = OpenedCase {
        case_id: "case-1".into(),
        case_token: SECRET.into(),
        withdrawals_disabled_hours: 48,
        items: vec![ResetItem::Authenticator],
    };
    assert_hidden("OpenedCase", format!("{case:?}"), SECRET);

    let withdrawal = WithdrawalRequest {
        asset: "BTC".into(),
        amount: "1".into(),
        address: "addr".into(),
        code: Some(SECRET.into()),
    };
    assert_hidden("WithdrawalRequest", format!("{withdrawal:?}"), SECRET);

    let text = format!("Your code is {SECRET}. Cancel code: {SECRET}");
    let message = Message { channel: Channel::Sms, to: "+15550100".into(), subject: text.clone(), body: text.clone() };
    assert_hidden("Message", format!("{message:?}"), SECRET);
    let outbox =
        OutboxMessage { id: "m1".into(), channel: "sms".into(), to: "+15550100".into(), body: text, sent_at: 1 };
    assert_hidden("OutboxMessage", format!("{outbox:?}"), SECRET);

    let bytes = [0x5a; 32];
    let key = MasterKey::from_bytes(bytes);
    let key_hex = hex(&bytes);
    assert_hidden("MasterKey", format!("{key:?}"), &key_hex);
    assert_hidden("Keyring", format!("{:?}", Keyring::new(&key, &[])), &key_hex);
}
