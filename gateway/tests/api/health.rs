use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn health_answers_ok_with_a_request_id() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/api/health")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );
}

#[tokio::test]
async fn a_sane_request_id_is_echoed_and_an_unsafe_one_replaced() {
    let app = spawn_app().await;
    let echoed = app
        .client
        .get(app.url("/api/health"))
        .header("X-Request-Id", "trace-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "trace-123");
    let replaced = app
        .client
        .get(app.url("/api/health"))
        .header("X-Request-Id", "a b c")
        .send()
        .await
        .unwrap();
    assert_ne!(replaced.headers()["x-request-id"], "a b c");
}

#[tokio::test]
async fn ready_answers_200_when_every_service_serves() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/api/ready")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["services"]["auth"], "ok");
    assert_eq!(body["services"]["files"], "ok");
    assert_eq!(body["services"]["storage"], "ok");
}

#[tokio::test]
async fn ready_names_the_service_that_is_down() {
    // Nothing listens on port 9 of the loopback interface.
    let app = spawn_app_with(|config| config.janitor_url = "http://127.0.0.1:9".into()).await;
    let response = app.client.get(app.url("/api/ready")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = problem(response).await;
    assert_eq!(body["code"], "upstream_unavailable");
    assert_eq!(body["services"]["janitor"], "unavailable");
    assert_eq!(body["services"]["files"], "ok");
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_problem_documents() {
    let app = spawn_app().await;
    let missing = app
        .client
        .get(app.url("/api/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.headers()["x-content-type-options"], "nosniff");
    assert_eq!(problem(missing).await["code"], "not_found");
    let wrong = app.client.put(app.url("/api/health")).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.headers()["allow"], "GET");
    assert_eq!(problem(wrong).await["code"], "method_not_allowed");
    // The Allow header names what the route serves.
    let wrong = app
        .client
        .put(app.url("/api/files/0b7c2a4e-1111-4222-8333-944455556666"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
    let mut allowed: Vec<&str> = wrong.headers()["allow"]
        .to_str()
        .unwrap()
        .split(", ")
        .collect();
    allowed.sort_unstable();
    assert_eq!(allowed, ["DELETE", "GET"]);
    // Routes outside the API document name theirs too.
    for (method, path, allow) in [
        (reqwest::Method::PUT, "/metrics", "GET"),
        (reqwest::Method::DELETE, "/s/some-token", "GET, POST"),
    ] {
        let wrong = app
            .client
            .request(method, app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(wrong.headers()["allow"], allow, "{path}");
    }
}

/// Every route `routes::configure` registers, with its methods (OpenAPI spelling).
const SERVED: &[(&str, &[&str])] = &[
    ("/api/health", &["get"]),
    ("/api/ready", &["get"]),
    ("/api/openapi.json", &["get"]),
    ("/api/limits", &["get"]),
    ("/api/upload", &["post"]),
    ("/api/uploads", &["options", "post"]),
    (
        "/api/uploads/{id}",
        &["options", "head", "patch", "delete", "post"],
    ),
    ("/api/files", &["get"]),
    ("/api/files/bulk-delete", &["post"]),
    ("/api/files/{id}", &["get", "delete"]),
    ("/api/download/{id}", &["get"]),
    ("/api/preview/{id}", &["get"]),
    ("/api/keys", &["get", "post"]),
    ("/api/keys/{id}", &["delete"]),
    ("/api/admin/cleanup", &["post"]),
    ("/api/auth/providers", &["get"]),
    ("/api/auth/signin/{provider}", &["get"]),
    ("/api/auth/signin/dev", &["post"]),
    ("/api/auth/callback/{provider}", &["get"]),
    ("/api/auth/session", &["get"]),
    ("/api/auth/signout", &["post"]),
    ("/api/profile", &["get"]),
    ("/api/profile/picture", &["get", "post"]),
    ("/api/profile/delete", &["delete"]),
    ("/api/files/{id}/shares", &["get", "post"]),
    ("/api/shares/{id}", &["delete"]),
    ("/api/s/{token}", &["get"]),
    ("/api/s/{token}/download", &["get", "post"]),
];

/// Routes anyone may call without a key: health, the document, and the sign-in flow
/// (whose own cookies are described on each operation).
const PUBLIC: &[&str] = &[
    "/api/health",
    "/api/ready",
    "/api/openapi.json",
    "/api/limits",
    "/api/auth/providers",
    "/api/auth/signin/{provider}",
    "/api/auth/signin/dev",
    "/api/auth/callback/{provider}",
    "/api/auth/session",
    "/api/auth/signout",
    "/api/s/{token}",
    "/api/s/{token}/download",
];

#[allow(clippy::unwrap_used, reason = "test helper: a panic is a failed test")]
async fn openapi_document(app: &crate::helpers::TestApp) -> Value {
    let response = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.unwrap()
}

#[allow(clippy::unwrap_used, reason = "test helper: a panic is a failed test")]
fn methods_of(operations: &Value) -> Vec<String> {
    let mut methods: Vec<String> = operations
        .as_object()
        .unwrap()
        .keys()
        .filter(|key| {
            ["get", "put", "post", "delete", "patch", "head", "options"].contains(&key.as_str())
        })
        .cloned()
        .collect();
    methods.sort();
    methods
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = spawn_app().await;
    let document = openapi_document(&app).await;
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(document["info"]["title"], "Flowsvault API");
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));

    let paths = document["paths"].as_object().unwrap();
    let mut documented: Vec<&str> = paths.keys().map(String::as_str).collect();
    let mut expected: Vec<&str> = SERVED.iter().map(|(path, _)| *path).collect();
    documented.sort_unstable();
    expected.sort_unstable();
    assert_eq!(documented, expected);
    for (path, methods) in SERVED {
        let mut methods: Vec<String> = methods.iter().map(|method| (*method).to_owned()).collect();
        methods.sort();
        assert_eq!(methods_of(&paths[*path]), methods, "{path}");
        for method in &methods {
            let operation = &paths[*path][method];
            let responses = operation["responses"].as_object().unwrap();
            if PUBLIC.contains(path) || method == "options" {
                assert!(operation.get("security").is_none(), "{method} {path}");
                continue;
            }
            if *path == "/api/admin/cleanup" {
                // Operators authenticate with the cron secret, not an API key.
                assert_eq!(operation["security"], json!([{"cronSecret": []}]));
                assert!(responses.contains_key("401"));
                continue;
            }
            assert_eq!(
                operation["security"],
                json!([{"apiKey": []}, {"session": []}]),
                "{method} {path}"
            );
            for status in ["401", "429", "502", "503", "504"] {
                assert!(responses.contains_key(status), "{method} {path} {status}");
            }
        }
    }

    let scheme = &document["components"]["securitySchemes"]["apiKey"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    let session = &document["components"]["securitySchemes"]["session"];
    assert_eq!(session["type"], "apiKey");
    assert_eq!(session["in"], "cookie");
    assert_eq!(session["name"], "fv_session");

    let schemas = &document["components"]["schemas"];
    let mut file_fields: Vec<&str> = schemas["File"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    file_fields.sort_unstable();
    let mut api_md_fields = vec![
        "id",
        "originalName",
        "fileName",
        "size",
        "mimeType",
        "extension",
        "sha256",
        "uploadedAt",
        "expiresAt",
        "duration",
        "downloadUrl",
        "status",
    ];
    api_md_fields.sort_unstable();
    assert_eq!(file_fields, api_md_fields);
    for field in ["type", "title", "status", "detail", "code"] {
        assert!(
            schemas["Problem"]["properties"].get(field).is_some(),
            "Problem.{field}"
        );
    }

    let file = &paths["/api/files/{id}"]["get"]["responses"];
    assert_eq!(
        file["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/File"
    );
    assert_eq!(
        document["components"]["responses"]["Gone"]["content"]["application/problem+json"]["schema"]
            ["$ref"],
        "#/components/schemas/Problem"
    );
    let upload = &paths["/api/upload"]["post"];
    assert!(
        upload["requestBody"]["content"]
            .get("multipart/form-data")
            .is_some()
    );
    let list_params: Vec<&str> = paths["/api/files"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|parameter| parameter["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        list_params,
        ["page", "perPage", "q", "status", "sort", "order"]
    );
}

/// Asks the running gateway, method by method, which documented paths it serves: a
/// method it does not serve answers 405, any other (401 without a key) is served.
#[tokio::test]
async fn the_openapi_document_lists_exactly_the_methods_the_gateway_serves() {
    // With the development sign-in on, so that its route answers rather than 404.
    let app = spawn_app_with(|config| config.dev_signin = true).await;
    let document = openapi_document(&app).await;
    let id = uuid::Uuid::new_v4().to_string();
    // Sign-in answers with redirects; the answer itself is what tells.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // A real link, since an unknown token is rightly 404.
    let key = app.api_key("doc@example.com").await;
    let file: Value = app
        .upload(&key, "doc.txt", b"hello".to_vec())
        .await
        .json()
        .await
        .unwrap();
    let share: Value = app
        .client
        .post(app.url(&format!(
            "/api/files/{}/shares",
            file["id"].as_str().unwrap()
        )))
        .bearer_auth(&key)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = share["token"].as_str().unwrap();
    for (path, operations) in document["paths"].as_object().unwrap() {
        let url = app.url(
            &path
                .replace("{id}", &id)
                .replace("{provider}", "local")
                .replace("{token}", token),
        );
        let mut served = Vec::new();
        for method in ["get", "put", "post", "delete", "patch", "head", "options"] {
            let response = client
                .request(method.to_uppercase().parse().unwrap(), &url)
                .send()
                .await
                .unwrap();
            assert_ne!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
            if response.status() != StatusCode::METHOD_NOT_ALLOWED {
                served.push(method.to_owned());
            }
        }
        served.sort();
        assert_eq!(methods_of(operations), served, "{path}");
    }
}

#[tokio::test]
async fn the_openapi_document_is_public_and_not_rate_limited() {
    let app = spawn_app_with(|config| config.rate_limit_api = "1/1m".into()).await;
    for _ in 0..3 {
        let response = app
            .client
            .get(app.url("/api/openapi.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(!response.headers().contains_key("x-ratelimit-limit"));
    }
}

#[tokio::test]
async fn a_silent_service_is_504_and_a_missing_one_503_with_retry_after() {
    // A listener that takes connections and never answers: file-service, too slow.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let app = spawn_app_with(|config| {
        config.files_url = silent_url;
        config.upstream_timeout_secs = 1;
    })
    .await;
    let key = app.api_key("ulla@example.com").await;
    let slow = app.get(&key, "/api/files").await;
    assert_eq!(slow.status(), StatusCode::GATEWAY_TIMEOUT);
    let body = problem(slow).await;
    assert_eq!(body["code"], "upstream_timeout");
    assert!(!body.to_string().contains("127.0.0.1"), "{body}");

    // An address nobody listens on: file-service down.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let app = spawn_app_with(|config| config.files_url = format!("http://{closed}")).await;
    let key = app.api_key("ulla@example.com").await;
    let down = app.get(&key, "/api/files").await;
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(down.headers()["retry-after"], "5");
    let body = problem(down).await;
    assert_eq!(body["code"], "upstream_unavailable");
    assert!(!body.to_string().contains("127.0.0.1"), "{body}");
}
