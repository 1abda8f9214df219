//! Seeding a benchmark database directly through the store: accounts with a
//! shared real argon2id hash, sealed TOTP secrets derived from the account
//! number (so the load generator can compute codes without keeping them),
//! a device per such account, pending login attempts and sessions. Ids and
//! tokens are a keyed hash of their number: scattered over the key space like
//! the random ones the server makes (`new_id`), so that indexes see inserts
//! and lookups in random order, as in production, yet the generator can still
//! name them.

use anyhow::{Context, Result};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use twostep_app::crypto::{Keyring, token_hash};
use twostep_app::totp::factor_context;
use twostep_store::SqlStore;
use twostep_store::transfer::{ColumnKind, TableShape, Value};

pub const PASSWORD: &str = "bench password 1";
const BATCH: usize = 5000;

/// 32 hex digits, like `new_id`, derived from (`kind`, `i`).
fn random_like(kind: &[u8], i: u64) -> String {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(b"twostep bench ids").expect("any key length");
    mac.update(kind);
    mac.update(&i.to_be_bytes());
    mac.finalize().into_bytes()[..16].iter().map(|b| format!("{b:02x}")).collect()
}

pub fn account_id(i: u64) -> String {
    random_like(b"account", i)
}

pub fn email(i: u64) -> String {
    format!("bench{i}@example.com")
}

