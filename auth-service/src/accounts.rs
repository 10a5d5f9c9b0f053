//! The use cases, shared by the gRPC adapter and the command line: make sure a user
//! exists, issue a key, verify a presented key, list and revoke a user's keys.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    domain::{ApiKey, ApiKeyName, Email, KeyExpiry, KeyHash, UserName},
    error::AuthError,
    repository::{NewApiKey, Repository, StoredApiKey, User},
};

/// Fresh keys drawn before giving up when their prefixes are taken. With 62^8 prefixes a
/// second draw is already rare.
const PREFIX_ATTEMPTS: usize = 3;

/// A key just issued: its row, and the whole key, which is never available again.
#[derive(Debug)]
pub struct IssuedKey {
    pub record: StoredApiKey,
    pub key: ApiKey,
}

/// Who a verified key belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifiedKey {
    pub user_id: Uuid,
    pub key_id: Uuid,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug)]
pub struct Accounts {
    repository: Repository,
}

impl Accounts {
    pub fn new(repository: Repository) -> Self {
        Self { repository }
    }

    pub async fn ensure_user(
        &self,
        email: &Email,
        name: Option<&UserName>,
    ) -> Result<User, AuthError> {
        self.repository.ensure_user(email, name).await
    }

    #[tracing::instrument(skip(self, name, expires_at))]
    pub async fn create_api_key(
        &self,
        user_id: Uuid,
        name: &ApiKeyName,
        expires_at: Option<KeyExpiry>,
    ) -> Result<IssuedKey, AuthError> {
        for _ in 0..PREFIX_ATTEMPTS {
            let key = ApiKey::generate();
            let key_hash = hash_off_the_runtime(key.clone()).await?;
            let new_key = NewApiKey {
                user_id,
                name,
                prefix: key.prefix(),
                key_hash: &key_hash,
                expires_at,
            };
            if let Some(record) = self.repository.insert_api_key(new_key).await? {
                tracing::info!(key_id = %record.id, "api key created");
                return Ok(IssuedKey { record, key });
            }
            tracing::warn!("api key prefix taken, drawing another key");
        }
        Err(AuthError::NoFreePrefix)
    }

    /// Every key of the user, newest first, revoked and expired ones included.
    #[tracing::instrument(skip(self))]
    pub async fn list_api_keys(&self, user_id: Uuid) -> Result<Vec<StoredApiKey>, AuthError> {
        self.repository.list_api_keys(user_id).await
    }

    /// Revokes one of the user's keys; revoking it again returns it unchanged. Another
    /// user's key is `ApiKeyNotFound`, like a missing one.
    #[tracing::instrument(skip(self))]
    pub async fn revoke_api_key(
        &self,
        user_id: Uuid,
        key_id: Uuid,
    ) -> Result<StoredApiKey, AuthError> {
        let revoked = self
            .repository
            .revoke_api_key(user_id, key_id)
            .await?
            .ok_or(AuthError::ApiKeyNotFound)?;
        tracing::info!(revoked_at = ?revoked.revoked_at, "api key revoked");
        Ok(revoked)
    }

    /// Resolves a presented key to its owner. Every failure is the same `InvalidApiKey`,
    /// and a well-formed key always pays one bcrypt check, known prefix or not.
    #[tracing::instrument(skip_all)]
    pub async fn verify_api_key(&self, presented: &str) -> Result<VerifiedKey, AuthError> {
        let key = ApiKey::parse(presented)?;
        let usable = self.repository.find_usable_key(key.prefix()).await?;
        let stored_hash = usable.as_ref().map(|usable| usable.key_hash.clone());
        let matches = matches_off_the_runtime(key, stored_hash).await?;
        let Some(usable) = usable.filter(|_| matches) else {
            return Err(AuthError::InvalidApiKey);
        };
        // Re-checked in the same statement, so a key revoked during the bcrypt check fails.
        let used = self
            .repository
            .mark_key_used(usable.id)
            .await?
            .ok_or(AuthError::InvalidApiKey)?;
        Ok(VerifiedKey {
            user_id: used.user_id,
            key_id: usable.id,
            expires_at: used.expires_at,
        })
    }
}

/// bcrypt costs about 100 ms of CPU: run it where it does not stall other requests.
async fn hash_off_the_runtime(key: ApiKey) -> Result<KeyHash, AuthError> {
    tokio::task::spawn_blocking(move || key.hash())
        .await
        .map_err(AuthError::Task)?
}

async fn matches_off_the_runtime(
    key: ApiKey,
    stored_hash: Option<KeyHash>,
) -> Result<bool, AuthError> {
    tokio::task::spawn_blocking(move || key.matches(stored_hash.as_ref()))
        .await
        .map_err(AuthError::Task)?
}
