//! The `twostep` binary as an operator runs it: first start, settings from
//! flags, environment and file, staff accounts from standard input, key
//! rotation with every secret the server stores (authenticator secrets,
//! identity documents, queued messages) readable with the new key alone.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Server, data_dir_with_key, get, now, post, run, serve, temp_dir};
use serde_json::json;
use twostep_app::crypto::{Keyring, MasterKey};
use twostep_app::outbound::message_context;
use twostep_app::ports::{MessageQueueStore, RecoveryStore, SecretKind, SecretStore};
use twostep_app::recovery::document_context;
use twostep_domain::Role;
use twostep_store::SqlStore;
use twostep_testkit::recovery::{submitted_case, totp_owner};
use twostep_testkit::{Backend, TestServer};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn first_start_creates_a_private_data_dir_and_key() {
    let cwd = temp_dir();
    let server = serve(&cwd, &["--captcha-bits", "0"], &[]);
    let data = cwd.join("twostep-data");
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("master.key")), 0o600);
    assert!(data.join("twostep.db").exists());
    assert_eq!(get(&server.url, "/healthz", None).await.0, 200);
    assert_eq!(get(&server.url, "/readyz", None).await.0, 200);
    // With the captcha at 0 bits the password step needs no captcha.
    let (status, _) =
        post(&server.url, "/api/v1/accounts", json!({"email": "a@example.com", "password": "password123"}), None).await;
    assert_eq!(status, 202);
    let (status, body) =
        post(&server.url, "/api/v1/login", json!({"email": "a@example.com", "password": "password123"}), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("email_unverified")));
    drop(server);
    let _ = std::fs::remove_dir_all(cwd);
}

#[tokio::test]
async fn settings_come_from_flags_over_environment_over_file() {
    let cwd = temp_dir();
    std::fs::write(cwd.join("twostep.toml"), "captcha_bits = 5\ndata_dir = \"from-file\"\n").unwrap();
    let captcha_bits = |server: &Server| {
        let url = server.url.clone();
        async move { get(&url, "/api/v1/captcha", None).await.1["difficulty_bits"].as_i64().unwrap() }
    };
    let s = serve(&cwd, &["--config", "twostep.toml"], &[]);
    assert_eq!(captcha_bits(&s).await, 5);
    assert!(cwd.join("from-file/master.key").exists());
    drop(s);
    let s = serve(&cwd, &["--config", "twostep.toml"], &[("TWOSTEP_CAPTCHA_BITS", "6")]);
    assert_eq!(captcha_bits(&s).await, 6);
    drop(s);
    let s = serve(&cwd, &["--config", "twostep.toml", "--captcha-bits", "7"], &[("TWOSTEP_CAPTCHA_BITS", "6")]);
    assert_eq!(captcha_bits(&s).await, 7);
    drop(s);
    std::fs::write(cwd.join("bad.toml"), "captcha_bitz = 5\n").unwrap();
    let (ok, text) = run(&cwd, &["serve", "--config", "bad.toml"], "");
    assert!(!ok && text.contains("captcha_bitz"), "{text}");
    let _ = std::fs::remove_dir_all(cwd);
}

#[tokio::test]
async fn help_migrate_and_staff_add_work_on_the_same_database() {
    let cwd = temp_dir();
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["staff", "add", "--help"],
        &["keys", "--help"],
        &["clients", "add", "--help"],
    ] {
        let (ok, text) = run(&cwd, args, "");
        assert!(ok && text.contains("Usage"), "{args:?}: {text}");
    }
    let (ok, text) = run(&cwd, &["serve", "--help"], "");
    assert!(ok && text.contains("TWOSTEP_CAPTCHA_BITS") && text.contains("--data-dir"), "{text}");
    let (ok, text) = run(&cwd, &["migrate", "--data-dir", "d"], "");
    assert!(ok, "{text}");
    let (ok, text) = run(
        &cwd,
        &["staff", "add", "--email", "Rev@Example.com", "--role", "reviewer", "--data-dir", "d"],
        "staff password 1\n",
    );
    assert!(ok, "{text}");
    let (ok, text) = run(
        &cwd,
        &["staff", "add", "--email", "x@example.com", "--role", "king", "--data-dir", "d"],
        "staff password 1\n",
    );
    assert!(!ok, "{text}");
    let (ok, text) =
        run(&cwd, &["staff", "add", "--email", "y@example.com", "--role", "admin", "--data-dir", "d"], "short\n");
    assert!(!ok && text.contains("password"), "{text}");
    let server = serve(&cwd, &["--data-dir", "d", "--captcha-bits", "0"], &[]);
    let (status, body) =
        post(&server.url, "/api/v1/login", json!({"email": "rev@example.com", "password": "staff password 1"}), None)
            .await;
    assert_eq!(status, 200, "{body}");
    let token = body["session_token"].as_str().unwrap().to_owned();
    let me = get(&server.url, "/api/v1/me", Some(&token)).await.1;
    assert_eq!(me["role"], "reviewer");
    drop(server);
    let _ = std::fs::remove_dir_all(cwd);
}

