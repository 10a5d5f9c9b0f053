use reqwest::StatusCode;

use crate::helpers::{problem, spawn_app_with};

#[allow(clippy::unwrap_used, reason = "test helper: a panic is a failed test")]
fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers()[name].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_limited_response_carries_the_headers_and_the_excess_is_429() {
    let app = spawn_app_with(|config| config.rate_limit_api = "3/1m".into()).await;
    let key = app.api_key("vera@example.com").await;
    for remaining in ["2", "1", "0"] {
        let response = app.get(&key, "/api/files").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, "x-ratelimit-limit"), "3");
        assert_eq!(header(&response, "x-ratelimit-remaining"), remaining);
        let reset: u64 = header(&response, "x-ratelimit-reset").parse().unwrap();
        assert!((1..=60).contains(&reset));
    }
    let refused = app.get(&key, "/api/files").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&refused, "x-ratelimit-remaining"), "0");
    let retry_after: u64 = header(&refused, "retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    assert_eq!(problem(refused).await["code"], "rate_limited");
    // Health checks are never limited.
    let health = app.client.get(app.url("/api/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert!(!health.headers().contains_key("x-ratelimit-limit"));
}

#[tokio::test]
async fn replicas_share_one_limit_through_redis() {
    let app = spawn_app_with(|config| config.rate_limit_api = "4/1m".into()).await;
    let key = app.api_key("walt@example.com").await;
    let replica = app.spawn_replica().await;
    let mut statuses = Vec::new();
    for turn in 0..6 {
        let base = if turn % 2 == 0 {
            &app.address
        } else {
            &replica
        };
        let response = app
            .client
            .get(format!("{base}/api/files"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429]);
}

#[tokio::test]
async fn without_redis_each_replica_still_limits_in_memory() {
    let app = spawn_app_with(|config| {
        // Nothing listens on port 1.
        config.redis_url = Some("redis://127.0.0.1:1".into());
        config.rate_limit_api = "2/1m".into();
    })
    .await;
    let key = app.api_key("xena@example.com").await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(app.get(&key, "/api/files").await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let trusted = spawn_app_with(|config| {
        config.rate_limit_api = "2/1m".into();
        config.trusted_proxies = "127.0.0.1".into();
    })
    .await;
    let from = |app: &crate::helpers::TestApp, client: &'static str| {
        let request = app
            .client
            .get(app.url("/api/files"))
            .header("X-Forwarded-For", client);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    // Unauthenticated: limited by address first, then refused with 401.
    assert_eq!(from(&trusted, "198.51.100.1").await, 401);
    assert_eq!(from(&trusted, "198.51.100.1").await, 401);
    assert_eq!(from(&trusted, "198.51.100.1").await, 429);
    assert_eq!(from(&trusted, "198.51.100.2").await, 401);

    let untrusted = spawn_app_with(|config| config.rate_limit_api = "2/1m".into()).await;
    assert_eq!(from(&untrusted, "198.51.100.1").await, 401);
    assert_eq!(from(&untrusted, "198.51.100.2").await, 401);
    // A new forwarded address does not buy a spoofing client a new window.
    assert_eq!(from(&untrusted, "198.51.100.3").await, 429);
}

#[tokio::test]
async fn an_encoded_path_is_limited_as_the_route_it_reaches() {
    let app = spawn_app_with(|config| config.rate_limit_uploads = "1/1m".into()).await;
    let key = app.api_key("zoe@example.com").await;
    let mut statuses = Vec::new();
    for path in ["/%61pi/upload", "/api/%75pload", "/api/upload"] {
        let response = app
            .client
            .post(format!("{}{path}", app.address))
            .bearer_auth(&key)
            .multipart(reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("a.txt"),
            ))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [201, 429, 429]);
}

#[tokio::test]
async fn the_spelling_of_bearer_does_not_make_a_new_identifier() {
    let app = spawn_app_with(|config| {
        config.rate_limit_api = "2/1m".into();
        // Only the credential can tell these requests apart: all come from 127.0.0.1,
        // which the test exempts by trusting it and forwarding a new address each time.
        config.trusted_proxies = "127.0.0.1".into();
    })
    .await;
    let key = app.api_key("ada@example.com").await;
    let mut statuses = Vec::new();
    for (index, scheme) in ["Bearer", "bearer", "BEARER"].into_iter().enumerate() {
        let response = app
            .client
            .get(app.url("/api/files"))
            .header("Authorization", format!("{scheme}  {key}"))
            .header("X-Forwarded-For", format!("198.51.100.{}", index + 10))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
}
