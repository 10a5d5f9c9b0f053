#![allow(
    clippy::unwrap_used,
    reason = "scenarios run on several backends fail the test they serve; clippy sees only #[test] bodies"
)]

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use reqwest::{
    StatusCode,
    multipart::{Form, Part},
};
use serde_json::Value;

use crate::helpers::{Backend, on_both_backends, problem, spawn_app, spawn_app_on, spawn_app_with};

on_both_backends!(
    an_upload_over_the_limit_is_413_and_leaves_nothing_behind,
    killing_storage_mid_upload_never_yields_an_active_file,
    a_client_that_disconnects_mid_upload_leaves_nothing_behind,
);

#[tokio::test]
async fn requests_without_a_valid_key_are_401_problems() {
    let app = spawn_app().await;
    let key = app.api_key("ivan@example.com").await;
    // The same key with its last character changed (to one it surely is not).
    let last = if key.ends_with('x') { 'y' } else { 'x' };
    let wrong_secret = format!("{}{last}", &key[..key.len() - 1]);
    let cases: [(&str, Option<&str>); 4] = [
        ("no header", None),
        ("garbage", Some("Bearer not-a-key")),
        ("wrong secret", Some(&wrong_secret)),
        (
            "unknown prefix",
            Some("Bearer fv_ZZZZZZZZ_0123456789012345678901234567890123456789012"),
        ),
    ];
    for (case, header) in cases {
        let mut request = app.client.get(app.url("/api/files"));
        if let Some(header) = header {
            let value = if header.starts_with("Bearer ") {
                header.to_owned()
            } else {
                format!("Bearer {header}")
            };
            request = request.header("Authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{case}");
        assert_eq!(problem(response).await["code"], "unauthenticated", "{case}");
    }
    let upload = app
        .client
        .post(app.url("/api/upload"))
        .multipart(Form::new().part("file", Part::bytes(b"x".to_vec()).file_name("a.txt")))
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.rows_with_status("pending").await, 0);
}

async fn an_upload_over_the_limit_is_413_and_leaves_nothing_behind(backend: Backend) {
    let app = spawn_app_on(backend, |config| config.max_upload_bytes = 1024 * 1024).await;
    let key = app.api_key("judy@example.com").await;
    // Streamed without a length, so only counting on the stream can catch it.
    let chunks = (0..4).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![7u8; 512 * 1024])));
    let part = Part::stream(reqwest::Body::wrap_stream(stream::iter(chunks))).file_name("big.txt");
    let response = app.upload_form(&key, Form::new().part("file", part)).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = problem(response).await;
    assert_eq!(body["code"], "file_too_large");
    assert_eq!(body["limit"], 1024 * 1024);
    assert!(
        app.eventually(|| async { app.rows_with_status("purged").await == 1 })
            .await
    );
    assert_eq!(app.rows_with_status("active").await, 0);
    assert!(
        app.eventually(|| async { app.leftovers().await.is_empty() })
            .await,
        "{:?}",
        app.leftovers().await
    );
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_before_any_row() {
    let app = spawn_app_with(|config| config.max_upload_bytes = 1024).await;
    let key = app.api_key("kim@example.com").await;
    let response = app.upload(&key, "big.txt", vec![0; 256 * 1024]).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.rows_with_status("pending").await, 0);
    assert_eq!(app.rows_with_status("failed").await, 0);
}

