//! The provider's token side: the signing keys (RS256, sealed under the
//! master key, rotated with `twostep keys rotate`), the JWKS, the token
//! endpoint (code with PKCE, refresh with rotation and reuse detection),
//! userinfo, revocation and the action check for an application's server.
//! JWTs are made and checked by the `openidconnect` crate only.

use std::str::FromStr;
use std::sync::Arc;

use openidconnect::core::{
    CoreGenderClaim, CoreJsonWebKey, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRsaPrivateSigningKey, CoreTokenType,
};
use openidconnect::{
    AccessToken, AdditionalClaims, Audience, AuthenticationContextClass, AuthenticationMethodReference,
    AuthorizationCode, ClientId, EmptyExtraTokenFields, EndUserEmail, IdToken, IdTokenClaims, IdTokenFields,
    IdTokenVerifier, IssuerUrl, JsonWebKeyId, Nonce, PrivateSigningKey, RefreshToken, Scope, StandardClaims,
    StandardTokenResponse, SubjectIdentifier, UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use twostep_domain::audit_kind::AuditKind;
use twostep_domain::oidc::{Acr, amr, pkce_s256_matches};

use super::GrantFacts;
use super::port::{ClientRecord, CodeExchange, GrantRecord, RefreshOutcome, SigningKeyRecord, TokenKind, TokenRecord};
use crate::crypto::{hex, new_id, new_token, token_hash};
use crate::error::{AppError, AppResult};
use crate::ports::AccountRecord;
use crate::{App, RequestMeta};

/// ID and access tokens live ten minutes.
pub const ID_TOKEN_TTL_S: i64 = 10 * 60;
pub const ACCESS_TOKEN_TTL_S: i64 = 10 * 60;
/// A refresh token, unused, lives 14 days; its grant ends with its session
/// sooner.
const REFRESH_TOKEN_TTL_S: i64 = 14 * 24 * 3600;
/// A retired key stays published this long: longer than any token it signed
/// lives (ID and logout tokens: ten minutes).
pub const RETIRED_KEY_PUBLISHED_S: i64 = 3600;
/// The action check takes a step-up proof this fresh.
pub const STEP_UP_PROOF_MAX_AGE_S: i64 = 5 * 60;
/// Token requests per application a minute: an application's server asks
/// for all its users from one address, so the bound is per application,
/// above what two cores can sign (about 1,500 ID tokens a second).
const TOKEN_PER_CLIENT_PER_MINUTE: i64 = 120_000;
/// Failed client authentications per IP a minute (guessing secrets).
const CLIENT_FAILURES_PER_IP_PER_MINUTE: i64 = 30;
/// A public client is anyone who knows its id: its requests are also
/// bounded per IP (a browser, one person).
const PUBLIC_CLIENT_PER_IP_PER_MINUTE: i64 = 600;
/// Refreshes of one grant a minute: each signs an ID token.
const REFRESHES_PER_GRANT_PER_MINUTE: i64 = 30;
/// Action checks per client a minute.
const ACTION_CHECKS_PER_CLIENT_PER_MINUTE: i64 = 6000;
/// The RSA modulus of a signing key, in bits.
const RSA_BITS: usize = 2048;
pub(crate) const SIGNING_KEY_CONTEXT: &str = "oidc signing key";

/// The claims twostep adds to an ID token and to userinfo: the account's
/// security state, and the session id for back-channel logout.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SecurityClaims {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sid: Option<String>,
    /// While a security hold runs: when withdrawals may start again.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub withdrawals_blocked_until: Option<i64>,
    #[serde(default)]
    pub frozen: bool,
}
impl AdditionalClaims for SecurityClaims {}

pub type TwostepIdToken =
    IdToken<SecurityClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;
pub type TwostepTokenResponse = StandardTokenResponse<
    IdTokenFields<
        SecurityClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

/// The session id an application sees (`sid`): derived from the session,
/// never the session's token or its stored hash.
pub fn sid_of(session_hash: &str) -> String {
    hex(&Sha256::digest(format!("twostep-sid:{session_hash}").as_bytes()))[..32].to_owned()
}

/// How the application authenticated at the token endpoint.
#[derive(Clone, Default)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials").field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

