//! storage-service on port 0 over a temporary directory, driven through its gRPC API.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is a failed test with its location"
)]

use std::{future::pending, sync::Arc};

use bytes::Bytes;
use flowsvault_kit::grpc;
use flowsvault_proto::{
    ErrorCode,
    storage::v1::{
        AbortStaleWritesRequest, AppendHeader, AppendRequest, ByteRange, CommitRequest,
        DeleteRequest, GetRequest, HeadRequest, PutFinish, PutHeader, PutRequest, PutResponse,
        append_request, put_request::Message, storage_service_client::StorageServiceClient,
    },
};
use flowsvault_storage_service::{
    config::{Backend, Config},
    startup::Application,
    store::ObjectStorage,
};
use futures_util::StreamExt;
use object_store::{ObjectStore, ObjectStoreExt, aws::AmazonS3Builder};
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tonic::transport::Channel;

struct TestApp {
    client: StorageServiceClient<Channel>,
    root: TempDir,
    backend: Backend,
    /// Every key of a test starts with it, so tests can share one bucket.
    prefix: String,
    /// The same bucket, read directly, to see what is really stored.
    bucket: Option<Arc<dyn ObjectStore>>,
    /// The service's own view of the backend, for multipart uploads in progress.
    storage: ObjectStorage,
}

fn s3_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is unset: run `make test`, which starts the S3 server the tests use")
    })
}

fn s3_config(config: &mut Config) {
    config.s3_endpoint = Some(s3_env("FLOWSVAULT_S3_ENDPOINT"));
    config.s3_bucket = Some(s3_env("FLOWSVAULT_S3_BUCKET"));
    config.s3_region = s3_env("FLOWSVAULT_S3_REGION");
    config.s3_allow_http = true;
}

async fn spawn_app(backend: Backend) -> TestApp {
    flowsvault_kit::telemetry::init_for_tests();
    let root = tempfile::tempdir().unwrap();
    let mut config = Config {
        backend,
        part_size: 5 * 1024 * 1024,
        ..Config::local_on_any_port(root.path().to_path_buf())
    };
    let bucket: Option<Arc<dyn ObjectStore>> = match backend {
        Backend::Local => None,
        Backend::S3 => {
            s3_config(&mut config);
            let store = AmazonS3Builder::from_env()
                .with_endpoint(config.s3_endpoint.clone().unwrap())
                .with_bucket_name(config.s3_bucket.clone().unwrap())
                .with_region(config.s3_region.clone())
                .with_allow_http(true)
                .build()
                .unwrap();
            Some(Arc::new(store))
        }
    };
    let storage = ObjectStorage::from_config(&config).unwrap();
    let application = Application::build(config).await.unwrap();
    let port = application.port();
    tokio::spawn(application.run_until_stopped(pending()));
    let channel = grpc::channel(&format!("http://127.0.0.1:{port}")).unwrap();
    TestApp {
        client: StorageServiceClient::new(channel)
            .max_decoding_message_size(grpc::MAX_MESSAGE_BYTES),
        root,
        backend,
        prefix: format!("t{}", uuid::Uuid::new_v4().simple()),
        bucket,
        storage,
    }
}

/// Runs each scenario against local disk and against the real S3 server.
macro_rules! on_every_backend {
    ($($scenario:ident),+ $(,)?) => {
        mod local {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::spawn_app(super::Backend::Local).await).await;
                }
            )+
        }
        mod s3 {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::spawn_app(super::Backend::S3).await).await;
                }
            )+
        }
    };
}

on_every_backend!(
    an_object_spanning_several_parts_round_trips_with_its_digest,
    a_byte_range_returns_exactly_those_bytes,
    an_empty_object_is_stored,
    a_stream_that_ends_without_finish_leaves_no_object,
    a_finish_with_the_wrong_size_leaves_no_object,
    a_caller_that_goes_away_mid_stream_leaves_no_object,
    malformed_streams_and_keys_are_invalid_requests,
    delete_is_idempotent_and_missing_objects_are_not_found,
    a_write_a_killed_service_left_is_removed_once_stale,
    commits_of_one_upload_at_once_make_one_object,
);

