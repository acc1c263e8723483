//! The proxy's steps, free of any HTTP framework: discovery documents, the
//! authorization request and its consent, DocSpace's callback, the token
//! endpoint (code and refresh), revocation, and the check of a bearer token
//! on `/mcp` and `/sse`.
//!
//! Everything a later step needs travels sealed ([`super::seal`]): the
//! pending request in the consent form, the state sent to DocSpace, the code
//! handed to the client, the client's tokens. Any replica with the same keys
//! serves any step; the only memory is per replica and only shortens attacks
//! (single use of states and codes, revocations, a 30-second introspection
//! cache): DocSpace's own single-use codes and revocation back them up.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use docspace_mcp_client::reqwest;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::cimd;
use super::pkce::{self, same};
use super::registration::{self, Registration};
use super::seal::{self, Purpose, Sealer};
use crate::auth::Secret;

/// The scopes advertised. Clients' scopes are accepted and ignored (DocSpace
/// rejects scopes it does not know, and grants the application's own when
/// none are asked for); `offline_access` makes ChatGPT ask for refresh tokens.
pub const SCOPES: [&str; 2] = ["docspace", "offline_access"];
/// Where DocSpace sends the user back.
pub const CALLBACK_PATH: &str = "/oauth/callback";
/// How long a refresh token this proxy issues lasts (DocSpace may end it sooner).
const REFRESH_TTL: Duration = Duration::from_secs(30 * 86_400);
/// How long a remembered consent lasts.
const CONSENT_TTL: Duration = Duration::from_secs(30 * 86_400);
/// How many clients one consent cookie remembers.
const CONSENT_CLIENTS: usize = 20;
/// How long an introspection answer is reused.
const INTROSPECTION_TTL: Duration = Duration::from_secs(30);
/// How long a fetched client metadata document is reused.
const DOCUMENT_TTL: Duration = Duration::from_secs(300);
/// The longest `client_id` (own applications) or `state` carried through the flow.
const MAX_PARAMETER_LEN: usize = 1024;
/// Entries kept in each per-replica memory before the oldest are dropped.
const MEMORY_LIMIT: usize = 100_000;

/// The DocSpace OAuth application the proxy serves every client through.
#[derive(Debug, Clone)]
pub struct App {
    /// Its client id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: Secret,
}

/// How the proxy is set up.
#[derive(Debug, Clone)]
pub struct Settings {
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
}

/// An OAuth error answer (RFC 6749 §5.2 and relatives).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// HTTP status.
    pub status: u16,
    /// The `error` code.
    pub error: String,
    /// `error_description`.
    pub description: String,
}

impl OAuthError {
    /// An error with its HTTP status, RFC 6749 code and description.
    pub fn new(status: u16, error: &str, description: impl Into<String>) -> Self {
        Self { status, error: error.to_owned(), description: description.into() }
    }

    fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(400, "invalid_grant", description)
    }

    /// `401 invalid_client`.
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(401, "invalid_client", description)
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({"error": self.error, "error_description": self.description})
    }
}

/// What an authorization step answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Show the consent page.
    Consent(ConsentPage),
    /// Redirect the browser (to DocSpace, or back to the client).
    Redirect {
        /// Where.
        location: String,
        /// A consent cookie to set.
        cookie: Option<String>,
    },
    /// Say what is wrong on a page: never redirect to a URI not yet checked.
    Refused {
        /// HTTP status.
        status: u16,
        /// For the person in front of the browser.
        message: String,
    },
}

/// What the consent page shows and carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentPage {
    /// The client's name, if it gave one.
    pub client_name: Option<String>,
    /// How the client is identified (its metadata URL, or a short form of its id).
    pub client_label: String,
    /// Where the code will go.
    pub redirect_uri: String,
    /// The DocSpace sign-in the user is sent to.
    pub portal: String,
    /// The sealed pending request (hidden form field).
    pub request: String,
    /// The CSRF token (hidden form field, and the cookie's value).
    pub csrf: String,
}

/// A bearer token that passed every check.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// DocSpace's access token.
    pub upstream: Secret,
    /// Who it acts for (DocSpace's `sub`).
    pub subject: String,
    /// The client it was issued to.
    pub client_id: String,
    /// Its audience.
    pub audience: String,
    /// When it expires (Unix seconds).
    pub expires_at: u64,
}

/// Why a bearer token is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// 401 `invalid_token`.
    Invalid(String),
    /// DocSpace's authorization server cannot be asked (503).
    Unavailable(String),
}

/// What the client asked for, carried sealed from step to step.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ClientRequest {
    /// Client id.
    c: String,
    /// Redirect URI.
    r: String,
    /// The client's state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<String>,
    /// The client's PKCE challenge.
    ch: String,
    /// The resource (audience).
    res: String,
}

