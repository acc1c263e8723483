//! The sandbox's OAuth 2.0 authorization server, with DocSpace's habits:
//! `oauth2/authorize` (a login and consent page a test can fill in),
//! `oauth2/token`, `oauth2/introspect`, `oauth2/revoke`; **no** registration
//! endpoint (one application, [`CLIENT_ID`]/[`CLIENT_SECRET`], created in
//! advance); unknown scopes are an error; no `scope` means every scope the
//! application has; PKCE S256 is required; token responses echo every granted
//! scope; redirect URIs must match the application's exactly.
//! Access tokens it issues are accepted by the sandbox's API like its other
//! credentials.

mod authorize;
mod pkce;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::json;

use crate::USERNAME;
use crate::routes::Shared;

/// The sandbox's one OAuth application.
pub const CLIENT_ID: &str = "sandbox-oauth-client";
/// Its secret.
pub const CLIENT_SECRET: &str = "sandbox-oauth-secret";
/// The scopes DocSpace knows (and the application is granted).
pub const SCOPES: [&str; 9] = [
    "files:read",
    "files:write",
    "rooms:read",
    "rooms:write",
    "accounts:read",
    "accounts:write",
    "accounts.self:read",
    "accounts.self:write",
    "openid",
];
/// Lifetime of an access token.
const ACCESS_TTL: Duration = Duration::from_secs(3600);

/// What the authorization server remembers.
#[derive(Debug, Default)]
pub(crate) struct OAuthState {
    /// Redirect URIs registered for the application.
    pub(crate) redirect_uris: Vec<String>,
    codes: HashMap<String, Grant>,
    access: HashMap<String, Issued>,
    refresh: HashMap<String, Issued>,
}

#[derive(Debug, Clone)]
struct Grant {
    redirect_uri: String,
    challenge: String,
    scopes: Vec<String>,
    expires: Instant,
}

#[derive(Debug, Clone)]
struct Issued {
    scopes: Vec<String>,
    expires: Instant,
    revoked: bool,
}

impl OAuthState {
    /// Every code and token issued so far.
    pub(crate) fn issued(&self) -> Vec<String> {
        self.codes.keys().chain(self.access.keys()).chain(self.refresh.keys()).cloned().collect()
    }

    /// Whether `token` is a live access token.
    pub(crate) fn accepts(&self, token: &str) -> bool {
        self.access.get(token).is_some_and(|t| !t.revoked && t.expires > Instant::now())
    }
}

type St = State<Arc<Shared>>;

/// The routes (no authentication of their own: they are how one gets it).
pub(crate) fn routes(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/oauth2/authorize", get(authorize::page).post(authorize::submit))
        .route("/oauth2/token", post(token))
        .route("/oauth2/introspect", post(introspect))
        .route("/oauth2/revoke", post(revoke))
        .route("/oauth2/register", post(no_registration))
        .with_state(shared)
}

fn random_token(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn json_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, axum::Json(json!({"error": error, "error_description": description}))).into_response()
}

async fn no_registration() -> Response {
    json_error(StatusCode::NOT_FOUND, "not_found", "DocSpace has no dynamic client registration")
}

/// Client authentication: HTTP Basic, or `client_id` + `client_secret` in the body.
fn client_ok(headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    match basic {
        Some(pair) => pair == format!("{CLIENT_ID}:{CLIENT_SECRET}"),
        None => {
            form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET)
        }
    }
}

fn issue(o: &mut OAuthState, scopes: Vec<String>) -> Response {
    let access = random_token("sandbox-oauth-access");
    let refresh = random_token("sandbox-oauth-refresh");
    let now = Instant::now();
    o.access.insert(access.clone(), Issued { scopes: scopes.clone(), expires: now + ACCESS_TTL, revoked: false });
    o.refresh.insert(
        refresh.clone(),
        Issued { scopes: scopes.clone(), expires: now + Duration::from_secs(30 * 86_400), revoked: false },
    );
    let mut response = axum::Json(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ACCESS_TTL.as_secs(),
        "refresh_token": refresh,
        "scope": scopes.join(" "),
    }))
    .into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

async fn token(State(s): St, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    if !client_ok(&headers, &form) {
        return json_error(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed");
    }
    let Ok(mut o) = s.oauth.lock() else {
        return json_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "state poisoned");
    };
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    match field("grant_type") {
        "authorization_code" => {
            let Some(grant) = o.codes.remove(field("code")) else {
                return json_error(StatusCode::BAD_REQUEST, "invalid_grant", "unknown or used code");
            };
            if grant.expires < Instant::now() {
                return json_error(StatusCode::BAD_REQUEST, "invalid_grant", "expired code");
            }
            if field("redirect_uri") != grant.redirect_uri {
                return json_error(StatusCode::BAD_REQUEST, "invalid_grant", "redirect_uri does not match");
            }
            if !pkce::verify(field("code_verifier"), &grant.challenge) {
                return json_error(StatusCode::BAD_REQUEST, "invalid_grant", "PKCE verification failed");
            }
            issue(&mut o, grant.scopes)
        }
        "refresh_token" => {
            let Some(old) =
                o.refresh.remove(field("refresh_token")).filter(|r| !r.revoked && r.expires > Instant::now())
            else {
                return json_error(StatusCode::BAD_REQUEST, "invalid_grant", "unknown, used or revoked refresh token");
            };
            issue(&mut o, old.scopes)
        }
        other => json_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", &format!("grant_type `{other}`")),
    }
}

async fn introspect(State(s): St, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    if !client_ok(&headers, &form) {
        return json_error(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed");
    }
    let token = form.get("token").map(String::as_str).unwrap_or_default();
    let answer = s.oauth.lock().ok().and_then(|o| {
        o.access.get(token).filter(|t| !t.revoked && t.expires > Instant::now()).map(|t| {
            let left = t.expires.saturating_duration_since(Instant::now()).as_secs();
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            json!({"active": true, "exp": now + left, "scope": t.scopes.join(" "), "client_id": CLIENT_ID,
                   "sub": USERNAME, "token_type": "Bearer", "aud": s.base_url})
        })
    });
    axum::Json(answer.unwrap_or_else(|| json!({"active": false}))).into_response()
}

async fn revoke(State(s): St, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    if !client_ok(&headers, &form) {
        return json_error(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed");
    }
    let token = form.get("token").map(String::as_str).unwrap_or_default();
    if let Ok(mut guard) = s.oauth.lock() {
        let o = &mut *guard;
        for t in o.access.get_mut(token).into_iter().chain(o.refresh.get_mut(token)) {
            t.revoked = true;
        }
    }
    StatusCode::OK.into_response()
}
