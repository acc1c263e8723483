//! Streamable HTTP at `/mcp`, before rmcp's service: every request's
//! settings are read (and an OAuth token checked); a request on a session
//! must come from the identity that opened it (and an unknown session is
//! refused before its body is read); a POST without a session
//! opens one (or is a stateless 2026-07-28 request) within the session cap.
//! Each request reaches the handler with its [`CallScope`].
//!
//! An OAuth request whose token DocSpace refuses during the call (a 401 to
//! any of its DocSpace requests, seen by the request's own client) is
//! answered with HTTP 401 and a challenge rather than a tool error, so that
//! the client refreshes the token or signs in again. rmcp answers a request
//! on a session with an event stream whose head it sends at once, so the
//! head of an OAuth request's stream is held back until its first message
//! (the call's answer, a progress or log notification): by then any refusal
//! before it has been seen.
//!
//! A session's `tools/list` is answered here ([`prepared_list`]), from the
//! selection's prepared bytes, without waking the session's rmcp worker:
//! the answer is the same for every request of a selection, and building it
//! per request (typed tools serialised to JSON, an event stream) cost more
//! than the rest of the request together.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use super::AppState;
use super::middleware::request_id::upstream_headers;
use super::middleware::{ClientIp, store_unavailable};
use super::request::{OAuthGrant, Refusal};
use super::sessions::{Owner, SessionRecord, Touched};
use crate::server::CallScope;
use crate::spans::Span;

/// `Mcp-Session-Id`.
pub(super) static SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");

/// The middleware in front of rmcp's Streamable HTTP service.
pub(super) async fn gate(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    if let Some(refusal) = state.refuse_if_draining() {
        return refusal;
    }
    let settings = match state.connect.settings(req.uri(), req.headers()).await {
        Ok(s) => s,
        Err(refusal) => return refusal.into_response(),
    };
    let identity = state.sessions.identity(&settings);
    // The grant of an OAuth POST, whose answer may turn into a 401.
    let watched = settings.oauth.clone().filter(|_| req.method() == Method::POST);
    let mut scope = CallScope {
        upstream_headers: upstream_headers(req.extensions()),
        drain: Some(state.drain.clone()),
        metrics: state.metrics.clone(),
        span: req.extensions().get::<Span>().cloned(),
        ..CallScope::default()
    };
    let session = req.headers().get(&SESSION_ID).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let ip = req.extensions().get::<ClientIp>().map(|c| c.0);
    if let Some(id) = session {
        // An unknown (or expired) session is refused here, before its body is
        // read; 404 tells the client to initialize a new one.
        let record = match state.sessions.touch(&id).await {
            Ok(Touched::Here(record)) => record,
            Ok(Touched::Elsewhere(stored)) => {
                if stored.identity != identity {
                    return other_identity(&id);
                }
                // Opened on another replica: served here from now on, with the
                // selection it was opened with and this request's credentials.
                let setup = match state.connect.setup(&settings.clone().with_selection(&stored.selection)) {
                    Ok(setup) => state.shareable(setup, &id),
                    Err(refusal) => return refusal.into_response(),
                };
                setup.set_log_level(stored.level);
                let owner = Owner::new(&state.sessions, &settings, ip, &setup);
                state.sessions.adopt(&id, owner, setup.clone());
                SessionRecord { identity: stored.identity, setup }
            }
            Ok(Touched::Unknown) => {
                return Refusal::with_status(
                    StatusCode::NOT_FOUND,
                    "unknown_session",
                    "no such session (it expired or was closed): initialize a new one",
                )
                .into_response();
            }
            Err(_) => return store_unavailable(),
        };
        if record.identity != identity {
            return other_identity(&id);
        }
        let delete = req.method() == Method::DELETE;
        if delete && state.sessions.shared().is_some() && !state.sessions.has_worker(&id).await {
            // Opened or served on another replica: rmcp here has no worker to
            // close, and the session ends in the store for every replica.
            return match state.sessions.closed(&id).await {
                Ok(()) => StatusCode::OK.into_response(),
                Err(_) => store_unavailable(),
            };
        }
        // Should rmcp rebuild a hibernated session for this request, the new
        // handler takes the session's setup from here.
        scope.setup = Some(record.setup);
        match state.connect.oauth_client(&settings) {
            Ok(client) => scope.client = client,
            Err(refusal) => return refusal.into_response(),
        }
        req.extensions_mut().insert(scope);
        let mut response = next.run(req).await;
        if delete && response.status().is_success() {
            if state.sessions.closed(&id).await.is_err() {
                tracing::warn!(session = %id, "closed here, but the shared store could not be told: it expires there");
            }
            // rmcp says 202; clients (the Python SDK among them) expect 200 for a finished DELETE.
            *response.status_mut() = StatusCode::OK;
        }
        return unless_refused(&state, watched.as_ref(), response).await;
    }
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let (setup, ticket) = match state.open(&settings, ip).await {
        Ok(opened) => opened,
        Err(refusal) => return refusal.into_response(),
    };
    // The session's id is known once rmcp has answered: the sink learns it then.
    let named = Arc::new(std::sync::OnceLock::new());
    let setup = state.shareable_pending(setup, &named);
    scope.setup = Some(setup.clone());
    req.extensions_mut().insert(scope);
    let response = next.run(req).await;
    // A stateless request (or a failed `initialize`) opens no session: the
    // ticket's place is given back as it drops.
    if let Some(id) = response.headers().get(&SESSION_ID).and_then(|v| v.to_str().ok()) {
        let _ = named.set(id.to_owned());
        if state.sessions.opened(ticket, id, setup, &settings.selection()).await.is_err() {
            let id = id.to_owned();
            state.sessions.abandon(&id).await;
            return store_unavailable();
        }
    }
    unless_refused(&state, watched.as_ref(), response).await
}