/// A token request's form, as sent.
#[derive(Clone, Default, Deserialize)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// An OAuth 2.0 error answer (RFC 6749 5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
    /// Seconds to wait, for a refused rate.
    pub retry_after_s: Option<i64>,
}

impl OAuthError {
    pub fn new(status: u16, error: &'static str, description: impl Into<String>) -> Self {
        Self { status, error, description: description.into(), retry_after_s: None }
    }
    fn invalid_grant(description: &str) -> Self {
        Self::new(400, "invalid_grant", description)
    }
    fn invalid_client() -> Self {
        Self::new(401, "invalid_client", "client authentication failed")
    }
}

impl From<AppError> for OAuthError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::TooManyAttempts { retry_after_s } => Self {
                status: 429,
                error: "slow_down",
                description: "too many requests".into(),
                retry_after_s: Some(retry_after_s),
            },
            AppError::NotFound => Self::new(404, "not_found", "no such account for this application"),
            e @ AppError::InvalidRequest { .. } => Self::new(400, "invalid_request", e.to_string()),
            other => {
                tracing::error!(error = %other, "token endpoint failed");
                Self::new(500, "server_error", "the server could not answer")
            }
        }
    }
}

/// The action check's question.
#[derive(Clone, Debug, Deserialize)]
pub struct ActionCheck {
    pub sub: String,
    pub action: String,
    #[serde(default)]
    pub acr_proof: Option<String>,
}

/// The actions an application may ask about; every one is refused while
/// the account is frozen or on hold, and needs a step-up proof.
pub const ACTIONS: [&str; 4] = ["withdrawal", "payout", "api_key", "address_book"];

/// The action check's answer.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ActionVerdict {
    pub allowed: bool,
    /// `frozen`, `security_hold` or `step_up_required`; absent when allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// For `security_hold`: when it ends (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
    /// For `step_up_required`: the `acr_values` to ask for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr_values: Option<&'static str>,
}

impl App {
    // ---- keys -----------------------------------------------------------

    /// The key that signs now, created (once, whichever instance is first)
    /// when there is none.
    pub async fn signing_key(&self) -> AppResult<(String, Arc<CoreRsaPrivateSigningKey>)> {
        let keys = self.store.signing_keys().await?;
        let current = match keys.into_iter().find(|k| k.retired_at.is_none()) {
            Some(k) => k,
            None => {
                self.add_signing_key(true).await?;
                let keys = self.store.signing_keys().await?;
                keys.into_iter()
                    .find(|k| k.retired_at.is_none())
                    .ok_or_else(|| AppError::Internal("no signing key after creating one".into()))?
            }
        };
        if let Some((kid, key)) = self.oidc_signer.lock().map_err(|_| AppError::Internal("poisoned".into()))?.as_ref()
            && *kid == current.kid
        {
            return Ok((kid.clone(), key.clone()));
        }
        let key = Arc::new(open_signing_key(&self.keyring, &current)?);
        *self.oidc_signer.lock().map_err(|_| AppError::Internal("poisoned".into()))? =
            Some((current.kid.clone(), key.clone()));
        Ok((current.kid, key))
    }

