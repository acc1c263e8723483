//! The API side of the flow, as decisions over values: who the client is
//! (RFC 6749 §2.3), the code and refresh grants (§4.1.3, §6, PKCE of RFC 7636
//! §4.6, resources of RFC 8707), the token response (§5.1), what DocSpace's
//! failures become (§5.2), revocation (RFC 7009), introspection (RFC 7662)
//! and the check of a bearer token (RFC 6750).
//!
//! No I/O and no memory here: the façade ([`super::proxy`]) asks DocSpace
//! ([`super::upstream`]) and the memory ([`super::memory`]) between these
//! steps. Sealing is the only effect.

use std::time::Duration;

use super::context::{Context, Settings, short_digest};
use super::error::{AuthError, ErrorCode, OAuthError};
use super::pkce;
use super::protocol::{Authenticated, ClientCredentials, IntrospectionResponse, RevokeRequest, TokenResponse};
use super::seal::{self, Purpose};
use super::sealed::{Code, Token};
use super::upstream::{Credentials, Introspected, TokenKind, Tokens, UpstreamError};
use crate::auth::Secret;

/// How long a refresh token this proxy issues lasts (DocSpace may end it sooner).
pub(crate) const REFRESH_TTL: Duration = Duration::from_secs(30 * 86_400);
/// The access-token lifetime assumed when DocSpace states none.
const DEFAULT_EXPIRES_IN: u64 = 3600;

/// A client the token endpoint may serve: its id, and the DocSpace
/// credentials its requests are made with.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    /// The client's id (as the proxy knows it).
    pub(crate) id: String,
    /// The DocSpace application's credentials: the shared one's, or the client's own.
    pub(crate) credentials: Credentials,
}

/// The client's credentials checked against the mode. Shared application:
/// the client is known by its registration (checked by the façade) and
/// DocSpace sees the application. Users' own applications: the client must
/// bring its secret, which DocSpace checks.
pub(crate) fn client(settings: &Settings, given: ClientCredentials) -> Result<Client, OAuthError> {
    if let Some(app) = &settings.app {
        return Ok(Client { id: given.client_id, credentials: app.credentials() });
    }
    let Some(client_secret) = given.client_secret else {
        return Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "send the client secret of your DocSpace OAuth application (client_secret_basic or client_secret_post)",
        ));
    };
    let credentials = Credentials { client_id: given.client_id.clone(), client_secret };
    Ok(Client { id: given.client_id, credentials })
}

/// The checks of a code grant before the code is marked used, in order: the
/// code is this server's and unexpired, was issued to this client and
/// redirect URI, PKCE holds, and the resource is the one authorized.
pub(crate) fn check_code(
    cx: &Context,
    client: &Client,
    code: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
    resource: Option<&str>,
) -> Result<Code, OAuthError> {
    let invalid_grant = |d: &str| OAuthError::new(ErrorCode::InvalidGrant, d);
    let code: Code =
        cx.tokens.open(Purpose::Code, code).map_err(|_| invalid_grant("the code is not valid or has expired"))?;
    let q = &code.request;
    if q.client_id != client.id {
        return Err(invalid_grant("the code was issued to another client"));
    }
    if redirect_uri.is_some_and(|r| r != q.redirect_uri) {
        return Err(invalid_grant("redirect_uri differs from the authorization request's"));
    }
    let Some(verifier) = code_verifier else {
        return Err(OAuthError::new(ErrorCode::InvalidRequest, "code_verifier is required (PKCE)"));
    };
    if !pkce::verify(verifier, &q.code_challenge) {
        return Err(invalid_grant("PKCE verification failed: code_verifier does not match"));
    }
    if let Some(r) = resource {
        let named = cx.settings.resource(Some(r)).map_err(|e| OAuthError::new(ErrorCode::InvalidTarget, e))?;
        if named != q.resource {
            return Err(OAuthError::new(ErrorCode::InvalidTarget, "resource differs from the authorization request's"));
        }
    }
    Ok(code)
}

/// Whether a failed code exchange (or refresh) left the code (or refresh
/// token) unspent: DocSpace gave no usable answer (or the proxy could not
/// issue), so the client may try again.
pub(crate) fn code_still_usable(error: &OAuthError) -> bool {
    error.status >= 500
}

