//! The proxy: a thin façade that runs each step of the flow as parse →
//! decide → ask DocSpace or the memory → decide, wiring the typed protocol
//! ([`super::protocol`]), the decisions ([`super::authorize`],
//! [`super::token`]), DocSpace and client metadata documents
//! ([`super::upstream`]) and the per-replica memory ([`super::memory`]).
//! The routes are in `transport::http::oauth`.
//!
//! Everything a later step needs travels sealed ([`super::sealed`]): the
//! pending request in the consent form, the state sent to DocSpace, the code
//! handed to the client, the client's tokens. Any replica with the same keys
//! serves any step; the only memory is per replica and only shortens attacks
//! (single use of states, consent forms, codes and refresh tokens,
//! revocations, the introspection cache, fetched metadata documents):
//! DocSpace's own single-use codes and revocation back it up.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

pub(crate) use super::context::{App, Settings};
use super::context::{Context, digest};
pub(crate) use super::error::{AuthError, ErrorCode, OAuthError};
use super::memory::{self, ExpiringMap, Memory};
pub(crate) use super::metadata::CALLBACK_PATH;
use super::metadata::{AuthorizationServerMetadata, ProtectedResourceMetadata};
pub(crate) use super::protocol::{Authenticated, ClientAuth, Step};
use super::protocol::{
    AuthorizeRequest, CallbackRequest, ClientCredentials, ConsentForm, IntrospectRequest, IntrospectionResponse,
    Params, RevokeRequest, TokenRequest, TokenResponse,
};
use super::registration::{self, Registration, RegistrationResponse};
use super::seal;
use super::sealed::Code;
use super::token::{self, Client};
use super::upstream::{Grant, Http, Introspected, Upstream};
use super::{authorize, cimd};

/// How long a fetched client metadata document is reused.
const DOCUMENT_TTL: Duration = Duration::from_secs(300);
/// How many fetched documents are kept.
const DOCUMENT_LIMIT: usize = 1000;
/// How many used refresh tokens a replica remembers (each for as long as a
/// refresh token lives, 30 days): about 100 MB at most.
const REFRESHED_LIMIT: usize = 1_000_000;

/// Why a step that needs the memory (a single-use check, the revocation
/// list) is refused while it cannot answer.
const MEMORY_UNAVAILABLE: &str = "the sign-in service cannot check single use or revocation right now (its memory or \
                                  shared store is unavailable): try again shortly";

/// [`MEMORY_UNAVAILABLE`] at the token endpoint (503, `temporarily_unavailable`).
fn memory_unavailable() -> OAuthError {
    OAuthError::new(ErrorCode::TemporarilyUnavailable, MEMORY_UNAVAILABLE)
}

/// The proxy's memories, each a [`Memory`]: in this process, or in the
/// shared store ([`Memories::shared`]).
#[derive(Clone)]
pub(crate) struct Memories {
    /// States, consent forms and codes already used (by digest).
    pub used: Arc<dyn Memory<()>>,
    /// Refresh tokens already used (by digest of the proxy's refresh token):
    /// apart from `used`, so that many refreshes never crowd out sign-ins.
    pub refreshed: Arc<dyn Memory<()>>,
    /// Tokens revoked here (by digest of DocSpace's token).
    pub revoked: Arc<dyn Memory<()>>,
    /// DocSpace's recent introspection answers (by digest of its token).
    pub introspected: Arc<dyn Memory<Introspected>>,
    /// Fetched client metadata documents (by URL).
    pub documents: Arc<dyn Memory<Registration>>,
}

impl Memories {
    /// Memories in this process ([`ExpiringMap`]s).
    pub(crate) fn in_memory() -> Self {
        Self {
            used: Arc::new(ExpiringMap::new(memory::DEFAULT_LIMIT)),
            refreshed: Arc::new(ExpiringMap::new(REFRESHED_LIMIT)),
            revoked: Arc::new(ExpiringMap::new(memory::DEFAULT_LIMIT)),
            introspected: Arc::new(ExpiringMap::cache(memory::DEFAULT_LIMIT)),
            documents: Arc::new(ExpiringMap::cache(DOCUMENT_LIMIT)),
        }
    }
}

impl Memories {
    /// Memories in the shared store, which every replica sees.
    pub(crate) fn shared(store: &Arc<crate::store::Store>) -> Self {
        use crate::store::memory::SharedMemory;
        Self {
            used: Arc::new(SharedMemory::new(store.clone(), "used")),
            refreshed: Arc::new(SharedMemory::new(store.clone(), "refreshed")),
            revoked: Arc::new(SharedMemory::new(store.clone(), "revoked")),
            introspected: Arc::new(SharedMemory::new(store.clone(), "introspected")),
            documents: Arc::new(SharedMemory::new(store.clone(), "documents")),
        }
    }
}

