//! Request bodies, read whole before a handler sees them, within three
//! bounds: the route's largest size (413, refused from `Content-Length`
//! before a byte is read when it says too much), a deadline for the whole
//! body (408: a client trickling bytes cannot hold the request open), and a
//! budget of body bytes held at once over every request (503 with
//! `Retry-After`), which bounds the memory a flood of large bodies takes. A
//! request holds its share of the budget until its response is ready.
//!
//! A request answered before its body was read to the end (refused by one of
//! those bounds, or before reading: an unknown session, a missing token, a bad
//! `Host`, a rate limit) gets `Connection: close` ([`close_unread`]): hyper
//! closes such a connection after the response, and a keep-alive client must
//! know not to send its next request there.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::super::request::Refusal;

/// The largest body of an OAuth endpoint (form posts, JSON registrations).
pub(in crate::transport::http) const OAUTH_MAX_BODY: usize = 16 * 1024;

/// The shared budget of body bytes.
#[derive(Debug, Clone)]
pub(in crate::transport::http) struct Budget {
    bytes: Arc<Semaphore>,
    /// What the settings call it, for messages.
    size: usize,
}

impl Budget {
    /// `size` bytes (at most `Semaphore::MAX_PERMITS`).
    pub(in crate::transport::http) fn new(size: usize) -> Self {
        let size = size.min(Semaphore::MAX_PERMITS);
        Self { bytes: Arc::new(Semaphore::new(size)), size }
    }
}

/// The body policy of a group of routes.
#[derive(Debug, Clone)]
pub(in crate::transport::http) struct Bodies {
    /// Largest body, in bytes.
    pub max: usize,
    /// The setting that sets `max`, for messages.
    pub setting: &'static str,
    /// Time to receive a whole body.
    pub timeout: Duration,
    /// Shared by every group.
    pub budget: Budget,
}

impl Bodies {
    /// The whole `body` of a request with `headers`, and its share of the
    /// budget (to hold until the response is ready); or the refusal.
    pub(in crate::transport::http) async fn read(
        &self,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<(Bytes, OwnedSemaphorePermit), Response> {
        let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let too_large = || {
            Refusal::with_status(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the request body exceeds {} bytes ({})", self.max, self.setting),
            )
            .into_response()
        };
        // Without `Content-Length` (chunked) the body may be as large as allowed.
        let claim = match declared {
            Some(n) if n > self.max as u64 => return Err(too_large()),
            Some(n) => n as usize,
            None => self.max,
        };
        // `max` is at most 1 GiB (its setting's range), so the claim fits a u32.
        let permit = u32::try_from(claim).ok().and_then(|n| self.budget.bytes.clone().try_acquire_many_owned(n).ok());
        let Some(permit) = permit else {
            tracing::warn!(claim, budget = self.budget.size, "refused a request body: the body budget is spent");
            let mut response = Refusal::with_status(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the server is reading too many request bodies at once (DOCSPACE_HTTP_BODY_BUDGET_BYTES); retry \
                 shortly",
            )
            .because("body_budget")
            .into_response();
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return Err(response);
        };
        match tokio::time::timeout(self.timeout, axum::body::to_bytes(body, self.max)).await {
            Ok(Ok(bytes)) => Ok((bytes, permit)),
            Ok(Err(e)) if is_length_limit(&e) => Err(too_large()),
            Ok(Err(e)) => {
                tracing::debug!("request body not read: {e}");
                Err(Refusal::bad(format!("the request body could not be read: {e}"))
                    .because("body_unreadable")
                    .into_response())
            }
            Err(_) => {
                let seconds = self.timeout.as_secs();
                tracing::info!(status = 408, "refused: the request body took longer than {seconds} s");
                Err(Refusal::with_status(
                    StatusCode::REQUEST_TIMEOUT,
                    "body_timeout",
                    format!("the request body did not arrive within {seconds} s (DOCSPACE_HTTP_BODY_TIMEOUT)"),
                )
                .into_response())
            }
        }
    }
}

/// The middleware: the body read whole (or the refusal), then the handler.
pub(in crate::transport::http) async fn buffer(
    State(policy): State<Arc<Bodies>>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    if body.size_hint().exact() == Some(0) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    match policy.read(&parts.headers, body).await {
        Ok((bytes, permit)) => {
            let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            drop(permit);
            response
        }
        Err(refusal) => refusal,
    }
}

/// A request body that records when it has been read to its end.
struct Tracked {
    inner: Body,
    ended: Arc<AtomicBool>,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.ended.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// The middleware, outermost: a response to a request whose body was not
/// read to its end says `Connection: close`. hyper closes such a connection
/// once the response is out (it cannot find the next request's start), and
/// without the header a keep-alive client would send its next request
/// there and lose it (found by the soak, `benches/soak.rs`, after 413s).
pub(in crate::transport::http) async fn close_unread(req: Request, next: Next) -> Response {
    if req.body().is_end_stream() {
        return next.run(req).await;
    }
    let ended = Arc::new(AtomicBool::new(false));
    let flag = ended.clone();
    let req = req.map(move |inner| Body::new(Tracked { inner, ended: flag }));
    let mut response = next.run(req).await;
    if !ended.load(Ordering::Relaxed) {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Whether reading stopped at the size limit (axum's `LengthLimitError`, somewhere in the chain).
fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = s.source();
    }
    false
}
