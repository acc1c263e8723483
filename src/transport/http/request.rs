//! What one HTTP request asks for: its portal, credentials and tool
//! selection, read from the query and the `X-Mcp-*` headers (the reference
//! server's names) and checked before anything reaches DocSpace.
//!
//! A malformed or conflicting value is a [`Refusal`] with status 400 naming
//! it; no credentials at all is a 401 with `WWW-Authenticate`.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::{self, Credentials, Secret};
use crate::config::RequestSources as Sources;
use crate::logging::bounded;
use crate::portal::normalise_base_url;

/// An HTTP answer that refuses a request, as JSON `{"error", "message"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The status.
    pub status: StatusCode,
    /// A stable code (`invalid_request`, `unauthorized`, …).
    pub code: &'static str,
    /// What is wrong, for a person.
    pub message: String,
    /// The `WWW-Authenticate` value of a 401 (default: `Bearer realm="docspace-mcp"`).
    pub challenge: Option<String>,
    /// Why, as the metrics count it (`refusals{reason}`), when the code
    /// alone does not say (a 403 for a `Host` and one for a portal are both
    /// `forbidden`); the code otherwise.
    pub reason: Option<&'static str>,
}

impl Refusal {
    /// 400: the request's configuration is malformed or conflicting.
    pub fn bad(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
            message: bounded(message.into()),
            challenge: None,
            reason: None,
        }
    }

    /// 401: no credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: bounded(message.into()),
            challenge: None,
            reason: None,
        }
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: bounded(message.into()),
            challenge: None,
            reason: None,
        }
    }

    /// Any status.
    pub fn with_status(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: bounded(message.into()), challenge: None, reason: None }
    }

    /// 401 with an OAuth challenge (`WWW-Authenticate` value).
    pub fn challenge(code: &'static str, message: impl Into<String>, challenge: String) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code,
            message: bounded(message.into()),
            challenge: Some(challenge),
            reason: None,
        }
    }

    /// The refusal, counted under `reason` by the metrics (a fixed name).
    #[must_use]
    pub fn because(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }
}

/// A 401 without the OAuth proxy's challenge: what to send, as an
/// `error_description` (RFC 6750 §3), which clients show where they would
/// otherwise start an OAuth sign-in that cannot work (no
/// `resource_metadata`: OAuth is off). Quotes and backslashes are replaced
/// and the text kept to visible ASCII, as a quoted-string needs.
fn plain_challenge(message: &str) -> HeaderValue {
    let description: String = message
        .chars()
        .take(300)
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            c if c.is_ascii_graphic() || c == ' ' => c,
            _ => '?',
        })
        .collect();
    HeaderValue::from_str(&format!(
        "Bearer realm=\"docspace-mcp\", error=\"invalid_request\", error_description=\"{description}\""
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("Bearer realm=\"docspace-mcp\""))
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        // `error_description` too: OAuth-minded clients show that member.
        let body = json!({"error": self.code, "message": self.message, "error_description": self.message});
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            let value = match self.challenge.as_deref().map(HeaderValue::from_str) {
                Some(Ok(value)) => value,
                _ => plain_challenge(&self.message),
            };
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response.extensions_mut().insert(super::metrics::Refused(self.reason.unwrap_or(self.code)));
        response
    }
}

/// The settings one request carries. Everything is optional: what is absent
/// comes from the operator's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestSettings {
    /// The portal, normalised.
    pub base_url: Option<String>,
    /// Credentials for it.
    pub credentials: Option<Credentials>,
    /// Toolsets.
    pub toolsets: Option<Vec<String>>,
    /// Tools added.
    pub enabled_tools: Option<Vec<String>>,
    /// Tools removed.
    pub disabled_tools: Option<Vec<String>>,
    /// Meta tools instead of tools.
    pub dynamic: Option<bool>,
    /// Read-only tools only.
    pub read_only: Option<bool>,
    /// A bearer token issued by the OAuth proxy (not yet checked).
    pub bearer: Option<Secret>,
    /// The checked OAuth grant behind `bearer`.
    pub oauth: Option<OAuthGrant>,
}

