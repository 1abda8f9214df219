//! What an application learns from twostep after the sign-in: the action
//! check before a withdrawal (a fresh step-up proof needed, a frozen account
//! and a security hold refused), and, after a recovery approval, the
//! back-channel logout token and the signed webhooks (Standard Webhooks),
//! both delivered through the outbound queue to the application's own
//! endpoints. On SQLite and PostgreSQL.

mod common;

use common::ok;
use hmac::{KeyInit, Mac};
use openidconnect::core::{
    CoreGenderClaim, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
};
use openidconnect::{AdditionalClaims, ClientId, IdToken, IdTokenVerifier, IssuerUrl, Nonce};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use twostep_domain::Role;
use twostep_testkit::recovery::{Owner, PW, approve_case, submitted_case, totp_owner};
use twostep_testkit::rp::{self, Receiver, Registered};
use twostep_testkit::{Backend, TestServer, oathtool, test_settings};

async fn provider(backend: Backend) -> TestServer {
    let mut settings = test_settings();
    settings.public_url = "http://127.0.0.1:{port}".into();
    TestServer::start_with(backend, settings).await
}

async fn totp_session(s: &TestServer, owner: &Owner) -> String {
    s.clock.advance(30);
    let step = ok(&s.login(&owner.email, PW).await, 200);
    let login_id = step["login_id"].as_str().unwrap();
    let code = oathtool(&owner.backup_key, s.now());
    let done = ok(&s.post(&format!("/api/v1/login/{login_id}/totp"), json!({"code": code}), None).await, 200);
    done["session_token"].as_str().unwrap().to_owned()
}

/// The claims of a back-channel logout token.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct LogoutClaims {
    jti: String,
    sid: String,
    events: Value,
}
impl AdditionalClaims for LogoutClaims {}
type LogoutToken = IdToken<LogoutClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

