//! The connection to one DocSpace portal: a validated base URL and a shared
//! HTTP client (User-Agent, timeouts, connection pool). Clients for a given
//! identity are cheap views over it.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use docspace_mcp_client::Client;
use docspace_mcp_client::reqwest::{self, Url};

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
        builder = builder.dns_resolver(PublicOnly).no_proxy();
    }
    builder.build().map_err(|e| Error::Http(e.to_string()))
}

/// The HTTP client that fetches client metadata documents for the OAuth
/// proxy: public addresses only (connecting directly, as above), no
/// redirects, short time limits.
pub(crate) fn metadata_client(user_agent: &str) -> Result<reqwest::Client, Error> {
    metadata_client_builder(user_agent).build().map_err(|e| Error::Http(e.to_string()))
}

/// `metadata_client`'s settings, for an embedder that adds to them (a test
/// naming its own document host and certificate).
pub fn metadata_client_builder(user_agent: &str) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(user_agent)
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(PublicOnly)
}

/// Whether `ip` is an address on the public internet (not private,
/// loopback, link-local, shared, documentation, multicast or unspecified).
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
                || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let [first, second, ..] = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first == 0x2001 && second == 0x0db8)) // documentation
        }
    }
}

/// A DNS resolver that keeps only public addresses.
struct PublicOnly;

/// The public addresses among those `host` resolved to; none is an error, so
/// that a name pointing inside the network fails rather than connects.
fn only_public(host: &str, addrs: impl IntoIterator<Item = SocketAddr>) -> Result<Vec<SocketAddr>, String> {
    let public: Vec<SocketAddr> = addrs.into_iter().filter(|a| is_public(a.ip())).collect();
    if public.is_empty() {
        return Err(format!("`{host}` resolves only to private or local addresses, which are not allowed"));
    }
    Ok(public)
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public = only_public(&host, addrs)?;
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
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

    #[test]
    fn names_resolving_only_inside_the_network_are_refused() {
        let at = |ip: &str| SocketAddr::new(ip.parse().unwrap(), 443);
        let e = only_public("rebind.example", [at("127.0.0.1"), at("10.0.0.7"), at("::1")]).unwrap_err();
        assert!(e.contains("`rebind.example` resolves only to private or local addresses"), "{e}");
        assert!(only_public("empty.example", []).is_err());
        // Mixed answers keep only the public addresses, so a rebinding
        // attacker's private one is never tried.
        let kept = only_public("mixed.example", [at("192.168.1.1"), at("8.8.8.8"), at("fe80::1")]).unwrap();
        assert_eq!(kept, [at("8.8.8.8")]);
    }

    #[test]
    fn public_addresses() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
