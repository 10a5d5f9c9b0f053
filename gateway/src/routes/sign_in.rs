//! Sign-in and sessions (API.md "Sign-in"): the providers, the redirect to one, its
//! callback, the development sign-in, the current session and sign-out. The flow itself
//! (state, nonce, PKCE, ID-token checks) is auth-service's; the gateway binds the
//! attempt's `state` to the browser with a short-lived HttpOnly cookie and turns the
//! opened session into the `fv_session` cookie.

use actix_web::{
    HttpRequest, HttpResponse,
    cookie::time::Duration as CookieDuration,
    http::header::{self, HeaderValue},
    web,
};
use chrono::Utc;
use flowsvault_proto::{
    ErrorCode,
    auth::v1::{
        BeginSignInRequest, CompleteSignInRequest, CreateSessionRequest, EnsureUserRequest,
        ListProvidersRequest, RevokeSessionRequest, Session,
    },
    from_timestamp, safe_callback_path,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use super::{
    form_body, no_content,
    openapi::{
        BadGateway, Forbidden, GatewayTimeout, NotFound, PayloadTooLarge, ServiceUnavailable,
        TooManyRequests, Unauthorized,
    },
    profile::{UserView, user_view},
};
use crate::{
    auth::{Site, changes_state, verify_session},
    problem::ApiError,
    request_id::RequestId,
    startup::AppState,
};

/// The id of the development sign-in in `/api/auth/providers`.
pub const DEV_PROVIDER: &str = "dev";
const DEV_EMAIL: &str = "developer@flowsvault.localhost";
const DEV_NAME: &str = "Developer";
/// How long the browser may spend at the provider.
const SIGN_IN_COOKIE_MINUTES: i64 = 10;

/// A way to sign in.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Provider)]
pub struct ProviderView {
    #[schema(example = "google")]
    id: String,
    #[schema(example = "Google")]
    name: String,
    /// `oidc`, `github`, or `dev` (the development sign-in: a form POST to
    /// `/api/auth/signin/dev`).
    #[schema(example = "oidc")]
    kind: String,
}

/// The signed-in user and when the session ends.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SessionInfo)]
pub struct SessionView {
    user: UserView,
    #[schema(format = DateTime)]
    expires_at: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SignInQuery {
    /// Where to go after signing in: a path on this site (anything else becomes `/`).
    #[param(example = "/")]
    callback_url: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    /// Set by the provider when the person declined or the request failed.
    error: Option<String>,
}

/// The configured sign-in providers, the development sign-in last when it is enabled.
#[utoipa::path(
    get,
    path = "/api/auth/providers",
    tag = "auth",
    operation_id = "listProviders",
    responses(
        (status = 200, description = "The providers", body = Vec<ProviderView>),
        (status = 429, response = TooManyRequests),
        (status = 502, response = BadGateway),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    ),
)]
pub async fn providers(
    state: web::Data<AppState>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let mut auth = state.backends.auth();
    let listed = auth
        .list_providers(state.backends.request(ListProvidersRequest {}, &request_id))
        .await?
        .into_inner();
    let mut views: Vec<ProviderView> = listed
        .providers
        .into_iter()
        .map(|provider| ProviderView {
            id: provider.id,
            name: provider.name,
            kind: provider.kind,
        })
        .collect();
    if state.settings.dev_signin {
        views.push(ProviderView {
            id: DEV_PROVIDER.to_owned(),
            name: "Development sign-in".to_owned(),
            kind: DEV_PROVIDER.to_owned(),
        });
    }
    Ok(HttpResponse::Ok().json(views))
}

/// Sends the browser to the provider (authorization code flow with PKCE S256, `state`
/// and `nonce`); the `state` is also set in a short-lived HttpOnly cookie that the
/// callback must see again.
#[utoipa::path(
    get,
    path = "/api/auth/signin/{provider}",
    tag = "auth",
    operation_id = "signIn",
    params(("provider" = String, Path, description = "A provider id"), SignInQuery),
    responses(
        (status = 302, description = "To the provider's authorization endpoint",
            headers(("Location" = String), ("Set-Cookie" = String, description = "`fv_signin`"))),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub async fn sign_in(
    state: web::Data<AppState>,
    provider: web::Path<String>,
    query: web::Query<SignInQuery>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let provider = provider.into_inner();
    let callback_url = safe_callback_path(query.callback_url.as_deref().unwrap_or("/"));
    let mut auth = state.backends.auth();
    let begun = auth
        .begin_sign_in(state.backends.request(
            BeginSignInRequest {
                redirect_uri: callback_uri(&state.site, &provider),
                provider,
                callback_url: callback_url.to_owned(),
            },
            &request_id,
        ))
        .await?
        .into_inner();
    let cookie = state.site.cookie(
        state.site.sign_in_cookie_name(),
        begun.state,
        CookieDuration::minutes(SIGN_IN_COOKIE_MINUTES),
    );
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, begun.authorization_url))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(cookie)
        .finish())
}

