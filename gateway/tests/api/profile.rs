#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests fail the test they serve; clippy sees only #[test] bodies"
)]

//! The profile, its picture, and deleting an account across every service.

use diesel::{QueryableByName, sql_types::BigInt};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reqwest::{
    StatusCode,
    multipart::{Form, Part},
};
use serde_json::Value;

use crate::helpers::{TestApp, png_bytes, problem, spawn_app};

async fn post_picture(
    app: &TestApp,
    browser: &reqwest::Client,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    browser
        .post(app.url("/api/profile/picture"))
        .header("Origin", &app.address)
        .multipart(Form::new().part("file", Part::bytes(bytes).file_name(name.to_owned())))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_picture_is_checked_stored_and_served_back() {
    let app = spawn_app().await;
    let (browser, _) = app.sign_in().await;
    let profile: Value = browser
        .get(app.url("/api/profile"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(profile["email"], "alice@example.test");

    let picture = png_bytes(50_000, 7);
    let updated = post_picture(&app, &browser, "me.png", picture.clone()).await;
    assert_eq!(updated.status(), StatusCode::OK);
    let updated: Value = updated.json().await.unwrap();
    let image = updated["image"].as_str().unwrap();
    assert!(image.starts_with("/api/profile/picture?v="), "{image}");
    let served = browser.get(app.url(image)).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().as_ref(), picture.as_slice());

    // A new picture replaces the old one, in storage too.
    let second = post_picture(&app, &browser, "me2.png", png_bytes(1_000, 8)).await;
    assert_eq!(second.status(), StatusCode::OK);
    let avatars: Vec<String> = app
        .stored_objects()
        .into_iter()
        .filter(|name| name.starts_with("avatar-"))
        .collect();
    assert_eq!(avatars.len(), 1, "{avatars:?}");

    // HTML named .png, an oversized image, no file part: refused, nothing stored.
    let html = post_picture(&app, &browser, "x.png", b"<html><script>".to_vec()).await;
    assert_eq!(html.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(problem(html).await["code"], "content_mismatch");
    let huge = post_picture(&app, &browser, "big.png", png_bytes(3 * 1024 * 1024, 9)).await;
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let empty = browser
        .post(app.url("/api/profile/picture"))
        .header("Origin", &app.address)
        .multipart(Form::new().text("other", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    let avatars = app
        .stored_objects()
        .into_iter()
        .filter(|name| name.starts_with("avatar-"))
        .count();
    assert_eq!(avatars, 1);
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

async fn count(database_url: &str, sql: &str) -> i64 {
    let mut connection = AsyncPgConnection::establish(database_url).await.unwrap();
    diesel::sql_query(sql)
        .get_result::<Count>(&mut connection)
        .await
        .unwrap()
        .count
}

#[tokio::test]
async fn deleting_the_account_leaves_no_row_and_no_object() {
    let app = spawn_app().await;
    let (browser, _) = app.sign_in().await;
    let key = browser
        .post(app.url("/api/keys"))
        .header("Origin", &app.address)
        .json(&serde_json::json!({"name": "laptop"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    for index in 0..3 {
        let uploaded = app
            .upload(&key, &format!("f{index}.png"), png_bytes(10_000, index))
            .await;
        assert_eq!(uploaded.status(), StatusCode::CREATED);
    }
    let deleted_one: Value = app
        .upload(&key, "gone.png", png_bytes(10, 99))
        .await
        .json()
        .await
        .unwrap();
    app.delete(
        &key,
        &format!("/api/files/{}", deleted_one["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        post_picture(&app, &browser, "me.png", png_bytes(100, 1))
            .await
            .status(),
        StatusCode::OK
    );
    // Someone else's file stays.
    let other = app.api_key("bob@example.com").await;
    assert_eq!(
        app.upload(&other, "bob.png", png_bytes(100, 2))
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(app.stored_objects().len(), 5);

    let cross_site = browser
        .delete(app.url("/api/profile/delete"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);

    let deleted = browser
        .delete(app.url("/api/profile/delete"))
        .header("Origin", &app.address)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    let objects = app.stored_objects();
    assert_eq!(objects.len(), 1, "only bob's object is left: {objects:?}");
    assert!(objects[0].ends_with("bob.png"));
    assert_eq!(
        count(
            &app.files_database_url,
            "SELECT count(*) AS count FROM file_metadata"
        )
        .await,
        1
    );
    for table in ["sessions", "api_keys"] {
        let left = count(
            &app.auth_database_url,
            &format!(
                "SELECT count(*) AS count FROM {table} \
                 WHERE user_id NOT IN (SELECT id FROM users WHERE email = 'bob@example.com')"
            ),
        )
        .await;
        assert_eq!(left, 0, "rows left in {table}");
    }
    let users = count(
        &app.auth_database_url,
        "SELECT count(*) AS count FROM users WHERE email = 'alice@example.test'",
    )
    .await;
    assert_eq!(users, 0);
    // The session and the key died with the account, on this gateway at once.
    assert_eq!(
        browser
            .get(app.url("/api/profile"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get(&key, "/api/files").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get(&other, "/api/files").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_interrupted_account_deletion_finishes_when_retried() {
    let mut app = spawn_app().await;
    let (browser, _) = app.sign_in().await;
    let key = app.api_key("alice@example.test").await;
    for index in 0..3 {
        let uploaded = app
            .upload(&key, &format!("f{index}.png"), png_bytes(1_000, index))
            .await;
        assert_eq!(uploaded.status(), StatusCode::CREATED);
    }
    // Storage goes down: the deletion stops part-way, with an error and no harm done.
    app.storage.kill();
    let interrupted = browser
        .delete(app.url("/api/profile/delete"))
        .header("Origin", &app.address)
        .send()
        .await
        .unwrap();
    assert!(
        interrupted.status().is_server_error(),
        "{}",
        interrupted.status()
    );
    assert_eq!(
        browser
            .get(app.url("/api/profile"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK,
        "the account still works, so the deletion can be asked for again"
    );

    app.storage.restart().await;
    // The gateway's channel to storage-service reconnects with a backoff: until it has,
    // a retry may still meet 503, and the person retries again (bounded here).
    let mut retried = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..40 {
        retried = browser
            .delete(app.url("/api/profile/delete"))
            .header("Origin", &app.address)
            .send()
            .await
            .unwrap()
            .status();
        if retried != StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(retried, StatusCode::NO_CONTENT);
    assert!(
        app.stored_objects().is_empty(),
        "{:?}",
        app.stored_objects()
    );
    assert_eq!(
        count(
            &app.files_database_url,
            "SELECT count(*) AS count FROM file_metadata"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app.auth_database_url,
            "SELECT count(*) AS count FROM users"
        )
        .await,
        0
    );
}
