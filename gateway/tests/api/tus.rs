#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests fail the test they serve; clippy sees only #[test] bodies"
)]

//! The tus 1.0.0 endpoint, case by case (modelled on tusd's handler tests), with real
//! services behind it.

use base64::Engine;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reqwest::{Method, StatusCode, header};
use serde_json::Value;
use sha1::{Digest, Sha1};

use crate::helpers::{
    Backend, TestApp, png_bytes, problem, sha256_hex, spawn_app, spawn_app_on, spawn_app_with,
};

fn encode(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

struct Tus<'a> {
    app: &'a TestApp,
    key: String,
}

impl<'a> Tus<'a> {
    async fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            key: app.api_key("tus@example.com").await,
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.app
            .client
            .request(method, self.app.url(path))
            .bearer_auth(&self.key)
            .header("Tus-Resumable", "1.0.0")
    }

    /// Creates an upload of `length` bytes named `name`; returns its path.
    async fn create(&self, name: &str, length: u64) -> String {
        let response = self
            .request(Method::POST, "/api/uploads")
            .header("Upload-Length", length.to_string())
            .header(
                "Upload-Metadata",
                format!("filename {},duration {}", encode(name), encode("1d")),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()["tus-resumable"], "1.0.0");
        assert!(response.headers().contains_key("upload-expires"));
        response.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .to_owned()
    }

    async fn patch(&self, path: &str, offset: u64, body: Vec<u8>) -> reqwest::Response {
        self.request(Method::PATCH, path)
            .header("Upload-Offset", offset.to_string())
            .header(header::CONTENT_TYPE, "application/offset+octet-stream")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// The file a finished upload became, and its bytes as downloaded.
    async fn finished(&self, id: &str) -> (Value, bytes::Bytes) {
        let file = self
            .app
            .get(&self.key, &format!("/api/files/{id}"))
            .await
            .json()
            .await
            .unwrap();
        let bytes = self
            .app
            .get(&self.key, &format!("/api/download/{id}"))
            .await
            .bytes()
            .await
            .unwrap();
        (file, bytes)
    }

    async fn offset(&self, path: &str) -> (StatusCode, Option<u64>) {
        let response = self.request(Method::HEAD, path).send().await.unwrap();
        let offset = response
            .headers()
            .get("upload-offset")
            .map(|value| value.to_str().unwrap().parse().unwrap());
        (response.status(), offset)
    }
}

