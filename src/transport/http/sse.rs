//! The legacy HTTP+SSE transport (protocol 2024-11-05), which rmcp no longer
//! ships: `GET /sse` opens a session and its event stream, whose first event
//! (`endpoint`) names where to POST (`/messages?sessionId=…`; `session_id` is
//! accepted too, as the Python SDK sends it). Each POST answers 202 and its
//! reply arrives on the stream as an `event: message`. The session is bridged
//! into the same rmcp handler as the other transports over a pair of channels.

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
use super::middleware::ClientIp;
use super::middleware::request_id::upstream_headers;
use super::request::{self, Refusal};
use crate::server::{CallScope, DocSpaceServer};

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
    state.sessions.sse_opened(ticket, &id, inbound_tx, stop.clone());
    let server = DocSpaceServer::new(setup);
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
    let Some(id) = request::query_pairs(&parts.uri)
        .into_iter()
        .find(|(k, _)| k == "sessionId" || k == "session_id")
        .map(|(_, v)| v)
    else {
        return Refusal::bad("missing sessionId: POST to the endpoint the SSE stream announced").into_response();
    };
    let settings = match state.connect.settings(&parts.uri, &parts.headers).await {
        Ok(s) => s,
        Err(refusal) => return refusal.into_response(),
    };
    let mut parts = parts;
    let mut scope = CallScope {
        upstream_headers: upstream_headers(&parts.extensions),
        drain: Some(state.drain.clone()),
        metrics: state.metrics.clone(),
        ..CallScope::default()
    };
    match state.connect.oauth_client(&settings) {
        Ok(client) => scope.client = client,
        Err(refusal) => return refusal.into_response(),
    }
    parts.extensions.insert(scope);
    let Some(session) = state.sessions.sse_touch(&id) else {
        return Refusal::with_status(
            StatusCode::NOT_FOUND,
            "unknown_session",
            format!("no SSE session `{id}`; open one with GET /sse"),
        )
        .into_response();
    };

    if state.sessions.identity(&settings) != session.identity {
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
    let mut message: ClientJsonRpcMessage = match serde_json::from_slice(&bytes) {
        Ok(m) => m,
        Err(e) => return Refusal::bad(format!("the body is not a JSON-RPC message: {e}")).into_response(),
    };
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
