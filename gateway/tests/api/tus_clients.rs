#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests fail the test they serve; clippy sees only #[test] bodies"
)]

//! The stock tus clients, unchanged, against the real services: tus-js-client (Node.js)
//! and tuspy, as `deploy/local/tus/tus.sh` installs them for `make test`.

use serde_json::Value;

use crate::helpers::{TestApp, png_bytes, sha256_hex, spawn_app};

#[derive(Clone, Copy, Debug)]
enum Client {
    TusJs,
    Tuspy,
}

impl Client {
    fn command(self) -> tokio::process::Command {
        let variable = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!(
                    "{name} is unset: run `make test`, or eval \"$(deploy/local/tus/tus.sh env)\""
                )
            })
        };
        let mut command = match self {
            Client::TusJs => tokio::process::Command::new(variable("FLOWSVAULT_TUS_NODE")),
            Client::Tuspy => {
                let mut command = tokio::process::Command::new(variable("FLOWSVAULT_TUS_PYTHON"));
                command.arg(format!("{}/upload.py", variable("FLOWSVAULT_TUS_DIR")));
                command
            }
        };
        command.kill_on_drop(true);
        command
    }
}

/// Runs a client; returns its exit code and its JSON line.
async fn run(client: Client, arguments: &[String]) -> (i32, Value) {
    let output = client.command().args(arguments).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let result = serde_json::from_str(line).unwrap_or_else(|_| {
        panic!(
            "{client:?} printed no result: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), result)
}

fn arguments(
    endpoint: &str,
    key: &str,
    file: &std::path::Path,
    storage: &std::path::Path,
) -> Vec<String> {
    [
        "--endpoint",
        endpoint,
        "--key",
        key,
        "--file",
        file.to_str().unwrap(),
        "--url-storage",
        storage.to_str().unwrap(),
        "--metadata",
        "duration=1d",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// The file an upload URL became, checked byte for byte against `bytes`.
async fn assert_stored(app: &TestApp, key: &str, url: &str, bytes: &[u8]) {
    let id = url.rsplit('/').next().unwrap();
    let file: Value = app
        .get(key, &format!("/api/files/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(file["status"], "active", "{file}");
    assert_eq!(file["size"], bytes.len());
    assert_eq!(file["sha256"], sha256_hex(bytes));
    let downloaded = app
        .get(key, &format!("/api/download/{id}"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(sha256_hex(&downloaded), sha256_hex(bytes));
}

/// A resuming run started from the server's offset and sent only the missing bytes.
fn assert_resumed_from(result: &Value, acknowledged: u64, length: usize) {
    assert_eq!(
        result["offsetAtStart"].as_u64(),
        Some(acknowledged),
        "{result}"
    );
    assert_eq!(
        result["bytesSent"].as_u64(),
        Some(length as u64 - acknowledged),
        "only the missing bytes travel: {result}"
    );
}

#[tokio::test]
async fn stock_clients_upload_files_of_every_size_byte_for_byte() {
    let app = spawn_app().await;
    let key = app.api_key("clients@example.com").await;
    let dir = tempfile::tempdir().unwrap();
    let endpoint = app.url("/api/uploads");
    let files: [(&str, Vec<u8>); 4] = [
        ("empty.txt", Vec::new()),
        ("one.txt", b"x".to_vec()),
        ("five.png", png_bytes(5 * 1024 * 1024, 1)),
        ("fifty.png", png_bytes(50 * 1024 * 1024, 2)),
    ];
    for client in [Client::TusJs, Client::Tuspy] {
        for (name, bytes) in &files {
            let path = dir.path().join(format!("{client:?}-{name}"));
            std::fs::write(&path, bytes).unwrap();
            let storage = dir.path().join(format!("{client:?}-urls.json"));
            let (code, result) = run(client, &arguments(&endpoint, &key, &path, &storage)).await;
            assert_eq!(code, 0, "{client:?} {name}: {result}");
            assert_stored(&app, &key, result["url"].as_str().unwrap(), bytes).await;
        }
    }
}

#[tokio::test]
async fn stock_clients_resume_after_storage_and_gateway_restart() {
    let mut app = spawn_app().await;
    let key = app.api_key("resume@example.com").await;
    let dir = tempfile::tempdir().unwrap();
    let bytes = png_bytes(50 * 1024 * 1024, 3);
    for client in [Client::TusJs, Client::Tuspy] {
        let path = dir.path().join(format!("{client:?}.png"));
        std::fs::write(&path, &bytes).unwrap();
        let storage = dir.path().join(format!("{client:?}-urls.json"));
        let mut first = arguments(&app.url("/api/uploads"), &key, &path, &storage);
        first.extend(["--stop-after".to_owned(), (20 * 1024 * 1024).to_string()]);
        let (code, stopped) = run(client, &first).await;
        assert_eq!(code, 3, "{client:?}: {stopped}");
        let url = stopped["url"].as_str().unwrap().to_owned();
        let acknowledged = stopped["offset"].as_u64().unwrap();
        assert!(acknowledged >= 20 * 1024 * 1024, "{stopped}");

        // Both services go down and come back; the client goes on through a new gateway.
        app.storage.restart().await;
        let gateway = app.spawn_replica().await;
        let path_of_upload = &url[url.find("/api/uploads/").unwrap()..];
        let mut second = arguments(&format!("{gateway}/api/uploads"), &key, &path, &storage);
        second.extend(["--url".to_owned(), format!("{gateway}{path_of_upload}")]);
        let (code, resumed) = run(client, &second).await;
        assert_eq!(code, 0, "{client:?}: {resumed}");
        assert_resumed_from(&resumed, acknowledged, bytes.len());
        assert_stored(&app, &key, &url, &bytes).await;
    }
}

/// The bench's tus-js-client reads the file in larger pieces (`upload.mjs --read-size`,
/// through the client's documented `fileReader` option): the bytes stored are the same,
/// for an empty file, for chunks that are not a multiple of the piece, and when a stopped
/// upload resumes from the middle of a chunk.
#[tokio::test]
async fn tus_js_client_reading_larger_pieces_uploads_byte_for_byte() {
    let app = spawn_app().await;
    let key = app.api_key("pieces@example.com").await;
    let dir = tempfile::tempdir().unwrap();
    let endpoint = app.url("/api/uploads");
    let pieces = |arguments: &mut Vec<String>, chunk: usize| {
        arguments.extend([
            "--chunk-size".to_owned(),
            chunk.to_string(),
            "--read-size".to_owned(),
            (768 * 1024).to_string(),
        ]);
    };

    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, b"").unwrap();
    let mut whole = arguments(&endpoint, &key, &empty, &dir.path().join("empty.json"));
    pieces(&mut whole, 1024 * 1024);
    let (code, result) = run(Client::TusJs, &whole).await;
    assert_eq!(code, 0, "{result}");
    assert_stored(&app, &key, result["url"].as_str().unwrap(), b"").await;

    let bytes = png_bytes(5 * 1024 * 1024 + 3, 4);
    let path = dir.path().join("pieces.png");
    std::fs::write(&path, &bytes).unwrap();
    let storage = dir.path().join("pieces.json");
    let mut first = arguments(&endpoint, &key, &path, &storage);
    pieces(&mut first, 2 * 1024 * 1024 + 1);
    first.extend(["--stop-after".to_owned(), (2 * 1024 * 1024).to_string()]);
    let (code, stopped) = run(Client::TusJs, &first).await;
    assert_eq!(code, 3, "{stopped}");
    let acknowledged = stopped["offset"].as_u64().unwrap();
    assert_eq!(acknowledged, 2 * 1024 * 1024 + 1, "{stopped}");

    let mut second = arguments(&endpoint, &key, &path, &storage);
    pieces(&mut second, 2 * 1024 * 1024 + 1);
    second.push("--resume".to_owned());
    let (code, resumed) = run(Client::TusJs, &second).await;
    assert_eq!(code, 0, "{resumed}");
    assert_resumed_from(&resumed, acknowledged, bytes.len());
    assert_stored(&app, &key, stopped["url"].as_str().unwrap(), &bytes).await;
}
