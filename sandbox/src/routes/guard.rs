//! What stands before the handlers: authentication (the sandbox's four
//! credentials, or an access token from its OAuth server), injected faults,
//! and DocSpace's envelope for what the sandbox does not implement.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
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
    /// (HTTP 200 with a body that is not JSON).
    pub mode: String,
    /// For `status` and `envelope`.
    #[serde(default = "default_status")]
    pub status: u16,
    /// For `delay`.
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

/// Applies the first pending fault whose path prefix matches.
pub(super) async fn faults(State(s): St, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let fault = s.faults.lock().ok().and_then(|mut faults| {
        let i = faults.iter().position(|f| path.starts_with(&f.path) && f.times > 0)?;
        let f = faults.get_mut(i)?;
        f.times -= 1;
        let taken = f.clone();
        faults.retain(|f| f.times > 0);
        Some(taken)
    });
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
        _ => refuse(&Refusal { status: f.status, message: "Injected failure".into() }),
    }
}

/// `POST /sandbox/faults`.
pub(super) async fn add_fault(State(s): St, axum::Json(fault): axum::Json<Fault>) -> Response {
    if let Ok(mut faults) = s.faults.lock() {
        faults.push(fault);
    }
    ok(json!({"added": true}))
}

pub(super) async fn unknown(request: Request) -> Response {
    refuse(&Refusal {
        status: 404,
        message: format!("The sandbox does not implement {} {}", request.method(), request.uri().path()),
    })
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
}