impl std::fmt::Debug for Memories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memories").finish_non_exhaustive()
    }
}

/// The proxy.
pub(crate) struct Proxy {
    cx: Context,
    upstream: Arc<dyn Upstream>,
    memory: Memories,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy").field("issuer", &self.cx.settings.issuer).finish_non_exhaustive()
    }
}

impl Proxy {
    /// A proxy sealing with `token_key` (codes, tokens) and `state_key`
    /// (states, client ids, consent), talking to DocSpace with `http` and
    /// fetching client metadata documents with `documents_http` (which must
    /// refuse private addresses and redirects), remembering in `memory`.
    pub(crate) fn new(
        settings: Settings,
        token_key: &str,
        state_key: &str,
        http: reqwest::Client,
        documents_http: reqwest::Client,
        memory: Memories,
    ) -> Result<Self, seal::Error> {
        let upstream = Arc::new(Http::new(settings.upstream.clone(), http, documents_http));
        Self::with_parts(settings, token_key, state_key, upstream, memory)
    }

    /// A proxy reaching DocSpace through `upstream` and remembering in `memory`.
    pub(crate) fn with_parts(
        settings: Settings,
        token_key: &str,
        state_key: &str,
        upstream: Arc<dyn Upstream>,
        memory: Memories,
    ) -> Result<Self, seal::Error> {
        Ok(Self { cx: Context::new(settings, token_key, state_key)?, upstream, memory })
    }

    /// The settings.
    pub(crate) fn settings(&self) -> &Settings {
        &self.cx.settings
    }

    /// Whether clients register here (shared application) or bring their own.
    pub(crate) fn shared_app(&self) -> bool {
        self.cx.settings.shared_app()
    }

    /// How long the consent cookie lives.
    pub(crate) fn consent_ttl(&self) -> Duration {
        authorize::CONSENT_TTL
    }

    /// RFC 8414 authorization-server metadata (also served as OpenID configuration).
    pub(crate) fn authorization_server_metadata(&self) -> AuthorizationServerMetadata {
        AuthorizationServerMetadata::new(&self.cx.settings)
    }

    /// RFC 9728 protected-resource metadata for `resource`.
    pub(crate) fn protected_resource_metadata(&self, resource: &str) -> ProtectedResourceMetadata {
        ProtectedResourceMetadata::new(&self.cx.settings, resource)
    }

    /// The `WWW-Authenticate` value of a 401 from the endpoint at `path`
    /// (`/mcp`, `/sse`), with `error` when a token was given and refused.
    pub(crate) fn challenge(&self, path: &str, error: Option<&str>) -> String {
        super::metadata::challenge(&self.cx.settings, path, error)
    }

    /// The registration of a client of the shared application: sealed into
    /// its id, or its metadata document (fetched, then reused a while).
    async fn registration(&self, client_id: &str) -> Result<Registration, String> {
        if !cimd::is_document_url(client_id) {
            return authorize::registered_client(&self.cx, client_id);
        }
        let key = client_id.as_bytes();
        if let Ok(Some(r)) = self.memory.documents.get(key).await {
            return Ok(r);
        }
        let r = self.upstream.client_document(client_id).await?;
        // A cache: when it cannot keep the document, the next sign-in fetches it again.
        let _ = self.memory.documents.insert(key, r.clone(), DOCUMENT_TTL).await;
        Ok(r)
    }

    /// Registers a client (shared-application mode): the registration response.
    pub(crate) fn register(&self, request: &Value) -> Result<RegistrationResponse, OAuthError> {
        if !self.shared_app() {
            // No registration here at all: 404 as for a path not served, saying what to do instead.
            return Err(OAuthError::with_status(
                ErrorCode::InvalidRequest,
                404,
                "this server does not register clients: enter the client id and secret of your DocSpace OAuth \
                 application in your MCP client",
            ));
        }
        registration::register(&self.cx.states, request).map_err(|e| OAuthError::new(e.code(), e.to_string()))
    }

    /// `GET /authorize`: the consent page, or a redirect when this browser
    /// already consented for this client (`consent` cookie), or a refusal.
    pub(crate) async fn authorize(&self, params: &Params, consent: Option<&str>) -> Step {
        let request = match AuthorizeRequest::parse(params) {
            Ok(r) => r,
            Err(step) => return step,
        };
        let registration = if self.shared_app() {
            match self.registration(&request.client_id).await {
                Ok(r) => Some(r),
                Err(why) => return Step::refused(400, why),
            }
        } else {
            None
        };
        authorize::authorize(&self.cx, request, registration, consent)
    }

