//! Where outbound requests may go: the portals a client may name
//! (`DOCSPACE_ALLOWED_BASE_URLS`), the private-address rule
//! (`DOCSPACE_ALLOW_PRIVATE_BASE_URLS`), and the DNS resolver that keeps to
//! public addresses at connection time (portals clients name, client
//! metadata documents), so a name that resolves inside the network fails.
//! No HTTP framework types appear here: a refusal is a [`Denied`], which the
//! transport turns into its own answer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
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
    docspace_mcp_client::tls::builder()
        .user_agent(user_agent)
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(PublicOnly)
}

/// Whether `ip` is an address on the public internet: none of the
/// special-purpose ranges of IANA's registries (private, loopback,
/// link-local, shared, benchmarking, documentation, multicast, reserved,
/// unspecified, discard-only, ULA, deprecated site-local), and for the IPv6
/// forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4) the
/// carried address passes the same test. Teredo is refused: its client
/// address is obfuscated and it is not how a portal is reached.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_public_v4(v4),
            None => !SPECIAL_V6.iter().any(|&(prefix, len)| in_prefix(v6, prefix, len)),
        },
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    !(v4.is_private()
        || v4.is_loopback()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_documentation()
        || v4.is_multicast()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast (RFC 7526)
        || (a == 198 && (b & 0xfe) == 18) // benchmarking (RFC 2544)
        || a >= 240) // reserved and broadcast
}

/// The IPv4 address an IPv6 one stands for: IPv4-mapped (`::ffff:a.b.c.d`),
/// IPv4-compatible (`::a.b.c.d`, deprecated but still routed by some stacks),
/// NAT64 (`64:ff9b::/96`, RFC 6052) and 6to4 (`2002:AABB:CCDD::/48`).
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let o = v6.octets();
    let last = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    // `::` and `::1` are IPv6's own unspecified and loopback addresses.
    if o[..12].iter().all(|&b| b == 0) && !v6.is_unspecified() && !v6.is_loopback() {
        return Some(last);
    }
    if in_prefix(v6, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96) {
        return Some(last);
    }
    if v6.segments()[0] == 0x2002 {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    None
}

/// IPv6 ranges that are not the public internet (IANA's special-purpose
/// registry and multicast), as (prefix, length).
const SPECIAL_V6: [([u16; 8], u8); 12] = [
    ([0, 0, 0, 0, 0, 0, 0, 0], 128),         // unspecified
    ([0, 0, 0, 0, 0, 0, 0, 1], 128),         // loopback
    ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48),  // local-use IPv4/IPv6 translation (RFC 8215)
    ([0x100, 0, 0, 0, 0, 0, 0, 0], 64),      // discard-only (RFC 6666)
    ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),     // IETF protocol assignments, Teredo among them
    ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), // documentation
    ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),     // documentation (RFC 9637)
    ([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16),     // segment routing SIDs (RFC 9602)
    ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),      // unique local
    ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),     // link-local
    ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),     // site-local (deprecated)
    ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8),      // multicast
];

/// Whether the first `len` bits of `ip` are those of `prefix`.
fn in_prefix(ip: Ipv6Addr, prefix: [u16; 8], len: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(Ipv6Addr::from(prefix)) & mask
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
            "255.255.255.255",
            "198.18.0.1",
            "192.0.0.8",
            "192.88.99.1",
            // IPv6 forms carrying a private IPv4 address.
            "::127.0.0.1",
            "::a9fe:a9fe",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::10.0.0.1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            // IPv6's own special ranges.
            "::",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:db8::1",
            "3fff::1",
            "5f00::1",
            "fec0::1",
            "ff02::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "2a00:1450:4001::200e",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