#[tokio::test]
async fn clients_are_added_listed_and_removed_and_a_bad_redirect_is_refused() {
    let cwd = temp_dir();
    let add = |extra: &[&str]| {
        let base = ["clients", "add", "--id", "wallet", "--name", "Wallet", "--data-dir", "d"];
        run(&cwd, &[&base[..], extra].concat(), "")
    };
    let (ok, text) = add(&["--redirect-uri", "http://wallet.example/callback"]);
    assert!(!ok && text.contains("https"), "plain HTTP to another machine: {text}");
    let (ok, text) = add(&["--redirect-uri", "https://wallet.example/cb#frag"]);
    assert!(!ok && text.contains("fragment"), "{text}");
    let (ok, text) =
        add(&["--redirect-uri", "https://wallet.example/callback", "--webhook-url", "https://wallet.example/hooks"]);
    assert!(ok, "{text}");
    let secret = text.lines().find_map(|l| l.strip_prefix("client_secret: ")).expect("the secret, once");
    assert_eq!(secret.len(), 43, "{text}");
    assert!(text.lines().any(|l| l.starts_with("webhook_secret: whsec_")), "{text}");
    let (ok, text) = add(&["--redirect-uri", "https://wallet.example/callback"]);
    assert!(!ok && text.contains("registered already"), "{text}");
    let (ok, text) = run(&cwd, &["clients", "list", "--data-dir", "d"], "");
    assert!(
        ok && text.contains("wallet\tWallet\tconfidential\tthird-party\thttps://wallet.example/callback"),
        "{text}"
    );
    assert!(!text.contains(secret), "the secret is shown once only");
    let (ok, text) = run(&cwd, &["clients", "remove", "--id", "wallet", "--data-dir", "d"], "");
    assert!(ok, "{text}");
    let (ok, text) = run(&cwd, &["clients", "list", "--data-dir", "d"], "");
    assert!(ok && !text.contains("wallet\t"), "{text}");
    let (ok, text) = run(&cwd, &["clients", "remove", "--id", "wallet", "--data-dir", "d"], "");
    assert!(!ok, "{text}");
    let _ = std::fs::remove_dir_all(cwd);
}

#[tokio::test]
async fn key_rotation_re_encrypts_secrets_and_codes_keep_working() {
    let cwd = temp_dir();
    let args = ["--data-dir", "d", "--captcha-bits", "0"];
    run(&cwd, &["staff", "add", "--email", "k@example.com", "--role", "admin", "--data-dir", "d"], "rotate password\n");
    let server = serve(&cwd, &args, &[]);
    let login = |url: String| async move {
        post(&url, "/api/v1/login", json!({"email": "k@example.com", "password": "rotate password"}), None).await.1
    };
    let token = login(server.url.clone()).await["session_token"].as_str().unwrap().to_owned();
    let sudo = json!({"method": "password", "password": "rotate password"});
    assert_eq!(post(&server.url, "/api/v1/me/sudo", sudo, Some(&token)).await.0, 200);
    let setup = post(&server.url, "/api/v1/me/totp", json!({}), Some(&token)).await.1;
    let key = setup["backup_key"].as_str().unwrap().to_owned();
    let code = twostep_testkit::oathtool(&key, now());
    let body = json!({"setup_id": setup["setup_id"], "backup_key": key, "code": code});
    assert_eq!(post(&server.url, "/api/v1/me/totp/confirm", body, Some(&token)).await.0, 200);
    drop(server);
    let old_key = std::fs::read_to_string(cwd.join("d/master.key")).unwrap();

    let (ok, text) = run(&cwd, &["keys", "rotate", "--data-dir", "d"], "");
    // (The notice that an authenticator was added may still be queued, or
    // already sent and its text wiped: either way it is not a secret left
    // under the old key.)
    assert!(ok && text.contains("secrets re-encrypted") && text.contains("1 authenticator secrets"), "{text}");
    assert_ne!(std::fs::read_to_string(cwd.join("d/master.key")).unwrap(), old_key);
    assert_eq!(mode(&cwd.join("d/master.key")), 0o600);

    // The server opens the re-sealed secret with the new key alone (the old
    // one destroyed): a code from the next time step signs in.
    std::fs::remove_dir_all(cwd.join("d/retired-keys")).unwrap();
    let server = serve(&cwd, &args, &[]);
    let pending = login(server.url.clone()).await;
    assert_eq!(pending["status"], "second_factor_required", "{pending}");
    let step_start = (now() / 30 + 1) * 30;
    tokio::time::sleep(std::time::Duration::from_secs((step_start - now()).max(0) as u64)).await;
    let code = twostep_testkit::oathtool(&key, now());
    let r = post(
        &server.url,
        &format!("/api/v1/login/{}/totp", pending["login_id"].as_str().unwrap()),
        json!({"code": code}),
        None,
    )
    .await;
    assert_eq!(r.0, 200, "{r:?}");
    drop(server);
    let _ = std::fs::remove_dir_all(cwd);
}

