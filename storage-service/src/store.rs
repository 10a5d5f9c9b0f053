//! The object store behind one interface. Backends are `object_store` implementations;
//! this module adds what the service needs on top: streaming puts (on S3 with a bounded
//! number of fixed-size parts in flight, on local disk through a writer thread and synced
//! before they are answered), SHA-256 of the stored bytes, and large read chunks.

use std::{ops::Range, sync::Arc};

use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt, stream::BoxStream};
use object_store::{
    Attribute, Attributes, GetOptions, GetRange, GetResultPayload, ObjectStore, ObjectStoreExt,
    PutMultipartOptions, WriteMultipart,
    aws::{AmazonS3, AmazonS3Builder},
    local::LocalFileSystem,
    multipart::{MultipartStore, PartId},
    path::Path,
    signer::{SignedUrlOptions, Signer},
};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use crate::{
    config::{Backend, Config},
    error::StorageError,
    writer::{OutputFile, RunningDigest, sync_dir, write_stream},
};

/// Most uploads to one key at the same time on the local backend.
const MOST_CONCURRENT_ATTEMPTS: u32 = 64;

/// Size of the chunks a download is streamed in.
pub const READ_CHUNK_BYTES: usize = 256 * 1024;

/// What a put stream carries after its header.
#[derive(Debug)]
pub enum Incoming {
    Chunk(Bytes),
    Finish { size: u64 },
}

/// The outcome of a completed put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone)]
pub struct ObjectStorage {
    store: Arc<dyn ObjectStore>,
    /// The directory of the local backend, whose staging files need our own clean-up.
    local_root: Option<std::path::PathBuf>,
    /// The S3 backend as such, for what `ObjectStore` does not offer.
    s3: Option<Arc<AmazonS3>>,
    /// Signs download URLs (S3 only), for the endpoint clients reach.
    signer: Option<Arc<AmazonS3>>,
    part_size: usize,
    parts_in_flight: usize,
}