/// Standard Webhooks, checked as a receiver would: HMAC-SHA256 over
/// `id.timestamp.body` with the base64 secret after `whsec_`.
fn signature_ok(secret: &str, headers: &std::collections::HashMap<String, String>, body: &str) -> bool {
    let key = data_encoding::BASE64.decode(secret.trim_start_matches("whsec_").as_bytes()).unwrap();
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{body}", headers["webhook-id"], headers["webhook-timestamp"]).as_bytes());
    let expected = format!("v1,{}", data_encoding::BASE64.encode(&mac.finalize().into_bytes()));
    headers["webhook-signature"].split(' ').any(|s| s == expected)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_recovery_approval_the_application_is_signed_out_told_and_withdrawals_are_held() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = provider(backend).await;
        let rx = Receiver::start().await;
        let app = rp::register(&s, &rx, "exchange", false, true).await;
        let owner = totp_owner(&s, "held@example.com").await;
        let token = totp_session(&s, &owner).await;
        let session = (token.as_str(), owner.backup_key.as_str());
        // The application asks a little after the sign-in.
        s.clock.advance(5);
        let signed_in = rp::sign_in(&s, &rx, &app, session, &[]).await;
        let id_token = signed_in["id_token"].as_str().unwrap().to_owned();

        // The withdrawal path asks twostep: a sign-in is not a step-up.
        let ask = |proof: Option<&str>| json!({"sub": owner.account_id, "action": "withdrawal", "acr_proof": proof});
        let verdict = ok(&rp::check_action(&s, &app, ask(None)).await, 200);
        assert_eq!(
            verdict,
            json!({"allowed": false, "reason": "step_up_required", "acr_values": "urn:twostep:acr:step-up"})
        );
        let verdict = ok(&rp::check_action(&s, &app, ask(Some(&id_token))).await, 200);
        assert_eq!(verdict["reason"], "step_up_required", "{backend:?}: an ID token without step-up");

        // Step-up by acr_values: the authenticator again, then allowed.
        s.clock.advance(10);
        let stepped = rp::sign_in(&s, &rx, &app, session, &[("acr_values", "urn:twostep:acr:step-up")]).await;
        let proof = stepped["id_token"].as_str().unwrap().to_owned();
        assert_eq!(ok(&rp::check_action(&s, &app, ask(Some(&proof))).await, 200), json!({"allowed": true}));
        // Another application's token, or another account, is no proof.
        let stranger = s.verified_account("stranger@example.com", PW).await;
        let (status, _) = rp::check_action(&s, &app, json!({"sub": stranger, "action": "withdrawal"})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{backend:?}: an account that never signed in to it");
        let wrong = Registered {
            client_secret: Some("not-the-secret".into()),
            ..rp::register(&s, &rx, "other", false, true).await
        };
        let (status, _) = rp::check_action(&s, &wrong, ask(Some(&proof))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        // The proof grows stale.
        s.clock.advance(6 * 60);
        assert_eq!(ok(&rp::check_action(&s, &app, ask(Some(&proof))).await, 200)["reason"], "step_up_required");

        // The phone with the authenticator is lost; staff approve the case.
        let (_, step) = s.login(&owner.email, PW).await;
        let login_id = step["login_id"].as_str().unwrap();
        ok(&s.post(&format!("/api/v1/login/{login_id}/recovery"), json!({}), None).await, 201);
        s.clock.advance(60);
        let case = submitted_case(&s, &owner, json!({"reset": ["authenticator"]})).await;
        let rev = s.staff_with_authenticator("rev@example.com", Role::Reviewer).await.token;
        approve_case(&s, &case, &rev).await;
        let approved_at = s.now();

        // The application's session ends: one logout token for the two
        // grants of that session, signed by a key of the JWKS, naming it.
        rx.wait_for("/backchannel", 1).await;
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        s.settle().await;
        let told = rx.at("/backchannel");
        assert_eq!(told.len(), 1, "{backend:?}: one token per application and session");
        let jwks: CoreJsonWebKeySet =
            s.client().get(format!("{}/oauth2/jwks", s.url)).send().await.unwrap().json().await.unwrap();
        let verifier = IdTokenVerifier::new_public_client(
            ClientId::new("exchange".into()),
            IssuerUrl::new(s.url.clone()).unwrap(),
            jwks,
        );
        let sid = rp_claim(&id_token, "sid");
        let mut sids = Vec::new();
        for t in &told {
            assert_eq!(t.headers["content-type"], "application/x-www-form-urlencoded");
            let raw = t.body.strip_prefix("logout_token=").expect("a logout_token form");
            let logout: LogoutToken = raw.parse().expect("a JWT");
            let claims = logout.claims(&verifier, |_: Option<&Nonce>| Ok(())).expect("signed by twostep");
            assert_eq!(claims.subject().as_str(), owner.account_id);
            let extra = claims.additional_claims();
            assert!(extra.events.get("http://schemas.openid.net/event/backchannel-logout").is_some());
            assert!(!extra.jti.is_empty());
            sids.push(extra.sid.clone());
        }
        assert!(sids.iter().all(|s| *s == sid), "{backend:?}: {sids:?} vs {sid}");
        // And the refresh token no longer works.
        let refresh = signed_in["refresh_token"].as_str().unwrap();
        let (status, answer) =
            rp::token(&s, &app, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
        assert_eq!((status, answer["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));

        // The withdrawal path hears of the hold, until exactly 48 hours on.
        let verdict = ok(&rp::check_action(&s, &app, ask(Some(&proof))).await, 200);
        let until = twostep_web::time::rfc3339(approved_at + 48 * 3600);
        assert_eq!(verdict, json!({"allowed": false, "reason": "security_hold", "until": until}), "{backend:?}");

        // The webhooks: recovery opened, submitted, approved, and the hold,
        // each signed with the application's secret.
        let secret = app.webhook_secret.clone().expect("a webhook secret");
        let hooks = rx.wait_for("/webhook", 4).await;
        let mut kinds = Vec::new();
        for h in &hooks {
            assert!(signature_ok(&secret, &h.headers, &h.body), "{backend:?}: a bad signature on {}", h.body);
            let sent: i64 = h.headers["webhook-timestamp"].parse().unwrap();
            let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
            assert!((wall - sent).abs() < 300, "the timestamp is when it was sent");
            let event: Value = serde_json::from_str(&h.body).unwrap();
            assert_eq!(event["data"]["sub"], owner.account_id.as_str());
            if event["type"] == "hold.started" {
                assert_eq!(event["data"]["withdrawals_blocked_until"], approved_at + 48 * 3600);
            }
            kinds.push(event["type"].as_str().unwrap().to_owned());
        }
        for kind in ["recovery.opened", "recovery.submitted", "recovery.approved", "hold.started"] {
            assert!(kinds.iter().any(|k| k == kind), "{backend:?}: no {kind} in {kinds:?}");
        }
        assert!(!signature_ok("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &hooks[0].headers, &hooks[0].body));
        s.stop().await;
    }
}

/// A claim of a JWT the library already checked.
fn rp_claim(jwt: &str, name: &str) -> String {
    let part = jwt.split('.').nth(1).unwrap();
    let v: Value = serde_json::from_slice(&data_encoding::BASE64URL_NOPAD.decode(part.as_bytes()).unwrap()).unwrap();
    v[name].as_str().unwrap().to_owned()
}
