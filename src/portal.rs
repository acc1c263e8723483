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

/// The HTTP client for DocSpace requests. With `public_only`, host names
/// that resolve to private, loopback or link-local addresses are refused at
/// connection time (portals named by MCP clients, so that the server cannot be
/// pointed at an internal network, even through DNS rebinding). Such a
/// client connects directly, never through `HTTPS_PROXY`: a proxy resolves
/// names itself, which would bypass the check.
pub(crate) fn http_client(user_agent: &str, timeout: Duration, public_only: bool) -> Result<reqwest::Client, Error> {
    let mut builder = reqwest::Client::builder()
        .user_agent(user_agent)
        .connect_timeout(timeout.min(Duration::from_secs(15)))
        .timeout(timeout);
    if public_only {
        builder = builder.dns_resolver(crate::egress::PublicOnly).no_proxy();
    }
    builder.build().map_err(|e| Error::Http(e.to_string()))
}

impl Portal {
    /// Connects (lazily) to the portal at `base_url`.
    pub(crate) fn new(base_url: &str, user_agent: &str, timeout: Duration) -> Result<Self, Error> {
        let base_url = normalise_base_url(base_url)?;
        Ok(Self { base_url, http: http_client(user_agent, timeout, false)? })
    }

    /// The portal at `base_url`, reached through an existing HTTP client
    /// (one connection pool shared by many sessions).
    pub(crate) fn with_http(base_url: &str, http: reqwest::Client) -> Result<Self, Error> {
        Ok(Self { base_url: normalise_base_url(base_url)?, http })
    }

    /// The normalised base URL.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// A client that acts as `credentials`.
    pub(crate) fn client(&self, credentials: &Credentials) -> Result<Client, Error> {
        Ok(Client::with_headers(&self.base_url, self.http.clone(), credentials.headers()?))
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