/// 403 for a request on a session opened by another identity.
fn other_identity(id: &str) -> Response {
    tracing::warn!(session = %id, "refused a request from another identity on a session");
    Refusal::forbidden("this session was opened with other credentials or another portal")
        .because("session_identity")
        .into_response()
}

/// The handler's answer to an OAuth request (`grant`), or 401 with a
/// challenge when DocSpace refused the request's token before the answer's
/// first message.
async fn unless_refused(state: &AppState, grant: Option<&OAuthGrant>, response: Response) -> Response {
    let Some(grant) = grant else { return response };
    let response = until_first_message(response).await;
    if !grant.refused.is_set() {
        return response;
    }
    state.connect.token_refused("/mcp", grant).await.into_response()
}

/// `response` itself once its first message is in hand: for an event
/// stream, the events up to the first one with data (rmcp opens a request's
/// stream with an empty priming event, and keep-alives are comments) are
/// read and held, then sent on ahead of the rest. Any other answer is
/// complete already.
async fn until_first_message(response: Response) -> Response {
    let stream = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !stream {
        return response;
    }
    let (parts, body) = response.into_parts();
    let mut rest = body.into_data_stream();
    let mut held = Vec::new();
    let mut events = Events::default();
    while let Some(chunk) = rest.next().await {
        let done = match &chunk {
            Ok(bytes) => events.push(bytes),
            Err(_) => true,
        };
        held.push(chunk);
        if done {
            break;
        }
    }
    Response::from_parts(parts, Body::from_stream(futures::stream::iter(held).chain(rest)))
}

/// Server-sent events read so far, looking for the first message.
#[derive(Default)]
struct Events {
    text: Vec<u8>,
    /// Where the events not yet looked at begin.
    next: usize,
}

impl Events {
    /// Adds `bytes`: whether a complete event with data has arrived.
    fn push(&mut self, bytes: &Bytes) -> bool {
        self.text.extend_from_slice(bytes);
        while let Some(end) = self.text.get(self.next..).and_then(|t| t.windows(2).position(|w| w == b"\n\n")) {
            let event = self.text.get(self.next..self.next + end).unwrap_or_default();
            self.next += end + 2;
            let has_data = event.split(|b| *b == b'\n').any(|line| {
                line.strip_prefix(b"data:").is_some_and(|data| data.iter().any(|b| !b.is_ascii_whitespace()))
            });
            if has_data {
                return true;
            }
        }
        false
    }
}

