//! What stands before the handlers: authentication (the sandbox's four
//! credentials, or an access token from its OAuth server), injected faults,
//! and a 501 in DocSpace's envelope for what the sandbox does not implement.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use futures_util::stream;
use serde::Deserialize;
use serde_json::json;

use super::{St, ok, refuse};
use crate::store::Refusal;
use crate::{API_KEY, AUTH_TOKEN, PASSWORD, USERNAME};

/// A fault to inject into the next requests whose path starts with `path`.
#[derive(Debug, Clone, Deserialize)]
pub struct Fault {
    /// Path prefix, e.g. `/api/2.0/files/file/`.
    pub path: String,
    /// `status` (answer `status` with an error envelope), `envelope` (HTTP 200
    /// with an error envelope), `delay` (answer after `delay_ms`), `garbage`
    /// (HTTP 200 with a body that is not JSON), `reset` (close the connection
    /// without an answer), `slow` (the real answer, its body sent in pieces
    /// over `delay_ms`). All but `delay` and `slow` stop the request before
    /// its handler, so nothing it asks for is done.
    pub mode: String,
    /// For `status` and `envelope`.
    #[serde(default = "default_status")]
    pub status: u16,
    /// For `delay` and `slow`.
    #[serde(default)]
    pub delay_ms: u64,
    /// How many requests it applies to.
    #[serde(default = "one")]
    pub times: u32,
}

fn default_status() -> u16 {
    500
}

fn one() -> u32 {
    1
}

pub(super) async fn authenticate(State(s): St, request: Request, next: Next) -> Response {
    let oauth_token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| s.oauth.lock().is_ok_and(|o| o.accepts(t.trim())));
    if oauth_token || accepted(request.headers()) {
        next.run(request).await
    } else {
        refuse(&Refusal { status: 401, message: "Unauthorized: send the sandbox API key, token or password".into() })
    }
}

/// Whether the request carries one of the sandbox's credentials, in any of
/// the four ways docspace-mcp can send them.
fn accepted(headers: &HeaderMap) -> bool {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USERNAME}:{PASSWORD}"));
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default().trim();
    let cookie_ok = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|c| c.split(';'))
        .any(|c| c.trim() == format!("asc_auth_key={AUTH_TOKEN}"));
    auth == format!("Bearer {API_KEY}") || auth == AUTH_TOKEN || auth == format!("Basic {basic}") || cookie_ok
}

/// The faults waiting for requests, and how many of each mode were applied.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    pending: Vec<Fault>,
    applied: BTreeMap<String, u64>,
}

impl Faults {
    pub(crate) fn push(&mut self, fault: Fault) {
        self.pending.push(fault);
    }

    /// The faults still waiting for a matching request.
    pub(crate) fn pending(&self) -> Vec<Fault> {
        self.pending.clone()
    }

    /// How many requests each mode has been applied to.
    pub(crate) fn applied(&self) -> BTreeMap<String, u64> {
        self.applied.clone()
    }

    /// Takes the first pending fault matching `path` (counting it as applied).
    fn take(&mut self, path: &str) -> Option<Fault> {
        let i = self.pending.iter().position(|f| path.starts_with(&f.path) && f.times > 0)?;
        let f = self.pending.get_mut(i)?;
        f.times -= 1;
        let taken = f.clone();
        self.pending.retain(|f| f.times > 0);
        *self.applied.entry(taken.mode.clone()).or_default() += 1;
        Some(taken)
    }
}

/// How many pieces a `slow` answer's body is sent in.
const SLOW_PIECES: u64 = 8;

