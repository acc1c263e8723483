//! The network the proxy reaches, behind one small trait ([`Upstream`]):
//! DocSpace's token, revocation and introspection endpoints (form POSTs with
//! the client credentials in the body, `client_secret_post`), and client ID
//! metadata documents ([`super::cimd`]). [`Http`] is the one implementation
//! that does I/O; tests put a fake in its place.
//!
//! Answers are classified here ([`UpstreamError`]) and only here: what an
//! OAuth client is told about them is the token module's decision.

use std::future::Future;
use std::net::IpAddr;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::cimd;
use super::registration::Registration;
use crate::auth::Secret;
use crate::spans::{Answer, Span};
use crate::trace::{TRACEPARENT, TraceContext};

/// Who the proxy calls DocSpace for: the client's address (the peer, or
/// what trusted proxies saw: never the client's own claims) and the request
/// id. DocSpace sees them as `X-Forwarded-For`/`X-Real-IP` and
/// `X-Request-ID`, so that its sign-in logs and its own limits see the user,
/// not this server.
#[derive(Debug, Clone, Default)]
pub(crate) struct Caller {
    /// The client's address.
    pub address: Option<IpAddr>,
    /// The request's id.
    pub request_id: Option<HeaderValue>,
    /// The request's W3C trace context, when it sent a valid one (with spans
    /// on, the one naming the request's span).
    pub trace: Option<TraceContext>,
    /// The request's span, parent of the calls' (with an OTLP endpoint set).
    pub span: Option<Span>,
}

tokio::task_local! {
    /// The caller of the request being handled (set by the HTTP edge for
    /// the whole of each request, so every DocSpace call it makes, however
    /// deep, carries it).
    static CALLER: Caller;
}

/// Runs `f` (the handling of one request) on behalf of `caller`.
pub(crate) async fn on_behalf_of<F: Future>(caller: Caller, f: F) -> F::Output {
    CALLER.scope(caller, f).await
}

/// The headers that tell DocSpace who a call is for (none outside a request).
fn caller_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    let _ = CALLER.try_with(|c| {
        if let Some(address) = c.address
            && let Ok(v) = HeaderValue::from_str(&address.to_string())
        {
            headers.insert(HeaderName::from_static("x-forwarded-for"), v.clone());
            headers.insert(HeaderName::from_static("x-real-ip"), v);
        }
        if let Some(id) = &c.request_id {
            headers.insert(HeaderName::from_static("x-request-id"), id.clone());
        }
        for (name, value) in c.trace.as_ref().map(TraceContext::headers).unwrap_or_default() {
            headers.insert(name, value);
        }
    });
    headers
}

/// The DocSpace OAuth application a call is made for.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Its client id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: Secret,
}

/// What is exchanged at DocSpace's token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grant<'a> {
    /// DocSpace's code, with the proxy's callback and PKCE verifier.
    AuthorizationCode {
        /// DocSpace's code.
        code: &'a str,
        /// The redirect URI the code was issued for (the proxy's callback).
        redirect_uri: &'a str,
        /// The proxy's PKCE verifier.
        code_verifier: &'a str,
    },
    /// DocSpace's refresh token.
    RefreshToken {
        /// The token.
        refresh_token: &'a str,
    },
}

/// Which kind of token a revocation names (`token_type_hint`, RFC 7009 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// An access token.
    AccessToken,
    /// A refresh token.
    RefreshToken,
}

impl TokenKind {
    /// The hint as sent.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::AccessToken => "access_token",
            Self::RefreshToken => "refresh_token",
        }
    }
}

/// DocSpace's token response, read leniently: a member of the wrong type
/// counts as absent (what the proxy does without it is its decision).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tokens {
    /// `access_token`.
    pub access_token: Option<String>,
    /// `expires_in`, when a non-negative integer.
    pub expires_in: Option<u64>,
    /// `refresh_token`.
    pub refresh_token: Option<String>,
}

impl Tokens {
    fn from_json(body: &Value) -> Self {
        let string = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        Self {
            access_token: string("access_token"),
            expires_in: body.get("expires_in").and_then(Value::as_u64),
            refresh_token: string("refresh_token"),
        }
    }
}

/// DocSpace's introspection answer (RFC 7662 §2.2), read leniently.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Introspected {
    /// `active`; absent or not a boolean: false.
    pub active: bool,
    /// `sub`.
    pub subject: Option<String>,
}

/// Why DocSpace gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UpstreamError {
    /// No answer at all (refused connection, timeout, broken body).
    Unreachable,
    /// A 4xx answer with an OAuth error (`error`, `error_description`).
    Refused {
        /// DocSpace's status.
        status: u16,
        /// DocSpace's `error`, as it sent it.
        error: String,
        /// DocSpace's `error_description` (empty when absent).
        description: String,
    },
    /// Anything else: a 5xx, a body that is not JSON, an `error` in a 2xx.
    Unexpected {
        /// DocSpace's status.
        status: u16,
    },
}

/// The calls the proxy makes; [`Http`] in production, fakes in tests.
#[async_trait::async_trait]
pub(crate) trait Upstream: Send + Sync {
    /// DocSpace's `oauth2/token`.
    async fn token(&self, credentials: &Credentials, grant: Grant<'_>) -> Result<Tokens, UpstreamError>;
    /// DocSpace's `oauth2/revoke`.
    async fn revoke(&self, credentials: &Credentials, token: &str, kind: TokenKind) -> Result<(), UpstreamError>;
    /// DocSpace's `oauth2/introspect`, for an access token.
    async fn introspect(&self, credentials: &Credentials, token: &str) -> Result<Introspected, UpstreamError>;
    /// The registration a client ID metadata document at `url` describes
    /// ([`cimd::fetch`]), or why it cannot be used.
    async fn client_document(&self, url: &str) -> Result<Registration, String>;
}

/// The [`Upstream`] over HTTP.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    base: String,
    http: reqwest::Client,
    documents: reqwest::Client,
}

