//! Writing a stream of bytes to a local file without holding up the stream. The bytes are
//! gathered into pieces of a mebibyte and handed through a short queue to a blocking
//! thread, which hashes and writes them; receiving the next bytes overlaps writing the
//! last ones, and memory stays at a few pieces whatever the length. What has been
//! written is synced in the background as it goes, so the sync at the end has little
//! left to do.

use std::{path::Path, sync::Arc};

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::{sync::mpsc, task::JoinHandle};

use crate::error::StorageError;

/// A background sync of what was written starts each time this much more was written.
const SYNC_EVERY_BYTES: u64 = 16 * 1024 * 1024;
/// The file is written in pieces of this size,
const WRITE_BYTES: usize = 1024 * 1024;
/// with at most this many pieces waiting for the writer.
const WRITES_IN_FLIGHT: usize = 4;

/// The SHA-256 of the first `length` bytes of a file.
#[derive(Debug, Clone)]
pub(crate) struct RunningDigest {
    pub(crate) length: u64,
    pub(crate) hasher: Sha256,
}

impl RunningDigest {
    pub(crate) fn new() -> Self {
        Self {
            length: 0,
            hasher: Sha256::new(),
        }
    }
}

/// Writes to an open file from where its cursor is, and hashes what it writes into the
/// digest it carries, if any.
struct FileWriter {
    pieces: mpsc::Sender<Bytes>,
    pending: BytesMut,
    writer: JoinHandle<std::io::Result<Option<RunningDigest>>>,
}

impl FileWriter {
    fn start(file: std::fs::File, digest: Option<RunningDigest>) -> Self {
        let (pieces, mut queue) = mpsc::channel::<Bytes>(WRITES_IN_FLIGHT);
        let writer = tokio::task::spawn_blocking(move || write_pieces(file, &mut queue, digest));
        Self {
            pieces,
            pending: BytesMut::with_capacity(WRITE_BYTES),
            writer,
        }
    }

    /// Queues `bytes`, waiting while the queue is full. False once the writer has
    /// stopped; [`FileWriter::finish`] then tells why.
    async fn write(&mut self, bytes: &[u8]) -> bool {
        self.pending.extend_from_slice(bytes);
        if self.pending.len() < WRITE_BYTES {
            return true;
        }
        let piece = std::mem::replace(&mut self.pending, BytesMut::with_capacity(WRITE_BYTES));
        self.pieces.send(piece.freeze()).await.is_ok()
    }

    /// Writes what is still pending and syncs the file: every byte queued is then on
    /// disk. Returns the digest carried, now including those bytes.
    async fn finish(mut self) -> Result<Option<RunningDigest>, StorageError> {
        if !self.pending.is_empty() {
            // A writer that stopped says why below.
            let _ = self.pieces.send(self.pending.split().freeze()).await;
        }
        drop(self.pieces);
        self.writer
            .await
            .map_err(|_| StorageError::MalformedStream("the write task ended early"))?
            .map_err(StorageError::Io)
    }
}

/// Writes `chunks` to `file` through a [`FileWriter`] until they end or fail, and syncs.
/// Returns how many bytes came, the digest carried, and the failure of the stream if it
/// broke: the bytes that came before it are written all the same.
pub(crate) async fn write_stream(
    file: std::fs::File,
    digest: Option<RunningDigest>,
    mut chunks: impl Stream<Item = Result<Bytes, StorageError>> + Unpin,
) -> Result<(u64, Option<RunningDigest>, Option<StorageError>), StorageError> {
    let mut writer = FileWriter::start(file, digest);
    let mut length = 0;
    let mut failure = None;
    while let Some(chunk) = chunks.next().await {
        match chunk {
            Ok(bytes) => {
                length += bytes.len() as u64;
                if !writer.write(&bytes).await {
                    // The writer stopped: `finish` says why.
                    break;
                }
            }
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }
    let digest = writer.finish().await?;
    Ok((length, digest, failure))
}

/// The blocking side of [`FileWriter`]: writes each piece, hashes it when a digest is
/// carried, starts a background sync every [`SYNC_EVERY_BYTES`], and syncs at the end.
fn write_pieces(
    mut file: std::fs::File,
    queue: &mut mpsc::Receiver<Bytes>,
    mut digest: Option<RunningDigest>,
) -> std::io::Result<Option<RunningDigest>> {
    use std::io::Write;
    let syncer = Arc::new(file.try_clone()?);
    let mut syncing: Option<JoinHandle<std::io::Result<()>>> = None;
    let mut unsynced = 0;
    while let Some(piece) = queue.blocking_recv() {
        if let Some(digest) = digest.as_mut() {
            digest.hasher.update(&piece);
            digest.length += piece.len() as u64;
        }
        file.write_all(&piece)?;
        unsynced += piece.len() as u64;
        if unsynced >= SYNC_EVERY_BYTES && syncing.as_ref().is_none_or(|task| task.is_finished()) {
            let syncer = Arc::clone(&syncer);
            syncing = Some(tokio::task::spawn_blocking(move || syncer.sync_data()));
            unsynced = 0;
        }
    }
    // Whether the last background sync finished does not matter: this one covers every
    // byte.
    file.sync_data()?;
    Ok(digest)
}

/// Makes a rename in `dir` durable.
pub(crate) async fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
        .await
        .map_err(|_| StorageError::MalformedStream("the sync task ended early"))?
        .map_err(StorageError::Io)
}
