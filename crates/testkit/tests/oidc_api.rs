//! The OpenID Connect provider's protocol, request by request: what it
//! refuses (and never redirects to an unregistered address), codes used
//! once, client authentication and its limit, revocation, consent for a
//! third-party application, signing-key rotation, and a webhook endpoint
//! that keeps failing counted as dead letters. On SQLite and PostgreSQL.

mod common;

use common::ok;
use openidconnect::core::{CoreIdToken, CoreJsonWebKeySet};
use openidconnect::{ClientId, IdTokenVerifier, IssuerUrl, Nonce};
use reqwest::StatusCode;
use serde_json::{Value, json};
use twostep_testkit::recovery::{PW, totp_owner};
use twostep_testkit::rp::{self, Receiver, Registered, pkce, query_of};
use twostep_testkit::{Backend, TestServer, test_settings};

async fn provider_with(backend: Backend, mut settings: twostep_app::Settings) -> TestServer {
    settings.public_url = "http://127.0.0.1:{port}".into();
    TestServer::start_with(backend, settings).await
}

async fn provider(backend: Backend) -> TestServer {
    provider_with(backend, test_settings()).await
}

fn params<'a>(app: &'a str, redirect: &'a str, challenge: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", app),
        ("redirect_uri", redirect),
        ("scope", "openid email"),
        ("state", "st"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

fn with<'a>(mut p: Vec<(&'a str, &'a str)>, key: &'a str, value: &'a str) -> Vec<(&'a str, &'a str)> {
    p.retain(|(k, _)| *k != key);
    if !value.is_empty() {
        p.push((key, value));
    }
    p
}

