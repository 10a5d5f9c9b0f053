//! Which identity providers people may sign in with, read from the environment:
//! `FLOWSVAULT_AUTH_PROVIDERS=local,github` names them, and each id's settings come from
//! `FLOWSVAULT_AUTH_PROVIDER_<ID>_*` (the id upper-cased, `-` as `_`).

use anyhow::{Context, bail};
use url::Url;

const GITHUB_AUTHORIZE_URL: &str = "https://github.com/login/oauth/authorize";
const GITHUB_TOKEN_URL: &str = "https://github.com/login/oauth/access_token";
const GITHUB_API_URL: &str = "https://api.github.com";

/// One configured provider.
#[derive(Clone)]
pub struct ProviderConfig {
    /// The id in URLs (`/api/auth/signin/{id}`): lower-case letters, digits and `-`.
    pub id: String,
    /// The name on the sign-in button.
    pub name: String,
    pub kind: ProviderKind,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ProviderConfig")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug)]
pub enum ProviderKind {
    /// Any OpenID Connect provider, found by discovery from its issuer URL.
    Oidc { issuer: Url },
    /// GitHub's plain OAuth 2.0 (not OpenID Connect); the URLs differ for GitHub
    /// Enterprise Server.
    GitHub {
        authorize_url: Url,
        token_url: Url,
        api_url: Url,
    },
}

impl ProviderKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ProviderKind::Oidc { .. } => "oidc",
            ProviderKind::GitHub { .. } => "github",
        }
    }
}

impl ProviderConfig {
    /// An OpenID Connect provider with the usual scopes.
    pub fn oidc(id: &str, name: &str, issuer: Url, client_id: &str, secret: Option<&str>) -> Self {
        Self {
            id: id.to_owned(),
            name: name.to_owned(),
            kind: ProviderKind::Oidc { issuer },
            client_id: client_id.to_owned(),
            client_secret: secret.map(str::to_owned),
            scopes: default_scopes("oidc"),
        }
    }
}

fn default_scopes(kind: &str) -> Vec<String> {
    let scopes: &[&str] = if kind == "github" {
        &["read:user", "user:email"]
    } else {
        &["openid", "email", "profile"]
    };
    scopes.iter().map(|scope| (*scope).to_owned()).collect()
}

/// Checks the shape of a provider id.
pub fn valid_provider_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 32
        && id
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
}

/// Reads the providers that `ids` names from the environment.
pub fn providers_from_env(ids: &[String]) -> anyhow::Result<Vec<ProviderConfig>> {
    let mut providers: Vec<ProviderConfig> = Vec::new();
    for id in ids.iter().map(|id| id.trim()).filter(|id| !id.is_empty()) {
        if !valid_provider_id(id) {
            bail!("provider id {id:?} must be 1 to 32 of a-z, 0-9 and -");
        }
        if providers.iter().any(|known| known.id == id) {
            bail!("provider id {id:?} is listed twice");
        }
        providers.push(
            provider_from_env(id, flowsvault_kit::config::secret_from_env)
                .with_context(|| format!("configuring sign-in provider {id:?}"))?,
        );
    }
    Ok(providers)
}

