//! From a request's settings to what its session serves: the DocSpace client
//! (the operator's, one for the portal and credentials the request names, or
//! the one its OAuth token stands for) and the tool selection (the
//! operator's, or a narrower one the request asks for, cached).
//!
//! Portals that clients name are reached through the address-checked HTTP
//! client unless the operator allowed private addresses; the operator's own
//! portal and the OAuth portal through the plain one.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode, Uri};
use docspace_mcp_client::{Client, OnUnauthorized};

use super::lock;
use super::request::{self, OAuthGrant, Refusal, RequestSettings};
use crate::auth::Credentials;
use crate::config::{PortalConfig, RequestSources, ToolsConfig};
use crate::egress::{BaseUrlPolicy, Denied};
use crate::oauth::proxy::{AuthError, Proxy};
use crate::portal::{self, Egress, Portal};
use crate::server::{Options, Selection, Setup};
use crate::tools::catalogue::{self, ToolDef};
use crate::tools::selection;

/// How many distinct request selections are kept built.
const SELECTION_CACHE: usize = 256;

/// Builds each session's setup from its request.
#[derive(Debug)]
pub(crate) struct Connector {
    sources: RequestSources,
    policy: BaseUrlPolicy,
    /// The operator's selection, its tool names and toolsets (what a request
    /// without `toolsets` starts from).
    operator: Arc<Selection>,
    operator_names: BTreeSet<&'static str>,
    operator_toolsets: Vec<String>,
    operator_client: Result<Client, String>,
    /// The operator configured a connection that cannot work (see
    /// [`crate::config::PortalConfig::broken`]).
    operator_broken: bool,
    /// The largest response body clients read from DocSpace.
    max_response: usize,
    /// HTTP clients: for the operator's portal, and for portals clients name.
    trusted_http: reqwest::Client,
    named_http: reqwest::Client,
    /// Selections requests asked for, by their settings.
    selections: Mutex<HashMap<String, Arc<Selection>>>,
    /// The OAuth proxy, and the portal its tokens are for.
    oauth: Option<(Arc<Proxy>, String)>,
}

impl Connector {
    /// The connector for the operator's configuration.
    pub(crate) fn new(
        tools: ToolsConfig,
        portal: PortalConfig,
        sources: RequestSources,
        policy: BaseUrlPolicy,
        oauth: Option<(Arc<Proxy>, String)>,
    ) -> Result<Self, portal::Error> {
        Ok(Self {
            trusted_http: portal::http_client(&portal.user_agent, portal.request_timeout, Egress::Operator)?,
            named_http: portal::http_client(
                &portal.user_agent,
                portal.request_timeout,
                Egress::Named { public_only: !policy.allow_private },
            )?,
            sources,
            policy,
            operator_names: tools.tools.iter().map(|t| t.name).collect(),
            operator: Arc::new(Selection::new(tools.tools, tools.options)),
            operator_toolsets: tools.toolsets,
            operator_client: portal.client,
            operator_broken: portal.broken,
            max_response: portal.max_response_bytes,
            selections: Mutex::new(HashMap::new()),
            oauth,
        })
    }

    /// The settings a request carries (an OAuth token checked), or its refusal.
    pub(crate) async fn settings(&self, uri: &Uri, headers: &HeaderMap) -> Result<RequestSettings, Refusal> {
        let mut s = request::parse(uri, headers, &self.sources)?;
        let Some((proxy, _)) = &self.oauth else { return Ok(s) };
        let path = if uri.path().starts_with("/mcp") { "/mcp" } else { "/sse" };
        match s.bearer.take() {
            Some(token) => match proxy.authenticate(token.expose()).await {
                Ok(a) => {
                    s.oauth =
                        Some(OAuthGrant { upstream: a.upstream, subject: a.subject, refused: Default::default() });
                }
                Err(e) => {
                    let code = e.code().as_str();
                    return Err(match e {
                        AuthError::Invalid(why) => {
                            tracing::info!("refused an OAuth token: {why}");
                            Refusal::challenge(code, why.clone(), proxy.challenge(path, Some(&why)))
                        }
                        AuthError::Unavailable(why) => Refusal::with_status(StatusCode::SERVICE_UNAVAILABLE, code, why),
                    });
                }
            },
            None if s.credentials.is_none() && s.base_url.is_none() => {
                return Err(Refusal::challenge(
                    "unauthorized",
                    "sign in: this server authorizes with OAuth (or send DocSpace credentials with X-Mcp-* headers)",
                    proxy.challenge(path, None),
                ));
            }
            None => {}
        }
        Ok(s)
    }

    /// The DocSpace client of an OAuth request (`None` for other requests),
    /// watching for DocSpace refusing its token ([`on_unauthorized`]).
    pub(crate) fn oauth_client(&self, s: &RequestSettings) -> Result<Option<Client>, Refusal> {
        let (Some(grant), Some((proxy, portal))) = (&s.oauth, &self.oauth) else { return Ok(None) };
        let portal = Portal::with_http(portal, self.trusted_http.clone(), self.max_response)
            .map_err(|e| Refusal::bad(e.to_string()))?;
        let client =
            portal.client(&Credentials::ApiKey(grant.upstream.clone())).map_err(|e| Refusal::bad(e.to_string()))?;
        Ok(Some(client.on_unauthorized(on_unauthorized(proxy.clone(), grant))))
    }

