//! Dynamic client registration (RFC 7591) without a store: the registration
//! (redirect URIs, name, auth method) is sealed into the client id itself, so
//! any replica can check a later `/authorize` against it. And the redirect-URI
//! rules every later step applies: exact match, except that loopback `http`
//! redirects match on any port (RFC 8252 §7.3; VS Code and Copilot CLI change
//! ports between registering and authorizing).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::ErrorCode;
use super::seal::{self, Purpose, Sealer};

/// How long an issued client id stays valid.
pub(crate) const CLIENT_TTL: Duration = Duration::from_secs(365 * 86_400);
/// The most redirect URIs one registration may carry.
const MAX_REDIRECT_URIS: usize = 16;
/// The longest redirect URI accepted.
const MAX_URI_LEN: usize = 2048;

/// What a client registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Registration {
    /// Where codes may be sent.
    #[serde(rename = "r")]
    pub redirect_uris: Vec<String>,
    /// The client's name, shown on the consent page.
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
}

/// A registration request that cannot be accepted (RFC 7591 §3.2.2 errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Error {
    /// `invalid_redirect_uri`.
    #[error("{code}: {0}", code = ErrorCode::InvalidRedirectUri)]
    InvalidRedirectUri(String),
    /// `invalid_client_metadata`.
    #[error("{code}: {0}", code = ErrorCode::InvalidClientMetadata)]
    InvalidMetadata(String),
    /// Sealing failed.
    #[error(transparent)]
    Seal(#[from] seal::Error),
}

impl Error {
    /// The RFC 7591 §3.2.2 `error` code.
    pub(crate) fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidRedirectUri(_) => ErrorCode::InvalidRedirectUri,
            Self::InvalidMetadata(_) | Self::Seal(_) => ErrorCode::InvalidClientMetadata,
        }
    }
}

