//! Who is calling: API keys (`Authorization: Bearer fv_…`) verified by auth-service and
//! then trusted for a short while from a cache keyed by the key's SHA-256, so bcrypt is
//! paid once per key and TTL, not once per request (a key revoked through this gateway
//! leaves its cache at once). A key in use is verified again in the background once
//! three quarters of its TTL have passed (a row read in auth-service, which pays bcrypt
//! only for keys it has not checked before), so its requests never wait. Or the
//! `fv_session` cookie, checked with auth-service on every request so that a revoked
//! session is refused at once by every replica. A cookie-authenticated change must come
//! from our own origin (CSRF).

use std::{
    collections::HashMap,
    future::{Ready, ready},
    rc::Rc,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use actix_web::{
    FromRequest, HttpMessage, HttpRequest,
    cookie::{Cookie, SameSite, time::Duration as CookieDuration},
    dev::Payload,
    http::Method,
    web,
};
use chrono::{DateTime, Utc};
use flowsvault_proto::{
    ErrorCode,
    auth::v1::{VerifyApiKeyRequest, VerifySessionRequest},
    from_timestamp,
};
use futures_util::{
    FutureExt,
    future::{BoxFuture, Either, LocalBoxFuture, Shared},
};
use sha2::{Digest, Sha256};

use crate::{problem::ApiError, request_id::RequestId, startup::AppState};

const MAX_CACHED_KEYS: u64 = 100_000;
/// A verification of one key by auth-service that several requests may wait for.
type Verification = Shared<BoxFuture<'static, Result<Principal, ApiError>>>;

/// How long a session's user is remembered for rate limiting.
const SESSION_USER_TTL: Duration = Duration::from_secs(300);
/// Longest header value looked at; real keys are about 55 bytes.
const MAX_KEY_BYTES: usize = 256;

/// Longest cookie value looked at; session tokens are 64 characters.
const MAX_COOKIE_BYTES: usize = 128;

/// How the caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    ApiKey,
    Session,
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub via: Via,
}

/// Where the gateway is reached from browsers: decides the cookies' names and flags and
/// what counts as our own origin.
#[derive(Debug, Clone)]
pub struct Site {
    /// `scheme://host[:port]`, as browsers send it in `Origin`.
    pub origin: String,
    /// Served over https: cookies get `Secure` and the `__Host-` prefix.
    pub secure: bool,
}

impl Site {
    pub fn new(origin: String) -> Self {
        let secure = origin.starts_with("https://");
        Self { origin, secure }
    }

    pub fn session_cookie_name(&self) -> &'static str {
        if self.secure {
            "__Host-fv_session"
        } else {
            "fv_session"
        }
    }

    pub fn sign_in_cookie_name(&self) -> &'static str {
        if self.secure {
            "__Host-fv_signin"
        } else {
            "fv_signin"
        }
    }

    /// A cookie of ours: HttpOnly, SameSite=Lax, path `/`, Secure over https.
    pub fn cookie(
        &self,
        name: &'static str,
        value: String,
        max_age: CookieDuration,
    ) -> Cookie<'static> {
        Cookie::build(name, value)
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .max_age(max_age)
            .finish()
    }

    /// A cookie that makes the browser forget one of ours.
    pub fn removal(&self, name: &'static str) -> Cookie<'static> {
        self.cookie(name, String::new(), CookieDuration::ZERO)
    }

    /// The value of one of our cookies, if the request carries a plausible one.
    pub fn cookie_value(&self, request: &HttpRequest, name: &str) -> Option<String> {
        let cookie = request.cookie(name)?;
        let value = cookie.value();
        (!value.is_empty() && value.len() <= MAX_COOKIE_BYTES).then(|| value.to_owned())
    }

    pub fn session_token(&self, request: &HttpRequest) -> Option<String> {
        self.cookie_value(request, self.session_cookie_name())
    }

    /// Whether a browser sent this request from our own pages: `Sec-Fetch-Site:
    /// same-origin` when the browser sends that header, else an `Origin` equal to ours.
    /// A request with neither is not believed to be ours.
    pub fn is_same_origin(&self, request: &HttpRequest) -> bool {
        let headers = request.headers();
        if let Some(site) = headers.get("sec-fetch-site") {
            return site.as_bytes() == b"same-origin";
        }
        headers
            .get("origin")
            .is_some_and(|origin| origin.as_bytes() == self.origin.as_bytes())
    }
}

