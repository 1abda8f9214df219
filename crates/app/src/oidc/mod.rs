//! The OpenID Connect provider: other applications sign their users in
//! with twostep (authorization code flow with PKCE), and learn from the ID
//! token and the action check how the person proved who they are and
//! whether withdrawals are on hold. This module owns the authorization
//! request (from the application's redirect to the code); `tokens` owns
//! the token endpoint, the keys and the action check; `feed` sends the
//! security webhooks and the back-channel logout tokens through the
//! outbound queue. Pages and protocol routes are in `web`.
//!
//! A grant lives only while the twostep session it came from lives: every
//! "sign out everywhere" (a password change, a recovery approval, a freeze)
//! also ends every application's refresh tokens, and the applications are
//! told by back-channel logout.

pub mod clients;
pub mod discovery;
pub mod feed;
pub mod logout;
pub mod port;
pub mod tokens;

use openidconnect::url::Url;
use serde::{Deserialize, Serialize};
use twostep_domain::audit_kind::AuditKind;
use twostep_domain::oidc::{Acr, Freshness, Need, SessionAuth, granted_scopes, valid_pkce_value};
use twostep_domain::sudo::{ProofFactor, SessionProof};

use crate::crypto::{new_id, new_token, token_hash};
use crate::error::{AppError, AppResult};
use crate::{App, RequestMeta};
pub use logout::{EndSession, EndSessionTarget};
use port::{ClientRecord, CodeRecord, PendingRequest};

/// An authorization request waits this long for its sign-in, proof or consent.
const REQUEST_TTL_S: i64 = 10 * 60;
/// A code is exchanged within a minute or never (RFC 6749 advises at most 10).
const CODE_TTL_S: i64 = 60;
/// Authorization requests per IP a minute; each may store a pending row.
const AUTHORIZE_PER_IP_PER_MINUTE: i64 = 60;
/// Requests kept for a sign-in, a proof or a consent, a minute in all:
/// kept rows are then at most ten times this. Requests answered at once
/// do not count, so strangers cannot use up the signed-in people's share.
const KEPT_PER_MINUTE: i64 = 6000;
/// Where "Confirm it's you" returns to when a request asked for the proof.
const CONTINUE_PREFIX: &str = "/account/authorize?request=";
/// The longest `state` or `nonce` kept.
const MAX_PARAM_LEN: usize = 512;

/// The query of `GET /oauth2/authorize`, as sent.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub acr_values: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
}

/// A checked authorization request, kept while the person signs in.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt_none: bool,
    pub prompt_login: bool,
    pub prompt_consent: bool,
    pub max_age: Option<i64>,
    pub step_up: bool,
    /// When the application asked (the request's first sight).
    pub asked_at: i64,
    /// The proof given for this request, and by which session (its token
    /// hash); kept in its own columns, not in the request's JSON.
    #[serde(skip)]
    pub proof: Option<(SessionProof, String)>,
}

impl AuthRequest {
    fn freshness(&self) -> Freshness {
        Freshness { prompt_login: self.prompt_login, max_age: self.max_age, step_up: self.step_up }
    }

    /// The client's redirect URI with `pairs` added to its query.
    fn redirect_with(&self, pairs: &[(&str, &str)]) -> String {
        let mut url = match Url::parse(&self.redirect_uri) {
            Ok(u) => u,
            Err(_) => return self.redirect_uri.clone(),
        };
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k, v);
            }
            if let Some(state) = &self.state {
                q.append_pair("state", state);
            }
        }
        url.to_string()
    }

    /// An OAuth error sent back to the application.
    fn error(&self, error: &str, description: &str) -> AuthorizeOutcome {
        AuthorizeOutcome::Redirect(self.redirect_with(&[("error", error), ("error_description", description)]))
    }
}

/// What the code stands for, fixed when it is issued.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct GrantFacts {
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub scopes: Vec<String>,
    pub auth_time: i64,
    /// The factors proved, by name (`ProofFactor::as_str`).
    pub factors: Vec<String>,
    pub acr: String,
}

impl GrantFacts {
    pub fn proof_factors(&self) -> Vec<ProofFactor> {
        self.factors.iter().filter_map(|f| ProofFactor::parse(f)).collect()
    }
}

/// Where the browser goes next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthorizeOutcome {
    /// Back to the application, with a code or an error.
    Redirect(String),
    /// To the sign-in page, returning to the request afterwards.
    SignIn { request_id: String, client_name: String },
    /// To "Confirm it's you", returning to the request afterwards.
    Proof { request_id: String },
    /// To the consent page.
    Consent { request_id: String, client_name: String, scopes: Vec<String> },
    /// The request cannot be answered to the application at all (unknown
    /// client, a redirect URI not registered): shown to the person.
    Invalid(String),
}