#[tokio::test]
async fn malformed_uploads_are_4xx_problems() {
    let app = spawn_app().await;
    let key = app.api_key("leo@example.com").await;

    let not_multipart = app
        .client
        .post(app.url("/api/upload"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"file": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(not_multipart.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        problem(not_multipart).await["code"],
        "unsupported_media_type"
    );

    let no_file = app
        .upload_form(&key, Form::new().text("duration", "1d"))
        .await;
    assert_eq!(no_file.status(), StatusCode::BAD_REQUEST);
    assert_eq!(problem(no_file).await["code"], "missing_file");

    let no_name = app
        .upload_form(&key, Form::new().part("file", Part::bytes(b"x".to_vec())))
        .await;
    assert_eq!(no_name.status(), StatusCode::BAD_REQUEST);
    assert_eq!(problem(no_name).await["code"], "invalid_file_name");

    let empty_name = app.upload(&key, "../", b"x".to_vec()).await;
    assert_eq!(empty_name.status(), StatusCode::BAD_REQUEST);
    assert_eq!(problem(empty_name).await["code"], "invalid_file_name");

    let broken = app
        .client
        .post(app.url("/api/upload"))
        .bearer_auth(&key)
        .header("Content-Type", "multipart/form-data; boundary=XYZ")
        .body("--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nno end")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    assert_eq!(problem(broken).await["code"], "invalid_request");

    let two_files = Form::new()
        .part("file", Part::bytes(b"a".to_vec()).file_name("a.txt"))
        .part("file", Part::bytes(b"b".to_vec()).file_name("b.txt"));
    let response = app.upload_form(&key, two_files).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    assert!(
        app.eventually(|| async {
            app.rows_with_status("pending").await == 0 && app.rows_with_status("failed").await == 0
        })
        .await
    );
    assert_eq!(app.rows_with_status("active").await, 0);
    assert!(app.stored_objects().is_empty());
}

/// The foundation's crash test: storage-service dies while a 200 MiB upload streams.
async fn killing_storage_mid_upload_never_yields_an_active_file(backend: Backend) {
    let mut app = spawn_app_on(backend, |config| {
        config.max_upload_bytes = 300 * 1024 * 1024;
    })
    .await;
    let key = app.api_key("mallory@example.com").await;
    const CHUNK: usize = 1024 * 1024;
    const TOTAL_CHUNKS: u64 = 200;
    let sent = Arc::new(AtomicU64::new(0));
    let (kill_sender, kill_receiver) = tokio::sync::oneshot::channel::<()>();
    let kill_sender = std::sync::Mutex::new(Some(kill_sender));
    let counter = sent.clone();
    let chunks = stream::iter(0..TOTAL_CHUNKS).map(move |index| {
        counter.fetch_add(1, Ordering::SeqCst);
        if index == 50
            && let Some(sender) = kill_sender.lock().unwrap().take()
        {
            let _ = sender.send(());
        }
        Ok::<_, std::io::Error>(Bytes::from(vec![(index % 251) as u8; CHUNK]))
    });
    let part = Part::stream(reqwest::Body::wrap_stream(chunks)).file_name("huge.txt");
    let client = app.client.clone();
    let url = app.url("/api/upload");
    let upload = tokio::spawn(async move {
        client
            .post(url)
            .bearer_auth(key)
            .multipart(Form::new().part("file", part))
            .send()
            .await
    });
    kill_receiver.await.unwrap();
    app.storage.kill();

    match upload.await.unwrap() {
        Ok(response) => {
            let status = response.status();
            assert!(status.is_server_error(), "got {status}");
            let body: Value = response.json().await.unwrap();
            assert!(
                body["code"].as_str().unwrap().starts_with("upstream_"),
                "{body}"
            );
        }
        // The gateway may close the connection while the client is still sending.
        Err(error) => assert!(error.is_request() || error.is_body(), "{error}"),
    }
    assert!(sent.load(Ordering::SeqCst) < TOTAL_CHUNKS);
    assert_eq!(app.rows_with_status("active").await, 0);
    assert!(
        app.eventually(|| async { app.rows_with_status("pending").await == 0 })
            .await,
        "the row must be marked failed"
    );
    assert_eq!(app.rows_with_status("failed").await, 1);
    assert!(app.stored_objects().is_empty());
    // A killed service cannot abort its write: on S3 a multipart upload stays open, on
    // disk a partial file. Once the grace period is over, the janitor's stale-write
    // pass removes it (here at once, for this test's keys only).
    app.storage.restart().await;
    app.abort_stale_writes_of_own_keys().await;
    assert_eq!(app.leftovers().await, Vec::<String>::new());
}

/// A client that goes away part-way through its body, at several points: before the
/// sniffed head is complete, just after it, deep into the file, past two whole S3 parts
/// (8 MiB each: the multipart upload holds parts when it is aborted), and at a random
/// byte (printed on failure).
async fn a_client_that_disconnects_mid_upload_leaves_nothing_behind(backend: Backend) {
    let app = spawn_app_on(backend, |_| {}).await;
    let key = app.api_key("nina@example.com").await;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    let nanos = usize::try_from(nanos).unwrap_or(0);
    // Past the sniffed head, so that it too leaves a row to clean up.
    let random_cut = 65_537 + nanos % (24 * 1024 * 1024);
    for cut_after in [1_000usize, 70_000, 3_000_000, 20 * 1024 * 1024, random_cut] {
        let sent: Vec<Result<Bytes, std::io::Error>> = (0..cut_after)
            .step_by(64 * 1024)
            .map(|start| Ok(Bytes::from(vec![b'a'; (cut_after - start).min(64 * 1024)])))
            .collect();
        // The server gets a moment to act on what arrived, then the client goes away.
        let gone = stream::once(async {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            Err(std::io::Error::other("client gone"))
        });
        let chunks = stream::iter(sent).chain(gone);
        let part = Part::stream(reqwest::Body::wrap_stream(chunks)).file_name("cut.txt");
        let result = app
            .client
            .post(app.url("/api/upload"))
            .bearer_auth(&key)
            .multipart(Form::new().part("file", part))
            .send()
            .await;
        assert!(result.is_err(), "cut after {cut_after}: {result:?}");
    }
    assert!(
        app.eventually(|| async { app.rows_with_status("pending").await == 0 })
            .await,
        "every interrupted upload is marked failed"
    );
    // The first cut came before the head was sniffed: no row at all. The other four had
    // rows, now failed and their objects removed.
    assert!(
        app.eventually(|| async { app.rows_with_status("purged").await == 4 })
            .await,
        "random cut after {random_cut} bytes"
    );
    assert_eq!(app.rows_with_status("active").await, 0);
    assert!(
        app.eventually(|| async { app.leftovers().await.is_empty() })
            .await,
        "random cut after {random_cut} bytes: {:?}",
        app.leftovers().await
    );
}

/// Writes the start of an upload by hand: headers promising `declared` body bytes, the
/// part headers and `first` content bytes. The caller decides what comes next.
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helper: a panic is a failed test"
)]
async fn start_raw_upload(
    address: &str,
    key: &str,
    declared: usize,
    first: usize,
) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let host = address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST /api/upload HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: multipart/form-data; boundary=slow\r\nContent-Length: {declared}\r\n\r\n\
         --slow\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.txt\"\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b'a'; first]).await.unwrap();
    stream
}

