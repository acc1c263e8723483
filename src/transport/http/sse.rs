//! The legacy HTTP+SSE transport (protocol 2024-11-05), which rmcp no longer
//! ships: `GET /sse` opens a session and its event stream, whose first event
//! (`endpoint`) names where to POST (`/messages?sessionId=…`; `session_id` is
//! accepted too, as the Python SDK sends it). Each POST answers 202 and its
//! reply arrives on the stream as an `event: message`. The session is bridged
//! into the same rmcp handler as the other transports over a pair of channels.
//!
//! With the shared store, a POST may land on a replica other than the one
//! holding the stream: that replica checks the caller against the stored
//! session and relays the message ([`crate::store::relay`]); the holder
//! takes it in as if it had been posted there ([`deliver_relayed`]).

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use rmcp::ServiceExt;
use rmcp::model::{ClientJsonRpcMessage, GetExtensions};
use tokio_util::sync::CancellationToken;

use super::AppState;
use super::middleware::request_id::{self, REQUEST_ID, RequestId, upstream_headers};
use super::middleware::{ClientIp, store_unavailable};
use super::request::{self, Refusal};
use super::sessions::SseFound;
use crate::server::{CallScope, DocSpaceServer};
use crate::spans::Span;
use crate::store::relay::{Relayed, Sent};
use crate::trace::{TRACEPARENT, TRACESTATE, TraceContext};

/// Removes a session when its event stream ends (client gone or shutdown).
struct Closer {
    state: Arc<AppState>,
    id: String,
    stop: CancellationToken,
}

impl Drop for Closer {
    fn drop(&mut self) {
        self.stop.cancel();
        self.state.sessions.sse_closed(&self.id);
        tracing::info!(session = %self.id, "SSE session closed");
    }
}

