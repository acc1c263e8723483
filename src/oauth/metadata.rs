//! Discovery: authorization-server metadata (RFC 8414, also served as
//! OpenID configuration), protected-resource metadata (RFC 9728), and the
//! `WWW-Authenticate` challenge of a 401 at `/mcp` or `/sse` (RFC 6750 §3,
//! RFC 9728 §5.1) that points clients to them.

use serde::Serialize;

use super::context::Settings;
use super::error::ErrorCode;

/// The scopes advertised. Clients' scopes are accepted and ignored (DocSpace
/// rejects scopes it does not know, and grants the application's own when
/// none are asked for); `offline_access` makes ChatGPT ask for refresh tokens.
pub(crate) const SCOPES: [&str; 2] = ["docspace", "offline_access"];
/// Where DocSpace sends the user back.
pub(crate) const CALLBACK_PATH: &str = "/oauth/callback";
/// Where the documents send people who want to know more.
const DOCUMENTATION: &str = "https://github.com/docspace-mcp/docspace-mcp#oauth";
/// The client authentication methods of the token and revocation endpoints.
const AUTH_METHODS: [&str; 3] = ["none", "client_secret_basic", "client_secret_post"];

/// RFC 8414 §2 authorization-server metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct AuthorizationServerMetadata {
    /// This server's base URL.
    pub issuer: String,
    /// `/authorize`.
    pub authorization_endpoint: String,
    /// `/token`.
    pub token_endpoint: String,
    /// `/revoke` (RFC 7009).
    pub revocation_endpoint: String,
    /// `/introspect` (RFC 7662).
    pub introspection_endpoint: String,
    /// `code` only.
    pub response_types_supported: [&'static str; 1],
    /// `query` only.
    pub response_modes_supported: [&'static str; 1],
    /// Codes and refresh tokens.
    pub grant_types_supported: [&'static str; 2],
    /// PKCE `S256` only (RFC 7636).
    pub code_challenge_methods_supported: [&'static str; 1],
    /// Public clients, Basic and body credentials.
    pub token_endpoint_auth_methods_supported: [&'static str; 3],
    /// The same at the revocation endpoint.
    pub revocation_endpoint_auth_methods_supported: [&'static str; 3],
    /// [`SCOPES`].
    pub scopes_supported: [&'static str; 2],
    /// `iss` in authorization responses (RFC 9207).
    pub authorization_response_iss_parameter_supported: bool,
    /// Client ID metadata documents (shared-application mode only).
    pub client_id_metadata_document_supported: bool,
    /// Where to read more.
    pub service_documentation: &'static str,
    /// `/register` (RFC 7591; shared-application mode only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
}

impl AuthorizationServerMetadata {
    /// The document for these settings.
    pub(crate) fn new(settings: &Settings) -> Self {
        let shared = settings.shared_app();
        Self {
            issuer: settings.issuer.clone(),
            authorization_endpoint: settings.url("/authorize"),
            token_endpoint: settings.url("/token"),
            revocation_endpoint: settings.url("/revoke"),
            introspection_endpoint: settings.url("/introspect"),
            response_types_supported: ["code"],
            response_modes_supported: ["query"],
            grant_types_supported: ["authorization_code", "refresh_token"],
            code_challenge_methods_supported: ["S256"],
            token_endpoint_auth_methods_supported: AUTH_METHODS,
            revocation_endpoint_auth_methods_supported: AUTH_METHODS,
            scopes_supported: SCOPES,
            authorization_response_iss_parameter_supported: true,
            client_id_metadata_document_supported: shared,
            service_documentation: DOCUMENTATION,
            registration_endpoint: shared.then(|| settings.url("/register")),
        }
    }
}

/// RFC 9728 §2 protected-resource metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ProtectedResourceMetadata {
    /// The resource (an endpoint URL).
    pub resource: String,
    /// This server (the issuer, not an endpoint).
    pub authorization_servers: [String; 1],
    /// `header` only.
    pub bearer_methods_supported: [&'static str; 1],
    /// [`SCOPES`].
    pub scopes_supported: [&'static str; 2],
    /// A name for people.
    pub resource_name: &'static str,
    /// Where to read more.
    pub resource_documentation: &'static str,
}

impl ProtectedResourceMetadata {
    /// The document for `resource`.
    pub(crate) fn new(settings: &Settings, resource: &str) -> Self {
        Self {
            resource: resource.to_owned(),
            authorization_servers: [settings.issuer.clone()],
            bearer_methods_supported: ["header"],
            scopes_supported: SCOPES,
            resource_name: "ONLYOFFICE DocSpace (docspace-mcp)",
            resource_documentation: DOCUMENTATION,
        }
    }
}

/// The `WWW-Authenticate` value of a 401 from the endpoint at `path` (`/mcp`,
/// `/sse`), with `invalid_token` and `error` as its description when a token
/// was given and refused.
pub(crate) fn challenge(settings: &Settings, path: &str, error: Option<&str>) -> String {
    let mut value = String::from("Bearer ");
    if let Some(description) = error {
        let description: String = description.chars().filter(|c| *c != '"' && *c != '\\').collect();
        value.push_str(&format!(
            "error=\"{}\", error_description=\"{description}\", ",
            ErrorCode::InvalidToken.as_str()
        ));
    }
    value.push_str(&format!(
        "resource_metadata=\"{}/.well-known/oauth-protected-resource{path}\", scope=\"{}\"",
        settings.issuer,
        SCOPES.join(" ")
    ));
    value
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Value, json};

    use super::*;
    use crate::auth::Secret;
    use crate::oauth::context::App;

    fn settings(shared: bool) -> Settings {
        Settings {
            upstream: "http://127.0.0.1:1/".into(),
            app: shared.then(|| App { client_id: "app".into(), client_secret: Secret::new("s") }),
            issuer: "http://127.0.0.1:2".into(),
            resources: vec!["http://127.0.0.1:2/mcp".into()],
            token_ttl: Duration::from_secs(60),
            state_ttl: Duration::from_secs(60),
            introspection_ttl: Duration::from_secs(30),
        }
    }

    /// The `json!` the typed document replaces, member for member.
    fn old_server_metadata(s: &Settings) -> Value {
        let url = |p: &str| format!("{}{p}", s.issuer);
        let mut m = json!({
            "issuer": s.issuer,
            "authorization_endpoint": url("/authorize"),
            "token_endpoint": url("/token"),
            "revocation_endpoint": url("/revoke"),
            "introspection_endpoint": url("/introspect"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "scopes_supported": SCOPES,
            "authorization_response_iss_parameter_supported": true,
            "client_id_metadata_document_supported": s.shared_app(),
            "service_documentation": "https://github.com/docspace-mcp/docspace-mcp#oauth",
        });
        if s.shared_app()
            && let Some(obj) = m.as_object_mut()
        {
            obj.insert("registration_endpoint".into(), Value::String(url("/register")));
        }
        m
    }

    #[test]
    fn the_documents_are_the_same_json_as_before() {
        for shared in [true, false] {
            let s = settings(shared);
            let typed = serde_json::to_string(&AuthorizationServerMetadata::new(&s)).unwrap();
            assert_eq!(typed, old_server_metadata(&s).to_string(), "shared: {shared}");
        }
        let s = settings(true);
        let old = json!({
            "resource": "http://127.0.0.1:2/sse",
            "authorization_servers": [s.issuer],
            "bearer_methods_supported": ["header"],
            "scopes_supported": SCOPES,
            "resource_name": "ONLYOFFICE DocSpace (docspace-mcp)",
            "resource_documentation": "https://github.com/docspace-mcp/docspace-mcp#oauth",
        });
        let typed = ProtectedResourceMetadata::new(&s, "http://127.0.0.1:2/sse");
        assert_eq!(serde_json::to_string(&typed).unwrap(), old.to_string());
    }

    #[test]
    fn the_challenge_names_the_metadata_and_the_refusal() {
        let s = settings(true);
        assert_eq!(
            challenge(&s, "/mcp", None),
            "Bearer resource_metadata=\"http://127.0.0.1:2/.well-known/oauth-protected-resource/mcp\", \
             scope=\"docspace offline_access\""
        );
        let c = challenge(&s, "/sse", Some("the \"token\" is \\ bad"));
        assert!(c.starts_with("Bearer error=\"invalid_token\", error_description=\"the token is  bad\", "), "{c}");
    }
}