/// A GET whose answer is not JSON (an image): (status, content type, bytes).
async fn fetch(url: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String, Vec<u8>) {
    let mut req = twostep_testkit::http_client().get(format!("{url}{path}"));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let r = req.send().await.unwrap();
    let content_type = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (r.status().as_u16(), content_type, r.bytes().await.unwrap().to_vec())
}

fn read_master_key(path: &Path) -> MasterKey {
    let bytes = data_encoding::HEXLOWER.decode(std::fs::read_to_string(path).unwrap().trim().as_bytes()).unwrap();
    MasterKey::from_bytes(bytes.try_into().unwrap())
}

/// Recovery documents and queued messages are sealed too. After `keys
/// rotate` every one of them opens with the new key alone; with the retired
/// key deleted, staff still see the documents (API and console) and the
/// message queued before the rotation is still delivered. On both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_re_encrypts_identity_documents_and_queued_messages() {
    for backend in twostep_testkit::db::BOTH {
        rotation_covers_documents_and_messages(backend).await;
    }
}

async fn rotation_covers_documents_and_messages(backend: Backend) {
    let l = format!("{backend:?}");
    let mut s = TestServer::start(backend).await;
    let alice = totp_owner(&s, "alice@example.com").await;
    let bob = totp_owner(&s, "bob@example.com").await;
    let cases = [
        submitted_case(&s, &alice, json!({"reset": ["authenticator"]})).await,
        submitted_case(&s, &bob, json!({"reset": ["authenticator"]})).await,
    ];
    let staff = s.staff_with_authenticator("rev@example.com", Role::Reviewer).await.token;
    let bearer = format!("Bearer {staff}");
    let document = |case: &str, slot: &str| format!("/api/v1/admin/recovery-cases/{case}/documents/{slot}");
    // Every document as staff saw it before the rotation.
    let mut images = Vec::new();
    for case in &cases {
        for doc in s.store.case_documents(&case.id).await.unwrap() {
            let (status, content_type, bytes) =
                fetch(&s.url, &document(&case.id, &doc.slot), &[("authorization", &bearer)]).await;
            assert_eq!((status, &content_type), (200, &doc.content_type), "{l}");
            images.push((case.id.clone(), doc.slot, content_type, bytes));
        }
    }
    assert_eq!(images.len(), 4, "{l}: a passport and a selfie per case");

    // A notice still waiting in the queue when the key rotates: the
    // rejection of Bob's case, decided while nobody delivers.
    let told_before = s.messages_to(&bob.email).await.len();
    s.stop_delivery();
    let (status, body) = s
        .post(
            &format!("/api/v1/admin/recovery-cases/{}/reject", cases[1].id),
            json!({"reason": "photo unreadable"}),
            Some(&staff),
        )
        .await;
    assert_eq!(status, 200, "{l}: {body}");
    let queued = s.store.queue_counts().await.unwrap().queued;
    assert!(queued >= 1, "{l}: the rejection notice waits in the queue");

    // An application with a webhook secret, and the first signing key.
    let wallet = twostep_app::oidc::clients::NewClient {
        id: "wallet".into(),
        name: "Wallet".into(),
        redirect_uris: vec!["https://wallet.example/callback".into()],
        webhook_url: Some("https://wallet.example/hooks".into()),
        ..Default::default()
    };
    s.app.add_client(&wallet).await.unwrap();
    // Registering the first application made the key, before any request.
    let keys = twostep_app::oidc::port::OidcStore::signing_keys(&s.store).await.unwrap();
    assert_eq!(keys.len(), 1, "{l}: one signing key after the first registration");
    let first_kid = s.app.signing_key().await.unwrap().0;
    assert_eq!(keys[0].kid, first_kid, "{l}: the key registration made is the one that signs");

    // The operator's data directory holds the key the server sealed with.
    let cwd = temp_dir();
    let data = cwd.join("d");
    data_dir_with_key(&data, s.db.master_key());
    let url = s.db.url.clone();
    let db = s.shut_down().await;
    let storage = ["--data-dir", data.to_str().unwrap(), "--database-url", &url];

    let (ok, text) = run(&cwd, &[&["keys", "rotate"][..], &storage].concat(), "");
    assert!(ok, "{l}: {text}");
    // The owners' authenticators and the reviewer's.
    let parts = [
        "3 authenticator secrets",
        "4 identity documents",
        &format!("{queued} queued messages"),
        "1 OpenID Connect signing keys",
        "1 webhook secrets",
        "ID tokens are now signed with key",
    ];
    for part in parts {
        assert!(text.contains(part), "{l}: {part:?} in {text}");
    }

    // Read back directly: everything opens with the new key alone, and
    // nothing is left under another key.
    let new_key = read_master_key(&data.join("master.key"));
    let old_id = db.master_key().id_hex();
    assert_ne!(new_key.id_hex(), old_id, "{l}");
    let new_only = Keyring::new(&new_key, &[]);
    let store = SqlStore::connect(&url, &Default::default()).await.unwrap();
    for kind in SecretKind::ALL {
        let left = store.stale_secrets(kind, &new_only.current_prefix(), None, 10).await.unwrap();
        assert!(
            left.is_empty(),
            "{l}: {kind:?} still under an older key: {:?}",
            left.iter().map(|x| (&x.id, &x.slot)).collect::<Vec<_>>()
        );
    }
    // A new signing key signs; the old one is retired, still published.
    let keys = twostep_app::oidc::port::OidcStore::signing_keys(&store).await.unwrap();
    assert_eq!(keys.len(), 2, "{l}");
    assert!(keys.iter().any(|k| k.kid == first_kid && k.retired_at.is_some()), "{l}: the old key retired");
    assert!(keys.iter().any(|k| k.kid != first_kid && k.retired_at.is_none()), "{l}: a new key signs");
    for (case_id, slot, content_type, bytes) in &images {
        let (stored_type, sealed) = store.case_document(case_id, slot).await.unwrap().unwrap();
        assert!(new_only.is_current(&sealed), "{l}: {slot} of {case_id} names the new key");
        let plain = new_only
            .open(&document_context(case_id, slot), &sealed)
            .unwrap_or_else(|e| panic!("{l}: {slot} of {case_id}: {e}"));
        assert_eq!((&stored_type, &*plain), (content_type, bytes), "{l}: {slot} of {case_id} unchanged");
    }
    let waiting = store.due_messages(i64::MAX, 100).await.unwrap();
    assert_eq!(waiting.len() as i64, queued, "{l}: the queue is as it was");
    for m in &waiting {
        assert!(new_only.is_current(&m.sealed), "{l}: message {} names the new key", m.id);
        let plain =
            new_only.open(&message_context(&m.id), &m.sealed).unwrap_or_else(|e| panic!("{l}: message {}: {e}", m.id));
        let (subject, _body): (String, String) = serde_json::from_slice(&plain).unwrap();
        assert_eq!(subject, "Account recovery rejected", "{l}");
    }
    store.close().await;

    // The old key destroyed, a server with the new key alone.
    std::fs::remove_dir_all(data.join("retired-keys")).unwrap();
    let server = serve(&cwd, &[&["--captcha-bits", "0"][..], &storage].concat(), &[]);
    let cookie = format!("twostep_session={staff}");
    for (case_id, slot, content_type, bytes) in &images {
        let api = fetch(&server.url, &document(case_id, slot), &[("authorization", &bearer)]).await;
        assert_eq!((api.0, &api.1, &api.2), (200, content_type, bytes), "{l}: {slot} of {case_id} over the API");
        let page =
            fetch(&server.url, &format!("/staff/cases/{case_id}/documents/{slot}"), &[("cookie", &cookie)]).await;
        assert_eq!(
            (page.0, &page.1, &page.2),
            (200, content_type, bytes),
            "{l}: {slot} of {case_id} in the staff console"
        );
    }
    // The notice queued under the old key reaches Bob.
    let mut told = Vec::new();
    for _ in 0..200 {
        told = get(&server.url, "/api/v1/dev/outbox?to=bob@example.com", None).await.1["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if told.len() > told_before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(told.len(), told_before + 1, "{l}: the queued notice is delivered: {told:?}");
    assert!(told[0]["body"].as_str().unwrap().contains("was rejected"), "{l}: {}", told[0]);
    drop(server);
    db.drop_database().await;
    let _ = std::fs::remove_dir_all(cwd);
}
