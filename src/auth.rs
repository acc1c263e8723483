//! Who calls DocSpace as whom: the four credential kinds the reference server
//! accepts from its environment, turned into request headers.
//!
//! Secrets live in [`Secret`], whose `Debug` and `Display` never show the
//! value, and every header built from one is marked sensitive so reqwest and
//! tracing redact it too. No HTTP framework types appear here.

use std::fmt;

use reqwest::header::{AUTHORIZATION, COOKIE, HeaderMap, HeaderValue};

/// A secret string: redacted in `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Parsing never fails: any string is a secret (clap reads flags and
/// environment variables straight into it).
impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The credentials of an `Authorization` value in the given scheme, trimmed
/// (`Bearer abc` → `abc`), or `None` for another scheme. Scheme names are
/// case-insensitive (RFC 9110 §11.1): `BEARER`, `bearer` and `bEaReR` are
/// all `Bearer`.
pub(crate) fn strip_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let value = value.trim_start();
    let (name, rest) = value.split_once([' ', '\t'])?;
    name.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

/// How requests to DocSpace are authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// `DOCSPACE_API_KEY`: `Authorization: Bearer <key>`.
    ApiKey(Secret),
    /// `DOCSPACE_AUTH_TOKEN` (personal access token): the raw `Authorization`
    /// value plus the `asc_auth_key` cookie.
    AuthToken(Secret),
    /// `DOCSPACE_USERNAME` + `DOCSPACE_PASSWORD`: HTTP Basic.
    Basic {
        /// User name (an e-mail address on DocSpace).
        username: String,
        /// Password.
        password: Secret,
    },
    /// `DOCSPACE_AUTHORIZATION`: an `Authorization` value sent as it is.
    Authorization(Secret),
}

/// The four methods, as settings name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// An API key.
    ApiKey,
    /// A personal access token.
    AuthToken,
    /// User name and password.
    Basic,
    /// A raw `Authorization` value.
    Authorization,
}

/// What the credential settings are called where they came from, so that
/// one set of rules serves the environment and HTTP requests and each
/// message names what its reader set.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Labels<'a> {
    /// Prefix of the names (`DOCSPACE_`, or the request's header prefix).
    pub(crate) prefix: &'a str,
    /// The names, after the prefix.
    pub(crate) api_key: &'a str,
    pub(crate) auth_token: &'a str,
    pub(crate) username: &'a str,
    pub(crate) password: &'a str,
    /// The raw `Authorization` setting's full name.
    pub(crate) authorization: &'a str,
}

/// The environment's names (the reference server's).
pub(crate) const ENVIRONMENT: Labels<'static> = Labels {
    prefix: "DOCSPACE_",
    api_key: "API_KEY",
    auth_token: "AUTH_TOKEN",
    username: "USERNAME",
    password: "PASSWORD",
    authorization: "DOCSPACE_AUTHORIZATION",
};

impl Labels<'_> {
    /// The name of `method`'s setting(s).
    pub(crate) fn name(&self, method: Method) -> String {
        let p = self.prefix;
        match method {
            Method::ApiKey => format!("{p}{}", self.api_key),
            Method::AuthToken => format!("{p}{}", self.auth_token),
            Method::Basic => format!("{p}{} + {p}{}", self.username, self.password),
            Method::Authorization => self.authorization.to_owned(),
        }
    }
}

/// A credential setting that cannot be used. Its `Display` names the
/// environment variables; [`Error::describe`] names another source's settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No method is configured.
    #[error(
        "no DocSpace credentials: set exactly one of DOCSPACE_API_KEY, DOCSPACE_AUTH_TOKEN, \
         DOCSPACE_USERNAME + DOCSPACE_PASSWORD or DOCSPACE_AUTHORIZATION"
    )]
    Missing,
    /// More than one method is configured.
    #[error("several DocSpace authentication methods are set ({}); keep exactly one", names(&ENVIRONMENT, .0))]
    Conflicting(Vec<Method>),
    /// A username without a password.
    #[error("DOCSPACE_USERNAME is set but DOCSPACE_PASSWORD is not")]
    NoPassword,
    /// A password without a username.
    #[error("DOCSPACE_PASSWORD is set but DOCSPACE_USERNAME is not")]
    NoUsername,
    /// A value that cannot go into an HTTP header.
    #[error("{} contains characters that cannot be sent in an HTTP header", ENVIRONMENT.name(*.0))]
    InvalidValue(Method),
}

