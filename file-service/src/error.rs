//! The file-service error enum and its mapping onto the shared code table.

use flowsvault_proto::ErrorCode;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("file not found")]
    NotFound,
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the file has expired")]
    FileExpired,
    #[error("the upload has expired")]
    UploadExpired,
    #[error("another request is writing to this upload")]
    UploadLocked,
    #[error("the share link has expired")]
    ShareExpired,
    #[error("the share link has no downloads left")]
    ShareUsedUp,
    #[error("the share link needs a password")]
    PasswordRequired,
    #[error("the password is wrong")]
    WrongPassword,
    #[error("the upload would use {needed} bytes of a {quota}-byte quota")]
    QuotaExceeded { needed: i64, quota: i64 },
    #[error("hashing the password failed")]
    Hashing(#[from] bcrypt::BcryptError),
    #[error("a blocking task failed")]
    Task(#[from] tokio::task::JoinError),
    #[error("database query failed")]
    Database(#[from] diesel::result::Error),
    #[error("no database connection available")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
}

impl From<FileError> for Status {
    fn from(error: FileError) -> Self {
        let code = match &error {
            FileError::NotFound => ErrorCode::NotFound,
            FileError::InvalidArgument(_) => ErrorCode::InvalidRequest,
            FileError::Conflict(_) => ErrorCode::Conflict,
            FileError::FileExpired => ErrorCode::FileExpired,
            FileError::UploadExpired => ErrorCode::UploadExpired,
            FileError::UploadLocked => ErrorCode::UploadLocked,
            FileError::QuotaExceeded { .. } => ErrorCode::QuotaExceeded,
            FileError::ShareExpired => ErrorCode::ShareExpired,
            FileError::ShareUsedUp => ErrorCode::ShareUsedUp,
            FileError::PasswordRequired => ErrorCode::PasswordRequired,
            FileError::WrongPassword => ErrorCode::WrongPassword,
            FileError::Hashing(_) | FileError::Task(_) => {
                tracing::error!(error = ?anyhow::Error::from(error), "share request failed");
                return ErrorCode::Internal.status("internal error");
            }
            FileError::Pool(_) => {
                tracing::error!(error = ?anyhow::Error::from(error), "database unavailable");
                return ErrorCode::UpstreamUnavailable.status("database unavailable");
            }
            FileError::Database(_) => {
                tracing::error!(error = ?anyhow::Error::from(error), "database query failed");
                return ErrorCode::Internal.status("database query failed");
            }
        };
        code.status(error.to_string())
    }
}
