//! The OAuth proxy's routes: discovery (protected-resource metadata at the
//! root and per endpoint, authorization-server metadata under both
//! well-known names), `/authorize` (consent page and its form), the DocSpace
//! callback, `/token`, `/register`, `/revoke` and `/introspect` — at the origin root, where
//! the metadata points and older clients guess, and under `/oauth/` (the
//! reference server's paths).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;

use super::metrics::OAuthEvent;
use crate::config::OAuthEndpoint;
use crate::oauth::consent;
use crate::oauth::error::ErrorCode;
use crate::oauth::protocol::Params;
use crate::oauth::proxy::{ClientAuth, OAuthError, Proxy, Step};

type St = State<Arc<Proxy>>;

/// The routes, for a server serving Streamable HTTP (`/mcp`) and/or SSE
/// (`/sse`), grouped by endpoint: `edge` gives each group its own layers
/// (its rate limit and origin policy), so nothing downstream has to work out
/// from a path which endpoint a request is for.
pub(super) fn routes<S: Clone + Send + Sync + 'static>(
    proxy: Arc<Proxy>,
    streamable: bool,
    sse: bool,
    edge: impl Fn(OAuthEndpoint, Router<S>) -> Router<S>,
) -> Router<S> {
    let resource_paths: Vec<String> =
        [(streamable, "/mcp"), (sse, "/sse")].into_iter().filter(|(on, _)| *on).map(|(_, p)| p.to_owned()).collect();
    let mut resource = Router::new().route("/.well-known/oauth-protected-resource", get(resource_root));
    let mut server = Router::new()
        .route("/.well-known/oauth-authorization-server", get(server_metadata))
        .route("/.well-known/openid-configuration", get(server_metadata));
    for path in &resource_paths {
        resource = resource.route(&format!("/.well-known/oauth-protected-resource{path}"), get(resource_for));
        for well_known in ["oauth-authorization-server", "openid-configuration"] {
            server = server
                .route(&format!("/.well-known/{well_known}{path}"), get(server_metadata))
                .route(&format!("{path}/.well-known/{well_known}"), get(server_metadata));
        }
    }
    let both = |path: &str, method: MethodRouter<Arc<Proxy>>| {
        Router::new().route(path, method.clone()).route(&format!("/oauth{path}"), method)
    };
    let groups = [
        (OAuthEndpoint::ResourceMetadata, resource),
        (OAuthEndpoint::ServerMetadata, server),
        (OAuthEndpoint::Authorize, both("/authorize", get(authorize).post(consent_form))),
        (OAuthEndpoint::Callback, Router::new().route(crate::oauth::proxy::CALLBACK_PATH, get(callback))),
        (OAuthEndpoint::Token, both("/token", post(token))),
        (OAuthEndpoint::Register, both("/register", post(register))),
        (OAuthEndpoint::Revoke, both("/revoke", post(revoke))),
        (OAuthEndpoint::Introspect, both("/introspect", post(introspect))),
    ];
    groups
        .into_iter()
        .fold(Router::new(), |app, (endpoint, group)| app.merge(edge(endpoint, group.with_state(proxy.clone()))))
}

fn json(status: StatusCode, body: impl Serialize) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn metadata(body: impl Serialize) -> Response {
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}

fn oauth_error(e: &OAuthError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = json(status, e.body());
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"docspace-mcp\""));
    }
    response
}

async fn resource_root(State(proxy): St) -> Response {
    // Gemini CLI reads the root document first and wants the endpoint's URL in it.
    let resource = proxy.settings().resources.first().cloned().unwrap_or_else(|| proxy.settings().issuer.clone());
    metadata(proxy.protected_resource_metadata(&resource))
}

async fn resource_for(State(proxy): St, uri: axum::http::Uri) -> Response {
    let path = uri.path().trim_start_matches("/.well-known/oauth-protected-resource");
    metadata(proxy.protected_resource_metadata(&format!("{}{path}", proxy.settings().issuer)))
}

async fn server_metadata(State(proxy): St) -> Response {
    metadata(proxy.authorization_server_metadata())
}

/// The cookie names: `__Host-` (Secure, no Domain, Path=/) when served over https.
fn cookie_name(proxy: &Proxy, name: &str) -> String {
    if proxy.settings().issuer.starts_with("https://") { format!("__Host-{name}") } else { name.to_owned() }
}

/// The CSRF cookie of one consent page, named after its token: two consent
/// pages open at once (two tabs, two clients) each keep their own, where one
/// shared name let the second page's cookie replace the first's and the
/// first page's Allow fail.
fn csrf_cookie_name(token: &str) -> String {
    let key: String = token.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')).take(16).collect();
    format!("docspace_mcp_csrf_{key}")
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
}