fn names(labels: &Labels<'_>, methods: &[Method]) -> String {
    methods.iter().map(|m| labels.name(*m)).collect::<Vec<_>>().join(", ")
}

impl Error {
    /// The message for settings named by `labels` (a request's headers).
    pub(crate) fn describe(&self, labels: &Labels<'_>) -> String {
        let p = labels.prefix;
        match self {
            Self::Missing => "no DocSpace credentials are given".to_owned(),
            Self::Conflicting(methods) => {
                format!("several DocSpace credentials are given ({}); give exactly one", names(labels, methods))
            }
            Self::NoPassword => format!("{p}{} is given without {p}{}", labels.username, labels.password),
            Self::NoUsername => format!("{p}{} is given without {p}{}", labels.password, labels.username),
            Self::InvalidValue(method) => format!("{} is not a valid header value", labels.name(*method)),
        }
    }
}

/// The raw credential settings (environment, flags or a request's headers);
/// empty strings count as unset.
#[derive(Clone, Debug, Default)]
pub(crate) struct Settings {
    /// `DOCSPACE_API_KEY`.
    pub(crate) api_key: Option<Secret>,
    /// `DOCSPACE_AUTH_TOKEN`.
    pub(crate) auth_token: Option<Secret>,
    /// `DOCSPACE_USERNAME`.
    pub(crate) username: Option<String>,
    /// `DOCSPACE_PASSWORD`.
    pub(crate) password: Option<Secret>,
    /// `DOCSPACE_AUTHORIZATION`.
    pub(crate) authorization: Option<Secret>,
}

impl Settings {
    /// Exactly one method, or an error naming what to fix.
    pub(crate) fn resolve(&self) -> Result<Credentials, Error> {
        self.resolve_optional()?.ok_or(Error::Missing)
    }

    /// At most one method (none given is `None`), or an error.
    pub(crate) fn resolve_optional(&self) -> Result<Option<Credentials>, Error> {
        let set = |s: &Option<Secret>| s.as_ref().filter(|s| !s.expose().trim().is_empty()).cloned();
        let username = self.username.as_ref().map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
        let mut found = Vec::new();
        if let Some(k) = set(&self.api_key) {
            found.push(Credentials::ApiKey(k));
        }
        if let Some(t) = set(&self.auth_token) {
            found.push(Credentials::AuthToken(t));
        }
        match (username, set(&self.password)) {
            (Some(username), Some(password)) => found.push(Credentials::Basic { username, password }),
            (Some(_), None) => return Err(Error::NoPassword),
            (None, Some(_)) => return Err(Error::NoUsername),
            (None, None) => {}
        }
        if let Some(a) = set(&self.authorization) {
            found.push(Credentials::Authorization(a));
        }
        if found.len() > 1 {
            return Err(Error::Conflicting(found.iter().map(Credentials::kind).collect()));
        }
        let credentials = found.pop();
        if let Some(c) = &credentials {
            c.headers()?;
        }
        Ok(credentials)
    }
}

impl Credentials {
    /// The headers that authenticate a request, marked sensitive.
    pub fn headers(&self) -> Result<HeaderMap, Error> {
        let mut headers = HeaderMap::new();
        let value = |v: String| -> Result<HeaderValue, Error> {
            let mut h = HeaderValue::from_str(&v).map_err(|_| Error::InvalidValue(self.kind()))?;
            h.set_sensitive(true);
            Ok(h)
        };
        match self {
            Self::ApiKey(key) => {
                headers.insert(AUTHORIZATION, value(format!("Bearer {}", key.expose().trim()))?);
            }
            Self::AuthToken(token) => {
                let token = token.expose().trim();
                headers.insert(AUTHORIZATION, value(token.to_owned())?);
                headers.insert(COOKIE, value(format!("asc_auth_key={token}"))?);
            }
            Self::Basic { username, password } => {
                use base64::Engine as _;
                let pair = format!("{username}:{}", password.expose());
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                headers.insert(AUTHORIZATION, value(format!("Basic {encoded}"))?);
            }
            Self::Authorization(raw) => {
                headers.insert(AUTHORIZATION, value(raw.expose().trim().to_owned())?);
            }
        }
        Ok(headers)
    }