/// A request authorised through the OAuth proxy.
#[derive(Debug, Clone)]
pub struct OAuthGrant {
    /// DocSpace's access token.
    pub upstream: Secret,
    /// Who it acts for (stable across refreshes: a session keeps its user).
    pub subject: String,
    /// Set when DocSpace refuses the token on one of this request's calls.
    pub refused: TokenRefused,
}

/// Grants are equal by their token and subject (`refused` is the request's
/// own signal, not part of who it acts for).
impl PartialEq for OAuthGrant {
    fn eq(&self, other: &Self) -> bool {
        self.upstream == other.upstream && self.subject == other.subject
    }
}

impl Eq for OAuthGrant {}

/// Whether DocSpace answered one of an OAuth request's calls with HTTP 401:
/// set by the request's DocSpace client (whatever tool made the call), read
/// by the transport once the handler has answered, so that the request can
/// be answered with a 401 challenge rather than a tool error.
#[derive(Debug, Clone, Default)]
pub struct TokenRefused(Arc<AtomicBool>);

impl TokenRefused {
    /// Marks the refusal: true the first time.
    pub fn set(&self) -> bool {
        !self.0.swap(true, Ordering::SeqCst)
    }

    /// Whether DocSpace refused the token.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl RequestSettings {
    /// Whether the request names any part of the tool selection.
    pub fn selects_tools(&self) -> bool {
        self.toolsets.is_some()
            || self.enabled_tools.is_some()
            || self.disabled_tools.is_some()
            || self.dynamic.is_some()
            || self.read_only.is_some()
    }

    /// The tool selection the request names (what a session keeps).
    pub(crate) fn selection(&self) -> crate::store::sessions::StoredSelection {
        crate::store::sessions::StoredSelection {
            toolsets: self.toolsets.clone(),
            enabled_tools: self.enabled_tools.clone(),
            disabled_tools: self.disabled_tools.clone(),
            dynamic: self.dynamic,
            read_only: self.read_only,
        }
    }

    /// These settings with the tool selection of `stored` (a session's, kept
    /// in the shared store) in place of the request's own.
    pub(crate) fn with_selection(mut self, stored: &crate::store::sessions::StoredSelection) -> Self {
        self.toolsets.clone_from(&stored.toolsets);
        self.enabled_tools.clone_from(&stored.enabled_tools);
        self.disabled_tools.clone_from(&stored.disabled_tools);
        self.dynamic = stored.dynamic;
        self.read_only = stored.read_only;
        self
    }

    /// Who the request acts as: a keyed hash of the portal and credentials
    /// (no secret is kept), equal for requests of the same identity.
    pub fn identity(&self, keys: &impl BuildHasher) -> u64 {
        let mut h = keys.build_hasher();
        self.base_url.hash(&mut h);
        if let Some(grant) = &self.oauth {
            2u8.hash(&mut h);
            grant.subject.hash(&mut h);
            return h.finish();
        }
        match &self.credentials {
            None => 0u8.hash(&mut h),
            Some(c) => {
                1u8.hash(&mut h);
                if let Ok(headers) = c.headers() {
                    for (name, value) in &headers {
                        name.as_str().hash(&mut h);
                        value.as_bytes().hash(&mut h);
                    }
                }
            }
        }
        h.finish()
    }
}

/// The most names a request's tool-selection list may hold (the whole
/// catalogue has about 600 tools).
const MAX_LIST_NAMES: usize = 1000;

/// The longest name in such a list (MCP tool names have at most 64 characters).
const MAX_NAME_LEN: usize = 64;

/// One setting, found in the query or in a header.
struct Found {
    value: String,
    from: String,
}

/// The query's decoded name/value pairs.
pub(super) fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    uri.query().map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default()
}

/// Where a request's settings are looked up: its query (when the operator
/// allows it) and its configuration headers.
struct Lookup<'a> {
    pairs: Vec<(String, String)>,
    headers: &'a HeaderMap,
    prefix: &'a str,
    /// Whether any configuration header is there (most requests carry none:
    /// look once, not per setting).
    prefixed: bool,
}

impl<'a> Lookup<'a> {
    fn new(uri: &Uri, headers: &'a HeaderMap, sources: &'a Sources) -> Self {
        let prefix = sources.header_prefix.as_str();
        Self {
            pairs: if sources.query { query_pairs(uri) } else { Vec::new() },
            headers,
            prefix,
            prefixed: !prefix.is_empty() && headers.keys().any(|k| k.as_str().starts_with(prefix)),
        }
    }

