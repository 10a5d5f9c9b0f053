//! Helpers for tests that sign in against a real OpenID provider (the one
//! `deploy/local/oidc.sh` starts): registering a client for a redirect URI, and playing
//! the browser that follows the provider's redirects. Used by this crate's and the
//! gateway's integration tests; nothing in the services calls them.

use anyhow::{Context, bail};
use serde::Deserialize;
use url::Url;

use crate::sign_in::ProviderConfig;

/// The issuer of the test provider, from `FLOWSVAULT_TEST_OIDC_ISSUER`.
pub fn test_issuer() -> anyhow::Result<Url> {
    let issuer = std::env::var("FLOWSVAULT_TEST_OIDC_ISSUER").context(
        "FLOWSVAULT_TEST_OIDC_ISSUER is not set: run `make test`, or \
         `eval \"$(bash deploy/local/oidc.sh env)\"` before cargo test",
    )?;
    Url::parse(&issuer).with_context(|| format!("FLOWSVAULT_TEST_OIDC_ISSUER={issuer}"))
}

#[derive(Deserialize)]
struct Registered {
    client_id: String,
    client_secret: String,
}

/// Registers a new client for `redirect_uri` (dynamic client registration) and returns
/// a provider configuration that uses it.
pub async fn register_provider(
    id: &str,
    issuer: &Url,
    redirect_uri: &str,
) -> anyhow::Result<ProviderConfig> {
    let registration = issuer.join("reg").context("the registration URL")?;
    let body = serde_json::json!({
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
    });
    let response = reqwest::Client::new()
        .post(registration)
        .json(&body)
        .send()
        .await
        .context("registering a client")?;
    if !response.status().is_success() {
        bail!("registration answered {}", response.status());
    }
    let registered: Registered = response.json().await.context("reading the registration")?;
    Ok(ProviderConfig::oidc(
        id,
        "Test provider",
        issuer.clone(),
        &registered.client_id,
        Some(&registered.client_secret),
    ))
}

/// A browser without JavaScript: follows redirects from `start`, with its own cookie
/// jar, until one points at `until` (which is not fetched) or a page is not a redirect.
pub struct Browser {
    client: reqwest::Client,
}

impl Browser {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .cookie_store(true)
                .build()?,
        })
    }

    /// The first redirect target that starts with `until`.
    pub async fn follow(&self, start: &str, until: &str) -> anyhow::Result<Url> {
        let mut next = Url::parse(start).context("the start URL")?;
        for _ in 0..20 {
            if next.as_str().starts_with(until) {
                return Ok(next);
            }
            let response = self.client.get(next.clone()).send().await?;
            let Some(location) = response.headers().get(reqwest::header::LOCATION) else {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                bail!("{next} answered {status} without a redirect: {text}");
            };
            next = next.join(location.to_str()?)?;
        }
        bail!("more than 20 redirects")
    }
}

/// The value of query parameter `name` of `url`.
pub fn query_value(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}
