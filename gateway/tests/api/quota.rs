//! The per-user storage quota: reserved when an upload starts, so uploads that race each
//! other cannot pass it together; released by failure, deletion and expiry.
#![allow(
    clippy::unwrap_used,
    reason = "scenarios run on several backends fail the test they serve; clippy sees only #[test] bodies"
)]

use reqwest::{
    StatusCode,
    multipart::{Form, Part},
};
use serde_json::Value;

use crate::helpers::{Backend, TestApp, on_both_backends, problem, spawn_app_on, spawn_app_with};

on_both_backends!(
    an_upload_past_the_quota_is_refused_and_leaves_nothing_behind,
    concurrent_uploads_cannot_pass_the_quota_together,
);

const KIB: usize = 1024;

/// Text bytes of `size` (content sniffing takes them for .txt).
fn text(size: usize) -> Vec<u8> {
    vec![b'q'; size]
}

async fn quota_app(quota: u64) -> TestApp {
    spawn_app_with(|config| config.quota_bytes = quota).await
}

async fn an_upload_past_the_quota_is_refused_and_leaves_nothing_behind(backend: Backend) {
    let app = spawn_app_on(backend, |config| config.quota_bytes = 1000 * KIB as u64).await;
    let key = app.api_key("quinn@example.com").await;
    let first = app.upload(&key, "first.txt", text(600 * KIB)).await;
    assert_eq!(first.status(), StatusCode::CREATED);

    let refused = app.upload(&key, "second.txt", text(600 * KIB)).await;
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = problem(refused).await;
    assert_eq!(body["code"], "quota_exceeded");
    assert_eq!(body["status"], 413);
    // No row for the refused upload, and only the first file's object.
    assert_eq!(app.rows_with_status("pending").await, 0);
    assert_eq!(app.rows_with_status("active").await, 1);
    assert_eq!(app.leftovers().await.len(), 1);

    // What is left still fits.
    let small = app.upload(&key, "small.txt", text(300 * KIB)).await;
    assert_eq!(small.status(), StatusCode::CREATED);
    // Another user has a quota of their own.
    let other = app.api_key("quentin@example.com").await;
    let theirs = app.upload(&other, "theirs.txt", text(600 * KIB)).await;
    assert_eq!(theirs.status(), StatusCode::CREATED);
}

async fn concurrent_uploads_cannot_pass_the_quota_together(backend: Backend) {
    let app = spawn_app_on(backend, |config| config.quota_bytes = 1000 * KIB as u64).await;
    let key = app.api_key("rhea@example.com").await;
    let uploads: Vec<_> = (0..6)
        .map(|index| {
            let client = app.client.clone();
            let url = app.url("/api/upload");
            let key = key.clone();
            tokio::spawn(async move {
                let part = Part::bytes(text(300 * KIB)).file_name(format!("part-{index}.txt"));
                client
                    .post(url)
                    .bearer_auth(key)
                    .multipart(Form::new().part("file", part))
                    .send()
                    .await
                    .map(|response| response.status())
            })
        })
        .collect();
    let mut created = 0;
    for upload in uploads {
        match upload.await.unwrap().unwrap() {
            StatusCode::CREATED => created += 1,
            StatusCode::PAYLOAD_TOO_LARGE => {}
            other => panic!("unexpected {other}"),
        }
    }
    // Three uploads of 300 KiB (plus their form's framing) fit in 1000 KiB, four do not.
    assert_eq!(created, 3);
    assert_eq!(app.rows_with_status("active").await, 3);
    assert_eq!(app.leftovers().await.len(), 3);
}

#[tokio::test]
async fn deleting_a_file_gives_its_room_back() {
    let app = quota_app(1000 * KIB as u64).await;
    let key = app.api_key("sami@example.com").await;
    let file: Value = app
        .upload(&key, "big.txt", text(700 * KIB))
        .await
        .json()
        .await
        .unwrap();
    let refused = app.upload(&key, "next.txt", text(700 * KIB)).await;
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let deleted = app
        .client
        .delete(app.url(&format!("/api/files/{}", file["id"].as_str().unwrap())))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let accepted = app.upload(&key, "next.txt", text(700 * KIB)).await;
    assert_eq!(accepted.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_resumable_upload_reserves_its_length_at_creation() {
    let app = quota_app(1000 * KIB as u64).await;
    let key = app.api_key("tara@example.com").await;
    let create = |length: usize| {
        app.client
            .post(app.url("/api/uploads"))
            .bearer_auth(&key)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", length.to_string())
            // filename a.txt
            .header("Upload-Metadata", "filename YS50eHQ=")
            .send()
    };
    let first = create(800 * KIB).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    // Nothing was sent yet, but the first upload holds its 800 KiB.
    let second = create(300 * KIB).await.unwrap();
    assert_eq!(second.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(second.headers()["tus-resumable"], "1.0.0");
    assert_eq!(problem(second).await["code"], "quota_exceeded");
    let fits = create(200 * KIB).await.unwrap();
    assert_eq!(fits.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn the_quota_is_met_before_any_rule_about_the_file() {
    let app = spawn_app_with(|config| {
        config.quota_bytes = 2000 * KIB as u64;
        config.max_upload_bytes = 1500 * KIB as u64;
    })
    .await;
    let key = app.api_key("uma@example.com").await;
    let upload = |name: &str, bytes: Vec<u8>, idempotency_key: Option<&str>| {
        let mut request = app
            .client
            .post(app.url("/api/upload"))
            .bearer_auth(&key)
            .multipart(Form::new().part("file", Part::bytes(bytes).file_name(name.to_owned())));
        if let Some(idempotency_key) = idempotency_key {
            request = request.header("Idempotency-Key", idempotency_key);
        }
        request.send()
    };
    let first = upload("first.txt", text(900 * KIB), Some("first"))
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let second = upload("second.txt", text(900 * KIB), None).await.unwrap();
    assert_eq!(second.status(), StatusCode::CREATED);

    // API.md's order: authentication, rate limit, quota, then the file's own rules (an
    // extension not allowed, content that is not what the name says, a body past the
    // upload limit): the quota answers first, before the body is read.
    for (name, bytes) in [
        ("tool.exe", text(300 * KIB)),
        ("picture.png", text(300 * KIB)),
        ("huge.txt", text(1700 * KIB)),
    ] {
        let refused = upload(name, bytes, None).await.unwrap();
        assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE, "{name}");
        assert_eq!(problem(refused).await["code"], "quota_exceeded", "{name}");
    }
    let created = app
        .client
        .post(app.url("/api/uploads"))
        .bearer_auth(&key)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", (300 * KIB).to_string())
        // filename tool.exe
        .header("Upload-Metadata", "filename dG9vbC5leGU=")
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(problem(created).await["code"], "quota_exceeded");

    // Repeating an upload already made stores nothing new: its key is still answered.
    let again = upload("first.txt", text(900 * KIB), Some("first"))
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(app.rows_with_status("active").await, 2);
    assert_eq!(app.rows_with_status("pending").await, 0);

    // A user with room meets the file's rules as before.
    let other = app.api_key("ugo@example.com").await;
    for (name, bytes, code) in [
        ("tool.exe", text(300 * KIB), "file_type_not_allowed"),
        ("picture.png", text(300 * KIB), "content_mismatch"),
        ("huge.txt", text(1700 * KIB), "file_too_large"),
    ] {
        let refused = app.upload(&other, name, bytes).await;
        assert_eq!(problem(refused).await["code"], code, "{name}");
    }
}
