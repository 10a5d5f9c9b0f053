//! GitHub sign-in: OAuth 2.0 with PKCE, then the user and the verified primary email
//! from GitHub's REST API (GitHub is not an OpenID Connect provider).

use openidconnect::PkceCodeChallenge;
use serde::Deserialize;
use url::Url;

use super::{Identity, ProviderConfig, http::ProviderHttp};
use crate::error::AuthError;

pub fn authorization_url(
    authorize_url: &Url,
    config: &ProviderConfig,
    redirect_uri: &str,
    state: &str,
    challenge: &PkceCodeChallenge,
) -> Url {
    let mut url = authorize_url.clone();
    url.query_pairs_mut()
        .append_pair("client_id", &config.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", &config.scopes.join(" "))
        .append_pair("state", state)
        .append_pair("code_challenge", challenge.as_str())
        .append_pair("code_challenge_method", "S256");
    url
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct GitHubUser {
    login: String,
    name: Option<String>,
    avatar_url: Option<String>,
}

#[derive(Deserialize)]
struct GitHubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

pub async fn identity(
    http: &ProviderHttp,
    config: &ProviderConfig,
    token_url: &Url,
    api_url: &Url,
    code: &str,
    redirect_uri: &str,
    pkce_verifier: &str,
) -> Result<Identity, AuthError> {
    let unreachable = |error: reqwest::Error| {
        tracing::warn!(%error, "calling GitHub failed");
        AuthError::ProviderUnavailable("GitHub is unreachable")
    };
    let mut form = vec![
        ("client_id", config.client_id.as_str()),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", pkce_verifier),
    ];
    if let Some(secret) = &config.client_secret {
        form.push(("client_secret", secret));
    }
    let answer = http
        .client()
        .post(token_url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&form)
        .send()
        .await
        .map_err(unreachable)?;
    let token: TokenAnswer = json(answer).await?;
    let access_token = match (token.access_token, token.error) {
        (Some(token), None) => token,
        (_, error) => {
            tracing::info!(?error, "GitHub refused the authorization code");
            return Err(AuthError::SignInFailed(
                "the provider refused the authorization code",
            ));
        }
    };
    let get = |path: &str| {
        let url = join(api_url, path);
        http.client()
            .get(url)
            .bearer_auth(&access_token)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .send()
    };
    let user: GitHubUser = json(get("user").await.map_err(unreachable)?).await?;
    let emails: Vec<GitHubEmail> = json(get("user/emails").await.map_err(unreachable)?).await?;
    let email = emails
        .into_iter()
        .find(|email| email.primary && email.verified)
        .ok_or(AuthError::SignInFailed(
            "the GitHub account has no verified primary email address",
        ))?;
    Ok(Identity {
        email: email.email,
        name: user
            .name
            .filter(|name| !name.trim().is_empty())
            .or(Some(user.login)),
        picture: user.avatar_url,
    })
}

/// `base` with `path` appended, keeping any path `base` has (GitHub Enterprise serves its
/// API under /api/v3).
fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!("{}/{path}", base.path().trim_end_matches('/'));
    url.set_path(&joined);
    url
}

async fn json<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T, AuthError> {
    let status = response.status();
    let body = super::http::read_limited(response)
        .await
        .map_err(|_| AuthError::ProviderUnavailable("GitHub's answer could not be read"))?;
    if !status.is_success() {
        tracing::info!(%status, "GitHub answered with an error");
        return Err(AuthError::SignInFailed("GitHub refused the request"));
    }
    serde_json::from_slice(&body).map_err(|error| {
        tracing::info!(%error, "GitHub's answer is not the JSON expected");
        AuthError::SignInFailed("GitHub's answer is not usable")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_keep_the_base_path() {
        let enterprise = Url::parse("https://git.example.com/api/v3").unwrap();
        assert_eq!(
            join(&enterprise, "user/emails").as_str(),
            "https://git.example.com/api/v3/user/emails"
        );
        let public = Url::parse("https://api.github.com").unwrap();
        assert_eq!(
            join(&public, "user").as_str(),
            "https://api.github.com/user"
        );
    }
}
