//! Storage of the OpenID Connect provider: registered applications, the
//! signing keys, authorization requests waiting for a sign-in, codes,
//! grants (a refresh-token family each) and their tokens, consents, and the
//! cursor of the event feed. The SQL is in the store crate (`oidc.rs`),
//! tested on both backends.

use async_trait::async_trait;

use crate::ports::{AuditEvent, QueuedMessage, StoreResult};

/// An application registered with `twostep clients add`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRecord {
    pub id: String,
    pub name: String,
    /// SHA-256 (hex) of the client secret; None for a public client (a
    /// browser or mobile app, which must use PKCE).
    pub secret_hash: Option<String>,
    /// Exact redirect URIs, compared byte for byte.
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// The operator's own application: no consent page.
    pub first_party: bool,
    /// Where back-channel logout tokens are posted; empty: none.
    pub backchannel_logout_uri: String,
    /// Where security events are posted; empty: none.
    pub webhook_url: String,
    /// The webhook signing secret (`whsec_…`), sealed.
    pub webhook_secret: Option<Vec<u8>>,
    pub created_at: i64,
}

/// A signing key: the private half (PKCS#1 PEM) sealed under the master
/// key, the public half as a JWK. The newest unretired key signs; a
/// retired one stays in the JWKS until `retired_at` plus the longest
/// token lifetime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub sealed_key: Vec<u8>,
    pub public_jwk: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

/// An authorization request waiting for the person: a sign-in, a fresh
/// proof of a factor or a consent. `request` is the checked request as
/// JSON (see `oidc::AuthRequest`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingRequest {
    pub id: String,
    pub client_id: String,
    pub request: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// The proof given for this request: (factor, when, the session's
    /// token hash).
    pub proof: Option<(String, i64, String)>,
}

/// How an exchange of a code went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeExchange {
    /// The grant is open with its tokens.
    Opened,
    /// The code was exchanged before: the grant it opened is now revoked.
    Reused,
    /// Unknown or expired.
    Gone,
    /// The session behind the code has ended.
    SessionEnded,
}

/// An authorization code: what it grants (`grant`, JSON of
/// `oidc::GrantFacts`), once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRecord {
    pub code_hash: String,
    pub client_id: String,
    pub account_id: String,
    pub session_hash: String,
    pub grant: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// The grant the code was exchanged for, once used.
    pub grant_id: Option<String>,
}

/// A grant: one exchange of a code and the refresh tokens rotated from it
/// (a family). It lives while the twostep session it came from lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantRecord {
    pub id: String,
    pub client_id: String,
    pub account_id: String,
    pub session_hash: String,
    pub grant: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    pub token_hash: String,
    pub grant_id: String,
    pub kind: TokenKind,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A token looked up with its grant and whether the grant still stands:
/// not revoked, and its session live.
#[derive(Clone, Debug)]
pub struct TokenLookup {
    pub grant: GrantRecord,
    pub kind: TokenKind,
    pub session_live: bool,
}

/// How a refresh went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Rotated: the old token used up, the new ones stored.
    Rotated,
    /// The token was used already (a copy, or a race lost): the family is
    /// revoked.
    Reused,
    /// Unknown, expired, revoked or its session ended.
    Invalid,
}

/// An application an account has let in, for the account page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountApp {
    pub client_id: String,
    pub name: String,
    pub live_grants: i64,
    pub consented_at: Option<i64>,
    pub last_used_at: i64,
}

/// An audit entry as the event feed reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedEntry {
    pub seq: i64,
    pub at: i64,
    pub account_id: String,
    pub kind: String,
}

/// A grant whose session has ended and whose application has not been
/// told yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndedGrant {
    pub grant_id: String,
    pub client_id: String,
    pub account_id: String,
    pub session_hash: String,
}

#[async_trait]
pub trait OidcStore: Send + Sync {
    /// Registers a client; false if its id is taken.
    async fn add_client(&self, client: &ClientRecord) -> StoreResult<bool>;
    async fn client(&self, id: &str) -> StoreResult<Option<ClientRecord>>;
    async fn clients(&self) -> StoreResult<Vec<ClientRecord>>;
    /// Removes a client with its grants, tokens, codes and consents.
    async fn remove_client(&self, id: &str) -> StoreResult<bool>;

