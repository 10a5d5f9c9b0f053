#![allow(
    clippy::unwrap_used,
    reason = "scenarios run on several backends fail the test they serve; clippy sees only #[test] bodies"
)]

use reqwest::{
    StatusCode,
    multipart::{Form, Part},
};
use serde_json::Value;

use crate::helpers::{png_bytes, problem, sha256_hex, spawn_app};

#[tokio::test]
async fn an_upload_is_stored_listed_downloaded_byte_identical_and_deleted() {
    let app = spawn_app().await;
    let key = app.api_key("alice@example.com").await;
    let content = png_bytes(3 * 1024 * 1024 + 17, 1);

    let response = app.upload(&key, "holiday photo.png", content.clone()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let file: Value = response.json().await.unwrap();
    let id = file["id"].as_str().unwrap();
    assert_eq!(location, format!("/api/files/{id}"));
    assert_eq!(file["originalName"], "holiday photo.png");
    assert_eq!(file["size"], content.len());
    assert_eq!(file["sha256"], sha256_hex(&content));
    assert_eq!(file["mimeType"], "image/png");
    assert_eq!(file["extension"], "png");
    assert_eq!(file["status"], "active");
    assert_eq!(file["duration"], "unlimited");
    assert_eq!(file["expiresAt"], Value::Null);
    assert_eq!(file["downloadUrl"], format!("/api/download/{id}"));
    assert!(file["fileName"].as_str().unwrap().starts_with(id));

    let listed: Value = app.get(&key, "/api/files").await.json().await.unwrap();
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0], file);

    let fetched: Value = app.get(&key, &location).await.json().await.unwrap();
    assert_eq!(fetched, file);

    let download = app.get(&key, &format!("/api/download/{id}")).await;
    assert_eq!(download.status(), StatusCode::OK);
    let headers = download.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(
        headers["content-length"],
        content.len().to_string().as_str()
    );
    assert_eq!(
        headers["etag"],
        format!("\"{}\"", sha256_hex(&content)).as_str()
    );
    assert_eq!(headers["accept-ranges"], "bytes");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"holiday photo.png\"; filename*=UTF-8''holiday%20photo.png"
    );
    let downloaded = download.bytes().await.unwrap();
    assert_eq!(sha256_hex(&downloaded), sha256_hex(&content));

    assert_eq!(
        app.delete(&key, &location).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&key, &location).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&key, &format!("/api/download/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete(&key, &location).await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(app.stored_objects().is_empty());
    assert_eq!(app.rows_with_status("purged").await, 1);
}

