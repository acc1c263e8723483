//! The OAuth error codes this proxy answers with, each with the RFC section
//! that defines it and the HTTP status it usually travels with, and the two
//! error answers built from them: [`OAuthError`] (the token, revocation,
//! introspection and registration endpoints) and [`AuthError`] (a bearer
//! token refused at `/mcp` or `/sse`).
//!
//! No code is ever spelled as a string elsewhere: an error is built from an
//! [`ErrorCode`], and a status that differs from [`ErrorCode::status`] is
//! given with [`OAuthError::with_status`], with a comment saying why.

use serde::Serialize;

use crate::logging::bounded;

/// An OAuth 2.0 error code.
///
/// The codes of RFC 6749 §4.1.2.1 (authorization responses, sent on a
/// redirect) and §5.2 (token-endpoint answers), RFC 6750 §3.1 (bearer tokens),
/// RFC 7591 §3.2.2 (registration) and RFC 8707 §2 (resource indicators).
/// Revocation (RFC 7009 §2.2.1) and introspection (RFC 7662 §2.3) reuse §5.2's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ErrorCode {
    /// RFC 6749 §4.1.2.1 and §5.2: a parameter is missing, repeated, malformed
    /// or unsupported.
    InvalidRequest,
    /// RFC 6749 §5.2: the client is unknown or did not authenticate.
    InvalidClient,
    /// RFC 6749 §5.2: the code or refresh token is invalid, expired, revoked,
    /// spent, or was issued to another client or redirect URI (PKCE failures too,
    /// RFC 7636 §4.6).
    InvalidGrant,
    /// RFC 6749 §4.1.2.1 and §5.2: the client may not use this grant or response
    /// type (only ever relayed from DocSpace).
    UnauthorizedClient,
    /// RFC 6749 §5.2: a grant type this server does not support.
    UnsupportedGrantType,
    /// RFC 6749 §4.1.2.1: a response type this server does not support.
    UnsupportedResponseType,
    /// RFC 6749 §4.1.2.1 and §5.2: the scope is unknown or too wide (only ever
    /// relayed from DocSpace: this proxy ignores scopes).
    InvalidScope,
    /// RFC 6749 §4.1.2.1: the user (or DocSpace) refused.
    AccessDenied,
    /// RFC 6749 §4.1.2.1: something failed on the server's side.
    ServerError,
    /// RFC 6749 §4.1.2.1: the server cannot answer for now.
    TemporarilyUnavailable,
    /// RFC 8707 §2: a `resource` this server does not serve.
    InvalidTarget,
    /// RFC 6750 §3.1: the bearer token is invalid, expired or revoked.
    InvalidToken,
    /// RFC 7591 §3.2.2: a redirect URI that cannot be registered.
    InvalidRedirectUri,
    /// RFC 7591 §3.2.2: other registration metadata that cannot be accepted.
    InvalidClientMetadata,
}

impl ErrorCode {
    /// Every code, for parsing and tests.
    pub(crate) const ALL: [Self; 14] = [
        Self::InvalidRequest,
        Self::InvalidClient,
        Self::InvalidGrant,
        Self::UnauthorizedClient,
        Self::UnsupportedGrantType,
        Self::UnsupportedResponseType,
        Self::InvalidScope,
        Self::AccessDenied,
        Self::ServerError,
        Self::TemporarilyUnavailable,
        Self::InvalidTarget,
        Self::InvalidToken,
        Self::InvalidRedirectUri,
        Self::InvalidClientMetadata,
    ];

