//! gRPC transport settings shared by every server and client, and request-id propagation.
//!
//! The HTTP/2 default windows (64 KiB) throttle bulk byte streams to a fraction of what
//! the link carries; every server and client here opens them wide instead.

use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tonic::transport::{
    Channel, Endpoint, Server,
    server::{Router, TcpIncoming},
};

/// Per-stream HTTP/2 flow-control window.
pub const STREAM_WINDOW_BYTES: u32 = 8 * 1024 * 1024;
/// Per-connection HTTP/2 flow-control window.
pub const CONNECTION_WINDOW_BYTES: u32 = 16 * 1024 * 1024;
/// Largest gRPC message accepted; byte chunks are far smaller.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;
/// The metadata key carrying the request id from the gateway through every hop.
pub const REQUEST_ID_KEY: &str = "x-request-id";

/// A server builder with wide windows and a span per call carrying the request id.
pub fn server() -> Server {
    Server::builder()
        .initial_stream_window_size(STREAM_WINDOW_BYTES)
        .initial_connection_window_size(CONNECTION_WINDOW_BYTES)
        .tcp_nodelay(true)
        .http2_keepalive_interval(Some(Duration::from_secs(20)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .trace_fn(|request| {
            let request_id = request
                .headers()
                .get(REQUEST_ID_KEY)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("grpc", path = %request.uri().path(), request_id)
        })
}

/// A lazily connecting channel with wide windows. Connection failures surface as
/// `Unavailable` statuses on the first call, so a service may start before its peers.
pub fn channel(url: &str) -> anyhow::Result<Channel> {
    Ok(endpoint(url)?.connect_lazy())
}

/// The settings of [`channel`], for a caller that opens its channels later: a channel's
/// connection is driven on the runtime it is opened from.
pub fn endpoint(url: &str) -> anyhow::Result<Endpoint> {
    Ok(Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("invalid grpc url {url}"))?
        .initial_stream_window_size(STREAM_WINDOW_BYTES)
        .initial_connection_window_size(CONNECTION_WINDOW_BYTES)
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(3))
        .http2_keep_alive_interval(Duration::from_secs(20))
        .keep_alive_timeout(Duration::from_secs(10))
        .keep_alive_while_idle(true))
}

/// Wraps a message in a request that carries the caller's request id.
pub fn request<T>(message: T, request_id: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(value) = request_id.parse() {
        request.metadata_mut().insert(REQUEST_ID_KEY, value);
    }
    request
}

/// Binds a listener; port 0 picks a free port (tests).
pub async fn bind(address: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .with_context(|| format!("binding {address}"))
}

/// Serves until `shutdown` resolves, then lets in-flight calls finish.
///
/// The accepted connections get `TCP_NODELAY` here: the builder's setting applies only to
/// listeners it binds itself. Without it, a small answer sent right after an earlier
/// write on the connection waits for the peer's delayed ACK (40 ms on Linux).
pub async fn serve(
    router: Router,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    router
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .context("grpc server failed")
}

/// The standard gRPC health service, reporting every service of this process as serving.
pub async fn health_service()
-> tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health> {
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    service
}
