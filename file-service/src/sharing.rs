//! The share-link use cases: making a link (its token returned once, its password
//! bcrypt-hashed), what a link shows, and granting a download through it.

use flowsvault_kit::secret::{digest, is_secret, random_secret};
use uuid::Uuid;

use crate::{
    error::FileError,
    repository::{FileRepository, NewShare, ShareRow, SharedRecord},
};

/// bcrypt cost of link passwords, as for API keys.
const PASSWORD_COST: u32 = 10;
/// Longest password accepted (bcrypt reads at most 72 bytes).
pub const MAX_PASSWORD_BYTES: usize = 72;

pub struct ShareRequest {
    pub user_id: Uuid,
    pub file_id: Uuid,
    pub expires_in_seconds: Option<u64>,
    pub max_downloads: Option<u32>,
    pub password: Option<String>,
}

/// A download granted through a link.
pub struct Granted {
    pub record: SharedRecord,
    /// A new grant when the download was counted; `None` for a continuation.
    pub grant: Option<String>,
}

pub async fn create(
    files: &FileRepository,
    request: ShareRequest,
) -> Result<(ShareRow, String), FileError> {
    let expires_in_seconds = request
        .expires_in_seconds
        .map(|seconds| {
            i64::try_from(seconds)
                .ok()
                .filter(|seconds| (60..=10 * 365 * 86_400).contains(seconds))
                .ok_or_else(|| {
                    FileError::InvalidArgument("expiresIn must be 1 minute to 10 years".into())
                })
        })
        .transpose()?;
    let max_downloads = request
        .max_downloads
        .map(|count| {
            i32::try_from(count)
                .ok()
                .filter(|count| (1..=1_000_000).contains(count))
                .ok_or_else(|| {
                    FileError::InvalidArgument("maxDownloads must be 1 to 1000000".into())
                })
        })
        .transpose()?;
    let password = request.password.filter(|password| !password.is_empty());
    if password
        .as_ref()
        .is_some_and(|password| password.len() > MAX_PASSWORD_BYTES)
    {
        return Err(FileError::InvalidArgument(format!(
            "the password must be at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    let password_hash = match password {
        Some(password) => Some(
            tokio::task::spawn_blocking(move || bcrypt::hash(password, PASSWORD_COST)).await??,
        ),
        None => None,
    };
    let token = random_secret();
    let share = files
        .create_share(NewShare {
            user_id: request.user_id,
            file_id: request.file_id,
            token_hash: &digest(&token),
            password_hash: password_hash.as_deref(),
            expires_in_seconds,
            max_downloads,
        })
        .await?;
    Ok((share, token))
}

/// The link and its file, if the link can still be used; the reason otherwise.
pub async fn open(files: &FileRepository, token: &str) -> Result<SharedRecord, FileError> {
    let record = find(files, token).await?;
    usable(&record)?;
    Ok(record)
}

/// The link with this token whose file still exists; `NotFound` for a malformed or
/// unknown token, a revoked link, or a deleted file.
async fn find(files: &FileRepository, token: &str) -> Result<SharedRecord, FileError> {
    if !is_secret(token) {
        return Err(FileError::NotFound);
    }
    let record = files
        .find_share(&digest(token))
        .await?
        .ok_or(FileError::NotFound)?;
    if record.revoked || record.file.status != "active" {
        return Err(FileError::NotFound);
    }
    if record.file_expired {
        return Err(FileError::FileExpired);
    }
    Ok(record)
}

/// Whether a found link may give a new download.
fn usable(record: &SharedRecord) -> Result<(), FileError> {
    if record.share_expired {
        return Err(FileError::ShareExpired);
    }
    if record
        .max_downloads
        .is_some_and(|max| record.downloads >= max)
    {
        return Err(FileError::ShareUsedUp);
    }
    Ok(())
}

/// Grants a download. With a live grant of this link the request continues a counted
/// download and is not counted (even when the link is used up meanwhile); otherwise the
/// password is checked and one download counted.
pub async fn claim(
    files: &FileRepository,
    token: &str,
    password: Option<String>,
    grant: Option<&str>,
) -> Result<Granted, FileError> {
    let record = find(files, token).await?;
    if let Some(grant) = grant.filter(|grant| is_secret(grant))
        && files
            .grant_is_valid(record.share_id, &digest(grant))
            .await?
    {
        return Ok(Granted {
            record,
            grant: None,
        });
    }
    usable(&record)?;
    if let Some(hash) = record.password_hash.clone() {
        let password = password
            .filter(|password| !password.is_empty())
            .ok_or(FileError::PasswordRequired)?;
        let matches =
            tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash)).await??;
        if !matches {
            return Err(FileError::WrongPassword);
        }
    }
    let grant = random_secret();
    if !files
        .count_download(record.share_id, &digest(&grant))
        .await?
    {
        // Lost a race with the last download, a revocation or an expiry: say which.
        open(files, token).await?;
        return Err(FileError::ShareUsedUp);
    }
    Ok(Granted {
        record,
        grant: Some(grant),
    })
}