    /// The configuration header `<prefix><name>`, trimmed.
    fn header(&self, name: &str) -> Result<Option<String>, Refusal> {
        if !self.prefixed {
            return Ok(None);
        }
        let full = format!("{}{name}", self.prefix);
        match self.headers.get(full.as_str()) {
            None => Ok(None),
            Some(v) => v
                .to_str()
                .map(|s| Some(s.trim().to_owned()))
                .map_err(|_| Refusal::bad(format!("header {full} is not valid text"))),
        }
    }

    /// A setting from the query or from a header, never from both.
    fn find(&self, query: &str, head: &str) -> Result<Option<Found>, Refusal> {
        let mut in_query = self.pairs.iter().filter(|(k, _)| k == query);
        let q = in_query.next().map(|(_, v)| v.trim().to_owned());
        if in_query.next().is_some() {
            return Err(Refusal::bad(format!("query parameter `{query}` is given more than once")));
        }
        let prefix = self.prefix;
        match (q, self.header(head)?) {
            (Some(_), Some(_)) => Err(Refusal::bad(format!(
                "`{query}` is given both as a query parameter and as the {prefix}{head} header; give it once"
            ))),
            (Some(value), None) => Ok(Some(Found { value, from: format!("query parameter `{query}`") })),
            (None, Some(value)) => Ok(Some(Found { value, from: format!("header {prefix}{head}") })),
            (None, None) => Ok(None),
        }
    }

    /// A comma-separated list of names, lower case; at most
    /// [`MAX_LIST_NAMES`] names of at most [`MAX_NAME_LEN`] characters, so
    /// that what a caller sends bounds the work done with it.
    fn list(&self, query: &str, head: &str) -> Result<Option<Vec<String>>, Refusal> {
        let Some(f) = self.find(query, head)? else { return Ok(None) };
        let names: Vec<&str> = f.value.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        if names.len() > MAX_LIST_NAMES {
            return Err(Refusal::bad(format!(
                "{} has {} names; at most {MAX_LIST_NAMES} are accepted (name toolsets instead of single tools)",
                f.from,
                names.len()
            )));
        }
        if names.iter().any(|n| n.len() > MAX_NAME_LEN) {
            return Err(Refusal::bad(format!(
                "{} has a name longer than {MAX_NAME_LEN} characters, which no tool or toolset has",
                f.from
            )));
        }
        Ok(Some(names.into_iter().map(str::to_ascii_lowercase).collect()))
    }

    /// A boolean (`1/true/yes/y/on`, `0/false/no/n/off` or empty).
    fn boolean(&self, query: &str, head: &str) -> Result<Option<bool>, Refusal> {
        let Some(f) = self.find(query, head)? else { return Ok(None) };
        match f.value.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "y" | "on" => Ok(Some(true)),
            "0" | "false" | "no" | "n" | "off" | "" => Ok(Some(false)),
            other => Err(Refusal::bad(format!("{} is `{other}`; use true or false", f.from))),
        }
    }

    /// The portal, normalised.
    fn base_url(&self) -> Result<Option<String>, Refusal> {
        let Some(f) = self.find("base_url", "base-url")? else { return Ok(None) };
        normalise_base_url(&f.value).map(Some).map_err(|e| {
            Refusal::bad(format!("{}: {}", f.from, e.to_string().trim_start_matches("DOCSPACE_BASE_URL ")))
        })
    }

    /// The `Authorization` header: a DocSpace credential, or a token for
    /// this server's OAuth proxy to check (which is not one). With OAuth on,
    /// anything in it is such a token unless the operator allows passthrough:
    /// a bearer token not issued here (a DocSpace API key, another server's
    /// token) is then refused by the check, never sent to DocSpace.
    fn authorization(&self, sources: &Sources) -> Result<(Option<Secret>, Option<Secret>), Refusal> {
        let Some(v) = self.headers.get(header::AUTHORIZATION) else { return Ok((None, None)) };
        let value = v.to_str().map_err(|_| Refusal::bad("the Authorization header is not valid text"))?.trim();
        if value.is_empty() {
            return Ok((None, None));
        }
        if sources.oauth {
            let bearer = crate::auth::strip_scheme(value, "Bearer");
            if let Some(token) = bearer.filter(|t| crate::oauth::seal::looks_sealed(t)) {
                return Ok((None, Some(Secret::new(token))));
            }
            if !sources.passthrough {
                return Ok((None, Some(Secret::new(bearer.unwrap_or(value)))));
            }
        }
        Ok((Some(Secret::new(value)).filter(|_| sources.authorization_header), None))
    }

    /// The DocSpace credentials the request gives (at most one method; the
    /// rules are [`auth::Settings`]'s, the messages name the headers).
    fn credentials(&self, authorization: Option<Secret>) -> Result<Option<Credentials>, Refusal> {
        let settings = auth::Settings {
            api_key: self.header("api-key")?.map(Secret::new),
            auth_token: self.header("auth-token")?.map(Secret::new),
            username: self.header("username")?,
            password: self.header("password")?.map(Secret::new),
            authorization,
        };
        let labels = auth::Labels {
            prefix: self.prefix,
            api_key: "api-key",
            auth_token: "auth-token",
            username: "username",
            password: "password",
            authorization: "Authorization",
        };
        settings.resolve_optional().map_err(|e| Refusal::bad(e.describe(&labels)))
    }
}

