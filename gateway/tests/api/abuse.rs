#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests fail the test they serve; clippy sees only #[test] bodies"
)]

//! The gateway under abuse: shared limits across replicas under a burst, spoofed
//! forwarding headers, slowloris, and a barrage of malformed requests. The answer is
//! always a 4xx (or a closed connection), never a 5xx, and normal traffic goes on.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::StatusCode;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{TestApp, spawn_app_with};

fn host_port(base: &str) -> String {
    base.trim_start_matches("http://").to_owned()
}

#[tokio::test]
async fn a_burst_on_two_replicas_admits_at_most_the_limit_and_spoofing_adds_nothing() {
    let app = spawn_app_with(|config| config.rate_limit_api = "100/1m".into()).await;
    let replica = app.spawn_replica().await;
    // `GET /api/limits` needs no credential: the client address is the only identifier.
    let burst: Vec<_> = (0..400)
        .map(|index| {
            let client = app.client.clone();
            let base = if index % 2 == 0 {
                app.address.clone()
            } else {
                replica.clone()
            };
            tokio::spawn(async move {
                let response = client
                    .get(format!("{base}/api/limits"))
                    .send()
                    .await
                    .unwrap();
                let header = |name: &str| {
                    response
                        .headers()
                        .get(name)
                        .map(|value| value.to_str().unwrap().to_owned())
                };
                let remaining: u64 = header("x-ratelimit-remaining").unwrap().parse().unwrap();
                let reset: u64 = header("x-ratelimit-reset").unwrap().parse().unwrap();
                assert_eq!(header("x-ratelimit-limit").as_deref(), Some("100"));
                assert!(remaining < 100 && (1..=60).contains(&reset));
                if response.status() == StatusCode::TOO_MANY_REQUESTS {
                    assert_eq!(remaining, 0);
                    let retry: u64 = header("retry-after").unwrap().parse().unwrap();
                    assert!((1..=60).contains(&retry));
                }
                response.status()
            })
        })
        .collect();
    let mut admitted = 0;
    for request in burst {
        match request.await.unwrap() {
            StatusCode::OK => admitted += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    // A limit this small is decided one request at a time (no leases): exactly.
    assert_eq!(admitted, 100, "both replicas count in one window");

    // A client that is not a trusted proxy cannot become someone else by saying so.
    for index in 0..50 {
        let response = app
            .client
            .get(app.url("/api/limits"))
            .header("X-Forwarded-For", format!("198.51.100.{index}"))
            .header("Forwarded", format!("for=198.51.100.{index}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}

/// Opens a connection that sends a request head one byte at a time, every `pause`;
/// returns how long the gateway let it trickle before closing it.
async fn trickle(address: String, pause: Duration) -> Duration {
    let started = Instant::now();
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = b"GET /api/health HTTP/1.1\r\nHost: gateway\r\nX-Slow: ";
    let mut bytes = head.iter().chain(std::iter::repeat(&b'a'));
    loop {
        let byte = *bytes.next().unwrap();
        if stream.write_all(&[byte]).await.is_err() {
            return started.elapsed();
        }
        // The gateway answers 408 and closes, or just closes.
        let mut answer = [0u8; 512];
        match tokio::time::timeout(pause, stream.read(&mut answer)).await {
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            Ok(Ok(read)) => {
                let text = String::from_utf8_lossy(&answer[..read]);
                assert!(
                    !text.starts_with("HTTP/1.1 5"),
                    "a slow head is not a server error: {text}"
                );
            }
            Err(_) => {}
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the gateway kept a trickling connection open"
        );
    }
}

#[tokio::test]
async fn slowloris_connections_are_closed_while_normal_requests_keep_working() {
    let app = spawn_app_with(|config| config.header_timeout_secs = 2).await;
    let address = host_port(&app.address);
    let tricklers: Vec<_> = (0..40)
        .map(|_| tokio::spawn(trickle(address.clone(), Duration::from_millis(300))))
        .collect();
    // Meanwhile, ordinary requests are answered as usual.
    let started = Instant::now();
    let mut served = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let response = app.client.get(app.url("/api/health")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        served += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served > 20, "normal requests were starved: {served}");
    for trickler in tricklers {
        let held = trickler.await.unwrap();
        // The header timeout (2 s), plus the time to notice.
        assert!(
            held < Duration::from_secs(5),
            "a trickling connection lived {held:?}"
        );
    }
}

/// Writes `request` on a fresh connection and returns the status code of the answer, or
/// `None` when the gateway closed without one.
async fn raw_status(address: &str, request: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect(address).await.unwrap();
    // The gateway may refuse before it has read everything: a failed write is fine.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(read)) => {
                answer.extend_from_slice(&buffer[..read]);
                if answer.windows(4).any(|window| window == b"\r\n\r\n") {
                    break;
                }
            }
            Err(_) => panic!("no answer and no close within 10 s"),
        }
    }
    let text = String::from_utf8_lossy(&answer);
    text.strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
}

/// A small deterministic generator: the barrage is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() as usize) % items.len()]
    }

    fn bytes(&mut self, length: usize) -> Vec<u8> {
        (0..length).map(|_| (self.next() & 0xff) as u8).collect()
    }
}

fn malformed_request(generator: &mut Lcg, key: &str) -> Vec<u8> {
    let paths = [
        "/api/files/not-a-uuid",
        "/api/files/00000000-0000-0000-0000-00000000000g",
        "/api/download/%00",
        "/api/download/..%2F..%2Fetc%2Fpasswd",
        "/api/preview/%ZZ",
        "/api/files?page=-1&perPage=999999999999999999999",
        "/api/files?sort=%FF&order=sideways&status=%0d%0a",
        "/api/s/%2e%2e",
        "/api/uploads/not-an-upload",
        "/api/keys/%E2%80%AE",
        "/s/\u{0}",
        "//api//files",
    ];
    let ranges = [
        "bytes=0-0,1-1,2-2",
        "bytes=-",
        "bytes=99999999999999999999-",
        "bytes=5-1",
        "items=0-10",
        "bytes=0-18446744073709551616",
    ];
    let methods = [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "BREW", "G\u{0}T",
    ];
    let mut request = Vec::new();
    match generator.next() % 8 {
        // Garbage instead of a request line.
        0 => {
            let length = 64 + (generator.next() % 512) as usize;
            request.extend(generator.bytes(length));
        }
        // Garbage header lines.
        1 => {
            request.extend_from_slice(b"GET /api/files HTTP/1.1\r\nHost: gateway\r\n");
            request.extend(generator.bytes(100));
            request.extend_from_slice(b"\r\n\r\n");
        }
        // A huge query value.
        2 => {
            let long = "a".repeat(16 * 1024 + (generator.next() % 64 * 1024) as usize);
            request.extend_from_slice(
                format!("GET /api/files?q={long} HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {key}\r\n\r\n")
                    .as_bytes(),
            );
        }
        // Too many or too large headers.
        3 => {
            request.extend_from_slice(b"GET /api/files HTTP/1.1\r\nHost: gateway\r\n");
            for index in 0..(50 + generator.next() % 200) {
                request.extend_from_slice(format!("X-Filler-{index}: {}\r\n", "v".repeat(200)).as_bytes());
            }
            request.extend_from_slice(b"\r\n");
        }
        // A broken multipart upload.
        4 => {
            let body = "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello\r\n--wrong--";
            request.extend_from_slice(
                format!(
                    "POST /api/upload HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {key}\r\nContent-Type: multipart/form-data; boundary={}\r\nContent-Length: {}\r\n\r\n{body}",
                    generator.pick(&["b", "", "\"", "x; boundary=y"]),
                    body.len()
                )
                .as_bytes(),
            );
        }
        // Bad ranges on a bad id.
        5 => request.extend_from_slice(
            format!(
                "GET {} HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {key}\r\nRange: {}\r\n\r\n",
                generator.pick(&paths),
                generator.pick(&ranges)
            )
            .as_bytes(),
        ),
        // Strange methods, paths and a lying Content-Length.
        6 => request.extend_from_slice(
            format!(
                "{} {} HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {key}\r\nContent-Length: {}\r\nContent-Type: application/json\r\n\r\n{{\"ids\": [",
                generator.pick(&methods),
                generator.pick(&paths),
                generator.pick(&["0", "5", "-1", "abc", "99999999999999999999"])
            )
            .as_bytes(),
        ),
        // Malformed JSON bodies on JSON routes.
        _ => {
            let body = generator.pick(&[
                "{",
                "{\"name\": 5}",
                "[]",
                "{\"ids\": [\"x\"]}",
                "{\"name\": \"\\ud800\"}",
                "null",
            ]);
            request.extend_from_slice(
                format!(
                    "POST {} HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    generator.pick(&["/api/keys", "/api/files/bulk-delete", "/api/files/00000000-0000-4000-8000-000000000000/shares"]),
                    body.len()
                )
                .as_bytes(),
            );
        }
    }
    request
}

#[tokio::test]
async fn a_barrage_of_malformed_requests_never_gets_a_server_error() {
    let app: TestApp = spawn_app_with(|config| config.header_timeout_secs = 3).await;
    let key = app.api_key("barrage@example.com").await;
    let address = host_port(&app.address);
    let mut generator = Lcg(0x5eed);
    let requests: Vec<Vec<u8>> = (0..1200)
        .map(|_| malformed_request(&mut generator, &key))
        .collect();
    let mut statuses = std::collections::BTreeMap::<Option<u16>, usize>::new();
    // 32 at a time: a request the gateway must wait out (an unfinished head) holds one
    // place for the header timeout, not the whole barrage.
    let mut answers = futures_util::stream::iter(requests)
        .map(|request| {
            let address = address.clone();
            async move { raw_status(&address, &request).await }
        })
        .buffer_unordered(32);
    while let Some(status) = answers.next().await {
        *statuses.entry(status).or_default() += 1;
    }
    let server_errors: usize = statuses
        .iter()
        .filter(|(status, _)| status.is_some_and(|status| status >= 500))
        .map(|(_, count)| count)
        .sum();
    assert_eq!(server_errors, 0, "statuses: {statuses:?}");
    assert!(
        statuses
            .keys()
            .flatten()
            .all(|status| (400..500).contains(status) || *status == 200 || *status == 204),
        "statuses: {statuses:?}"
    );
    // Still standing.
    let health = app.client.get(app.url("/api/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_json_body_over_the_limit_is_413_and_creates_nothing() {
    let app = spawn_app_with(|_| {}).await;
    let key = app.api_key("yusuf@example.com").await;
    let huge = serde_json::json!({ "name": "k".repeat(100 * 1024) });
    let response = app
        .client
        .post(app.url("/api/keys"))
        .bearer_auth(&key)
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "body_too_large");
    // Only the key of the test itself exists.
    let keys: serde_json::Value = app.get(&key, "/api/keys").await.json().await.unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_form_body_over_the_limit_is_a_413_problem_document() {
    let app = spawn_app_with(|_| {}).await;
    // Past the form limit, and past actix's own 256 KiB default (answered in plain text
    // by its extractor).
    for size in [5 * 1024, 300 * 1024] {
        let response = app
            .client
            .post(app.url("/api/s/no-such-link/download"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("password={}", "p".repeat(size)))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{size}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{size}"
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "body_too_large", "{size}");
    }
}