#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helper: a panic is a failed test"
)]
async fn response_status_line(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut buffer = vec![0; 1024];
    let read = tokio::time::timeout(std::time::Duration::from_secs(15), stream.read(&mut buffer))
        .await
        .expect("the gateway never answered")
        .unwrap();
    String::from_utf8_lossy(&buffer[..read])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn an_upload_that_stops_sending_is_cut_off_with_408() {
    let app = spawn_app_with(|config| config.body_idle_timeout_secs = 1).await;
    let key = app.api_key("otto@example.com").await;
    // Past the sniffed head, so a row exists when the client stalls.
    let mut stream = start_raw_upload(&app.address, &key, 1_000_000, 10_000).await;
    assert_eq!(
        response_status_line(&mut stream).await,
        "HTTP/1.1 408 Request Timeout"
    );
    assert!(
        app.eventually(|| async { app.rows_with_status("purged").await == 1 })
            .await
    );
    assert_eq!(app.rows_with_status("active").await, 0);
    assert!(app.stored_objects().is_empty());
}

#[tokio::test]
async fn an_upload_that_trickles_is_cut_off_with_408() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app_with(|config| {
        config.min_upload_bytes_per_sec = 10_000;
        config.upload_rate_window_secs = 1;
    })
    .await;
    let key = app.api_key("pia@example.com").await;
    let mut stream = start_raw_upload(&app.address, &key, 1_000_000, 5_000).await;
    let trickle = async {
        for _ in 0..40 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            if stream.write_all(b"0123456789").await.is_err() {
                break;
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(2), trickle)
        .await
        .ok();
    assert_eq!(
        response_status_line(&mut stream).await,
        "HTTP/1.1 408 Request Timeout"
    );
    assert!(
        app.eventually(|| async { app.rows_with_status("purged").await == 1 })
            .await
    );
    assert_eq!(app.rows_with_status("active").await, 0);
}

/// Starts `POST /api/keys` with a JSON body of `declared` bytes, of which only `first`
/// are sent.
async fn start_raw_json(
    address: &str,
    key: &str,
    declared: usize,
    first: &[u8],
) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let host = address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST /api/keys HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first).await.unwrap();
    stream
}

