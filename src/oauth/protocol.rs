//! The proxy's requests and answers as types: each request is parsed once
//! from the parameters the routes hand over (a query's or a form's, each
//! name given once: the routes refuse repeated ones, RFC 6749 §3.1), and each
//! answer is a value the routes turn into HTTP.
//!
//! Parsing only reads what was sent. What must hold of it (a registered
//! redirect URI, a valid code, PKCE) is decided in [`super::authorize`] and
//! [`super::token`], in the order the protocol checks it: that is why some
//! fields stay optional here.

use std::collections::HashMap;

use serde::Serialize;

use super::error::{ErrorCode, OAuthError};
use crate::auth::Secret;

/// The longest `client_id` (own applications) or `state` carried through the flow.
pub(crate) const MAX_PARAMETER_LEN: usize = 1024;

/// A query's or a form body's parameters.
pub(crate) type Params = HashMap<String, String>;

/// `key`'s value, trimmed; `None` when absent or blank.
fn value(params: &Params, key: &str) -> Option<String> {
    params.get(key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// `GET /authorize` (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 8707 §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthorizeRequest {
    /// `client_id`, the one parameter without which nothing else can be checked.
    pub client_id: String,
    /// `redirect_uri` (may be left out when the client registered only one).
    pub redirect_uri: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `response_type` (must be `code`).
    pub response_type: Option<String>,
    /// `code_challenge`.
    pub code_challenge: Option<String>,
    /// `code_challenge_method` (must be `S256`).
    pub code_challenge_method: Option<String>,
    /// `resource`.
    pub resource: Option<String>,
}

impl AuthorizeRequest {
    /// The request, or why it is refused on a page (there is no client to
    /// redirect to yet).
    pub(crate) fn parse(params: &Params) -> Result<Self, Step> {
        let Some(client_id) = value(params, "client_id") else {
            return Err(Step::refused(400, "client_id is required"));
        };
        if client_id.len() > MAX_PARAMETER_LEN {
            return Err(Step::refused(400, "client_id is too long"));
        }
        Ok(Self {
            client_id,
            redirect_uri: value(params, "redirect_uri"),
            state: value(params, "state"),
            response_type: value(params, "response_type"),
            code_challenge: value(params, "code_challenge"),
            code_challenge_method: value(params, "code_challenge_method"),
            resource: value(params, "resource"),
        })
    }
}

/// The user's answer on the consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Allow: on to DocSpace.
    Allow,
    /// Deny: back to the client with `access_denied`.
    Deny,
}

/// The consent form's POST: its hidden fields (as sent, not trimmed: they are
/// compared byte for byte) and the button pressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConsentForm {
    /// The sealed pending request.
    pub request: String,
    /// The CSRF token.
    pub csrf: String,
    /// The decision; `None` when it is neither `allow` nor `deny`.
    pub decision: Option<Decision>,
}

impl ConsentForm {
    /// The form (absent fields are empty and fail their checks).
    pub(crate) fn parse(form: &Params) -> Self {
        let field = |k: &str| form.get(k).cloned().unwrap_or_default();
        let decision = match form.get("decision").map(String::as_str) {
            Some("allow") => Some(Decision::Allow),
            Some("deny") => Some(Decision::Deny),
            _ => None,
        };
        Self { request: field("request"), csrf: field("csrf"), decision }
    }
}

/// DocSpace's redirect to the callback (RFC 6749 §4.1.2 and §4.1.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallbackRequest {
    /// The sealed state (empty when absent).
    pub state: String,
    /// DocSpace's code.
    pub code: Option<String>,
    /// DocSpace's error.
    pub error: Option<String>,
    /// DocSpace's error description.
    pub error_description: Option<String>,
}

impl CallbackRequest {
    /// The callback's parameters.
    pub(crate) fn parse(params: &Params) -> Self {
        Self {
            state: value(params, "state").unwrap_or_default(),
            code: value(params, "code"),
            error: value(params, "error"),
            error_description: value(params, "error_description"),
        }
    }
}

/// Client credentials given at the token, revocation or introspection
/// endpoint in the `Authorization` header.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClientAuth {
    /// From HTTP Basic (id, secret).
    pub basic: Option<(String, String)>,
}

/// Who the client says it is (RFC 6749 §2.3.1): HTTP Basic or the body's
/// `client_id` and `client_secret`, never both.
#[derive(Debug, Clone)]
pub(crate) struct ClientCredentials {
    /// The client id.
    pub client_id: String,
    /// Its secret, if it sent one.
    pub client_secret: Option<Secret>,
}

impl ClientCredentials {
    /// The credentials, `None` when the client did not say who it is.
    pub(crate) fn parse(form: &Params, auth: &ClientAuth) -> Result<Option<Self>, OAuthError> {
        let Some((id, secret)) = &auth.basic else {
            return Ok(value(form, "client_id")
                .map(|client_id| Self { client_id, client_secret: value(form, "client_secret").map(Secret::new) }));
        };
        if value(form, "client_secret").is_some() {
            return Err(OAuthError::new(ErrorCode::InvalidRequest, "client credentials given twice (Basic and body)"));
        }
        if value(form, "client_id").is_some_and(|c| &c != id) {
            return Err(OAuthError::new(ErrorCode::InvalidRequest, "client_id differs from the Basic credentials"));
        }
        let client_secret = Some(secret).filter(|s| !s.is_empty()).map(Secret::new);
        Ok(Some(Self { client_id: id.clone(), client_secret }))
    }
}

