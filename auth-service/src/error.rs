//! The auth-service error enum and its mapping onto the shared code table.

use diesel_async::pooled_connection::deadpool::PoolError;
use flowsvault_proto::ErrorCode;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid email address: {0}")]
    InvalidEmail(&'static str),
    #[error("invalid user name: {0}")]
    InvalidUserName(&'static str),
    #[error("invalid api key name: {0}")]
    InvalidKeyName(&'static str),
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// One answer for every way a presented key can fail, so none can be told apart.
    #[error("invalid api key")]
    InvalidApiKey,
    #[error("user not found")]
    UserNotFound,
    /// Another user's key answers exactly like a missing one.
    #[error("api key not found")]
    ApiKeyNotFound,
    /// One answer for every way a session token can fail.
    #[error("invalid session")]
    InvalidSession,
    #[error("unknown sign-in provider")]
    UnknownProvider,
    /// The sign-in could not be completed for a reason the browser's side caused (a
    /// missing, used or foreign state, a refused code, an ID token that does not verify).
    #[error("sign-in failed: {0}")]
    SignInFailed(&'static str),
    #[error("identity provider unavailable: {0}")]
    ProviderUnavailable(&'static str),
    #[error("a lock was poisoned")]
    Poisoned,
    #[error("every api key prefix drawn was taken")]
    NoFreePrefix,
    #[error("{context}")]
    Database {
        context: &'static str,
        #[source]
        source: diesel::result::Error,
    },
    #[error("no database connection available")]
    Pool(#[source] PoolError),
    #[error("hashing the api key failed")]
    Hashing(#[source] bcrypt::BcryptError),
    #[error("the dummy key hash is unavailable: {0}")]
    DummyHash(String),
    #[error("a blocking task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// Adds what was being done to a diesel error.
pub trait DatabaseContext<T> {
    fn context(self, context: &'static str) -> Result<T, AuthError>;
}

impl<T> DatabaseContext<T> for Result<T, diesel::result::Error> {
    fn context(self, context: &'static str) -> Result<T, AuthError> {
        self.map_err(|source| AuthError::Database { context, source })
    }
}

impl From<AuthError> for Status {
    fn from(error: AuthError) -> Self {
        let code = match &error {
            AuthError::InvalidEmail(_)
            | AuthError::InvalidUserName(_)
            | AuthError::InvalidKeyName(_)
            | AuthError::InvalidRequest(_) => ErrorCode::InvalidRequest,
            AuthError::InvalidApiKey | AuthError::InvalidSession => ErrorCode::Unauthenticated,
            AuthError::SignInFailed(_) => ErrorCode::SignInFailed,
            AuthError::ProviderUnavailable(_) => ErrorCode::UpstreamUnavailable,
            AuthError::UserNotFound | AuthError::ApiKeyNotFound | AuthError::UnknownProvider => {
                ErrorCode::NotFound
            }
            AuthError::NoFreePrefix
            | AuthError::Database { .. }
            | AuthError::Pool(_)
            | AuthError::Hashing(_)
            | AuthError::DummyHash(_)
            | AuthError::Poisoned
            | AuthError::Task(_) => {
                tracing::error!(error = ?anyhow::Error::from(error), "auth request failed");
                return ErrorCode::Internal.status("internal error");
            }
        };
        code.status(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_failure_is_unauthenticated_with_one_message() {
        let status = Status::from(AuthError::InvalidApiKey);
        assert_eq!(ErrorCode::of_status(&status), ErrorCode::Unauthenticated);
        assert_eq!(status.message(), "invalid api key");
    }

    #[test]
    fn database_failures_do_not_leak_their_details() {
        let error = Err::<(), _>(diesel::result::Error::NotFound)
            .context("loading the secret table")
            .unwrap_err();
        let status = Status::from(error);
        assert_eq!(ErrorCode::of_status(&status), ErrorCode::Internal);
        assert_eq!(status.message(), "internal error");
    }
}