impl ObjectStorage {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let (mut s3_backend, mut signer) = (None, None);
        let (store, local_root): (Arc<dyn ObjectStore>, _) = match config.backend {
            Backend::Local => {
                std::fs::create_dir_all(&config.root).map_err(|error| {
                    anyhow::anyhow!("creating {}: {error}", config.root.display())
                })?;
                let root = config.root.canonicalize()?;
                (
                    Arc::new(LocalFileSystem::new_with_prefix(&root)?),
                    Some(root),
                )
            }
            Backend::S3 => {
                let s3 = Arc::new(s3_store(config, config.s3_endpoint.as_deref())?);
                signer = Some(match config.s3_public_endpoint.as_deref() {
                    Some(public) if !public.is_empty() => Arc::new(s3_store(config, Some(public))?),
                    _ => s3.clone(),
                });
                s3_backend = Some(s3.clone());
                (s3, None)
            }
        };
        Ok(Self {
            store,
            local_root,
            s3: s3_backend,
            signer,
            part_size: usize::try_from(config.part_size)?,
            parts_in_flight: usize::try_from(config.parts_in_flight)?,
        })
    }

    /// Content type and user metadata are kept with the object where the backend can
    /// (S3); the local backend has nowhere to put them.
    fn put_options(
        &self,
        content_type: &str,
        metadata: &[(String, String)],
    ) -> PutMultipartOptions {
        if self.local_root.is_some() {
            return PutMultipartOptions::default();
        }
        let mut attributes = Attributes::new();
        if !content_type.is_empty() {
            attributes.insert(Attribute::ContentType, content_type.to_owned().into());
        }
        for (name, value) in metadata {
            // S3 metadata travels in headers: ASCII only, so values are percent-encoded.
            let encoded =
                percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC);
            attributes.insert(
                Attribute::Metadata(name.clone().into()),
                encoded.to_string().into(),
            );
        }
        PutMultipartOptions {
            attributes,
            ..PutMultipartOptions::default()
        }
    }

    /// Where the local backend keeps `path`; `None` for other backends.
    pub fn local_file(&self, path: &Path) -> Option<std::path::PathBuf> {
        self.local_root
            .as_ref()
            .map(|root| root.join(path.as_ref()))
    }

    /// Parses an object key; keys are single path segments of safe characters.
    pub fn path(key: &str) -> Result<Path, StorageError> {
        let invalid = |reason: &str| StorageError::InvalidKey {
            key: key.to_owned(),
            reason: reason.to_owned(),
        };
        if key.is_empty() || key.len() > 1024 {
            return Err(invalid("length must be 1 to 1024 bytes"));
        }
        if key.contains('/') {
            return Err(invalid("keys are a single path segment"));
        }
        if key.contains('#') {
            // `#` marks staging files of the local backend.
            return Err(invalid("`#` is reserved"));
        }
        Path::parse(key).map_err(|error| invalid(&error.to_string()))
    }

    /// Streams `incoming` into the object at `path`. The object appears only when the
    /// stream finished with a matching byte count; anything else aborts the upload.
    #[tracing::instrument(skip(self, metadata, incoming), fields(key = %path))]
    pub async fn put(
        &self,
        path: &Path,
        content_type: &str,
        metadata: &[(String, String)],
        incoming: impl Stream<Item = Result<Incoming, StorageError>> + Unpin + Send,
    ) -> Result<Stored, StorageError> {
        if let Some(root) = &self.local_root {
            return self.put_local(root, path, incoming).await;
        }
        let options = self.put_options(content_type, metadata);
        let upload = self.store.put_multipart_opts(path, options).await?;
        let mut writer = AbortOnDrop(Some(WriteMultipart::new_with_chunk_size(
            upload,
            self.part_size,
        )));
        let mut hasher = Sha256::new();
        let mut received: u64 = 0;
        let mut chunks = put_chunks(incoming);
        let outcome = loop {
            match chunks.next().await {
                Some(Ok(bytes)) => {
                    hasher.update(&bytes);
                    received += bytes.len() as u64;
                    let Some(parts) = writer.0.as_mut() else {
                        break Err(StorageError::MalformedStream("upload already closed"));
                    };
                    if let Err(error) = parts.wait_for_capacity(self.parts_in_flight).await {
                        break Err(error.into());
                    }
                    parts.put(bytes);
                }
                Some(Err(error)) => break Err(error),
                None => break Ok(received),
            }
        };
        let Some(parts) = writer.0.take() else {
            return Err(StorageError::MalformedStream("upload already closed"));
        };
        match outcome {
            Ok(received) => {
                let stored = Stored {
                    size: received,
                    sha256: hex::encode(hasher.finalize()),
                };
                let completing = async move {
                    parts.finish().await?;
                    Ok(())
                };
                self.finish_detached(completing, path.clone(), stored).await
            }
            Err(error) => {
                // In a task of its own: when the caller went away, this future is dropped
                // at its next await, and an abort stopped there would leave the multipart
                // upload behind. Awaited, so a caller still here is answered after it.
                let aborting = tokio::spawn(async move {
                    if let Err(abort_error) = parts.abort().await {
                        tracing::warn!(error = %abort_error, "aborting the upload failed");
                    }
                });
                let _ = aborting.await;
                Err(error)
            }
        }
    }

    /// The local backend: the bytes go to a file `{key}#{n}` beside the object, written
    /// and hashed on a blocking thread (see [`FileWriter`]), synced, and renamed into
    /// place. Memory holds a few pieces of a mebibyte, whatever the length, and the object
    /// is on disk before the put is answered.
    async fn put_local(
        &self,
        root: &std::path::Path,
        path: &Path,
        incoming: impl Stream<Item = Result<Incoming, StorageError>> + Unpin + Send,
    ) -> Result<Stored, StorageError> {
        let (staged, file) = create_staging_file(root, path.as_ref()).await?;
        let written = write_stream(file, 0, Some(RunningDigest::new()), put_chunks(incoming)).await;
        let stored = match written {
            Ok((received, Some(digest), None)) if digest.length == received => Ok(Stored {
                size: received,
                sha256: hex::encode(digest.hasher.finalize()),
            }),
            Ok((_, _, Some(error))) | Err(error) => Err(error),
            Ok((_, _, None)) => Err(StorageError::MalformedStream("the write task ended early")),
        };
        let stored = match stored {
            Ok(stored) => stored,
            Err(error) => {
                if let Err(remove_error) = tokio::fs::remove_file(&staged).await {
                    tracing::warn!(error = %remove_error, "removing a failed write failed");
                }
                return Err(error);
            }
        };
        let destination = root.join(path.as_ref());
        let root = root.to_path_buf();
        let completing = async move {
            if let Err(error) = tokio::fs::rename(&staged, &destination).await {
                let _ = tokio::fs::remove_file(&staged).await;
                return Err(StorageError::Io(error));
            }
            sync_dir(&root).await
        };
        self.finish_detached(completing, path.clone(), stored).await
    }

    /// Completes the upload in a task of its own, so completing cannot stop half-way when
    /// the caller goes away (an S3 multipart upload left neither completed nor aborted). If
    /// the caller is gone by the time the object exists, nobody will ever record it, so it
    /// is removed again.
    async fn finish_detached(
        &self,
        completing: impl Future<Output = Result<(), StorageError>> + Send + 'static,
        path: Path,
        stored: Stored,
    ) -> Result<Stored, StorageError> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        let storage = self.clone();
        tokio::spawn(async move {
            let result = completing.await.map(|()| stored);
            if let Err(Ok(_)) = done.send(result) {
                tracing::warn!("the caller left before the object was complete; removing it");
                if let Err(error) = storage.delete(&path).await {
                    tracing::warn!(%error, "removing an unclaimed object failed");
                }
            }
        });
        let stored = outcome
            .await
            .map_err(|_| StorageError::MalformedStream("the upload task ended early"))??;
        tracing::info!(size = stored.size, "object stored");
        Ok(stored)
    }

    /// Streams the object, or the bytes `range` of it, in chunks of about
    /// [`READ_CHUNK_BYTES`].
    #[tracing::instrument(skip(self), fields(key = %path))]
    pub async fn get(
        &self,
        path: &Path,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, Result<Bytes, StorageError>>, StorageError> {
        if let Some(range) = &range
            && range.start >= range.end
        {
            return Err(StorageError::InvalidRange {
                start: range.start,
                end: range.end,
            });
        }
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self.store.get_opts(path, options).await?;
        let served = result.range.clone();
        match result.payload {
            // The generic file stream reads 8 KiB at a time; read large chunks instead.
            GetResultPayload::File(file, _) => {
                let mut file = tokio::fs::File::from_std(file);
                file.seek(std::io::SeekFrom::Start(served.start))
                    .await
                    .map_err(StorageError::Io)?;
                let reader = file.take(served.end - served.start);
                Ok(ReaderStream::with_capacity(reader, READ_CHUNK_BYTES)
                    .map_err(StorageError::Io)
                    .boxed())
            }
            GetResultPayload::Stream(stream) => Ok(stream.map_err(StorageError::from).boxed()),
        }
    }

    /// The user metadata kept with the object (decoded), empty where the backend keeps
    /// none (local disk).
    pub async fn metadata(&self, path: &Path) -> Result<Vec<(String, String)>, StorageError> {
        if self.local_root.is_some() {
            return Ok(Vec::new());
        }
        let options = GetOptions {
            head: true,
            ..GetOptions::default()
        };
        let result = self.store.get_opts(path, options).await?;
        Ok(result
            .attributes
            .iter()
            .filter_map(|(attribute, value)| match attribute {
                Attribute::Metadata(name) => {
                    let value = percent_encoding::percent_decode_str(value.as_ref())
                        .decode_utf8_lossy()
                        .into_owned();
                    Some((name.to_string(), value))
                }
                _ => None,
            })
            .collect())
    }

    #[tracing::instrument(skip(self), fields(key = %path))]
    pub async fn head(&self, path: &Path) -> Result<object_store::ObjectMeta, StorageError> {
        Ok(self.store.head(path).await?)
    }

    /// Every object as it is listed: keys of one segment, without the local backend's
    /// hidden directories (staging) and writes in progress (`#` files).
    pub fn list(&self) -> BoxStream<'static, Result<object_store::ObjectMeta, StorageError>> {
        self.store
            .list(None)
            .map_err(StorageError::from)
            .try_filter(|meta| {
                let key = meta.location.as_ref();
                let object = !key.contains('/') && !key.starts_with('.') && !key.contains('#');
                std::future::ready(object)
            })
            .boxed()
    }

    /// Removes the object and anything a crashed upload left of it; a missing object
    /// counts as removed.
    #[tracing::instrument(skip(self), fields(key = %path))]
    pub async fn delete(&self, path: &Path) -> Result<(), StorageError> {
        match self.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(error) => return Err(error.into()),
        }
        if let Some(root) = &self.local_root {
            remove_staging_files(root, path.as_ref()).await?;
        }
        Ok(())
    }
}

