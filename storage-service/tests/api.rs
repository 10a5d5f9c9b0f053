//! storage-service on port 0 over a temporary directory, driven through its gRPC API.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is a failed test with its location"
)]

use std::future::pending;

use bytes::Bytes;
use flowsvault_kit::grpc;
use flowsvault_proto::{
    ErrorCode,
    storage::v1::{
        ByteRange, DeleteRequest, GetRequest, HeadRequest, PutFinish, PutHeader, PutRequest,
        PutResponse, put_request::Message, storage_service_client::StorageServiceClient,
    },
};
use flowsvault_storage_service::{
    config::{Backend, Config},
    startup::Application,
};
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tonic::transport::Channel;

struct TestApp {
    client: StorageServiceClient<Channel>,
    root: TempDir,
}

async fn spawn_app() -> TestApp {
    flowsvault_kit::telemetry::init_for_tests();
    let root = tempfile::tempdir().unwrap();
    let application = Application::build(Config {
        listen_addr: "127.0.0.1:0".into(),
        backend: Backend::Local,
        root: root.path().to_path_buf(),
        part_size: 5 * 1024 * 1024,
        parts_in_flight: 2,
    })
    .await
    .unwrap();
    let port = application.port();
    tokio::spawn(application.run_until_stopped(pending()));
    let channel = grpc::channel(&format!("http://127.0.0.1:{port}")).unwrap();
    TestApp {
        client: StorageServiceClient::new(channel)
            .max_decoding_message_size(grpc::MAX_MESSAGE_BYTES),
        root,
    }
}

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

    /// Every file under the root, staging files included.
    fn files_on_disk(&self) -> Vec<String> {
        std::fs::read_dir(self.root.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }
}

#[tokio::test]
async fn an_object_spanning_several_parts_round_trips_with_its_digest() {
    let app = spawn_app().await;
    let bytes = content(12 * 1024 * 1024 + 5);
    let stored = app.put_bytes("big.bin", &bytes).await;
    assert_eq!(stored.size, bytes.len() as u64);
    assert_eq!(stored.sha256, hex::encode(Sha256::digest(&bytes)));
    assert_eq!(app.head("big.bin").await.unwrap(), bytes.len() as u64);
    assert_eq!(app.get("big.bin", None).await.unwrap(), bytes);
    assert_eq!(app.files_on_disk(), ["big.bin"]);
}

#[tokio::test]
async fn a_byte_range_returns_exactly_those_bytes() {
    let app = spawn_app().await;
    let bytes = content(1_000_000);
    app.put_bytes("range.bin", &bytes).await;
    let slice = app
        .get(
            "range.bin",
            Some(ByteRange {
                start: 300_000,
                end: 700_001,
            }),
        )
        .await
        .unwrap();
    assert_eq!(slice, &bytes[300_000..700_001]);
    let empty_range = app
        .get("range.bin", Some(ByteRange { start: 5, end: 5 }))
        .await
        .unwrap_err();
    assert_eq!(
        ErrorCode::of_status(&empty_range),
        ErrorCode::InvalidRequest
    );
}

#[tokio::test]
async fn an_empty_object_is_stored() {
    let app = spawn_app().await;
    let stored = app.put_bytes("empty", &[]).await;
    assert_eq!(stored.size, 0);
    assert_eq!(app.get("empty", None).await.unwrap(), Vec::<u8>::new());
}

#[tokio::test]
async fn a_stream_that_ends_without_finish_leaves_no_object() {
    let app = spawn_app().await;
    let bytes = content(6 * 1024 * 1024);
    let refused = app
        .put(vec![header("cut.bin"), chunk(&bytes)])
        .await
        .unwrap_err();
    assert_eq!(ErrorCode::of_status(&refused), ErrorCode::InvalidRequest);
    assert_eq!(
        ErrorCode::of_status(&app.head("cut.bin").await.unwrap_err()),
        ErrorCode::NotFound
    );
    assert!(app.files_on_disk().is_empty(), "{:?}", app.files_on_disk());
}

#[tokio::test]
async fn a_finish_with_the_wrong_size_leaves_no_object() {
    let app = spawn_app().await;
    let refused = app
        .put(vec![header("short.bin"), chunk(b"abc"), finish(4)])
        .await
        .unwrap_err();
    assert_eq!(ErrorCode::of_status(&refused), ErrorCode::InvalidRequest);
    assert!(app.files_on_disk().is_empty());
}

#[tokio::test]
async fn a_caller_that_goes_away_mid_stream_leaves_no_object() {
    let app = spawn_app().await;
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    sender.send(header("gone.bin")).await.unwrap();
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
        if app.files_on_disk().is_empty() {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(gone, "left behind: {:?}", app.files_on_disk());
}

#[tokio::test]
async fn malformed_streams_and_keys_are_invalid_requests() {
    let app = spawn_app().await;
    let no_header = app.put(vec![chunk(b"x"), finish(1)]).await.unwrap_err();
    assert_eq!(ErrorCode::of_status(&no_header), ErrorCode::InvalidRequest);
    let two_headers = app
        .put(vec![header("a"), header("a"), finish(0)])
        .await
        .unwrap_err();
    assert_eq!(
        ErrorCode::of_status(&two_headers),
        ErrorCode::InvalidRequest
    );
    for key in ["", "../escape", "a/../b", "stage#1", "a//b", "dir/file"] {
        let refused = app.put(vec![header(key), finish(0)]).await.unwrap_err();
        assert_eq!(
            ErrorCode::of_status(&refused),
            ErrorCode::InvalidRequest,
            "{key:?}"
        );
    }
    assert!(app.files_on_disk().is_empty());
}

#[tokio::test]
async fn delete_is_idempotent_and_missing_objects_are_not_found() {
    let app = spawn_app().await;
    app.put_bytes("doomed", b"bye").await;
    for _ in 0..2 {
        app.client
            .clone()
            .delete(DeleteRequest {
                key: "doomed".into(),
            })
            .await
            .unwrap();
    }
    let missing = app.get("doomed", None).await.unwrap_err();
    assert_eq!(ErrorCode::of_status(&missing), ErrorCode::NotFound);
    assert!(app.files_on_disk().is_empty());
}

#[tokio::test]
async fn deleting_a_key_removes_what_a_killed_upload_left_of_it() {
    let app = spawn_app().await;
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
    assert_eq!(app.files_on_disk(), ["other.bin#1"]);
}