/// The TOTP secret of account `i`: 20 bytes derived from its number.
pub fn secret(i: u64) -> Vec<u8> {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(b"twostep bench").expect("any key length");
    mac.update(&i.to_be_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn shape(name: &str, columns: &[(&str, ColumnKind)]) -> TableShape {
    TableShape { name: name.to_owned(), columns: columns.iter().map(|(c, k)| ((*c).to_owned(), *k)).collect() }
}

async fn load(store: &SqlStore, table: &TableShape, rows: impl Iterator<Item = Vec<Value>>) -> Result<()> {
    let mut batch = Vec::with_capacity(BATCH);
    for row in rows {
        batch.push(row);
        if batch.len() == BATCH {
            store.load_rows(table, &batch).await.with_context(|| format!("seeding {}", table.name))?;
            batch.clear();
        }
    }
    store.load_rows(table, &batch).await.with_context(|| format!("seeding {}", table.name))?;
    Ok(())
}

/// A valid UK mobile number of its own for account `i`.
pub fn phone(i: u64) -> String {
    format!("+447911{:06}", i % 1_000_000)
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    None,
    Totp,
    Phone,
}

/// Accounts `range`, confirmed, with the given password hash and factor.
pub async fn accounts(
    store: &SqlStore,
    keyring: &Keyring,
    range: std::ops::Range<u64>,
    hash: &str,
    factor: Factor,
    now: i64,
) -> Result<()> {
    use ColumnKind::{Bytes, Int, Text};
    let accounts = shape(
        "accounts",
        &[
            ("id", Text),
            ("email", Text),
            ("password_hash", Text),
            ("email_verified_at", Int),
            ("role", Text),
            ("created_at", Int),
            ("phone", Text),
        ],
    );
    let rows = range.clone().map(|i| {
        vec![
            Value::Text(account_id(i)),
            Value::Text(email(i)),
            Value::Text(hash.to_owned()),
            Value::Int(now),
            Value::Text("user".into()),
            Value::Int(now),
            if factor == Factor::Phone { Value::Text(phone(i)) } else { Value::Null },
        ]
    });
    load(store, &accounts, rows).await?;
    if factor == Factor::Totp {
        devices(store, range.clone(), now).await?;
        let factors = shape(
            "totp_factors",
            &[("account_id", Text), ("sealed_secret", Bytes), ("last_step", Int), ("created_at", Int)],
        );
        let rows = range.map(|i| {
            let id = account_id(i);
            let sealed = keyring.seal(&factor_context(&id), &secret(i));
            vec![Value::Text(id), Value::Bytes(sealed), Value::Int(0), Value::Int(now)]
        });
        load(store, &factors, rows).await?;
    }
    Ok(())
}

/// The device token account `i` signed in from before.
pub fn device_token(i: u64) -> String {
    format!("{}{}", random_like(b"device", i), random_like(b"device 2", i))
}

/// One device per account, last seen an hour ago from the generator's
/// address and user agent: the clients send its token, as a returning user's
/// browser does, so a sign-in marks it seen instead of adding a device.
async fn devices(store: &SqlStore, range: std::ops::Range<u64>, now: i64) -> Result<()> {
    use ColumnKind::{Int, Text};
    let table = shape(
        "devices",
        &[
            ("id", Text),
            ("account_id", Text),
            ("token_hash", Text),
            ("first_seen_at", Int),
            ("last_seen_at", Int),
            ("ip", Text),
            ("user_agent", Text),
            ("confirmed_at", Int),
        ],
    );
    let rows = range.map(|i| {
        vec![
            Value::Text(random_like(b"device id", i)),
            Value::Text(account_id(i)),
            Value::Text(token_hash(&device_token(i))),
            Value::Int(now - 3600),
            Value::Int(now - 3600),
            Value::Text("127.0.0.1".into()),
            Value::Text("twostep-bench".into()),
            Value::Null,
        ]
    });
    load(store, &table, rows).await
}

pub fn login_id(n: u64) -> String {
    random_like(b"login", n)
}

/// Pending login attempts: attempt `first + k` belongs to `account_of(k)`.
pub async fn logins(store: &SqlStore, first: u64, count: u64, account_of: impl Fn(u64) -> u64, now: i64) -> Result<()> {
    use ColumnKind::{Int, Text};
    let table = shape(
        "login_attempts",
        &[
            ("id", Text),
            ("account_id", Text),
            ("state", Text),
            ("failures", Int),
            ("created_at", Int),
            ("expires_at", Int),
            ("ip", Text),
            ("user_agent", Text),
        ],
    );
    let rows = (0..count).map(|k| {
        vec![
            Value::Text(login_id(first + k)),
            Value::Text(account_id(account_of(k))),
            Value::Text("pending".into()),
            Value::Int(0),
            Value::Int(now),
            Value::Int(now + 3600),
            Value::Text("127.0.0.1".into()),
            Value::Text("twostep-bench".into()),
        ]
    });
    load(store, &table, rows).await
}

pub fn session_token(i: u64) -> String {
    format!("{}{}", random_like(b"session", i), random_like(b"session 2", i))
}

pub async fn sessions(store: &SqlStore, range: std::ops::Range<u64>, now: i64) -> Result<()> {
    use ColumnKind::{Int, Text};
    let table =
        shape("sessions", &[("token_hash", Text), ("account_id", Text), ("created_at", Int), ("expires_at", Int)]);
    let rows = range.map(|i| {
        vec![
            Value::Text(token_hash(&session_token(i))),
            Value::Text(account_id(i)),
            Value::Int(now),
            Value::Int(now + 86_400),
        ]
    });
    load(store, &table, rows).await
}

/// The application the oidc-refresh scenario refreshes as.
const CLIENT_ID: &str = "bench";
const CLIENT_SECRET: &str = "bench client secret";

/// Its HTTP Basic authorization header value.
pub fn client_authorization() -> String {
    let pair = format!("{CLIENT_ID}:{CLIENT_SECRET}");
    format!("Basic {}", data_encoding::BASE64.encode(pair.as_bytes()))
}

pub fn refresh_token(n: u64) -> String {
    format!("{}{}", random_like(b"refresh", n), random_like(b"refresh 2", n))
}

/// The application, a signing key (so no request pays for making one), and
/// grants `first..first + count`, each with one refresh token, on the
/// sessions of accounts `account_of(k)` (seeded by the caller).
pub async fn oidc_grants(
    store: &SqlStore,
    keyring: &Keyring,
    first: u64,
    count: u64,
    account_of: impl Fn(u64) -> u64,
    now: i64,
) -> Result<()> {
    use ColumnKind::{Int, Text};
    use twostep_app::oidc::port::OidcStore;
    if first == 0 {
        let client = twostep_app::oidc::port::ClientRecord {
            id: CLIENT_ID.into(),
            name: "Bench".into(),
            secret_hash: Some(token_hash(CLIENT_SECRET)),
            redirect_uris: vec!["https://bench.example/callback".into()],
            post_logout_redirect_uris: Vec::new(),
            first_party: true,
            backchannel_logout_uri: String::new(),
            webhook_url: String::new(),
            webhook_secret: None,
            created_at: now,
        };
        store.add_client(&client).await?;
        let key = twostep_app::oidc::tokens::make_signing_key(keyring, now).map_err(|e| anyhow::anyhow!("{e}"))?;
        store.add_signing_key(&key, true).await?;
    }
    let facts = r#"{"redirect_uri":"https://bench.example/callback","code_challenge":null,"nonce":null,"scopes":["openid","email"],"auth_time":0,"factors":["password","totp"],"acr":"urn:twostep:acr:mfa"}"#;
    let grants = shape(
        "oidc_grants",
        &[
            ("id", Text),
            ("client_id", Text),
            ("account_id", Text),
            ("session_hash", Text),
            ("grant_facts", Text),
            ("created_at", Int),
        ],
    );
    let rows = (0..count).map(|k| {
        let account = account_of(k);
        vec![
            Value::Text(random_like(b"grant", first + k)),
            Value::Text(CLIENT_ID.into()),
            Value::Text(account_id(account)),
            Value::Text(token_hash(&session_token(account))),
            Value::Text(facts.into()),
            Value::Int(now),
        ]
    });
    load(store, &grants, rows).await?;
    let tokens = shape(
        "oidc_tokens",
        &[("token_hash", Text), ("grant_id", Text), ("kind", Text), ("created_at", Int), ("expires_at", Int)],
    );
    let rows = (0..count).map(|k| {
        vec![
            Value::Text(token_hash(&refresh_token(first + k))),
            Value::Text(random_like(b"grant", first + k)),
            Value::Text("refresh".into()),
            Value::Int(now),
            Value::Int(now + 86_400),
        ]
    });
    load(store, &tokens, rows).await
}
