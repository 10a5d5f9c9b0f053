use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{problem, spawn_app};

#[tokio::test]
async fn another_users_file_is_not_found_everywhere() {
    let app = spawn_app().await;
    let owner = app.api_key("owner@example.com").await;
    let stranger = app.api_key("stranger@example.com").await;
    let file: Value = app
        .upload(&owner, "secret.txt", b"mine".to_vec())
        .await
        .json()
        .await
        .unwrap();
    let id = file["id"].as_str().unwrap();

    for path in [format!("/api/files/{id}"), format!("/api/download/{id}")] {
        let response = app.get(&stranger, &path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(problem(response).await["code"], "not_found");
    }
    let deleted = app.delete(&stranger, &format!("/api/files/{id}")).await;
    assert_eq!(deleted.status(), StatusCode::NOT_FOUND);
    let listed: Value = app.get(&stranger, "/api/files").await.json().await.unwrap();
    assert_eq!(listed["total"], 0);
    // Still there for its owner.
    assert_eq!(
        app.get(&owner, &format!("/api/download/{id}"))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_malformed_id_is_simply_not_found() {
    let app = spawn_app().await;
    let key = app.api_key("frank@example.com").await;
    let response = app.get(&key, "/api/files/not-a-uuid").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(problem(response).await["code"], "not_found");
}

#[tokio::test]
async fn the_list_pages_searches_and_sorts() {
    let app = spawn_app().await;
    let key = app.api_key("grace@example.com").await;
    for (name, size) in [
        ("alpha.txt", 3),
        ("beta.txt", 1),
        ("gamma.txt", 2),
        ("50%_off.txt", 4),
    ] {
        let response = app.upload(&key, name, vec![b'x'; size]).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["originalName"].as_str().unwrap().to_owned())
            .collect()
    };

    let first: Value = app
        .get(&key, "/api/files?perPage=2&page=1&sort=name&order=asc")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["total"], 4);
    assert_eq!(first["perPage"], 2);
    assert_eq!(names(&first), ["50%_off.txt", "alpha.txt"]);
    let second: Value = app
        .get(&key, "/api/files?perPage=2&page=2&sort=name&order=asc")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&second), ["beta.txt", "gamma.txt"]);

    let by_size: Value = app
        .get(&key, "/api/files?sort=size&order=desc")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        names(&by_size),
        ["50%_off.txt", "alpha.txt", "gamma.txt", "beta.txt"]
    );

    let search: Value = app
        .get(&key, "/api/files?q=ALP")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&search), ["alpha.txt"]);
    // `%` and `_` are literal, not wildcards.
    let literal: Value = app
        .get(&key, "/api/files?q=%25_")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&literal), ["50%_off.txt"]);
    let expired: Value = app
        .get(&key, "/api/files?status=expired")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(expired["total"], 0);
}

