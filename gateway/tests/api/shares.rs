#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests fail the test they serve; clippy sees only #[test] bodies"
)]

//! Share links: limits that hold under concurrency, passwords, revocation, the death of a
//! link with its file, ranged continuations, the public page, and safe headers.

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::future::join_all;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{TestApp, png_bytes, problem, sha256_hex, spawn_app, spawn_app_with};

/// An owner's key and one uploaded file: (key, file id, bytes).
async fn shared_file(app: &TestApp) -> (String, String, Vec<u8>) {
    let key = app.api_key("owner@example.com").await;
    let bytes = png_bytes(50_000, 42);
    let file: Value = app
        .upload(&key, "Tom & Jerry's.png", bytes.clone())
        .await
        .json()
        .await
        .unwrap();
    (key, file["id"].as_str().unwrap().to_owned(), bytes)
}

async fn create_share(app: &TestApp, key: &str, file_id: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/files/{file_id}/shares")))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn new_share(app: &TestApp, key: &str, file_id: &str, body: Value) -> Value {
    let response = create_share(app, key, file_id, body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    response.json().await.unwrap()
}

fn token_of(share: &Value) -> String {
    share["token"].as_str().unwrap().to_owned()
}

/// A download through the link by a stranger (no key, no cookie).
async fn download(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .get(app.url(&format!("/api/s/{token}/download")))
        .send()
        .await
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

#[tokio::test]
async fn a_link_shares_the_bytes_with_safe_headers_and_nothing_about_the_owner() {
    let app = spawn_app().await;
    let (key, file_id, bytes) = shared_file(&app).await;
    let share = new_share(&app, &key, &file_id, json!({})).await;
    let token = token_of(&share);
    assert_eq!(token.len(), 64, "256 random bits");
    assert_eq!(share["url"], app.url(&format!("/s/{token}")));
    assert_eq!(share["downloads"], 0);
    assert_eq!(share["hasPassword"], false);
    assert!(share["maxDownloads"].is_null() && share["expiresAt"].is_null());

    let info: Value = app
        .client
        .get(app.url(&format!("/api/s/{token}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut keys: Vec<&str> = info
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["expiresAt", "hasPassword", "mimeType", "name", "size"]
    );
    assert_eq!(info["name"], "Tom & Jerry's.png");
    assert_eq!(info["size"], bytes.len());

    let response = download(&app, &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert!(
        headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .starts_with("sandbox;")
    );
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let body = response.bytes().await.unwrap();
    assert_eq!(sha256_hex(&body), sha256_hex(&bytes));

    // The owner lists the link, without its token, and sees the download counted.
    let listed: Value = app
        .get(&key, &format!("/api/files/{file_id}/shares"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["id"], share["id"]);
    assert_eq!(listed[0]["downloads"], 1);
    assert!(listed[0].get("token").is_none() && listed[0].get("url").is_none());
    // Nobody else can list or revoke it.
    let stranger = app.api_key("stranger@example.com").await;
    assert_eq!(
        app.get(&stranger, &format!("/api/files/{file_id}/shares"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let id = share["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&stranger, &format!("/api/shares/{id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(download(&app, &token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn max_downloads_holds_under_parallel_downloads() {
    let app = spawn_app().await;
    let (key, file_id, _) = shared_file(&app).await;
    let share = new_share(&app, &key, &file_id, json!({"maxDownloads": 20})).await;
    let token = token_of(&share);
    let attempts = (0..21).map(|_| async {
        let response = download(&app, &token).await;
        let status = response.status();
        // Read the body, so a granted download is a whole download.
        let body = response.bytes().await.unwrap();
        (status, body.len())
    });
    let results = join_all(attempts).await;
    let granted = results
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .count();
    let gone = results
        .iter()
        .filter(|(status, _)| *status == StatusCode::GONE)
        .count();
    assert_eq!((granted, gone), (20, 1), "{results:?}");
    let used_up = download(&app, &token).await;
    assert_eq!(used_up.status(), StatusCode::GONE);
    assert_eq!(problem(used_up).await["code"], "share_used_up");
    let listed: Value = app
        .get(&key, &format!("/api/files/{file_id}/shares"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["downloads"], 20);
}

#[tokio::test]
async fn a_password_is_asked_checked_and_its_guesses_limited() {
    let app = spawn_app_with(|config| config.rate_limit_share_password = "3/1m".into()).await;
    let (key, file_id, bytes) = shared_file(&app).await;
    let share = new_share(&app, &key, &file_id, json!({"password": "correct horse"})).await;
    assert_eq!(share["hasPassword"], true);
    let token = token_of(&share);
    let url = app.url(&format!("/api/s/{token}/download"));

    let missing = download(&app, &token).await;
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    assert_eq!(problem(missing).await["code"], "password_required");
    let wrong = app
        .client
        .get(&url)
        .header("X-Share-Password", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert_eq!(problem(wrong).await["code"], "wrong_password");
    let right = app
        .client
        .get(&url)
        .header("X-Share-Password", "correct horse")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert_eq!(
        sha256_hex(&right.bytes().await.unwrap()),
        sha256_hex(&bytes)
    );
    let form = app
        .client
        .post(&url)
        .form(&[("password", "correct horse")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    // Three attempts in the window were used; the fourth is refused before bcrypt.
    let limited = app
        .client
        .get(&url)
        .header("X-Share-Password", "guess")
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn revoked_expired_and_orphaned_links_are_dead() {
    let app = spawn_app().await;
    let (key, file_id, _) = shared_file(&app).await;

    let revoked = new_share(&app, &key, &file_id, json!({})).await;
    let id = revoked["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&key, &format!("/api/shares/{id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&key, &format!("/api/shares/{id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let gone = download(&app, &token_of(&revoked)).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let info = app
        .client
        .get(app.url(&format!("/api/s/{}", token_of(&revoked))))
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), StatusCode::NOT_FOUND);

    let expiring = new_share(&app, &key, &file_id, json!({"expiresIn": "1h"})).await;
    assert!(expiring["expiresAt"].is_string());
    execute(
        &app,
        &format!(
            "UPDATE file_shares SET expires_at = now() WHERE id = '{}'",
            expiring["id"].as_str().unwrap()
        ),
    )
    .await;
    let expired = download(&app, &token_of(&expiring)).await;
    assert_eq!(expired.status(), StatusCode::GONE);
    assert_eq!(problem(expired).await["code"], "share_expired");

    // The file expires: its links die with it.
    let live = new_share(&app, &key, &file_id, json!({})).await;
    execute(
        &app,
        &format!("UPDATE file_metadata SET expires_at = now() WHERE id = '{file_id}'"),
    )
    .await;
    let file_expired = download(&app, &token_of(&live)).await;
    assert_eq!(file_expired.status(), StatusCode::GONE);
    assert_eq!(problem(file_expired).await["code"], "file_expired");

    // The file is deleted: its links die with it.
    let (key, other_file, _) = shared_file(&app).await;
    let orphan = new_share(&app, &key, &other_file, json!({})).await;
    assert_eq!(
        app.delete(&key, &format!("/api/files/{other_file}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        download(&app, &token_of(&orphan)).await.status(),
        StatusCode::NOT_FOUND
    );

    for token in ["nope", &"0".repeat(64)] {
        assert_eq!(download(&app, token).await.status(), StatusCode::NOT_FOUND);
    }
    let bad = create_share(&app, &key, &other_file, json!({"maxDownloads": 0})).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let unknown_field = create_share(&app, &key, &other_file, json!({"owner": "me"})).await;
    assert_eq!(unknown_field.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_ranged_continuation_of_a_counted_download_is_not_counted_again() {
    let app = spawn_app().await;
    let (key, file_id, bytes) = shared_file(&app).await;
    let share = new_share(&app, &key, &file_id, json!({"maxDownloads": 1})).await;
    let token = token_of(&share);

    let first = app
        .client
        .get(app.url(&format!("/api/s/{token}/download")))
        .header(header::RANGE, "bytes=0-9999")
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::PARTIAL_CONTENT);
    let cookie = first.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("fv_share_grant="), "{cookie}");
    assert!(
        cookie.contains(&format!("Path=/api/s/{token}/download")) && cookie.contains("HttpOnly")
    );
    let grant = cookie.split(';').next().unwrap().to_owned();
    let head = first.bytes().await.unwrap();

    // The rest, with the grant: served though the link is used up, and not counted.
    let rest = app
        .client
        .get(app.url(&format!("/api/s/{token}/download")))
        .header(header::RANGE, "bytes=10000-")
        .header(header::COOKIE, &grant)
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), StatusCode::PARTIAL_CONTENT);
    let mut whole = head.to_vec();
    whole.extend_from_slice(&rest.bytes().await.unwrap());
    assert_eq!(sha256_hex(&whole), sha256_hex(&bytes));

    // Without the grant, or from byte 0, it is a new download: the link is used up.
    let stranger = app
        .client
        .get(app.url(&format!("/api/s/{token}/download")))
        .header(header::RANGE, "bytes=10000-")
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), StatusCode::GONE);
    let again = app
        .client
        .get(app.url(&format!("/api/s/{token}/download")))
        .header(header::COOKIE, &grant)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::GONE);
    let listed: Value = app
        .get(&key, &format!("/api/files/{file_id}/shares"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["downloads"], 1);
}

#[tokio::test]
async fn the_public_page_works_without_javascript() {
    let app = spawn_app().await;
    let (key, file_id, bytes) = shared_file(&app).await;
    let share = new_share(
        &app,
        &key,
        &file_id,
        json!({"password": "pw", "maxDownloads": 2}),
    )
    .await;
    let page_url = share["url"].as_str().unwrap().to_owned();

    let page = app.client.get(&page_url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.starts_with("default-src 'none'") && !policy.contains("script-src"));
    let html = page.text().await.unwrap();
    assert!(html.contains("Tom &amp; Jerry&#39;s.png"), "{html}");
    assert!(html.contains("name=\"password\"") && html.contains("2 downloads left"));
    assert!(!html.contains("owner@example.com"));

    let wrong = app
        .client
        .post(&page_url)
        .form(&[("password", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert!(wrong.text().await.unwrap().contains("role=\"alert\""));
    let right = app
        .client
        .post(&page_url)
        .form(&[("password", "pw")])
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert!(
        right.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(
        sha256_hex(&right.bytes().await.unwrap()),
        sha256_hex(&bytes)
    );

    let unknown = app
        .client
        .get(app.url(&format!("/s/{}", "0".repeat(64))))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(unknown.text().await.unwrap().contains("Link not found"));
}