/// `POST /token` (RFC 6749 §4.1.3 and §6), apart from the client's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenRequest {
    /// `grant_type=authorization_code`.
    AuthorizationCode {
        /// The code.
        code: String,
        /// `redirect_uri`, compared with the authorization request's when given.
        redirect_uri: Option<String>,
        /// `code_verifier`: required, but checked after the code itself (a
        /// forged code is reported as such first).
        code_verifier: Option<String>,
        /// `resource`, compared with the authorization request's when given.
        resource: Option<String>,
    },
    /// `grant_type=refresh_token`.
    RefreshToken {
        /// The refresh token.
        refresh_token: String,
    },
}

impl TokenRequest {
    /// The grant; read only once the client is known (RFC 6749 §5.2 puts
    /// `invalid_client` before everything else, and clients rely on it).
    pub(crate) fn parse(form: &Params) -> Result<Self, OAuthError> {
        let required = |k: &str| {
            value(form, k).ok_or_else(|| OAuthError::new(ErrorCode::InvalidRequest, format!("{k} is required")))
        };
        match value(form, "grant_type").as_deref() {
            Some("authorization_code") => Ok(Self::AuthorizationCode {
                code: required("code")?,
                redirect_uri: value(form, "redirect_uri"),
                code_verifier: value(form, "code_verifier"),
                resource: value(form, "resource"),
            }),
            Some("refresh_token") => Ok(Self::RefreshToken { refresh_token: required("refresh_token")? }),
            Some(other) => {
                Err(OAuthError::new(ErrorCode::UnsupportedGrantType, format!("grant_type `{other}` is not supported")))
            }
            None => Err(OAuthError::new(ErrorCode::InvalidRequest, "grant_type is required")),
        }
    }
}

/// A `token` parameter (revocation, introspection): trimmed, required.
fn token(form: &Params) -> Result<String, OAuthError> {
    value(form, "token").ok_or_else(|| OAuthError::new(ErrorCode::InvalidRequest, "token is required"))
}

/// `POST /revoke` (RFC 7009 §2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RevokeRequest {
    /// The token.
    pub token: String,
    /// Whether `token_type_hint` says `refresh_token` (then refresh tokens are
    /// tried first; any other hint, or none, tries access tokens first).
    pub refresh_hint: bool,
}

impl RevokeRequest {
    /// The request.
    pub(crate) fn parse(form: &Params) -> Result<Self, OAuthError> {
        let refresh_hint = form.get("token_type_hint").is_some_and(|h| h == "refresh_token");
        Ok(Self { token: token(form)?, refresh_hint })
    }
}

/// `POST /introspect` (RFC 7662 §2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IntrospectRequest {
    /// The token.
    pub token: String,
}

impl IntrospectRequest {
    /// The request.
    pub(crate) fn parse(form: &Params) -> Result<Self, OAuthError> {
        Ok(Self { token: token(form)? })
    }
}

/// A successful token response (RFC 6749 §5.1), without `scope`: DocSpace's
/// scopes mean nothing to the proxy's clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct TokenResponse {
    /// The proxy's sealed access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The proxy's sealed refresh token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// An introspection response (RFC 7662 §2.2): `{"active": false}` or the
/// active token's details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct IntrospectionResponse {
    /// Whether the token is active.
    pub active: bool,
    /// `Bearer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    /// Expiry (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// Audience (the resource).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Subject (DocSpace's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Issuer (this server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
}

impl IntrospectionResponse {
    /// `{"active": false}`: unknown, expired, revoked or another client's.
    pub(crate) fn inactive() -> Self {
        Self { active: false, token_type: None, exp: None, aud: None, sub: None, iss: None }
    }

    /// An active token's details.
    pub(crate) fn active(token: &Authenticated, issuer: &str) -> Self {
        Self {
            active: true,
            token_type: Some("Bearer"),
            exp: Some(token.expires_at),
            aud: Some(token.audience.clone()),
            sub: Some(token.subject.clone()),
            iss: Some(issuer.to_owned()),
        }
    }
}

/// What an authorization step answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Show the consent page (boxed: it is the largest answer by far).
    Consent(Box<ConsentPage>),
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

impl Step {
    /// [`Step::Refused`].
    pub(crate) fn refused(status: u16, message: impl Into<String>) -> Self {
        Self::Refused { status, message: message.into() }
    }

    /// [`Step::Redirect`] without a cookie.
    pub(crate) fn redirect(location: String) -> Self {
        Self::Redirect { location, cookie: None }
    }
}

/// What the consent page shows and carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConsentPage {
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
pub(crate) struct Authenticated {
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

/// Adds `pairs` to `uri`'s query (keeping what it has, and its fragment).
pub(crate) fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
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

#[cfg(test)]
mod tests;