#[tokio::test]
async fn any_body_that_stalls_or_trickles_is_cut_off_while_others_are_served() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app_with(|config| {
        config.body_idle_timeout_secs = 1;
        config.min_upload_bytes_per_sec = 10_000;
        config.upload_rate_window_secs = 1;
    })
    .await;
    let key = app.api_key("quinn@example.com").await;
    // A JSON body that stops after its first bytes.
    let mut stalled = start_raw_json(&app.address, &key, 1_000, br#"{"name":"#).await;
    // One that trickles 10 bytes every 100 ms (100 bytes/s).
    let mut trickled = start_raw_json(&app.address, &key, 60_000, br#"{"name":""#).await;
    let trickle = async {
        for _ in 0..40 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            if trickled.write_all(b"aaaaaaaaaa").await.is_err() {
                break;
            }
        }
    };
    // Meanwhile a normal request is answered at once.
    let served = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        app.get(&key, "/api/keys").await.status()
    };
    let (_, status) = tokio::join!(
        tokio::time::timeout(std::time::Duration::from_secs(3), trickle),
        served
    );
    assert_eq!(status, StatusCode::OK);
    for stream in [&mut stalled, &mut trickled] {
        assert_eq!(
            response_status_line(stream).await,
            "HTTP/1.1 408 Request Timeout"
        );
    }
    // Neither made a key: only the test's own exists.
    let keys: Value = app.get(&key, "/api/keys").await.json().await.unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_stopping_gateway_accepts_nothing_new_and_finishes_the_upload_in_flight() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app().await;
    let key = app.api_key("ravi@example.com").await;
    let (replica, stop, stopped) = app.spawn_stoppable_replica().await;
    let part_head =
        "--slow\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.txt\"\r\n\r\n";
    let tail = "\r\n--slow--\r\n";
    let (first, rest) = (100_000, 400_000);
    let declared = part_head.len() + first + rest + tail.len();
    let mut stream = start_raw_upload(&replica, &key, declared, first).await;
    // The upload is in flight once its row exists.
    assert!(
        app.eventually(|| async { app.rows_with_status("pending").await == 1 })
            .await
    );

    stop.send(()).unwrap();
    let host = replica.trim_start_matches("http://").to_owned();
    assert!(
        app.eventually(|| async { tokio::net::TcpStream::connect(&host).await.is_err() })
            .await,
        "the stopping gateway still accepts connections"
    );
    stream.write_all(&vec![b'a'; rest]).await.unwrap();
    stream.write_all(tail.as_bytes()).await.unwrap();

    assert_eq!(
        response_status_line(&mut stream).await,
        "HTTP/1.1 201 Created"
    );
    drop(stream);
    stopped.await.unwrap().unwrap();
    assert_eq!(app.rows_with_status("active").await, 1);
    let listed: Value = app.get(&key, "/api/files").await.json().await.unwrap();
    assert_eq!(listed["items"][0]["size"], first + rest);
}

#[tokio::test]
async fn a_compressed_upload_body_is_refused() {
    let app = spawn_app().await;
    let key = app.api_key("quin@example.com").await;
    let response = app
        .client
        .post(app.url("/api/upload"))
        .bearer_auth(&key)
        .header("Content-Encoding", "gzip")
        .multipart(Form::new().part("file", Part::bytes(b"x".to_vec()).file_name("a.txt")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(problem(response).await["code"], "unsupported_media_type");
    assert_eq!(app.rows_with_status("pending").await, 0);
}

/// A gateway that dies between the storage write and the metadata commit leaves a pending
/// row and its object, and nothing cleans up at once. One janitor pass (once the upload
/// is old enough to be called abandoned) leaves no object without a row and no active row
/// without its object.
#[tokio::test]
async fn a_crash_between_storing_and_recording_is_cleaned_up_by_one_janitor_pass() {
    let app = spawn_app_with(|config| {
        config.fault = Some(flowsvault_gateway::config::Fault::CrashAfterStore);
    })
    .await;
    let key = app.api_key("olga@example.com").await;
    let crashed = app
        .upload(&key, "report.txt", b"bytes that were stored".to_vec())
        .await;
    assert_eq!(crashed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    // What the crash left: the object and a pending row, for as long as anyone waits.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.stored_objects().len(), 1);
    assert_eq!(app.rows_with_status("pending").await, 1);

    // Not yet abandoned (the janitor waits FLOWSVAULT_STALE_UPLOAD_SECS): untouched.
    let cleanup = |app: &crate::helpers::TestApp| {
        app.client
            .post(app.url("/api/admin/cleanup"))
            .bearer_auth("test-cron-secret")
            .send()
    };
    let report: Value = cleanup(&app).await.unwrap().json().await.unwrap();
    assert_eq!(report["staleUploads"], 0);
    assert_eq!(app.stored_objects().len(), 1);

    // Time is a parameter: the row is made older than the stale age, not waited for.
    app.age_rows(7 * 3600).await;
    let report: Value = cleanup(&app).await.unwrap().json().await.unwrap();
    assert_eq!(report["staleUploads"], 1, "{report}");
    assert_eq!(report["failures"], 0, "{report}");
    assert!(app.stored_objects().is_empty());
    assert_eq!(app.rows_with_status("pending").await, 0);
    assert_eq!(app.rows_with_status("active").await, 0);
    assert_eq!(app.rows_with_status("purged").await, 1);
}