#[tokio::test]
async fn an_empty_file_uploads_and_downloads() {
    let app = spawn_app().await;
    let key = app.api_key("empty@example.com").await;
    let response = app.upload(&key, "empty.txt", Vec::new()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let file: Value = response.json().await.unwrap();
    assert_eq!(file["size"], 0);
    assert_eq!(file["sha256"], sha256_hex(b""));
    let download = app
        .get(
            &key,
            &format!("/api/download/{}", file["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(download.status(), StatusCode::OK);
    assert!(download.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_duration_field_sets_the_expiry_before_or_after_the_file_part() {
    let app = spawn_app().await;
    let key = app.api_key("bob@example.com").await;
    let before = Form::new()
        .text("duration", "7d")
        .part("file", Part::bytes(b"hello".to_vec()).file_name("a.txt"));
    let after = Form::new()
        .part("file", Part::bytes(b"hello".to_vec()).file_name("b.txt"))
        .text("duration", "1h");
    for (form, duration, seconds) in [(before, "7d", 7 * 86_400), (after, "1h", 3_600)] {
        let response = app.upload_form(&key, form).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let file: Value = response.json().await.unwrap();
        assert_eq!(file["duration"], duration);
        let uploaded =
            chrono::DateTime::parse_from_rfc3339(file["uploadedAt"].as_str().unwrap()).unwrap();
        let expires =
            chrono::DateTime::parse_from_rfc3339(file["expiresAt"].as_str().unwrap()).unwrap();
        let lifetime = (expires - uploaded).num_seconds();
        assert!(
            (seconds - 1..=seconds + 1).contains(&lifetime),
            "{lifetime}"
        );
    }
}

#[tokio::test]
async fn an_unknown_duration_is_refused_and_leaves_nothing_behind() {
    let app = spawn_app().await;
    let key = app.api_key("carol@example.com").await;
    let form = Form::new()
        .part("file", Part::bytes(b"hello".to_vec()).file_name("a.txt"))
        .text("duration", "forever");
    let response = app.upload_form(&key, form).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid_duration");
    assert!(
        app.eventually(|| async { app.rows_with_status("purged").await == 1 })
            .await
    );
    assert_eq!(app.rows_with_status("active").await, 0);
    assert!(app.stored_objects().is_empty());
}

#[tokio::test]
async fn unsafe_names_are_sanitized_and_the_storage_name_is_ascii() {
    let app = spawn_app().await;
    let key = app.api_key("dave@example.com").await;
    let response = app
        .upload(&key, "../../etc/évil\u{202E}gnp.txt", b"x".to_vec())
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let file: Value = response.json().await.unwrap();
    assert_eq!(file["originalName"], "évilgnp.txt");
    let storage_name = file["fileName"].as_str().unwrap();
    assert!(storage_name.is_ascii());
    assert!(storage_name.ends_with("-vilgnp.txt"), "{storage_name}");
    let download = app
        .get(
            &key,
            &format!("/api/download/{}", file["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(
        download.headers()["content-disposition"],
        "attachment; filename=\"_vilgnp.txt\"; filename*=UTF-8''%C3%A9vilgnp.txt"
    );
}

#[tokio::test]
async fn ranges_and_conditional_requests_are_honoured() {
    let app = spawn_app().await;
    let key = app.api_key("erin@example.com").await;
    let content: Vec<u8> = b"0123456789".iter().copied().cycle().take(1000).collect();
    let file: Value = app
        .upload(&key, "data.txt", content.clone())
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/download/{}", file["id"].as_str().unwrap());
    let etag = format!("\"{}\"", file["sha256"].as_str().unwrap());

    let partial = app
        .client
        .get(app.url(&path))
        .bearer_auth(&key)
        .header("Range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(partial.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(partial.headers()["content-range"], "bytes 100-199/1000");
    assert_eq!(partial.bytes().await.unwrap().as_ref(), &content[100..200]);

    let suffix = app
        .client
        .get(app.url(&path))
        .bearer_auth(&key)
        .header("Range", "bytes=-10")
        .send()
        .await
        .unwrap();
    assert_eq!(suffix.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(suffix.bytes().await.unwrap().as_ref(), &content[990..]);

    let unsatisfiable = app
        .client
        .get(app.url(&path))
        .bearer_auth(&key)
        .header("Range", "bytes=5000-")
        .send()
        .await
        .unwrap();
    assert_eq!(unsatisfiable.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(unsatisfiable.headers()["content-range"], "bytes */1000");

    let not_modified = app
        .client
        .get(app.url(&path))
        .bearer_auth(&key)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(not_modified.headers()["etag"], etag.as_str());
}

#[tokio::test]
async fn content_that_disagrees_with_its_extension_is_415_and_leaves_no_row() {
    let app = spawn_app().await;
    let key = app.api_key("nick@example.com").await;
    let page = b"<!DOCTYPE html><html><script>alert(1)</script></html>".to_vec();
    let response = app.upload(&key, "innocent.png", page).await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(problem(response).await["code"], "content_mismatch");
    let not_an_image = app.upload(&key, "photo.jpg", b"plain words".to_vec()).await;
    assert_eq!(not_an_image.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    for status in ["pending", "failed", "active"] {
        assert_eq!(app.rows_with_status(status).await, 0, "{status}");
    }
    assert!(app.stored_objects().is_empty());
}

#[tokio::test]
async fn extensions_off_the_allowlist_are_415() {
    let app = spawn_app().await;
    let key = app.api_key("olivia@example.com").await;
    for name in ["setup.exe", "run.sh", "page.html", "Makefile"] {
        let response = app.upload(&key, name, b"whatever".to_vec()).await;
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{name}"
        );
        assert_eq!(
            problem(response).await["code"],
            "file_type_not_allowed",
            "{name}"
        );
    }
    assert_eq!(app.rows_with_status("pending").await, 0);
}

#[tokio::test]
async fn the_allowlist_is_configurable() {
    let app =
        crate::helpers::spawn_app_with(|config| config.allowed_extensions = "bin".into()).await;
    let key = app.api_key("pat@example.com").await;
    let allowed = app.upload(&key, "blob.bin", vec![1, 2, 3]).await;
    assert_eq!(allowed.status(), StatusCode::CREATED);
    let body: Value = allowed.json().await.unwrap();
    assert_eq!(body["mimeType"], "application/octet-stream");
    let refused = app.upload(&key, "notes.txt", b"hi".to_vec()).await;
    assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn sizes_from_0_bytes_to_64_mib_round_trip_on_local_disk() {
    sizes_round_trip(crate::helpers::Backend::Local).await;
}

#[tokio::test]
async fn sizes_from_0_bytes_to_64_mib_round_trip_on_s3() {
    sizes_round_trip(crate::helpers::Backend::S3).await;
}

/// Byte-identical by SHA-256, from nothing to many parts; on S3, an object larger than
/// one part (8 MiB) really went up as a multipart upload, which its ETag shows.
async fn sizes_round_trip(backend: crate::helpers::Backend) {
    const MIB: usize = 1024 * 1024;
    let app = crate::helpers::spawn_app_on(backend, |_| {}).await;
    let key = app.api_key("sizes@example.com").await;
    for (index, length) in [0, 1, 8 * MIB - 1, 8 * MIB + 1, 64 * MIB]
        .into_iter()
        .enumerate()
    {
        // The smallest are plain text (a byte or nothing is no binary format).
        let (name, content) = if length < 64 {
            ("tiny.txt", vec![b'x'; length])
        } else {
            ("blob.png", png_bytes(length, index as u64))
        };
        let response = app.upload(&key, name, content.clone()).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{length} bytes");
        let file: Value = response.json().await.unwrap();
        assert_eq!(file["size"], content.len());
        assert_eq!(file["sha256"], sha256_hex(&content));
        let id = file["id"].as_str().unwrap();
        let download = app.get(&key, &format!("/api/download/{id}")).await;
        assert_eq!(download.status(), StatusCode::OK);
        assert_eq!(
            sha256_hex(&download.bytes().await.unwrap()),
            sha256_hex(&content),
            "{length} bytes"
        );
        if backend == crate::helpers::Backend::S3 {
            // The seed's metadata travels with the object.
            let metadata = app.s3_metadata(id).await;
            assert_eq!(metadata["originalname"], name, "{length} bytes");
            assert_eq!(metadata["userid"].len(), 36, "a uuid: {metadata:?}");
            assert_eq!(
                metadata["uploadedat"].len(),
                "2026-01-01T00:00:00.000Z".len()
            );
            assert!(metadata.contains_key("duration"), "{metadata:?}");
            let etag = app.s3_etag(id).await;
            let parts = content.len().div_ceil(8 * MIB).max(1);
            if parts > 1 {
                assert!(
                    etag.trim_matches('"').ends_with(&format!("-{parts}")),
                    "{length} bytes: {etag}"
                );
            }
        }
    }
}

#[tokio::test]
async fn an_upload_round_trips_through_s3_storage() {
    let app = crate::helpers::spawn_app_on(crate::helpers::Backend::S3, |_| {}).await;
    let key = app.api_key("s3@example.com").await;
    // Larger than one part, so the multipart upload really has several parts.
    let content = png_bytes(9 * 1024 * 1024 + 3, 11);
    let response = app.upload(&key, "big photo.png", content.clone()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let file: Value = response.json().await.unwrap();
    assert_eq!(file["sha256"], sha256_hex(&content));
    let path = format!("/api/download/{}", file["id"].as_str().unwrap());
    let download = app.get(&key, &path).await;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(
        sha256_hex(&download.bytes().await.unwrap()),
        sha256_hex(&content)
    );
    let partial = app
        .client
        .get(app.url(&path))
        .bearer_auth(&key)
        .header("Range", "bytes=8388600-8388615")
        .send()
        .await
        .unwrap();
    assert_eq!(partial.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        partial.bytes().await.unwrap().as_ref(),
        &content[8_388_600..8_388_616]
    );
    let delete = app
        .delete(
            &key,
            &format!("/api/files/{}", file["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get(&key, &path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.rows_with_status("purged").await, 1);
}

#[tokio::test]
async fn downloads_from_s3_redirect_to_a_presigned_url_when_configured() {
    let app = crate::helpers::spawn_app_on(crate::helpers::Backend::S3, |config| {
        config.download_redirect = true;
    })
    .await;
    let key = app.api_key("presign@example.com").await;
    let content = png_bytes(9 * 1024 * 1024 + 5, 12);
    let response = app
        .upload(&key, "Straße & \"quotes\".png", content.clone())
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let file: Value = response.json().await.unwrap();
    let path = format!("/api/download/{}", file["id"].as_str().unwrap());
    // A client that does not follow redirects, as a curl without -L.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = plain
        .get(app.url(&path))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FOUND);
    assert_eq!(answer.headers()["cache-control"], "no-store");
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    let endpoint = std::env::var("FLOWSVAULT_S3_ENDPOINT").unwrap();
    assert!(location.starts_with(&endpoint), "{location}");
    assert!(location.contains("X-Amz-Expires=300"), "{location}");

    // The URL alone is enough: no credential, a plain HTTP client.
    let fetched = plain.get(&location).send().await.unwrap();
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(fetched.headers()["content-type"], "image/png");
    let disposition = fetched.headers()["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''Stra%C3%9Fe%20&%20quotes.png"),
        "{disposition}"
    );
    assert_eq!(
        sha256_hex(&fetched.bytes().await.unwrap()),
        sha256_hex(&content)
    );
    let partial = plain
        .get(&location)
        .header("Range", "bytes=8388600-8388615")
        .send()
        .await
        .unwrap();
    assert_eq!(partial.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        partial.bytes().await.unwrap().as_ref(),
        &content[8_388_600..8_388_616]
    );
    // The signature covers the object and the response headers.
    let tampered = location.replace(
        "response-content-type=image%2Fpng",
        "response-content-type=text%2Fhtml",
    );
    assert_ne!(tampered, location);
    let refused = plain.get(&tampered).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // A client that follows redirects gets the bytes in one call; the API key is not
    // sent on to the storage host.
    let followed = app.get(&key, &path).await;
    assert_eq!(followed.status(), StatusCode::OK);
    assert_eq!(
        sha256_hex(&followed.bytes().await.unwrap()),
        sha256_hex(&content)
    );
    // Conditional requests are still answered by the gateway, and previews still stream
    // through it with its sandboxing headers.
    let current = plain
        .get(app.url(&path))
        .bearer_auth(&key)
        .header("If-None-Match", format!("\"{}\"", sha256_hex(&content)))
        .send()
        .await
        .unwrap();
    assert_eq!(current.status(), StatusCode::NOT_MODIFIED);
    let preview = plain
        .get(app.url(&format!("/api/preview/{}", file["id"].as_str().unwrap())))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(preview.status(), StatusCode::OK);
    assert!(
        preview.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    // A deleted file is 404, never a redirect.
    let id = file["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&key, &format!("/api/files/{id}")).await.status(),
        StatusCode::NO_CONTENT
    );
    let gone = plain
        .get(app.url(&path))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn on_local_disk_the_redirect_setting_streams_as_usual() {
    let app = crate::helpers::spawn_app_with(|config| config.download_redirect = true).await;
    let key = app.api_key("local-redirect@example.com").await;
    let content = png_bytes(70_000, 13);
    let response = app.upload(&key, "pic.png", content.clone()).await;
    let file: Value = response.json().await.unwrap();
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let download = plain
        .get(app.url(&format!("/api/download/{}", file["id"].as_str().unwrap())))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(
        sha256_hex(&download.bytes().await.unwrap()),
        sha256_hex(&content)
    );
}

crate::helpers::on_both_backends!(an_idempotency_key_makes_repeats_return_the_same_file);

async fn an_idempotency_key_makes_repeats_return_the_same_file(backend: crate::helpers::Backend) {
    let app = crate::helpers::spawn_app_on(backend, |_| {}).await;
    let key = app.api_key("uma@example.com").await;
    let content = png_bytes(200_000, 5);
    let send = |idempotency_key: &'static str, name: &'static str, bytes: Vec<u8>| {
        let request = app
            .client
            .post(app.url("/api/upload"))
            .bearer_auth(&key)
            .header("Idempotency-Key", idempotency_key)
            .multipart(Form::new().part("file", Part::bytes(bytes).file_name(name)));
        async move { request.send().await.unwrap() }
    };

    let mut ids = Vec::new();
    for _ in 0..5 {
        let response = send("sequential-1", "pic.png", content.clone()).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        ids.push(response.json::<Value>().await.unwrap()["id"].clone());
    }
    assert!(ids.windows(2).all(|pair| pair[0] == pair[1]), "{ids:?}");

    let concurrent = futures_util::future::join_all(
        (0..5).map(|_| send("concurrent-1", "pic.png", content.clone())),
    )
    .await;
    let mut created = Vec::new();
    for response in concurrent {
        match response.status() {
            StatusCode::CREATED => {
                created.push(response.json::<Value>().await.unwrap()["id"].clone());
            }
            StatusCode::CONFLICT => assert_eq!(problem(response).await["code"], "conflict"),
            other => panic!("unexpected {other}"),
        }
    }
    assert!(!created.is_empty());
    assert!(
        created.windows(2).all(|pair| pair[0] == pair[1]),
        "{created:?}"
    );
    assert_eq!(app.rows_with_status("active").await, 2);

    let reused = send("sequential-1", "other.png", png_bytes(10, 9)).await;
    assert_eq!(reused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem(reused).await["code"], "idempotency_key_reused");
    let bad = send("", "pic.png", content.clone()).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.rows_with_status("active").await, 2);
}
