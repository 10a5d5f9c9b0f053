//! Sign-in with identity providers: the authorization request (code flow with PKCE S256,
//! `state` and `nonce`) and, at the callback, the exchange of the code for a verified
//! identity. OpenID Connect providers are found by discovery and their ID tokens checked
//! for signature, issuer, audience, expiry and nonce; GitHub speaks plain OAuth 2.0, so
//! its user and verified primary email come from its REST API.

pub mod config;
mod github;
pub mod http;

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    core::{CoreClient, CoreProviderMetadata, CoreResponseType, CoreUserInfoClaims},
};
use url::Url;

pub use self::config::{ProviderConfig, ProviderKind, providers_from_env};
use self::http::ProviderHttp;
use crate::error::AuthError;

/// How long a discovery document (and the signing keys it names) is reused.
const METADATA_TTL: Duration = Duration::from_secs(600);

/// What a provider vouches for about the person signing in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub email: String,
    pub name: Option<String>,
    pub picture: Option<String>,
}

/// What the callback needs to finish what `authorization_url` started.
#[derive(Debug)]
pub struct Authorization {
    pub url: Url,
    pub pkce_verifier: String,
}

/// The configured providers, with their discovery documents cached.
pub struct Providers {
    http: ProviderHttp,
    providers: Vec<Provider>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self
            .providers
            .iter()
            .map(|p| p.config.id.as_str())
            .collect();
        formatter
            .debug_struct("Providers")
            .field("ids", &ids)
            .finish()
    }
}

struct Provider {
    config: ProviderConfig,
    metadata: Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

impl Providers {
    pub fn new(configs: Vec<ProviderConfig>) -> anyhow::Result<Self> {
        Ok(Self {
            http: ProviderHttp::new()?,
            providers: configs
                .into_iter()
                .map(|config| Provider {
                    config,
                    metadata: Mutex::new(None),
                })
                .collect(),
        })
    }

    pub fn configs(&self) -> impl Iterator<Item = &ProviderConfig> {
        self.providers.iter().map(|provider| &provider.config)
    }

    fn get(&self, id: &str) -> Result<&Provider, AuthError> {
        self.providers
            .iter()
            .find(|provider| provider.config.id == id)
            .ok_or(AuthError::UnknownProvider)
    }

    /// The URL that sends the browser to the provider, carrying `state`, `nonce` and a
    /// fresh PKCE S256 challenge whose verifier is returned for the callback.
    pub async fn authorization_url(
        &self,
        provider_id: &str,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
    ) -> Result<Authorization, AuthError> {
        let provider = self.get(provider_id)?;
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|_| AuthError::InvalidRequest("redirect_uri is not a URL"))?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let url = match &provider.config.kind {
            ProviderKind::Oidc { .. } => {
                let metadata = self.metadata(provider, false).await?;
                let client = oidc_client(&provider.config, metadata).set_redirect_uri(redirect);
                let state = state.to_owned();
                let nonce = nonce.to_owned();
                let mut request = client.authorize_url(
                    AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                    move || CsrfToken::new(state),
                    move || Nonce::new(nonce),
                );
                for scope in &provider.config.scopes {
                    request = request.add_scope(Scope::new(scope.clone()));
                }
                request.set_pkce_challenge(challenge).url().0
            }
            ProviderKind::GitHub { authorize_url, .. } => github::authorization_url(
                authorize_url,
                &provider.config,
                redirect_uri,
                state,
                &challenge,
            ),
        };
        Ok(Authorization {
            url,
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges an authorization code for the identity it proves. Every way the
    /// provider's answer can be wrong is `SignInFailed`.
    pub async fn identity(
        &self,
        provider_id: &str,
        code: &str,
        redirect_uri: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<Identity, AuthError> {
        let provider = self.get(provider_id)?;
        match &provider.config.kind {
            ProviderKind::Oidc { .. } => {
                let metadata = self.metadata(provider, false).await?;
                let outcome = self
                    .oidc_identity(provider, metadata, code, redirect_uri, pkce_verifier, nonce)
                    .await;
                match outcome {
                    // The provider may have rotated its keys since the document was read:
                    // read it again once, then give up. The code was not used up when the
                    // token endpoint answered, but it is now, so only the check reruns.
                    Err(OidcFailure::UnknownKey(token)) => {
                        let metadata = self.metadata(provider, true).await?;
                        let (identity, _) =
                            verify_id_token(&provider.config, metadata, &token, nonce).map_err(
                                |_| AuthError::SignInFailed("the ID token is not valid"),
                            )?;
                        if identity.email.is_empty() {
                            return Err(AuthError::SignInFailed(
                                "the ID token carries no email address",
                            ));
                        }
                        Ok(identity)
                    }
                    Err(OidcFailure::Failed(error)) => Err(error),
                    Ok(identity) => Ok(identity),
                }
            }
            ProviderKind::GitHub {
                token_url, api_url, ..
            } => {
                github::identity(
                    &self.http,
                    &provider.config,
                    token_url,
                    api_url,
                    code,
                    redirect_uri,
                    pkce_verifier,
                )
                .await
            }
        }
    }

    async fn oidc_identity(
        &self,
        provider: &Provider,
        metadata: CoreProviderMetadata,
        code: &str,
        redirect_uri: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<Identity, OidcFailure> {
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|_| AuthError::InvalidRequest("redirect_uri is not a URL"))?;
        let client = oidc_client(&provider.config, metadata.clone()).set_redirect_uri(redirect);
        let request = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|_| AuthError::ProviderUnavailable("the provider has no token endpoint"))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()));
        let token = request.request_async(&self.http).await.map_err(|error| {
            tracing::info!(error = %error_chain(&error), "the token request failed");
            AuthError::SignInFailed("the provider refused the authorization code")
        })?;
        let id_token = token
            .extra_fields()
            .id_token()
            .ok_or(AuthError::SignInFailed("the provider sent no ID token"))?
            .to_string();
        let (mut identity, subject) = match verify_id_token(
            &provider.config,
            metadata,
            &id_token,
            nonce,
        ) {
            Ok(verified) => verified,
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(error)) => {
                tracing::info!(%error, "the ID token's signature did not verify; reloading the keys");
                return Err(OidcFailure::UnknownKey(id_token));
            }
            Err(error) => {
                tracing::info!(%error, "the ID token was refused");
                return Err(AuthError::SignInFailed("the ID token is not valid").into());
            }
        };
        if identity.email.is_empty() {
            // Some providers put the email only in the userinfo answer.
            let claims: CoreUserInfoClaims = client
                .user_info(token.access_token().clone(), Some(subject))
                .map_err(|_| {
                    AuthError::SignInFailed("the provider did not share an email address")
                })?
                .request_async(&self.http)
                .await
                .map_err(|error| {
                    tracing::info!(error = %error_chain(&error), "the userinfo request failed");
                    AuthError::SignInFailed("the provider's userinfo answer is not usable")
                })?;
            if claims.email_verified() != Some(true) {
                return Err(AuthError::SignInFailed("the email address is not verified").into());
            }
            identity.email = claims
                .email()
                .map(|email| email.as_str().to_owned())
                .ok_or(AuthError::SignInFailed(
                    "the provider did not share an email address",
                ))?;
            if identity.name.is_none() {
                identity.name = claims
                    .name()
                    .and_then(|name| name.get(None))
                    .map(|name| name.as_str().to_owned());
            }
            if identity.picture.is_none() {
                identity.picture = claims
                    .picture()
                    .and_then(|picture| picture.get(None))
                    .map(|picture| picture.as_str().to_owned());
            }
        }
        Ok(identity)
    }