fn offset_of(response: &reqwest::Response) -> u64 {
    response.headers()["upload-offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn execute(app: &TestApp, sql: &str) {
    let mut connection = AsyncPgConnection::establish(&app.files_database_url)
        .await
        .unwrap();
    diesel::sql_query(sql)
        .execute(&mut connection)
        .await
        .unwrap();
}

fn staged_files(app: &TestApp) -> usize {
    std::fs::read_dir(app.objects.path().join(".staging")).map_or(0, |entries| entries.count())
}

#[tokio::test]
async fn options_tell_the_capabilities_without_authentication() {
    let app = spawn_app().await;
    let response = app
        .client
        .request(Method::OPTIONS, app.url("/api/uploads"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let headers = response.headers();
    assert_eq!(headers["tus-resumable"], "1.0.0");
    assert_eq!(headers["tus-version"], "1.0.0");
    let extensions = headers["tus-extension"].to_str().unwrap();
    for extension in [
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "termination",
        "expiration",
        "checksum",
    ] {
        assert!(
            extensions.split(',').any(|item| item == extension),
            "{extension}"
        );
    }
    assert_eq!(headers["tus-max-size"], (100 * 1024 * 1024).to_string());
    assert_eq!(headers["tus-checksum-algorithm"], "sha1,sha256");
}

#[tokio::test]
async fn an_upload_in_two_patches_becomes_the_file_with_its_id() {
    let app = spawn_app().await;
    let tus = Tus::new(&app).await;
    let bytes = png_bytes(20_000, 5);
    let path = tus.create("two parts.png", bytes.len() as u64).await;
    let id = path.rsplit('/').next().unwrap().to_owned();

    let head = tus.request(Method::HEAD, &path).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["upload-offset"], "0");
    assert_eq!(head.headers()["upload-length"], bytes.len().to_string());
    assert_eq!(head.headers()[header::CACHE_CONTROL], "no-store");
    assert!(
        head.headers()["upload-metadata"]
            .to_str()
            .unwrap()
            .contains(&encode("two parts.png"))
    );
    // Not a file yet.
    assert_eq!(
        app.get(&tus.key, &format!("/api/files/{id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    let first = tus.patch(&path, 0, bytes[..12_345].to_vec()).await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset_of(&first), 12_345);
    assert_eq!(tus.offset(&path).await, (StatusCode::OK, Some(12_345)));
    let last = tus.patch(&path, 12_345, bytes[12_345..].to_vec()).await;
    assert_eq!(last.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset_of(&last), bytes.len() as u64);

    let (file, downloaded) = tus.finished(&id).await;
    assert_eq!(file["status"], "active");
    assert_eq!(file["size"], bytes.len());
    assert_eq!(file["duration"], "1d");
    assert_eq!(file["sha256"], sha256_hex(&bytes));
    assert_eq!(sha256_hex(&downloaded), sha256_hex(&bytes));
    assert_eq!(staged_files(&app), 0, "nothing is left in staging");
    // HEAD on a finished upload says it is complete.
    assert_eq!(
        tus.offset(&path).await,
        (StatusCode::OK, Some(bytes.len() as u64))
    );
}

#[tokio::test]
async fn protocol_errors_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let tus = Tus::new(&app).await;
    let path = tus.create("notes.txt", 10).await;

    let no_version = app
        .client
        .patch(app.url(&path))
        .bearer_auth(&tus.key)
        .header("Upload-Offset", "0")
        .header(header::CONTENT_TYPE, "application/offset+octet-stream")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(no_version.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(no_version.headers()["tus-version"], "1.0.0");

    let mismatch = tus.patch(&path, 3, b"hello".to_vec()).await;
    assert_eq!(mismatch.status(), StatusCode::CONFLICT);
    assert_eq!(problem(mismatch).await["code"], "offset_mismatch");
    let negative = tus
        .request(Method::PATCH, &path)
        .header("Upload-Offset", "-1")
        .header(header::CONTENT_TYPE, "application/offset+octet-stream")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(negative.status(), StatusCode::BAD_REQUEST);
    let wrong_type = tus
        .request(Method::PATCH, &path)
        .header("Upload-Offset", "0")
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(tus.offset(&path).await, (StatusCode::OK, Some(0)));

    // Past Upload-Length: 413, and only the bytes within it are kept.
    let overflow = tus.patch(&path, 0, b"0123456789abcdef".to_vec()).await;
    assert_eq!(overflow.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(tus.offset(&path).await, (StatusCode::OK, Some(10)));
    let id = path.rsplit('/').next().unwrap();
    let kept = app
        .get(&tus.key, &format!("/api/download/{id}"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(kept.as_ref(), b"0123456789");

    // A PATCH to a finished upload at its end changes nothing.
    let finished = tus.patch(&path, 10, Vec::new()).await;
    assert_eq!(finished.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset_of(&finished), 10);

    // Creation needs a length and a name; the length is capped.
    let nameless = tus
        .request(Method::POST, "/api/uploads")
        .header("Upload-Length", "5")
        .send()
        .await
        .unwrap();
    assert_eq!(nameless.status(), StatusCode::BAD_REQUEST);
    let lengthless = tus
        .request(Method::POST, "/api/uploads")
        .header("Upload-Metadata", format!("filename {}", encode("a.txt")))
        .send()
        .await
        .unwrap();
    assert_eq!(lengthless.status(), StatusCode::BAD_REQUEST);
    let huge = tus
        .request(Method::POST, "/api/uploads")
        .header("Upload-Length", (200 * 1024 * 1024).to_string())
        .header("Upload-Metadata", format!("filename {}", encode("a.txt")))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let not_allowed = tus
        .request(Method::POST, "/api/uploads")
        .header("Upload-Length", "5")
        .header("Upload-Metadata", format!("filename {}", encode("run.exe")))
        .send()
        .await
        .unwrap();
    assert_eq!(not_allowed.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Someone else's upload does not exist.
    let stranger = app.api_key("stranger@example.com").await;
    let other = app
        .client
        .head(app.url(&path))
        .bearer_auth(&stranger)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_chunk_that_fails_its_checksum_is_discarded_with_460() {
    let app = spawn_app().await;
    let tus = Tus::new(&app).await;
    let path = tus.create("sum.txt", 10).await;
    let digest =
        |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(Sha1::digest(bytes));
    let checked = |offset: u64, body: &'static [u8], sum: String| {
        tus.request(Method::PATCH, &path)
            .header("Upload-Offset", offset.to_string())
            .header(header::CONTENT_TYPE, "application/offset+octet-stream")
            .header("Upload-Checksum", format!("sha1 {sum}"))
            .body(body)
            .send()
    };
    let wrong = checked(0, b"hello", digest(b"jello")).await.unwrap();
    assert_eq!(wrong.status().as_u16(), 460);
    assert_eq!(problem(wrong).await["code"], "checksum_mismatch");
    assert_eq!(tus.offset(&path).await, (StatusCode::OK, Some(0)));
    let right = checked(0, b"hello", digest(b"hello")).await.unwrap();
    assert_eq!(right.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset_of(&right), 5);
    let unknown = tus
        .request(Method::PATCH, &path)
        .header("Upload-Offset", "5")
        .header(header::CONTENT_TYPE, "application/offset+octet-stream")
        .header("Upload-Checksum", "md5 abc=")
        .body("world")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    // The discarded chunk is in no digest: the file is exactly what was acknowledged.
    let last = checked(5, b"world", digest(b"world")).await.unwrap();
    assert_eq!(last.status(), StatusCode::NO_CONTENT);
    let id = path.rsplit('/').next().unwrap();
    let file: serde_json::Value = app
        .get(&tus.key, &format!("/api/files/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(file["sha256"], sha256_hex(b"helloworld"));
}

#[tokio::test]
async fn an_expired_upload_is_410_and_a_terminated_one_404() {
    let app = spawn_app().await;
    let tus = Tus::new(&app).await;
    let expiring = tus.create("late.txt", 10).await;
    assert_eq!(
        tus.patch(&expiring, 0, b"hello".to_vec()).await.status(),
        StatusCode::NO_CONTENT
    );
    let id = expiring.rsplit('/').next().unwrap();
    execute(
        &app,
        &format!("UPDATE upload_sessions SET expires_at = now() WHERE id = '{id}'"),
    )
    .await;
    assert_eq!(tus.offset(&expiring).await.0, StatusCode::GONE);
    let late = tus.patch(&expiring, 5, b"world".to_vec()).await;
    assert_eq!(late.status(), StatusCode::GONE);
    assert_eq!(problem(late).await["code"], "upload_expired");

    let terminated = tus.create("gone.txt", 10).await;
    assert_eq!(
        tus.patch(&terminated, 0, b"hello".to_vec()).await.status(),
        StatusCode::NO_CONTENT
    );
    let staged_before = staged_files(&app);
    let deleted = tus
        .request(Method::DELETE, &terminated)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(tus.offset(&terminated).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        tus.patch(&terminated, 5, b"world".to_vec()).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        staged_files(&app),
        staged_before - 1,
        "its staged bytes are removed"
    );
}

#[tokio::test]
async fn content_that_does_not_match_its_extension_ends_the_upload() {
    let app = spawn_app().await;
    let tus = Tus::new(&app).await;
    let path = tus.create("photo.png", 100).await;
    let refused = tus
        .patch(
            &path,
            0,
            [b"<html><script>".as_slice(), &[b' '; 86]].concat(),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(problem(refused).await["code"], "content_mismatch");
    assert_eq!(tus.offset(&path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(staged_files(&app), 0);
    assert_eq!(app.rows_with_status("active").await, 0);
}

/// A creation-with-upload refused for its headers creates no upload; one whose body
/// stalls still answers 201 with the upload's Location and the offset that holds, so
/// the client goes on from there instead of leaving an upload nobody can reach.
#[tokio::test]
async fn a_creation_with_upload_that_fails_leaves_no_unreachable_upload() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(|config| config.body_idle_timeout_secs = 1).await;
    let tus = Tus::new(&app).await;
    let metadata = format!("filename {}", encode("stalled.txt"));
    let bad_sum = tus
        .request(Method::POST, "/api/uploads")
        .header("Upload-Length", "10")
        .header("Upload-Metadata", &metadata)
        .header("Upload-Checksum", "sha1 not-base64!")
        .header(header::CONTENT_TYPE, "application/offset+octet-stream")
        .body("0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_sum.status(), StatusCode::BAD_REQUEST);
    let encoded = tus
        .request(Method::POST, "/api/uploads")
        .header("Upload-Length", "10")
        .header("Upload-Metadata", &metadata)
        .header(header::CONTENT_ENCODING, "gzip")
        .header(header::CONTENT_TYPE, "application/offset+octet-stream")
        .body("0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(encoded.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(app.rows_with_status("pending").await, 0);

    // 10,000 bytes of 100,000, then nothing.
    let host = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST /api/uploads HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\
         Tus-Resumable: 1.0.0\r\nUpload-Length: 100000\r\nUpload-Metadata: {metadata}\r\n\
         Content-Type: application/offset+octet-stream\r\nContent-Length: 100000\r\n\r\n",
        tus.key
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&[b'x'; 10_000]).await.unwrap();
    let mut answer = vec![0; 4096];
    let read = stream.read(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]).to_lowercase();
    assert!(answer.starts_with("http/1.1 201 created"), "{answer}");
    assert!(answer.contains("upload-offset: 10000\r\n"), "{answer}");
    let path = answer
        .lines()
        .find_map(|line| line.strip_prefix("location: "))
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(tus.offset(&path).await, (StatusCode::OK, Some(10_000)));
    let rest = tus.patch(&path, 10_000, vec![b'y'; 90_000]).await;
    assert_eq!(rest.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.rows_with_status("active").await, 1);
}

#[tokio::test]
async fn creation_with_upload_and_a_deferred_length() {
    let app = spawn_app().await;
    let tus = Tus::new(&app).await;
    let created = tus
        .request(Method::POST, "/api/uploads")
        .header("Upload-Defer-Length", "1")
        .header(
            "Upload-Metadata",
            format!("filename {}", encode("later.txt")),
        )
        .header(header::CONTENT_TYPE, "application/offset+octet-stream")
        .body("first ")
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(offset_of(&created), 6);
    assert_eq!(created.headers()["upload-defer-length"], "1");
    let path = created.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let last = tus
        .request(Method::PATCH, &path)
        .header("Upload-Offset", "6")
        .header("Upload-Length", "12")
        .header(header::CONTENT_TYPE, "application/offset+octet-stream")
        .body("second")
        .send()
        .await
        .unwrap();
    assert_eq!(last.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset_of(&last), 12);
    let id = path.rsplit('/').next().unwrap();
    let body = app
        .get(&tus.key, &format!("/api/download/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(body, "first second");
}

#[tokio::test]
async fn two_writers_through_two_replicas_never_interleave() {
    let app = spawn_app().await;
    let replica = app.spawn_replica().await;
    let tus = Tus::new(&app).await;
    let path = tus.create("race.txt", 2_000_000).await;
    // A slow writer holds the upload's lease while its body trickles in.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let slow = tus
        .request(Method::PATCH, &path)
        .header("Upload-Offset", "0")
        .header(header::CONTENT_TYPE, "application/offset+octet-stream")
        .body(reqwest::Body::wrap_stream(
            tokio_stream::wrappers::ReceiverStream::new(receiver),
        ))
        .send();
    let slow = tokio::spawn(slow);
    sender.send(Ok(vec![b'a'; 100_000])).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let other = app
        .client
        .patch(format!("{replica}{path}"))
        .bearer_auth(&tus.key)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", "0")
        .header(header::CONTENT_TYPE, "application/offset+octet-stream")
        .body(vec![b'b'; 1_000_000])
        .send()
        .await
        .unwrap();
    assert!(
        [StatusCode::LOCKED, StatusCode::CONFLICT].contains(&other.status()),
        "{}",
        other.status()
    );
    for _ in 0..19 {
        sender.send(Ok(vec![b'a'; 100_000])).await.unwrap();
    }
    drop(sender);
    let slow = slow.await.unwrap().unwrap();
    assert_eq!(slow.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset_of(&slow), 2_000_000);
    let id = path.rsplit('/').next().unwrap();
    let body = app
        .get(&tus.key, &format!("/api/download/{id}"))
        .await
        .bytes()
        .await
        .unwrap();
    assert!(body.iter().all(|byte| *byte == b'a') && body.len() == 2_000_000);
}

#[tokio::test]
async fn a_body_cut_off_keeps_the_bytes_that_arrived() {
    let app = spawn_app().await;
    let tus = Tus::new(&app).await;
    let path = tus.create("cut.txt", 1_000_000).await;
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let patch = tus
        .request(Method::PATCH, &path)
        .header("Upload-Offset", "0")
        .header(header::CONTENT_TYPE, "application/offset+octet-stream")
        .body(reqwest::Body::wrap_stream(
            tokio_stream::wrappers::ReceiverStream::new(receiver),
        ))
        .send();
    let patch = tokio::spawn(patch);
    for _ in 0..3 {
        sender.send(Ok(vec![b'x'; 100_000])).await.unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // The client's connection breaks mid-body.
    sender
        .send(Err(std::io::Error::other("cut")))
        .await
        .unwrap();
    let _ = patch.await.unwrap();
    let kept = tus
        .app
        .eventually(|| async {
            tus.offset(&path)
                .await
                .1
                .is_some_and(|offset| offset == 300_000)
        })
        .await;
    assert!(kept, "offset is {:?}", tus.offset(&path).await);
    let resumed = tus.patch(&path, 300_000, vec![b'y'; 700_000]).await;
    assert_eq!(resumed.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset_of(&resumed), 1_000_000);
    // The digest carried from PATCH to PATCH covers exactly the bytes kept.
    let mut expected = vec![b'x'; 300_000];
    expected.extend_from_slice(&[b'y'; 700_000]);
    let id = path.rsplit('/').next().unwrap();
    let file: serde_json::Value = tus
        .app
        .get(&tus.key, &format!("/api/files/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(file["sha256"], sha256_hex(&expected));
}

/// Storage lost an upload's staged bytes (its staging area is gone): the next PATCH finds
/// fewer bytes there than were acknowledged, and the offset goes back to what storage
/// holds, so the client sends them again rather than failing at that offset for good.
#[tokio::test]
async fn a_patch_after_storage_lost_the_staged_bytes_moves_the_offset_back() {
    let app = spawn_app().await;
    let tus = Tus::new(&app).await;
    let path = tus.create("lost.txt", 600_000).await;
    let first = tus.patch(&path, 0, vec![b'a'; 300_000]).await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    let staging = app.objects.path().join(".staging");
    for entry in std::fs::read_dir(&staging).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let lost = tus.patch(&path, 300_000, vec![b'b'; 300_000]).await;
    assert_eq!(lost.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset_of(&lost), 0);
    assert_eq!(tus.offset(&path).await, (StatusCode::OK, Some(0)));
    let mut bytes = vec![b'a'; 300_000];
    bytes.extend_from_slice(&[b'b'; 300_000]);
    let again = tus.patch(&path, 0, bytes.clone()).await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset_of(&again), 600_000);
    let id = path.rsplit('/').next().unwrap();
    let stored = app
        .get(&tus.key, &format!("/api/download/{id}"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(sha256_hex(&stored), sha256_hex(&bytes));
}

/// The same loss met by a PATCH with a checksum and a body larger than the gateway reads
/// ahead: the body goes unread, so it cannot pass its checksum, and the offset goes back
/// all the same, so the client is not held at an offset storage can never continue from.
#[tokio::test]
async fn a_checked_patch_after_storage_lost_the_staged_bytes_moves_the_offset_back() {
    let app = spawn_app().await;
    let tus = Tus::new(&app).await;
    let body = vec![b'b'; 8 << 20];
    let path = tus
        .create("lost-checked.txt", 300_000 + body.len() as u64)
        .await;
    let first = tus.patch(&path, 0, vec![b'a'; 300_000]).await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    for entry in std::fs::read_dir(app.objects.path().join(".staging")).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let sum = base64::engine::general_purpose::STANDARD.encode(Sha1::digest(&body));
    let lost = tus
        .request(Method::PATCH, &path)
        .header("Upload-Offset", "300000")
        .header(header::CONTENT_TYPE, "application/offset+octet-stream")
        .header("Upload-Checksum", format!("sha1 {sum}"))
        .body(body)
        .send()
        .await;
    // Answered before the body is all sent, the client may see the connection close.
    if let Ok(lost) = lost {
        assert!(
            [204, 460].contains(&lost.status().as_u16()),
            "{}",
            lost.status()
        );
    }
    assert_eq!(tus.offset(&path).await, (StatusCode::OK, Some(0)));
}

#[tokio::test]
async fn acknowledged_bytes_survive_a_restart_of_storage_and_gateway() {
    let mut app = spawn_app().await;
    let tus = Tus::new(&app).await;
    let bytes = png_bytes(3_000_000, 11);
    let path = tus.create("big.png", bytes.len() as u64).await;
    let first = tus.patch(&path, 0, bytes[..1_234_567].to_vec()).await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    let key = tus.key.clone();
    drop(tus);

    app.storage.restart().await;
    // A new gateway (the old one keeps nothing the new one needs).
    let gateway = app.spawn_replica().await;
    let resume = |method: Method| {
        app.client
            .request(method, format!("{gateway}{path}"))
            .bearer_auth(&key)
            .header("Tus-Resumable", "1.0.0")
    };
    let head = resume(Method::HEAD).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["upload-offset"], "1234567");
    let rest = resume(Method::PATCH)
        .header("Upload-Offset", "1234567")
        .header(header::CONTENT_TYPE, "application/offset+octet-stream")
        .body(bytes[1_234_567..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), StatusCode::NO_CONTENT);
    let id = path.rsplit('/').next().unwrap();
    // The restarted storage-service had no running digest: it hashed the staged file.
    let file: serde_json::Value = app
        .get(&key, &format!("/api/files/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(file["sha256"], sha256_hex(&bytes));
    let stored = app
        .get(&key, &format!("/api/download/{id}"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(sha256_hex(&stored), sha256_hex(&bytes));
}

/// Puts a finished upload back as a failed finishing leaves it: the file pending again,
/// and the lease given up (a PATCH whose finishing failed releases it).
async fn leave_unfinished(app: &TestApp, id: &str) {
    execute(
        app,
        &format!(
            "UPDATE file_metadata SET status = 'pending', sha256 = NULL, size = 0,
                    uploaded_at = NULL
             WHERE id = '{id}'"
        ),
    )
    .await;
    execute(
        app,
        &format!(
            "UPDATE upload_sessions SET lease_holder = NULL, lease_until = NULL
             WHERE id = '{id}'"
        ),
    )
    .await;
}

/// The last PATCH recorded the full offset, its commit made the object, and then the record
/// of the file failed: the row stays pending with nothing staged. A HEAD must not report
/// the full offset of a file that does not exist (clients stop there): it makes the file,
/// from the object already there, on local disk and on S3, for an empty file too.
#[tokio::test]
async fn a_full_upload_left_unfinished_is_finished_by_the_next_head() {
    for backend in [Backend::Local, Backend::S3] {
        let app = spawn_app_on(backend, |_| {}).await;
        let tus = Tus::new(&app).await;
        for bytes in [png_bytes(300_000, 7), Vec::new()] {
            let length = bytes.len() as u64;
            // Not `Tus::create`: an empty upload is finished by its creation.
            let created = tus
                .request(Method::POST, "/api/uploads")
                .header("Upload-Length", length.to_string())
                .header(
                    "Upload-Metadata",
                    format!("filename {}", encode("whole.png")),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(created.status(), StatusCode::CREATED);
            let path = created.headers()[header::LOCATION]
                .to_str()
                .unwrap()
                .to_owned();
            if length > 0 {
                let written = tus.patch(&path, 0, bytes.clone()).await;
                assert_eq!(written.status(), StatusCode::NO_CONTENT);
            }
            let id = path.rsplit('/').next().unwrap();
            leave_unfinished(&app, id).await;
            let missing = app.get(&tus.key, &format!("/api/files/{id}")).await;
            assert_eq!(missing.status(), StatusCode::NOT_FOUND, "{backend:?}");
            // The earlier commit also failed to remove all it staged: a stray spool
            // shorter than the upload must not hide the object it made.
            let stray = (backend == Backend::Local && length > 0).then(|| {
                let objects = app.stored_objects();
                let object = objects.iter().find(|name| name.starts_with(id)).unwrap();
                let spool = app.objects.path().join(format!(".staging/{object}.staged"));
                std::fs::write(&spool, b"stray").unwrap();
                spool
            });

            assert_eq!(tus.offset(&path).await, (StatusCode::OK, Some(length)));
            let (file, stored) = tus.finished(id).await;
            assert_eq!(file["status"], "active", "{backend:?}: {file}");
            assert_eq!(file["size"], length);
            assert_eq!(file["sha256"], sha256_hex(&bytes));
            assert_eq!(sha256_hex(&stored), sha256_hex(&bytes));
            if let Some(spool) = stray {
                assert!(!spool.exists(), "{spool:?} is left");
            }
        }
    }
}

/// As above, but the object is gone too (storage lost its staging area): the upload can
/// never be finished. HEAD fails it and answers 404, on which tus clients start again,
/// instead of an error on every HEAD until the upload expires.
#[tokio::test]
async fn a_full_upload_whose_bytes_are_lost_is_failed_by_the_next_head() {
    let app = spawn_app().await;
    let tus = Tus::new(&app).await;
    let bytes = png_bytes(200_000, 3);
    let path = tus.create("lost.png", bytes.len() as u64).await;
    let written = tus.patch(&path, 0, bytes).await;
    assert_eq!(written.status(), StatusCode::NO_CONTENT);
    let id = path.rsplit('/').next().unwrap();
    leave_unfinished(&app, id).await;
    let objects = app.stored_objects();
    assert_eq!(objects.len(), 1, "{objects:?}");
    std::fs::remove_file(app.objects.path().join(&objects[0])).unwrap();

    let head = tus.request(Method::HEAD, &path).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    assert_eq!(tus.offset(&path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.rows_with_status("pending").await, 0);
    assert_eq!(app.rows_with_status("active").await, 0);
    assert_eq!(staged_files(&app), 0);
}

/// An unfinished upload past its Upload-Expires is the janitor's: one pass removes its
/// staged bytes and its record, and a live upload next to it is left alone.
#[tokio::test]
async fn the_janitor_removes_uploads_past_their_expiry_and_only_those() {
    let app = spawn_app().await;
    let tus = Tus::new(&app).await;
    let abandoned = tus.create("abandoned.txt", 10).await;
    let live = tus.create("live.txt", 10).await;
    for path in [&abandoned, &live] {
        assert_eq!(
            tus.patch(path, 0, b"hello".to_vec()).await.status(),
            StatusCode::NO_CONTENT
        );
    }
    assert_eq!(staged_files(&app), 2);
    let cleanup = || async {
        let report: serde_json::Value = app
            .client
            .post(app.url("/api/admin/cleanup"))
            .bearer_auth("test-cron-secret")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        report
    };
    // Before its expiry an upload waits for its client, however old it is.
    execute(
        &app,
        "UPDATE file_metadata SET created_at = now() - interval '7 days'",
    )
    .await;
    assert_eq!(cleanup().await["staleUploads"], 0);
    assert_eq!(staged_files(&app), 2);

    // Time is a parameter: the session's expiry is moved, not waited for.
    let id = abandoned.rsplit('/').next().unwrap();
    execute(
        &app,
        &format!("UPDATE upload_sessions SET expires_at = now() WHERE id = '{id}'"),
    )
    .await;
    let report = cleanup().await;
    assert_eq!(report["staleUploads"], 1, "{report}");
    assert_eq!(report["failures"], 0, "{report}");
    assert_eq!(
        staged_files(&app),
        1,
        "the abandoned upload's bytes are gone"
    );
    assert_eq!(app.rows_with_status("purged").await, 1);
    assert_eq!(app.rows_with_status("pending").await, 1);

    // The live one finishes as if nothing happened.
    assert_eq!(
        tus.patch(&live, 5, b"world".to_vec()).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.rows_with_status("active").await, 1);
}

/// Bytes in the staging directory: the spools of uploads in progress.
fn staged_bytes(app: &TestApp) -> u64 {
    std::fs::read_dir(app.objects.path().join(".staging")).map_or(0, |entries| {
        entries
            .map(|entry| entry.unwrap())
            .filter(|entry| entry.file_name().to_string_lossy().contains(".staged"))
            .map(|entry| entry.metadata().unwrap().len())
            .sum()
    })
}

/// On S3 a resumable upload is one multipart upload of equal parts, sent as the upload
/// goes: the staging area holds only the tail that does not fill a part (and the PATCH in
/// progress). The parts and the digest survive a restart of storage-service, the
/// janitor's stale-write pass leaves the live multipart upload alone, and termination
/// aborts it.
#[tokio::test]
async fn on_s3_parts_go_up_as_the_upload_proceeds() {
    const MIB: usize = 1024 * 1024;
    // storage-service's parts are 8 MiB; PATCHes of 3 MiB.
    let (part, patch) = (8 * MIB, 3 * MIB);
    let mut app = spawn_app_on(Backend::S3, |_| {}).await;
    let tus = Tus::new(&app).await;
    let bytes = png_bytes(20 * MIB, 5);
    let path = tus.create("parts.png", bytes.len() as u64).await;
    let id = path.rsplit('/').next().unwrap().to_owned();
    let mut offset = 0;
    while offset < 13 * MIB {
        let end = (offset + patch).min(bytes.len());
        let response = tus
            .patch(&path, offset as u64, bytes[offset..end].to_vec())
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        offset = end;
        assert!(
            staged_bytes(&app) <= (part + patch) as u64,
            "{} bytes staged at offset {offset}",
            staged_bytes(&app)
        );
    }
    // One part is on S3, in a multipart upload still open.
    assert_eq!(
        app.leftovers().await.len(),
        1,
        "{:?}",
        app.leftovers().await
    );
    // The janitor's pass for interrupted writes knows it is not one of them.
    app.abort_stale_writes_of_own_keys().await;
    assert_eq!(app.leftovers().await.len(), 1);

    let key = tus.key.clone();
    drop(tus);
    app.storage.restart().await;
    let tus = Tus { app: &app, key };
    while offset < bytes.len() {
        let end = (offset + patch).min(bytes.len());
        let response = tus
            .patch(&path, offset as u64, bytes[offset..end].to_vec())
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "at {offset}");
        offset = end;
    }
    assert_eq!(staged_bytes(&app), 0);
    // 20 MiB: two parts of 8 MiB and the last of 4.
    assert!(
        app.s3_etag(&id).await.ends_with("-3\""),
        "{}",
        app.s3_etag(&id).await
    );
    let (file, stored) = tus.finished(&id).await;
    assert_eq!(file["sha256"], sha256_hex(&bytes));
    assert_eq!(sha256_hex(&stored), sha256_hex(&bytes));
    let metadata = app.s3_metadata(&id).await;
    assert_eq!(
        metadata["originalname"],
        file["originalName"].as_str().unwrap()
    );
    assert_eq!(metadata["duration"], file["duration"].as_str().unwrap());
    assert_eq!(metadata["userid"].len(), 36, "a uuid: {metadata:?}");
    assert!(metadata.contains_key("uploadedat"), "{metadata:?}");

    // Terminated part-way: its multipart upload is aborted, nothing is left.
    let abandoned = tus.create("abandoned.png", bytes.len() as u64).await;
    for start in [0, 9 * MIB] {
        let end = start + 9 * MIB;
        let response = tus
            .patch(&abandoned, start as u64, bytes[start..end].to_vec())
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    let response = tus
        .request(Method::DELETE, &abandoned)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let left = app.leftovers().await;
    assert_eq!(left.len(), 1, "only the finished file is left: {left:?}");
    assert_eq!(staged_bytes(&app), 0);
}

/// The `X-RateLimit-Remaining` of a counted answer; `None` when it was not counted.
fn remaining(response: &reqwest::Response) -> Option<u64> {
    response
        .headers()
        .get("x-ratelimit-remaining")
        .map(|value| value.to_str().unwrap().parse().unwrap())
}

#[tokio::test]
async fn an_uploads_bytes_are_not_counted_but_other_callers_are() {
    let app = crate::helpers::spawn_app_with(|config| {
        config.rate_limit_api = "4/1m".into();
        config.api_key_cache_ttl_secs = 1;
    })
    .await;
    let tus = Tus::new(&app).await;
    // The creation counts as an upload, not as an API call.
    let path = tus.create("counted.txt", 8).await;
    // This replica has not seen the key move this upload yet: the first PATCH is
    // counted; its success is the pass for the rest.
    let first = tus.patch(&path, 0, b"x".to_vec()).await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    assert_eq!(remaining(&first), Some(3));
    for offset in 1..6 {
        let response = tus.patch(&path, offset, b"x".to_vec()).await;
        assert_eq!(
            response.status(),
            StatusCode::NO_CONTENT,
            "PATCH at {offset}"
        );
        assert_eq!(remaining(&response), None);
    }
    assert_eq!(tus.offset(&path).await, (StatusCode::OK, Some(6)));
    // Once the key's verification has lapsed (1 s here), the pass still holds: a pause
    // in an upload does not make its next requests count.
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
        let response = tus.request(Method::HEAD, &path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(remaining(&response), None);
    }
    // The pass is for that upload: looking up others is counted, even with a good key.
    let unknown = format!("/api/uploads/{}", uuid::Uuid::new_v4());
    let response = tus.request(Method::HEAD, &unknown).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(remaining(&response), Some(2));

    // A key nobody issued costs a verification each time: counted as an API call, per
    // address, and refused past the limit before that work is done.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = app
            .client
            .patch(app.url(&path))
            .bearer_auth("fv_not-a-key-anybody-issued")
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", "6")
            .header(header::CONTENT_TYPE, "application/offset+octet-stream")
            .body(b"zz".to_vec())
            .send()
            .await
            .unwrap();
        assert!(remaining(&response).is_some());
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 429, 429]);

    // The owner's upload goes on, from the same address.
    let response = tus.patch(&path, 6, b"yy".to_vec()).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // Downloads are a class of their own, so the address's spent API calls do not hide it.
    let id = path.rsplit('/').next().unwrap();
    let download = app.get(&tus.key, &format!("/api/download/{id}")).await;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(&download.bytes().await.unwrap()[..], b"xxxxxxyy");
}

/// Clients behind proxies that only pass GET and POST (tus-js-client's
/// overridePatchMethod) move their uploads uncounted too.
#[tokio::test]
async fn patches_sent_as_overridden_posts_are_not_counted_either() {
    let app = crate::helpers::spawn_app_with(|config| config.rate_limit_api = "2/1m".into()).await;
    let tus = Tus::new(&app).await;
    let path = tus.create("override.txt", 5).await;
    for offset in 0..5 {
        let response = tus
            .request(Method::POST, &path)
            .header("X-HTTP-Method-Override", "PATCH")
            .header("Upload-Offset", offset.to_string())
            .header(header::CONTENT_TYPE, "application/offset+octet-stream")
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "at {offset}");
        // The first is counted; its success is the pass for the rest.
        let expected = (offset == 0).then_some(1);
        assert_eq!(remaining(&response), expected, "at {offset}");
    }
    assert_eq!(app.rows_with_status("active").await, 1);
}

#[tokio::test]
async fn a_revoked_key_loses_its_pass_after_one_failure() {
    let app = crate::helpers::spawn_app_with(|config| {
        config.rate_limit_api = "3/1m".into();
        config.api_key_cache_ttl_secs = 1;
    })
    .await;
    let tus = Tus::new(&app).await;
    let path = tus.create("revoked.txt", 8).await;
    let first = tus.patch(&path, 0, b"x".to_vec()).await;
    assert_eq!(remaining(&first), Some(2));
    // Revoked behind this replica's back (as through another replica), which keeps
    // trusting the key until its cache lapses (1 s here).
    let mut connection = AsyncPgConnection::establish(&app.auth_database_url)
        .await
        .unwrap();
    diesel::sql_query("UPDATE api_keys SET revoked_at = now()")
        .execute(&mut connection)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;

    // With the pass: verified uncounted, refused, and counted afterwards.
    let response = tus.patch(&path, 1, b"y".to_vec()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(remaining(&response), None);
    // The pass is gone: counted up front (the one before was counted: 0 left).
    let response = tus.request(Method::HEAD, &path).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(remaining(&response), Some(0));
    // And now refused before any verification.
    let response = tus.patch(&path, 1, b"y".to_vec()).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    // A tus answer, like every other.
    assert_eq!(response.headers()["tus-resumable"], "1.0.0");
    assert_eq!(problem(response).await["code"], "rate_limited");
}
