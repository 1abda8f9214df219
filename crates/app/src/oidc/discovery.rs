//! The discovery document (`/.well-known/openid-configuration`), built
//! with the `openidconnect` crate's provider metadata, from `--public-url`.

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm, CoreResponseMode,
    CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthUrl, AuthenticationContextClass, IssuerUrl, JsonWebKeySetUrl, ProviderMetadata,
    ResponseTypes, Scope, TokenUrl, UserInfoUrl,
};
use serde::{Deserialize, Serialize};
use twostep_domain::oidc::{Acr, SCOPES};

use crate::App;
use crate::error::{AppError, AppResult};

/// What the discovery document says beside OpenID Connect Discovery 1.0:
/// logout (RP-initiated and back-channel), revocation, PKCE and prompts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TwostepMetadata {
    pub end_session_endpoint: String,
    pub revocation_endpoint: String,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub backchannel_logout_supported: bool,
    pub backchannel_logout_session_supported: bool,
    pub prompt_values_supported: Vec<String>,
    /// twostep's action check for an application's server.
    pub action_check_endpoint: String,
}
impl AdditionalProviderMetadata for TwostepMetadata {}

pub type Discovery = ProviderMetadata<
    TwostepMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

impl App {
    pub fn discovery(&self) -> AppResult<Discovery> {
        let base = self.issuer();
        let url = |path: &str| format!("{base}{path}");
        let bad = |e: openidconnect::url::ParseError| AppError::Internal(format!("--public-url: {e}"));
        let auth_methods = vec![
            CoreClientAuthMethod::ClientSecretBasic,
            CoreClientAuthMethod::ClientSecretPost,
            CoreClientAuthMethod::None,
        ];
        let metadata = Discovery::new(
            IssuerUrl::new(base.clone()).map_err(bad)?,
            AuthUrl::new(url("/oauth2/authorize")).map_err(bad)?,
            JsonWebKeySetUrl::new(url("/oauth2/jwks")).map_err(bad)?,
            vec![ResponseTypes::new(vec![CoreResponseType::Code])],
            vec![CoreSubjectIdentifierType::Public],
            vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256],
            TwostepMetadata {
                end_session_endpoint: url("/oauth2/logout"),
                revocation_endpoint: url("/oauth2/revoke"),
                revocation_endpoint_auth_methods_supported: vec![
                    "client_secret_basic".into(),
                    "client_secret_post".into(),
                    "none".into(),
                ],
                code_challenge_methods_supported: vec!["S256".into()],
                backchannel_logout_supported: true,
                backchannel_logout_session_supported: true,
                prompt_values_supported: vec!["none".into(), "login".into(), "consent".into()],
                action_check_endpoint: url("/api/v1/actions/check"),
            },
        )
        .set_token_endpoint(Some(TokenUrl::new(url("/oauth2/token")).map_err(bad)?))
        .set_userinfo_endpoint(Some(UserInfoUrl::new(url("/oauth2/userinfo")).map_err(bad)?))
        .set_scopes_supported(Some(SCOPES.iter().map(|s| Scope::new((*s).to_owned())).collect()))
        .set_grant_types_supported(Some(vec![CoreGrantType::AuthorizationCode, CoreGrantType::RefreshToken]))
        .set_acr_values_supported(Some(
            Acr::ALL.iter().map(|a| AuthenticationContextClass::new(a.as_str().to_owned())).collect(),
        ))
        .set_token_endpoint_auth_methods_supported(Some(auth_methods))
        .set_claims_supported(Some(
            [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "acr",
                "amr",
                "azp",
                "sid",
                "email",
                "email_verified",
                "withdrawals_blocked_until",
                "frozen",
            ]
            .iter()
            .map(|c| CoreClaimName::new((*c).to_owned()))
            .collect(),
        ))
        .set_request_parameter_supported(Some(false))
        .set_request_uri_parameter_supported(Some(false))
        .set_claims_parameter_supported(Some(false));
        Ok(metadata)
    }
}