/// One provider's settings, looked up through `lookup` (the environment in production).
fn provider_from_env(
    id: &str,
    lookup: impl Fn(&str) -> anyhow::Result<Option<String>>,
) -> anyhow::Result<ProviderConfig> {
    let prefix = format!(
        "FLOWSVAULT_AUTH_PROVIDER_{}_",
        id.to_ascii_uppercase().replace('-', "_")
    );
    let get = |suffix: &str| -> anyhow::Result<Option<String>> {
        Ok(lookup(&format!("{prefix}{suffix}"))?
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty()))
    };
    let require = |suffix: &str| -> anyhow::Result<String> {
        get(suffix)?.with_context(|| format!("{prefix}{suffix} is not set"))
    };
    let url = |suffix: &str, default: &str| -> anyhow::Result<Url> {
        let text = get(suffix)?.unwrap_or_else(|| default.to_owned());
        Url::parse(&text).with_context(|| format!("{prefix}{suffix} is not a URL: {text}"))
    };
    let kind_name =
        get("KIND")?.unwrap_or_else(|| if id == "github" { "github" } else { "oidc" }.to_owned());
    let kind = match kind_name.as_str() {
        "oidc" => {
            let issuer = require("ISSUER")?;
            ProviderKind::Oidc {
                issuer: Url::parse(&issuer)
                    .with_context(|| format!("{prefix}ISSUER is not a URL: {issuer}"))?,
            }
        }
        "github" => ProviderKind::GitHub {
            authorize_url: url("AUTHORIZE_URL", GITHUB_AUTHORIZE_URL)?,
            token_url: url("TOKEN_URL", GITHUB_TOKEN_URL)?,
            api_url: url("API_URL", GITHUB_API_URL)?,
        },
        other => bail!("{prefix}KIND must be oidc or github, not {other:?}"),
    };
    let default_name = match &kind {
        ProviderKind::GitHub { .. } => "GitHub".to_owned(),
        ProviderKind::Oidc { .. } => capitalized(id),
    };
    let scopes = match get("SCOPES")? {
        Some(scopes) => scopes.split_whitespace().map(str::to_owned).collect(),
        None => default_scopes(kind.as_str()),
    };
    Ok(ProviderConfig {
        id: id.to_owned(),
        name: get("NAME")?.unwrap_or(default_name),
        client_id: require("CLIENT_ID")?,
        client_secret: get("CLIENT_SECRET")?,
        scopes,
        kind,
    })
}

fn capitalized(id: &str) -> String {
    let mut characters = id.chars();
    characters.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(characters).collect()
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> anyhow::Result<Option<String>> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        move |name| Ok(map.get(name).cloned())
    }

    #[test]
    fn an_oidc_provider_needs_an_issuer_and_a_client_id() {
        let provider = provider_from_env(
            "my-idp",
            lookup(&[
                (
                    "FLOWSVAULT_AUTH_PROVIDER_MY_IDP_ISSUER",
                    "https://id.example.com",
                ),
                ("FLOWSVAULT_AUTH_PROVIDER_MY_IDP_CLIENT_ID", "client"),
                ("FLOWSVAULT_AUTH_PROVIDER_MY_IDP_CLIENT_SECRET", "secret"),
            ]),
        )
        .unwrap();
        assert_eq!(provider.name, "My-idp");
        assert_eq!(provider.kind.as_str(), "oidc");
        assert_eq!(provider.scopes, ["openid", "email", "profile"]);
        assert_eq!(provider.client_secret.as_deref(), Some("secret"));

        let missing = provider_from_env(
            "my-idp",
            lookup(&[("FLOWSVAULT_AUTH_PROVIDER_MY_IDP_CLIENT_ID", "client")]),
        )
        .unwrap_err();
        assert!(
            missing.to_string().contains("ISSUER is not set"),
            "{missing}"
        );
    }

    #[test]
    fn github_is_the_kind_of_the_github_id_with_its_public_urls() {
        let provider = provider_from_env(
            "github",
            lookup(&[("FLOWSVAULT_AUTH_PROVIDER_GITHUB_CLIENT_ID", "client")]),
        )
        .unwrap();
        assert_eq!(provider.name, "GitHub");
        let ProviderKind::GitHub { api_url, .. } = provider.kind else {
            panic!("not github");
        };
        assert_eq!(api_url.as_str(), "https://api.github.com/");
        assert_eq!(provider.scopes, ["read:user", "user:email"]);
    }

    #[test]
    fn ids_are_checked_and_unique() {
        assert!(providers_from_env(&["Bad_Id".to_owned()]).is_err());
        assert!(valid_provider_id("local-2"));
        assert!(!valid_provider_id(""));
        assert!(!valid_provider_id("a/b"));
    }

    #[test]
    fn an_unknown_kind_is_refused() {
        let error = provider_from_env(
            "x",
            lookup(&[
                ("FLOWSVAULT_AUTH_PROVIDER_X_KIND", "saml"),
                ("FLOWSVAULT_AUTH_PROVIDER_X_CLIENT_ID", "client"),
            ]),
        )
        .unwrap_err();
        assert!(error.to_string().contains("oidc or github"), "{error}");
    }
}
