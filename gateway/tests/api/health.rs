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
    assert_eq!(problem(wrong).await["code"], "method_not_allowed");
}
