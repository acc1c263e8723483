//! Streamable HTTP at `/mcp`, before rmcp's service: every request's
//! settings are read (and an OAuth token checked); a request on a session
//! must come from the identity that opened it (and an unknown session is
//! refused before its body is read); a POST without a session
//! opens one (or is a stateless 2026-07-28 request) within the session cap.
//! Each request reaches the handler with its [`CallScope`].

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderName, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::middleware::ClientIp;
use super::middleware::request_id::upstream_headers;
use super::request::Refusal;
use crate::server::CallScope;

/// `Mcp-Session-Id`.
pub(super) static SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");

/// The middleware in front of rmcp's Streamable HTTP service.
pub(super) async fn gate(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let settings = match state.connect.settings(req.uri(), req.headers()).await {
        Ok(s) => s,
        Err(refusal) => return refusal.into_response(),
    };
    let identity = state.sessions.identity(&settings);
    let mut scope = CallScope { upstream_headers: upstream_headers(req.extensions()), ..CallScope::default() };
    let session = req.headers().get(&SESSION_ID).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if let Some(id) = session {
        // An unknown (or expired) session is refused here, before its body is
        // read; 404 tells the client to initialize a new one.
        let Some(record) = state.sessions.touch(&id) else {
            return Refusal::with_status(
                StatusCode::NOT_FOUND,
                "unknown_session",
                "no such session (it expired or was closed): initialize a new one",
            )
            .into_response();
        };
        if record.identity != identity {
            tracing::warn!(session = %id, "refused a request from another identity on a session");
            return Refusal::forbidden("this session was opened with other credentials or another portal")
                .into_response();
        }
        // Should rmcp rebuild a hibernated session for this request, the new
        // handler takes the session's setup from here.
        scope.setup = Some(record.setup);
        match state.connect.oauth_client(&settings) {
            Ok(client) => scope.client = client,
            Err(refusal) => return refusal.into_response(),
        }
        req.extensions_mut().insert(scope);
        let delete = req.method() == Method::DELETE;
        let mut response = next.run(req).await;
        if delete && response.status().is_success() {
            state.sessions.closed(&id);
            // rmcp says 202; clients (the Python SDK among them) expect 200 for a finished DELETE.
            *response.status_mut() = StatusCode::OK;
        }
        return response;
    }
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let ip = req.extensions().get::<ClientIp>().map(|c| c.0);
    let (setup, ticket) = match state.open(&settings, ip).await {
        Ok(opened) => opened,
        Err(refusal) => return refusal.into_response(),
    };
    scope.setup = Some(setup.clone());
    req.extensions_mut().insert(scope);
    let response = next.run(req).await;
    // A stateless request (or a failed `initialize`) opens no session: the
    // ticket's place is given back as it drops.
    if let Some(id) = response.headers().get(&SESSION_ID).and_then(|v| v.to_str().ok()) {
        state.sessions.opened(ticket, id, setup);
    }
    response
}