    /// Which method this is.
    pub(crate) fn kind(&self) -> Method {
        match self {
            Self::ApiKey(_) => Method::ApiKey,
            Self::AuthToken(_) => Method::AuthToken,
            Self::Basic { .. } => Method::Basic,
            Self::Authorization(_) => Method::Authorization,
        }
    }

    /// The method's name, for logs (never the secret).
    pub fn method(&self) -> &'static str {
        match self {
            Self::ApiKey(_) => "API key",
            Self::AuthToken(_) => "personal access token",
            Self::Basic { .. } => "username and password",
            Self::Authorization(_) => "Authorization header",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<Secret> {
        Some(Secret::new(v))
    }

    #[test]
    fn scheme_names_are_case_insensitive() {
        assert_eq!(strip_scheme("Bearer abc", "Bearer"), Some("abc"));
        assert_eq!(strip_scheme("  bEaReR   abc ", "Bearer"), Some("abc"));
        assert_eq!(strip_scheme("BASIC dTpw", "Basic"), Some("dTpw"));
        assert_eq!(strip_scheme("Basic\tdTpw", "Basic"), Some("dTpw"));
        assert_eq!(strip_scheme("Bearerabc", "Bearer"), None);
        assert_eq!(strip_scheme("Basic dTpw", "Bearer"), None);
        assert_eq!(strip_scheme("Bearer", "Bearer"), None);
    }

    #[test]
    fn exactly_one_method() {
        let key = Settings { api_key: s("sk-1"), ..Settings::default() };
        assert_eq!(key.resolve(), Ok(Credentials::ApiKey(Secret::new("sk-1"))));
        let h = key.resolve().unwrap().headers().unwrap();
        assert_eq!(h.get(AUTHORIZATION).unwrap(), "Bearer sk-1");
        assert!(h.get(AUTHORIZATION).unwrap().is_sensitive());

        let token = Settings { auth_token: s("tok"), ..Settings::default() }.resolve().unwrap().headers().unwrap();
        assert_eq!(token.get(AUTHORIZATION).unwrap(), "tok");
        assert_eq!(token.get(COOKIE).unwrap(), "asc_auth_key=tok");

        let basic = Settings { username: Some("a@b.c".into()), password: s("pw"), ..Settings::default() };
        assert_eq!(basic.resolve().unwrap().headers().unwrap().get(AUTHORIZATION).unwrap(), "Basic YUBiLmM6cHc=");

        let raw = Settings { authorization: s("Bearer x"), ..Settings::default() };
        assert_eq!(raw.resolve().unwrap().headers().unwrap().get(AUTHORIZATION).unwrap(), "Bearer x");
    }

    #[test]
    fn mistakes_name_the_variable() {
        assert_eq!(Settings::default().resolve(), Err(Error::Missing));
        assert_eq!(Settings { api_key: s("  "), ..Settings::default() }.resolve(), Err(Error::Missing));
        let both = Settings { api_key: s("k"), authorization: s("a"), ..Settings::default() }.resolve().unwrap_err();
        assert_eq!(
            both.to_string(),
            "several DocSpace authentication methods are set (DOCSPACE_API_KEY, DOCSPACE_AUTHORIZATION); keep exactly one"
        );
        assert_eq!(Settings { username: Some("u".into()), ..Settings::default() }.resolve(), Err(Error::NoPassword));
        assert_eq!(Settings { password: s("p"), ..Settings::default() }.resolve(), Err(Error::NoUsername));
        assert_eq!(
            Settings { api_key: s("bad\nkey"), ..Settings::default() }.resolve(),
            Err(Error::InvalidValue(Method::ApiKey))
        );
    }

    #[test]
    fn secrets_never_print() {
        let c = Credentials::Basic { username: "u".into(), password: Secret::new("hunter2") };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(Secret::new("x").to_string(), "***");
        let h = Credentials::ApiKey(Secret::new("sk-secret")).headers().unwrap();
        assert!(!format!("{h:?}").contains("sk-secret"));
    }
}