/// The middleware after the body is read, before rmcp: a session's
/// `tools/list` (one JSON-RPC request, on a session this gate admitted,
/// with the `Accept` and protocol version rmcp would accept) is answered
/// with the selection's prepared listing, as JSON. Anything else, and
/// anything unusual about it, goes on to rmcp, which answers or refuses it
/// as before.
pub(super) async fn prepared_list(req: Request, next: Next) -> Response {
    if req.method() != Method::POST || !req.headers().contains_key(&SESSION_ID) || !accepts_both(req.headers()) {
        return next.run(req).await;
    }
    let known_version = req.headers().get("mcp-protocol-version").is_none_or(|v| {
        v.to_str().is_ok_and(|v| rmcp::model::ProtocolVersion::KNOWN_VERSIONS.iter().any(|k| k.as_str() == v))
    });
    let Some(selection) =
        req.extensions().get::<CallScope>().and_then(|s| s.setup.as_ref()).map(|s| s.selection.clone())
    else {
        return next.run(req).await;
    };
    if !known_version {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    // The body was read whole by the body policy before this: one chunk, no copy.
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let Some(id) = list_request_id(&bytes) else {
        return next.run(Request::from_parts(parts, Body::from(bytes))).await;
    };
    let listing = selection.listing();
    let mut out = Vec::with_capacity(listing.len() + id.len() + 40);
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    out.extend_from_slice(id.as_bytes());
    out.extend_from_slice(b",\"result\":");
    out.extend_from_slice(listing);
    out.push(b'}');
    ([(header::CONTENT_TYPE, "application/json")], out).into_response()
}

/// Whether `Accept` names both media types a Streamable HTTP POST must accept.
fn accepts_both(headers: &axum::http::HeaderMap) -> bool {
    let names =
        |media: &str| headers.get_all(header::ACCEPT).iter().any(|v| v.to_str().is_ok_and(|v| v.contains(media)));
    names("application/json") && names("text/event-stream")
}

/// The id (as JSON text) of `body` when it is one JSON-RPC `tools/list`
/// request.
fn list_request_id(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Message {
        jsonrpc: String,
        id: serde_json::Value,
        method: String,
    }
    // Most bodies are not listings: no parse for them.
    if !body.windows(10).any(|w| w == b"tools/list") {
        return None;
    }
    let m: Message = serde_json::from_slice(body).ok()?;
    let id_ok = m.id.is_string() || m.id.is_i64() || m.id.is_u64();
    (m.jsonrpc == "2.0" && m.method == "tools/list" && id_ok).then(|| m.id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_single_tools_list_request_is_answered_from_prepared_bytes() {
        assert_eq!(list_request_id(br#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#).as_deref(), Some("7"));
        assert_eq!(
            list_request_id(br#"{"jsonrpc":"2.0","id":"a\"b","method":"tools/list","params":{"cursor":"x"}}"#)
                .as_deref(),
            Some(r#""a\"b""#)
        );
        for other in [
            &br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"tools/list"}}"#[..],
            br#"{"jsonrpc":"2.0","method":"tools/list"}"#,
            br#"{"jsonrpc":"2.0","id":null,"method":"tools/list"}"#,
            br#"{"jsonrpc":"2.0","id":1.5,"method":"tools/list"}"#,
            br#"{"jsonrpc":"1.0","id":1,"method":"tools/list"}"#,
            br#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/list""#,
        ] {
            assert_eq!(list_request_id(other), None, "{}", String::from_utf8_lossy(other));
        }
    }

    #[test]
    fn the_first_message_is_the_first_event_with_data() {
        let mut events = Events::default();
        assert!(!events.push(&Bytes::from_static(b"data:\nid: 0/1\nretry: 3000\n\n")), "rmcp's priming event");
        assert!(!events.push(&Bytes::from_static(b": keep-alive\n\n")));
        assert!(!events.push(&Bytes::from_static(b"data: {\"jsonrpc\"")), "not complete yet");
        assert!(events.push(&Bytes::from_static(b":\"2.0\"}\nid: 1/1\n\n")));
    }
}