/// The checks of a refresh grant before its revocation is looked up: the
/// token is this server's, unexpired, and the client's.
pub(crate) fn check_refresh(cx: &Context, client: &Client, refresh_token: &str) -> Result<Token, OAuthError> {
    let refresh: Token = cx
        .tokens
        .open(Purpose::RefreshToken, refresh_token)
        .map_err(|_| OAuthError::new(ErrorCode::InvalidGrant, "the refresh token is not valid or has expired"))?;
    if refresh.client_id != client.id {
        return Err(OAuthError::new(ErrorCode::InvalidGrant, "the refresh token was issued to another client"));
    }
    Ok(refresh)
}

/// A refresh token that was revoked here.
pub(crate) fn revoked_refresh() -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, "the refresh token has been revoked")
}

/// A revocation neither this replica could record nor DocSpace confirmed
/// (RFC 7009 §2.2.1: the client may try again).
pub(crate) fn revocation_failed(why: &str) -> OAuthError {
    OAuthError::with_status(
        ErrorCode::TemporarilyUnavailable,
        503,
        format!("the token could not be revoked now, try again: {why}"),
    )
}

/// A refresh token that was already used (rotation: each is used once).
pub(crate) fn spent_refresh() -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, "the refresh token was already used")
}

/// A code that was already exchanged.
pub(crate) fn spent_code() -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, "the code was already used")
}

/// The proxy's tokens for DocSpace's token response: DocSpace's tokens sealed
/// with the audience, the client and the grant, living no longer than
/// DocSpace's access token or the configured lifetime. A refresh (`refreshed`
/// is the refresh token used) keeps its grant and, without a new refresh
/// token from DocSpace, seals the old one again; a code exchange starts a
/// grant.
pub(crate) fn issue(
    cx: &Context,
    answer: Tokens,
    audience: &str,
    client: &Client,
    refreshed: Option<&Token>,
) -> Result<TokenResponse, OAuthError> {
    let Some(access) = answer.access_token else {
        // DocSpace's fault, not the client's: a gateway error.
        return Err(OAuthError::with_status(
            ErrorCode::ServerError,
            502,
            "DocSpace's token response has no access_token",
        ));
    };
    let ttl = answer.expires_in.unwrap_or(DEFAULT_EXPIRES_IN).min(cx.settings.token_ttl.as_secs()).max(1);
    let own_secret = (!cx.settings.shared_app()).then(|| client.credentials.client_secret.expose().to_owned());
    let grant = match refreshed.and_then(|r| r.grant.clone()) {
        Some(grant) => grant,
        None => short_digest(
            &pkce::verifier()
                .map_err(|_| OAuthError::new(ErrorCode::ServerError, "the system's random source failed"))?,
        ),
    };
    let token = |upstream: &str| Token {
        upstream: upstream.to_owned(),
        audience: audience.to_owned(),
        client_id: client.id.clone(),
        client_secret: own_secret.clone(),
        grant: Some(grant.clone()),
    };
    let seal = |purpose: Purpose, upstream: &str, ttl: Duration| {
        cx.tokens
            .seal(purpose, &token(upstream), ttl)
            .map_err(|e| OAuthError::new(ErrorCode::ServerError, e.to_string()))
    };
    let access_token = seal(Purpose::AccessToken, &access, Duration::from_secs(ttl))?;
    let refresh = answer.refresh_token.as_deref().or(refreshed.map(|r| r.upstream.as_str()));
    let refresh_token = refresh.map(|r| seal(Purpose::RefreshToken, r, REFRESH_TTL)).transpose()?;
    Ok(TokenResponse { access_token, token_type: "Bearer", expires_in: ttl, refresh_token })
}

/// What the client is told when DocSpace gave no usable answer.
pub(crate) fn upstream_error(settings: &Settings, error: UpstreamError) -> OAuthError {
    match error {
        // DocSpace is a gateway's upstream here: 502, not the code's 503.
        UpstreamError::Unreachable => OAuthError::with_status(
            ErrorCode::TemporarilyUnavailable,
            502,
            "DocSpace's authorization server cannot be reached",
        ),
        UpstreamError::Refused { status, error, description } => match ErrorCode::parse(&error) {
            // The shared application itself was refused: the client cannot fix that by registering
            // again, so not `invalid_client`, and 502 (the server's configuration is at fault).
            Some(ErrorCode::InvalidClient) if settings.shared_app() => OAuthError::with_status(
                ErrorCode::ServerError,
                502,
                "DocSpace refused this server's OAuth application (check DOCSPACE_OAUTH_CLIENT_ID and _SECRET)",
            ),
            // DocSpace's refusal of the client's request, relayed with DocSpace's own 401 or else 400.
            Some(code) => OAuthError::with_status(code, if status == 401 { 401 } else { 400 }, description),
            // A code no RFC defines means nothing to the client: DocSpace failed, naming it.
            None => {
                let wire: String = error.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect();
                OAuthError::with_status(
                    ErrorCode::ServerError,
                    502,
                    format!("DocSpace's authorization server answered with an unknown error `{wire}`: {description}"),
                )
            }
        },
        UpstreamError::Unexpected { status } => OAuthError::with_status(
            ErrorCode::ServerError,
            502,
            format!("DocSpace's authorization server answered HTTP {status} without a usable body"),
        ),
    }
}