/// `GET /sse`: a new session and its event stream.
pub(super) async fn open(State(state): State<Arc<AppState>>, req: Request) -> Response {
    if let Some(refusal) = state.refuse_if_draining() {
        return refusal;
    }
    let settings = match state.connect.settings(req.uri(), req.headers()).await {
        Ok(s) => s,
        Err(refusal) => return refusal.into_response(),
    };
    let ip = req.extensions().get::<ClientIp>().map(|c| c.0);
    let (setup, ticket) = match state.open(&settings, ip).await {
        Ok(opened) => opened,
        Err(refusal) => return refusal.into_response(),
    };
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (inbound_tx, inbound_rx) = mpsc::channel::<ClientJsonRpcMessage>(32);
    let (outbound_tx, outbound_rx) = mpsc::channel(32);
    let stop = state.shutdown.child_token();
    if state.sessions.sse_opened(ticket, &id, inbound_tx, stop.clone()).await.is_err() {
        return store_unavailable();
    }
    let server = DocSpaceServer::new(setup).with_extension(state.extension.clone());
    let service_stop = stop.clone();
    let session = id.clone();
    tokio::spawn(async move {
        match server.serve_with_ct((outbound_tx, inbound_rx), service_stop).await {
            Ok(running) => {
                let reason = running.waiting().await;
                tracing::debug!(session = %session, ?reason, "SSE session's MCP service ended");
            }
            Err(e) => tracing::info!(session = %session, "SSE session ended before initialize: {e}"),
        }
    });
    tracing::info!(session = %id, "SSE session opened");

    let endpoint = Event::default().event("endpoint").data(format!("/messages?sessionId={id}"));
    let closer = Closer { state: state.clone(), id, stop: stop.clone() };
    let messages = outbound_rx.map(move |message| {
        let _keep = &closer; // the stream owns the closer: dropping it closes the session
        let data = serde_json::to_string(&message).unwrap_or_default();
        Ok::<Event, Infallible>(Event::default().event("message").data(data))
    });
    let stream = futures::stream::once(async move { Ok(endpoint) })
        .chain(messages)
        .take_until(async move { stop.cancelled().await });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

/// `POST /messages?sessionId=…`: one client message into its session.
pub(super) async fn message(State(state): State<Arc<AppState>>, req: Request) -> Response {
    if let Some(refusal) = state.refuse_if_draining() {
        return refusal;
    }
    let (parts, body) = req.into_parts();
    let Some(id) = session_id(&parts.uri) else {
        return Refusal::bad("missing sessionId: POST to the endpoint the SSE stream announced").into_response();
    };
    let settings = match state.connect.settings(&parts.uri, &parts.headers).await {
        Ok(s) => s,
        Err(refusal) => return refusal.into_response(),
    };
    let (owner, elsewhere) = match state.sessions.sse_touch(&id).await {
        Ok(SseFound::Here(session)) => (session.identity, None),
        Ok(SseFound::Elsewhere(stored)) => (stored.identity, Some(stored.replica)),
        Ok(SseFound::Unknown) => return unknown(&id),
        Err(_) => return store_unavailable(),
    };
    if state.sessions.identity(&settings) != owner {
        tracing::warn!(session = %id, "refused a message from another identity on an SSE session");
        return Refusal::forbidden("this session was opened with other credentials or another portal")
            .because("session_identity")
            .into_response();
    }
    // Read only now that the session and its identity are known.
    let (bytes, _budget): (Bytes, _) = match state.bodies.read(&parts.headers, body).await {
        Ok(read) => read,
        Err(refusal) => return refusal,
    };
    let message: ClientJsonRpcMessage = match serde_json::from_slice(&bytes) {
        Ok(m) => m,
        Err(e) => return Refusal::bad(format!("the body is not a JSON-RPC message: {e}")).into_response(),
    };
    let Some(replica) = elsewhere else {
        return deliver(&state, &id, &settings, parts, message).await;
    };
    let (Some(relay), Ok(body)) = (&state.relay, String::from_utf8(bytes.to_vec())) else {
        return unknown(&id);
    };
    let mut headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter(|(name, _)| !RELAY_SKIPS.contains(&name.as_str()))
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    // The request id this replica gave the request, so both logs agree.
    if let Some(request_id) = parts.extensions.get::<RequestId>().and_then(|r| r.0.to_str().ok()) {
        headers.retain(|(name, _)| name != REQUEST_ID.as_str());
        headers.push((REQUEST_ID.as_str().to_owned(), request_id.to_owned()));
    }
    // With spans on, the trace context this replica passes on (naming its
    // span of this request), so the other replica's spans hang below it.
    if let (Some(_), Some(context)) = (&state.spans, parts.extensions.get::<TraceContext>()) {
        headers.retain(|(name, _)| name != TRACEPARENT.as_str() && name != TRACESTATE.as_str());
        for (name, value) in context.headers() {
            headers.extend(value.to_str().ok().map(|v| (name.as_str().to_owned(), v.to_owned())));
        }
    }
    let relayed = Relayed { session: id.clone(), uri: parts.uri.to_string(), headers, body };
    match relay.send(&replica, &relayed).await {
        Ok(Sent::Delivered) => StatusCode::ACCEPTED.into_response(),
        Ok(Sent::NoReplica) => Refusal::with_status(
            StatusCode::NOT_FOUND,
            "unknown_session",
            format!("the server holding SSE session `{id}`'s stream is gone: open a new one with GET /sse"),
        )
        .into_response(),
        Err(_) => store_unavailable(),
    }
}

/// Headers not relayed: about this hop's connection and body, or cookies
/// (which the MCP endpoints never read).
const RELAY_SKIPS: [&str; 7] =
    ["host", "connection", "content-length", "transfer-encoding", "cookie", "keep-alive", "upgrade"];

/// The session a `POST /messages` names (`sessionId`; `session_id`, as the
/// Python SDK sends it).
fn session_id(uri: &axum::http::Uri) -> Option<String> {
    request::query_pairs(uri).into_iter().find(|(k, _)| k == "sessionId" || k == "session_id").map(|(_, v)| v)
}

fn unknown(id: &str) -> Response {
    Refusal::with_status(
        StatusCode::NOT_FOUND,
        "unknown_session",
        format!("no SSE session `{id}`; open one with GET /sse"),
    )
    .into_response()
}

/// Hands `message`, sent with `parts` and `settings`, to SSE session `id`
/// held here.
async fn deliver(
    state: &AppState,
    id: &str,
    settings: &request::RequestSettings,
    mut parts: axum::http::request::Parts,
    mut message: ClientJsonRpcMessage,
) -> Response {
    let Some(session) = state.sessions.sse_here(id) else { return unknown(id) };
    let mut scope = CallScope {
        upstream_headers: upstream_headers(&parts.extensions),
        drain: Some(state.drain.clone()),
        metrics: state.metrics.clone(),
        span: parts.extensions.get::<Span>().cloned(),
        ..CallScope::default()
    };
    match state.connect.oauth_client(settings) {
        Ok(client) => scope.client = client,
        Err(refusal) => return refusal.into_response(),
    }
    parts.extensions.insert(scope);
    match &mut message {
        ClientJsonRpcMessage::Request(r) => {
            r.request.extensions_mut().insert(parts);
        }
        ClientJsonRpcMessage::Notification(n) => {
            n.notification.extensions_mut().insert(parts);
        }
        _ => {}
    }
    let mut inbound = session.inbound;
    if inbound.send(message).await.is_err() {
        return Refusal::with_status(StatusCode::NOT_FOUND, "unknown_session", format!("SSE session `{id}` has ended"))
            .into_response();
    }
    StatusCode::ACCEPTED.into_response()
}

/// Takes in the messages other replicas relay to this one's SSE sessions,
/// in the order they arrive, until the relay stops.
pub(super) fn deliver_relayed(state: Arc<AppState>, mut relayed: tokio::sync::mpsc::Receiver<Relayed>) {
    tokio::spawn(async move {
        while let Some(message) = relayed.recv().await {
            let session = message.session.clone();
            if let Err(why) = take_relayed(&state, message).await {
                tracing::info!(session = %session, "dropped a relayed SSE message: {why}");
            }
        }
    });
}

/// One relayed message, checked again here (credentials, identity) as a
/// POST to this replica would be.
async fn take_relayed(state: &AppState, relayed: Relayed) -> Result<(), String> {
    let mut builder = axum::http::Request::builder().method(axum::http::Method::POST).uri(&relayed.uri);
    for (name, value) in &relayed.headers {
        builder = builder.header(name, value);
    }
    let (mut parts, ()) = builder.body(()).map_err(|e| format!("malformed: {e}"))?.into_parts();
    request_id::restore(&parts.headers, &mut parts.extensions);
    // With spans on, this replica's handling of the relayed POST is a span of
    // its own, below the relaying replica's (whose context came along).
    let span = state.spans.as_ref().map(|spans| {
        let incoming = parts.extensions.get::<TraceContext>().cloned();
        let span = spans.tracer().http_request("POST", "/messages", incoming.as_ref());
        if let Some(context) = span.trace_context(incoming.and_then(|c| c.tracestate)) {
            parts.extensions.insert(context);
        }
        parts.extensions.insert(span.clone());
        span
    });
    let delivered = deliver_checked(state, &relayed, parts).await;
    match (span, &delivered) {
        (Some(span), Ok(())) => span.end_http_request(StatusCode::ACCEPTED.as_u16()),
        (Some(span), Err(_)) => span.end_refused(),
        (None, _) => {}
    }
    delivered
}

/// [`take_relayed`]'s checks and delivery.
async fn deliver_checked(state: &AppState, relayed: &Relayed, parts: axum::http::request::Parts) -> Result<(), String> {
    let settings = state.connect.settings(&parts.uri, &parts.headers).await.map_err(|r| r.message)?;
    let Some(session) = state.sessions.sse_here(&relayed.session) else {
        return Err("no such session here (its stream ended)".to_owned());
    };
    if state.sessions.identity(&settings) != session.identity {
        return Err("sent with other credentials than the session's".to_owned());
    }
    let message: ClientJsonRpcMessage =
        serde_json::from_str(&relayed.body).map_err(|e| format!("not a JSON-RPC message: {e}"))?;
    let answer = deliver(state, &relayed.session, &settings, parts, message).await;
    if answer.status() == StatusCode::ACCEPTED { Ok(()) } else { Err(format!("answered {}", answer.status())) }
}
