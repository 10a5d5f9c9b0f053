//! The storage-service error enum and its mapping onto the shared code table.

use flowsvault_proto::ErrorCode;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("invalid object key {key:?}: {reason}")]
    InvalidKey { key: String, reason: String },
    #[error("object not found")]
    NotFound,
    #[error("malformed put stream: {0}")]
    MalformedStream(&'static str),
    #[error("put stream declared {declared} bytes but carried {received}")]
    SizeMismatch { declared: u64, received: u64 },
    #[error("range {start}..{end} is not satisfiable")]
    InvalidRange { start: u64, end: u64 },
    #[error("put stream ended before it was finished")]
    Interrupted(#[source] Status),
    #[error("storage backend failed")]
    Backend(#[source] object_store::Error),
    #[error("offset {offset} is past the {staged} staged bytes")]
    OffsetBeyondStaged { offset: u64, staged: u64 },
    #[error("offset {offset} is before the {sent} bytes already sent as parts")]
    OffsetBeforeParts { offset: u64, sent: u64 },
    #[error("local file access failed")]
    Io(#[source] std::io::Error),
    #[error("this storage backend does not sign URLs")]
    PresignUnsupported,
    #[error("listing multipart uploads failed: {0}")]
    Listing(String),
}

impl From<object_store::Error> for StorageError {
    fn from(error: object_store::Error) -> Self {
        match error {
            object_store::Error::NotFound { .. } => StorageError::NotFound,
            other => StorageError::Backend(other),
        }
    }
}

impl From<StorageError> for Status {
    fn from(error: StorageError) -> Self {
        let code = match &error {
            StorageError::InvalidKey { .. }
            | StorageError::MalformedStream(_)
            | StorageError::SizeMismatch { .. }
            | StorageError::InvalidRange { .. } => ErrorCode::InvalidRequest,
            StorageError::NotFound => ErrorCode::NotFound,
            StorageError::OffsetBeyondStaged { .. } | StorageError::OffsetBeforeParts { .. } => {
                ErrorCode::OffsetMismatch
            }
            StorageError::Interrupted(_) => ErrorCode::Conflict,
            // gRPC UNIMPLEMENTED: the caller streams the object instead.
            StorageError::PresignUnsupported => ErrorCode::MethodNotAllowed,
            StorageError::Backend(_) | StorageError::Io(_) | StorageError::Listing(_) => {
                tracing::error!(error = ?anyhow::Error::from(error), "storage request failed");
                return ErrorCode::Internal.status("storage backend failed");
            }
        };
        code.status(error.to_string())
    }
}