    /// Makes a new signing key and retires the others (they stay published
    /// for `RETIRED_KEY_PUBLISHED_S`). `only_if_none`: the first key, kept
    /// only if no instance made one meanwhile. Returns the new key id.
    pub async fn add_signing_key(&self, only_if_none: bool) -> AppResult<Option<String>> {
        let keyring = self.keyring.clone();
        let now = self.now();
        let record = tokio::task::spawn_blocking(move || make_signing_key(&keyring, now))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))??;
        let added = self.store.add_signing_key(&record, only_if_none).await?;
        Ok(added.then_some(record.kid))
    }

    /// The published keys: the current one and those retired recently.
    pub async fn jwks(&self) -> AppResult<CoreJsonWebKeySet> {
        self.signing_key().await?;
        let now = self.now();
        let mut keys = Vec::new();
        for k in self.store.signing_keys().await? {
            if k.retired_at.is_none_or(|at| at + RETIRED_KEY_PUBLISHED_S > now) {
                let jwk: CoreJsonWebKey =
                    serde_json::from_str(&k.public_jwk).map_err(|e| AppError::Internal(e.to_string()))?;
                keys.push(jwk);
            }
        }
        Ok(CoreJsonWebKeySet::new(keys))
    }

    // ---- the token endpoint -----------------------------------------------

    /// Authenticates the application at the token endpoint: a confidential
    /// client by its secret, a public one by its id alone (it proved its
    /// request with PKCE).
    pub async fn authenticate_client(
        &self,
        creds: &ClientCredentials,
        meta: &RequestMeta,
    ) -> Result<ClientRecord, OAuthError> {
        let failures = format!("oidc-client-failures:ip:{}", meta.limit_key());
        let now = self.now();
        if self.store.hits(&failures, now - now.rem_euclid(60)).await.map_err(AppError::from)?
            >= CLIENT_FAILURES_PER_IP_PER_MINUTE
        {
            return Err(AppError::TooManyAttempts { retry_after_s: 60 - now.rem_euclid(60) }.into());
        }
        let client = match creds.client_id.len() {
            1..=128 => self.store.client(&creds.client_id).await.map_err(AppError::from)?,
            _ => None,
        };
        // Some libraries send an empty secret for a public client.
        let secret = creds.client_secret.as_ref().filter(|s| !s.is_empty());
        let ok = match (&client, secret) {
            (Some(c), Some(secret)) => {
                c.secret_hash.as_ref().is_some_and(|h| bool::from(token_hash(secret).as_bytes().ct_eq(h.as_bytes())))
            }
            (Some(c), None) => c.secret_hash.is_none(),
            (None, _) => false,
        };
        match client {
            Some(c) if ok => Ok(c),
            _ => {
                self.store.hit(&failures, now - now.rem_euclid(60)).await.map_err(AppError::from)?;
                Err(OAuthError::invalid_client())
            }
        }
    }

    /// `POST /oauth2/token`.
    pub async fn token(
        &self,
        req: &TokenRequest,
        creds: &ClientCredentials,
        meta: &RequestMeta,
    ) -> Result<TwostepTokenResponse, OAuthError> {
        let client = self.authenticate_client(creds, meta).await?;
        self.rate_limit(&format!("oidc-token:client:{}", client.id), 60, TOKEN_PER_CLIENT_PER_MINUTE).await?;
        if client.secret_hash.is_none() {
            let bucket = format!("oidc-token:public:{}:ip:{}", client.id, meta.limit_key());
            self.rate_limit(&bucket, 60, PUBLIC_CLIENT_PER_IP_PER_MINUTE).await?;
        }
        match req.grant_type.as_deref() {
            Some("authorization_code") => self.exchange_code(&client, req, meta).await,
            Some("refresh_token") => self.refresh(&client, req, meta).await,
            Some(_) => Err(OAuthError::new(400, "unsupported_grant_type", "use authorization_code or refresh_token")),
            None => Err(OAuthError::new(400, "invalid_request", "grant_type is missing")),
        }
    }

    async fn exchange_code(
        &self,
        client: &ClientRecord,
        req: &TokenRequest,
        meta: &RequestMeta,
    ) -> Result<TwostepTokenResponse, OAuthError> {
        let code = req
            .code
            .as_deref()
            .filter(|c| !c.is_empty() && c.len() <= 128)
            .ok_or_else(|| OAuthError::new(400, "invalid_request", "code is missing"))?;
        let now = self.now();
        let hash = token_hash(code);
        // Everything is checked before the code is used up, so that only
        // the client it was issued to, with its redirect URI and verifier,
        // can use it (or, by using it twice, end what it opened).
        let Some(issued) = self.store.code(&hash, now).await.map_err(AppError::from)? else {
            return Err(OAuthError::invalid_grant("the code is unknown or expired"));
        };
        let facts: GrantFacts = serde_json::from_str(&issued.grant).map_err(|e| AppError::Internal(e.to_string()))?;
        if issued.client_id != client.id || req.redirect_uri.as_deref() != Some(facts.redirect_uri.as_str()) {
            return Err(OAuthError::invalid_grant("the code was not issued to this client and redirect URI"));
        }
        match (&facts.code_challenge, req.code_verifier.as_deref()) {
            (Some(challenge), Some(verifier)) if pkce_s256_matches(verifier, challenge) => {}
            (None, None) => {}
            _ => return Err(OAuthError::invalid_grant("the code verifier does not match")),
        }
        let grant = GrantRecord {
            id: new_id(),
            client_id: client.id.clone(),
            account_id: issued.account_id.clone(),
            session_hash: issued.session_hash.clone(),
            grant: issued.grant.clone(),
            created_at: now,
            revoked_at: None,
        };
        let (tokens, access, refresh) = fresh_tokens(&grant.id, now);
        let audit = self.audit_event(AuditKind::OidcSignedIn, Some(&grant.account_id), meta, &client.id);
        let reused = self.audit_event(AuditKind::OidcRefreshReused, Some(&grant.account_id), meta, "code");
        let exchanged = self.store.exchange_code(&hash, &grant, &tokens, &audit, &reused, now).await;
        match exchanged.map_err(AppError::from)? {
            CodeExchange::Opened => {}
            // A code used twice: whoever used it first may be a thief who
            // copied it; the grant it opened ends (RFC 6749 4.1.2).
            CodeExchange::Reused => return Err(OAuthError::invalid_grant("the code was used already")),
            CodeExchange::Gone => return Err(OAuthError::invalid_grant("the code is unknown or expired")),
            CodeExchange::SessionEnded => {
                return Err(OAuthError::invalid_grant("the sign-in behind the code has ended"));
            }
        }
        let code = AuthorizationCode::new(code.to_owned());
        self.token_response(&grant, &facts, &access, &refresh, facts.nonce.as_deref(), Some(&code)).await
    }

    async fn refresh(
        &self,
        client: &ClientRecord,
        req: &TokenRequest,
        meta: &RequestMeta,
    ) -> Result<TwostepTokenResponse, OAuthError> {
        let presented = req
            .refresh_token
            .as_deref()
            .filter(|t| !t.is_empty() && t.len() <= 128)
            .ok_or_else(|| OAuthError::new(400, "invalid_request", "refresh_token is missing"))?;
        let now = self.now();
        let hash = token_hash(presented);
        let lookup = self.store.token(&hash, now).await.map_err(AppError::from)?;
        let Some(lookup) = lookup.filter(|l| l.kind == TokenKind::Refresh && l.grant.client_id == client.id) else {
            return Err(OAuthError::invalid_grant("the refresh token is unknown"));
        };
        self.rate_limit(&format!("oidc-refresh:grant:{}", lookup.grant.id), 60, REFRESHES_PER_GRANT_PER_MINUTE).await?;
        let (tokens, access, refresh) = fresh_tokens(&lookup.grant.id, now);
        let reused = self.audit_event(AuditKind::OidcRefreshReused, Some(&lookup.grant.account_id), meta, &client.id);
        match self.store.rotate_refresh(&hash, &tokens, now, &reused).await.map_err(AppError::from)? {
            RefreshOutcome::Rotated => {}
            RefreshOutcome::Reused => {
                tracing::warn!(client_id = %client.id, "refresh token reused: its family is revoked");
                return Err(OAuthError::invalid_grant("the refresh token was used already; the sign-in has ended"));
            }
            RefreshOutcome::Invalid => return Err(OAuthError::invalid_grant("the refresh token is no longer valid")),
        }
        let facts: GrantFacts =
            serde_json::from_str(&lookup.grant.grant).map_err(|e| AppError::Internal(e.to_string()))?;
        self.token_response(&lookup.grant, &facts, &access, &refresh, None, None).await
    }

    async fn token_response(
        &self,
        grant: &GrantRecord,
        facts: &GrantFacts,
        access: &str,
        refresh: &str,
        nonce: Option<&str>,
        code: Option<&AuthorizationCode>,
    ) -> Result<TwostepTokenResponse, OAuthError> {
        let account = self.account(&grant.account_id).await?;
        let access = AccessToken::new(access.to_owned());
        let id_token = self.id_token(grant, facts, &account, nonce, Some(&access), code).await?;
        let mut response = TwostepTokenResponse::new(
            access,
            CoreTokenType::Bearer,
            IdTokenFields::new(Some(id_token), EmptyExtraTokenFields {}),
        );
        response.set_expires_in(Some(&std::time::Duration::from_secs(ACCESS_TOKEN_TTL_S as u64)));
        response.set_refresh_token(Some(RefreshToken::new(refresh.to_owned())));
        response.set_scopes(Some(facts.scopes.iter().map(|s| Scope::new(s.clone())).collect()));
        Ok(response)
    }

    /// The account's security state as the claims carry it.
    pub fn security_claims(&self, account: &AccountRecord, sid: Option<String>) -> SecurityClaims {
        SecurityClaims {
            sid,
            withdrawals_blocked_until: account.withdrawals_blocked_until.filter(|&u| u > self.now()),
            frozen: account.frozen_at.is_some(),
        }
    }

    async fn id_token(
        &self,
        grant: &GrantRecord,
        facts: &GrantFacts,
        account: &AccountRecord,
        nonce: Option<&str>,
        access: Option<&AccessToken>,
        code: Option<&AuthorizationCode>,
    ) -> AppResult<TwostepIdToken> {
        let (_, key) = self.signing_key().await?;
        let now = self.now();
        let issuer = self.issuer_url()?;
        let standard = standard_claims(account, facts);
        let claims = IdTokenClaims::new(
            issuer,
            vec![Audience::new(grant.client_id.clone())],
            timestamp(now + ID_TOKEN_TTL_S)?,
            timestamp(now)?,
            standard,
            self.security_claims(account, Some(sid_of(&grant.session_hash))),
        )
        .set_auth_time(Some(timestamp(facts.auth_time)?))
        .set_nonce(nonce.map(|n| Nonce::new(n.to_owned())))
        .set_auth_context_ref(Some(AuthenticationContextClass::new(facts.acr.clone())))
        .set_auth_method_refs(Some(
            amr(&facts.proof_factors()).into_iter().map(|m| AuthenticationMethodReference::new(m.into())).collect(),
        ))
        .set_authorized_party(Some(ClientId::new(grant.client_id.clone())));
        IdToken::new(claims, key.as_ref(), CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, access, code)
            .map_err(|e| AppError::Internal(format!("signing an ID token: {e}")))
    }

    // ---- userinfo, revocation -----------------------------------------------

    /// `GET /oauth2/userinfo` with a bearer access token.
    pub async fn userinfo(&self, access_token: &str) -> AppResult<UserInfoClaims<SecurityClaims, CoreGenderClaim>> {
        if access_token.is_empty() || access_token.len() > 128 {
            return Err(AppError::Unauthorized);
        }
        let lookup = self.store.token(&token_hash(access_token), self.now()).await?.ok_or(AppError::Unauthorized)?;
        if lookup.kind != TokenKind::Access || !lookup.session_live || lookup.grant.revoked_at.is_some() {
            return Err(AppError::Unauthorized);
        }
        let facts: GrantFacts =
            serde_json::from_str(&lookup.grant.grant).map_err(|e| AppError::Internal(e.to_string()))?;
        let account = self.account(&lookup.grant.account_id).await?;
        let standard = standard_claims(&account, &facts);
        Ok(UserInfoClaims::new(standard, self.security_claims(&account, None)))
    }

    /// `POST /oauth2/revoke` (RFC 7009): either token ends its grant; an
    /// unknown token, or another client's, changes nothing and is not told.
    pub async fn revoke_token(
        &self,
        token: &str,
        creds: &ClientCredentials,
        meta: &RequestMeta,
    ) -> Result<(), OAuthError> {
        let client = self.authenticate_client(creds, meta).await?;
        if token.is_empty() || token.len() > 128 {
            return Ok(());
        }
        let now = self.now();
        if let Some(lookup) = self.store.token(&token_hash(token), now).await.map_err(AppError::from)?
            && lookup.grant.client_id == client.id
        {
            let account = lookup.grant.account_id.as_str();
            let audit =
                self.audit_event(AuditKind::OidcAccessRevoked, Some(account), meta, "revoked by the application");
            self.store.revoke_grant(&lookup.grant.id, now, Some(&audit)).await.map_err(AppError::from)?;
        }
        Ok(())
    }

    // ---- the action check -------------------------------------------------

    /// `POST /api/v1/actions/check`: may the account do `action` now? Only
    /// a confidential client, and only about an account that signed in to
    /// it.
    pub async fn check_action(
        &self,
        check: &ActionCheck,
        creds: &ClientCredentials,
        meta: &RequestMeta,
    ) -> Result<ActionVerdict, OAuthError> {
        let client = self.authenticate_client(creds, meta).await?;
        if client.secret_hash.is_none() {
            return Err(OAuthError::new(401, "unauthorized_client", "the action check is for confidential clients"));
        }
        self.rate_limit(&format!("oidc-action:client:{}", client.id), 60, ACTION_CHECKS_PER_CLIENT_PER_MINUTE).await?;
        if !ACTIONS.contains(&check.action.as_str()) {
            return Err(AppError::invalid("action", format!("must be one of {}", ACTIONS.join(", "))).into());
        }
        if check.sub.is_empty()
            || check.sub.len() > 64
            || !self.store.client_knows_account(&client.id, &check.sub).await.map_err(AppError::from)?
        {
            return Err(AppError::NotFound.into());
        }
        let account = self.store.account_by_id(&check.sub).await.map_err(AppError::from)?.ok_or(AppError::NotFound)?;
        let now = self.now();
        let refused = |reason, until| ActionVerdict { allowed: false, reason: Some(reason), until, acr_values: None };
        if account.frozen_at.is_some() {
            return Ok(refused("frozen", None));
        }
        if let Some(until) = account.withdrawals_blocked_until.filter(|&u| u > now) {
            return Ok(refused("security_hold", Some(until)));
        }
        let proved = match check.acr_proof.as_deref().filter(|p| p.len() <= 16 * 1024) {
            Some(proof) => self.step_up_proof_ok(proof, &client, &account.id).await?,
            None => false,
        };
        if !proved {
            return Ok(ActionVerdict {
                allowed: false,
                reason: Some("step_up_required"),
                until: None,
                acr_values: Some(Acr::StepUp.as_str()),
            });
        }
        Ok(ActionVerdict { allowed: true, reason: None, until: None, acr_values: None })
    }

    /// Whether `proof` is an ID token twostep issued to this client for
    /// this account, with the step-up acr, authenticated recently.
    async fn step_up_proof_ok(&self, proof: &str, client: &ClientRecord, account_id: &str) -> AppResult<bool> {
        let Ok(token) = TwostepIdToken::from_str(proof) else {
            return Ok(false);
        };
        let verifier = self.id_token_verifier(&client.id).await?;
        let Ok(claims) = token.claims(&verifier, |_: Option<&Nonce>| Ok(())) else {
            return Ok(false);
        };
        let fresh = claims.auth_time().is_some_and(|t| t.timestamp() >= self.now() - STEP_UP_PROOF_MAX_AGE_S);
        let step_up = claims.auth_context_ref().is_some_and(|a| a.as_str() == Acr::StepUp.as_str());
        if claims.subject().as_str() != account_id || !fresh || !step_up {
            return Ok(false);
        }
        // Only while the sign-in it came from stands: signed out, signed
        // out everywhere or cut off, the proof is void.
        let Some(sid) = claims.additional_claims().sid.as_deref() else { return Ok(false) };
        let live = self.store.live_grant_sessions(&client.id, account_id, self.now()).await?;
        Ok(live.iter().any(|session| sid_of(session) == sid))
    }

    /// A verifier of ID tokens issued to `client_id`, against the JWKS.
    pub async fn id_token_verifier(&self, client_id: &str) -> AppResult<IdTokenVerifier<'static, CoreJsonWebKey>> {
        let issuer = self.issuer_url()?;
        Ok(IdTokenVerifier::new_public_client(ClientId::new(client_id.to_owned()), issuer, self.jwks().await?))
    }
}