impl ObjectStorage {
    /// A URL that GETs `path` from the backend for `expires_in`, answered with the given
    /// type and disposition (S3's `response-content-*` parameters, which are signed too).
    pub async fn presign(
        &self,
        path: &Path,
        expires_in: std::time::Duration,
        content_type: &str,
        content_disposition: &str,
    ) -> Result<String, StorageError> {
        let signer = self
            .signer
            .as_ref()
            .ok_or(StorageError::PresignUnsupported)?;
        let mut query = Vec::new();
        if !content_type.is_empty() {
            query.push(("response-content-type", content_type));
        }
        if !content_disposition.is_empty() {
            query.push(("response-content-disposition", content_disposition));
        }
        let options = SignedUrlOptions::new().with_query(query);
        let url = signer
            .signed_url_opts(
                tonic::codegen::http::Method::GET,
                path,
                expires_in,
                &options,
            )
            .await?;
        Ok(url.to_string())
    }

    /// Removes unfinished writes started more than `older_than` ago: multipart uploads on
    /// S3 (but those `in_use` by resumable uploads), `{key}#n` files on local disk, of
    /// keys that begin with `prefix`. How many it removed.
    pub async fn abort_stale_writes(
        &self,
        older_than: std::time::Duration,
        prefix: &str,
        in_use: &std::collections::HashSet<String>,
    ) -> Result<u64, StorageError> {
        if let Some(s3) = &self.s3 {
            let age = chrono::Duration::from_std(older_than).unwrap_or(chrono::Duration::MAX);
            let cutoff = chrono::Utc::now()
                .checked_sub_signed(age)
                .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
            return crate::stale::abort_uploads_before(s3, cutoff, prefix, in_use).await;
        }
        if let Some(root) = &self.local_root {
            let cutoff = std::time::SystemTime::now()
                .checked_sub(older_than)
                .unwrap_or(std::time::UNIX_EPOCH);
            return crate::stale::remove_local_writes_before(root, cutoff, prefix).await;
        }
        Ok(0)
    }