/// Where the provider sends the browser back.
fn callback_uri(site: &Site, provider: &str) -> String {
    let encoded: String =
        percent_encoding::utf8_percent_encode(provider, percent_encoding::NON_ALPHANUMERIC)
            .collect();
    format!("{}/api/auth/callback/{encoded}", site.origin)
}

/// The provider's redirect back. On success the session cookie is set and the browser
/// goes to the `callbackUrl` of the sign-in; on any failure no session is created and the
/// browser goes to `/signin?error=<code>`.
#[utoipa::path(
    get,
    path = "/api/auth/callback/{provider}",
    tag = "auth",
    operation_id = "signInCallback",
    params(("provider" = String, Path, description = "A provider id"), CallbackQuery),
    responses(
        (status = 302, description = "Signed in: to the callbackUrl with `fv_session` set. \
            Refused (missing, replayed or foreign state, a code or ID token that does not \
            verify): to `/signin?error=sign_in_failed`, no session",
            headers(("Location" = String), ("Set-Cookie" = String))),
        (status = 429, response = TooManyRequests),
    ),
)]
pub async fn callback(
    request: HttpRequest,
    state: web::Data<AppState>,
    provider: web::Path<String>,
    query: web::Query<CallbackQuery>,
    request_id: RequestId,
) -> HttpResponse {
    let site = &state.site;
    let bound_state = site.cookie_value(&request, site.sign_in_cookie_name());
    let query = query.into_inner();
    let refuse = |code: &str, reason: &str| {
        tracing::info!(reason, "sign-in refused");
        HttpResponse::Found()
            .insert_header((header::LOCATION, format!("/signin?error={code}")))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .cookie(site.removal(site.sign_in_cookie_name()))
            .finish()
    };
    if query.error.is_some() {
        return refuse("access_denied", "the provider reported an error");
    }
    let (Some(code), Some(returned_state)) = (query.code, query.state) else {
        return refuse("sign_in_failed", "the callback lacks code or state");
    };
    let Some(bound_state) = bound_state else {
        return refuse("sign_in_failed", "the browser holds no sign-in cookie");
    };
    // Compared as digests, so the time taken says nothing about where they differ.
    if Sha256::digest(returned_state.as_bytes()) != Sha256::digest(bound_state.as_bytes()) {
        return refuse(
            "sign_in_failed",
            "the state is not the one this browser started",
        );
    }
    let mut auth = state.backends.auth();
    let completed = auth
        .complete_sign_in(state.backends.request(
            CompleteSignInRequest {
                provider: provider.into_inner(),
                code,
                state: returned_state,
            },
            &request_id,
        ))
        .await;
    let signed_in = match completed {
        Ok(response) => response.into_inner(),
        Err(status) => {
            let code = match ErrorCode::of_status(&status) {
                ErrorCode::UpstreamUnavailable | ErrorCode::UpstreamTimeout => {
                    "provider_unavailable"
                }
                _ => "sign_in_failed",
            };
            return refuse(code, status.message());
        }
    };
    let Some(session) = signed_in.session else {
        return refuse("sign_in_failed", "auth-service opened no session");
    };
    let mut response = HttpResponse::Found();
    response
        .insert_header((
            header::LOCATION,
            location(safe_callback_path(&signed_in.callback_url)),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(site.removal(site.sign_in_cookie_name()))
        .cookie(session_cookie(site, session));
    response.finish()
}

/// A header value for a path that `safe_callback_path` let through.
fn location(path: &str) -> HeaderValue {
    HeaderValue::from_str(path).unwrap_or_else(|_| HeaderValue::from_static("/"))
}

fn session_cookie(site: &Site, session: Session) -> actix_web::cookie::Cookie<'static> {
    let seconds = session
        .expires_at
        .as_ref()
        .and_then(from_timestamp)
        .map_or(0, |expires_at| {
            (expires_at - Utc::now()).num_seconds().max(0)
        });
    site.cookie(
        site.session_cookie_name(),
        session.token,
        CookieDuration::seconds(seconds),
    )
}

/// The development sign-in's form, as OpenAPI describes it (the handler reads the fields
/// itself, with a size limit).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code, reason = "describes the form for the OpenAPI document only")]
pub struct DevSignInForm {
    /// Where to go once signed in: a path on this site (anything else becomes `/`).
    callback_url: Option<String>,
}

/// The development sign-in: one form POST signs in a local test user. Offered only when
/// `FLOWSVAULT_DEV_SIGNIN` is set, which the gateway allows on loopback addresses only.
#[utoipa::path(
    post,
    path = "/api/auth/signin/dev",
    tag = "auth",
    operation_id = "devSignIn",
    request_body(content = DevSignInForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: to the callbackUrl with `fv_session` set",
            headers(("Location" = String), ("Set-Cookie" = String))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 429, response = TooManyRequests),
    ),
)]
pub async fn dev_sign_in(
    request: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    if !state.settings.dev_signin {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "the development sign-in is not enabled",
        ));
    }
    // Only our own page may sign a browser in (no login CSRF).
    if !state.site.is_same_origin(&request) {
        return Err(cross_origin());
    }
    let body = form_body(payload).await?;
    let callback_url = url::form_urlencoded::parse(&body)
        .chain(url::form_urlencoded::parse(
            request.query_string().as_bytes(),
        ))
        .find(|(name, _)| name == "callbackUrl")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_else(|| "/".to_owned());
    let mut auth = state.backends.auth();
    let user = auth
        .ensure_user(state.backends.request(
            EnsureUserRequest {
                email: DEV_EMAIL.to_owned(),
                name: Some(DEV_NAME.to_owned()),
            },
            &request_id,
        ))
        .await?
        .into_inner();
    let session = auth
        .create_session(
            state
                .backends
                .request(CreateSessionRequest { user_id: user.id }, &request_id),
        )
        .await?
        .into_inner();
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            location(safe_callback_path(&callback_url)),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(session_cookie(&state.site, session))
        .finish())
}

