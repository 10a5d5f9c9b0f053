//! The janitor against real file-service and storage-service instances.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is a failed test with its location"
)]

use std::future::pending;

use bytes::Bytes;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use flowsvault_janitor::pass::{Janitor, PassReport, PassSettings};
use flowsvault_kit::{database::create_test_database, grpc};
use flowsvault_proto::{
    FileDuration,
    files::v1::{BeginUploadRequest, File, file_service_client::FileServiceClient},
    storage::v1::{
        PutFinish, PutHeader, PutRequest, put_request::Message,
        storage_service_client::StorageServiceClient,
    },
};
use tempfile::TempDir;

struct TestApp {
    files_url: String,
    storage_url: String,
    database_url: String,
    objects: TempDir,
}

async fn spawn_app() -> TestApp {
    flowsvault_kit::telemetry::init_for_tests();
    let server = std::env::var("FLOWSVAULT_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let database_url = create_test_database(&server, "fv_test").await.unwrap();
    let files = flowsvault_file_service::startup::Application::build(
        flowsvault_file_service::config::Config {
            listen_addr: "127.0.0.1:0".into(),
            database_url: Some(database_url.clone()),
            database_pool_size: 4,
        },
    )
    .await
    .unwrap();
    let files_url = format!("http://127.0.0.1:{}", files.port());
    tokio::spawn(files.run_until_stopped(pending()));
    let objects = tempfile::tempdir().unwrap();
    let storage = flowsvault_storage_service::startup::Application::build(
        flowsvault_storage_service::config::Config::local_on_any_port(objects.path().to_path_buf()),
    )
    .await
    .unwrap();
    let storage_url = format!("http://127.0.0.1:{}", storage.port());
    tokio::spawn(storage.run_until_stopped(pending()));
    TestApp {
        files_url,
        storage_url,
        database_url,
        objects,
    }
}

impl TestApp {
    fn janitor(&self, storage_url: &str) -> Janitor {
        Janitor::new(
            grpc::channel(&self.files_url).unwrap(),
            grpc::channel(storage_url).unwrap(),
            PassSettings {
                batch: 2,
                stale_upload_secs: 3600,
                lease_secs: 300,
            },
        )
    }

    /// A pending row and its complete object: what a gateway that crashed between
    /// storing the bytes and completing the row leaves behind.
    async fn orphaned_upload(&self, name: &str) -> File {
        let mut files = FileServiceClient::new(grpc::channel(&self.files_url).unwrap());
        let file = files
            .begin_upload(BeginUploadRequest {
                user_id: uuid::Uuid::new_v4().to_string(),
                original_name: name.into(),
                mime_type: "text/plain".into(),
                duration: FileDuration::Unlimited.to_proto() as i32,
                idempotency_key: None,
            })
            .await
            .unwrap()
            .into_inner();
        let mut storage = StorageServiceClient::new(grpc::channel(&self.storage_url).unwrap());
        let messages = vec![
            PutRequest {
                message: Some(Message::Header(PutHeader {
                    key: file.file_name.clone(),
                    content_type: "text/plain".into(),
                    metadata: Default::default(),
                })),
            },
            PutRequest {
                message: Some(Message::Chunk(Bytes::from_static(b"12345"))),
            },
            PutRequest {
                message: Some(Message::Finish(PutFinish { size: 5 })),
            },
        ];
        storage.put(tokio_stream::iter(messages)).await.unwrap();
        file
    }

    async fn age_pending_rows(&self) {
        let mut connection = AsyncPgConnection::establish(&self.database_url)
            .await
            .unwrap();
        diesel::sql_query(
            "UPDATE file_metadata SET created_at = now() - interval '2 hours' \
             WHERE status = 'pending'",
        )
        .execute(&mut connection)
        .await
        .unwrap();
    }

    fn objects_on_disk(&self) -> usize {
        std::fs::read_dir(self.objects.path())
            .unwrap()
            .filter(|entry| {
                !entry
                    .as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count()
    }
}

#[tokio::test]
async fn a_pass_removes_the_objects_of_abandoned_uploads_in_batches() {
    let app = spawn_app().await;
    for name in ["a.txt", "b.txt", "c.txt"] {
        app.orphaned_upload(name).await;
    }
    let janitor = app.janitor(&app.storage_url);
    // Young pending uploads may still finish: nothing is touched.
    assert_eq!(janitor.run_pass().await.unwrap(), PassReport::default());
    assert_eq!(app.objects_on_disk(), 3);

    app.age_pending_rows().await;
    let report = janitor.run_pass().await.unwrap();
    assert_eq!(report.stale_uploads, 3);
    assert_eq!(report.purged(), 3);
    assert_eq!(report.failures, 0);
    assert_eq!(app.objects_on_disk(), 0);
    assert_eq!(janitor.run_pass().await.unwrap(), PassReport::default());
}

#[tokio::test]
async fn a_failed_removal_is_counted_and_retried_by_a_later_pass() {
    let app = spawn_app().await;
    app.orphaned_upload("stuck.txt").await;
    app.age_pending_rows().await;
    // Nothing listens on port 9: every removal fails.
    let broken = app.janitor("http://127.0.0.1:9");
    let report = broken.run_pass().await.unwrap();
    assert_eq!(report.failures, 1);
    assert_eq!(report.purged(), 0);
    assert_eq!(app.objects_on_disk(), 1);

    // The lease of the failed claim must run out before another janitor takes it.
    let mut connection = AsyncPgConnection::establish(&app.database_url)
        .await
        .unwrap();
    diesel::sql_query("UPDATE file_metadata SET claimed_until = now() - interval '1 second'")
        .execute(&mut connection)
        .await
        .unwrap();
    let report = app.janitor(&app.storage_url).run_pass().await.unwrap();
    assert_eq!(report.purged(), 1);
    assert_eq!(app.objects_on_disk(), 0);
}

#[tokio::test]
async fn a_pass_removes_the_bytes_of_expired_files() {
    let app = spawn_app().await;
    let file = app.orphaned_upload("expiring.txt").await;
    let mut files = FileServiceClient::new(grpc::channel(&app.files_url).unwrap());
    files
        .complete_upload(flowsvault_proto::files::v1::CompleteUploadRequest {
            user_id: file.user_id.clone(),
            id: file.id.clone(),
            size: 5,
            sha256: "5994471abb01112afcc18159f6cc74b4f511b99806da59b3caf5a9c173cacfc5".into(),
            duration: FileDuration::OneHour.to_proto() as i32,
        })
        .await
        .unwrap();
    let janitor = app.janitor(&app.storage_url);
    assert_eq!(janitor.run_pass().await.unwrap(), PassReport::default());
    assert_eq!(app.objects_on_disk(), 1);

    let mut connection = AsyncPgConnection::establish(&app.database_url)
        .await
        .unwrap();
    diesel::sql_query("UPDATE file_metadata SET expires_at = now() - interval '1 second'")
        .execute(&mut connection)
        .await
        .unwrap();
    let report = janitor.run_pass().await.unwrap();
    assert_eq!(
        report,
        PassReport {
            expired_files: 1,
            bytes_freed: 5,
            ..PassReport::default()
        }
    );
    assert_eq!(app.objects_on_disk(), 0);
}
