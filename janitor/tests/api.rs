//! The janitor against real file-service and storage-service instances.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is a failed test with its location"
)]

use std::future::pending;

use bytes::Bytes;
use diesel::{
    QueryableByName,
    sql_types::{Array, BigInt, Double, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use flowsvault_janitor::{
    metrics::JanitorMetrics,
    pass::{Janitor, PassReport, PassSettings},
};
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
use uuid::Uuid;

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
        self.janitor_with(storage_url, |_| {})
    }

    fn janitor_with(&self, storage_url: &str, adjust: impl FnOnce(&mut PassSettings)) -> Janitor {
        let mut settings = PassSettings {
            batch: 2,
            stale_upload_secs: 3600,
            lease_secs: 300,
            orphan_grace_secs: 3600,
            share_retention_secs: 86_400,
        };
        adjust(&mut settings);
        Janitor::new(
            grpc::channel(&self.files_url).unwrap(),
            grpc::channel(storage_url).unwrap(),
            settings,
            JanitorMetrics::new(),
        )
    }

    async fn database(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.database_url)
            .await
            .unwrap()
    }

    /// Writes an object straight into the local store, as storage-service would.
    fn write_object(&self, key: &str, bytes: &[u8]) {
        std::fs::write(self.objects.path().join(key), bytes).unwrap();
    }

    fn object_exists(&self, key: &str) -> bool {
        self.objects.path().join(key).exists()
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
                ..Default::default()
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

    /// `count` active files of one byte each, with their objects, expiring
    /// `expires_in_secs` from now by the database clock (negative: expired already).
    async fn active_files(&self, count: i64, expires_in_secs: f64) -> Vec<(Uuid, String)> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = SqlUuid)]
            id: Uuid,
            #[diesel(sql_type = Text)]
            file_name: String,
        }
        let rows: Vec<Row> = diesel::sql_query(
            "INSERT INTO file_metadata (id, user_id, original_name, file_name, extension,
                 mime_type, size, sha256, duration, status, uploaded_at, expires_at)
             SELECT g.id, $1, 'f.txt', g.id::text || '-f.txt', 'txt', 'text/plain', 1,
                 repeat('a', 64), '1h', 'active', now() - interval '1 hour',
                 now() + make_interval(secs => $2)
             FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, $3)) AS g
             RETURNING id, file_name",
        )
        .bind::<SqlUuid, _>(Uuid::new_v4())
        .bind::<Double, _>(expires_in_secs)
        .bind::<BigInt, _>(count)
        .load(&mut self.database().await)
        .await
        .unwrap();
        rows.into_iter()
            .map(|row| {
                self.write_object(&row.file_name, b"x");
                (row.id, row.file_name)
            })
            .collect()
    }

    /// How many of `ids` have `status`.
    async fn count_status(&self, ids: &[Uuid], status: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            count: i64,
        }
        diesel::sql_query(
            "SELECT count(*) AS count FROM file_metadata WHERE id = ANY($1) AND status = $2",
        )
        .bind::<Array<SqlUuid>, _>(ids)
        .bind::<Text, _>(status)
        .get_result::<Count>(&mut self.database().await)
        .await
        .unwrap()
        .count
    }

    /// Ends every claim's lease, as time would.
    async fn end_leases(&self) {
        diesel::sql_query("UPDATE file_metadata SET claimed_until = now() - interval '1 second'")
            .execute(&mut self.database().await)
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
    assert_eq!(janitor.run_pass(false).await, PassReport::default());
    assert_eq!(app.objects_on_disk(), 3);

    app.age_pending_rows().await;
    let report = janitor.run_pass(false).await;
    assert_eq!(report.stale_uploads, 3);
    assert_eq!(report.purged(), 3);
    assert_eq!(report.failures, 0);
    assert_eq!(app.objects_on_disk(), 0);
    assert_eq!(janitor.run_pass(false).await, PassReport::default());
}