fn set_cookie(proxy: &Proxy, name: &str, value: &str, max_age: u64, same_site: &str) -> Option<HeaderValue> {
    let secure = if proxy.settings().issuer.starts_with("https://") { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite={same_site}{secure}",
        cookie_name(proxy, name)
    ))
    .ok()
}

/// Headers of every page: not framed, not cached, no scripts, no referrer.
fn page(status: StatusCode, html: String) -> Response {
    let mut response = (status, Html(html)).into_response();
    let h = response.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // `same-origin`, not `no-referrer`: under `no-referrer` Chromium sends `Origin: null`
    // with the form's POST, which the Origin checks refuse.
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// `response`, marked as the OAuth step `event` that ended with `outcome`
/// (counted by the metrics layer).
fn tagged(mut response: Response, event: &'static str, outcome: &'static str) -> Response {
    response.extensions_mut().insert(OAuthEvent { event, outcome });
    response
}

/// How a browser step ended: the consent page shown, a redirect (onward, or
/// back to the client with an `error`), or a page saying what is wrong.
fn step_outcome(step: &Step) -> &'static str {
    match step {
        Step::Consent(_) => "consent",
        Step::Redirect { location, .. } => {
            let error = url::Url::parse(location).is_ok_and(|u| u.query_pairs().any(|(k, _)| k == "error"));
            if error { "error" } else { "ok" }
        }
        Step::Refused { .. } => "refused",
    }
}

/// A browser step's answer, marked as `event`.
fn counted_step(proxy: &Proxy, event: &'static str, answer: Step, after_post: bool, action: &str) -> Response {
    let outcome = step_outcome(&answer);
    tagged(step(proxy, answer, after_post, action), event, outcome)
}

/// A JSON endpoint's answer, marked as `event`: `ok`, or the error's code.
fn counted<T>(event: &'static str, answer: &Result<T, OAuthError>, response: Response) -> Response {
    let outcome = answer.as_ref().map_or_else(|e| e.code.as_str(), |_| "ok");
    tagged(response, event, outcome)
}

fn step(proxy: &Proxy, step: Step, after_post: bool, action: &str) -> Response {
    match step {
        Step::Consent(p) => {
            let mut response = page(StatusCode::OK, consent::page(&p, action));
            let ttl = proxy.settings().state_ttl.as_secs();
            if let Some(c) = set_cookie(proxy, &csrf_cookie_name(&p.csrf), &p.csrf, ttl, "Strict") {
                response.headers_mut().append(header::SET_COOKIE, c);
            }
            response
        }
        Step::Redirect { location, cookie } => {
            let status = if after_post { StatusCode::SEE_OTHER } else { StatusCode::FOUND };
            let Ok(location) = HeaderValue::from_str(&location) else {
                return page(StatusCode::BAD_REQUEST, consent::message_page("the redirect address is not valid"));
            };
            let mut response = status.into_response();
            let h = response.headers_mut();
            h.insert(header::LOCATION, location);
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
            if let Some(value) = cookie
                && let Some(c) = set_cookie(proxy, "docspace_mcp_consent", &value, proxy.consent_ttl().as_secs(), "Lax")
            {
                h.append(header::SET_COOKIE, c);
            }
            response
        }
        Step::Refused { status, message } => {
            tracing::info!(status, "sign-in refused: {message}");
            page(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), consent::message_page(&message))
        }
    }
}

/// The parameters of a query or form body. RFC 6749 §3.1: none may be given
/// twice — which of two `redirect_uri`s counts is exactly the ambiguity an
/// attacker looks for — so a repeated one is refused, naming it.
fn parameters(encoded: &[u8]) -> Result<Params, String> {
    let mut map = HashMap::new();
    for (k, v) in form_urlencoded::parse(encoded) {
        if map.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(format!("parameter `{k}` is given more than once"));
        }
    }
    Ok(map)
}

/// A page refusing a request whose parameters cannot be read.
fn bad_parameters(proxy: &Proxy, message: String, after_post: bool, action: &str) -> Response {
    step(proxy, Step::refused(400, message), after_post, action)
}

async fn authorize(State(proxy): St, uri: axum::http::Uri, headers: HeaderMap) -> Response {
    let params = match parameters(uri.query().unwrap_or_default().as_bytes()) {
        Ok(p) => p,
        Err(why) => return tagged(bad_parameters(&proxy, why, false, uri.path()), "authorize", "refused"),
    };
    let consent_cookie = cookie(&headers, &cookie_name(&proxy, "docspace_mcp_consent"));
    let answer = proxy.authorize(&params, consent_cookie.as_deref()).await;
    counted_step(&proxy, "authorize", answer, false, uri.path())
}