/// Reads the settings of a request.
pub(super) fn parse(uri: &Uri, headers: &HeaderMap, sources: &Sources) -> Result<RequestSettings, Refusal> {
    let lookup = Lookup::new(uri, headers, sources);
    let base_url = lookup.base_url()?;
    let (authorization, bearer) = lookup.authorization(sources)?;
    let credentials = lookup.credentials(authorization)?;
    if bearer.is_some() && (credentials.is_some() || base_url.is_some()) {
        return Err(Refusal::bad(
            "an OAuth access token is given together with other DocSpace credentials or a base_url; send only the token",
        ));
    }
    Ok(RequestSettings {
        base_url,
        credentials,
        toolsets: lookup.list("toolsets", "toolsets")?,
        enabled_tools: lookup.list("enabled_tools", "enabled-tools")?,
        disabled_tools: lookup.list("disabled_tools", "disabled-tools")?,
        dynamic: lookup.boolean("dynamic", "dynamic")?,
        read_only: lookup.boolean("read_only", "read-only")?,
        bearer,
        oauth: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_messages_are_escaped_and_bounded() {
        let r = Refusal::bad("no portal `x\r\nINFO forged line`\u{1b}[31m");
        assert_eq!(r.message, "no portal `x\\r\\nINFO forged line`\\u{1b}[31m");
        let long = Refusal::forbidden("y".repeat(5000));
        assert!(long.message.chars().count() < 1010 && long.message.ends_with("… (cut)"), "{}", long.message.len());
    }

    fn sources() -> Sources {
        Sources {
            query: true,
            authorization_header: true,
            header_prefix: "x-mcp-".into(),
            oauth: false,
            passthrough: false,
        }
    }

    fn req_with(uri: &str, headers: &[(&str, &str)], sources: &Sources) -> Result<RequestSettings, Refusal> {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        parse(&uri.parse().unwrap(), &map, sources)
    }

    fn req(uri: &str, headers: &[(&str, &str)]) -> Result<RequestSettings, Refusal> {
        req_with(uri, headers, &sources())
    }

    /// Issue 14, item 12: with OAuth on, whatever the Authorization header
    /// holds is a token for the proxy to check (and refuse when it did not
    /// issue it), unless the operator allows passthrough.
    #[test]
    fn with_oauth_the_authorization_header_is_for_the_proxy_unless_passthrough() {
        let oauth = Sources { oauth: true, ..sources() };
        for (value, token) in [("Bearer sk-docspace-key", "sk-docspace-key"), ("Basic dTpw", "Basic dTpw")] {
            let s = req_with("/mcp", &[("authorization", value)], &oauth).unwrap();
            assert_eq!((s.bearer, s.credentials), (Some(Secret::new(token)), None), "{value}");
        }
        let passthrough = Sources { oauth: true, passthrough: true, ..sources() };
        let s = req_with("/mcp", &[("authorization", "Bearer sk-docspace-key")], &passthrough).unwrap();
        assert_eq!(s.bearer, None);
        assert_eq!(s.credentials, Some(Credentials::Authorization(Secret::new("Bearer sk-docspace-key"))));
        let e = req_with("/mcp", &[("authorization", "Bearer x"), ("x-mcp-api-key", "k")], &oauth).unwrap_err();
        assert_eq!(e.status, 400, "a token and credentials at once: {e:?}");
    }

    #[test]
    fn reads_query_and_headers() {
        let s = req(
            "/mcp?base_url=https://a.example.com/&toolsets=Files,rooms&read_only=yes",
            &[("x-mcp-api-key", "sk-1"), ("x-mcp-dynamic", "0")],
        )
        .unwrap();
        assert_eq!(s.base_url.as_deref(), Some("https://a.example.com"));
        assert_eq!(s.credentials, Some(Credentials::ApiKey(Secret::new("sk-1"))));
        assert_eq!(s.toolsets, Some(vec!["files".to_owned(), "rooms".to_owned()]));
        assert_eq!((s.read_only, s.dynamic), (Some(true), Some(false)));
        let basic = req("/mcp", &[("authorization", "Basic dTpw")]).unwrap();
        assert_eq!(basic.credentials, Some(Credentials::Authorization(Secret::new("Basic dTpw"))));
        assert_eq!(req("/mcp", &[]).unwrap(), RequestSettings::default());
    }

    #[test]
    fn conflicts_and_malformed_values_are_refused() {
        let e = req("/mcp?toolsets=files", &[("x-mcp-toolsets", "rooms")]).unwrap_err();
        assert!(e.status == 400 && e.message.contains("both"), "{e:?}");
        let e = req("/mcp", &[("x-mcp-api-key", "k"), ("x-mcp-auth-token", "t")]).unwrap_err();
        assert!(e.message.contains("x-mcp-api-key, x-mcp-auth-token"), "{e:?}");
        let e = req("/mcp", &[("x-mcp-username", "u")]).unwrap_err();
        assert!(e.message.contains("without x-mcp-password"), "{e:?}");
        let e = req("/mcp?dynamic=maybe", &[]).unwrap_err();
        assert!(e.message.contains("`maybe`"), "{e:?}");
        let e = req("/mcp?base_url=ftp://x", &[]).unwrap_err();
        assert!(e.message.contains("query parameter `base_url`") && e.message.contains("https://"), "{e:?}");
        let e = req("/mcp?base_url=https://a.example&base_url=https://b.example", &[]).unwrap_err();
        assert!(e.message.contains("more than once"), "{e:?}");
        // Selection lists are bounded before any selection work.
        let long = format!("/mcp?enabled_tools={}", "a".repeat(65));
        let e = req(&long, &[]).unwrap_err();
        assert!(e.status == 400 && e.message.contains("longer than 64"), "{e:?}");
        let many = vec!["get_file_info"; 1001].join(",");
        let e = req("/mcp", &[("x-mcp-disabled-tools", many.as_str())]).unwrap_err();
        assert!(e.status == 400 && e.message.contains("1001 names"), "{e:?}");
        assert!(req(&format!("/mcp?enabled_tools={}", vec!["get_file_info"; 1000].join(",")), &[]).is_ok());
        let e = req("/mcp", &[("x-mcp-api-key", "k"), ("authorization", "Bearer x")]).unwrap_err();
        assert!(e.message.contains("Authorization"), "{e:?}");
    }

    #[test]
    fn identities_differ_by_portal_and_secret() {
        let keys = std::hash::RandomState::new();
        let a = req("/mcp?base_url=https://a.example", &[("x-mcp-api-key", "k1")]).unwrap();
        let b = req("/mcp?base_url=https://a.example", &[("x-mcp-api-key", "k2")]).unwrap();
        let c = req("/mcp?base_url=https://b.example", &[("x-mcp-api-key", "k1")]).unwrap();
        assert_eq!(a.identity(&keys), a.clone().identity(&keys));
        assert_ne!(a.identity(&keys), b.identity(&keys));
        assert_ne!(a.identity(&keys), c.identity(&keys));
    }
}