    /// The answer to an OAuth request whose token DocSpace refused during
    /// the call (`path`: `/mcp`, `/sse`): 401 with a challenge, once the
    /// token's cached introspection is gone, so that the client refreshes the
    /// token or signs in again, and a retry with the same token asks DocSpace.
    pub(crate) async fn token_refused(&self, path: &str, grant: &OAuthGrant) -> Refusal {
        let why = "DocSpace refused the access token";
        tracing::info!("{why} during a call: answering 401");
        match &self.oauth {
            Some((proxy, _)) => {
                proxy.docspace_refused(grant.upstream.expose()).await;
                let challenge = proxy.challenge(path, Some(why));
                Refusal::challenge("invalid_token", format!("{why}: refresh it or sign in again"), challenge)
            }
            None => Refusal::unauthorized(why),
        }
    }

    /// The setup of a new session (or a stateless request) from its settings.
    pub(crate) fn setup(&self, s: &RequestSettings) -> Result<Setup, Refusal> {
        let selection = self.selection(s)?;
        let client = self.client(s)?;
        Ok(Setup::new(selection, Ok(client)))
    }

    fn client(&self, s: &RequestSettings) -> Result<Client, Refusal> {
        if let Some(client) = self.oauth_client(s)? {
            return Ok(client);
        }
        // With OAuth on, the portal its tokens are for is this server's portal
        // (DOCSPACE_BASE_URL defaults to it) for credentials a request brings too.
        let oauth_portal = self.oauth.as_ref().map(|(_, portal)| portal.as_str());
        let configured = self.policy.configured.as_deref().or(oauth_portal);
        match (&s.base_url, &s.credentials) {
            (base, Some(credentials)) => {
                let base = base.as_deref().or(configured).ok_or_else(|| {
                    Refusal::bad("credentials without a portal: pass base_url (query) or the X-Mcp-Base-Url header")
                })?;
                let trusted = Some(base) == oauth_portal
                    || self.policy.check(base).map_err(|e| match e {
                        Denied::Malformed(m) => Refusal::bad(m),
                        Denied::NotAllowed(m) => Refusal::forbidden(m).because("portal_not_allowed"),
                    })?;
                let http = if trusted { self.trusted_http.clone() } else { self.named_http.clone() };
                let portal =
                    Portal::with_http(base, http, self.max_response).map_err(|e| Refusal::bad(e.to_string()))?;
                portal.client(credentials).map_err(|e| Refusal::bad(e.to_string()))
            }
            (Some(base), None) if Some(base.as_str()) != configured => Err(Refusal::unauthorized(format!(
                "no credentials for {base}: send X-Mcp-Api-Key, X-Mcp-Auth-Token, X-Mcp-Username + X-Mcp-Password \
                 or an Authorization header"
            ))),
            _ => self.operator_client.clone().map_err(|message| {
                if self.operator_broken {
                    Refusal::unauthorized(format!(
                        "this server's own DocSpace connection is misconfigured ({message}): its operator must fix \
                         it, or send base_url and an API key (X-Mcp-Base-Url, X-Mcp-Api-Key) or another credential \
                         header of your own"
                    ))
                } else {
                    Refusal::unauthorized(
                        "this server has no DocSpace credentials of its own: send base_url and an API key \
                         (X-Mcp-Base-Url, X-Mcp-Api-Key) or another credential header",
                    )
                }
            }),
        }
    }

    fn selection(&self, s: &RequestSettings) -> Result<Arc<Selection>, Refusal> {
        if !s.selects_tools() {
            return Ok(self.operator.clone());
        }
        let options = self.operator.options();
        let read_only = options.read_only || s.read_only == Some(true);
        let dynamic = s.dynamic.unwrap_or(options.dynamic);
        let toolsets = s.toolsets.clone().unwrap_or_else(|| self.operator_toolsets.clone());
        let enabled = s.enabled_tools.clone().unwrap_or_default();
        let disabled = s.disabled_tools.clone().unwrap_or_default();
        let key = format!("{toolsets:?}|{enabled:?}|{disabled:?}|{read_only}|{dynamic}");
        let cache = || lock(&self.selections);
        if let Some(hit) = cache().get(&key).cloned() {
            return Ok(hit);
        }
        let tools = selection::select_from(selection::REQUEST, &toolsets, &enabled, &disabled, read_only)
            .map_err(|e| Refusal::bad(e.to_string()))?;
        let outside: Vec<&str> = enabled
            .iter()
            .filter_map(|n| catalogue::find(n))
            .map(|t| t.name)
            .filter(|n| !self.operator_names.contains(n))
            .collect();
        if !outside.is_empty() {
            return Err(Refusal::forbidden(format!(
                "enabled_tools names tools this server does not offer: {}",
                outside.join(", ")
            ))
            .because("tools_not_offered"));
        }
        let tools: Vec<&'static ToolDef> = tools.into_iter().filter(|t| self.operator_names.contains(t.name)).collect();
        if tools.is_empty() {
            return Err(Refusal::bad("the requested tool selection leaves no tool this server offers"));
        }
        let selection = Arc::new(Selection::new(tools, Options { read_only, dynamic, ..options }));
        let mut cache = cache();
        if cache.len() >= SELECTION_CACHE {
            cache.clear();
        }
        cache.insert(key, selection.clone());
        Ok(selection)
    }
}

/// What an OAuth request's DocSpace client does on a 401: marks the request
/// (the transport answers it with a 401 challenge when it still can), and the
/// first time drops the token's cached introspection right away, so that the
/// next request with the token asks DocSpace even when this one's answer is
/// already on its way (legacy SSE, where a message is answered on the
/// stream; a refusal after a call's first message).
fn on_unauthorized(proxy: Arc<Proxy>, grant: &OAuthGrant) -> OnUnauthorized {
    let (refused, token) = (grant.refused.clone(), grant.upstream.clone());
    OnUnauthorized::new(move || {
        if refused.set()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let (proxy, token) = (proxy.clone(), token.clone());
            runtime.spawn(async move { proxy.docspace_refused(token.expose()).await });
        }
    })
}