    /// The consent form's answer: `request`, `csrf` and `decision` from the
    /// form, the CSRF cookie and the consent cookie so far. A form is used once.
    pub(crate) async fn consent(&self, form: &Params, csrf_cookie: Option<&str>, consent_cookie: Option<&str>) -> Step {
        let form = ConsentForm::parse(form);
        let pending = match authorize::open_pending(&self.cx, &form, csrf_cookie) {
            Ok(p) => p,
            Err(step) => return step,
        };
        match memory::first_use(&*self.memory.used, &digest(&form.request), self.cx.settings.state_ttl).await {
            Ok(true) => {}
            Ok(false) => return Step::refused(400, "this consent form was already submitted: start the sign-in again"),
            Err(_) => return Step::refused(503, MEMORY_UNAVAILABLE),
        }
        authorize::decide(&self.cx, pending, form.decision, consent_cookie)
    }

    /// `GET /oauth/callback`: DocSpace's answer, relayed to the client. A
    /// state is used once.
    pub(crate) async fn callback(&self, params: &Params) -> Step {
        let callback = CallbackRequest::parse(params);
        let state = match authorize::open_state(&self.cx, &callback) {
            Ok(s) => s,
            Err(step) => return step,
        };
        match memory::first_use(&*self.memory.used, &digest(&callback.state), self.cx.settings.state_ttl).await {
            Ok(true) => {}
            Ok(false) => {
                return Step::refused(400, "this sign-in was already completed: start it again from your MCP client");
            }
            Err(_) => return Step::refused(503, MEMORY_UNAVAILABLE),
        }
        authorize::relay(&self.cx, state, callback)
    }

    /// The client at the token, revocation or introspection endpoint, if it
    /// said who it is.
    async fn client(&self, form: &Params, auth: &ClientAuth) -> Result<Option<Client>, OAuthError> {
        let Some(given) = ClientCredentials::parse(form, auth)? else { return Ok(None) };
        if self.shared_app()
            && let Err(why) = self.registration(&given.client_id).await
        {
            return Err(OAuthError::new(ErrorCode::InvalidClient, why));
        }
        token::client(&self.cx.settings, given).map(Some)
    }

    /// `POST /token`: the token response, without `scope`.
    pub(crate) async fn token(&self, form: &Params, auth: &ClientAuth) -> Result<TokenResponse, OAuthError> {
        let Some(client) = self.client(form, auth).await? else {
            return Err(OAuthError::new(ErrorCode::InvalidClient, "client_id is required"));
        };
        match TokenRequest::parse(form)? {
            TokenRequest::AuthorizationCode { code, redirect_uri, code_verifier, resource } => {
                let checked = token::check_code(
                    &self.cx,
                    &client,
                    &code,
                    redirect_uri.as_deref(),
                    code_verifier.as_deref(),
                    resource.as_deref(),
                )?;
                self.exchange(&client, &code, checked).await
            }
            TokenRequest::RefreshToken { refresh_token } => self.refresh(&client, &refresh_token).await,
        }
    }

    /// Spends a checked code (`sealed`) at DocSpace. When DocSpace gave no
    /// usable answer, the code is not spent and the client may try it again.
    async fn exchange(&self, client: &Client, sealed: &str, code: Code) -> Result<TokenResponse, OAuthError> {
        let key = digest(sealed);
        match memory::first_use(&*self.memory.used, &key, self.cx.settings.state_ttl).await {
            Ok(true) => {}
            Ok(false) => return Err(token::spent_code()),
            Err(_) => return Err(memory_unavailable()),
        }
        let callback = self.cx.settings.url(CALLBACK_PATH);
        let grant = Grant::AuthorizationCode {
            code: &code.upstream_code,
            redirect_uri: &callback,
            code_verifier: &code.verifier,
        };
        let exchanged = match self.upstream.token(&client.credentials, grant).await {
            Ok(answer) => token::issue(&self.cx, answer, &code.request.resource, client, None),
            Err(e) => Err(token::upstream_error(&self.cx.settings, e)),
        };
        if let Err(e) = &exchanged
            && token::code_still_usable(e)
        {
            // Were the memory broken, the code stays spent: closed, not open.
            let _ = self.memory.used.remove(&key).await;
        }
        exchanged
    }

    /// A refresh grant: DocSpace's refresh token, unless revoked here. Each
    /// refresh token this proxy issues is used once (rotation, OAuth 2.1
    /// §4.3.1), even when DocSpace keeps its own: the answer carries a new
    /// one, and a replay of the old one is `invalid_grant`. When DocSpace
    /// gave no usable answer, the token is not spent and the client may try
    /// it again.
    async fn refresh(&self, client: &Client, sealed: &str) -> Result<TokenResponse, OAuthError> {
        let refresh = token::check_refresh(&self.cx, client, sealed)?;
        match memory::listed(&*self.memory.revoked, &digest(&refresh.upstream)).await {
            Ok(false) => {}
            Ok(true) => return Err(token::revoked_refresh()),
            Err(_) => return Err(memory_unavailable()),
        }
        let key = digest(sealed);
        match memory::first_use(&*self.memory.refreshed, &key, token::REFRESH_TTL).await {
            Ok(true) => {}
            Ok(false) => return Err(token::spent_refresh()),
            Err(_) => return Err(memory_unavailable()),
        }
        let grant = Grant::RefreshToken { refresh_token: &refresh.upstream };
        let refreshed = match self.upstream.token(&client.credentials, grant).await {
            Ok(answer) => token::issue(&self.cx, answer, &refresh.audience, client, Some(&refresh)),
            Err(e) => Err(token::upstream_error(&self.cx.settings, e)),
        };
        if let Err(e) = &refreshed
            && token::code_still_usable(e)
        {
            // Were the memory broken, the token stays spent: closed, not open.
            let _ = self.memory.refreshed.remove(&key).await;
        }
        refreshed
    }