#[tokio::test]
async fn bad_list_parameters_are_400_problems() {
    let app = spawn_app().await;
    let key = app.api_key("heidi@example.com").await;
    for query in [
        "perPage=101",
        "perPage=0",
        "page=0",
        "page=-1",
        "page=abc",
        "sort=owner",
        "order=up",
        "status=deleted",
        "q=%00",
        "q=a%0Ab",
        "unknown=1",
    ] {
        let response = app.get(&key, &format!("/api/files?{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(
            problem(response).await["code"],
            "invalid_request",
            "{query}"
        );
    }
}

#[tokio::test]
async fn bulk_delete_removes_only_the_callers_files() {
    let app = spawn_app().await;
    let key = app.api_key("quinn@example.com").await;
    let other = app.api_key("rita@example.com").await;
    let mut mine = Vec::new();
    for name in ["1.txt", "2.txt", "3.txt"] {
        let file: Value = app
            .upload(&key, name, b"x".to_vec())
            .await
            .json()
            .await
            .unwrap();
        mine.push(file["id"].as_str().unwrap().to_owned());
    }
    let theirs: Value = app
        .upload(&other, "t.txt", b"y".to_vec())
        .await
        .json()
        .await
        .unwrap();
    let ids = vec![
        mine[0].clone(),
        mine[1].clone(),
        theirs["id"].as_str().unwrap().to_owned(),
        uuid::Uuid::new_v4().to_string(),
    ];
    let response = app
        .client
        .post(app.url("/api/files/bulk-delete"))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "ids": ids }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["deleted"], 2);
    let listed: Value = app.get(&key, "/api/files").await.json().await.unwrap();
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["id"], mine[2].as_str());
    let still_theirs = app
        .get(
            &other,
            &format!("/api/files/{}", theirs["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(still_theirs.status(), StatusCode::OK);
    assert_eq!(app.stored_objects().len(), 2);

    for body in [
        serde_json::json!({ "ids": ["not-a-uuid"] }),
        serde_json::json!({ "ids": "x" }),
        serde_json::json!({ "files": [] }),
        serde_json::json!({ "ids": vec![uuid::Uuid::nil().to_string(); 101] }),
    ] {
        let response = app
            .client
            .post(app.url("/api/files/bulk-delete"))
            .bearer_auth(&key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(problem(response).await["code"], "invalid_request");
    }
}

#[tokio::test]
async fn preview_is_inline_only_for_types_a_browser_cannot_run() {
    let app = spawn_app().await;
    let key = app.api_key("sam@example.com").await;
    let image: Value = app
        .upload(&key, "pic.png", crate::helpers::png_bytes(100, 3))
        .await
        .json()
        .await
        .unwrap();
    let data: Value = app
        .upload(&key, "table.csv", b"a,b\n1,2\n".to_vec())
        .await
        .json()
        .await
        .unwrap();
    let inline = app
        .get(
            &key,
            &format!("/api/preview/{}", image["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(inline.status(), StatusCode::OK);
    let headers = inline.headers();
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline;")
    );
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("sandbox")
    );
    let attachment = app
        .get(
            &key,
            &format!("/api/preview/{}", data["id"].as_str().unwrap()),
        )
        .await;
    assert!(
        attachment.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    let download = app
        .get(
            &key,
            &format!("/api/download/{}", image["id"].as_str().unwrap()),
        )
        .await;
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert!(
        download.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("sandbox")
    );
}

#[tokio::test]
async fn the_cleanup_endpoint_runs_a_janitor_pass_behind_the_cron_secret() {
    let app = spawn_app().await;
    let key = app.api_key("yuri@example.com").await;
    let file: Value = app
        .upload(&key, "soon.txt", b"bytes".to_vec())
        .await
        .json()
        .await
        .unwrap();
    let id = file["id"].as_str().unwrap();
    // The file expires by the database clock.
    {
        use diesel_async::{AsyncConnection, RunQueryDsl};
        let mut connection = diesel_async::AsyncPgConnection::establish(&app.files_database_url)
            .await
            .unwrap();
        diesel::sql_query(format!(
            "UPDATE file_metadata SET expires_at = now() - interval '1 second' WHERE id = '{id}'"
        ))
        .execute(&mut connection)
        .await
        .unwrap();
    }
    assert_eq!(app.stored_objects().len(), 1);
    let cleanup = |secret: &'static str| {
        let request = app
            .client
            .post(app.url("/api/admin/cleanup"))
            .bearer_auth(secret);
        async move { request.send().await.unwrap() }
    };
    let refused = cleanup("wrong").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(problem(refused).await["code"], "unauthenticated");
    // A user's API key is no cron secret either.
    let with_key = app
        .client
        .post(app.url("/api/admin/cleanup"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(with_key.status(), StatusCode::UNAUTHORIZED);

    let ran = cleanup("test-cron-secret").await;
    assert_eq!(ran.status(), StatusCode::OK);
    let report: Value = ran.json().await.unwrap();
    assert_eq!(report["expiredFiles"], 1);
    assert_eq!(report["bytesFreed"], 5);
    assert_eq!(report["failures"], 0);
    assert!(app.stored_objects().is_empty());
    // Still answered as expired, not as missing.
    let gone = app.get(&key, &format!("/api/download/{id}")).await;
    assert_eq!(gone.status(), StatusCode::GONE);
    assert_eq!(problem(gone).await["code"], "file_expired");
}

#[tokio::test]
async fn the_cleanup_endpoint_is_off_without_a_secret() {
    let app = crate::helpers::spawn_app_with(|config| config.cron_secret = None).await;
    let response = app
        .client
        .post(app.url("/api/admin/cleanup"))
        .bearer_auth("anything")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(problem(response).await["code"], "forbidden");
}
