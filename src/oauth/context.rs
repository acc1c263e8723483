//! How the proxy is set up ([`Settings`], [`App`]) and what every decision
//! reads: the settings and the two sealers ([`Context`]). Nothing here does
//! I/O or holds state that changes.

use std::time::Duration;

use super::seal::{self, Sealer};
use super::sealed::Token;
use super::upstream::Credentials;
use crate::auth::Secret;

/// The DocSpace OAuth application the proxy serves every client through.
#[derive(Debug, Clone)]
pub struct App {
    /// Its client id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: Secret,
}

impl App {
    /// Its credentials for DocSpace.
    pub fn credentials(&self) -> Credentials {
        Credentials { client_id: self.client_id.clone(), client_secret: self.client_secret.clone() }
    }
}

/// How the proxy is set up.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// DocSpace's authorization server, normalised with a trailing slash.
    pub upstream: String,
    /// The shared application; `None`: each user brings their own.
    pub app: Option<App>,
    /// This server's public base URL, without a trailing slash: the issuer.
    pub issuer: String,
    /// The protected resources (endpoint URLs), the default first.
    pub resources: Vec<String>,
    /// Longest access-token lifetime.
    pub token_ttl: Duration,
    /// Longest time from authorization request to code exchange.
    pub state_ttl: Duration,
    /// How long DocSpace's introspection answer for a token is reused (zero:
    /// DocSpace is asked on every request).
    pub introspection_ttl: Duration,
}

impl Settings {
    /// Whether clients register here (shared application) or bring their own.
    pub(crate) fn shared_app(&self) -> bool {
        self.app.is_some()
    }

    /// This server's URL for `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The resource a request names (RFC 8707), or the default one when it
    /// names none; an error for a resource not served here.
    pub(crate) fn resource(&self, requested: Option<&str>) -> Result<String, String> {
        let Some(requested) = requested else {
            return Ok(self.resources.first().cloned().unwrap_or_else(|| self.issuer.clone()));
        };
        let trimmed = requested.trim_end_matches('/');
        if trimmed.eq_ignore_ascii_case(&self.issuer) {
            return Ok(self.issuer.clone());
        }
        self.resources
            .iter()
            .find(|r| r.eq_ignore_ascii_case(trimmed))
            .cloned()
            .ok_or_else(|| format!("resource {requested} is not served here"))
    }

    /// Whether a token for `audience` may be used here.
    pub(crate) fn audience_ok(&self, audience: &str) -> bool {
        audience == self.issuer || self.resources.iter().any(|r| r == audience)
    }

    /// The DocSpace credentials a token issued by this proxy is used with:
    /// the shared application's, or the client's own (sealed in the token).
    pub(crate) fn credentials_for(&self, token: &Token) -> Credentials {
        match &self.app {
            Some(app) => app.credentials(),
            None => Credentials {
                client_id: token.client_id.clone(),
                client_secret: Secret::new(token.client_secret.clone().unwrap_or_default()),
            },
        }
    }
}

/// What every decision reads: the settings, the sealer of codes and tokens,
/// and the sealer of states, client ids and consent.
#[derive(Debug)]
pub(crate) struct Context {
    /// The settings.
    pub(crate) settings: Settings,
    /// Seals codes and tokens.
    pub(crate) tokens: Sealer,
    /// Seals states, pending requests, client ids and the consent cookie.
    pub(crate) states: Sealer,
}

impl Context {
    /// The context sealing with `token_key` and `state_key`.
    pub(crate) fn new(settings: Settings, token_key: &str, state_key: &str) -> Result<Self, seal::Error> {
        Ok(Self { tokens: Sealer::new(token_key)?, states: Sealer::new(state_key)?, settings })
    }
}

/// SHA-256 of `value`: how the memory knows a token or state without holding it.
pub(crate) fn digest(value: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, value.as_bytes()).as_ref().to_vec()
}

/// A short, stable, non-reversible label for `value` (12 bytes of its digest, base64url).
pub(crate) fn short_digest(value: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest(value).get(..12).unwrap_or_default())
}