impl Http {
    /// DocSpace's authorization server at `base` (with a trailing slash),
    /// reached with `http`; metadata documents fetched with `documents`
    /// (which must refuse private addresses and redirects).
    pub(crate) fn new(base: String, http: reqwest::Client, documents: reqwest::Client) -> Self {
        Self { base, http, documents }
    }

    /// A form POST to `endpoint` with the client credentials appended: the
    /// JSON body of a 2xx answer without `error`.
    async fn post(
        &self,
        endpoint: &'static str,
        credentials: &Credentials,
        params: &[(&str, &str)],
    ) -> Result<Value, UpstreamError> {
        let mut form: Vec<(&str, &str)> = params.to_vec();
        form.push(("client_id", &credentials.client_id));
        form.push(("client_secret", credentials.client_secret.expose()));
        let url = format!("{}{endpoint}", self.base);
        // With spans on, the call's own span is what DocSpace's `traceparent` names.
        let span = CALLER.try_with(|c| c.span.as_ref().map(|s| s.docspace_request(endpoint))).ok().flatten();
        let mut headers = caller_headers();
        if let Some(traceparent) = span.as_ref().and_then(Span::traceparent) {
            headers.insert(TRACEPARENT.clone(), traceparent);
        }
        let response = self.http.post(&url).headers(headers).form(&form).send().await.map_err(|e| {
            tracing::warn!("DocSpace's authorization server is unreachable ({url}): {e}");
            if let Some(span) = &span {
                span.end_docspace_request(Answer::Failed("unreachable"));
            }
            UpstreamError::Unreachable
        })?;
        let status = response.status().as_u16();
        let body: Option<Value> = response.bytes().await.ok().and_then(|b| serde_json::from_slice(&b).ok());
        if let Some(span) = &span {
            span.end_docspace_request(Answer::Status(status));
        }
        let error = body.as_ref().and_then(|b| b.get("error")).and_then(Value::as_str).map(str::to_owned);
        match (status, body, error) {
            (200..=299, Some(body), None) => Ok(body),
            (400..=499, Some(body), Some(error)) => {
                let description = body.get("error_description").and_then(Value::as_str).unwrap_or_default().to_owned();
                tracing::info!(status, error = %error, "DocSpace's authorization server refused {endpoint}: {description}");
                Err(UpstreamError::Refused { status, error, description })
            }
            (status, _, _) => {
                tracing::warn!(status, "DocSpace's authorization server answered {endpoint} unexpectedly");
                Err(UpstreamError::Unexpected { status })
            }
        }
    }
}

#[async_trait::async_trait]
impl Upstream for Http {
    async fn token(&self, credentials: &Credentials, grant: Grant<'_>) -> Result<Tokens, UpstreamError> {
        let params = match grant {
            Grant::AuthorizationCode { code, redirect_uri, code_verifier } => vec![
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", code_verifier),
            ],
            Grant::RefreshToken { refresh_token } => {
                vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token)]
            }
        };
        self.post("oauth2/token", credentials, &params).await.map(|body| Tokens::from_json(&body))
    }

    async fn revoke(&self, credentials: &Credentials, token: &str, kind: TokenKind) -> Result<(), UpstreamError> {
        self.post("oauth2/revoke", credentials, &[("token", token), ("token_type_hint", kind.as_str())]).await.map(drop)
    }

    async fn introspect(&self, credentials: &Credentials, token: &str) -> Result<Introspected, UpstreamError> {
        let params = [("token", token), ("token_type_hint", TokenKind::AccessToken.as_str())];
        let body = self.post("oauth2/introspect", credentials, &params).await?;
        Ok(Introspected {
            active: body.get("active").and_then(Value::as_bool).unwrap_or(false),
            subject: body.get("sub").and_then(Value::as_str).map(str::to_owned),
        })
    }

    async fn client_document(&self, url: &str) -> Result<Registration, String> {
        cimd::fetch(&self.documents, url).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn calls_carry_their_caller() {
        assert!(caller_headers().is_empty(), "outside a request: nothing");
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let caller = Caller {
            address: Some("203.0.113.7".parse().unwrap()),
            request_id: Some(HeaderValue::from_static("req-1")),
            trace: TraceContext::parse(parent, Some("rojo=1")),
            span: None,
        };
        let headers = on_behalf_of(caller, async { caller_headers() }).await;
        assert_eq!(headers["x-forwarded-for"], "203.0.113.7");
        assert_eq!(headers["x-real-ip"], "203.0.113.7");
        assert_eq!(headers["x-request-id"], "req-1");
        assert_eq!(headers["traceparent"], parent);
        assert_eq!(headers["tracestate"], "rojo=1");
    }

    #[test]
    fn token_answers_are_read_leniently() {
        let t = Tokens::from_json(&json!({"access_token": "a", "expires_in": 60, "refresh_token": "r", "scope": "x"}));
        assert_eq!(t, Tokens { access_token: Some("a".into()), expires_in: Some(60), refresh_token: Some("r".into()) });
        let t = Tokens::from_json(&json!({"access_token": 7, "expires_in": "60"}));
        assert_eq!(t, Tokens::default(), "members of the wrong type count as absent");
        assert_eq!(Tokens::from_json(&json!([1])), Tokens::default());
    }
}
