#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests fail the test they serve; clippy sees only #[test] bodies"
)]

//! The per-address connection cap.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{TestApp, spawn_app_with};

async fn connect(app: &TestApp) -> TcpStream {
    let address = app.address.trim_start_matches("http://");
    TcpStream::connect(address).await.unwrap()
}

/// Sends a health check on `stream` and reads the status line of the answer.
async fn status_on(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: gateway\r\n\r\n")
        .await
        .unwrap();
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..read]).into_owned();
    text.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn connections_past_the_cap_are_refused_and_closed_while_the_others_work() {
    let app = spawn_app_with(|config| config.max_connections_per_ip = 3).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect(&app).await);
    }
    // Each of the three works (and stays open: keep-alive).
    for stream in &mut held {
        assert_eq!(status_on(stream).await, "HTTP/1.1 200 OK");
    }
    let mut fourth = connect(&app).await;
    let mut answer = String::new();
    fourth
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: gateway\r\n\r\n")
        .await
        .unwrap();
    // The whole answer, then the end of the stream: the gateway closed it.
    tokio::time::timeout(Duration::from_secs(5), fourth.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 429"),
        "the fourth connection is refused: {answer}"
    );
    assert!(answer.contains("too_many_connections"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("\r\nretry-after: 1\r\n"),
        "{answer}"
    );
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    // The held connections still work.
    assert_eq!(status_on(&mut held[0]).await, "HTTP/1.1 200 OK");

    // One closes: a new connection gets its place (once the gateway saw the close).
    drop(held.pop());
    let mut admitted = false;
    for _ in 0..50 {
        let mut next = connect(&app).await;
        if status_on(&mut next).await == "HTTP/1.1 200 OK" {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(admitted, "a closed connection gives its place back");
}