#[tokio::test]
async fn a_failed_removal_is_counted_and_retried_by_a_later_pass() {
    let app = spawn_app().await;
    app.orphaned_upload("stuck.txt").await;
    app.age_pending_rows().await;
    // Nothing listens on port 9: every removal fails.
    let broken = app.janitor("http://127.0.0.1:9");
    let report = broken.run_pass(false).await;
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
    let report = app.janitor(&app.storage_url).run_pass(false).await;
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
    assert_eq!(janitor.run_pass(false).await, PassReport::default());
    assert_eq!(app.objects_on_disk(), 1);

    let mut connection = AsyncPgConnection::establish(&app.database_url)
        .await
        .unwrap();
    diesel::sql_query("UPDATE file_metadata SET expires_at = now() - interval '1 second'")
        .execute(&mut connection)
        .await
        .unwrap();
    let report = janitor.run_pass(false).await;
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

fn ids(files: &[(Uuid, String)]) -> Vec<Uuid> {
    files.iter().map(|(id, _)| *id).collect()
}

#[tokio::test]
async fn three_janitors_at_once_remove_exactly_the_expired_files() {
    let app = spawn_app().await;
    let expired = app.active_files(2000, -60.0).await;
    let live = app.active_files(2000, 600.0).await;

    let runs: Vec<_> = (0..3)
        .map(|_| {
            let janitor = app.janitor_with(&app.storage_url, |settings| settings.batch = 50);
            tokio::spawn(async move { janitor.run_pass(false).await })
        })
        .collect();
    // Meanwhile owners extend some lives. Only a file that has not expired yet can be
    // extended (an expired one is gone for its owner already, 410), by the database clock.
    let extend = "UPDATE file_metadata SET expires_at = expires_at + interval '30 days'
                  WHERE id = ANY($1) AND status = 'active' AND expires_at > now()";
    let extended_live = diesel::sql_query(extend)
        .bind::<Array<SqlUuid>, _>(ids(&live).into_iter().step_by(7).collect::<Vec<_>>())
        .execute(&mut app.database().await)
        .await
        .unwrap();
    assert_eq!(extended_live, live.len().div_ceil(7));
    let extended_expired = diesel::sql_query(extend)
        .bind::<Array<SqlUuid>, _>(ids(&expired).into_iter().step_by(7).collect::<Vec<_>>())
        .execute(&mut app.database().await)
        .await
        .unwrap();
    assert_eq!(extended_expired, 0);

    let mut total = PassReport::default();
    for run in runs {
        let report = run.await.unwrap();
        assert_eq!(report.failures, 0);
        total.expired_files += report.expired_files;
        total.bytes_freed += report.bytes_freed;
        total.stale_uploads += report.stale_uploads;
        total.deleted_files += report.deleted_files;
    }
    // Each expired file was removed once, by one of the three, and nothing else was.
    assert_eq!(
        total,
        PassReport {
            expired_files: 2000,
            bytes_freed: 2000,
            ..PassReport::default()
        }
    );
    assert_eq!(app.count_status(&ids(&expired), "purged").await, 2000);
    assert!(expired.iter().all(|(_, key)| !app.object_exists(key)));
    assert_eq!(app.count_status(&ids(&live), "active").await, 2000);
    assert!(live.iter().all(|(_, key)| app.object_exists(key)));
    assert_eq!(app.objects_on_disk(), 2000);
    assert_eq!(
        app.janitor(&app.storage_url).run_pass(false).await,
        PassReport::default()
    );
}

#[tokio::test]
async fn a_janitor_killed_mid_pass_loses_nothing_and_the_next_pass_finishes() {
    let app = spawn_app().await;
    let expired = app.active_files(400, -60.0).await;
    let live = app.active_files(50, 600.0).await;
    let janitor = app.janitor_with(&app.storage_url, |settings| settings.batch = 20);
    let run = tokio::spawn(async move { janitor.run_pass(false).await });
    let started = std::time::Instant::now();
    while expired
        .iter()
        .filter(|(_, key)| !app.object_exists(key))
        .count()
        < 40
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the pass removed nothing"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    // Killed: its in-flight calls are dropped wherever they were.
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    let purged_by_the_first = app.count_status(&ids(&expired), "purged").await;
    assert!(
        purged_by_the_first < 400,
        "the pass was stopped before it finished"
    );

    // Its claims lapse after their lease; the next pass does the rest.
    app.end_leases().await;
    let report = app.janitor(&app.storage_url).run_pass(false).await;
    assert_eq!(report.failures, 0);
    assert_eq!(report.expired_files, 400 - purged_by_the_first as u64);
    assert_eq!(app.count_status(&ids(&expired), "purged").await, 400);
    assert!(expired.iter().all(|(_, key)| !app.object_exists(key)));
    assert_eq!(app.count_status(&ids(&live), "active").await, 50);
    assert!(live.iter().all(|(_, key)| app.object_exists(key)));
}

#[tokio::test]
async fn orphan_objects_past_the_grace_period_are_removed_and_nothing_else() {
    let app = spawn_app().await;
    let live = app.active_files(3, 600.0).await;
    let pending = app.orphaned_upload("pending.txt").await;
    let orphan = format!("{}-lost.txt", Uuid::new_v4());
    app.write_object(&orphan, b"lost bytes");
    // A profile picture: auth-service's object, which the janitor cannot ask about.
    let picture = format!("avatar-{}-{}.png", Uuid::new_v4(), Uuid::new_v4());
    app.write_object(&picture, b"png");
    // A record purged while its object stayed (a removal that was lost).
    let leftover = app.active_files(1, 600.0).await;
    diesel::sql_query(
        "UPDATE file_metadata SET status = 'purged', purged_at = now(), deleted_at = now()
         WHERE id = $1",
    )
    .bind::<SqlUuid, _>(leftover[0].0)
    .execute(&mut app.database().await)
    .await
    .unwrap();

    // Everything is younger than an hour's grace: nothing goes.
    let young = app
        .janitor_with(&app.storage_url, |settings| {
            settings.orphan_grace_secs = 3600;
        })
        .run_pass(true)
        .await;
    assert_eq!(young, PassReport::default());
    // Without a grace period, the two objects no record names go.
    let janitor = app.janitor_with(&app.storage_url, |settings| {
        settings.orphan_grace_secs = 0;
    });
    // A pass that does not reconcile leaves them.
    assert_eq!(janitor.run_pass(false).await, PassReport::default());
    let report = janitor.run_pass(true).await;
    assert_eq!(
        report,
        PassReport {
            orphans: 2,
            bytes_freed: 11,
            ..PassReport::default()
        }
    );
    assert!(!app.object_exists(&orphan));
    assert!(!app.object_exists(&leftover[0].1));
    assert!(app.object_exists(&picture));
    assert!(app.object_exists(&pending.file_name));
    assert!(live.iter().all(|(_, key)| app.object_exists(key)));
}

#[tokio::test]
async fn dead_share_links_and_expired_grants_are_removed() {
    let app = spawn_app().await;
    let files = app.active_files(2, 600.0).await;
    let (file, deleted_file) = (files[0].0, files[1].0);
    let mut connection = app.database().await;
    diesel::sql_query(
        "UPDATE file_metadata SET status = 'deleted', deleted_at = now() WHERE id = $1",
    )
    .bind::<SqlUuid, _>(deleted_file)
    .execute(&mut connection)
    .await
    .unwrap();
    // (file, expires in seconds, revoked seconds ago)
    let links: [(Uuid, Option<f64>, Option<f64>); 5] = [
        (file, None, None),                  // live
        (file, Some(-3.0 * 86_400.0), None), // expired long ago: goes
        (file, Some(-3600.0), None),         // expired lately: its owner still sees it
        (file, None, Some(3.0 * 86_400.0)),  // revoked long ago: goes
        (deleted_file, None, None),          // its file is gone: goes
    ];
    for (file_id, expires_in, revoked_ago) in links {
        diesel::sql_query(
            "INSERT INTO file_shares (id, file_id, user_id, token_hash, expires_at, revoked_at)
             VALUES (gen_random_uuid(), $1, gen_random_uuid(), sha256(gen_random_uuid()::text::bytea),
                     now() + make_interval(secs => $2), now() - make_interval(secs => $3))",
        )
        .bind::<SqlUuid, _>(file_id)
        .bind::<diesel::sql_types::Nullable<Double>, _>(expires_in)
        .bind::<diesel::sql_types::Nullable<Double>, _>(revoked_ago)
        .execute(&mut connection)
        .await
        .unwrap();
    }
    diesel::sql_query(
        "INSERT INTO file_share_grants (grant_hash, share_id, expires_at)
         SELECT sha256(gen_random_uuid()::text::bytea), id, now() + make_interval(hours => h)
         FROM file_shares, (VALUES (-1), (1)) AS hours(h)
         WHERE expires_at IS NULL AND revoked_at IS NULL AND file_id = $1",
    )
    .bind::<SqlUuid, _>(file)
    .execute(&mut connection)
    .await
    .unwrap();

    let report = app
        .janitor_with(&app.storage_url, |settings| {
            settings.share_retention_secs = 86_400;
        })
        .run_pass(false)
        .await;
    assert_eq!(report.expired_shares, 3);
    assert_eq!(report.failures, 0);
    #[derive(QueryableByName)]
    struct Left {
        #[diesel(sql_type = BigInt)]
        shares: i64,
        #[diesel(sql_type = BigInt)]
        grants: i64,
    }
    let left: Left = diesel::sql_query(
        "SELECT (SELECT count(*) FROM file_shares) AS shares,
                (SELECT count(*) FROM file_share_grants) AS grants",
    )
    .get_result(&mut connection)
    .await
    .unwrap();
    assert_eq!((left.shares, left.grants), (2, 1));
}

#[tokio::test]
async fn the_janitor_serves_its_pass_counts_as_metrics() {
    let app = spawn_app().await;
    app.active_files(3, -60.0).await;
    let janitor =
        flowsvault_janitor::startup::Application::build(flowsvault_janitor::config::Config {
            listen_addr: "127.0.0.1:0".into(),
            files_url: app.files_url.clone(),
            storage_url: app.storage_url.clone(),
            schedule: "0 0 1 1 *".into(),
            interval_secs: 0,
            stale_upload_secs: 3600,
            batch: 100,
            lease_secs: 300,
            orphan_every: 0,
            orphan_grace_secs: 3600,
            share_retention_secs: 86_400,
            metrics_addr: "127.0.0.1:0".into(),
        })
        .await
        .unwrap();
    let grpc_url = format!("http://127.0.0.1:{}", janitor.port());
    let metrics_port = janitor.metrics_port().unwrap();
    tokio::spawn(janitor.run_until_stopped(pending()));
    let mut client =
        flowsvault_proto::janitor::v1::janitor_service_client::JanitorServiceClient::new(
            grpc::channel(&grpc_url).unwrap(),
        );
    let report = client
        .run_pass(flowsvault_proto::janitor::v1::RunPassRequest { orphans: false })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(report.expired_files, 3);

    let scrape = |path: &'static str| async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", metrics_port))
            .await
            .unwrap();
        stream
            .write_all(
                format!("GET {path} HTTP/1.1\r\nHost: janitor\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    };
    let metrics = scrape("/metrics").await;
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(
        metrics.contains("application/openmetrics-text"),
        "{metrics}"
    );
    for line in [
        "flowsvault_janitor_passes_total 1",
        "flowsvault_janitor_expired_files_total 3",
        "flowsvault_janitor_freed_bytes_total 3",
        "flowsvault_janitor_failures_total 0",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    assert!(scrape("/other").await.starts_with("HTTP/1.1 404"));
}
