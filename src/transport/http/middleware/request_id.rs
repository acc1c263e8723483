//! Gives every request an id: the caller's `X-Request-ID` when it is a sane
//! one, else a new one. It is logged, echoed in the response and sent on to
//! DocSpace with the calls the request makes, as is the caller's W3C trace
//! context (`traceparent`, `tracestate`) when it is valid ([`crate::trace`]).

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::trace::TraceContext;

/// `X-Request-ID`.
pub(crate) static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of one HTTP request.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub HeaderValue);

/// The caller's id, when it is 1–128 visible ASCII characters.
fn sane(value: &HeaderValue) -> bool {
    !value.is_empty() && value.len() <= 128 && value.as_bytes().iter().all(u8::is_ascii_graphic)
}

/// Whether a request came with a `traceparent` header and it was valid
/// (carried by the response, for the metrics).
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeaderTrace(pub bool);

/// The middleware.
pub(crate) async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req.headers().get(&REQUEST_ID).filter(|v| sane(v)).cloned().unwrap_or_else(|| {
        HeaderValue::from_str(&uuid::Uuid::new_v4().simple().to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("-"))
    });
    req.extensions_mut().insert(RequestId(id.clone()));
    let traced = TraceContext::from_headers(req.headers());
    if let Some(Some(context)) = &traced {
        req.extensions_mut().insert(context.clone());
    }
    let mut response = next.run(req).await;
    response.headers_mut().insert(REQUEST_ID.clone(), id);
    if let Some(parsed) = traced {
        response.extensions_mut().insert(HeaderTrace(parsed.is_some()));
    }
    response
}

/// The request id and trace context of a request rebuilt from its headers
/// (a message relayed from another replica, whose own middleware chose the
/// id and sent it along as `X-Request-ID`).
pub(crate) fn restore(headers: &axum::http::HeaderMap, extensions: &mut axum::http::Extensions) {
    if let Some(id) = headers.get(&REQUEST_ID).filter(|v| sane(v)) {
        extensions.insert(RequestId(id.clone()));
    }
    if let Some(Some(context)) = TraceContext::from_headers(headers) {
        extensions.insert(context);
    }
}

/// The headers DocSpace calls made for a request carry (from its
/// extensions): its request id and its trace context.
pub(crate) fn upstream_headers(extensions: &axum::http::Extensions) -> Vec<(HeaderName, HeaderValue)> {
    let mut headers: Vec<(HeaderName, HeaderValue)> =
        extensions.get::<RequestId>().map(|r| vec![(REQUEST_ID.clone(), r.0.clone())]).unwrap_or_default();
    if let Some(context) = extensions.get::<TraceContext>() {
        headers.extend(context.headers());
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_ids_are_kept() {
        assert!(sane(&HeaderValue::from_static("abc-123")));
        assert!(!sane(&HeaderValue::from_static("")));
        assert!(!sane(&HeaderValue::from_static("has space")));
        assert!(!sane(&HeaderValue::from_str(&"x".repeat(129)).unwrap()));
        let mut extensions = axum::http::Extensions::new();
        assert!(upstream_headers(&extensions).is_empty());
        extensions.insert(RequestId(HeaderValue::from_static("id-1")));
        assert_eq!(upstream_headers(&extensions), vec![(REQUEST_ID.clone(), HeaderValue::from_static("id-1"))]);
    }
}