/// GET, HEAD and OPTIONS change nothing; every other method needs the CSRF check when a
/// cookie authenticates it.
pub fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

#[derive(Clone)]
struct CachedKey {
    principal: Principal,
    /// The key's id in auth-service, so that revoking the key can find this entry.
    key_id: String,
    expires_at: Option<DateTime<Utc>>,
    /// When auth-service last said yes.
    verified_at: Instant,
}

pub struct KeyCache {
    /// Shared, so that reading an entry copies a pointer, not its strings.
    verified: moka::sync::Cache<[u8; 32], Arc<CachedKey>>,
    /// Verifications running now, by key digest, so concurrent misses share one.
    inflight: Mutex<HashMap<[u8; 32], Verification>>,
    /// The user of each session seen lately, by the SHA-256 of its token: only so the
    /// rate limiter can count a session's requests under its user. Authentication still
    /// asks auth-service about the session on every request.
    session_users: moka::sync::Cache<[u8; 32], String>,
    /// False when the TTL is zero: nothing is kept (benchmarks compare with this).
    enabled: bool,
    /// An entry older than this is verified again in the background while it is used.
    refresh_after: Duration,
}

impl KeyCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            inflight: Mutex::new(HashMap::new()),
            enabled: !ttl.is_zero(),
            refresh_after: ttl * 3 / 4,
            verified: moka::sync::Cache::builder()
                .max_capacity(MAX_CACHED_KEYS)
                .time_to_live(ttl)
                .support_invalidation_closures()
                .build(),
            session_users: moka::sync::Cache::builder()
                .max_capacity(MAX_CACHED_KEYS)
                .time_to_live(SESSION_USER_TTL)
                .build(),
        }
    }

    /// The user of the session with this token SHA-256, when it was verified lately.
    pub fn user_of_session(&self, digest: &[u8; 32]) -> Option<String> {
        self.session_users.get(digest)
    }

    /// Stops trusting the key with this id on this replica: no later lookup returns it.
    /// Other replicas cannot be told; they keep trusting it until their entry's TTL
    /// (`FLOWSVAULT_API_KEY_CACHE_TTL_SECS`, 10 s by default) runs out, which is the
    /// bound API.md promises. The same bound holds for one narrow race here: a
    /// verification that auth-service passed just before the revocation, but that
    /// reaches this cache only after this call, is trusted until its own TTL.
    pub fn forget_key(&self, key_id: &str) {
        let key_id = key_id.to_owned();
        let forgotten = self
            .verified
            .invalidate_entries_if(move |_, cached| cached.key_id == key_id);
        if let Err(error) = forgotten {
            // Only possible if the cache was built without invalidation closures;
            // dropping every entry costs one bcrypt per key, but never trusts a revoked one.
            tracing::error!(%error, "forgetting one api key failed; forgetting them all");
            self.verified.invalidate_all();
        }
    }

    #[cfg(test)]
    fn get(&self, digest: &[u8; 32]) -> Option<Principal> {
        self.lookup(digest)
            .map(|(cached, _)| cached.principal.clone())
    }

    /// The cached verification of a key, and whether it is due for a new one.
    fn lookup(&self, digest: &[u8; 32]) -> Option<(Arc<CachedKey>, bool)> {
        let cached = self.verified.get(digest)?;
        if cached.expires_at.is_some_and(|expiry| expiry <= Utc::now()) {
            self.verified.invalidate(digest);
            return None;
        }
        let due = cached.verified_at.elapsed() >= self.refresh_after;
        Some((cached, due))
    }

    fn insert(&self, digest: [u8; 32], entry: CachedKey) {
        if self.enabled {
            self.verified.insert(digest, Arc::new(entry));
        }
    }
}

pub(crate) fn bearer_token(request: &HttpRequest) -> Option<String> {
    let value = request.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= MAX_KEY_BYTES)
        .then(|| token.to_owned())
}

