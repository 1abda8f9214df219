//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the
//! application sends the person to `/oauth2/logout`, twostep asks before it
//! signs them out (a link alone must not sign anyone out), and returns them
//! only to a post-logout address the application registered.

use std::str::FromStr;

use openidconnect::core::CoreJsonWebKey;
use openidconnect::{IdTokenVerifier, Nonce};
use serde::{Deserialize, Serialize};

use super::tokens::TwostepIdToken;
use crate::App;
use crate::error::{AppError, AppResult};

/// The logout request, as sent (query or form).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct EndSession {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

/// Whom the logout is for and where it returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndSessionTarget {
    pub client_name: Option<String>,
    /// The registered post-logout address, with `state`; None: twostep's
    /// sign-in page.
    pub redirect: Option<String>,
}

impl App {
    /// Checks a logout request: the application is named by `client_id` or
    /// by an ID token it was issued (`id_token_hint`, checked against the
    /// JWKS, expired or not); a post-logout address must be one it
    /// registered, exactly.
    pub async fn end_session_target(&self, q: &EndSession) -> AppResult<EndSessionTarget> {
        let from_hint = match q.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
            Some(hint) => Some(
                self.hint_audience(hint)
                    .await?
                    .ok_or_else(|| AppError::invalid("id_token_hint", "is not an ID token this server issued"))?,
            ),
            None => None,
        };
        let named = q.client_id.clone().filter(|c| !c.is_empty());
        if let (Some(a), Some(b)) = (&from_hint, &named)
            && a != b
        {
            return Err(AppError::invalid("client_id", "does not match the ID token"));
        }
        let Some(client_id) = from_hint.or(named) else {
            if q.post_logout_redirect_uri.as_deref().is_some_and(|u| !u.is_empty()) {
                return Err(AppError::invalid("client_id", "name the application to return to it"));
            }
            return Ok(EndSessionTarget { client_name: None, redirect: None });
        };
        let client = self.store.client(&client_id).await?.ok_or(AppError::NotFound)?;
        let redirect = match q.post_logout_redirect_uri.as_deref().filter(|u| !u.is_empty()) {
            Some(uri) if client.post_logout_redirect_uris.iter().any(|r| r == uri) => {
                let mut url = openidconnect::url::Url::parse(uri)
                    .map_err(|_| AppError::invalid("post_logout_redirect_uri", "is not a URL"))?;
                if let Some(state) = q.state.as_deref().filter(|s| !s.is_empty() && s.len() <= 512) {
                    url.query_pairs_mut().append_pair("state", state);
                }
                Some(url.to_string())
            }
            Some(_) => {
                return Err(AppError::invalid("post_logout_redirect_uri", "is not registered for this application"));
            }
            None => None,
        };
        Ok(EndSessionTarget { client_name: Some(client.name), redirect })
    }

    /// The audience of an ID token this server signed, expired or not.
    async fn hint_audience(&self, hint: &str) -> AppResult<Option<String>> {
        if hint.len() > 16 * 1024 {
            return Ok(None);
        }
        let Ok(token) = TwostepIdToken::from_str(hint) else { return Ok(None) };
        let unchecked: IdTokenVerifier<CoreJsonWebKey> = IdTokenVerifier::new_insecure_without_verification();
        let Ok(claims) = token.claims(&unchecked, |_: Option<&Nonce>| Ok(())) else { return Ok(None) };
        let Some(aud) = claims.audiences().first().map(|a| a.as_str().to_owned()) else { return Ok(None) };
        let issued = claims.issue_time();
        let verifier = self.id_token_verifier(&aud).await?.set_time_fn(move || issued);
        Ok(token.claims(&verifier, |_: Option<&Nonce>| Ok(())).is_ok().then_some(aud))
    }

    /// The name of the application a kept authorization request is for,
    /// for the sign-in page.
    pub async fn pending_client_name(&self, request_id: &str) -> Option<String> {
        if request_id.is_empty() || request_id.len() > 64 {
            return None;
        }
        let pending = self.store.request(request_id, self.now()).await.ok()??;
        self.store.client(&pending.client_id).await.ok()?.map(|c| c.name)
    }
}
