//! Staged bytes of resumable uploads, on storage-service's own disk. An append writes at
//! the offset the caller acknowledged so far (dropping any bytes past it that were never
//! acknowledged) and is on disk (fsync) before it is answered; while it streams in, its
//! bytes are synced in the background, so that last sync has little left to write.
//!
//! On local disk the upload is one staged file, renamed into place by the commit. Its
//! SHA-256 is carried from append to append in memory, so the commit need not read the
//! bytes again (after a restart, or when an append was cut short of what it hashed, the
//! commit hashes the staged file instead).
//!
//! On S3 the upload is one multipart upload of fixed-size parts, begun once a first full
//! part is acknowledged. Each append first sends the full parts below the offset it was
//! given (acknowledged, so never taken back), then writes after them: the spool on disk
//! holds only the acknowledged tail that does not fill a part and the bytes of the
//! append in progress. A record beside the spool keeps the upload id, the parts' ETags
//! and the SHA-256 state after them, so a restarted storage-service carries on.
//!
//! Files of a key in the staging directory:
//! - `{key}.staged`: the spool while no part is sent (the whole upload on local disk);
//! - `{key}.staged.{base}`: the spool once the parts hold the first `base` bytes;
//! - `{key}.parts`: the record of the parts (S3), replaced atomically.

use std::{
    collections::{HashMap, HashSet},
    path::{Path as FsPath, PathBuf},
    sync::{Arc, Mutex, PoisonError},
};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use sha2::{
    Digest, Sha256,
    digest::common::hazmat::{SerializableState, SerializedState},
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{
    error::StorageError,
    store::{Incoming, ObjectStorage, Stored},
    writer::{OutputFile, RunningDigest, sync_dir, write_stream},
};

/// Read size when hashing or copying staged bytes.
const COPY_CHUNK_BYTES: usize = 1024 * 1024;
/// Uploads whose running digest is kept; past it the table starts afresh (their commits
/// then hash the staged file).
const MOST_RUNNING_DIGESTS: usize = 10_000;

/// The object a resumable upload becomes, as its caller describes it.
#[derive(Debug, Clone)]
pub struct Target {
    pub key: String,
    pub content_type: String,
    pub metadata: Vec<(String, String)>,
}

/// The parts of an S3 upload sent so far: the `{key}.parts` record.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Parts {
    upload_id: String,
    part_size: u64,
    etags: Vec<String>,
    /// The SHA-256 state after the parts' bytes, hex-encoded.
    digest: String,
}

impl Parts {
    /// How many bytes the parts hold.
    fn base(&self) -> u64 {
        self.etags.len() as u64 * self.part_size
    }

    fn hasher(&self) -> Result<Sha256, StorageError> {
        let corrupt = || StorageError::Io(std::io::Error::other("unreadable digest state"));
        let bytes = hex::decode(&self.digest).map_err(|_| corrupt())?;
        let state = SerializedState::<Sha256>::try_from(bytes.as_slice()).map_err(|_| corrupt())?;
        Sha256::deserialize(&state).map_err(|_| corrupt())
    }
}

#[derive(Debug, Clone)]
pub struct Staging {
    dir: PathBuf,
    storage: ObjectStorage,
    digests: Arc<Mutex<HashMap<String, RunningDigest>>>,
    busy: KeyLocks,
}

/// One append, commit or discard at a time per key. The gateway's lease already keeps
/// two writers apart, but a call outlives its caller here (each runs in a task of its
/// own, so a commit that takes longer than the gateway's deadline, sending S3 parts or
/// hashing after a restart, goes on while the gateway's retry arrives): the retry waits,
/// then finds the object made.
#[derive(Debug, Clone, Default)]
struct KeyLocks(Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>);

impl KeyLocks {
    async fn lock(&self, key: &str) -> KeyGuard {
        let lock = {
            let mut locks = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(locks.entry(key.to_owned()).or_default())
        };
        KeyGuard {
            locks: self.clone(),
            key: key.to_owned(),
            guard: Some(lock.lock_owned().await),
        }
    }
}

