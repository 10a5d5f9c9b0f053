//! Staged bytes of resumable uploads: one file per key in the staging directory, on
//! storage-service's own disk, whichever backend holds the objects. An append writes at
//! the offset the caller acknowledged so far (dropping any bytes past it that were never
//! acknowledged) and is on disk (fsync) before it is answered. Commit hands the bytes to
//! the backend: a rename into the local backend's directory, or a multipart upload of
//! fixed-size parts to S3.
//!
//! The SHA-256 of the staged bytes is carried from append to append in memory, so a
//! commit need not read them again. After a restart, or when an append was cut short of
//! what it hashed, the commit hashes the staged file instead.

use std::{
    collections::HashMap,
    path::{Path as FsPath, PathBuf},
    sync::{Arc, Mutex},
};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::{
    error::StorageError,
    store::{Incoming, ObjectStorage, Stored},
};

/// Read size when hashing or copying staged bytes.
const COPY_CHUNK_BYTES: usize = 1024 * 1024;
/// Uploads whose running digest is kept; past it the table starts afresh (their commits
/// then hash the staged file).
const MOST_RUNNING_DIGESTS: usize = 10_000;

/// The digest of the first `length` staged bytes of an upload.
#[derive(Debug, Clone)]
struct RunningDigest {
    length: u64,
    hasher: Sha256,
}

#[derive(Debug, Clone)]
pub struct Staging {
    dir: PathBuf,
    digests: Arc<Mutex<HashMap<String, RunningDigest>>>,
}

impl Staging {
    pub fn new(dir: &FsPath) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|error| anyhow::anyhow!("creating {}: {error}", dir.display()))?;
        Ok(Self {
            dir: dir.canonicalize()?,
            digests: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// The staging file of a key (checked by `ObjectStorage::path`).
    fn file(&self, key: &str) -> Result<PathBuf, StorageError> {
        ObjectStorage::path(key)?;
        Ok(self.dir.join(format!("{key}.staged")))
    }

    /// How many bytes are staged for `key`.
    pub async fn length(&self, key: &str) -> Result<u64, StorageError> {
        match tokio::fs::metadata(self.file(key)?).await {
            Ok(metadata) => Ok(metadata.len()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(error) => Err(StorageError::Io(error)),
        }
    }

    /// Writes `chunks` at `offset` and returns the new staged length. Bytes that arrive
    /// before the stream fails are kept (and synced); the failure is returned after.
    #[tracing::instrument(skip(self, chunks))]
    pub async fn append(
        &self,
        key: &str,
        offset: u64,
        mut chunks: impl Stream<Item = Result<Bytes, StorageError>> + Unpin,
    ) -> Result<u64, StorageError> {
        let path = self.file(key)?;
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .await
            .map_err(StorageError::Io)?;
        let staged = file.metadata().await.map_err(StorageError::Io)?.len();
        if offset > staged {
            return Err(StorageError::OffsetBeyondStaged { offset, staged });
        }
        if offset < staged {
            tracing::info!(
                staged,
                offset,
                "dropping staged bytes that were never acknowledged"
            );
            file.set_len(offset).await.map_err(StorageError::Io)?;
        }
        file.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(StorageError::Io)?;
        // Continue the digest when it covers exactly the bytes kept.
        let mut digest = self
            .take_digest(key)
            .filter(|digest| digest.length == offset);
        if digest.is_none() && offset == 0 {
            digest = Some(RunningDigest {
                length: 0,
                hasher: Sha256::new(),
            });
        }
        let mut length = offset;
        let mut failure = None;
        while let Some(chunk) = chunks.next().await {
            match chunk {
                Ok(bytes) => {
                    file.write_all(&bytes).await.map_err(StorageError::Io)?;
                    length += bytes.len() as u64;
                    if let Some(digest) = digest.as_mut() {
                        digest.hasher.update(&bytes);
                        digest.length = length;
                    }
                }
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        file.flush().await.map_err(StorageError::Io)?;
        file.sync_data().await.map_err(StorageError::Io)?;
        if let Some(digest) = digest {
            self.keep_digest(key, digest);
        }
        match failure {
            Some(error) => {
                tracing::info!(
                    length,
                    "append stream broke; the bytes that arrived are kept"
                );
                Err(error)
            }
            None => Ok(length),
        }
    }

    /// Makes the staged bytes the object `key`, then removes them from staging.
    #[tracing::instrument(skip(self, storage, metadata))]
    pub async fn commit(
        &self,
        storage: &ObjectStorage,
        key: &str,
        content_type: &str,
        metadata: &[(String, String)],
        length: u64,
    ) -> Result<Stored, StorageError> {
        let path = self.file(key)?;
        let staged = self.length(key).await?;
        if staged != length {
            return Err(StorageError::SizeMismatch {
                declared: length,
                received: staged,
            });
        }
        let object = ObjectStorage::path(key)?;
        let stored = match storage.local_file(&object) {
            // Same machine: hash, then move the file into place.
            Some(target) => {
                let sha256 = match self.take_digest(key) {
                    Some(digest) if digest.length == length => {
                        hex::encode(digest.hasher.finalize())
                    }
                    _ => hash_file(&path).await?,
                };
                if let Err(error) = tokio::fs::rename(&path, &target).await {
                    tracing::info!(%error, "rename failed; copying the staged bytes instead");
                    storage
                        .put(
                            &object,
                            content_type,
                            metadata,
                            file_chunks(path.clone(), length),
                        )
                        .await?;
                }
                Stored {
                    size: length,
                    sha256,
                }
            }
            None => {
                storage
                    .put(
                        &object,
                        content_type,
                        metadata,
                        file_chunks(path.clone(), length),
                    )
                    .await?
            }
        };
        self.discard(key).await?;
        Ok(stored)
    }

    fn take_digest(&self, key: &str) -> Option<RunningDigest> {
        self.digests.lock().ok()?.remove(key)
    }

    fn keep_digest(&self, key: &str, digest: RunningDigest) {
        if let Ok(mut digests) = self.digests.lock() {
            if digests.len() >= MOST_RUNNING_DIGESTS {
                digests.clear();
            }
            digests.insert(key.to_owned(), digest);
        }
    }

    /// Removes whatever is staged for `key`.
    pub async fn discard(&self, key: &str) -> Result<(), StorageError> {
        self.take_digest(key);
        match tokio::fs::remove_file(self.file(key)?).await {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(StorageError::Io(error)),
        }
    }
}

async fn hash_file(path: &FsPath) -> Result<String, StorageError> {
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(StorageError::Io)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0_u8; COPY_CHUNK_BYTES];
    loop {
        let read = file.read(&mut buffer).await.map_err(StorageError::Io)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// A staged file as a put stream: its chunks, then `finish` with its length.
fn file_chunks(
    path: PathBuf,
    length: u64,
) -> impl Stream<Item = Result<Incoming, StorageError>> + Unpin {
    Box::pin(async_stream::try_stream! {
        let mut file = tokio::fs::File::open(&path).await.map_err(StorageError::Io)?;
        loop {
            let mut buffer = vec![0_u8; COPY_CHUNK_BYTES];
            let read = file.read(&mut buffer).await.map_err(StorageError::Io)?;
            if read == 0 {
                break;
            }
            buffer.truncate(read);
            yield Incoming::Chunk(Bytes::from(buffer));
        }
        yield Incoming::Finish { size: length };
    })
}
