//! The HTTP client that talks to identity providers: reqwest, adapted to the
//! `AsyncHttpClient` trait that openidconnect calls. Redirects are never followed (a
//! provider's answer that redirects is an error, not a hop to wherever it points), and
//! every call has a deadline.

use std::{future::Future, pin::Pin, time::Duration};

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

/// Longest a single call to a provider may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read from a provider (discovery documents and key sets are small).
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

#[derive(Clone, Debug)]
pub struct ProviderHttp {
    client: reqwest::Client,
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("calling the provider failed")]
    Transport(#[source] reqwest::Error),
    #[error("the provider's answer is larger than 1 MiB")]
    TooLarge,
    #[error("building the response failed")]
    Response(#[source] openidconnect::http::Error),
}

impl ProviderHttp {
    pub fn new() -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(CALL_TIMEOUT)
            .connect_timeout(CALL_TIMEOUT)
            .user_agent(concat!(
                "flowsvault-auth-service/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()?;
        Ok(Self { client })
    }

    /// The plain client, for GitHub's REST calls.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let request = reqwest::Request::try_from(request).map_err(HttpError::Transport)?;
        let response = self
            .client
            .execute(request)
            .await
            .map_err(HttpError::Transport)?;
        let mut builder = openidconnect::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let body = read_limited(response).await?;
        builder.body(body).map_err(HttpError::Response)
    }
}

/// Reads a response body, refusing one larger than `MAX_RESPONSE_BYTES`.
pub async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(HttpError::Transport)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(HttpError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

impl<'c> AsyncHttpClient<'c> for ProviderHttp {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}
