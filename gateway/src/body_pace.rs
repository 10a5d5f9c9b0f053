//! Every request body is held to the pace of an upload: a body that sends nothing for
//! the idle timeout, or averages less than the minimum rate over a window, is cut off and
//! answered 408 `request_timeout` (the connection closed). The upload routes pace their
//! own bodies (they also clean up what they stored); this covers the rest: JSON, forms
//! and the profile picture, so a 1 byte/s body holds no connection open for hours.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use actix_web::{
    Error, ResponseError,
    body::{EitherBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    error::PayloadError,
    http::{ConnectionType, Method, header},
    middleware::Next,
    web,
};
use bytes::Bytes;
use flowsvault_proto::ErrorCode;
use futures_util::Stream;
use tokio::time::{Instant, Sleep};

use crate::{problem::ApiError, routes::PaceSettings, startup::AppState};

/// Routes whose handlers pace their bodies themselves.
fn paced_by_handler(method: &Method, path: &str) -> bool {
    (method == Method::POST && path == "/api/upload") || path.starts_with("/api/uploads")
}

/// Whether the request announces a body at all.
fn has_body(request: &ServiceRequest) -> bool {
    let headers = request.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|length| length.trim() != "0")
}

pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let settings = request
        .app_data::<web::Data<AppState>>()
        .map(|state| state.settings.pace);
    let Some(settings) = settings.filter(|_| {
        has_body(&request) && !paced_by_handler(request.method(), request.match_info().as_str())
    }) else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    let cut = Arc::new(AtomicBool::new(false));
    let (head, payload) = request.into_parts();
    let body = PacedBody::new(payload, settings, Arc::clone(&cut));
    let request = ServiceRequest::from_parts(
        head,
        Payload::from(Box::pin(body) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>),
    );
    let response = next.call(request).await?;
    if !cut.load(Ordering::Relaxed) {
        return Ok(response.map_into_left_body());
    }
    // Whatever the handler made of the broken body, the answer is the timeout.
    let mut timeout = ApiError::new(
        ErrorCode::RequestTimeout,
        format!(
            "the request body stalled for {} s or arrived slower than {} bytes/s",
            settings.idle.as_secs(),
            settings.min_bytes_per_sec
        ),
    )
    .error_response();
    timeout
        .head_mut()
        .set_connection_type(ConnectionType::Close);
    let (request, _) = response.into_parts();
    Ok(ServiceResponse::new(request, timeout).map_into_right_body())
}

/// A body that fails with a timeout when it stalls or trickles, and says so in `cut`.
/// The clocks start at the handler's first read, so the time it spends checking the caller
/// first is not the client's; the idle timer is armed only while a read waits for bytes.
struct PacedBody {
    inner: Payload,
    settings: PaceSettings,
    /// Armed when a read finds nothing to take, and kept while the reads that follow
    /// find nothing either.
    idle: Pin<Box<Sleep>>,
    waiting: bool,
    /// Set by the first read.
    window_start: Option<Instant>,
    window_bytes: u64,
    cut: Arc<AtomicBool>,
}

impl PacedBody {
    fn new(inner: Payload, settings: PaceSettings, cut: Arc<AtomicBool>) -> Self {
        Self {
            inner,
            idle: Box::pin(tokio::time::sleep(settings.idle)),
            waiting: false,
            settings,
            window_start: None,
            window_bytes: 0,
            cut,
        }
    }

    fn cut_off(&self) -> Poll<Option<Result<Bytes, PayloadError>>> {
        self.cut.store(true, Ordering::Relaxed);
        Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::from(
            std::io::ErrorKind::TimedOut,
        )))))
    }

    /// Counts a chunk; false when the window it closes was too slow.
    fn keeps_pace(&mut self, bytes: usize, now: Instant) -> bool {
        self.window_bytes += bytes as u64;
        let window_start = *self.window_start.get_or_insert(now);
        let elapsed = now.duration_since(window_start);
        if elapsed < self.settings.window.max(Duration::from_millis(1)) {
            return true;
        }
        let rate = self.window_bytes as f64 / elapsed.as_secs_f64();
        self.window_start = Some(now);
        self.window_bytes = 0;
        self.settings.min_bytes_per_sec == 0 || rate >= self.settings.min_bytes_per_sec as f64
    }
}

impl Stream for PacedBody {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.cut.load(Ordering::Relaxed) {
            return Poll::Ready(None);
        }
        let now = Instant::now();
        self.window_start.get_or_insert(now);
        match Pin::new(&mut self.inner).poll_next(context) {
            Poll::Ready(Some(Ok(chunk))) => {
                self.waiting = false;
                if !self.keeps_pace(chunk.len(), now) {
                    return self.cut_off();
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(other) => Poll::Ready(other),
            Poll::Pending => {
                if !self.waiting {
                    self.waiting = true;
                    let deadline = now + self.settings.idle;
                    self.idle.as_mut().reset(deadline);
                }
                match self.idle.as_mut().poll(context) {
                    Poll::Ready(()) => self.cut_off(),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}