/// A new RSA signing key, sealed under the keyring's current key (CPU:
/// tens of milliseconds to seconds; run it off the async threads).
pub fn make_signing_key(keyring: &crate::crypto::Keyring, now: i64) -> AppResult<SigningKeyRecord> {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, RSA_BITS)
        .map_err(|e| AppError::Internal(format!("making a signing key: {e}")))?;
    let pem = key.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF).map_err(|e| AppError::Internal(e.to_string()))?;
    let kid = new_id();
    let signer =
        CoreRsaPrivateSigningKey::from_pem(&pem, Some(JsonWebKeyId::new(kid.clone()))).map_err(AppError::Internal)?;
    let public_jwk =
        serde_json::to_string(&signer.as_verification_key()).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(SigningKeyRecord {
        kid,
        sealed_key: keyring.seal(SIGNING_KEY_CONTEXT, pem.as_bytes()),
        public_jwk,
        created_at: now,
        retired_at: None,
    })
}

/// `sub`, and with the `email` scope the address and whether it is confirmed.
fn standard_claims(account: &AccountRecord, facts: &GrantFacts) -> StandardClaims<CoreGenderClaim> {
    let standard = StandardClaims::new(SubjectIdentifier::new(account.id.clone()));
    if !facts.scopes.iter().any(|s| s == "email") {
        return standard;
    }
    standard
        .set_email(Some(EndUserEmail::new(account.email.clone())))
        .set_email_verified(Some(account.email_verified_at.is_some()))
}

