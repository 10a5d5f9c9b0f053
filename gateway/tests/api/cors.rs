//! Cross-origin requests: none by default; listed origins may use the API with a key.

use reqwest::{Method, StatusCode};

use crate::helpers::{spawn_app, spawn_app_with};

const APP_ORIGIN: &str = "https://app.example.com";

#[tokio::test]
async fn by_default_no_other_origin_may_read_an_answer() {
    let app = spawn_app().await;
    let key = app.api_key("ursula@example.com").await;
    let response = app
        .client
        .get(app.url("/api/files"))
        .bearer_auth(&key)
        .header("Origin", APP_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );
    let preflight = app
        .client
        .request(Method::OPTIONS, app.url("/api/files"))
        .header("Origin", APP_ORIGIN)
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(!preflight.status().is_success());
    assert!(
        !preflight
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

#[tokio::test]
async fn a_listed_origin_may_call_the_api_with_a_key_but_never_with_cookies() {
    let app = spawn_app_with(|config| {
        config.cors_origins = format!("{APP_ORIGIN}, http://127.0.0.1:3000")
    })
    .await;
    let key = app.api_key("viktor@example.com").await;
    let preflight = app
        .client
        .request(Method::OPTIONS, app.url("/api/files"))
        .header("Origin", APP_ORIGIN)
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    let headers = preflight.headers();
    assert_eq!(headers["access-control-allow-origin"], APP_ORIGIN);
    assert!(
        headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("Authorization")
    );
    assert!(!headers.contains_key("access-control-allow-credentials"));
    // Preflights do not count against the rate limit.
    assert!(!headers.contains_key("x-ratelimit-limit"));

    let response = app
        .client
        .get(app.url("/api/files"))
        .bearer_auth(&key)
        .header("Origin", APP_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        APP_ORIGIN
    );
    assert!(
        response
            .headers()
            .get_all("vary")
            .iter()
            .any(|value| value == "Origin")
    );
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-credentials")
    );

    // Another origin still gets nothing.
    let other = app
        .client
        .get(app.url("/api/files"))
        .bearer_auth(&key)
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));

    // A cookie-authenticated change from the listed origin is still refused (CSRF).
    let (_, session) = app.sign_in().await;
    let refused = app
        .client
        .post(app.url("/api/keys"))
        .header("Cookie", format!("fv_session={session}"))
        .header("Origin", APP_ORIGIN)
        .json(&serde_json::json!({ "name": "cross-site" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

/// A browser on a listed origin may read every tus header the answers carry (the
/// capabilities, the offset, length, metadata and expiry of an upload).
#[tokio::test]
async fn a_listed_origin_may_read_every_tus_header() {
    use base64::Engine;
    let app = spawn_app_with(|config| config.cors_origins = APP_ORIGIN.into()).await;
    let key = app.api_key("wanda@example.com").await;
    let tus = |method: Method, path: &str| {
        app.client
            .request(method, app.url(path))
            .bearer_auth(&key)
            .header("Origin", APP_ORIGIN)
            .header("Tus-Resumable", "1.0.0")
    };
    let name = base64::engine::general_purpose::STANDARD.encode("cors.txt");
    let created = tus(Method::POST, "/api/uploads")
        .header("Upload-Defer-Length", "1")
        .header("Upload-Metadata", format!("filename {name}"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let path = created.headers()["location"].to_str().unwrap().to_owned();
    let capabilities = tus(Method::OPTIONS, "/api/uploads").send().await.unwrap();
    let progress = tus(Method::HEAD, &path).send().await.unwrap();
    for response in [&created, &capabilities, &progress] {
        let exposed: Vec<String> = response.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .split(',')
            .map(|name| name.trim().to_lowercase())
            .collect();
        let tus_headers: Vec<&str> = response
            .headers()
            .keys()
            .map(reqwest::header::HeaderName::as_str)
            .filter(|name| name.starts_with("tus-") || name.starts_with("upload-"))
            .collect();
        assert!(tus_headers.len() >= 2, "{tus_headers:?}");
        for name in tus_headers {
            assert!(
                exposed.iter().any(|listed| listed == name),
                "{name} is not exposed"
            );
        }
    }
    assert!(progress.headers().contains_key("upload-defer-length"));
    assert!(
        capabilities
            .headers()
            .contains_key("tus-checksum-algorithm")
    );
}