    /// Whether objects go up part by part (S3), so that resumable uploads send their
    /// parts as they arrive; on local disk they are renamed into place instead.
    pub fn has_parts(&self) -> bool {
        self.s3.is_some()
    }

    /// The size of every part but the last.
    pub fn part_size(&self) -> u64 {
        self.part_size as u64
    }

    fn parts_backend(&self) -> Result<&Arc<AmazonS3>, StorageError> {
        self.s3.as_ref().ok_or(StorageError::MalformedStream(
            "this backend has no multipart uploads",
        ))
    }

    /// Starts a multipart upload of `path` with the object's type and metadata; its id.
    pub async fn create_parts(
        &self,
        path: &Path,
        content_type: &str,
        metadata: &[(String, String)],
    ) -> Result<String, StorageError> {
        let options = self.put_options(content_type, metadata);
        Ok(self
            .parts_backend()?
            .create_multipart_opts(path, options)
            .await?)
    }

    /// Uploads part `index` (0-based) of a multipart upload; its ETag.
    pub async fn put_part(
        &self,
        path: &Path,
        upload_id: &str,
        index: usize,
        bytes: Bytes,
    ) -> Result<String, StorageError> {
        let id = upload_id.to_owned();
        let part = self
            .parts_backend()?
            .put_part(path, &id, index, bytes.into())
            .await?;
        Ok(part.content_id)
    }

    /// Makes the parts, in order, the object.
    pub async fn complete_parts(
        &self,
        path: &Path,
        upload_id: &str,
        etags: &[String],
    ) -> Result<(), StorageError> {
        let id = upload_id.to_owned();
        let parts = etags
            .iter()
            .map(|etag| PartId {
                content_id: etag.clone(),
            })
            .collect();
        self.parts_backend()?
            .complete_multipart(path, &id, parts)
            .await?;
        Ok(())
    }