/// The token a revocation names, if this server issued it to this client (or
/// no client was named): its kind and contents. `None` is not an error
/// (RFC 7009 §2.2: an unknown token is answered like a revoked one).
pub(crate) fn revocation(cx: &Context, client: Option<&Client>, request: &RevokeRequest) -> Option<(TokenKind, Token)> {
    let order = if request.refresh_hint {
        [TokenKind::RefreshToken, TokenKind::AccessToken]
    } else {
        [TokenKind::AccessToken, TokenKind::RefreshToken]
    };
    let (kind, token) = order
        .into_iter()
        .find_map(|kind| cx.tokens.open::<Token>(purpose(kind), &request.token).ok().map(|t| (kind, t)))?;
    if client.is_some_and(|c| c.id != token.client_id) {
        return None;
    }
    Some((kind, token))
}

/// How long a revocation is remembered: as long as a token of that kind lives.
pub(crate) fn revocation_ttl(settings: &Settings, kind: TokenKind) -> Duration {
    match kind {
        TokenKind::RefreshToken => REFRESH_TTL,
        TokenKind::AccessToken => settings.token_ttl,
    }
}

fn purpose(kind: TokenKind) -> Purpose {
    match kind {
        TokenKind::AccessToken => Purpose::AccessToken,
        TokenKind::RefreshToken => Purpose::RefreshToken,
    }
}

/// The first checks of a bearer token: sealed by this proxy as an access
/// token, unexpired, and for a resource served here. Its contents and expiry.
pub(crate) fn open_access(cx: &Context, bearer: &str) -> Result<(Token, u64), AuthError> {
    let (token, expires_at): (Token, u64) = cx.tokens.open_expiring(Purpose::AccessToken, bearer).map_err(|e| {
        AuthError::Invalid(match e {
            seal::Error::Expired => "the access token has expired".into(),
            _ => "the access token was not issued by this server".into(),
        })
    })?;
    if !cx.settings.audience_ok(&token.audience) {
        let why = format!("the access token was issued for another resource ({})", token.audience);
        return Err(AuthError::Invalid(why));
    }
    Ok((token, expires_at))
}

/// A token found revoked here.
pub(crate) fn revoked_access() -> AuthError {
    AuthError::Invalid("the access token has been revoked".into())
}

/// The last check: DocSpace still holds the token active (DocSpace's
/// answer, fresh or remembered a while). Without DocSpace's `sub`, the
/// subject is the grant's (the same for every token refreshed from one
/// sign-in, so a session keeps its user across refreshes), or for a token
/// sealed before grants were, a label derived from it.
pub(crate) fn authenticated(
    token: Token,
    expires_at: u64,
    introspected: Introspected,
) -> Result<Authenticated, AuthError> {
    if !introspected.active {
        return Err(AuthError::Invalid("DocSpace says the access token is no longer active".into()));
    }
    let subject = match (introspected.subject, &token.grant) {
        (Some(sub), _) => sub,
        (None, Some(grant)) => format!("grant:{grant}"),
        (None, None) => format!("token:{}", short_digest(&token.upstream)),
    };
    Ok(Authenticated {
        upstream: Secret::new(token.upstream),
        subject,
        client_id: token.client_id,
        audience: token.audience,
        expires_at,
    })
}

/// The introspection endpoint's answer for a token checked as `/mcp` checks
/// it: active only for the client it was issued to (or when no client was
/// named); DocSpace unreachable is an error, not "inactive".
pub(crate) fn introspection_response(
    settings: &Settings,
    checked: Result<Authenticated, AuthError>,
    client: Option<&Client>,
) -> Result<IntrospectionResponse, OAuthError> {
    match checked {
        Ok(a) if client.is_none_or(|c| c.id == a.client_id) => Ok(IntrospectionResponse::active(&a, &settings.issuer)),
        Ok(_) | Err(AuthError::Invalid(_)) => Ok(IntrospectionResponse::inactive()),
        Err(AuthError::Unavailable(why)) => Err(OAuthError::new(ErrorCode::TemporarilyUnavailable, why)),
    }
}