/// Held for the duration of one operation on a key; the key's entry goes with its last
/// holder.
struct KeyGuard {
    locks: KeyLocks,
    key: String,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        let Some(guard) = self.guard.take() else {
            return;
        };
        let lock = Arc::clone(tokio::sync::OwnedMutexGuard::mutex(&guard));
        drop(guard);
        let mut locks = self.locks.0.lock().unwrap_or_else(PoisonError::into_inner);
        // Ours and the table's: nobody else holds or waits for it.
        if Arc::strong_count(&lock) == 2 {
            locks.remove(&self.key);
        }
    }
}

impl Staging {
    pub fn new(dir: &FsPath, storage: ObjectStorage) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|error| anyhow::anyhow!("creating {}: {error}", dir.display()))?;
        Ok(Self {
            dir: dir.canonicalize()?,
            storage,
            digests: Arc::new(Mutex::new(HashMap::new())),
            busy: KeyLocks::default(),
        })
    }

    /// The spool of a key whose parts hold its first `base` bytes (checked by
    /// `ObjectStorage::path`).
    fn spool(&self, key: &str, base: u64) -> Result<PathBuf, StorageError> {
        ObjectStorage::path(key)?;
        Ok(if base == 0 {
            self.dir.join(format!("{key}.staged"))
        } else {
            self.dir.join(format!("{key}.staged.{base}"))
        })
    }

    fn parts_file(&self, key: &str) -> Result<PathBuf, StorageError> {
        ObjectStorage::path(key)?;
        Ok(self.dir.join(format!("{key}.parts")))
    }

    /// The parts of `key` sent to S3 so far, if any.
    async fn parts(&self, key: &str) -> Result<Option<Parts>, StorageError> {
        match tokio::fs::read(self.parts_file(key)?).await {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|error| StorageError::Io(std::io::Error::other(error))),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(StorageError::Io(error)),
        }
    }

    /// Replaces the record of the parts: written aside, synced, renamed over the old one.
    async fn save_parts(&self, key: &str, parts: &Parts) -> Result<(), StorageError> {
        let path = self.parts_file(key)?;
        let fresh = self.dir.join(format!("{key}.parts.new"));
        let bytes = serde_json::to_vec(parts)
            .map_err(|error| StorageError::Io(std::io::Error::other(error)))?;
        let mut file = tokio::fs::File::create(&fresh)
            .await
            .map_err(StorageError::Io)?;
        file.write_all(&bytes).await.map_err(StorageError::Io)?;
        file.sync_all().await.map_err(StorageError::Io)?;
        tokio::fs::rename(&fresh, &path)
            .await
            .map_err(StorageError::Io)?;
        sync_dir(&self.dir).await
    }

    /// How many bytes are staged for `key`, once no append to it is running.
    pub async fn length(&self, key: &str) -> Result<u64, StorageError> {
        let _busy = self.busy.lock(key).await;
        self.staged_length(key).await
    }

    /// How many bytes are staged for `key`: in parts and in the spool (the caller holds
    /// the key's lock).
    async fn staged_length(&self, key: &str) -> Result<u64, StorageError> {
        let base = self.parts(key).await?.map_or(0, |parts| parts.base());
        Ok(base + file_length(&self.spool(key, base)?).await?)
    }

    /// Writes `chunks` at `offset` and returns the new staged length. Bytes that arrive
    /// before the stream fails are kept (and synced); the failure is returned after.
    #[tracing::instrument(skip(self, target, chunks), fields(key = %target.key))]
    pub async fn append(
        &self,
        target: &Target,
        offset: u64,
        chunks: impl Stream<Item = Result<Bytes, StorageError>> + Unpin,
    ) -> Result<u64, StorageError> {
        let key = &target.key;
        let _busy = self.busy.lock(key).await;
        let mut parts = self.parts(key).await?;
        let sent = parts.as_ref().map_or(0, Parts::base);
        if offset < sent {
            return Err(StorageError::OffsetBeforeParts { offset, sent });
        }
        if self.storage.has_parts() {
            let staged = sent + file_length(&self.spool(key, sent)?).await?;
            if offset > staged {
                return Err(StorageError::OffsetBeyondStaged { offset, staged });
            }
            parts = self.send_parts(target, parts, offset).await?;
        }
        let base = parts.as_ref().map_or(0, Parts::base);
        // The running digest is for local disk; S3 uploads hash their parts as they go.
        let digest = if self.storage.has_parts() {
            None
        } else {
            let digest = self
                .take_digest(key)
                .filter(|digest| digest.length == offset);
            match digest {
                None if offset == 0 => Some(RunningDigest::new()),
                other => other,
            }
        };
        let (written, digest, failure) =
            write_spool(&self.spool(key, base)?, base, offset, chunks, digest).await?;
        if let Some(digest) = digest {
            self.keep_digest(key, digest);
        }
        match failure {
            Some(error) => {
                tracing::info!(
                    length = written,
                    "append stream broke; the bytes that arrived are kept"
                );
                Err(error)
            }
            None => Ok(written),
        }
    }

    /// Sends the full parts of the spool below `acknowledged` to S3 (starting the
    /// multipart upload with the first), then moves the acknowledged tail after them into
    /// the next spool. The record of the parts is replaced only once both are done: a
    /// storage-service stopped half-way sends the same parts again, under the same
    /// numbers.
    async fn send_parts(
        &self,
        target: &Target,
        parts: Option<Parts>,
        acknowledged: u64,
    ) -> Result<Option<Parts>, StorageError> {
        let key = &target.key;
        let part_size = parts
            .as_ref()
            .map_or(self.storage.part_size(), |parts| parts.part_size)
            .max(1);
        let base = parts.as_ref().map_or(0, Parts::base);
        let full = acknowledged.saturating_sub(base) / part_size;
        if full == 0 {
            return Ok(parts);
        }
        let path = ObjectStorage::path(key)?;
        let mut parts = match parts {
            Some(parts) => parts,
            None => {
                let upload_id = self
                    .storage
                    .create_parts(&path, &target.content_type, &target.metadata)
                    .await?;
                tracing::info!(%upload_id, "multipart upload started for a resumable upload");
                Parts {
                    upload_id,
                    part_size,
                    etags: Vec::new(),
                    digest: hex::encode(Sha256::new().serialize()),
                }
            }
        };
        let mut hasher = parts.hasher()?;
        let spool = self.spool(key, base)?;
        let mut file = tokio::fs::File::open(&spool)
            .await
            .map_err(StorageError::Io)?;
        let part_bytes = usize::try_from(part_size)
            .map_err(|_| StorageError::MalformedStream("part size too large"))?;
        for _ in 0..full {
            let mut buffer = vec![0_u8; part_bytes];
            file.read_exact(&mut buffer)
                .await
                .map_err(StorageError::Io)?;
            hasher.update(&buffer);
            let index = parts.etags.len();
            let etag = self
                .storage
                .put_part(&path, &parts.upload_id, index, Bytes::from(buffer))
                .await?;
            parts.etags.push(etag);
        }
        // The acknowledged bytes past the parts begin the next spool.
        let next_base = parts.base();
        let next = self.spool(key, next_base)?;
        let mut tail = tokio::fs::File::create(&next)
            .await
            .map_err(StorageError::Io)?;
        let mut left = acknowledged - next_base;
        let mut buffer = vec![0_u8; COPY_CHUNK_BYTES];
        while left > 0 {
            let want =
                usize::try_from(left.min(COPY_CHUNK_BYTES as u64)).unwrap_or(COPY_CHUNK_BYTES);
            file.read_exact(&mut buffer[..want])
                .await
                .map_err(StorageError::Io)?;
            tail.write_all(&buffer[..want])
                .await
                .map_err(StorageError::Io)?;
            left -= want as u64;
        }
        tail.sync_all().await.map_err(StorageError::Io)?;
        parts.digest = hex::encode(hasher.serialize());
        self.save_parts(key, &parts).await?;
        remove_if_present(&spool).await?;
        tracing::info!(
            parts = parts.etags.len(),
            sent = next_base,
            "parts of a resumable upload sent"
        );
        Ok(Some(parts))
    }

    /// Makes the staged bytes the object `key`, then removes them from staging.
    #[tracing::instrument(skip(self, target), fields(key = %target.key))]
    pub async fn commit(&self, target: &Target, length: u64) -> Result<Stored, StorageError> {
        let key = &target.key;
        let _busy = self.busy.lock(key).await;
        let staged = self.staged_length(key).await?;
        let object = ObjectStorage::path(key)?;
        // Nothing staged, not even an empty spool, or not all of it: either the bytes
        // never arrived, or an earlier commit made the object and then failed, or its
        // caller did, before all the staging files were gone.
        let nothing_staged = staged == 0
            && !tokio::fs::try_exists(self.spool(key, 0)?)
                .await
                .map_err(StorageError::Io)?;
        if (nothing_staged || staged != length)
            && let Some(stored) = self.committed(&object, length).await?
        {
            tracing::info!("the upload was committed already");
            // What the earlier commit could not remove.
            self.remove_files(key).await?;
            return Ok(stored);
        }
        if nothing_staged && length > 0 {
            // Neither the bytes nor an object made of them: the staging area was lost.
            return Err(StorageError::NotFound);
        }
        if staged != length {
            return Err(StorageError::SizeMismatch {
                declared: length,
                received: staged,
            });
        }
        let stored = if self.storage.has_parts() {
            let parts = self.parts(key).await?;
            match self.send_parts(target, parts, length).await? {
                Some(parts) => self.complete(&object, key, parts, length).await?,
                // Less than a part: one plain upload.
                None => {
                    self.storage
                        .put(
                            &object,
                            &target.content_type,
                            &target.metadata,
                            file_chunks(self.spool(key, 0)?, length),
                        )
                        .await?
                }
            }
        } else {
            self.move_into_place(target, &object, length).await?
        };
        self.remove_files(key).await?;
        Ok(stored)
    }

    /// The object `length` bytes long that an earlier commit made, hashed again (its
    /// digest went with the staged bytes); `None` when there is no such object.
    async fn committed(
        &self,
        object: &object_store::path::Path,
        length: u64,
    ) -> Result<Option<Stored>, StorageError> {
        match self.storage.head(object).await {
            Ok(meta) if meta.size == length => {}
            Ok(_) | Err(StorageError::NotFound) => return Ok(None),
            // Not knowing is no answer: the caller tries again.
            Err(error) => return Err(error),
        }
        let mut chunks = self.storage.get(object, None).await?;
        let mut hasher = Sha256::new();
        let mut size = 0;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok((size == length).then(|| Stored {
            size,
            sha256: hex::encode(hasher.finalize()),
        }))
    }

    /// Sends the last part (the spool, shorter than a part) and completes the upload.
    async fn complete(
        &self,
        object: &object_store::path::Path,
        key: &str,
        mut parts: Parts,
        length: u64,
    ) -> Result<Stored, StorageError> {
        let mut hasher = parts.hasher()?;
        let tail = tokio::fs::read(self.spool(key, parts.base())?)
            .await
            .or_else(|error| match error.kind() {
                std::io::ErrorKind::NotFound => Ok(Vec::new()),
                _ => Err(StorageError::Io(error)),
            })?;
        hasher.update(&tail);
        let sent = async {
            if !tail.is_empty() {
                let index = parts.etags.len();
                let etag = self
                    .storage
                    .put_part(object, &parts.upload_id, index, Bytes::from(tail))
                    .await?;
                parts.etags.push(etag);
            }
            self.storage
                .complete_parts(object, &parts.upload_id, &parts.etags)
                .await
        };
        if let Err(error) = sent.await {
            // A commit tried again after S3 completed the upload (its staging files could
            // not be removed) finds the upload gone and the object there.
            match self.storage.head(object).await {
                Ok(meta) if meta.size == length => {
                    tracing::info!("the multipart upload was completed already");
                }
                _ => return Err(error),
            }
        }
        Ok(Stored {
            size: length,
            sha256: hex::encode(hasher.finalize()),
        })
    }

    /// Local disk: hash, then move the staged file into place.
    async fn move_into_place(
        &self,
        target: &Target,
        object: &object_store::path::Path,
        length: u64,
    ) -> Result<Stored, StorageError> {
        let path = self.spool(&target.key, 0)?;
        let sha256 = match self.take_digest(&target.key) {
            Some(digest) if digest.length == length => hex::encode(digest.hasher.finalize()),
            _ => hash_file(&path).await?,
        };
        match self.storage.local_file(object) {
            Some(destination) if tokio::fs::rename(&path, &destination).await.is_ok() => {
                // The file is about to be recorded as active: its new name must survive a
                // crash, as a POST's does.
                if let Some(dir) = destination.parent() {
                    sync_dir(dir).await?;
                }
            }
            _ => {
                tracing::info!("rename failed; copying the staged bytes instead");
                self.storage
                    .put(
                        object,
                        &target.content_type,
                        &target.metadata,
                        file_chunks(path, length),
                    )
                    .await?;
            }
        }
        Ok(Stored {
            size: length,
            sha256,
        })
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

    /// Removes whatever is staged for `key`, and aborts its multipart upload on S3.
    pub async fn discard(&self, key: &str) -> Result<(), StorageError> {
        let _busy = self.busy.lock(key).await;
        if let Some(parts) = self.parts(key).await?
            && self.storage.has_parts()
        {
            self.storage
                .abort_parts(&ObjectStorage::path(key)?, &parts.upload_id)
                .await?;
        }
        self.remove_files(key).await
    }

    /// Every staging file of `key`: spools of any generation (one left by a service
    /// stopped between writing the next spool and its record included), the record of
    /// the parts.
    async fn remove_files(&self, key: &str) -> Result<(), StorageError> {
        self.take_digest(key);
        if !self.storage.has_parts() {
            // Local disk never has more than the one spool: no need to read the directory
            // (which holds every upload in progress) on each commit.
            return remove_if_present(&self.spool(key, 0)?).await;
        }
        // The record of the parts first: once it is gone, a spool left behind by a
        // failure below counts as nothing staged (spools past the first part are not
        // counted without it), so a commit tried again finds the object.
        remove_if_present(&self.parts_file(key)?).await?;
        let spools = format!("{key}.staged");
        let mut entries = tokio::fs::read_dir(&self.dir)
            .await
            .map_err(StorageError::Io)?;
        while let Some(entry) = entries.next_entry().await.map_err(StorageError::Io)? {
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                continue;
            };
            let spool = name == spools
                || name
                    .strip_prefix(&spools)
                    .and_then(|rest| rest.strip_prefix('.'))
                    .is_some_and(|base| base.parse::<u64>().is_ok());
            if spool {
                remove_if_present(&entry.path()).await?;
            }
        }
        Ok(())
    }

    /// The ids of the multipart uploads resumable uploads still hold open.
    pub async fn uploads_in_progress(&self) -> Result<HashSet<String>, StorageError> {
        let mut ids = HashSet::new();
        let mut entries = tokio::fs::read_dir(&self.dir)
            .await
            .map_err(StorageError::Io)?;
        while let Some(entry) = entries.next_entry().await.map_err(StorageError::Io)? {
            let name = entry.file_name();
            let Some(key) = name.to_str().and_then(|name| name.strip_suffix(".parts")) else {
                continue;
            };
            if let Ok(Some(parts)) = self.parts(key).await {
                ids.insert(parts.upload_id);
            }
        }
        Ok(ids)
    }
}