impl App {
    /// The issuer: `--public-url`, without a trailing slash.
    pub fn issuer(&self) -> String {
        self.settings.public_url.trim_end_matches('/').to_owned()
    }

    /// The issuer as the tokens carry it.
    pub fn issuer_url(&self) -> AppResult<openidconnect::IssuerUrl> {
        openidconnect::IssuerUrl::new(self.issuer()).map_err(|e| AppError::Internal(format!("--public-url: {e}")))
    }

    /// `GET /oauth2/authorize`: checks the request and answers it at once
    /// when the session allows, or keeps it for the sign-in, the proof or
    /// the consent it needs.
    pub async fn authorize(
        &self,
        params: &AuthorizeParams,
        session_token: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<AuthorizeOutcome> {
        self.rate_limit(&format!("oidc-authorize:ip:{}", meta.limit_key()), 60, AUTHORIZE_PER_IP_PER_MINUTE).await?;
        let (client, request) = match self.check_request(params).await? {
            Ok(checked) => checked,
            Err(outcome) => return Ok(outcome),
        };
        self.answer(&client, request, None, session_token, false).await
    }

    /// After "Confirm it's you" succeeded in this session: when it was
    /// reached from a kept request (`next` returns to it), the proof is
    /// recorded as that request's, and only that request's step-up.
    pub async fn prove_request(&self, next: &str, session_token: &str, factor: ProofFactor) -> AppResult<()> {
        let Some(request_id) = next.strip_prefix(CONTINUE_PREFIX) else { return Ok(()) };
        if request_id.is_empty() || request_id.len() > 64 {
            return Ok(());
        }
        self.store.prove_request(request_id, factor.as_str(), self.now(), &token_hash(session_token)).await?;
        Ok(())
    }

    /// A sign-in made through a kept request (the sign-in page sent on to
    /// it): recorded as the request's proof, bound to the new session, by
    /// the strongest factor the sign-in proved. Only such a sign-in counts
    /// for the request's step-up or `prompt=login`.
    pub async fn sign_in_for_request(&self, next: &str, session_token: &str) -> AppResult<()> {
        if !next.starts_with(CONTINUE_PREFIX) {
            return Ok(());
        }
        let Some(session) = self.store.session(&token_hash(session_token), self.now()).await? else { return Ok(()) };
        let strongest = session.factors.iter().copied().find(|f| f.is_strong()).or(session.factors.first().copied());
        match strongest {
            Some(factor) => self.prove_request(next, session_token, factor).await,
            None => Ok(()),
        }
    }

    /// Back from the sign-in, the proof or a consent: the kept request,
    /// answered if the session now allows.
    pub async fn continue_authorization(
        &self,
        request_id: &str,
        session_token: Option<&str>,
    ) -> AppResult<AuthorizeOutcome> {
        let (client, request) = self.pending(request_id).await?;
        self.answer(&client, request, Some(request_id), session_token, false).await
    }

    /// The consent page's answer: allowed (remembered for the account) or
    /// denied (the application hears `access_denied`).
    pub async fn consent(
        &self,
        request_id: &str,
        session_token: &str,
        allow: bool,
        meta: &RequestMeta,
    ) -> AppResult<AuthorizeOutcome> {
        let (client, request) = self.pending(request_id).await?;
        let account_id = self.authenticate(session_token).await?;
        if !allow {
            self.store.delete_request(request_id).await?;
            return Ok(request.error("access_denied", "the person declined"));
        }
        let scope = request.scopes.join(" ");
        self.store.save_consent(&account_id, &client.id, &scope, self.now()).await?;
        self.audit(AuditKind::OidcConsentGiven, Some(&account_id), meta, &client.id).await?;
        self.answer(&client, request, Some(request_id), Some(session_token), true).await
    }

    async fn pending(&self, request_id: &str) -> AppResult<(ClientRecord, AuthRequest)> {
        if request_id.is_empty() || request_id.len() > 64 {
            return Err(AppError::NotFound);
        }
        let pending = self.store.request(request_id, self.now()).await?.ok_or(AppError::NotFound)?;
        let mut request: AuthRequest =
            serde_json::from_str(&pending.request).map_err(|e| AppError::Internal(e.to_string()))?;
        request.proof = pending.proof.and_then(|(factor, at, session)| {
            Some((SessionProof { factor: ProofFactor::parse(&factor)?, at }, session))
        });
        let client = self.store.client(&pending.client_id).await?.ok_or(AppError::NotFound)?;
        Ok((client, request))
    }

    /// The request checked against the client, or what to answer instead.
    async fn check_request(
        &self,
        p: &AuthorizeParams,
    ) -> AppResult<Result<(ClientRecord, AuthRequest), AuthorizeOutcome>> {
        let invalid = |why: &str| Ok(Err(AuthorizeOutcome::Invalid(why.to_owned())));
        let Some(client_id) = p.client_id.as_deref().filter(|c| !c.is_empty() && c.len() <= 128) else {
            return invalid("the application did not say who it is (client_id)");
        };
        let Some(client) = self.store.client(client_id).await? else {
            return invalid("this application is not registered here");
        };
        // Exact match only: a redirect URI is never guessed or widened.
        let Some(redirect_uri) = p.redirect_uri.as_deref().filter(|r| client.redirect_uris.iter().any(|u| u == r))
        else {
            return invalid("this application's redirect address is not registered here");
        };
        let clip = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        let state = clip(&p.state);
        let mut request = AuthRequest {
            client_id: client.id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            scopes: Vec::new(),
            state: state.clone().filter(|s| s.len() <= MAX_PARAM_LEN),
            nonce: clip(&p.nonce),
            code_challenge: clip(&p.code_challenge),
            prompt_none: false,
            prompt_login: false,
            prompt_consent: false,
            max_age: None,
            step_up: false,
            asked_at: self.now(),
            proof: None,
        };
        if state.as_ref().is_some_and(|s| s.len() > MAX_PARAM_LEN) {
            return Ok(Err(request.error("invalid_request", "state is too long")));
        }
        if p.request.is_some() || p.request_uri.is_some() {
            return Ok(Err(request.error("request_not_supported", "request objects are not supported")));
        }
        if p.response_type.as_deref() != Some("code") {
            return Ok(Err(request.error("unsupported_response_type", "only response_type=code is supported")));
        }
        let Some(scopes) = granted_scopes(p.scope.as_deref().unwrap_or("")) else {
            return Ok(Err(request.error("invalid_scope", "the scope must include openid")));
        };
        request.scopes = scopes.into_iter().map(str::to_owned).collect();
        if request.nonce.as_ref().is_some_and(|n| n.len() > MAX_PARAM_LEN) {
            return Ok(Err(request.error("invalid_request", "nonce is too long")));
        }
        match (&request.code_challenge, p.code_challenge_method.as_deref()) {
            (None, _) if client.secret_hash.is_none() => {
                return Ok(Err(request.error("invalid_request", "a public client must use PKCE (S256)")));
            }
            (None, _) => {}
            (Some(c), Some("S256")) if valid_pkce_value(c) => {}
            (Some(_), Some("S256")) => return Ok(Err(request.error("invalid_request", "malformed code_challenge"))),
            (Some(_), _) => {
                return Ok(Err(request.error("invalid_request", "code_challenge_method must be S256")));
            }
        }
        for prompt in p.prompt.as_deref().unwrap_or("").split(' ').filter(|s| !s.is_empty()) {
            match prompt {
                "none" => request.prompt_none = true,
                "login" => request.prompt_login = true,
                "consent" => request.prompt_consent = true,
                "select_account" => {}
                _ => return Ok(Err(request.error("invalid_request", "unknown prompt value"))),
            }
        }
        if request.prompt_none && (request.prompt_login || request.prompt_consent) {
            return Ok(Err(request.error("invalid_request", "prompt=none cannot be combined")));
        }
        if let Some(max_age) = p.max_age.as_deref().filter(|m| !m.is_empty()) {
            match max_age.parse::<i64>() {
                Ok(m) if m >= 0 => request.max_age = Some(m),
                _ => return Ok(Err(request.error("invalid_request", "max_age must be a number of seconds"))),
            }
        }
        request.step_up = p.acr_values.as_deref().unwrap_or("").split(' ').any(|v| Acr::parse(v) == Some(Acr::StepUp));
        Ok(Ok((client, request)))
    }

    /// Answers the request if the session allows, else keeps it (once) and
    /// says where the person goes.
    async fn answer(
        &self,
        client: &ClientRecord,
        request: AuthRequest,
        kept: Option<&str>,
        session_token: Option<&str>,
        consented_now: bool,
    ) -> AppResult<AuthorizeOutcome> {
        let session = match session_token.filter(|t| !t.is_empty() && t.len() <= 256) {
            Some(t) => self.store.session(&token_hash(t), self.now()).await?.map(|s| (t, s)),
            None => None,
        };
        let Some((token, session)) = session else {
            if request.prompt_none {
                return Ok(request.error("login_required", "no one is signed in"));
            }
            let request_id = self.keep(&request, kept).await?;
            return Ok(AuthorizeOutcome::SignIn { request_id, client_name: client.name.clone() });
        };
        let account = self.account(&session.account_id).await?;
        let factors = self.account_factors(&account).await?;
        let session_hash = token_hash(token);
        let auth = SessionAuth {
            signed_in_at: session.created_at,
            sign_in_factors: session.factors.clone(),
            proof: session.proof,
            // Only a proof this session gave for this request.
            for_request: request.proof.as_ref().filter(|(_, s)| *s == session_hash).map(|(p, _)| *p),
        };
        let now = self.now();
        match request.freshness().need(&auth, request.asked_at, now, factors.has_strong()) {
            Need::Nothing => {}
            _ if request.prompt_none => {
                return Ok(request.error("login_required", "a new sign-in or proof is needed"));
            }
            Need::SignIn => {
                let request_id = self.keep(&request, kept).await?;
                return Ok(AuthorizeOutcome::SignIn { request_id, client_name: client.name.clone() });
            }
            Need::Proof => {
                let request_id = self.keep(&request, kept).await?;
                return Ok(AuthorizeOutcome::Proof { request_id });
            }
        }
        let consented = match self.store.consent(&account.id, &client.id).await? {
            Some(scope) => request.scopes.iter().all(|s| scope.split(' ').any(|c| c == s)),
            None => false,
        };
        if !client.first_party && (!consented || (request.prompt_consent && !consented_now)) {
            if request.prompt_none {
                return Ok(request.error("consent_required", "the person has not let this application in"));
            }
            let request_id = self.keep(&request, kept).await?;
            return Ok(AuthorizeOutcome::Consent {
                request_id,
                client_name: client.name.clone(),
                scopes: request.scopes.clone(),
            });
        }
        let facts = GrantFacts {
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            nonce: request.nonce.clone(),
            scopes: request.scopes.clone(),
            auth_time: auth.auth_time(),
            factors: auth.factors().iter().map(|f| f.as_str().to_owned()).collect(),
            acr: auth.acr(request.asked_at, factors.has_strong()).as_str().to_owned(),
        };
        let code = new_token();
        self.store
            .create_oidc_code(&CodeRecord {
                code_hash: token_hash(&code),
                client_id: client.id.clone(),
                account_id: account.id.clone(),
                session_hash,
                grant: serde_json::to_string(&facts).map_err(|e| AppError::Internal(e.to_string()))?,
                created_at: now,
                expires_at: now + CODE_TTL_S,
                grant_id: None,
            })
            .await?;
        if let Some(id) = kept {
            self.store.delete_request(id).await?;
        }
        Ok(AuthorizeOutcome::Redirect(request.redirect_with(&[("code", &code)])))
    }

    /// Keeps the request for the person's return; a kept one stays as it is.
    async fn keep(&self, request: &AuthRequest, kept: Option<&str>) -> AppResult<String> {
        if let Some(id) = kept {
            return Ok(id.to_owned());
        }
        self.rate_limit("oidc-authorize:kept", 60, KEPT_PER_MINUTE).await?;
        let id = new_id();
        self.store
            .create_request(&PendingRequest {
                id: id.clone(),
                client_id: request.client_id.clone(),
                request: serde_json::to_string(request).map_err(|e| AppError::Internal(e.to_string()))?,
                created_at: request.asked_at,
                expires_at: request.asked_at + REQUEST_TTL_S,
                proof: None,
            })
            .await?;
        Ok(id)
    }

    /// The applications the account has let in, for the account page.
    pub async fn account_apps(&self, account_id: &str) -> AppResult<Vec<port::AccountApp>> {
        Ok(self.store.account_apps(account_id, self.now()).await?)
    }

    /// Ends every grant of the application for the account and forgets the
    /// consent: it must ask again.
    pub async fn revoke_app(&self, account_id: &str, client_id: &str, meta: &RequestMeta) -> AppResult<()> {
        let audit = self.audit_event(AuditKind::OidcAccessRevoked, Some(account_id), meta, client_id);
        let known = self.store.client_knows_account(client_id, account_id).await?;
        if !known {
            return Err(AppError::NotFound);
        }
        self.store.revoke_client_access(account_id, client_id, self.now(), &audit).await?;
        Ok(())
    }
}
