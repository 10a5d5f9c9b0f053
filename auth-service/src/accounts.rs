//! The use cases, shared by the gRPC adapter and the command line: make sure a user
//! exists, issue a key, verify a presented key, list and revoke a user's keys; sign in
//! through a provider, open, check and revoke sessions; delete an account.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use flowsvault_kit::secret::{digest, random_secret};
use flowsvault_proto::safe_callback_path;
use uuid::Uuid;

use crate::{
    domain::{ApiKey, ApiKeyName, CheckedKeys, Email, KeyExpiry, KeyHash, SessionToken, UserName},
    error::AuthError,
    repository::{DeletedUser, NewApiKey, NewAttempt, Repository, StoredApiKey, User},
    sign_in::Providers,
};

/// How long a browser may take at the provider before its sign-in attempt is void.
const ATTEMPT_LIFETIME_MINUTES: i64 = 10;

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

/// A session just opened: the token for the cookie, never available again.
#[derive(Debug)]
pub struct OpenedSession {
    pub token: SessionToken,
    pub expires_at: DateTime<Utc>,
}

/// A finished sign-in.
#[derive(Debug)]
pub struct SignedIn {
    pub session: OpenedSession,
    pub user: User,
    pub callback_url: String,
}

#[derive(Clone, Debug)]
pub struct Accounts {
    repository: Repository,
    providers: Arc<Providers>,
    session_lifetime: chrono::Duration,
    checked_keys: Arc<CheckedKeys>,
}

impl Accounts {
    pub fn new(
        repository: Repository,
        providers: Arc<Providers>,
        session_lifetime: chrono::Duration,
    ) -> Self {
        Self {
            repository,
            providers,
            session_lifetime,
            checked_keys: Arc::new(CheckedKeys::new()),
        }
    }

    pub fn providers(&self) -> &Providers {
        &self.providers
    }

    /// Records a sign-in attempt and returns the provider's authorization URL with the
    /// attempt's `state`.
    #[tracing::instrument(skip(self, redirect_uri, callback_url))]
    pub async fn begin_sign_in(
        &self,
        provider: &str,
        redirect_uri: &str,
        callback_url: &str,
    ) -> Result<(String, String), AuthError> {
        let state = random_secret();
        let nonce = random_secret();
        let authorization = self
            .providers
            .authorization_url(provider, redirect_uri, &state, &nonce)
            .await?;
        self.repository
            .insert_attempt(NewAttempt {
                state_hash: &digest(&state),
                provider,
                nonce: &nonce,
                pkce_verifier: &authorization.pkce_verifier,
                redirect_uri,
                callback_url: safe_callback_path(callback_url),
                lifetime: chrono::Duration::minutes(ATTEMPT_LIFETIME_MINUTES),
            })
            .await?;
        Ok((authorization.url.to_string(), state))
    }

    /// Finishes a sign-in: the attempt is used up first, so whatever happens next, the
    /// same state never works twice.
    #[tracing::instrument(skip(self, code, state))]
    pub async fn complete_sign_in(
        &self,
        provider: &str,
        code: &str,
        state: &str,
    ) -> Result<SignedIn, AuthError> {
        let attempt =
            self.repository
                .take_attempt(&digest(state))
                .await?
                .ok_or(AuthError::SignInFailed(
                    "the state is unknown, used or expired",
                ))?;
        if attempt.provider != provider {
            return Err(AuthError::SignInFailed(
                "the state belongs to another provider",
            ));
        }
        let identity = self
            .providers
            .identity(
                provider,
                code,
                &attempt.redirect_uri,
                &attempt.pkce_verifier,
                &attempt.nonce,
            )
            .await?;
        let email = Email::parse(&identity.email)
            .map_err(|_| AuthError::SignInFailed("the provider's email address is not valid"))?;
        // A name or picture that does not fit is left out rather than failing the sign-in.
        let name = UserName::parse_optional(identity.name.as_deref()).unwrap_or(None);
        let picture = identity
            .picture
            .filter(|url| url.len() <= 2048 && url.starts_with("https://"));
        let user = self
            .repository
            .upsert_signed_in_user(&email, name.as_ref(), picture.as_deref())
            .await?;
        let session = self.open_session(user.id).await?;
        tracing::info!(user_id = %user.id, "signed in");
        Ok(SignedIn {
            session,
            user,
            callback_url: attempt.callback_url,
        })
    }

    /// Opens a new session for the user, with a fresh token (never a reused one).
    #[tracing::instrument(skip(self))]
    pub async fn open_session(&self, user_id: Uuid) -> Result<OpenedSession, AuthError> {
        let token = SessionToken::generate();
        let expires_at = self
            .repository
            .insert_session(user_id, &token.digest(), self.session_lifetime)
            .await?;
        Ok(OpenedSession { token, expires_at })
    }

    /// The user of a live session. Every failure is the same `InvalidSession`.
    pub async fn verify_session(
        &self,
        presented: &str,
    ) -> Result<(User, DateTime<Utc>), AuthError> {
        let token = SessionToken::parse(presented)?;
        self.repository
            .find_session(&token.digest())
            .await?
            .ok_or(AuthError::InvalidSession)
    }

    /// Revokes the session of a token; a malformed or unknown token is no error.
    pub async fn revoke_session(&self, presented: &str) -> Result<(), AuthError> {
        let Ok(token) = SessionToken::parse(presented) else {
            return Ok(());
        };
        if self.repository.revoke_session(&token.digest()).await? {
            tracing::info!("session revoked");
        }
        Ok(())
    }

    pub async fn user(&self, user_id: Uuid) -> Result<User, AuthError> {
        self.repository
            .find_user(user_id)
            .await?
            .ok_or(AuthError::UserNotFound)
    }

    pub async fn set_picture(
        &self,
        user_id: Uuid,
        picture_key: &str,
    ) -> Result<(User, Option<String>), AuthError> {
        self.repository
            .set_picture(user_id, picture_key)
            .await?
            .ok_or(AuthError::UserNotFound)
    }

    #[tracing::instrument(skip(self))]
    pub async fn delete_user(&self, user_id: Uuid) -> Result<DeletedUser, AuthError> {
        let deleted = self.repository.delete_user(user_id).await?;
        tracing::info!(keys = deleted.api_key_ids.len(), "user deleted");
        Ok(deleted)
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
    /// and a well-formed key pays one bcrypt check, known prefix or not, unless this
    /// process has checked that very key against the stored hash before.
    #[tracing::instrument(skip_all)]
    pub async fn verify_api_key(&self, presented: &str) -> Result<VerifiedKey, AuthError> {
        let key = ApiKey::parse(presented)?;
        let usable = self.repository.find_usable_key(key.prefix()).await?;
        let matches = match &usable {
            Some(usable) if self.checked_keys.vouch_for(&key, &usable.key_hash) => true,
            _ => {
                let stored_hash = usable.as_ref().map(|usable| usable.key_hash.clone());
                let matches = matches_off_the_runtime(key.clone(), stored_hash).await?;
                if let (true, Some(usable)) = (matches, &usable) {
                    self.checked_keys.remember(&key, &usable.key_hash);
                }
                matches
            }
        };
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