    /// The provider's discovery document, from the cache unless it is older than
    /// `METADATA_TTL` or `refresh` is set.
    async fn metadata(
        &self,
        provider: &Provider,
        refresh: bool,
    ) -> Result<CoreProviderMetadata, AuthError> {
        let ProviderKind::Oidc { issuer } = &provider.config.kind else {
            return Err(AuthError::InvalidRequest(
                "the provider does not use OpenID Connect",
            ));
        };
        if !refresh {
            let cached = provider
                .metadata
                .lock()
                .map_err(|_| AuthError::Poisoned)?
                .as_ref()
                .filter(|(read_at, _)| read_at.elapsed() < METADATA_TTL)
                .map(|(_, metadata)| metadata.clone());
            if let Some(metadata) = cached {
                return Ok(metadata);
            }
        }
        // The issuer exactly as configured: discovery checks that the document names it.
        let issuer_url = IssuerUrl::new(issuer.as_str().trim_end_matches('/').to_owned())
            .map_err(|_| AuthError::ProviderUnavailable("the issuer URL is not valid"))?;
        let metadata = CoreProviderMetadata::discover_async(issuer_url, &self.http)
            .await
            .map_err(|error| {
                tracing::warn!(provider = %provider.config.id, error = %error_chain(&error),
                    "OpenID Connect discovery failed");
                AuthError::ProviderUnavailable("the identity provider is unreachable")
            })?;
        *provider.metadata.lock().map_err(|_| AuthError::Poisoned)? =
            Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }
}

enum OidcFailure {
    /// The ID token is signed with a key the cached document does not list.
    UnknownKey(String),
    Failed(AuthError),
}

impl From<AuthError> for OidcFailure {
    fn from(error: AuthError) -> Self {
        OidcFailure::Failed(error)
    }
}

fn oidc_client(
    config: &ProviderConfig,
    metadata: CoreProviderMetadata,
) -> openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
> {
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(config.client_id.clone()),
        config.client_secret.clone().map(ClientSecret::new),
    )
}

/// Checks an ID token (signature, issuer, audience, expiry, nonce) and reads the
/// identity from it. The email is empty when the token carries none; an email the
/// provider does not call verified is refused.
pub fn verify_id_token(
    config: &ProviderConfig,
    metadata: CoreProviderMetadata,
    id_token: &str,
    nonce: &str,
) -> Result<(Identity, openidconnect::SubjectIdentifier), openidconnect::ClaimsVerificationError> {
    use openidconnect::ClaimsVerificationError as Refused;
    let token: openidconnect::core::CoreIdToken = id_token
        .parse()
        .map_err(|_| Refused::Other("the ID token is not a JWT".to_owned()))?;
    let client = oidc_client(config, metadata);
    let verifier = client.id_token_verifier();
    let claims = token.claims(&verifier, &Nonce::new(nonce.to_owned()))?;
    let email = match claims.email() {
        Some(email) if claims.email_verified() == Some(true) => email.as_str().to_owned(),
        Some(_) => {
            return Err(Refused::Other(
                "the email address is not verified".to_owned(),
            ));
        }
        None => String::new(),
    };
    let identity = Identity {
        email,
        name: claims
            .name()
            .and_then(|name| name.get(None))
            .map(|name| name.as_str().to_owned()),
        picture: claims
            .picture()
            .and_then(|picture| picture.get(None))
            .map(|picture| picture.as_str().to_owned()),
    };
    Ok((identity, claims.subject().clone()))
}

/// An error and its sources on one line, for logs.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