/// The credential a request carries, read once: rate limiting counts by it before
/// authentication checks it, and both need its SHA-256. Kept in the request's extensions
/// by [`Credential::of`].
pub(crate) struct Credential {
    pub via: Via,
    pub token: String,
    pub digest: [u8; 32],
    /// The user behind the credential when this replica verified it lately (the rate
    /// limiter counts by it too); authentication does not take it from here.
    pub user: Option<String>,
}

impl Credential {
    /// The request's credential: a bearer key wins over the session cookie (programs
    /// need no CSRF check).
    pub(crate) fn of(request: &HttpRequest, state: &AppState) -> Option<Rc<Self>> {
        if let Some(read) = request.extensions().get::<Option<Rc<Self>>>() {
            return read.clone();
        }
        let credential = if let Some(token) = bearer_token(request) {
            let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
            Some(Self {
                via: Via::ApiKey,
                user: state
                    .keys
                    .lookup(&digest)
                    .map(|(cached, _)| cached.principal.user_id.clone()),
                token,
                digest,
            })
        } else {
            state.site.session_token(request).map(|token| {
                let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
                Self {
                    via: Via::Session,
                    user: state.keys.user_of_session(&digest),
                    token,
                    digest,
                }
            })
        }
        .map(Rc::new);
        request.extensions_mut().insert(credential.clone());
        credential
    }
}

/// What a request presents to prove who it is.
enum Presented {
    ApiKey(Rc<Credential>),
    Session(Rc<Credential>),
    CrossOriginSession,
    Nothing,
}

fn presented(request: &HttpRequest, state: &AppState) -> Presented {
    match Credential::of(request, state) {
        Some(credential) if credential.via == Via::ApiKey => Presented::ApiKey(credential),
        Some(_) if changes_state(request.method()) && !state.site.is_same_origin(request) => {
            Presented::CrossOriginSession
        }
        Some(credential) => Presented::Session(credential),
        None => Presented::Nothing,
    }
}

/// The user of a session token, or 401.
pub async fn verify_session(
    state: &AppState,
    token: String,
    request_id: &RequestId,
) -> Result<flowsvault_proto::auth::v1::VerifySessionResponse, ApiError> {
    let mut auth = state.backends.auth();
    let verified = auth
        .verify_session(
            state
                .backends
                .request(VerifySessionRequest { token }, request_id),
        )
        .await
        .map_err(|status| match ErrorCode::of_status(&status) {
            ErrorCode::Unauthenticated | ErrorCode::InvalidRequest => ApiError::unauthenticated(),
            _ => ApiError::from(status),
        })?;
    Ok(verified.into_inner())
}

async fn authenticate(
    state: web::Data<AppState>,
    presented: Presented,
    request_id: RequestId,
) -> Result<Principal, ApiError> {
    let credential = match presented {
        Presented::ApiKey(credential) => credential,
        Presented::Session(credential) => {
            let verified = verify_session(&state, credential.token.clone(), &request_id).await?;
            let user = verified.user.ok_or_else(ApiError::unauthenticated)?;
            state
                .keys
                .session_users
                .insert(credential.digest, user.id.clone());
            return Ok(Principal {
                user_id: user.id,
                via: Via::Session,
            });
        }
        Presented::CrossOriginSession => {
            return Err(ApiError::new(
                ErrorCode::CrossOriginRequest,
                "a change authenticated by the session cookie must come from this site's own pages",
            ));
        }
        Presented::Nothing => return Err(ApiError::unauthenticated()),
    };
    let digest = credential.digest;
    // Looked up again rather than taken from when the request was read: a key revoked
    // through this gateway meanwhile (the rate limiter may have waited on Redis) is
    // refused at once.
    if let Some((cached, due)) = state.keys.lookup(&digest) {
        if due
            && let Some((refresh, started)) =
                verification(&state, credential.token.clone(), digest, request_id)
            && started
        {
            // Answered from the cache meanwhile; a refused key leaves the cache.
            let owner = state.clone();
            actix_web::rt::spawn(async move {
                if let Err(error) = refresh.await
                    && error.code() == ErrorCode::Unauthenticated
                {
                    owner.keys.verified.invalidate(&digest);
                }
            });
        }
        return Ok(cached.principal.clone());
    }
    let token = credential.token.clone();
    if !state.keys.enabled {
        return verify_key(&state, token, digest, request_id).await;
    }
    match verification(&state, token.clone(), digest, request_id.clone()) {
        Some((verification, started)) => match verification.await {
            // Started on another worker, whose channels are its own: when that worker
            // stopped first (a graceful stop drains each worker on its own), its call
            // failed with it, as a broken or unreachable channel. A request that only
            // waited for it asks again, from its own worker, rather than fail for
            // another's sake. Not after a timeout: an auth-service too slow to answer
            // one verification is not sent one per waiting request.
            Err(error)
                if !started
                    && matches!(
                        error.code(),
                        ErrorCode::UpstreamFailed | ErrorCode::UpstreamUnavailable
                    ) =>
            {
                verify_key(&state, token, digest, request_id).await
            }
            verified => verified,
        },
        None => verify_key(&state, token, digest, request_id).await,
    }
}

