//! The connection to one DocSpace portal: a validated base URL and a shared
//! HTTP client (User-Agent, timeouts, connection pool). Clients for a given
//! identity are cheap views over it. Which portals may be reached, and the
//! resolver that keeps to public addresses, are [`crate::egress`]'s.

use std::time::Duration;

use docspace_mcp_client::Client;
use reqwest::{self, Url};

use crate::auth::{self, Credentials};

/// A base URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("DOCSPACE_BASE_URL {0}")]
pub struct BaseUrlError(String);

/// Normalises a portal URL: http(s) only, no query or fragment, no trailing
/// slash; a path prefix (a portal behind `/docspace/`) is kept.
pub(crate) fn normalise_base_url(raw: &str) -> Result<String, BaseUrlError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(BaseUrlError(
            "is not set; set it to your portal's address, e.g. https://example.onlyoffice.com".into(),
        ));
    }
    let url = Url::parse(raw).map_err(|e| BaseUrlError(format!("`{raw}` is not a URL: {e}")))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(BaseUrlError(format!("`{raw}` must start with https:// (or http://)")));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(BaseUrlError(format!("`{raw}` has no host")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(BaseUrlError(format!("`{raw}` must not have a query or fragment")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(BaseUrlError(
            "must not contain a user name or password; use DOCSPACE_USERNAME and DOCSPACE_PASSWORD".into(),
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// A portal: base URL plus the shared HTTP client.
#[derive(Clone, Debug)]
pub(crate) struct Portal {
    base_url: String,
    http: reqwest::Client,
    /// The largest response body its clients read.
    max_response: usize,
}

/// The portal connection cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad base URL.
    #[error(transparent)]
    BaseUrl(#[from] BaseUrlError),
    /// Bad credentials setting.
    #[error(transparent)]
    Auth(#[from] auth::Error),
    /// The HTTP client could not be built (TLS backend).
    #[error("cannot set up the HTTP client: {0}")]
    Http(String),
}

/// Which portals an HTTP client talks to, which decides how far it trusts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Egress {
    /// The operator's own portal (or authorization server): redirects are
    /// followed as usual, `HTTPS_PROXY` is honoured.
    Operator,
    /// Portals MCP clients name. Redirects are never followed: a portal's
    /// `302` to `169.254.169.254` or an internal service would otherwise be
    /// fetched and its answer returned in the tool result. With
    /// `public_only`, names that resolve to private, loopback or link-local
    /// addresses are refused at connection time, even through DNS rebinding
    /// (IP-literal hosts are checked by [`crate::egress::BaseUrlPolicy`]
    /// before a client is made), and the client connects directly, never
    /// through `HTTPS_PROXY`: a proxy resolves names itself, which would
    /// bypass the check.
    Named {
        /// Keep to public addresses (`DOCSPACE_ALLOW_PRIVATE_BASE_URLS` off).
        public_only: bool,
    },
}

/// The HTTP client for DocSpace requests to the portals `egress` names.
///
/// TLS verifies against the system's CA certificates, read at the first
/// HTTPS handshake rather than here ([`docspace_mcp_client::tls::lazy_roots`]):
/// start-up reads no certificate, and where the system has none (a static
/// binary in an empty root or a `scratch` image) plain-HTTP portals and the
/// sandbox still work while HTTPS certificates are refused with a message
/// that says how to add certificates.
pub(crate) fn http_client(user_agent: &str, timeout: Duration, egress: Egress) -> Result<reqwest::Client, Error> {
    let tls = docspace_mcp_client::tls::lazy_roots().map_err(|e| Error::Http(e.to_string()))?;
    let mut builder = docspace_mcp_client::tls::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(user_agent)
        .connect_timeout(timeout.min(Duration::from_secs(15)))
        .timeout(timeout);
    if let Egress::Named { public_only } = egress {
        builder = builder.redirect(reqwest::redirect::Policy::none());
        if public_only {
            builder = builder.dns_resolver(crate::egress::PublicOnly).no_proxy();
        }
    }
    builder.build().map_err(|e| Error::Http(crate::logging::error_chain(&e)))
}

impl Portal {
    /// Connects (lazily) to the portal at `base_url`.
    pub(crate) fn new(base_url: &str, user_agent: &str, timeout: Duration, max_response: usize) -> Result<Self, Error> {
        let base_url = normalise_base_url(base_url)?;
        Ok(Self { base_url, http: http_client(user_agent, timeout, Egress::Operator)?, max_response })
    }

    /// The portal at `base_url`, reached through an existing HTTP client
    /// (one connection pool shared by many sessions).
    pub(crate) fn with_http(base_url: &str, http: reqwest::Client, max_response: usize) -> Result<Self, Error> {
        Ok(Self { base_url: normalise_base_url(base_url)?, http, max_response })
    }

    /// The normalised base URL.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// A client that acts as `credentials`.
    pub(crate) fn client(&self, credentials: &Credentials) -> Result<Client, Error> {
        Ok(Client::with_headers(&self.base_url, self.http.clone(), credentials.headers()?)
            .with_max_response(self.max_response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(normalise_base_url("https://x.onlyoffice.com/").unwrap(), "https://x.onlyoffice.com");
        assert_eq!(normalise_base_url(" https://x.io/docspace/ ").unwrap(), "https://x.io/docspace");
        assert_eq!(normalise_base_url("http://127.0.0.1:8092").unwrap(), "http://127.0.0.1:8092");
        for bad in ["", "x.onlyoffice.com", "ftp://x", "https://x?a=1", "https://x/#f", "https://u:p@x"] {
            assert!(normalise_base_url(bad).is_err(), "{bad}");
        }
        assert!(normalise_base_url("https://u:p@x").unwrap_err().to_string().contains("DOCSPACE_USERNAME"));
    }
}