/// The authorization request waiting for consent, with its CSRF token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    #[serde(flatten)]
    q: ClientRequest,
    x: String,
}

/// The state sent to DocSpace: the client's request and the proxy's verifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct UpstreamState {
    #[serde(flatten)]
    q: ClientRequest,
    v: String,
}

/// The code handed to the client: DocSpace's code and what its exchange needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Code {
    #[serde(flatten)]
    q: ClientRequest,
    u: String,
    v: String,
}

/// An access or refresh token handed to the client: DocSpace's token,
/// the audience, the client, and (own-application mode) its secret, needed
/// to introspect, refresh and revoke.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Token {
    t: String,
    a: String,
    c: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k: Option<String>,
}

#[derive(Debug, Clone)]
struct Introspection {
    active: bool,
    subject: String,
}

/// Client credentials given at the token or revocation endpoint.
#[derive(Debug, Clone, Default)]
pub struct ClientAuth {
    /// From HTTP Basic (id, secret).
    pub basic: Option<(String, String)>,
}

/// The proxy.
pub struct Proxy {
    settings: Settings,
    tokens: Sealer,
    states: Sealer,
    http: reqwest::Client,
    documents_http: reqwest::Client,
    used: Mutex<HashMap<Vec<u8>, Instant>>,
    revoked: Mutex<HashMap<Vec<u8>, Instant>>,
    introspected: Mutex<HashMap<Vec<u8>, (Instant, Introspection)>>,
    documents: Mutex<HashMap<String, (Instant, Registration)>>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy").field("issuer", &self.settings.issuer).finish_non_exhaustive()
    }
}

fn digest(value: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, value.as_bytes()).as_ref().to_vec()
}

fn short_digest(value: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest(value).get(..12).unwrap_or_default())
}