    /// Aborts a multipart upload; one already gone is fine.
    pub async fn abort_parts(&self, path: &Path, upload_id: &str) -> Result<(), StorageError> {
        let id = upload_id.to_owned();
        match self.parts_backend()?.abort_multipart(path, &id).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Multipart uploads in progress on the S3 backend for keys that begin with `prefix`;
    /// none elsewhere.
    pub async fn incomplete_uploads(
        &self,
        prefix: &str,
    ) -> Result<Vec<crate::stale::IncompleteUpload>, StorageError> {
        match &self.s3 {
            Some(s3) => crate::stale::incomplete_uploads(s3, prefix).await,
            None => Ok(Vec::new()),
        }
    }
}

fn s3_store(config: &Config, endpoint: Option<&str>) -> anyhow::Result<AmazonS3> {
    let bucket = config
        .s3_bucket
        .as_deref()
        .filter(|bucket| !bucket.is_empty())
        .ok_or_else(|| anyhow::anyhow!("FLOWSVAULT_S3_BUCKET is required for the s3 backend"))?;
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_region(&config.s3_region)
        .with_allow_http(config.s3_allow_http)
        .with_virtual_hosted_style_request(config.s3_virtual_hosted);
    if let Some(endpoint) = endpoint.filter(|e| !e.is_empty()) {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(key_id) = config.s3_access_key_id.as_deref().filter(|k| !k.is_empty()) {
        builder = builder.with_access_key_id(key_id);
    }
    if let Some(secret) = config.s3_secret_access_key()? {
        builder = builder.with_secret_access_key(secret);
    }
    Ok(builder.build()?)
}

/// The chunks of a put stream. It ends after a `finish` with the number of bytes that
/// came, and fails if the stream breaks, ends without `finish` or declares another size.
fn put_chunks(
    mut incoming: impl Stream<Item = Result<Incoming, StorageError>> + Unpin + Send,
) -> impl Stream<Item = Result<Bytes, StorageError>> + Unpin + Send {
    Box::pin(async_stream::try_stream! {
        let mut received: u64 = 0;
        loop {
            match incoming.next().await {
                Some(Ok(Incoming::Chunk(bytes))) => {
                    received += bytes.len() as u64;
                    yield bytes;
                }
                Some(Ok(Incoming::Finish { size })) if size == received => break,
                Some(Ok(Incoming::Finish { size })) => Err(StorageError::SizeMismatch {
                    declared: size,
                    received,
                })?,
                Some(Err(error)) => Err(error)?,
                None => Err(StorageError::MalformedStream("stream ended without finish"))?,
            }
        }
    })
}

/// Creates the file an upload to `key` is written to before it is renamed into place:
/// `{key}#{n}` with the lowest free n, as `object_store`'s local backend names its own.
async fn create_staging_file(
    root: &std::path::Path,
    key: &str,
) -> Result<(std::path::PathBuf, OutputFile), StorageError> {
    for attempt in 1..=MOST_CONCURRENT_ATTEMPTS {
        let staged = root.join(format!("{key}#{attempt}"));
        let opening = staged.clone();
        let opened = tokio::task::spawn_blocking(move || OutputFile::open(&opening, true))
            .await
            .map_err(|_| StorageError::MalformedStream("the open task ended early"))?;
        match opened {
            Ok(file) => return Ok((staged, file)),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(StorageError::Io(error)),
        }
    }
    Err(StorageError::Io(std::io::Error::other(
        "too many uploads to the same key at once",
    )))
}

/// The local backend writes an upload to `{key}#{n}` (n = 1, 2, … the lowest free) and
/// renames it on completion. A process killed mid-upload leaves that file behind; it is
/// removed when the key is deleted, which the janitor does for every failed upload.
async fn remove_staging_files(root: &std::path::Path, key: &str) -> Result<(), StorageError> {
    let mut misses = 0;
    for attempt in 1..=MOST_CONCURRENT_ATTEMPTS {
        match tokio::fs::remove_file(root.join(format!("{key}#{attempt}"))).await {
            Ok(()) => {
                misses = 0;
                tracing::info!(
                    attempt,
                    "removed a staging file left by an interrupted upload"
                );
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                // Numbers are taken lowest first; a few gaps mean there is nothing above.
                misses += 1;
                if misses == 4 {
                    break;
                }
            }
            Err(error) => return Err(StorageError::Io(error)),
        }
    }
    Ok(())
}

/// Aborts a multipart upload whose put was dropped half-way (the caller went away),
/// so no staging data or parts are left behind.
struct AbortOnDrop(Option<WriteMultipart>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(parts) = self.0.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                if let Err(error) = parts.abort().await {
                    tracing::warn!(%error, "aborting a dropped upload failed");
                }
            });
        }
    }
}