    /// Every key, newest first.
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Adds a key and retires every other at `key.created_at`, in one
    /// transaction. With `only_if_none`, adds nothing if a key exists
    /// (two instances creating the first key at once keep one).
    async fn add_signing_key(&self, key: &SigningKeyRecord, only_if_none: bool) -> StoreResult<bool>;

    /// Stores a request; deletes expired ones first.
    async fn create_request(&self, request: &PendingRequest) -> StoreResult<()>;
    async fn request(&self, id: &str, now: i64) -> StoreResult<Option<PendingRequest>>;
    async fn delete_request(&self, id: &str) -> StoreResult<()>;
    /// Records the proof given for a live request in session
    /// `session_hash`; false if there is no such live request.
    async fn prove_request(&self, id: &str, factor: &str, at: i64, session_hash: &str) -> StoreResult<bool>;
    async fn create_oidc_code(&self, code: &CodeRecord) -> StoreResult<()>;
    /// A live, unused code (read before it is exchanged, so that a caller
    /// who cannot prove it was issued the code cannot use it up).
    async fn code(&self, code_hash: &str, now: i64) -> StoreResult<Option<CodeRecord>>;
    /// Exchanges a code, in one transaction: marks it used by `grant` and
    /// opens the grant with its tokens and the application's link to the
    /// account (if the session is still live); a code used already
    /// revokes the grant of its first use instead.
    async fn exchange_code(
        &self,
        code_hash: &str,
        grant: &GrantRecord,
        tokens: &[TokenRecord],
        audit: &AuditEvent,
        reused: &AuditEvent,
        now: i64,
    ) -> StoreResult<CodeExchange>;
    async fn token(&self, token_hash: &str, now: i64) -> StoreResult<Option<TokenLookup>>;
    /// Uses up refresh token `used` and stores `fresh`, only if `used` is
    /// unused, live and its grant stands; a used one revokes the family.
    async fn rotate_refresh(
        &self,
        used: &str,
        fresh: &[TokenRecord],
        now: i64,
        reused: &AuditEvent,
    ) -> StoreResult<RefreshOutcome>;
    /// Revokes a grant and deletes its tokens.
    async fn revoke_grant(&self, grant_id: &str, now: i64, audit: Option<&AuditEvent>) -> StoreResult<bool>;
    /// Revokes every grant of the account for the client, deletes its codes
    /// and forgets the consent (the application no longer knows the
    /// account); how many grants it ended.
    async fn revoke_client_access(
        &self,
        account_id: &str,
        client_id: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> StoreResult<u64>;

    async fn consent(&self, account_id: &str, client_id: &str) -> StoreResult<Option<String>>;
    async fn save_consent(&self, account_id: &str, client_id: &str, scope: &str, now: i64) -> StoreResult<()>;
    async fn account_apps(&self, account_id: &str, now: i64) -> StoreResult<Vec<AccountApp>>;
    /// Whether the account has let the client in (and not taken it back).
    async fn client_knows_account(&self, client_id: &str, account_id: &str) -> StoreResult<bool>;
    /// Clients the account had let in at `at` and still does (the audience
    /// of a webhook about an event at `at`).
    async fn clients_of_account(&self, account_id: &str, at: i64) -> StoreResult<Vec<String>>;
    /// The session hashes of the client's live grants for the account.
    async fn live_grant_sessions(&self, client_id: &str, account_id: &str, now: i64) -> StoreResult<Vec<String>>;

    /// Audit entries after the feed's cursor, at most `limit`, and the cursor.
    async fn feed_after_cursor(&self, limit: i64) -> StoreResult<(i64, Vec<FeedEntry>)>;
    /// Moves the cursor from `from` to `to`, queues `messages` and marks the
    /// grants `told` (their logout sent, and revoked), in one transaction;
    /// false if another instance moved the cursor first (nothing written).
    async fn advance_feed(
        &self,
        from: i64,
        to: i64,
        messages: &[QueuedMessage],
        told: &[String],
        now: i64,
    ) -> StoreResult<bool>;
    /// Grants of the account whose session is no longer live (or that were
    /// revoked) and whose application was not told; at most `limit`.
    async fn ended_grants(&self, account_id: &str, now: i64, limit: i64) -> StoreResult<Vec<EndedGrant>>;

    /// Deletes expired requests, codes and tokens, and grants dead and
    /// told for longer than `before`.
    async fn prune_oidc(&self, now: i64, before: i64) -> StoreResult<u64>;
}
