//! The `Host` and `Origin` checks (DNS rebinding, cross-site requests):
//! `Host` must name an allowed hostname; a browser's `Origin` must be listed
//! for CORS or name an allowed host. The OAuth API endpoints (metadata,
//! `/token`, `/register`, `/revoke`, `/introspect`) have an origin list of
//! their own, since browser-based MCP clients sign in from their own origin.

use axum::http::{HeaderMap, header};

use crate::config::{Cors, OAuthEndpoint};
use crate::transport::http::request::Refusal;

/// Origins of one CORS setting: listed ones (exact), or any (`*`).
#[derive(Debug, Clone, Default)]
struct Origins {
    listed: Vec<String>,
    any: bool,
}

impl Origins {
    fn new(cors: &Cors) -> Self {
        let origins = clean(&cors.origins);
        Self { any: origins.iter().any(|o| o == "*"), listed: origins.into_iter().filter(|o| o != "*").collect() }
    }
}

/// The policy.
#[derive(Debug, Clone)]
pub(crate) struct HostOrigin {
    /// Accepted hostnames, lower case (`[::1]` for IPv6); empty accepts any.
    hostnames: Vec<String>,
    mcp: Origins,
    /// With the OAuth proxy on: its API endpoints' origins.
    oauth: Option<Origins>,
    /// This server's own origin (the OAuth issuer's), always allowed on its
    /// own pages (the consent form posts from it), whatever the CORS lists say.
    own: Option<String>,
}

fn clean(v: &[String]) -> Vec<String> {
    v.iter().map(|s| s.trim().trim_end_matches('/').to_ascii_lowercase()).filter(|s| !s.is_empty()).collect()
}

/// `host[:port]` → `host` (lower case; IPv6 keeps its brackets).
fn hostname(authority: &str) -> String {
    let authority = authority.trim().to_ascii_lowercase();
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next().unwrap_or_default().to_owned();
    }
    authority.split(':').next().unwrap_or_default().to_owned()
}

impl HostOrigin {
    /// The policy for `hostnames`, the MCP endpoints' CORS and, with the
    /// OAuth proxy on, the OAuth endpoints' CORS.
    pub(crate) fn new(hostnames: &[String], mcp: &Cors, oauth: Option<&Cors>) -> Self {
        Self { hostnames: clean(hostnames), mcp: Origins::new(mcp), oauth: oauth.map(Origins::new), own: None }
    }

    /// Allows `origin` (this server's own, e.g. `https://mcp.example.com`) on
    /// the OAuth pages.
    #[must_use]
    pub(crate) fn with_own_origin(mut self, origin: Option<String>) -> Self {
        self.own = origin.map(|o| o.trim_end_matches('/').to_ascii_lowercase());
        self
    }

    fn host_allowed(&self, host: &str) -> bool {
        self.hostnames.is_empty() || self.hostnames.iter().any(|h| h == host)
    }