/// A stored signing key, opened with the keyring and parsed.
fn open_signing_key(keyring: &crate::crypto::Keyring, key: &SigningKeyRecord) -> AppResult<CoreRsaPrivateSigningKey> {
    let pem = keyring
        .open(SIGNING_KEY_CONTEXT, &key.sealed_key)
        .map_err(|e| AppError::Internal(format!("signing key: {e}")))?;
    let pem = std::str::from_utf8(&pem).map_err(|_| AppError::Internal("signing key is not PEM".into()))?;
    CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new(key.kid.clone())))
        .map_err(|e| AppError::Internal(format!("signing key: {e}")))
}

/// What signing one ID token costs here, `samples` times, sorted: a new key,
/// the claims of a sign-in, RS256. For `twostep bench`.
pub fn time_id_token_signing(samples: usize) -> AppResult<Vec<std::time::Duration>> {
    let keyring = crate::crypto::Keyring::new(&crate::crypto::MasterKey::generate(), &[]);
    let key = open_signing_key(&keyring, &make_signing_key(&keyring, 0)?)?;
    let issuer = IssuerUrl::new("https://twostep.example".into()).map_err(|e| AppError::Internal(e.to_string()))?;
    let access = AccessToken::new(new_token());
    let mut out = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = std::time::Instant::now();
        let claims = IdTokenClaims::new(
            issuer.clone(),
            vec![Audience::new("bench".into())],
            timestamp(ID_TOKEN_TTL_S)?,
            timestamp(0)?,
            StandardClaims::<CoreGenderClaim>::new(SubjectIdentifier::new(new_id())),
            SecurityClaims { sid: Some(new_id()), ..Default::default() },
        )
        .set_auth_method_refs(Some(vec![AuthenticationMethodReference::new("pwd".into())]));
        IdToken::<_, _, CoreJweContentEncryptionAlgorithm, _>::new(
            claims,
            &key,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            Some(&access),
            None,
        )
        .map_err(|e| AppError::Internal(e.to_string()))?;
        out.push(started.elapsed());
    }
    out.sort();
    Ok(out)
}

/// An access token and a refresh token for a grant, with their records.
fn fresh_tokens(grant_id: &str, now: i64) -> (Vec<TokenRecord>, String, String) {
    let access = new_token();
    let refresh = new_token();
    let record = |t: &str, kind, ttl| TokenRecord {
        token_hash: token_hash(t),
        grant_id: grant_id.to_owned(),
        kind,
        created_at: now,
        expires_at: now + ttl,
    };
    let records = vec![
        record(&access, TokenKind::Access, ACCESS_TOKEN_TTL_S),
        record(&refresh, TokenKind::Refresh, REFRESH_TOKEN_TTL_S),
    ];
    (records, access, refresh)
}

pub(crate) fn timestamp(t: i64) -> AppResult<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t, 0).ok_or_else(|| AppError::Internal("time out of range".into()))
}