    /// The code as it appears on the wire (`error`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidTarget => "invalid_target",
            Self::InvalidToken => "invalid_token",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
        }
    }

    /// The code named `wire` (as DocSpace sends it); `None` for a code no RFC
    /// above defines.
    pub(crate) fn parse(wire: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == wire)
    }

    /// The HTTP status an answer with this code usually carries.
    ///
    /// RFC 6749 §5.2 answers 400 except for `invalid_client`, which is 401
    /// when the client tried to authenticate; this proxy answers 401 (with
    /// `WWW-Authenticate: Basic`) for every `invalid_client`, so that MCP
    /// clients drop a client id this server no longer knows and register
    /// again (DESIGN §5). RFC 6750 §3.1 gives `invalid_token` 401. The
    /// codes of §4.1.2.1 travel on a redirect: their status here is the one
    /// an HTTP answer would carry (`temporarily_unavailable` exists because a
    /// redirect cannot carry 503).
    pub(crate) fn status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::AccessDenied => 403,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            Self::InvalidRequest
            | Self::InvalidGrant
            | Self::UnauthorizedClient
            | Self::UnsupportedGrantType
            | Self::UnsupportedResponseType
            | Self::InvalidScope
            | Self::InvalidTarget
            | Self::InvalidRedirectUri
            | Self::InvalidClientMetadata => 400,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth error answer (RFC 6749 §5.2 and relatives): a JSON body with
/// `error` and `error_description`, and an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthError {
    /// HTTP status.
    pub status: u16,
    /// The `error` code.
    pub code: ErrorCode,
    /// `error_description`.
    pub description: String,
}

/// The JSON body of an [`OAuthError`].
#[derive(Debug, Serialize)]
pub(crate) struct ErrorBody<'a> {
    /// The code.
    pub error: &'static str,
    /// What is wrong, for the person reading the client's log.
    pub error_description: &'a str,
}

impl OAuthError {
    /// An error with its code's usual status ([`ErrorCode::status`]).
    pub(crate) fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self { status: code.status(), code, description: bounded(description.into()) }
    }

    /// An error whose status differs from its code's usual one: say why where
    /// it is built.
    pub(crate) fn with_status(code: ErrorCode, status: u16, description: impl Into<String>) -> Self {
        Self { status, code, description: bounded(description.into()) }
    }

    /// The JSON body.
    pub(crate) fn body(&self) -> ErrorBody<'_> {
        ErrorBody { error: self.code.as_str(), error_description: &self.description }
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.description)
    }
}

impl std::error::Error for OAuthError {}

/// Why a bearer token is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthError {
    /// 401 [`ErrorCode::InvalidToken`].
    Invalid(String),
    /// DocSpace's authorization server cannot be asked (503,
    /// [`ErrorCode::TemporarilyUnavailable`]).
    Unavailable(String),
}

impl AuthError {
    /// The code the refusal carries.
    pub(crate) fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid(_) => ErrorCode::InvalidToken,
            Self::Unavailable(_) => ErrorCode::TemporarilyUnavailable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_carry_no_control_characters_and_are_bounded() {
        // RFC 6749 §5.2: error_description excludes control characters.
        let e = OAuthError::new(ErrorCode::InvalidRequest, "unknown client `a\r\nb`");
        assert_eq!(e.description, "unknown client `a\\r\\nb`");
        let long = OAuthError::with_status(ErrorCode::InvalidRequest, 400, "x".repeat(10_000));
        assert!(long.description.chars().count() < 1010);
    }

    #[test]
    fn codes_round_trip_and_carry_their_rfc_statuses() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            assert_eq!(code.to_string(), code.as_str());
        }
        assert_eq!(ErrorCode::parse("not_a_code"), None);
        assert_eq!(ErrorCode::parse("INVALID_GRANT"), None, "codes are case-sensitive");
        assert_eq!(ErrorCode::InvalidGrant.status(), 400);
        assert_eq!(ErrorCode::InvalidClient.status(), 401);
        assert_eq!(ErrorCode::InvalidToken.status(), 401);
        assert_eq!(ErrorCode::TemporarilyUnavailable.status(), 503);
    }

    #[test]
    fn the_body_is_the_rfc_6749_json() {
        let e = OAuthError::new(ErrorCode::InvalidTarget, "resource x is not served here");
        assert_eq!(e.status, 400);
        assert_eq!(
            serde_json::to_string(&e.body()).unwrap(),
            r#"{"error":"invalid_target","error_description":"resource x is not served here"}"#
        );
        let e = OAuthError::with_status(ErrorCode::ServerError, 502, "DocSpace failed");
        assert_eq!((e.status, e.code), (502, ErrorCode::ServerError));
        assert_eq!(AuthError::Invalid("x".into()).code(), ErrorCode::InvalidToken);
    }
}