/// Adds `pairs` to `uri`'s query (keeping what it has).
pub fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let (base, fragment) = match uri.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (uri, None),
    };
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        query.append_pair(k, v);
    }
    let mut out = base.to_owned();
    if !pairs.is_empty() {
        out.push(if base.contains('?') { '&' } else { '?' });
        out.push_str(&query.finish());
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Remembers `key` until `until`; false when it was already there.
fn remember(memory: &Mutex<HashMap<Vec<u8>, Instant>>, key: Vec<u8>, until: Instant) -> bool {
    let Ok(mut m) = memory.lock() else { return true };
    let now = Instant::now();
    if m.len() >= MEMORY_LIMIT {
        m.retain(|_, t| *t > now);
    }
    if m.get(&key).is_some_and(|t| *t > now) {
        return false;
    }
    m.insert(key, until);
    true
}

fn contains(memory: &Mutex<HashMap<Vec<u8>, Instant>>, key: &[u8]) -> bool {
    memory.lock().is_ok_and(|m| m.get(key).is_some_and(|t| *t > Instant::now()))
}

impl Proxy {
    /// A proxy sealing with `token_key` (codes, tokens) and `state_key`
    /// (states, client ids, consent), talking to DocSpace with `http` and
    /// fetching client metadata documents with `documents_http` (which must
    /// refuse private addresses and redirects).
    pub fn new(
        settings: Settings,
        token_key: &str,
        state_key: &str,
        http: reqwest::Client,
        documents_http: reqwest::Client,
    ) -> Result<Self, seal::Error> {
        Ok(Self {
            tokens: Sealer::new(token_key)?,
            states: Sealer::new(state_key)?,
            settings,
            http,
            documents_http,
            used: Mutex::new(HashMap::new()),
            revoked: Mutex::new(HashMap::new()),
            introspected: Mutex::new(HashMap::new()),
            documents: Mutex::new(HashMap::new()),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether clients register here (shared application) or bring their own.
    pub fn shared_app(&self) -> bool {
        self.settings.app.is_some()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.issuer)
    }

    /// RFC 8414 authorization-server metadata (also served as OpenID configuration).
    pub fn authorization_server_metadata(&self) -> Value {
        let mut m = json!({
            "issuer": self.settings.issuer,
            "authorization_endpoint": self.url("/authorize"),
            "token_endpoint": self.url("/token"),
            "revocation_endpoint": self.url("/revoke"),
            "introspection_endpoint": self.url("/introspect"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "scopes_supported": SCOPES,
            "authorization_response_iss_parameter_supported": true,
            "client_id_metadata_document_supported": self.shared_app(),
            "service_documentation": "https://github.com/docspace-mcp/docspace-mcp#oauth",
        });
        if self.shared_app()
            && let Some(obj) = m.as_object_mut()
        {
            obj.insert("registration_endpoint".into(), Value::String(self.url("/register")));
        }
        m
    }

    /// RFC 9728 protected-resource metadata for `resource`.
    pub fn protected_resource_metadata(&self, resource: &str) -> Value {
        json!({
            "resource": resource,
            "authorization_servers": [self.settings.issuer],
            "bearer_methods_supported": ["header"],
            "scopes_supported": SCOPES,
            "resource_name": "ONLYOFFICE DocSpace (docspace-mcp)",
            "resource_documentation": "https://github.com/docspace-mcp/docspace-mcp#oauth",
        })
    }

    /// The `WWW-Authenticate` value of a 401 from the endpoint at `path`
    /// (`/mcp`, `/sse`), with `error` when a token was given and refused.
    pub fn challenge(&self, path: &str, error: Option<&str>) -> String {
        let mut value = String::from("Bearer ");
        if let Some(description) = error {
            let description: String = description.chars().filter(|c| *c != '"' && *c != '\\').collect();
            value.push_str(&format!("error=\"invalid_token\", error_description=\"{description}\", "));
        }
        value.push_str(&format!(
            "resource_metadata=\"{}/.well-known/oauth-protected-resource{path}\", scope=\"{}\"",
            self.settings.issuer,
            SCOPES.join(" ")
        ));
        value
    }

    /// The registration of a client of the shared application.
    async fn registration(&self, client_id: &str) -> Result<Registration, String> {
        if cimd::is_document_url(client_id) {
            let cached =
                self.documents.lock().ok().and_then(|d| {
                    d.get(client_id).filter(|(at, _)| at.elapsed() < DOCUMENT_TTL).map(|(_, r)| r.clone())
                });
            if let Some(r) = cached {
                return Ok(r);
            }
            let r = cimd::fetch(&self.documents_http, client_id).await?;
            if let Ok(mut d) = self.documents.lock() {
                if d.len() >= 1000 {
                    d.clear();
                }
                d.insert(client_id.to_owned(), (Instant::now(), r.clone()));
            }
            return Ok(r);
        }
        registration::client(&self.states, client_id).ok_or_else(|| {
            "this client is not registered here (or its registration expired, or the server's keys changed): \
             remove the server from your MCP client and add it again so that it registers anew"
                .to_owned()
        })
    }

    /// Registers a client (shared-application mode): the registration response.
    pub fn register(&self, request: &Value) -> Result<Value, OAuthError> {
        if !self.shared_app() {
            return Err(OAuthError::new(
                404,
                "invalid_request",
                "this server does not register clients: enter the client id and secret of your DocSpace OAuth \
                 application in your MCP client",
            ));
        }
        registration::register(&self.states, request)
            .map(|(_, response)| response)
            .map_err(|e| OAuthError::new(400, e.code(), e.to_string()))
    }

    /// `GET /authorize`: the consent page, or a redirect when this browser
    /// already consented for this client (`consent` cookie), or a refusal.
    pub async fn authorize(&self, params: &HashMap<String, String>, consent: Option<&str>) -> Step {
        let get = |k: &str| params.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let refuse = |status: u16, message: String| Step::Refused { status, message };
        let Some(client_id) = get("client_id") else {
            return refuse(400, "client_id is required".into());
        };
        if client_id.len() > MAX_PARAMETER_LEN {
            return refuse(400, "client_id is too long".into());
        }
        let registration = if self.shared_app() {
            match self.registration(&client_id).await {
                Ok(r) => Some(r),
                Err(why) => return refuse(400, why),
            }
        } else {
            None
        };
        let redirect_uri = match (get("redirect_uri"), &registration) {
            (Some(uri), Some(reg)) if registration::redirect_matches(&reg.redirect_uris, &uri) => uri,
            (Some(uri), Some(_)) => {
                return refuse(400, format!("redirect_uri {uri} is not one this client registered"));
            }
            (Some(uri), None) => match registration::acceptable_redirect_uri(&uri) {
                Ok(()) => uri,
                Err(why) => return refuse(400, format!("redirect_uri refused: {why}")),
            },
            (None, Some(reg)) if reg.redirect_uris.len() == 1 => reg.redirect_uris.concat(),
            (None, _) => return refuse(400, "redirect_uri is required".into()),
        };
        let state = get("state");
        let too_long = state.as_ref().is_some_and(|s| s.len() > MAX_PARAMETER_LEN);
        let state = if too_long { None } else { state };
        let fail = |error: &str, description: &str| Step::Redirect {
            location: self.client_redirect(
                &redirect_uri,
                &[("error", error), ("error_description", description)],
                &state,
            ),
            cookie: None,
        };
        if too_long {
            return fail("invalid_request", "state is longer than 1024 characters");
        }
        if get("response_type").as_deref() != Some("code") {
            return fail("unsupported_response_type", "response_type must be code");
        }
        let Some(challenge) = get("code_challenge") else {
            return fail("invalid_request", "code_challenge is required (PKCE with S256)");
        };
        if get("code_challenge_method").as_deref() != Some("S256") {
            return fail("invalid_request", "code_challenge_method must be S256");
        }
        if challenge.len() != 43 || !challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return fail("invalid_request", "code_challenge is not an S256 challenge");
        }
        let resource = match self.resource(get("resource").as_deref()) {
            Ok(r) => r,
            Err(e) => return fail("invalid_target", &e),
        };
        let q = ClientRequest { c: client_id.clone(), r: redirect_uri.clone(), s: state, ch: challenge, res: resource };
        if consent.is_some_and(|c| self.consented(c, &client_id)) {
            return self.upstream_redirect(q, None);
        }
        let Ok(csrf) = pkce::verifier() else {
            return refuse(500, "the system's random source failed".into());
        };
        let pending = Pending { q, x: csrf.clone() };
        let request = match self.states.seal(Purpose::Pending, &pending, self.settings.state_ttl) {
            Ok(r) => r,
            Err(e) => return refuse(500, e.to_string()),
        };
        let client_label = if cimd::is_document_url(&client_id) {
            client_id.clone()
        } else if self.shared_app() {
            format!("registered client {}", short_digest(&client_id))
        } else {
            client_id.clone()
        };
        Step::Consent(ConsentPage {
            client_name: registration.and_then(|r| r.client_name),
            client_label,
            redirect_uri,
            portal: self.settings.upstream.trim_end_matches('/').to_owned(),
            request,
            csrf,
        })
    }

    /// The consent form's answer: `request` and `csrf` from the form, the
    /// CSRF cookie, the consent cookie so far, and the decision.
    pub fn consent(
        &self,
        form: &HashMap<String, String>,
        csrf_cookie: Option<&str>,
        consent_cookie: Option<&str>,
    ) -> Step {
        let refuse = |status: u16, message: &str| Step::Refused { status, message: message.to_owned() };
        let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
        let pending: Pending = match self.states.open(Purpose::Pending, field("request")) {
            Ok(p) => p,
            Err(seal::Error::Expired) => {
                return refuse(400, "this consent page has expired: start the sign-in again from your MCP client");
            }
            Err(_) => {
                return refuse(400, "this consent form is not valid: start the sign-in again from your MCP client");
            }
        };
        let csrf_ok = !pending.x.is_empty()
            && same(field("csrf").as_bytes(), pending.x.as_bytes())
            && csrf_cookie.is_some_and(|c| same(c.as_bytes(), pending.x.as_bytes()));
        if !csrf_ok {
            return refuse(403, "the consent form did not come from this server's page (CSRF check failed)");
        }
        if !remember(&self.used, digest(field("request")), Instant::now() + self.settings.state_ttl) {
            return refuse(400, "this consent form was already submitted: start the sign-in again");
        }
        match field("decision") {
            "allow" => {
                let cookie = self.remember_consent(consent_cookie, &pending.q.c);
                self.upstream_redirect(pending.q, cookie)
            }
            "deny" => Step::Redirect {
                location: self.client_redirect(
                    &pending.q.r,
                    &[("error", "access_denied"), ("error_description", "the user declined")],
                    &pending.q.s,
                ),
                cookie: None,
            },
            _ => refuse(400, "decision must be allow or deny"),
        }
    }

    /// Sends the browser to DocSpace with the proxy's own PKCE and sealed state.
    fn upstream_redirect(&self, q: ClientRequest, cookie: Option<String>) -> Step {
        let refuse = |message: String| Step::Refused { status: 500, message };
        let Ok(verifier) = pkce::verifier() else {
            return refuse("the system's random source failed".into());
        };
        let state = UpstreamState { q, v: verifier };
        let sealed = match self.states.seal(Purpose::State, &state, self.settings.state_ttl) {
            Ok(s) => s,
            Err(e) => return refuse(e.to_string()),
        };
        let client_id = self.settings.app.as_ref().map_or(state.q.c.as_str(), |a| a.client_id.as_str());
        let challenge = pkce::challenge(&state.v);
        let callback = self.url(CALLBACK_PATH);
        let location = with_query(
            &format!("{}oauth2/authorize", self.settings.upstream),
            &[
                ("response_type", "code"),
                ("client_id", client_id),
                ("redirect_uri", &callback),
                ("state", &sealed),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        );
        Step::Redirect { location, cookie }
    }

    /// The client's redirect URI with `pairs`, its `state` and `iss`.
    fn client_redirect(&self, redirect_uri: &str, pairs: &[(&str, &str)], state: &Option<String>) -> String {
        let mut all: Vec<(&str, &str)> = pairs.to_vec();
        if let Some(s) = state {
            all.push(("state", s));
        }
        all.push(("iss", &self.settings.issuer));
        with_query(redirect_uri, &all)
    }

    /// `GET /oauth/callback`: DocSpace's answer, relayed to the client.
    pub fn callback(&self, params: &HashMap<String, String>) -> Step {
        let get = |k: &str| params.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let refuse = |status: u16, message: &str| Step::Refused { status, message: message.to_owned() };
        let sealed = get("state").unwrap_or_default();
        let state: UpstreamState = match self.states.open(Purpose::State, &sealed) {
            Ok(s) => s,
            Err(seal::Error::Expired) => {
                return refuse(400, "this sign-in took too long: start it again from your MCP client");
            }
            Err(_) => return refuse(400, "this sign-in's state is not valid: start it again from your MCP client"),
        };
        if !remember(&self.used, digest(&sealed), Instant::now() + self.settings.state_ttl) {
            return refuse(400, "this sign-in was already completed: start it again from your MCP client");
        }
        let redirect = |pairs: &[(&str, &str)]| Step::Redirect {
            location: self.client_redirect(&state.q.r, pairs, &state.q.s),
            cookie: None,
        };
        if let Some(error) = get("error") {
            let error: String =
                error.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect::<String>();
            let description: String = get("error_description")
                .unwrap_or_else(|| "DocSpace refused the authorization".into())
                .chars()
                .filter(|c| !c.is_control())
                .take(300)
                .collect();
            tracing::info!(error = %error, "DocSpace's authorization server answered with an error; relayed to the client");
            return redirect(&[("error", &error), ("error_description", &description)]);
        }
        let Some(upstream_code) = get("code") else {
            return redirect(&[("error", "server_error"), ("error_description", "DocSpace returned no code")]);
        };
        let code = Code { q: state.q.clone(), u: upstream_code, v: state.v.clone() };
        match self.tokens.seal(Purpose::Code, &code, self.settings.state_ttl) {
            Ok(sealed_code) => redirect(&[("code", &sealed_code)]),
            Err(_) => redirect(&[("error", "server_error"), ("error_description", "cannot issue a code")]),
        }
    }

    fn resource(&self, requested: Option<&str>) -> Result<String, String> {
        let Some(requested) = requested else {
            return Ok(self.settings.resources.first().cloned().unwrap_or_else(|| self.settings.issuer.clone()));
        };
        let trimmed = requested.trim_end_matches('/');
        if trimmed.eq_ignore_ascii_case(&self.settings.issuer) {
            return Ok(self.settings.issuer.clone());
        }
        self.settings
            .resources
            .iter()
            .find(|r| r.eq_ignore_ascii_case(trimmed))
            .cloned()
            .ok_or_else(|| format!("resource {requested} is not served here"))
    }

    fn audience_ok(&self, audience: &str) -> bool {
        audience == self.settings.issuer || self.settings.resources.iter().any(|r| r == audience)
    }

    /// Who the client at the token or revocation endpoint is, and the
    /// DocSpace credentials to use for it.
    async fn client(
        &self,
        form: &HashMap<String, String>,
        auth: &ClientAuth,
        required: bool,
    ) -> Result<Option<(String, (String, String))>, OAuthError> {
        let field = |k: &str| form.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let (client_id, secret) = match &auth.basic {
            Some((id, secret)) => {
                if field("client_secret").is_some() {
                    return Err(OAuthError::new(
                        400,
                        "invalid_request",
                        "client credentials given twice (Basic and body)",
                    ));
                }
                if field("client_id").is_some_and(|c| &c != id) {
                    return Err(OAuthError::new(
                        400,
                        "invalid_request",
                        "client_id differs from the Basic credentials",
                    ));
                }
                (id.clone(), Some(secret.clone()).filter(|s| !s.is_empty()))
            }
            None => match field("client_id") {
                Some(id) => (id, field("client_secret")),
                None if required => return Err(OAuthError::invalid_client("client_id is required")),
                None => return Ok(None),
            },
        };
        match &self.settings.app {
            Some(app) => {
                if let Err(why) = self.registration(&client_id).await {
                    return Err(OAuthError::invalid_client(why));
                }
                Ok(Some((client_id, (app.client_id.clone(), app.client_secret.expose().to_owned()))))
            }
            None => {
                let Some(secret) = secret else {
                    return Err(OAuthError::invalid_client(
                        "send the client secret of your DocSpace OAuth application (client_secret_basic or client_secret_post)",
                    ));
                };
                Ok(Some((client_id.clone(), (client_id, secret))))
            }
        }
    }

    /// `POST /token`: the token response, without `scope`.
    pub async fn token(&self, form: &HashMap<String, String>, auth: &ClientAuth) -> Result<Value, OAuthError> {
        let field = |k: &str| form.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let Some((client_id, credentials)) = self.client(form, auth, true).await? else {
            return Err(OAuthError::invalid_client("client_id is required"));
        };
        let own_secret = self.settings.app.is_none().then(|| credentials.1.clone());
        match field("grant_type").as_deref() {
            Some("authorization_code") => {
                let sealed =
                    field("code").ok_or_else(|| OAuthError::new(400, "invalid_request", "code is required"))?;
                let code: Code = self
                    .tokens
                    .open(Purpose::Code, &sealed)
                    .map_err(|_| OAuthError::invalid_grant("the code is not valid or has expired"))?;
                if code.q.c != client_id {
                    return Err(OAuthError::invalid_grant("the code was issued to another client"));
                }
                if field("redirect_uri").is_some_and(|r| r != code.q.r) {
                    return Err(OAuthError::invalid_grant("redirect_uri differs from the authorization request's"));
                }
                let verifier = field("code_verifier")
                    .ok_or_else(|| OAuthError::new(400, "invalid_request", "code_verifier is required (PKCE)"))?;
                if !pkce::verify(&verifier, &code.q.ch) {
                    return Err(OAuthError::invalid_grant("PKCE verification failed: code_verifier does not match"));
                }
                if let Some(r) = field("resource")
                    && self.resource(Some(&r)).map_err(|e| OAuthError::new(400, "invalid_target", e))? != code.q.res
                {
                    return Err(OAuthError::new(
                        400,
                        "invalid_target",
                        "resource differs from the authorization request's",
                    ));
                }
                if !remember(&self.used, digest(&sealed), Instant::now() + self.settings.state_ttl) {
                    return Err(OAuthError::invalid_grant("the code was already used"));
                }
                let callback = self.url(CALLBACK_PATH);
                let exchanged = self
                    .upstream(
                        "oauth2/token",
                        &credentials,
                        &[
                            ("grant_type", "authorization_code"),
                            ("code", &code.u),
                            ("redirect_uri", &callback),
                            ("code_verifier", &code.v),
                        ],
                    )
                    .await
                    .and_then(|answer| self.issue(&answer, &code.q.res, &client_id, own_secret, None));
                // When DocSpace gave no usable answer, the client may try the code again.
                if exchanged.as_ref().is_err_and(|e| e.status >= 500)
                    && let Ok(mut used) = self.used.lock()
                {
                    used.remove(&digest(&sealed));
                }
                exchanged
            }
            Some("refresh_token") => {
                let sealed = field("refresh_token")
                    .ok_or_else(|| OAuthError::new(400, "invalid_request", "refresh_token is required"))?;
                let refresh: Token = self
                    .tokens
                    .open(Purpose::RefreshToken, &sealed)
                    .map_err(|_| OAuthError::invalid_grant("the refresh token is not valid or has expired"))?;
                if refresh.c != client_id {
                    return Err(OAuthError::invalid_grant("the refresh token was issued to another client"));
                }
                if contains(&self.revoked, &digest(&refresh.t)) {
                    return Err(OAuthError::invalid_grant("the refresh token has been revoked"));
                }
                let answer = self
                    .upstream(
                        "oauth2/token",
                        &credentials,
                        &[("grant_type", "refresh_token"), ("refresh_token", &refresh.t)],
                    )
                    .await?;
                self.issue(&answer, &refresh.a, &client_id, own_secret, Some(&refresh.t))
            }
            Some(other) => {
                Err(OAuthError::new(400, "unsupported_grant_type", format!("grant_type `{other}` is not supported")))
            }
            None => Err(OAuthError::new(400, "invalid_request", "grant_type is required")),
        }
    }

    /// The proxy's tokens for DocSpace's token response.
    fn issue(
        &self,
        answer: &Value,
        audience: &str,
        client_id: &str,
        own_secret: Option<String>,
        old_refresh: Option<&str>,
    ) -> Result<Value, OAuthError> {
        let bad = || OAuthError::new(502, "server_error", "DocSpace's token response has no access_token");
        let access = answer.get("access_token").and_then(Value::as_str).ok_or_else(bad)?;
        let upstream_ttl = answer.get("expires_in").and_then(Value::as_u64).unwrap_or(3600);
        let ttl = upstream_ttl.min(self.settings.token_ttl.as_secs()).max(1);
        let token =
            |t: &str| Token { t: t.to_owned(), a: audience.to_owned(), c: client_id.to_owned(), k: own_secret.clone() };
        let sealed = self
            .tokens
            .seal(Purpose::AccessToken, &token(access), Duration::from_secs(ttl))
            .map_err(|e| OAuthError::new(500, "server_error", e.to_string()))?;
        let mut response = json!({"access_token": sealed, "token_type": "Bearer", "expires_in": ttl});
        let refresh = answer.get("refresh_token").and_then(Value::as_str).or(old_refresh);
        if let Some(refresh) = refresh {
            let sealed = self
                .tokens
                .seal(Purpose::RefreshToken, &token(refresh), REFRESH_TTL)
                .map_err(|e| OAuthError::new(500, "server_error", e.to_string()))?;
            if let Some(obj) = response.as_object_mut() {
                obj.insert("refresh_token".into(), Value::String(sealed));
            }
        }
        Ok(response)
    }

    /// A form POST to DocSpace's authorization server with the client
    /// credentials in the body (`client_secret_post`).
    async fn upstream(
        &self,
        endpoint: &str,
        credentials: &(String, String),
        params: &[(&str, &str)],
    ) -> Result<Value, OAuthError> {
        let mut form: Vec<(&str, &str)> = params.to_vec();
        form.push(("client_id", &credentials.0));
        form.push(("client_secret", &credentials.1));
        let url = format!("{}{endpoint}", self.settings.upstream);
        let response = self.http.post(&url).form(&form).send().await.map_err(|e| {
            tracing::warn!("DocSpace's authorization server is unreachable ({url}): {e}");
            OAuthError::new(502, "temporarily_unavailable", "DocSpace's authorization server cannot be reached")
        })?;
        let status = response.status().as_u16();
        let body: Option<Value> = response.bytes().await.ok().and_then(|b| serde_json::from_slice(&b).ok());
        let error = body.as_ref().and_then(|b| b.get("error")).and_then(Value::as_str).map(str::to_owned);
        match (status, body, error) {
            (200..=299, Some(body), None) => Ok(body),
            (400..=499, Some(body), Some(error)) => {
                let description = body.get("error_description").and_then(Value::as_str).unwrap_or_default().to_owned();
                tracing::info!(status, error = %error, "DocSpace's authorization server refused {endpoint}: {description}");
                if error == "invalid_client" && self.shared_app() {
                    // Our own application was refused: the client cannot fix that by registering again.
                    return Err(OAuthError::new(
                        502,
                        "server_error",
                        "DocSpace refused this server's OAuth application (check DOCSPACE_OAUTH_CLIENT_ID and _SECRET)",
                    ));
                }
                let status = if status == 401 { 401 } else { 400 };
                Err(OAuthError { status, error, description })
            }
            (status, _, _) => {
                tracing::warn!(status, "DocSpace's authorization server answered {endpoint} unexpectedly");
                Err(OAuthError::new(
                    502,
                    "server_error",
                    format!("DocSpace's authorization server answered HTTP {status} without a usable body"),
                ))
            }
        }
    }

    /// `POST /revoke` (RFC 7009): revokes the token here and at DocSpace;
    /// an unknown token is not an error.
    pub async fn revoke(&self, form: &HashMap<String, String>, auth: &ClientAuth) -> Result<(), OAuthError> {
        let client = self.client(form, auth, false).await?;
        let value = form.get("token").map(|t| t.trim().to_owned()).unwrap_or_default();
        if value.is_empty() {
            return Err(OAuthError::new(400, "invalid_request", "token is required"));
        }
        let hint = form.get("token_type_hint").map(String::as_str);
        let order = if hint == Some("refresh_token") {
            [Purpose::RefreshToken, Purpose::AccessToken]
        } else {
            [Purpose::AccessToken, Purpose::RefreshToken]
        };
        let Some((purpose, token)) =
            order.into_iter().find_map(|p| self.tokens.open::<Token>(p, &value).ok().map(|t| (p, t)))
        else {
            return Ok(());
        };
        if client.as_ref().is_some_and(|(id, _)| *id != token.c) {
            return Ok(());
        }
        let key = digest(&token.t);
        let ttl = if purpose == Purpose::RefreshToken { REFRESH_TTL } else { self.settings.token_ttl };
        remember(&self.revoked, key.clone(), Instant::now() + ttl);
        if let Ok(mut cache) = self.introspected.lock() {
            cache.remove(&key);
        }
        let credentials = self.credentials_for(&token);
        let hint = if purpose == Purpose::RefreshToken { "refresh_token" } else { "access_token" };
        if let Err(e) =
            self.upstream("oauth2/revoke", &credentials, &[("token", &token.t), ("token_type_hint", hint)]).await
        {
            tracing::warn!("DocSpace did not confirm a revocation (revoked here all the same): {}", e.description);
        }
        Ok(())
    }

    /// `POST /oauth/introspect` (RFC 7662; the reference server's endpoint): whether
    /// a token this proxy issued is active, checked as `/mcp` checks it.
    pub async fn introspect(&self, form: &HashMap<String, String>, auth: &ClientAuth) -> Result<Value, OAuthError> {
        let client = self.client(form, auth, false).await?;
        let value = form.get("token").map(|t| t.trim().to_owned()).unwrap_or_default();
        if value.is_empty() {
            return Err(OAuthError::new(400, "invalid_request", "token is required"));
        }
        match self.authenticate(&value).await {
            Ok(a) if client.as_ref().is_none_or(|(id, _)| *id == a.client_id) => Ok(json!({
                "active": true,
                "token_type": "Bearer",
                "exp": a.expires_at,
                "aud": a.audience,
                "sub": a.subject,
                "iss": self.settings.issuer,
            })),
            Ok(_) | Err(AuthError::Invalid(_)) => Ok(json!({"active": false})),
            Err(AuthError::Unavailable(why)) => Err(OAuthError::new(503, "temporarily_unavailable", why)),
        }
    }

    fn credentials_for(&self, token: &Token) -> (String, String) {
        match &self.settings.app {
            Some(app) => (app.client_id.clone(), app.client_secret.expose().to_owned()),
            None => (token.c.clone(), token.k.clone().unwrap_or_default()),
        }
    }

    /// Checks a bearer token presented to `/mcp` or `/sse`: sealed by this
    /// proxy's key, unexpired, for this server, not revoked here, and active
    /// at DocSpace (asked at most every 30 seconds per token).
    pub async fn authenticate(&self, bearer: &str) -> Result<Authenticated, AuthError> {
        let (token, expires_at): (Token, u64) =
            self.tokens.open_expiring(Purpose::AccessToken, bearer).map_err(|e| {
                AuthError::Invalid(match e {
                    seal::Error::Expired => "the access token has expired".into(),
                    _ => "the access token was not issued by this server".into(),
                })
            })?;
        if !self.audience_ok(&token.a) {
            return Err(AuthError::Invalid(format!("the access token was issued for another resource ({})", token.a)));
        }
        let key = digest(&token.t);
        if contains(&self.revoked, &key) {
            return Err(AuthError::Invalid("the access token has been revoked".into()));
        }
        let cached = self
            .introspected
            .lock()
            .ok()
            .and_then(|c| c.get(&key).filter(|(at, _)| at.elapsed() < INTROSPECTION_TTL).map(|(_, i)| i.clone()));
        let introspection = match cached {
            Some(i) => i,
            None => {
                let credentials = self.credentials_for(&token);
                let answer = self
                    .upstream(
                        "oauth2/introspect",
                        &credentials,
                        &[("token", &token.t), ("token_type_hint", "access_token")],
                    )
                    .await
                    .map_err(|e| {
                        AuthError::Unavailable(format!("cannot check the token with DocSpace: {}", e.description))
                    })?;
                let i = Introspection {
                    active: answer.get("active").and_then(Value::as_bool).unwrap_or(false),
                    subject: answer
                        .get("sub")
                        .and_then(Value::as_str)
                        .map_or_else(|| format!("token:{}", short_digest(&token.t)), str::to_owned),
                };
                if let Ok(mut c) = self.introspected.lock() {
                    if c.len() >= MEMORY_LIMIT {
                        c.clear();
                    }
                    c.insert(key, (Instant::now(), i.clone()));
                }
                i
            }
        };
        if !introspection.active {
            return Err(AuthError::Invalid("DocSpace says the access token is no longer active".into()));
        }
        Ok(Authenticated {
            upstream: Secret::new(token.t),
            subject: introspection.subject,
            client_id: token.c,
            audience: token.a,
            expires_at,
        })
    }

    fn consented(&self, cookie: &str, client_id: &str) -> bool {
        let ids: Vec<String> = self.states.open(Purpose::Consent, cookie).unwrap_or_default();
        let mine = short_digest(client_id);
        ids.contains(&mine)
    }

    /// The consent cookie's new value, remembering `client_id`.
    fn remember_consent(&self, cookie: Option<&str>, client_id: &str) -> Option<String> {
        let mut ids: Vec<String> = cookie.and_then(|c| self.states.open(Purpose::Consent, c).ok()).unwrap_or_default();
        let mine = short_digest(client_id);
        ids.retain(|id| *id != mine);
        ids.push(mine);
        while ids.len() > CONSENT_CLIENTS {
            ids.remove(0);
        }
        self.states.seal(Purpose::Consent, &ids, CONSENT_TTL).ok()
    }

    /// How long the consent cookie lives.
    pub fn consent_ttl(&self) -> Duration {
        CONSENT_TTL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_appended_and_fragment_kept() {
        assert_eq!(with_query("https://a.example/cb", &[("code", "x y")]), "https://a.example/cb?code=x+y");
        assert_eq!(with_query("https://a.example/cb?k=1", &[("code", "c")]), "https://a.example/cb?k=1&code=c");
        assert_eq!(with_query("cursor://x/cb#f", &[("a", "b")]), "cursor://x/cb?a=b#f");
    }
}
