//! Who is calling: API keys (`Authorization: Bearer fv_…`) verified by auth-service and
//! then trusted for a short while from a cache keyed by the key's SHA-256, so bcrypt is
//! paid once per key and TTL, not once per request. A key revoked through this gateway
//! leaves its cache at once.

use std::time::Duration;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use chrono::{DateTime, Utc};
use flowsvault_proto::{ErrorCode, auth::v1::VerifyApiKeyRequest, from_timestamp};
use futures_util::future::LocalBoxFuture;
use sha2::{Digest, Sha256};

use crate::{problem::ApiError, request_id::RequestId, startup::AppState};

const MAX_CACHED_KEYS: u64 = 100_000;
/// Longest header value looked at; real keys are about 55 bytes.
const MAX_KEY_BYTES: usize = 256;

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
}

#[derive(Clone)]
struct CachedKey {
    principal: Principal,
    /// The key's id in auth-service, so that revoking the key can find this entry.
    key_id: String,
    expires_at: Option<DateTime<Utc>>,
}

pub struct KeyCache {
    verified: moka::sync::Cache<[u8; 32], CachedKey>,
}

impl KeyCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            verified: moka::sync::Cache::builder()
                .max_capacity(MAX_CACHED_KEYS)
                .time_to_live(ttl)
                .support_invalidation_closures()
                .build(),
        }
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

    fn get(&self, digest: &[u8; 32]) -> Option<Principal> {
        let cached = self.verified.get(digest)?;
        if cached.expires_at.is_some_and(|expiry| expiry <= Utc::now()) {
            self.verified.invalidate(digest);
            return None;
        }
        Some(cached.principal)
    }

    fn insert(&self, digest: [u8; 32], entry: CachedKey) {
        self.verified.insert(digest, entry);
    }
}

pub(crate) fn bearer_token(request: &HttpRequest) -> Option<String> {
    let value = request.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= MAX_KEY_BYTES)
        .then(|| token.to_owned())
}

async fn authenticate(
    state: web::Data<AppState>,
    token: Option<String>,
    request_id: RequestId,
) -> Result<Principal, ApiError> {
    let token = token.ok_or_else(ApiError::unauthenticated)?;
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    if let Some(principal) = state.keys.get(&digest) {
        return Ok(principal);
    }
    let mut auth = state.backends.auth.clone();
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
    };
    let entry = CachedKey {
        principal: principal.clone(),
        key_id: verified.key_id,
        expires_at: verified.expires_at.as_ref().and_then(from_timestamp),
    };
    state.keys.insert(digest, entry);
    Ok(principal)
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = request.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(request);
        let request_id = RequestId::of(request);
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                ApiError::new(ErrorCode::Internal, "gateway state is not configured")
            })?;
            authenticate(state, token, request_id).await
        })
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
            },
            key_id: key_id.into(),
            expires_at,
        }
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
    fn forgetting_a_key_drops_its_entries_and_no_others() {
        let cache = KeyCache::new(Duration::from_secs(60));
        cache.insert([1; 32], entry("u", "revoked", None));
        cache.insert([2; 32], entry("u", "kept", None));

        cache.forget_key("revoked");

        assert_eq!(cache.get(&[1; 32]), None);
        assert!(cache.get(&[2; 32]).is_some());
    }
}