    /// Checks a request to `endpoint` (`None`: MCP and everything that is not OAuth).
    pub(crate) fn check(&self, endpoint: Option<OAuthEndpoint>, headers: &HeaderMap) -> Result<(), Refusal> {
        if let Some(host) = headers.get(header::HOST) {
            let host = host.to_str().map(hostname).unwrap_or_default();
            if !self.host_allowed(&host) {
                return Err(Refusal::forbidden(format!(
                    "this server answers only requests addressed to {}; this one was addressed to `{host}` (its \
                     Host header). If that is this server's name, its operator adds it to \
                     DOCSPACE_SERVER_ALLOWED_HOSTNAMES (--allowed-hostnames)",
                    self.hostnames.join(", ")
                ))
                .because("host"));
            }
        }
        let Some(origin) = headers.get(header::ORIGIN) else { return Ok(()) };
        let origin = origin.to_str().unwrap_or_default().trim_end_matches('/').to_ascii_lowercase();
        let host = origin.split_once("://").map(|(_, rest)| hostname(rest)).unwrap_or_default();
        let by_host =
            |any: bool, listed: &[String]| (any || listed.is_empty()) && !host.is_empty() && self.host_allowed(&host);
        // The OAuth API endpoints answer browser-based clients on other
        // origins (no cookies there; the Host check still applies).
        if endpoint.is_some_and(|e| !e.is_api()) && self.own.as_deref() == Some(origin.as_str()) {
            return Ok(());
        }
        if let (Some(oauth), Some(endpoint)) = (&self.oauth, endpoint)
            && endpoint.is_api()
        {
            if oauth.any || oauth.listed.contains(&origin) || by_host(false, &oauth.listed) {
                return Ok(());
            }
            return Err(Refusal::forbidden(format!(
                "Origin `{origin}` is not allowed (DOCSPACE_SERVER_CORS_OAUTH_ORIGIN)"
            ))
            .because("origin"));
        }
        if !self.mcp.listed.contains(&origin) && !by_host(self.mcp.any, &self.mcp.listed) {
            return Err(Refusal::forbidden(format!(
                "Origin `{origin}` is not allowed (DOCSPACE_SERVER_CORS_MCP_ORIGIN, DOCSPACE_SERVER_ALLOWED_HOSTNAMES)"
            ))
            .because("origin"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::http::{HeaderName, HeaderValue};

    use super::*;

    pub(crate) fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn cors(origins: &[&str]) -> Cors {
        Cors { origins: origins.iter().map(|o| (*o).to_owned()).collect(), max_age: Duration::from_secs(1) }
    }

    fn default_policy(oauth: bool) -> HostOrigin {
        let hosts = ["localhost".to_owned(), "127.0.0.1".to_owned(), "[::1]".to_owned()];
        HostOrigin::new(&hosts, &cors(&["*"]), oauth.then(|| cors(&["*"])).as_ref())
    }

    #[test]
    fn hosts_and_origins() {
        let g = default_policy(false);
        assert!(g.check(None, &headers(&[("host", "127.0.0.1:8080")])).is_ok());
        assert!(g.check(None, &headers(&[("host", "[::1]:8080")])).is_ok());
        assert!(g.check(None, &headers(&[("host", "LOCALHOST")])).is_ok());
        assert!(g.check(None, &headers(&[("host", "evil.example")])).is_err());
        assert!(g.check(None, &headers(&[("host", "localhost"), ("origin", "http://localhost:6274")])).is_ok());
        assert!(g.check(None, &headers(&[("host", "localhost"), ("origin", "https://evil.example")])).is_err());
        assert!(g.check(None, &headers(&[("host", "localhost"), ("origin", "null")])).is_err());
        let listed = HostOrigin::new(&[], &cors(&["https://app.example.com"]), None);
        assert!(listed.check(None, &headers(&[("host", "anything"), ("origin", "https://app.example.com")])).is_ok());
        assert!(listed.check(None, &headers(&[("origin", "https://other.example.com")])).is_err());
    }

    #[test]
    fn oauth_api_endpoints_have_their_own_origins() {
        let origin = headers(&[("host", "localhost"), ("origin", "https://web.example")]);
        let with = default_policy(true);
        assert!(with.check(Some(OAuthEndpoint::Token), &origin).is_ok());
        assert!(with.check(Some(OAuthEndpoint::Authorize), &origin).is_err(), "pages keep the MCP origin policy");
        let without = default_policy(false);
        assert!(
            without.check(Some(OAuthEndpoint::Token), &origin).is_err(),
            "without OAuth, /token is nothing special"
        );
        // With a CORS list, the server's own origin still reaches its own pages (and only those).
        let listed = HostOrigin::new(&[], &cors(&["https://app.example"]), Some(&cors(&["*"])))
            .with_own_origin(Some("http://127.0.0.1:8080/".into()));
        let own = headers(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080")]);
        assert!(listed.check(Some(OAuthEndpoint::Authorize), &own).is_ok());
        assert!(listed.check(None, &own).is_err(), "the MCP endpoint keeps the list");
        let other = headers(&[("origin", "https://evil.example")]);
        assert!(listed.check(Some(OAuthEndpoint::Authorize), &other).is_err());
    }
}