fn header(key: &str) -> PutRequest {
    PutRequest {
        message: Some(Message::Header(PutHeader {
            key: key.into(),
            content_type: "application/octet-stream".into(),
            metadata: Default::default(),
        })),
    }
}

fn chunk(bytes: &[u8]) -> PutRequest {
    PutRequest {
        message: Some(Message::Chunk(Bytes::copy_from_slice(bytes))),
    }
}

fn finish(size: u64) -> PutRequest {
    PutRequest {
        message: Some(Message::Finish(PutFinish { size })),
    }
}

fn content(length: usize) -> Vec<u8> {
    (0..length).map(|index| (index * 31 % 251) as u8).collect()
}

impl TestApp {
    async fn put(&self, messages: Vec<PutRequest>) -> Result<PutResponse, tonic::Status> {
        self.client
            .clone()
            .put(tokio_stream::iter(messages))
            .await
            .map(tonic::Response::into_inner)
    }

    async fn put_bytes(&self, key: &str, bytes: &[u8]) -> PutResponse {
        let mut messages = vec![header(key)];
        messages.extend(bytes.chunks(1024 * 1024).map(chunk));
        messages.push(finish(bytes.len() as u64));
        self.put(messages).await.unwrap()
    }

    async fn get(&self, key: &str, range: Option<ByteRange>) -> Result<Vec<u8>, tonic::Status> {
        let mut stream = self
            .client
            .clone()
            .get(GetRequest {
                key: key.into(),
                range,
            })
            .await?
            .into_inner();
        let mut bytes = Vec::new();
        while let Some(message) = stream.message().await? {
            bytes.extend_from_slice(&message.chunk);
        }
        Ok(bytes)
    }

    async fn head(&self, key: &str) -> Result<u64, tonic::Status> {
        self.client
            .clone()
            .head(HeadRequest { key: key.into() })
            .await
            .map(|response| response.into_inner().size)
    }