fn cross_origin() -> ApiError {
    ApiError::new(
        ErrorCode::CrossOriginRequest,
        "this request must come from this site's own pages",
    )
}

/// The user of the session cookie and when the session ends.
#[utoipa::path(
    get,
    path = "/api/auth/session",
    tag = "auth",
    operation_id = "getSession",
    responses(
        (status = 200, description = "The signed-in user", body = SessionView,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 401, response = Unauthorized),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub async fn session(
    request: HttpRequest,
    state: web::Data<AppState>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let token = state
        .site
        .session_token(&request)
        .ok_or_else(ApiError::unauthenticated)?;
    let verified = verify_session(&state, token, &request_id).await?;
    let user = verified.user.ok_or_else(ApiError::unauthenticated)?;
    let expires_at = verified
        .expires_at
        .as_ref()
        .and_then(from_timestamp)
        .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(SessionView {
            user: user_view(user),
            expires_at,
        }))
}

/// Revokes the session at once (on every replica) and clears the cookie.
#[utoipa::path(
    post,
    path = "/api/auth/signout",
    tag = "auth",
    operation_id = "signOut",
    responses(
        (status = 204, description = "Signed out; the cookie is cleared"),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub async fn sign_out(
    request: HttpRequest,
    state: web::Data<AppState>,
    request_id: RequestId,
) -> Result<HttpResponse, ApiError> {
    let site = &state.site;
    if let Some(token) = site.session_token(&request) {
        if changes_state(request.method()) && !site.is_same_origin(&request) {
            return Err(cross_origin());
        }
        let mut auth = state.backends.auth();
        auth.revoke_session(
            state
                .backends
                .request(RevokeSessionRequest { token }, &request_id),
        )
        .await?;
    }
    let mut response = no_content();
    response
        .add_cookie(&site.removal(site.session_cookie_name()))
        .map_err(|_| ApiError::new(ErrorCode::Internal, "clearing the cookie failed"))?;
    Ok(response)
}