/// Applies the first pending fault whose path prefix matches.
pub(super) async fn faults(State(s): St, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let fault = s.faults.lock().ok().and_then(|mut faults| faults.take(&path));
    let Some(f) = fault else { return next.run(request).await };
    match f.mode.as_str() {
        "delay" => {
            tokio::time::sleep(Duration::from_millis(f.delay_ms)).await;
            next.run(request).await
        }
        "envelope" => {
            axum::Json(json!({"status": 1, "statusCode": f.status, "error": {"message": "Injected failure"}}))
                .into_response()
        }
        "garbage" => (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "{not json").into_response(),
        // A body that fails before its first byte: hyper drops the connection
        // without writing the response head.
        "reset" => Body::from_stream(stream::once(async {
            Err::<Bytes, _>(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected reset"))
        }))
        .into_response(),
        "slow" => slow(next.run(request).await, Duration::from_millis(f.delay_ms)).await,
        _ => refuse(&Refusal { status: f.status, message: "Injected failure".into() }),
    }
}

/// `response` with its body sent in [`SLOW_PIECES`] pieces over `over`.
async fn slow(response: Response, over: Duration) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return refuse(&Refusal { status: 500, message: "the answer could not be read".into() });
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let piece = (bytes.len() as u64).div_ceil(SLOW_PIECES).max(1);
    let pause = over / SLOW_PIECES as u32;
    let pieces = stream::unfold(bytes, move |mut rest| async move {
        if rest.is_empty() {
            return None;
        }
        tokio::time::sleep(pause).await;
        let head = rest.split_to(usize::try_from(piece).unwrap_or(usize::MAX).min(rest.len()));
        Some((Ok::<Bytes, std::io::Error>(head), rest))
    });
    Response::from_parts(parts, Body::from_stream(pieces))
}

/// `POST /sandbox/faults`.
pub(super) async fn add_fault(State(s): St, axum::Json(fault): axum::Json<Fault>) -> Response {
    if let Ok(mut faults) = s.faults.lock() {
        faults.push(fault);
    }
    ok(json!({"added": true}))
}

/// A DocSpace path (or method) the sandbox does not serve: 501, saying so
/// and what it does serve, so nobody takes it for a wrong id.
pub(super) async fn unknown(request: Request) -> Response {
    refuse(&Refusal { status: 501, message: not_implemented(request.method().as_str(), request.uri().path()) })
}

fn not_implemented(method: &str, path: &str) -> String {
    let ids: Vec<&str> = super::operations().map(|o| o.id).collect();
    format!(
        "the sandbox portal does not implement {method} {path}; it implements the default catalogue \
         (the operations {})",
        ids.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn each_credential_method_is_accepted_and_nothing_else() {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USERNAME}:{PASSWORD}"));
        assert!(accepted(&with(header::AUTHORIZATION, &format!("Bearer {API_KEY}"))));
        assert!(accepted(&with(header::AUTHORIZATION, AUTH_TOKEN)));
        assert!(accepted(&with(header::AUTHORIZATION, &format!("Basic {basic}"))));
        assert!(accepted(&with(header::COOKIE, &format!("lang=en; asc_auth_key={AUTH_TOKEN}"))));
        assert!(!accepted(&HeaderMap::new()));
        assert!(!accepted(&with(header::AUTHORIZATION, "Bearer sk-wrong")));
        assert!(!accepted(&with(header::AUTHORIZATION, &format!("Bearer {AUTH_TOKEN}"))));
        assert!(!accepted(&with(header::COOKIE, &format!("asc_auth_key={API_KEY}"))));
    }

    #[test]
    fn what_is_not_implemented_says_so_and_names_what_is() {
        let m = not_implemented("GET", "/api/2.0/portal/tariff");
        assert!(m.starts_with("the sandbox portal does not implement GET /api/2.0/portal/tariff; "), "{m}");
        assert!(m.contains("default catalogue") && m.contains("getSelfProfile") && m.contains("setRoomLink"), "{m}");
    }

    #[test]
    fn faults_are_taken_by_path_prefix_as_many_times_as_asked_and_counted() {
        let fault = |path: &str, mode: &str, times| Fault {
            path: path.into(),
            mode: mode.into(),
            status: 500,
            delay_ms: 0,
            times,
        };
        let mut f = Faults::default();
        f.push(fault("/api/2.0/files/", "reset", 2));
        f.push(fault("/", "slow", 1));
        assert_eq!(f.pending().len(), 2);
        assert_eq!(f.take("/api/2.0/people/@self").map(|f| f.mode), Some("slow".into()));
        assert!(f.take("/api/2.0/people/@self").is_none());
        assert_eq!(f.take("/api/2.0/files/@my").map(|f| f.mode), Some("reset".into()));
        assert_eq!(f.take("/api/2.0/files/@my").map(|f| f.mode), Some("reset".into()));
        assert!(f.take("/api/2.0/files/@my").is_none() && f.pending().is_empty());
        assert_eq!(f.applied(), BTreeMap::from([("reset".to_owned(), 2), ("slow".to_owned(), 1)]));
    }
}
