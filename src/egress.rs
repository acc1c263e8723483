//! Where outbound requests may go: the portals a client may name
//! (`DOCSPACE_ALLOWED_BASE_URLS`) and the private-address rule
//! (`DOCSPACE_ALLOW_PRIVATE_BASE_URLS`). Name resolution itself is checked by
//! [`crate::docspace`]'s public-only resolver; this module decides on the URL.
//! No HTTP framework types appear here: a refusal is a [`Denied`], which the
//! transport turns into its own answer.

use std::net::IpAddr;

use docspace_mcp_client::reqwest::Url;

use crate::docspace::is_public;

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
}
