#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests fail the test they serve; clippy sees only #[test] bodies"
)]

//! The web UI's files, the SPA fallback, the upload limits and the headers that keep
//! pages and user content apart.

use reqwest::{StatusCode, header};
use serde_json::Value;

use crate::helpers::{TestApp, png_bytes, problem, spawn_app, spawn_app_with};

const UI_POLICY_START: &str = "default-src 'self'";

async fn app_with_ui() -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>Flowsvault</title>",
    )
    .unwrap();
    std::fs::write(dir.path().join("theme-init.js"), "/* theme */").unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/index-AbC123.js"), "console.log(1)").unwrap();
    let root = dir.path().to_str().unwrap().to_owned();
    let app = spawn_app_with(|config| config.web_dir = root).await;
    (app, dir)
}

#[tokio::test]
async fn the_ui_is_served_with_its_policy_and_every_page_path_gets_index_html() {
    let (app, _dir) = app_with_ui().await;
    for path in [
        "/",
        "/keys",
        "/profile",
        "/signin?error=sign_in_failed",
        "/%2e%2e/Cargo.toml",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(
            response.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-cache");
        let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(policy.starts_with(UI_POLICY_START), "{policy}");
        assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"));
        // The UI frames nothing (a PDF preview opens in a tab of its own).
        assert!(policy.contains("frame-src 'none'"), "{policy}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("<title>Flowsvault</title>"),
            "{path}"
        );
    }
    let script = app
        .client
        .get(app.url("/assets/index-AbC123.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert!(
        script.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    assert_eq!(
        script.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(script.text().await.unwrap(), "console.log(1)");
    let theme = app
        .client
        .get(app.url("/theme-init.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(theme.headers()[header::CACHE_CONTROL], "no-cache");

    // The API keeps its own answers.
    let unknown_api = app.client.get(app.url("/api/nope")).send().await.unwrap();
    assert_eq!(unknown_api.status(), StatusCode::NOT_FOUND);
    assert_eq!(problem(unknown_api).await["code"], "not_found");
    let post_page = app.client.post(app.url("/keys")).send().await.unwrap();
    assert_eq!(post_page.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn without_a_built_ui_pages_are_404_problems() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(problem(response).await["code"], "not_found");
}

#[tokio::test]
async fn the_limits_tell_clients_what_an_upload_may_be() {
    let app = spawn_app_with(|config| {
        config.max_upload_bytes = 1234;
        config.allowed_extensions = "png,txt".into();
    })
    .await;
    let limits: Value = app
        .client
        .get(app.url("/api/limits"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(limits["maxUploadBytes"], 1234);
    assert_eq!(
        limits["allowedExtensions"],
        serde_json::json!(["png", "txt"])
    );
    assert_eq!(
        limits["durations"],
        serde_json::json!(["1h", "1d", "7d", "30d", "unlimited"])
    );
    assert_eq!(limits["defaultDuration"], "unlimited");
}

#[tokio::test]
async fn no_answer_may_be_framed_not_even_a_preview() {
    let app = spawn_app().await;
    let key = app.api_key("mia@example.com").await;
    let api = app.get(&key, "/api/files").await;
    assert_eq!(
        api.headers()[header::CONTENT_SECURITY_POLICY],
        "default-src 'none'; frame-ancestors 'none'"
    );
    assert_eq!(api.headers()[header::X_FRAME_OPTIONS], "DENY");

    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    for (name, bytes) in [("p.png", png_bytes(100, 3)), ("p.pdf", pdf.to_vec())] {
        let file: Value = app.upload(&key, name, bytes).await.json().await.unwrap();
        let id = file["id"].as_str().unwrap();
        for path in ["preview", "download"] {
            let response = app.get(&key, &format!("/api/{path}/{id}")).await;
            assert_eq!(response.status(), 200, "{path} of {name}");
            let inline = path == "preview";
            assert_eq!(
                response.headers()[header::CONTENT_DISPOSITION]
                    .to_str()
                    .unwrap()
                    .starts_with("inline"),
                inline,
                "{path} of {name}"
            );
            assert_eq!(response.headers()[header::X_FRAME_OPTIONS], "DENY");
            let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap();
            assert!(policy.ends_with("frame-ancestors 'none'"), "{policy}");
            // Browsers render no PDF in a sandboxed document; every other answer is one.
            let sandboxed = !(inline && name.ends_with(".pdf"));
            assert_eq!(policy.starts_with("sandbox;"), sandboxed, "{policy}");
        }
    }
}