    fn key(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    /// What this test has stored: the names (without the test's prefix) of the objects
    /// in the bucket and of its multipart uploads in progress (listed on the S3 server),
    /// or of every file under the local root, staging files included.
    async fn stored(&self) -> Vec<String> {
        let mut names: Vec<String> = match (&self.backend, &self.bucket) {
            (Backend::S3, Some(bucket)) => {
                let mut names = bucket
                    .list(None)
                    .map(|meta| meta.unwrap().location.to_string())
                    .collect::<Vec<_>>()
                    .await;
                let incomplete = self.storage.incomplete_uploads(&self.prefix).await.unwrap();
                names.extend(
                    incomplete
                        .into_iter()
                        .map(|upload| format!("{} (incomplete multipart upload)", upload.key)),
                );
                names
            }
            _ => std::fs::read_dir(self.root.path())
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect(),
        };
        names.retain(|name| name.starts_with(&self.prefix));
        names
            .iter()
            .map(|name| name[self.prefix.len() + 1..].to_owned())
            .collect()
    }
}

/// A commit can outlive its caller (the gateway gives up after its deadline and tries
/// again): commits of one staged upload that overlap run one after the other, and every
/// one answers with the same object, made once from every byte.
async fn commits_of_one_upload_at_once_make_one_object(app: TestApp) {
    let key = app.key("resumed.bin");
    let bytes = content(12 * 1024 * 1024 + 5);
    let messages = [AppendRequest {
        message: Some(append_request::Message::Header(AppendHeader {
            key: key.clone(),
            offset: 0,
            content_type: "application/octet-stream".into(),
            metadata: Default::default(),
        })),
    }]
    .into_iter()
    .chain(bytes.chunks(1024 * 1024).map(|chunk| AppendRequest {
        message: Some(append_request::Message::Chunk(Bytes::copy_from_slice(
            chunk,
        ))),
    }));
    let staged = app
        .client
        .clone()
        .append(tokio_stream::iter(messages.collect::<Vec<_>>()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(staged.length, bytes.len() as u64);
    let commit = || {
        let mut client = app.client.clone();
        let request = CommitRequest {
            key: key.clone(),
            content_type: "application/octet-stream".into(),
            metadata: Default::default(),
            length: bytes.len() as u64,
        };
        async move {
            client
                .commit(request)
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let answers = futures_util::future::join_all((0..4).map(|_| commit())).await;
    let digest = hex::encode(Sha256::digest(&bytes));
    for answer in answers {
        let stored = answer.unwrap();
        assert_eq!(
            (stored.size, stored.sha256.as_str()),
            (bytes.len() as u64, digest.as_str())
        );
    }
    assert_eq!(app.get(&key, None).await.unwrap(), bytes);
    assert_eq!(app.stored().await, ["resumed.bin"]);
}

async fn an_object_spanning_several_parts_round_trips_with_its_digest(app: TestApp) {
    let key = app.key("big.bin");
    let bytes = content(12 * 1024 * 1024 + 5);
    let stored = app.put_bytes(&key, &bytes).await;
    assert_eq!(stored.size, bytes.len() as u64);
    assert_eq!(stored.sha256, hex::encode(Sha256::digest(&bytes)));
    assert_eq!(app.head(&key).await.unwrap(), bytes.len() as u64);
    assert_eq!(app.get(&key, None).await.unwrap(), bytes);
    assert_eq!(app.stored().await, ["big.bin"]);
}

async fn a_byte_range_returns_exactly_those_bytes(app: TestApp) {
    let key = app.key("range.bin");
    let bytes = content(1_000_000);
    app.put_bytes(&key, &bytes).await;
    let range = ByteRange {
        start: 300_000,
        end: 700_001,
    };
    let slice = app.get(&key, Some(range)).await.unwrap();
    assert_eq!(slice, &bytes[300_000..700_001]);
    let empty_range = app
        .get(&key, Some(ByteRange { start: 5, end: 5 }))
        .await
        .unwrap_err();
    assert_eq!(
        ErrorCode::of_status(&empty_range),
        ErrorCode::InvalidRequest
    );
}

async fn an_empty_object_is_stored(app: TestApp) {
    let key = app.key("empty");
    let stored = app.put_bytes(&key, &[]).await;
    assert_eq!(stored.size, 0);
    assert_eq!(app.get(&key, None).await.unwrap(), Vec::<u8>::new());
}

async fn a_stream_that_ends_without_finish_leaves_no_object(app: TestApp) {
    let key = app.key("cut.bin");
    let bytes = content(6 * 1024 * 1024);
    let refused = app
        .put(vec![header(&key), chunk(&bytes)])
        .await
        .unwrap_err();
    assert_eq!(ErrorCode::of_status(&refused), ErrorCode::InvalidRequest);
    assert_eq!(
        ErrorCode::of_status(&app.head(&key).await.unwrap_err()),
        ErrorCode::NotFound
    );
    assert!(app.stored().await.is_empty(), "{:?}", app.stored().await);
}

async fn a_finish_with_the_wrong_size_leaves_no_object(app: TestApp) {
    let key = app.key("short.bin");
    let refused = app
        .put(vec![header(&key), chunk(b"abc"), finish(4)])
        .await
        .unwrap_err();
    assert_eq!(ErrorCode::of_status(&refused), ErrorCode::InvalidRequest);
    assert!(app.stored().await.is_empty());
}

async fn a_caller_that_goes_away_mid_stream_leaves_no_object(app: TestApp) {
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    sender.send(header(&app.key("gone.bin"))).await.unwrap();
    sender.send(chunk(&content(1024 * 1024))).await.unwrap();
    let mut client = app.client.clone();
    let call = tokio::spawn(async move {
        client
            .put(tokio_stream::wrappers::ReceiverStream::new(receiver))
            .await
    });
    // Let the first chunk arrive, then abandon the call as a crashed gateway would.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    call.abort();
    drop(sender);
    let mut gone = false;
    for _ in 0..100 {
        if app.stored().await.is_empty() {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(gone, "left behind: {:?}", app.stored().await);
}

async fn malformed_streams_and_keys_are_invalid_requests(app: TestApp) {
    let no_header = app.put(vec![chunk(b"x"), finish(1)]).await.unwrap_err();
    assert_eq!(ErrorCode::of_status(&no_header), ErrorCode::InvalidRequest);
    let key = app.key("a");
    let two_headers = app
        .put(vec![header(&key), header(&key), finish(0)])
        .await
        .unwrap_err();
    assert_eq!(
        ErrorCode::of_status(&two_headers),
        ErrorCode::InvalidRequest
    );
    for name in ["", "../escape", "a/../b", "stage#1", "a//b", "dir/file"] {
        let bad_key = if name.is_empty() {
            String::new()
        } else {
            app.key(name)
        };
        let refused = app
            .put(vec![header(&bad_key), finish(0)])
            .await
            .unwrap_err();
        assert_eq!(
            ErrorCode::of_status(&refused),
            ErrorCode::InvalidRequest,
            "{bad_key:?}"
        );
    }
    assert!(app.stored().await.is_empty());
}

async fn delete_is_idempotent_and_missing_objects_are_not_found(app: TestApp) {
    let key = app.key("doomed");
    app.put_bytes(&key, b"bye").await;
    for _ in 0..2 {
        app.client
            .clone()
            .delete(DeleteRequest { key: key.clone() })
            .await
            .unwrap();
    }
    let missing = app.get(&key, None).await.unwrap_err();
    assert_eq!(ErrorCode::of_status(&missing), ErrorCode::NotFound);
    assert!(app.stored().await.is_empty());
}

async fn a_write_a_killed_service_left_is_removed_once_stale(app: TestApp) {
    let key = app.key("killed.bin");
    // What a storage-service killed mid-upload leaves: on S3 a multipart upload with a
    // part that nobody completes or aborts, on disk a partial `#` file.
    match &app.bucket {
        Some(bucket) => {
            let mut upload = bucket
                .put_multipart(&object_store::path::Path::from(key.as_str()))
                .await
                .unwrap();
            upload
                .put_part(content(5 * 1024 * 1024).into())
                .await
                .unwrap();
            drop(upload);
        }
        None => std::fs::write(app.root.path().join(format!("{key}#1")), b"partial").unwrap(),
    }
    assert_eq!(app.stored().await.len(), 1, "{:?}", app.stored().await);
    let abort = |older_than_secs| {
        let mut client = app.client.clone();
        let key_prefix = app.prefix.clone();
        async move {
            client
                .abort_stale_writes(AbortStaleWritesRequest {
                    older_than_secs,
                    key_prefix,
                })
                .await
                .unwrap()
                .into_inner()
                .removed
        }
    };
    // A write younger than the threshold may belong to an upload still running.
    assert_eq!(abort(3600).await, 0);
    assert_eq!(app.stored().await.len(), 1);
    assert_eq!(abort(0).await, 1);
    assert!(app.stored().await.is_empty(), "{:?}", app.stored().await);
}

#[tokio::test]
async fn deleting_a_key_removes_what_a_killed_upload_left_of_it() {
    let app = spawn_app(Backend::Local).await;
    // What the local backend leaves when the process dies mid-upload.
    std::fs::write(app.root.path().join("crashed.bin#1"), b"partial").unwrap();
    std::fs::write(app.root.path().join("crashed.bin#2"), b"partial").unwrap();
    std::fs::write(app.root.path().join("other.bin#1"), b"someone else's").unwrap();
    app.client
        .clone()
        .delete(DeleteRequest {
            key: "crashed.bin".into(),
        })
        .await
        .unwrap();
    let left: Vec<String> = std::fs::read_dir(app.root.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != ".staging")
        .collect();
    assert_eq!(left, ["other.bin#1"]);
}