/// The error an authorization request was sent back to the application with.
async fn sent_back_with(s: &TestServer, token: Option<&str>, p: &[(&str, &str)], redirect: &str) -> String {
    let (status, location, body) = rp::authorize(s, token, p).await;
    let location = location.unwrap_or_else(|| panic!("{status}: {body}"));
    assert!(location.starts_with(redirect), "{location}");
    let q = query_of(&location);
    assert_eq!(q.get("state").map(String::as_str), Some("st"), "{location}");
    q.get("error").cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_protocol_refuses_what_it_must_and_never_redirects_to_an_unregistered_address() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = provider(backend).await;
        let rx = Receiver::start().await;
        let app = rp::register(&s, &rx, "wallet", false, true).await;
        let spa = rp::register(&s, &rx, "spa", true, true).await;
        let redirect = format!("{}/callback", rx.url);
        let p = pkce();
        let base = params("wallet", &redirect, &p.challenge);

        let discovery = ok(&s.get("/.well-known/openid-configuration", None).await, 200);
        assert_eq!(discovery["issuer"], s.url.as_str());
        assert_eq!(discovery["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(discovery["backchannel_logout_supported"], true);
        assert_eq!(discovery["id_token_signing_alg_values_supported"], json!(["RS256"]));
        assert!(discovery["acr_values_supported"].as_array().unwrap().contains(&json!("urn:twostep:acr:step-up")));
        let jwks = ok(&s.get("/oauth2/jwks", None).await, 200);
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 1, "{jwks}");
        assert_eq!(jwks["keys"][0]["kty"], "RSA");
        assert!(jwks["keys"][0].get("d").is_none(), "the private key is never published");

        // Shown to the person, never sent anywhere.
        for (bad, why) in [
            (with(base.clone(), "client_id", "nobody"), "unknown client"),
            (with(base.clone(), "redirect_uri", "https://evil.example/callback"), "unregistered redirect"),
            (with(base.clone(), "redirect_uri", &format!("{redirect}/")), "a redirect that only starts alike"),
            (with(base.clone(), "client_id", ""), "no client"),
        ] {
            let (status, location, _) = rp::authorize(&s, None, &bad).await;
            assert_eq!((status, location), (StatusCode::BAD_REQUEST, None), "{backend:?}: {why}");
        }
        // Sent back to the application, with the reason and its state.
        assert_eq!(
            sent_back_with(&s, None, &with(base.clone(), "response_type", "token"), &redirect).await,
            "unsupported_response_type"
        );
        assert_eq!(sent_back_with(&s, None, &with(base.clone(), "scope", "email"), &redirect).await, "invalid_scope");
        assert_eq!(
            sent_back_with(&s, None, &with(base.clone(), "code_challenge_method", "plain"), &redirect).await,
            "invalid_request"
        );
        assert_eq!(
            sent_back_with(&s, None, &with(base.clone(), "max_age", "soon"), &redirect).await,
            "invalid_request"
        );
        assert_eq!(
            sent_back_with(&s, None, &with(base.clone(), "request", "eyJ"), &redirect).await,
            "request_not_supported"
        );
        assert_eq!(sent_back_with(&s, None, &with(base.clone(), "prompt", "none"), &redirect).await, "login_required");
        let spa_base = params("spa", &redirect, &p.challenge);
        let no_pkce = with(with(spa_base.clone(), "code_challenge", ""), "code_challenge_method", "");
        assert_eq!(
            sent_back_with(&s, None, &no_pkce, &redirect).await,
            "invalid_request",
            "{backend:?}: a public client without PKCE"
        );
        // Signed out: to the sign-in page, which comes back to the request.
        let (status, location, _) = rp::authorize(&s, None, &base).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(location.unwrap().starts_with("/login?next=%2Faccount%2Fauthorize%3Frequest%3D"));

        // A code, once; used again, the grant of its first use ends too.
        s.verified_account("person@example.com", PW).await;
        let token = s.session("person@example.com", PW).await;
        s.clock.advance(5);
        // prompt=login: a whole new sign-in, even signed in; max_age: a proof
        // once the latest is older.
        let (_, location, _) = rp::authorize(&s, Some(&token), &with(base.clone(), "prompt", "login")).await;
        assert!(location.unwrap().starts_with("/login?next=%2Faccount%2Fauthorize"), "{backend:?}");
        s.clock.advance(120);
        let (_, location, _) = rp::authorize(&s, Some(&token), &with(base.clone(), "max_age", "60")).await;
        assert!(location.unwrap().starts_with("/account/confirm?next="), "{backend:?}");
        let (_, location, _) = rp::authorize(&s, Some(&token), &with(base.clone(), "max_age", "600")).await;
        assert!(location.unwrap().starts_with(&redirect), "{backend:?}");
        let (_, location, _) = rp::authorize(&s, Some(&token), &base).await;
        let code = query_of(&location.unwrap())["code"].clone();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("code_verifier", p.verifier.as_str()),
        ];
        let wrong_secret =
            Registered { client_secret: Some("nope".into()), ..rp::register(&s, &rx, "w2", false, true).await };
        let (status, refused) = rp::token(&s, &Registered { client_id: "wallet".into(), ..wrong_secret }, &form).await;
        assert_eq!((status, refused["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
        let first = ok(&rp::token(&s, &app, &form).await, 200);
        assert_eq!(first["token_type"], "bearer");
        assert_eq!(first["expires_in"], 600);
        let access = first["access_token"].as_str().unwrap();
        let userinfo = |t: String| {
            let s = &s;
            async move { s.client().get(format!("{}/oauth2/userinfo", s.url)).bearer_auth(t).send().await.unwrap() }
        };
        let info: Value = userinfo(access.to_owned()).await.json().await.unwrap();
        assert_eq!(info["email"], "person@example.com");
        let (status, again) = rp::token(&s, &app, &form).await;
        assert_eq!((status, again["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
        let after = userinfo(access.to_owned()).await;
        assert_eq!(after.status(), StatusCode::UNAUTHORIZED, "{backend:?}: the first use's tokens outlived the reuse");
        assert!(after.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));

        // The code is bound to its client, redirect URI and verifier.
        let p2 = pkce();
        let b2 = params("wallet", &redirect, &p2.challenge);
        for (tamper, who) in [("redirect_uri", &app), ("code_verifier", &app), ("client", &spa)] {
            let (_, location, _) = rp::authorize(&s, Some(&token), &b2).await;
            let code = query_of(&location.unwrap())["code"].clone();
            let mut form = vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect.as_str()),
                ("code_verifier", p2.verifier.as_str()),
            ];
            let elsewhere = format!("{}/other", rx.url);
            let wrong_verifier = pkce().verifier;
            match tamper {
                "redirect_uri" => form[2].1 = &elsewhere,
                "code_verifier" => form[3].1 = &wrong_verifier,
                _ => {}
            }
            let (status, answer) = rp::token(&s, who, &form).await;
            assert_eq!(
                (status, answer["error"].as_str()),
                (StatusCode::BAD_REQUEST, Some("invalid_grant")),
                "{backend:?}: {tamper}"
            );
        }

        // A public client: PKCE and no secret.
        let p3 = pkce();
        let (_, location, _) = rp::authorize(&s, Some(&token), &params("spa", &redirect, &p3.challenge)).await;
        let code = query_of(&location.unwrap())["code"].clone();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("code_verifier", &p3.verifier),
        ];
        let spa_tokens = ok(&rp::token(&s, &spa, &form).await, 200);

        // Revocation: the refresh token and its family end; another client's
        // token is not its to revoke.
        let refresh = spa_tokens["refresh_token"].as_str().unwrap();
        let revoke = |who: &Registered, t: &str| {
            let mut form = vec![("token".to_owned(), t.to_owned())];
            let mut req = s.client().post(format!("{}/oauth2/revoke", s.url));
            match &who.client_secret {
                Some(secret) => req = req.basic_auth(&who.client_id, Some(secret)),
                None => form.push(("client_id".into(), who.client_id.clone())),
            }
            req.form(&form).send()
        };
        assert_eq!(revoke(&app, refresh).await.unwrap().status(), StatusCode::OK);
        let refreshed = rp::token(&s, &spa, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
        assert_eq!(refreshed.0, StatusCode::OK, "{backend:?}: another client revoked it: {}", refreshed.1);
        let rotated = refreshed.1["refresh_token"].as_str().unwrap().to_owned();
        assert_eq!(revoke(&spa, &rotated).await.unwrap().status(), StatusCode::OK);
        let (status, _) = rp::token(&s, &spa, &[("grant_type", "refresh_token"), ("refresh_token", &rotated)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            userinfo(refreshed.1["access_token"].as_str().unwrap().to_owned()).await.status(),
            StatusCode::UNAUTHORIZED
        );

        // Guessing client secrets is limited per IP.
        let guesser =
            Registered { client_id: "wallet".into(), client_secret: Some("guess".into()), webhook_secret: None };
        let mut last = StatusCode::OK;
        for _ in 0..31 {
            last = rp::token(&s, &guesser, &[("grant_type", "refresh_token"), ("refresh_token", "x")]).await.0;
        }
        assert_eq!(last, StatusCode::TOO_MANY_REQUESTS, "{backend:?}");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_party_application_is_asked_first_and_a_denial_is_sent_back() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = provider(backend).await;
        let rx = Receiver::start().await;
        rp::register(&s, &rx, "shop", false, false).await;
        let redirect = format!("{}/callback", rx.url);
        let p = pkce();
        let base = params("shop", &redirect, &p.challenge);
        s.verified_account("buyer@example.com", PW).await;
        let token = s.session("buyer@example.com", PW).await;
        assert_eq!(
            sent_back_with(&s, Some(&token), &with(base.clone(), "prompt", "none"), &redirect).await,
            "consent_required"
        );
        let (status, _, html) = rp::authorize(&s, Some(&token), &base).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("id=\"consent-allow\""), "{html}");
        let field = |name: &str| {
            let at = html.find(&format!("name=\"{name}\" value=\"")).unwrap() + name.len() + 15;
            html[at..at + html[at..].find('"').unwrap()].to_owned()
        };
        let form = [("csrf", field("csrf")), ("request", field("request")), ("decision", "deny".to_owned())];
        let resp = s
            .client()
            .post(format!("{}/account/authorize", s.url))
            .header("cookie", format!("twostep_session={token}"))
            .form(&form)
            .send()
            .await
            .unwrap();
        let back = rp::return_link(&resp.text().await.unwrap());
        assert_eq!(query_of(&back).get("error").map(String::as_str), Some("access_denied"), "{backend:?}");
        // The request is gone: the same form cannot be sent again.
        let resp = s
            .client()
            .post(format!("{}/account/authorize", s.url))
            .header("cookie", format!("twostep_session={token}"))
            .form(&[("csrf", field("csrf")), ("request", field("request")), ("decision", "allow".to_owned())])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_signing_key_signs_and_the_old_one_is_published_for_an_hour() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = provider(backend).await;
        let rx = Receiver::start().await;
        let app = rp::register(&s, &rx, "wallet", false, true).await;
        s.verified_account("keys@example.com", PW).await;
        let token = s.session("keys@example.com", PW).await;
        s.clock.advance(5);
        let old = rp::sign_in(&s, &rx, &app, (&token, ""), &[]).await["id_token"].as_str().unwrap().to_owned();
        let new_kid = s.app.add_signing_key(false).await.unwrap().expect("a new key");
        let new = rp::sign_in(&s, &rx, &app, (&token, ""), &[]).await["id_token"].as_str().unwrap().to_owned();
        let header = |jwt: &str| -> Value {
            serde_json::from_slice(
                &data_encoding::BASE64URL_NOPAD.decode(jwt.split('.').next().unwrap().as_bytes()).unwrap(),
            )
            .unwrap()
        };
        assert_eq!(header(&new)["kid"], new_kid.as_str());
        assert_ne!(header(&old)["kid"], header(&new)["kid"]);
        let jwks: CoreJsonWebKeySet =
            s.client().get(format!("{}/oauth2/jwks", s.url)).send().await.unwrap().json().await.unwrap();
        assert_eq!(jwks.keys().len(), 2, "{backend:?}");
        let verifier = IdTokenVerifier::new_public_client(
            ClientId::new("wallet".into()),
            IssuerUrl::new(s.url.clone()).unwrap(),
            jwks,
        );
        let nonce = Nonce::new("n1".into());
        for jwt in [&old, &new] {
            let parsed: CoreIdToken = jwt.parse().unwrap();
            parsed.claims(&verifier, &nonce).expect("verified with the published keys");
        }
        s.clock.advance(3601);
        let jwks = ok(&s.get("/oauth2/jwks", None).await, 200);
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 1, "{backend:?}: the retired key is still published");
        assert_eq!(jwks["keys"][0]["kid"], new_kid.as_str());
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_endpoint_that_keeps_failing_is_counted_as_a_dead_letter() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = provider_with(backend, twostep_testkit::settings_with_three_attempts()).await;
        let rx = Receiver::start().await;
        // Nothing listens on port 9 of this machine.
        let app = s
            .app
            .add_client(&twostep_app::oidc::clients::NewClient {
                id: "down".into(),
                name: "Down".into(),
                redirect_uris: vec![format!("{}/callback", rx.url)],
                webhook_url: Some("http://127.0.0.1:9/webhook".into()),
                first_party: true,
                ..Default::default()
            })
            .await
            .unwrap();
        let app = Registered {
            client_id: "down".into(),
            client_secret: app.client_secret,
            webhook_secret: app.webhook_secret,
        };
        let owner = totp_owner(&s, "dead@example.com").await;
        s.clock.advance(30);
        let step = ok(&s.login(&owner.email, PW).await, 200);
        let login_id = step["login_id"].as_str().unwrap().to_owned();
        let code = twostep_testkit::oathtool(&owner.backup_key, s.now());
        let done = ok(&s.post(&format!("/api/v1/login/{login_id}/totp"), json!({"code": code}), None).await, 200);
        let token = done["session_token"].as_str().unwrap().to_owned();
        s.clock.advance(5);
        rp::sign_in(&s, &rx, &app, (&token, &owner.backup_key), &[]).await;
        // An event for the application: a recovery case opened.
        let step = ok(&s.login(&owner.email, PW).await, 200);
        let login_id = step["login_id"].as_str().unwrap();
        ok(&s.post(&format!("/api/v1/login/{login_id}/recovery"), json!({}), None).await, 201);
        let mut dead = 0;
        for _ in 0..200 {
            s.clock.advance(5);
            let metrics = s.client().get(format!("{}/metrics", s.url)).send().await.unwrap().text().await.unwrap();
            dead = metrics
                .lines()
                .find_map(|l| l.strip_prefix("twostep_webhooks_dead_letter "))
                .and_then(|v| v.trim().parse::<i64>().ok())
                .unwrap_or(0);
            if dead > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(dead, 1, "{backend:?}: the webhook was not given up on and counted");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taking_access_away_cuts_the_application_off_and_refreshes_are_limited_per_grant() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = provider(backend).await;
        let rx = Receiver::start().await;
        let app = rp::register(&s, &rx, "wallet", false, true).await;
        let account = s.verified_account("cut@example.com", PW).await;
        let token = s.session("cut@example.com", PW).await;
        s.clock.advance(5);
        let tokens = rp::sign_in(&s, &rx, &app, (&token, ""), &[]).await;

        // Refreshes: 30 a minute for one grant, each rotating.
        let mut refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
        for _ in 0..30 {
            let answer =
                ok(&rp::token(&s, &app, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await, 200);
            refresh = answer["refresh_token"].as_str().unwrap().to_owned();
        }
        let (status, answer) =
            rp::token(&s, &app, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("slow_down")),
            "{backend:?}"
        );

        // The application knows the account until the owner takes its
        // access away; a code issued just before is void too.
        let ask = json!({"sub": account, "action": "withdrawal"});
        assert_eq!(ok(&rp::check_action(&s, &app, ask.clone()).await, 200)["reason"], "step_up_required");
        let p = pkce();
        let redirect = format!("{}/callback", rx.url);
        let (_, location, _) = rp::authorize(&s, Some(&token), &params("wallet", &redirect, &p.challenge)).await;
        let code = query_of(&location.unwrap())["code"].clone();
        s.app.revoke_app(&account, "wallet", &Default::default()).await.unwrap();
        let (status, _) = rp::check_action(&s, &app, ask).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{backend:?}: an application cut off still learns of the account");
        let form = [
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("code_verifier", &p.verifier),
        ];
        let (status, answer) = rp::token(&s, &app, &form).await;
        assert_eq!((status, answer["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{backend:?}");
        s.stop().await;
    }
}

/// A thief holding copies of the owner's sessions keeps a step-up (or
/// `prompt=login`) request open while signed out; the owner then signs in
/// elsewhere. That sign-in answers nothing for the thief's request: only a
/// sign-in made through the request, or a proof given for it, does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_request_is_not_answered_by_a_sign_in_made_elsewhere() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let s = provider(backend).await;
        let rx = Receiver::start().await;
        rp::register(&s, &rx, "wallet", false, true).await;
        let redirect = format!("{}/callback", rx.url);
        let p = pkce();
        let base = params("wallet", &redirect, &p.challenge);
        let owner = totp_owner(&s, "kept@example.com").await;
        let asks = [("acr_values", "urn:twostep:acr:step-up", "/account/confirm"), ("prompt", "login", "/login?")];
        for (name, value, then) in asks {
            let (status, location, body) = rp::authorize(&s, None, &with(base.clone(), name, value)).await;
            let location = location.unwrap_or_else(|| panic!("{status}: {body}"));
            let next = query_of(&format!("{}{location}", s.url)).get("next").cloned().expect("kept for a sign-in");

            // The owner signs in over the API, after the request was kept.
            s.clock.advance(30);
            let step = ok(&s.login(&owner.email, PW).await, 200);
            let login_id = step["login_id"].as_str().unwrap().to_owned();
            let code = twostep_testkit::oathtool(&owner.backup_key, s.now());
            let done = ok(&s.post(&format!("/api/v1/login/{login_id}/totp"), json!({"code": code}), None).await, 200);
            let stolen = done["session_token"].as_str().unwrap().to_owned();

            let (status, location, body) = rp::page(&s, &next, Some(&stolen)).await;
            assert_eq!(
                status,
                StatusCode::SEE_OTHER,
                "{backend:?} {name}: answered with a sign-in made elsewhere: {body}"
            );
            let location = location.unwrap();
            assert!(location.starts_with(then), "{backend:?} {name}: {location}");
            assert!(!location.starts_with(&redirect), "{backend:?} {name}: a code for the thief: {location}");
        }
        s.stop().await;
    }
}

/// A client authenticates one way (RFC 6749 2.3): HTTP Basic and a secret
/// in the form together are refused, and a Basic header that cannot be read
/// is refused rather than passed over for the form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_authenticates_one_way_only() {
    let s = provider(Backend::Sqlite).await;
    let rx = Receiver::start().await;
    let app = rp::register(&s, &rx, "wallet", false, true).await;
    let secret = app.client_secret.clone().unwrap();
    let refresh = [("grant_type", "refresh_token"), ("refresh_token", "unknown")];
    let send = |req: reqwest::RequestBuilder, form: Vec<(&'static str, String)>| async move {
        let resp = req.form(&form).send().await.unwrap();
        let status = resp.status();
        (status, resp.json::<Value>().await.unwrap())
    };
    let form = |extra: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        refresh.iter().chain(extra).map(|(k, v)| (*k, (*v).to_owned())).collect()
    };
    let token_url = format!("{}/oauth2/token", s.url);

    // Either way alone reaches the grant (an unknown refresh token).
    let (status, body) = send(s.client().post(&token_url).basic_auth("wallet", Some(&secret)), form(&[])).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");
    let post = form(&[("client_id", "wallet"), ("client_secret", &secret)]);
    let (status, body) = send(s.client().post(&token_url), post).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");

    // Both at once: refused, even with the right secret in both.
    let both = form(&[("client_secret", &secret)]);
    let (status, body) = send(s.client().post(&token_url).basic_auth("wallet", Some(&secret)), both).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{body}");

    // An unreadable Basic header beside good form credentials.
    let post = form(&[("client_id", "wallet"), ("client_secret", &secret)]);
    let (status, body) = send(s.client().post(&token_url).header("authorization", "Basic !!!"), post).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")), "{body}");
    s.stop().await;
}