/// Writes `chunks` into the spool (which starts at byte `base` of the upload) from byte
/// `offset` of the upload, dropping whatever it held past that, with
/// [`write_stream`], which carries the digest along and syncs at the end. The new length of the
/// upload, the digest, and the failure of the stream if it broke (the bytes that arrived
/// before it are kept).
async fn write_spool(
    path: &FsPath,
    base: u64,
    offset: u64,
    chunks: impl Stream<Item = Result<Bytes, StorageError>> + Unpin,
    digest: Option<RunningDigest>,
) -> Result<(u64, Option<RunningDigest>, Option<StorageError>), StorageError> {
    let opening = path.to_path_buf();
    let opened = tokio::task::spawn_blocking(move || {
        let file = OutputFile::open(&opening, false).map_err(StorageError::Io)?;
        let staged = base + file.len().map_err(StorageError::Io)?;
        if offset > staged {
            return Err(StorageError::OffsetBeyondStaged { offset, staged });
        }
        if offset < staged {
            tracing::info!(
                staged,
                offset,
                "dropping staged bytes that were never acknowledged"
            );
            file.set_len(offset - base).map_err(StorageError::Io)?;
        }
        Ok(file)
    })
    .await
    .map_err(|_| StorageError::MalformedStream("the open task ended early"))?;
    let file = opened?;
    let (written, digest, failure) = write_stream(file, offset - base, digest, chunks).await?;
    Ok((offset + written, digest, failure))
}

async fn file_length(path: &FsPath) -> Result<u64, StorageError> {
    match tokio::fs::metadata(path).await {
        Ok(metadata) => Ok(metadata.len()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(error) => Err(StorageError::Io(error)),
    }
}

async fn remove_if_present(path: &FsPath) -> Result<(), StorageError> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(StorageError::Io(error)),
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
