//! file-service against a real PostgreSQL: each test starts the service on port 0 with a
//! fresh database and talks to it over gRPC.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is a failed test with its location"
)]

use std::future::pending;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use flowsvault_file_service::{config::Config, startup::Application};
use flowsvault_kit::{database::create_test_database, grpc};
use flowsvault_proto::{
    ErrorCode, FileDuration,
    files::v1::{
        BeginResumableRequest, BeginUploadRequest, ClaimPurgeableRequest, CompleteUploadRequest,
        DeleteFileRequest, DeleteFilesRequest, FailUploadRequest, File, FileStatus, GetFileRequest,
        LeaseUploadRequest, ListFilesRequest, MarkPurgedRequest, RecordUploadOffsetRequest,
        StatusFilter, UploadSession, file_service_client::FileServiceClient,
    },
};
use tonic::transport::Channel;

const DIGEST: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

struct TestApp {
    client: FileServiceClient<Channel>,
    database_url: String,
    user: String,
}

async fn spawn_app() -> TestApp {
    flowsvault_kit::telemetry::init_for_tests();
    let server = std::env::var("FLOWSVAULT_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let database_url = create_test_database(&server, "fv_test").await.unwrap();
    let application = Application::build(Config {
        listen_addr: "127.0.0.1:0".into(),
        database_url: Some(database_url.clone()),
        database_pool_size: 4,
    })
    .await
    .unwrap();
    let port = application.port();
    tokio::spawn(application.run_until_stopped(pending()));
    let channel = grpc::channel(&format!("http://127.0.0.1:{port}")).unwrap();
    TestApp {
        client: FileServiceClient::new(channel),
        database_url,
        user: uuid::Uuid::new_v4().to_string(),
    }
}

impl TestApp {
    async fn begin(&self, name: &str) -> File {
        self.client
            .clone()
            .begin_upload(BeginUploadRequest {
                user_id: self.user.clone(),
                original_name: name.into(),
                mime_type: "text/plain".into(),
                duration: FileDuration::Unlimited.to_proto() as i32,
                idempotency_key: None,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
    }

    async fn complete(&self, id: &str, duration: FileDuration) -> Result<File, tonic::Status> {
        self.client
            .clone()
            .complete_upload(CompleteUploadRequest {
                user_id: self.user.clone(),
                id: id.into(),
                size: 4,
                sha256: DIGEST.into(),
                duration: duration.to_proto() as i32,
            })
            .await
            .map(tonic::Response::into_inner)
    }

    async fn get(&self, user: &str, id: &str) -> Result<File, tonic::Status> {
        self.client
            .clone()
            .get_file(GetFileRequest {
                user_id: user.into(),
                id: id.into(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// Whether the upload `id`'s lease has a holder.
    async fn leased(&self, id: &str) -> bool {
        #[derive(diesel::QueryableByName)]
        struct Lease {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            held: bool,
        }
        let mut connection = AsyncPgConnection::establish(&self.database_url)
            .await
            .unwrap();
        diesel::sql_query(format!(
            "SELECT lease_holder IS NOT NULL AS held FROM upload_sessions WHERE id = '{id}'"
        ))
        .get_result::<Lease>(&mut connection)
        .await
        .unwrap()
        .held
    }

    async fn run_sql(&self, sql: &str) {
        let mut connection = AsyncPgConnection::establish(&self.database_url)
            .await
            .unwrap();
        diesel::sql_query(sql)
            .execute(&mut connection)
            .await
            .unwrap();
    }

    /// The `total` of the live-file list, from the kept count and (with a filter every
    /// name here matches) from counting the rows.
    async fn totals(&self) -> (u64, u64) {
        let mut totals = [0; 2];
        for (total, query) in totals.iter_mut().zip([None, Some("file".to_owned())]) {
            *total = self
                .client
                .clone()
                .list_files(ListFilesRequest {
                    user_id: self.user.clone(),
                    query,
                    ..ListFilesRequest::default()
                })
                .await
                .unwrap()
                .into_inner()
                .total;
        }
        (totals[0], totals[1])
    }

    async fn claim(&self, stale_after_seconds: u64) -> Vec<File> {
        self.client
            .clone()
            .claim_purgeable(ClaimPurgeableRequest {
                limit: 10,
                stale_after_seconds,
                lease_seconds: 300,
            })
            .await
            .unwrap()
            .into_inner()
            .files
    }
}

fn code(status: &tonic::Status) -> ErrorCode {
    ErrorCode::of_status(status)
}

#[tokio::test]
async fn an_upload_goes_from_pending_to_active_and_is_found_only_by_its_owner() {
    let app = spawn_app().await;
    let pending_file = app.begin("Report 2026.txt").await;
    assert_eq!(pending_file.status, FileStatus::Pending as i32);
    assert_eq!(pending_file.extension, "txt");
    assert_eq!(
        pending_file.file_name,
        format!("{}-Report-2026.txt", pending_file.id)
    );
    // A pending upload is not a file yet.
    let early = app.get(&app.user, &pending_file.id).await.unwrap_err();
    assert_eq!(code(&early), ErrorCode::NotFound);

    let active = app
        .complete(&pending_file.id, FileDuration::SevenDays)
        .await
        .unwrap();
    assert_eq!(active.status, FileStatus::Active as i32);
    assert_eq!(active.size, 4);
    assert_eq!(active.sha256, DIGEST);
    assert!(active.expires_at.is_some());
    assert_eq!(app.get(&app.user, &active.id).await.unwrap(), active);

    let stranger = uuid::Uuid::new_v4().to_string();
    let hidden = app.get(&stranger, &active.id).await.unwrap_err();
    assert_eq!(code(&hidden), ErrorCode::NotFound);
}

#[tokio::test]
async fn an_upload_completes_once_and_a_failed_one_never() {
    let app = spawn_app().await;
    let first = app.begin("a.txt").await;
    let completed = app
        .complete(&first.id, FileDuration::Unlimited)
        .await
        .unwrap();
    // The same completion again (its answer was lost) gets the same file, unchanged.
    let again = app
        .complete(&first.id, FileDuration::Unlimited)
        .await
        .unwrap();
    assert_eq!(again, completed);
    // Other bytes cannot complete it a second time.
    let other = app
        .client
        .clone()
        .complete_upload(CompleteUploadRequest {
            user_id: app.user.clone(),
            id: first.id.clone(),
            size: 5,
            sha256: "0".repeat(64),
            duration: FileDuration::Unlimited.to_proto() as i32,
        })
        .await
        .unwrap_err();
    assert_eq!(code(&other), ErrorCode::Conflict);

    let second = app.begin("b.txt").await;
    let mut client = app.client.clone();
    for _ in 0..2 {
        let failed = client
            .fail_upload(FailUploadRequest {
                user_id: app.user.clone(),
                id: second.id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(failed.status, FileStatus::Failed as i32);
    }
    let late = app
        .complete(&second.id, FileDuration::Unlimited)
        .await
        .unwrap_err();
    assert_eq!(code(&late), ErrorCode::Conflict);
    let unknown = app
        .complete(&uuid::Uuid::new_v4().to_string(), FileDuration::Unlimited)
        .await
        .unwrap_err();
    assert_eq!(code(&unknown), ErrorCode::NotFound);
}

#[tokio::test]
async fn an_expired_file_is_reported_expired_by_the_database_clock() {
    let app = spawn_app().await;
    let file = app.begin("old.txt").await;
    app.complete(&file.id, FileDuration::OneHour).await.unwrap();
    app.run_sql(&format!(
        "UPDATE file_metadata SET expires_at = now() - interval '1 second' WHERE id = '{}'",
        file.id
    ))
    .await;
    let expired = app.get(&app.user, &file.id).await.unwrap();
    assert_eq!(expired.status, FileStatus::Expired as i32);

    let list = |status: StatusFilter| {
        let mut client = app.client.clone();
        let user = app.user.clone();
        async move {
            client
                .list_files(ListFilesRequest {
                    user_id: user,
                    status: status as i32,
                    ..ListFilesRequest::default()
                })
                .await
                .unwrap()
                .into_inner()
                .total
        }
    };
    assert_eq!(list(StatusFilter::Active).await, 0);
    assert_eq!(list(StatusFilter::Expired).await, 1);
    assert_eq!(list(StatusFilter::All).await, 1);
}

#[tokio::test]
async fn a_deleted_file_disappears_and_is_purged_once_its_object_is_gone() {
    let app = spawn_app().await;
    let file = app.begin("gone.txt").await;
    app.complete(&file.id, FileDuration::Unlimited)
        .await
        .unwrap();
    let mut client = app.client.clone();
    let delete = DeleteFileRequest {
        user_id: app.user.clone(),
        id: file.id.clone(),
    };
    let deleted = client
        .delete_file(delete.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(deleted.status, FileStatus::Deleted as i32);
    let twice = client.delete_file(delete).await.unwrap_err();
    assert_eq!(code(&twice), ErrorCode::NotFound);
    assert_eq!(
        code(&app.get(&app.user, &file.id).await.unwrap_err()),
        ErrorCode::NotFound
    );
    // Until it is purged, the janitor finds it.
    let claimed = app.claim(3600).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, file.id);
    let purge = MarkPurgedRequest {
        id: file.id.clone(),
    };
    client.mark_purged(purge.clone()).await.unwrap();
    client.mark_purged(purge).await.unwrap();
    app.run_sql("UPDATE file_metadata SET claimed_until = NULL")
        .await;
    assert!(app.claim(3600).await.is_empty());
}

#[tokio::test]
async fn an_active_file_cannot_be_marked_purged() {
    let app = spawn_app().await;
    let file = app.begin("keep.txt").await;
    app.complete(&file.id, FileDuration::Unlimited)
        .await
        .unwrap();
    let refused = app
        .client
        .clone()
        .mark_purged(MarkPurgedRequest {
            id: file.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(code(&refused), ErrorCode::NotFound);
    assert!(app.get(&app.user, &file.id).await.is_ok());
}

#[tokio::test]
async fn stale_pending_uploads_are_failed_and_claimed_once_per_lease() {
    let app = spawn_app().await;
    let abandoned = app.begin("abandoned.txt").await;
    let fresh = app.begin("fresh.txt").await;
    app.run_sql(&format!(
        "UPDATE file_metadata SET created_at = now() - interval '2 hours' WHERE id = '{}'",
        abandoned.id
    ))
    .await;
    let claimed = app.claim(3600).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, abandoned.id);
    assert_eq!(claimed[0].status, FileStatus::Failed as i32);
    // Another janitor does not get the same row while the lease runs.
    assert!(app.claim(3600).await.is_empty());
    // A lease that ran out (its janitor died) is claimed again.
    app.run_sql("UPDATE file_metadata SET claimed_until = now() - interval '1 second'")
        .await;
    assert_eq!(app.claim(3600).await.len(), 1);
    // The fresh upload was never touched.
    let fresh_now = app
        .complete(&fresh.id, FileDuration::Unlimited)
        .await
        .unwrap();
    assert_eq!(fresh_now.status, FileStatus::Active as i32);
}

#[tokio::test]
async fn malformed_requests_are_invalid_arguments() {
    let app = spawn_app().await;
    let mut client = app.client.clone();
    let bad_user = client
        .begin_upload(BeginUploadRequest {
            user_id: "nobody".into(),
            original_name: "a.txt".into(),
            mime_type: String::new(),
            duration: FileDuration::Unlimited.to_proto() as i32,
            idempotency_key: None,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(code(&bad_user), ErrorCode::InvalidRequest);
    let empty_name = client
        .begin_upload(BeginUploadRequest {
            user_id: app.user.clone(),
            original_name: "../\u{202E}".into(),
            mime_type: String::new(),
            duration: FileDuration::Unlimited.to_proto() as i32,
            idempotency_key: None,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(code(&empty_name), ErrorCode::InvalidRequest);
    let no_duration = client
        .begin_upload(BeginUploadRequest {
            user_id: app.user.clone(),
            original_name: "a.txt".into(),
            mime_type: String::new(),
            duration: 0,
            idempotency_key: None,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(code(&no_duration), ErrorCode::InvalidRequest);
    let file = app.begin("a.txt").await;
    let bad_digest = client
        .complete_upload(CompleteUploadRequest {
            user_id: app.user.clone(),
            id: file.id,
            size: 1,
            sha256: "xyz".into(),
            duration: FileDuration::Unlimited.to_proto() as i32,
        })
        .await
        .unwrap_err();
    assert_eq!(code(&bad_digest), ErrorCode::InvalidRequest);
    let too_many = client
        .list_files(ListFilesRequest {
            user_id: app.user.clone(),
            per_page: 101,
            ..ListFilesRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(code(&too_many), ErrorCode::InvalidRequest);
}

/// `src/schema.rs` is written by hand; this keeps it in step with the migrations.
#[tokio::test]
async fn schema_matches_the_migrations() {
    #[derive(diesel::QueryableByName, Debug, PartialEq)]
    struct Column {
        #[diesel(sql_type = diesel::sql_types::Text)]
        column_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        data_type: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        is_nullable: String,
    }
    let app = spawn_app().await;
    let mut connection = AsyncPgConnection::establish(&app.database_url)
        .await
        .unwrap();
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT column_name::text, data_type::text, is_nullable::text
         FROM information_schema.columns
         WHERE table_name = 'file_metadata' ORDER BY ordinal_position",
    )
    .load(&mut connection)
    .await
    .unwrap();
    let migrated: Vec<(String, String)> = columns
        .into_iter()
        .map(|column| {
            let sql_type = match column.data_type.as_str() {
                "uuid" => "Uuid",
                "text" => "Text",
                "bigint" => "Int8",
                "timestamp with time zone" => "Timestamptz",
                other => panic!("no diesel type for {other}"),
            };
            let diesel_type = if column.is_nullable == "YES" {
                format!("Nullable<{sql_type}>")
            } else {
                sql_type.to_owned()
            };
            (column.column_name, diesel_type)
        })
        .collect();
    let schema = include_str!("../src/schema.rs");
    let declared: Vec<(String, String)> = schema
        .lines()
        .filter_map(|line| line.trim().strip_suffix(','))
        .filter_map(|line| line.split_once(" -> "))
        .map(|(name, sql_type)| (name.to_owned(), sql_type.to_owned()))
        .collect();
    assert_eq!(declared, migrated);
}

/// A slow upload the janitor gave up on may still write its object afterwards; failing
/// it then must still hand the key back so the uploader removes that late object.
#[tokio::test]
async fn failing_an_upload_the_janitor_already_purged_returns_it_for_removal() {
    let app = spawn_app().await;
    let file = app.begin("slow.txt").await;
    app.run_sql(&format!(
        "UPDATE file_metadata SET created_at = now() - interval '2 hours' WHERE id = '{}'",
        file.id
    ))
    .await;
    assert_eq!(app.claim(3600).await.len(), 1);
    let mut client = app.client.clone();
    client
        .mark_purged(MarkPurgedRequest {
            id: file.id.clone(),
        })
        .await
        .unwrap();
    let late = app
        .complete(&file.id, FileDuration::Unlimited)
        .await
        .unwrap_err();
    assert_eq!(code(&late), ErrorCode::Conflict);
    let failed = client
        .fail_upload(FailUploadRequest {
            user_id: app.user.clone(),
            id: file.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(failed.status, FileStatus::Purged as i32);
    assert_eq!(failed.file_name, file.file_name);
}

#[tokio::test]
async fn an_idempotency_key_holds_one_upload_at_a_time() {
    let app = spawn_app().await;
    let begin = |key: &str| {
        let mut client = app.client.clone();
        let request = BeginUploadRequest {
            user_id: app.user.clone(),
            original_name: "same.txt".into(),
            mime_type: "text/plain".into(),
            duration: FileDuration::Unlimited.to_proto() as i32,
            idempotency_key: Some(key.into()),
            ..Default::default()
        };
        async move {
            client
                .begin_upload(request)
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let first = begin("k1").await.unwrap();
    assert_eq!(first.status, FileStatus::Pending as i32);
    // While it is pending, the same key is a conflict.
    let busy = begin("k1").await.unwrap_err();
    assert_eq!(code(&busy), ErrorCode::Conflict);
    // Once finished, the same key hands back that file.
    app.complete(&first.id, FileDuration::Unlimited)
        .await
        .unwrap();
    let replayed = begin("k1").await.unwrap();
    assert_eq!(replayed.id, first.id);
    assert_eq!(replayed.status, FileStatus::Active as i32);
    // A key whose upload failed is free again.
    let second = begin("k2").await.unwrap();
    app.client
        .clone()
        .fail_upload(FailUploadRequest {
            user_id: app.user.clone(),
            id: second.id.clone(),
        })
        .await
        .unwrap();
    let retried = begin("k2").await.unwrap();
    assert_ne!(retried.id, second.id);
    assert_eq!(retried.status, FileStatus::Pending as i32);
}

#[tokio::test]
async fn an_expired_file_is_purged_by_the_janitor_and_still_reported_expired() {
    let app = spawn_app().await;
    let file = app.begin("old.txt").await;
    app.complete(&file.id, FileDuration::OneHour).await.unwrap();
    // Not expired yet: nothing to claim.
    assert!(app.claim(3600).await.is_empty());
    app.run_sql(&format!(
        "UPDATE file_metadata SET expires_at = now() - interval '1 second' WHERE id = '{}'",
        file.id
    ))
    .await;
    let claimed = app.claim(3600).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].status, FileStatus::Expired as i32);
    let mut client = app.client.clone();
    client
        .mark_purged(MarkPurgedRequest {
            id: file.id.clone(),
        })
        .await
        .unwrap();
    let after = app.get(&app.user, &file.id).await.unwrap();
    assert_eq!(after.status, FileStatus::Expired as i32);
    let expired_list = client
        .list_files(ListFilesRequest {
            user_id: app.user.clone(),
            status: StatusFilter::Expired as i32,
            ..ListFilesRequest::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(expired_list.total, 1);
    // Its owner can still delete the entry; then it is gone.
    client
        .delete_file(DeleteFileRequest {
            user_id: app.user.clone(),
            id: file.id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(
        code(&app.get(&app.user, &file.id).await.unwrap_err()),
        ErrorCode::NotFound
    );
}

/// Every statement of a listing, with or without a search, is prepared once per
/// connection and then reused: the listing runs on every page view, and parsing and
/// planning it each time is most of what PostgreSQL does for it.
/// A pool of one connection on a fresh database, so that every statement runs on the
/// connection whose prepared statements [`prepared_statements`] counts.
async fn one_connection_pool() -> flowsvault_kit::database::Pool {
    flowsvault_kit::telemetry::init_for_tests();
    let server = std::env::var("FLOWSVAULT_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let url = create_test_database(&server, "fv_test").await.unwrap();
    flowsvault_kit::database::connect(&url, flowsvault_file_service::startup::MIGRATIONS, 1)
        .await
        .unwrap()
}

/// How many statements the pool's connection holds prepared.
async fn prepared_statements(pool: &flowsvault_kit::database::Pool) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Prepared {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        statements: i64,
    }
    let mut connection = pool.get().await.unwrap();
    diesel::sql_query("SELECT count(*) AS statements FROM pg_prepared_statements")
        .get_result::<Prepared>(&mut connection)
        .await
        .unwrap()
        .statements
}

#[tokio::test]
async fn listings_reuse_their_prepared_statements() {
    use flowsvault_file_service::{
        domain::{ListQuery, Sort, Visibility},
        repository::FileRepository,
    };

    let pool = one_connection_pool().await;
    let files = FileRepository::new(pool.clone());
    let user = uuid::Uuid::new_v4();
    let prepared = || prepared_statements(&pool);
    let queries = [
        (Visibility::Active, None, Sort::UploadedAt),
        (Visibility::Active, Some("report"), Sort::Name),
        (Visibility::Expired, None, Sort::Size),
        (Visibility::All, Some("x"), Sort::UploadedAt),
    ];
    let list = |round: usize| {
        let files = files.clone();
        async move {
            for (visibility, name, sort) in queries {
                let query = ListQuery {
                    page: 1 + round as u32,
                    per_page: 20,
                    name_contains: name.map(|name| format!("{name}{round}")),
                    visibility,
                    sort,
                    descending: true,
                };
                files.list(user, &query).await.unwrap();
            }
        }
    };
    list(0).await;
    let after_first = prepared().await;
    assert!(after_first >= 4, "{after_first} statements prepared");
    // Other pages and other search words, same statements.
    list(2).await;
    assert_eq!(prepared().await, after_first);
}

/// The statements every tus request runs (the session, the lease, the offset, the
/// release) are prepared once per connection too.
#[tokio::test]
async fn resumable_upload_statements_are_prepared_once() {
    use flowsvault_file_service::repository::FileRepository;

    let pool = one_connection_pool().await;
    let files = FileRepository::new(pool.clone());
    let prepared = || prepared_statements(&pool);
    // Sessions that do not exist: each statement runs all the same, and finds nothing.
    let round = || async {
        let (user, id, holder) = (
            uuid::Uuid::new_v4(),
            uuid::Uuid::new_v4(),
            uuid::Uuid::new_v4(),
        );
        assert!(files.session(user, id).await.unwrap().is_none());
        assert!(files.lease(user, id, holder, 30).await.unwrap().is_none());
        assert!(
            files
                .record_offset(user, id, holder, 5, Some(10), true)
                .await
                .unwrap()
                .is_none()
        );
        files.release(user, id, holder).await.unwrap();
    };
    round().await;
    let after_first = prepared().await;
    assert!(after_first >= 4, "{after_first} statements prepared");
    round().await;
    assert_eq!(prepared().await, after_first);
}

/// One holder at a time writes to a resumable upload: another holder's lease request is
/// refused while the lease runs, and granted once it was released or ran out; only the
/// holder moves the offset; an expired, finished or unknown upload is leased to nobody.
#[tokio::test]
async fn a_resumable_upload_is_leased_to_one_holder_at_a_time() {
    let app = spawn_app().await;
    let session = app
        .client
        .clone()
        .begin_resumable(BeginResumableRequest {
            upload: Some(BeginUploadRequest {
                user_id: app.user.clone(),
                original_name: "leased.txt".into(),
                mime_type: "text/plain".into(),
                duration: FileDuration::Unlimited.to_proto() as i32,
                ..Default::default()
            }),
            length: Some(10),
            metadata: String::new(),
            expires_in_seconds: 3600,
        })
        .await
        .unwrap()
        .into_inner();
    let id = session.file.unwrap().id;
    let (first, second) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    let lease = |holder: &str, id: &str| {
        let request = LeaseUploadRequest {
            user_id: app.user.clone(),
            id: id.into(),
            holder: holder.into(),
            lease_seconds: 30,
        };
        let mut client = app.client.clone();
        async move {
            client
                .lease_upload_session(request)
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let record = |holder: &str, offset: u64, release: bool| {
        let request = RecordUploadOffsetRequest {
            user_id: app.user.clone(),
            id: id.clone(),
            holder: holder.into(),
            offset,
            length: None,
            release,
        };
        let mut client = app.client.clone();
        async move {
            client
                .record_upload_offset(request)
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let refused = |outcome: Result<UploadSession, tonic::Status>| code(&outcome.unwrap_err());

    assert_eq!(lease(&first, &id).await.unwrap().offset, 0);
    assert_eq!(refused(lease(&second, &id).await), ErrorCode::UploadLocked);
    // The holder renews its own lease; the other cannot move the offset.
    lease(&first, &id).await.unwrap();
    assert_eq!(
        refused(record(&second, 4, false).await),
        ErrorCode::UploadLocked
    );
    assert_eq!(record(&first, 4, false).await.unwrap().offset, 4);
    assert_eq!(refused(lease(&second, &id).await), ErrorCode::UploadLocked);
    // Released with the offset: the other may write from there.
    assert_eq!(record(&first, 6, true).await.unwrap().offset, 6);
    assert_eq!(lease(&second, &id).await.unwrap().offset, 6);
    assert_eq!(
        refused(record(&first, 8, false).await),
        ErrorCode::UploadLocked
    );
    // A holder that went away: its lease runs out, and the first may take it again.
    app.run_sql(&format!(
        "UPDATE upload_sessions SET lease_until = now() - interval '1 second' WHERE id = '{id}'"
    ))
    .await;
    assert_eq!(lease(&first, &id).await.unwrap().offset, 6);
    assert_eq!(
        refused(record(&second, 8, false).await),
        ErrorCode::UploadLocked
    );
    // Past its expiry an upload is leased to nobody.
    app.run_sql(&format!(
        "UPDATE upload_sessions SET lease_holder = NULL, lease_until = NULL,
             expires_at = now() - interval '1 second'
         WHERE id = '{id}'"
    ))
    .await;
    assert_eq!(refused(lease(&first, &id).await), ErrorCode::UploadExpired);
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_eq!(refused(lease(&first, &unknown).await), ErrorCode::NotFound);
    // A finished upload answers with its session, and leases nothing.
    app.run_sql(&format!(
        "UPDATE upload_sessions SET expires_at = now() + interval '1 hour' WHERE id = '{id}'"
    ))
    .await;
    app.complete(&id, FileDuration::Unlimited).await.unwrap();
    assert!(lease(&second, &id).await.unwrap().finished);
    assert!(!app.leased(&id).await);
}

/// The list's `total` of live files comes from a count the database keeps on every
/// change: it must agree with counting the rows, whatever changed them.
#[tokio::test]
async fn the_kept_count_of_live_files_follows_every_change() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for n in 0..12 {
        let file = app.begin(&format!("file-{n}.txt")).await;
        let duration = if n < 4 {
            FileDuration::OneHour
        } else {
            FileDuration::Unlimited
        };
        app.complete(&file.id, duration).await.unwrap();
        ids.push(file.id);
    }
    // Pending and failed uploads are not live.
    app.begin("file-pending.txt").await;
    let failed = app.begin("file-failed.txt").await;
    app.client
        .clone()
        .fail_upload(FailUploadRequest {
            user_id: app.user.clone(),
            id: failed.id,
        })
        .await
        .unwrap();
    assert_eq!(app.totals().await, (12, 12));

    let mut client = app.client.clone();
    client
        .delete_file(DeleteFileRequest {
            user_id: app.user.clone(),
            id: ids[11].clone(),
        })
        .await
        .unwrap();
    client
        .delete_files(DeleteFilesRequest {
            user_id: app.user.clone(),
            ids: vec![ids[10].clone(), ids[9].clone(), ids[11].clone()],
        })
        .await
        .unwrap();
    assert_eq!(app.totals().await, (9, 9));

    // Expired by the clock, before and after the janitor swept them.
    app.run_sql(&format!(
        "UPDATE file_metadata SET expires_at = now() - interval '1 second'
         WHERE id IN ('{}', '{}')",
        ids[0], ids[1]
    ))
    .await;
    assert_eq!(app.totals().await, (7, 7));
    for file in app.claim(3600).await {
        client
            .mark_purged(MarkPurgedRequest { id: file.id })
            .await
            .unwrap();
    }
    assert_eq!(app.totals().await, (7, 7));

    // Changes made straight in the database, several rows at once, are counted too.
    app.run_sql(&format!(
        "UPDATE file_metadata SET status = 'deleted', deleted_at = now()
         WHERE id IN ('{}', '{}')",
        ids[2], ids[3]
    ))
    .await;
    app.run_sql(&format!(
        "DELETE FROM file_metadata WHERE id = '{}'",
        ids[4]
    ))
    .await;
    assert_eq!(app.totals().await, (4, 4));
    // Another user's files are theirs alone.
    let other = TestApp {
        client: app.client.clone(),
        database_url: app.database_url.clone(),
        user: uuid::Uuid::new_v4().to_string(),
    };
    let theirs = other.begin("file-theirs.txt").await;
    other
        .complete(&theirs.id, FileDuration::Unlimited)
        .await
        .unwrap();
    assert_eq!(app.totals().await, (4, 4));
}
