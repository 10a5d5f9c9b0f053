#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests fail the test they serve; clippy sees only #[test] bodies"
)]

use chrono::{DateTime, TimeDelta, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, problem, spawn_app, spawn_app_with};

async fn create_key(app: &TestApp, key: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/keys"))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn list_keys(app: &TestApp, key: &str) -> Vec<Value> {
    let response = app.get(key, "/api/keys").await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn time_of(value: &Value) -> DateTime<Utc> {
    let text = value.as_str().unwrap();
    // RFC 3339 in UTC with milliseconds: 2026-01-02T03:04:05.678Z
    assert_eq!(text.len(), 24, "{text}");
    assert!(text.ends_with('Z'), "{text}");
    DateTime::parse_from_rfc3339(text).unwrap().into()
}

const KEY_MEMBERS: [&str; 7] = [
    "id",
    "name",
    "prefix",
    "createdAt",
    "lastUsedAt",
    "expiresAt",
    "revokedAt",
];

fn assert_members(view: &Value, expected: &[&str]) {
    let mut members: Vec<&str> = view
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    members.sort_unstable();
    let mut expected = expected.to_vec();
    expected.sort_unstable();
    assert_eq!(members, expected, "{view}");
}

#[tokio::test]
async fn a_key_created_over_http_works_and_is_listed_without_secrets() {
    let app = spawn_app().await;
    let existing = app.api_key("ada@example.com").await;

    let response = create_key(&app, &existing, &json!({ "name": "laptop" })).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let created: Value = response.json().await.unwrap();
    let mut with_key = KEY_MEMBERS.to_vec();
    with_key.push("key");
    assert_members(&created, &with_key);
    assert_eq!(created["name"], "laptop");
    let prefix = created["prefix"].as_str().unwrap();
    let new_key = created["key"].as_str().unwrap().to_owned();
    assert!(new_key.starts_with(&format!("fv_{prefix}_")));
    assert_eq!(created["expiresAt"], Value::Null);
    assert_eq!(created["revokedAt"], Value::Null);
    assert_eq!(created["lastUsedAt"], Value::Null);
    let created_at = time_of(&created["createdAt"]);
    assert!((Utc::now() - created_at).abs() < TimeDelta::minutes(1));

    assert_eq!(
        app.get(&new_key, "/api/files").await.status(),
        StatusCode::OK
    );

    let response = app.get(&existing, "/api/keys").await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(!text.contains(&new_key[12..]), "the new secret is listed");
    assert!(!text.contains(&existing[12..]), "the old secret is listed");
    assert!(!text.contains("$2b$"), "a hash is listed");
    let listed: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(listed.len(), 2);
    for view in &listed {
        assert_members(view, &KEY_MEMBERS);
        assert_eq!(view["prefix"].as_str().unwrap().len(), 8);
    }
    // Newest first.
    assert_eq!(listed[0]["id"], created["id"]);
    assert_eq!(listed[0]["prefix"], prefix);
    assert_eq!(listed[1]["prefix"], &existing[3..11]);
    time_of(&listed[0]["lastUsedAt"]);
    time_of(&listed[1]["lastUsedAt"]);
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_once_by_the_same_gateway() {
    let app = spawn_app().await;
    let existing = app.api_key("grace@example.com").await;
    let created: Value = create_key(&app, &existing, &json!({ "name": "ci" }))
        .await
        .json()
        .await
        .unwrap();
    let new_key = created["key"].as_str().unwrap();
    let id = created["id"].as_str().unwrap();
    // Verified once, so this gateway now trusts it from its cache for 10 seconds.
    assert_eq!(
        app.get(new_key, "/api/files").await.status(),
        StatusCode::OK
    );

    let revoked = app.delete(&existing, &format!("/api/keys/{id}")).await;

    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let refused = app.get(new_key, "/api/files").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(problem(refused).await["code"], "unauthenticated");
    assert_eq!(
        app.get(&existing, "/api/files").await.status(),
        StatusCode::OK
    );
    let listed = list_keys(&app, &existing).await;
    let revoked_at = time_of(&listed[0]["revokedAt"]);
    // Revoking again changes nothing.
    let again = app.delete(&existing, &format!("/api/keys/{id}")).await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    let listed = list_keys(&app, &existing).await;
    assert_eq!(time_of(&listed[0]["revokedAt"]), revoked_at);
}

#[tokio::test]
async fn a_key_can_revoke_itself() {
    let app = spawn_app().await;
    let key = app.api_key("heidi@example.com").await;
    let listed = list_keys(&app, &key).await;
    let id = listed[0]["id"].as_str().unwrap();

    let revoked = app.delete(&key, &format!("/api/keys/{id}")).await;

    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&key, "/api/keys").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn another_users_key_is_not_found_and_keeps_working() {
    let app = spawn_app().await;
    let owner = app.api_key("owner@example.com").await;
    let stranger = app.api_key("stranger@example.com").await;
    let owners = list_keys(&app, &owner).await;
    let owner_key_id = owners[0]["id"].as_str().unwrap();

    let theirs = list_keys(&app, &stranger).await;
    assert_eq!(theirs.len(), 1);
    assert_ne!(theirs[0]["id"], owners[0]["id"]);
    for id in [
        owner_key_id.to_owned(),
        uuid::Uuid::now_v7().to_string(),
        "not-a-uuid".to_owned(),
    ] {
        let response = app.delete(&stranger, &format!("/api/keys/{id}")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{id}");
        assert_eq!(problem(response).await["code"], "not_found");
    }

    assert_eq!(app.get(&owner, "/api/files").await.status(), StatusCode::OK);
    assert_eq!(list_keys(&app, &owner).await[0]["revokedAt"], Value::Null);
}

#[tokio::test]
async fn bad_create_bodies_are_400_problems_and_create_nothing() {
    let app = spawn_app().await;
    let key = app.api_key("ivan@example.com").await;

    for body in [
        json!({}),
        json!({ "expiresIn": "1h" }),
        json!({ "name": "ci", "scope": "all" }),
        json!({ "name": 5 }),
        json!({ "name": "" }),
        json!({ "name": "   " }),
        json!({ "name": "k".repeat(101) }),
        json!({ "name": "ci", "expiresIn": "soon" }),
        json!({ "name": "ci", "expiresIn": 0 }),
        json!({ "name": "ci", "expiresIn": -5 }),
        json!({ "name": "ci", "expiresIn": "99999d" }),
        json!({ "name": "ci", "expiresIn": 59 }),
        json!({ "name": "ci", "expiresIn": 1.5 }),
        json!({ "name": "ci", "expiresIn": "2w" }),
        json!(["ci"]),
    ] {
        let response = create_key(&app, &key, &body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(problem(response).await["code"], "invalid_request", "{body}");
    }
    let not_json = app
        .client
        .post(app.url("/api/keys"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("{\"name\":")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(problem(not_json).await["code"], "invalid_request");

    assert_eq!(list_keys(&app, &key).await.len(), 1);
}

#[tokio::test]
async fn expires_in_sets_expires_at_that_far_ahead() {
    let app = spawn_app().await;
    let key = app.api_key("judy@example.com").await;

    for (expires_in, lifetime) in [
        (json!("1h"), TimeDelta::hours(1)),
        (json!(7200), TimeDelta::hours(2)),
        (json!("30d"), TimeDelta::days(30)),
    ] {
        let response = create_key(
            &app,
            &key,
            &json!({ "name": "temp", "expiresIn": expires_in }),
        )
        .await;
        assert_eq!(response.status(), StatusCode::CREATED, "{expires_in}");
        let created: Value = response.json().await.unwrap();
        let from_now = time_of(&created["expiresAt"]) - Utc::now();
        assert!(from_now <= lifetime, "{expires_in}: {from_now}");
        assert!(
            from_now > lifetime - TimeDelta::minutes(1),
            "{expires_in}: {from_now}"
        );
        let new_key = created["key"].as_str().unwrap();
        assert_eq!(
            app.get(new_key, "/api/files").await.status(),
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn the_key_routes_need_a_valid_key() {
    let app = spawn_app().await;
    let id = uuid::Uuid::now_v7();

    let requests = [
        app.client.get(app.url("/api/keys")),
        app.client
            .post(app.url("/api/keys"))
            .json(&json!({ "name": "ci" })),
        app.client.delete(app.url(&format!("/api/keys/{id}"))),
        app.client.get(app.url("/api/keys")).bearer_auth("fv_nope"),
    ];
    for request in requests {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(problem(response).await["code"], "unauthenticated");
    }
}

#[tokio::test]
async fn a_key_revoked_elsewhere_is_refused_by_another_replica_within_its_cache_ttl() {
    let app = spawn_app_with(|config| config.api_key_cache_ttl_secs = 2).await;
    let replica = app.spawn_replica().await;
    let existing = app.api_key("judy@example.com").await;
    let created: Value = create_key(&app, &existing, &json!({ "name": "ci" }))
        .await
        .json()
        .await
        .unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    let on_replica = || {
        app.client
            .get(format!("{replica}/api/files"))
            .bearer_auth(&key)
            .send()
    };
    // The replica verifies the key once and then trusts its cache.
    assert_eq!(on_replica().await.unwrap().status(), StatusCode::OK);

    let revoked = app
        .delete(
            &existing,
            &format!("/api/keys/{}", created["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);

    let refused = app
        .eventually(|| async { on_replica().await.unwrap().status() == StatusCode::UNAUTHORIZED })
        .await;
    assert!(
        refused,
        "the replica must refuse the key once its cache entry lapses"
    );
}

#[tokio::test]
async fn an_expired_key_is_refused() {
    let app = spawn_app().await;
    let existing = app.api_key("kate@example.com").await;
    let created: Value = create_key(
        &app,
        &existing,
        &json!({ "name": "short", "expiresIn": "1h" }),
    )
    .await
    .json()
    .await
    .unwrap();
    let key = created["key"].as_str().unwrap();
    let mut connection = AsyncPgConnection::establish(&app.auth_database_url)
        .await
        .unwrap();
    diesel::sql_query(
        "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE name = 'short'",
    )
    .execute(&mut connection)
    .await
    .unwrap();
    let refused = app.get(key, "/api/files").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(problem(refused).await["code"], "unauthenticated");
}

#[tokio::test]
async fn malformed_wrong_and_unknown_keys_get_the_same_answer() {
    let app = spawn_app().await;
    let key = app.api_key("liam@example.com").await;
    let wrong_secret = format!(
        "{}{}",
        &key[..key.len() - 1],
        if key.ends_with('x') { 'y' } else { 'x' }
    );
    let presented = [
        "fv_nope".to_owned(),
        "fv_ZZZZZZZZ_0123456789012345678901234567890123456789012".to_owned(),
        wrong_secret,
        "x".repeat(300),
    ];
    let mut bodies = Vec::new();
    for token in &presented {
        let response = app.get(token, "/api/files").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{token}");
        bodies.push(response.text().await.unwrap());
    }
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "{bodies:?}"
    );
}