async fn consent_form(State(proxy): St, uri: axum::http::Uri, headers: HeaderMap, body: Bytes) -> Response {
    // A browser's form POST names its origin: it must be this server.
    let own_origin =
        url::Url::parse(&proxy.settings().issuer).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok())
        && origin != own_origin
    {
        let refused = Step::refused(403, "the consent form was posted from another site");
        return counted_step(&proxy, "consent", refused, true, uri.path());
    }
    let form = match parameters(&body) {
        Ok(f) => f,
        Err(why) => return tagged(bad_parameters(&proxy, why, true, uri.path()), "consent", "refused"),
    };
    let token = form.get("csrf").map(String::as_str).unwrap_or_default();
    let csrf = cookie(&headers, &cookie_name(&proxy, &csrf_cookie_name(token)));
    let consent_cookie = cookie(&headers, &cookie_name(&proxy, "docspace_mcp_consent"));
    let answer = proxy.consent(&form, csrf.as_deref(), consent_cookie.as_deref()).await;
    counted_step(&proxy, "consent", answer, true, uri.path())
}

async fn callback(State(proxy): St, uri: axum::http::Uri) -> Response {
    let params = match parameters(uri.query().unwrap_or_default().as_bytes()) {
        Ok(p) => p,
        Err(why) => return tagged(bad_parameters(&proxy, why, false, uri.path()), "callback", "refused"),
    };
    let answer = proxy.callback(&params).await;
    counted_step(&proxy, "callback", answer, false, uri.path())
}

/// A token-endpoint body: form-encoded (RFC 6749), or a JSON object of strings.
fn form(headers: &HeaderMap, body: &Bytes) -> Result<Params, OAuthError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.starts_with("application/json") {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| OAuthError::new(ErrorCode::InvalidRequest, format!("the body is not JSON: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| OAuthError::new(ErrorCode::InvalidRequest, "the body is not a JSON object"))?;
        return Ok(obj
            .iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k.clone(), s.clone())),
                Value::Number(n) => Some((k.clone(), n.to_string())),
                _ => None,
            })
            .collect());
    }
    parameters(body).map_err(|description| OAuthError::new(ErrorCode::InvalidRequest, description))
}

/// HTTP Basic client credentials (RFC 6749 §2.3.1: each part form-encoded).
fn basic(headers: &HeaderMap) -> Result<ClientAuth, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Ok(ClientAuth::default());
    };
    let Some(encoded) = crate::auth::strip_scheme(value, "Basic") else {
        return Ok(ClientAuth::default());
    };
    let bad = || OAuthError::new(ErrorCode::InvalidClient, "malformed Basic credentials");
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
    Ok(ClientAuth { basic: Some((unescape(id).unwrap_or_default(), unescape(secret).unwrap_or_default())) })
}

/// The form and client credentials of a token, revocation or introspection request.
fn client_request(headers: &HeaderMap, body: &Bytes) -> Result<(Params, ClientAuth), OAuthError> {
    Ok((form(headers, body)?, basic(headers)?))
}

async fn token(State(proxy): St, headers: HeaderMap, body: Bytes) -> Response {
    let mut event = "token";
    let answer = match client_request(&headers, &body) {
        Ok((form, auth)) => {
            if form.get("grant_type").is_some_and(|g| g == "refresh_token") {
                event = "refresh";
            }
            proxy.token(&form, &auth).await
        }
        Err(e) => Err(e),
    };
    let response = match &answer {
        Ok(tokens) => json(StatusCode::OK, tokens),
        Err(e) => oauth_error(e),
    };
    counted(event, &answer, response)
}

async fn register(State(proxy): St, body: Bytes) -> Response {
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            let error =
                OAuthError::new(ErrorCode::InvalidClientMetadata, format!("the registration request is not JSON: {e}"));
            return tagged(oauth_error(&error), "register", error.code.as_str());
        }
    };
    let answer = proxy.register(&request);
    let response = match &answer {
        Ok(registration) => json(StatusCode::CREATED, registration),
        Err(e) => oauth_error(e),
    };
    counted("register", &answer, response)
}

async fn revoke(State(proxy): St, headers: HeaderMap, body: Bytes) -> Response {
    let answer = match client_request(&headers, &body) {
        Ok((form, auth)) => proxy.revoke(&form, &auth).await,
        Err(e) => Err(e),
    };
    let response = match &answer {
        Ok(()) => json(StatusCode::OK, serde_json::json!({})),
        Err(e) => oauth_error(e),
    };
    counted("revoke", &answer, response)
}

async fn introspect(State(proxy): St, headers: HeaderMap, body: Bytes) -> Response {
    let answer = match client_request(&headers, &body) {
        Ok((form, auth)) => proxy.introspect(&form, &auth).await,
        Err(e) => Err(e),
    };
    let response = match &answer {
        Ok(v) => json(StatusCode::OK, v),
        Err(e) => oauth_error(e),
    };
    counted("introspect", &answer, response)
}