/// The registration response (RFC 7591 §3.2.1): the client id and the
/// metadata as registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct RegistrationResponse {
    /// The sealed client id.
    pub client_id: String,
    /// The redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Codes and refresh tokens.
    pub grant_types: [&'static str; 2],
    /// `code`.
    pub response_types: [&'static str; 1],
    /// `none`: a public client (PKCE protects its code).
    pub token_endpoint_auth_method: &'static str,
    /// When the id was issued (Unix seconds).
    pub client_id_issued_at: u64,
    /// The client's name, as it will be shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
}

/// Whether a redirect URI may be registered: `https`, loopback `http`, or a
/// private-use scheme of a native app (`cursor://…`, RFC 8252 §7.1); never a
/// fragment, never `javascript:`/`data:`/`file:` or plain `http` elsewhere.
pub(crate) fn acceptable_redirect_uri(uri: &str) -> Result<(), String> {
    if uri.len() > MAX_URI_LEN {
        return Err("too long".into());
    }
    let url = url::Url::parse(uri).map_err(|e| format!("`{uri}` is not a URL: {e}"))?;
    if url.fragment().is_some() {
        return Err(format!("`{uri}` has a fragment"));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        "http" => Err(format!("`{uri}`: plain http is allowed only for loopback addresses")),
        "javascript" | "data" | "file" | "blob" | "about" | "vbscript" | "ftp" | "ws" | "wss" => {
            Err(format!("`{uri}`: scheme `{}` cannot receive a code", url.scheme()))
        }
        // Private-use schemes of native apps must look like reverse domain names or app ids.
        scheme if scheme.contains('.') || scheme.len() >= 4 => Ok(()),
        scheme => Err(format!("`{uri}`: scheme `{scheme}` is not accepted")),
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether `requested` may receive a code for a client that registered
/// `registered`: an exact match, or a loopback `http` URI equal but for its port.
pub(crate) fn redirect_matches(registered: &[String], requested: &str) -> bool {
    if registered.iter().any(|r| r == requested) {
        return true;
    }
    let Ok(req) = url::Url::parse(requested) else { return false };
    if req.scheme() != "http" || !is_loopback(&req) || req.fragment().is_some() {
        return false;
    }
    registered.iter().filter_map(|r| url::Url::parse(r).ok()).any(|r| {
        r.scheme() == "http"
            && is_loopback(&r)
            && r.host() == req.host()
            && r.path() == req.path()
            && r.query() == req.query()
    })
}

/// Registers a client from an RFC 7591 request body: the registration
/// response, with the sealed client id.
pub(crate) fn register(sealer: &Sealer, request: &Value) -> Result<RegistrationResponse, Error> {
    let uris = request
        .get("redirect_uris")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::InvalidRedirectUri("redirect_uris (a non-empty array) is required".into()))?;
    if uris.is_empty() || uris.len() > MAX_REDIRECT_URIS {
        return Err(Error::InvalidRedirectUri(format!("give between 1 and {MAX_REDIRECT_URIS} redirect_uris")));
    }
    let mut redirect_uris = Vec::new();
    for uri in uris {
        let uri = uri.as_str().ok_or_else(|| Error::InvalidRedirectUri("redirect_uris must be strings".into()))?;
        acceptable_redirect_uri(uri).map_err(Error::InvalidRedirectUri)?;
        redirect_uris.push(uri.to_owned());
    }
    if let Some(types) = request.get("grant_types").and_then(Value::as_array) {
        let unsupported: Vec<&str> = types
            .iter()
            .filter_map(Value::as_str)
            .filter(|g| *g != "authorization_code" && *g != "refresh_token")
            .collect();
        if !unsupported.is_empty() {
            return Err(Error::InvalidMetadata(format!("unsupported grant_types: {}", unsupported.join(", "))));
        }
    }
    let client_name = request
        .get("client_name")
        .and_then(Value::as_str)
        .map(|n| n.chars().filter(|c| !c.is_control()).take(100).collect::<String>())
        .filter(|n| !n.trim().is_empty());
    let registration = Registration { redirect_uris, client_name };
    let client_id = sealer.seal(Purpose::Client, &registration, CLIENT_TTL)?;
    Ok(RegistrationResponse {
        client_id,
        redirect_uris: registration.redirect_uris,
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        token_endpoint_auth_method: "none",
        client_id_issued_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        client_name: registration.client_name,
    })
}

/// The registration behind a client id this proxy issued; `None` for an id it
/// did not issue, a tampered one or an expired one (answer `invalid_client`,
/// so the client registers again).
pub(crate) fn client(sealer: &Sealer, client_id: &str) -> Option<Registration> {
    sealer.open(Purpose::Client, client_id).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sealer() -> Sealer {
        Sealer::new("a test secret that is long enough for the sealer").unwrap()
    }

    #[test]
    fn registration_round_trips_through_the_client_id() {
        let s = sealer();
        let request = json!({
            "redirect_uris": ["cursor://anysphere.cursor-mcp/oauth/callback", "https://www.cursor.com/agents/mcp/oauth/callback", "http://localhost:8787/callback"],
            "client_name": "Cursor\u{7}",
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none"
        });
        let typed = register(&s, &request).unwrap();
        let id = typed.client_id.clone();
        let response = serde_json::to_value(&typed).unwrap();
        assert_eq!(response["client_id"], id.as_str());
        assert_eq!(response["redirect_uris"], request["redirect_uris"], "Cursor's three URIs in one request");
        let reg = client(&s, &id).unwrap();
        assert_eq!(reg.redirect_uris.len(), 3);
        assert_eq!(reg.client_name.as_deref(), Some("Cursor"), "control characters dropped");
        assert!(client(&s, "made-up-client").is_none());
        assert!(client(&Sealer::new("another secret that is long enough for sealing").unwrap(), &id).is_none());
        let state = s.seal(Purpose::State, &reg, Duration::from_secs(60)).unwrap();
        assert!(client(&s, &state).is_none(), "a sealed state is not a client id");
    }

    /// The typed response serialises as the `json!` value it replaces.
    #[test]
    fn the_registration_response_is_the_same_json_as_before() {
        for name in [Some("Cursor"), None] {
            let request = json!({"redirect_uris": ["https://a.example/cb"], "client_name": name});
            let typed = register(&sealer(), &request).unwrap();
            let mut old = json!({
                "client_id": typed.client_id,
                "redirect_uris": ["https://a.example/cb"],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
                "client_id_issued_at": typed.client_id_issued_at,
            });
            if let (Some(name), Some(obj)) = (name, old.as_object_mut()) {
                obj.insert("client_name".into(), Value::String(name.into()));
            }
            assert_eq!(serde_json::to_string(&typed).unwrap(), old.to_string());
        }
    }

    #[test]
    fn bad_registrations_are_refused() {
        let s = sealer();
        for bad in [
            json!({}),
            json!({"redirect_uris": []}),
            json!({"redirect_uris": ["http://evil.example/cb"]}),
            json!({"redirect_uris": ["https://app.example/cb#frag"]}),
            json!({"redirect_uris": ["javascript:alert(1)"]}),
            json!({"redirect_uris": ["data:text/html,hi"]}),
            json!({"redirect_uris": [42]}),
            json!({"redirect_uris": ["not a url"]}),
        ] {
            let e = register(&s, &bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidRedirectUri, "{bad}: {e}");
        }
        let e =
            register(&s, &json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["client_credentials"]}))
                .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidClientMetadata);
        let many: Vec<String> = (0..17).map(|i| format!("https://a.example/{i}")).collect();
        assert!(register(&s, &json!({ "redirect_uris": many })).is_err());
    }

    #[test]
    fn redirects_match_exactly_except_loopback_ports() {
        let registered = vec![
            "http://127.0.0.1:33418/".to_owned(),
            "http://localhost:7777/oauth/callback".to_owned(),
            "https://vscode.dev/redirect".to_owned(),
        ];
        assert!(redirect_matches(&registered, "https://vscode.dev/redirect"));
        assert!(redirect_matches(&registered, "http://127.0.0.1:50123/"), "loopback, another port");
        assert!(redirect_matches(&registered, "http://localhost:9999/oauth/callback"));
        assert!(!redirect_matches(&registered, "http://localhost:9999/other"), "another path");
        assert!(!redirect_matches(&registered, "http://127.0.0.1:50123/?x=1"), "another query");
        assert!(!redirect_matches(&registered, "http://localhost:50123/"), "another loopback host");
        assert!(!redirect_matches(&registered, "https://vscode.dev/redirect/"), "https is exact");
        assert!(!redirect_matches(&registered, "https://vscode.dev.evil.example/redirect"));
        assert!(!redirect_matches(&registered, "http://evil.example:33418/"));
        assert!(!redirect_matches(&[], "http://127.0.0.1:1/"));
    }
}