/// The verification of a key in flight, started now if none was (then `true`): requests
/// that miss the cache together (the entry just expired under load) wait for the same one
/// instead of each paying bcrypt. `None` when the table of them is unusable.
fn verification(
    state: &web::Data<AppState>,
    token: String,
    digest: [u8; 32],
    request_id: RequestId,
) -> Option<(Verification, bool)> {
    let mut inflight = state.keys.inflight.lock().ok()?;
    if let Some(running) = inflight.get(&digest) {
        return Some((running.clone(), false));
    }
    let owner = state.clone();
    let running = async move {
        let verified = verify_key(&owner, token, digest, request_id).await;
        if let Ok(mut inflight) = owner.keys.inflight.lock() {
            inflight.remove(&digest);
        }
        verified
    }
    .boxed()
    .shared();
    inflight.insert(digest, running.clone());
    Some((running, true))
}

/// Asks auth-service about a key (bcrypt there, the first time it sees the key) and
/// caches the answer.
async fn verify_key(
    state: &AppState,
    token: String,
    digest: [u8; 32],
    request_id: RequestId,
) -> Result<Principal, ApiError> {
    let mut auth = state.backends.auth();
    let verified = auth
        .verify_api_key(
            state
                .backends
                .request(VerifyApiKeyRequest { key: token }, &request_id),
        )
        .await
        .map_err(|status| match ErrorCode::of_status(&status) {
            ErrorCode::Unauthenticated | ErrorCode::InvalidRequest => ApiError::unauthenticated(),
            _ => ApiError::from(status),
        })?
        .into_inner();
    let principal = Principal {
        user_id: verified.user_id,
        via: Via::ApiKey,
    };
    let entry = CachedKey {
        principal: principal.clone(),
        key_id: verified.key_id,
        expires_at: verified.expires_at.as_ref().and_then(from_timestamp),
        verified_at: Instant::now(),
    };
    state.keys.insert(digest, entry);
    Ok(principal)
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future =
        Either<Ready<Result<Self, ApiError>>, LocalBoxFuture<'static, Result<Self, ApiError>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = request.app_data::<web::Data<AppState>>().cloned();
        let presented = state
            .as_ref()
            .map_or(Presented::Nothing, |state| presented(request, state));
        // A key verified lately, and not due for a new verification, is answered now:
        // most requests of a program need nothing more.
        if let (Some(state), Presented::ApiKey(credential)) = (&state, &presented)
            && let Some((cached, false)) = state.keys.lookup(&credential.digest)
        {
            return Either::Left(ready(Ok(cached.principal.clone())));
        }
        let request_id = RequestId::of(request);
        Either::Right(Box::pin(async move {
            let state = state.ok_or_else(|| {
                ApiError::new(ErrorCode::Internal, "gateway state is not configured")
            })?;
            authenticate(state, presented, request_id).await
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn only_bearer_tokens_are_taken() {
        let bearer = TestRequest::default()
            .insert_header(("Authorization", "Bearer fv_abc_def"))
            .to_http_request();
        assert_eq!(bearer_token(&bearer).as_deref(), Some("fv_abc_def"));
        let basic = TestRequest::default()
            .insert_header(("Authorization", "Basic dXNlcjpwYXNz"))
            .to_http_request();
        assert_eq!(bearer_token(&basic), None);
        let empty = TestRequest::default()
            .insert_header(("Authorization", "Bearer "))
            .to_http_request();
        assert_eq!(bearer_token(&empty), None);
    }

    fn entry(user_id: &str, key_id: &str, expires_at: Option<DateTime<Utc>>) -> CachedKey {
        CachedKey {
            principal: Principal {
                user_id: user_id.into(),
                via: Via::ApiKey,
            },
            key_id: key_id.into(),
            expires_at,
            verified_at: Instant::now(),
        }
    }

    #[test]
    fn a_key_in_use_is_due_for_verification_after_three_quarters_of_its_ttl() {
        let cache = KeyCache::new(Duration::from_secs(8));
        cache.insert([1; 32], entry("u1", "k1", None));
        let mut older = entry("u2", "k2", None);
        older.verified_at = Instant::now()
            .checked_sub(Duration::from_secs(7))
            .unwrap_or_else(Instant::now);
        cache.insert([2; 32], older);
        assert!(matches!(cache.lookup(&[1; 32]), Some((_, false))));
        assert!(matches!(cache.lookup(&[2; 32]), Some((_, true))));
        assert_eq!(
            cache.get(&[2; 32]).map(|p| p.user_id),
            Some("u2".to_owned())
        );
    }

    #[test]
    fn same_origin_is_judged_by_sec_fetch_site_then_origin() {
        let site = Site::new("http://127.0.0.1:8080".to_owned());
        let judged = |headers: &[(&str, &str)]| {
            let mut request = TestRequest::post();
            for header in headers {
                request = request.insert_header(*header);
            }
            site.is_same_origin(&request.to_http_request())
        };
        assert!(judged(&[("Sec-Fetch-Site", "same-origin")]));
        assert!(!judged(&[("Sec-Fetch-Site", "cross-site")]));
        assert!(!judged(&[("Sec-Fetch-Site", "same-site")]));
        // The browser's own verdict wins over an Origin that looks right.
        assert!(!judged(&[
            ("Sec-Fetch-Site", "cross-site"),
            ("Origin", "http://127.0.0.1:8080")
        ]));
        assert!(judged(&[("Origin", "http://127.0.0.1:8080")]));
        assert!(!judged(&[("Origin", "http://127.0.0.1:8080.evil.example")]));
        assert!(!judged(&[("Origin", "null")]));
        assert!(!judged(&[]));
    }

    #[test]
    fn cookies_over_https_are_secure_and_host_prefixed() {
        let plain = Site::new("http://127.0.0.1:8080".to_owned());
        assert_eq!(plain.session_cookie_name(), "fv_session");
        let cookie = plain.cookie("fv_session", "t".into(), CookieDuration::days(30));
        assert_eq!(cookie.secure(), Some(false));
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));

        let tls = Site::new("https://files.example.com".to_owned());
        assert_eq!(tls.session_cookie_name(), "__Host-fv_session");
        let cookie = tls.cookie(
            tls.session_cookie_name(),
            "t".into(),
            CookieDuration::days(30),
        );
        assert_eq!(cookie.secure(), Some(true));
        assert_eq!(cookie.path(), Some("/"));
        assert_eq!(cookie.domain(), None);
    }

    #[test]
    fn a_cached_key_past_its_expiry_is_dropped() {
        let cache = KeyCache::new(Duration::from_secs(60));
        cache.insert([1; 32], entry("u", "k1", None));
        let a_second_ago = Utc::now() - chrono::Duration::seconds(1);
        cache.insert([2; 32], entry("u", "k2", Some(a_second_ago)));
        assert_eq!(
            cache.get(&[1; 32]).map(|principal| principal.user_id),
            Some("u".into())
        );
        assert_eq!(cache.get(&[2; 32]), None);
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = KeyCache::new(Duration::ZERO);
        cache.insert([1; 32], entry("u", "k", None));
        assert_eq!(cache.get(&[1; 32]), None);
    }

    #[test]
    fn forgetting_a_key_drops_its_entries_and_no_others() {
        let cache = KeyCache::new(Duration::from_secs(60));
        cache.insert([1; 32], entry("u", "revoked", None));
        cache.insert([2; 32], entry("u", "kept", None));

        cache.forget_key("revoked");

        assert_eq!(cache.get(&[1; 32]), None);
        assert!(cache.get(&[2; 32]).is_some());
    }
}
