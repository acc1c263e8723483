//! Where outbound requests may go: the portals a client may name
//! (`DOCSPACE_ALLOWED_BASE_URLS`), the private-address rule
//! (`DOCSPACE_ALLOW_PRIVATE_BASE_URLS`), and the DNS resolver that keeps to
//! public addresses at connection time (portals clients name, client
//! metadata documents), so a name that resolves inside the network fails.
//! No HTTP framework types appear here: a refusal is a [`Denied`], which the
//! transport turns into its own answer.

use std::net::IpAddr;

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::{self, Url};

/// The HTTP client that fetches client metadata documents for the OAuth
/// proxy: public addresses only (connecting directly, as above), no
/// redirects, short time limits.
pub(crate) fn metadata_client(user_agent: &str) -> Result<reqwest::Client, crate::portal::Error> {
    metadata_client_builder(user_agent).build().map_err(|e| crate::portal::Error::Http(e.to_string()))
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
pub(crate) struct PublicOnly;

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

/// Why a portal URL may not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The URL or a pattern is malformed.
    #[error("{0}")]
    Malformed(String),
    /// The operator does not allow it.
    #[error("{0}")]
    NotAllowed(String),
}

/// Which portals a client may name.
#[derive(Debug, Clone, Default)]
pub struct BaseUrlPolicy {
    /// The operator's own portal (always allowed).
    pub configured: Option<String>,
    patterns: Vec<Pattern>,
    /// Private and local addresses allowed.
    pub allow_private: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    scheme: Option<String>,
    host: String,
    port: Option<u16>,
}

impl BaseUrlPolicy {
    /// Parses `DOCSPACE_ALLOWED_BASE_URLS` entries.
    pub fn new(configured: Option<String>, patterns: &[String], allow_private: bool) -> Result<Self, Denied> {
        let mut parsed = Vec::new();
        for raw in patterns.iter().map(|p| p.trim().to_ascii_lowercase()).filter(|p| !p.is_empty()) {
            let (scheme, rest) = match raw.split_once("://") {
                Some((s, r)) if s == "http" || s == "https" => (Some(s.to_owned()), r.to_owned()),
                Some(_) => {
                    return Err(Denied::Malformed(format!(
                        "DOCSPACE_ALLOWED_BASE_URLS: `{raw}` must be http(s) or a bare host"
                    )));
                }
                None => (None, raw.clone()),
            };
            let rest = rest.trim_end_matches('/');
            let (host, port) = match rest.rsplit_once(':') {
                Some((h, "*")) if !h.contains(':') || h.ends_with(']') => (h.to_owned(), None),
                Some((h, p)) if !h.contains(':') || h.ends_with(']') => {
                    let port = p.parse().map_err(|_| {
                        Denied::Malformed(format!("DOCSPACE_ALLOWED_BASE_URLS: `{raw}` has a bad port"))
                    })?;
                    (h.to_owned(), Some(port))
                }
                _ => (rest.to_owned(), None),
            };
            if host.is_empty() || host.contains('/') {
                return Err(Denied::Malformed(format!("DOCSPACE_ALLOWED_BASE_URLS: `{raw}` is not a host pattern")));
            }
            parsed.push(Pattern { scheme, host, port });
        }
        Ok(Self { configured, patterns: parsed, allow_private })
    }

    /// Whether a client may use `base_url` (normalised); `Ok(true)` for the
    /// operator's own portal, which needs no address check.
    pub fn check(&self, base_url: &str) -> Result<bool, Denied> {
        if self.configured.as_deref() == Some(base_url) {
            return Ok(true);
        }
        let url = parse_url(base_url)?;
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let port = url.port_or_known_default();
        let allowed = self.patterns.iter().any(|p| {
            p.scheme.as_deref().is_none_or(|s| s == url.scheme())
                && p.port.is_none_or(|want| Some(want) == port)
                && (p.host == "*"
                    || p.host == host
                    || p.host.strip_prefix("*.").is_some_and(|suffix| host.ends_with(&format!(".{suffix}"))))
        });
        if !allowed {
            return Err(Denied::NotAllowed(format!(
                "this server does not connect to {base_url}: the operator allows only {}",
                self.describe()
            )));
        }
        let literal = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok();
        if !self.allow_private && (literal.is_some_and(|ip| !is_public(ip)) || host == "localhost") {
            return Err(Denied::NotAllowed(format!(
                "{base_url} is a private or local address; the operator has not allowed those (DOCSPACE_ALLOW_PRIVATE_BASE_URLS)"
            )));
        }
        Ok(false)
    }

    fn describe(&self) -> String {
        let mut all: Vec<String> = self.configured.iter().cloned().collect();
        all.extend(self.patterns.iter().map(|p| {
            format!(
                "{}{}{}",
                p.scheme.as_deref().map(|s| format!("{s}://")).unwrap_or_default(),
                p.host,
                p.port.map(|p| format!(":{p}")).unwrap_or_default()
            )
        }));
        if all.is_empty() {
            "no portal named by a client (DOCSPACE_ALLOWED_BASE_URLS is empty)".into()
        } else {
            all.join(", ")
        }
    }
}

fn parse_url(base_url: &str) -> Result<Url, Denied> {
    Url::parse(base_url).map_err(|e| Denied::Malformed(format!("{base_url}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_policy() {
        let p = BaseUrlPolicy::new(
            Some("http://127.0.0.1:9".into()),
            &["*.onlyoffice.com".into(), "https://docs.example.org:8443".into(), "10.0.0.5".into()],
            false,
        )
        .unwrap();
        assert_eq!(p.check("http://127.0.0.1:9"), Ok(true), "the operator's portal");
        assert_eq!(p.check("https://team.onlyoffice.com"), Ok(false));
        assert!(p.check("https://onlyoffice.com.evil.example").is_err());
        assert!(p.check("https://evilonlyoffice.com").is_err());
        assert_eq!(p.check("https://docs.example.org:8443"), Ok(false));
        assert!(p.check("https://docs.example.org").is_err(), "another port");
        assert!(p.check("http://docs.example.org:8443").is_err(), "another scheme");
        let e = p.check("http://10.0.0.5").unwrap_err();
        assert!(e.to_string().contains("private"), "{e:?}");
        let any = BaseUrlPolicy::new(None, &["*".into()], false).unwrap();
        assert!(any.check("http://169.254.169.254").is_err() && any.check("http://localhost:8080").is_err());
        assert_eq!(any.check("https://x.example"), Ok(false));
        let none = BaseUrlPolicy::new(None, &[], false).unwrap();
        assert!(none.check("https://x.example").unwrap_err().to_string().contains("DOCSPACE_ALLOWED_BASE_URLS"));
        let local = BaseUrlPolicy::new(None, &["127.0.0.1:*".into()], true).unwrap();
        assert_eq!(local.check("http://127.0.0.1:4567"), Ok(false));
        assert!(BaseUrlPolicy::new(None, &["ftp://x".into()], false).is_err());
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