    /// `POST /revoke` (RFC 7009): revokes the token here and at DocSpace;
    /// an unknown token is not an error.
    pub(crate) async fn revoke(&self, form: &Params, auth: &ClientAuth) -> Result<(), OAuthError> {
        let client = self.client(form, auth).await?;
        let request = RevokeRequest::parse(form)?;
        let Some((kind, revoked)) = token::revocation(&self.cx, client.as_ref(), &request) else {
            return Ok(());
        };
        let key = digest(&revoked.upstream);
        let ttl = token::revocation_ttl(&self.cx.settings, kind);
        // A broken memory counts every token as revoked (`memory::listed`); a full one
        // keeps its revocations but cannot take this one, so DocSpace's word decides.
        let kept = self.memory.revoked.insert(&key, (), ttl).await.is_ok();
        let _ = self.memory.introspected.remove(&key).await;
        let credentials = self.cx.settings.credentials_for(&revoked);
        match self.upstream.revoke(&credentials, &revoked.upstream, kind).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let e = token::upstream_error(&self.cx.settings, e);
                if kept {
                    tracing::warn!(
                        "DocSpace did not confirm a revocation (revoked here all the same): {}",
                        e.description
                    );
                    Ok(())
                } else {
                    Err(token::revocation_failed(&e.description))
                }
            }
        }
    }

    /// `POST /oauth/introspect` (RFC 7662; the reference server's endpoint): whether
    /// a token this proxy issued is active, checked as `/mcp` checks it.
    pub(crate) async fn introspect(
        &self,
        form: &Params,
        auth: &ClientAuth,
    ) -> Result<IntrospectionResponse, OAuthError> {
        let client = self.client(form, auth).await?;
        let request = IntrospectRequest::parse(form)?;
        let checked = self.authenticate(&request.token).await;
        token::introspection_response(&self.cx.settings, checked, client.as_ref())
    }

    /// Checks a bearer token presented to `/mcp` or `/sse`: sealed by this
    /// proxy's key, unexpired, for this server, not revoked here, and active
    /// at DocSpace (whose answer is reused for the introspection cache's
    /// lifetime, `DOCSPACE_OAUTH_INTROSPECTION_CACHE_TTL`).
    pub(crate) async fn authenticate(&self, bearer: &str) -> Result<Authenticated, AuthError> {
        let (token, expires_at) = token::open_access(&self.cx, bearer)?;
        let key = digest(&token.upstream);
        match memory::listed(&*self.memory.revoked, &key).await {
            Ok(false) => {}
            Ok(true) => return Err(token::revoked_access()),
            Err(_) => return Err(AuthError::Unavailable(MEMORY_UNAVAILABLE.to_owned())),
        }
        let ttl = self.cx.settings.introspection_ttl;
        let cached = if ttl.is_zero() { None } else { self.memory.introspected.get(&key).await.ok().flatten() };
        let introspected = match cached {
            Some(known) => known,
            // Not known, not cached, or the cache cannot answer: ask DocSpace.
            None => {
                let credentials = self.cx.settings.credentials_for(&token);
                let answer = self.upstream.introspect(&credentials, &token.upstream).await.map_err(|e| {
                    let e = token::upstream_error(&self.cx.settings, e);
                    AuthError::Unavailable(format!("cannot check the token with DocSpace: {}", e.description))
                })?;
                if !ttl.is_zero() {
                    let _ = self.memory.introspected.insert(&key, answer.clone(), ttl).await;
                }
                answer
            }
        };
        token::authenticated(token, expires_at, introspected)
    }

    /// DocSpace refused `upstream` (DocSpace's token inside one of this
    /// proxy's) on an API call: its cached introspection answer is dropped,
    /// so that the next request with it asks DocSpace again. Not a
    /// revocation here: DocSpace's answer decides.
    pub(crate) async fn docspace_refused(&self, upstream: &str) {
        // A cache that cannot answer has nothing to drop.
        let _ = self.memory.introspected.remove(&digest(upstream)).await;
    }
}

#[cfg(test)]
mod tests;
