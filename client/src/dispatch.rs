//! JSON in, JSON out: the helpers the generated `dispatch` uses to read
//! arguments into the client's types and to turn any outcome into an
//! [`Output`] or a [`CallError`] a model can act on.
//!
//! Results are the raw upstream JSON, captured by the `exec` hook. The typed
//! decode still runs (it is how we know the response matched the spec), but
//! a response that does not match — dates in another shape, an unknown enum
//! value, extra fields — is returned as it came, flagged, never dropped.

use bytes::Bytes;
use progenitor_client::{ByteStream, Error as ClientError, ResponseValue};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::Client;

/// Tool arguments: parameters by OpenAPI name, the request body under `body`.
pub type Args = Map<String, Value>;

/// The future of one generated operation call.
pub type CallFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Output, CallError>> + Send + 'a>>;

/// A successful call.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A JSON body.
    Json {
        /// HTTP status.
        status: u16,
        /// The body exactly as DocSpace sent it.
        value: Value,
        /// Why the body did not decode into the spec's type, if it did not.
        mismatch: Option<String>,
    },
    /// A non-JSON body (a file download).
    Bytes {
        /// HTTP status.
        status: u16,
        /// `Content-Type`, if any.
        content_type: Option<String>,
        /// The bytes.
        bytes: Bytes,
    },
    /// No body.
    Empty {
        /// HTTP status.
        status: u16,
    },
}

/// Why a call failed. The messages name the argument or say what DocSpace
/// answered, so a model can correct itself.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum CallError {
    /// A required argument is absent.
    #[error("missing required argument `{0}`")]
    MissingArgument(String),
    /// An argument does not fit the parameter's type.
    #[error("argument `{name}` is invalid: {message}")]
    InvalidArgument {
        /// Argument name.
        name: String,
        /// What is wrong with it.
        message: String,
    },
    /// The request could not be built.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// DocSpace answered with an error status or its error envelope.
    #[error("DocSpace answered HTTP {status}: {message}")]
    Upstream {
        /// HTTP status (or the envelope's `statusCode`).
        status: u16,
        /// DocSpace's message, or the start of the body.
        message: String,
    },
    /// DocSpace answered success with a body its `Content-Type` calls JSON
    /// that does not parse: no telling what was done.
    #[error("DocSpace answered HTTP {status} with malformed JSON: {message}")]
    Malformed {
        /// HTTP status.
        status: u16,
        /// The start of the body.
        message: String,
    },
    /// DocSpace's answer is larger than the server reads.
    #[error(
        "DocSpace's answer is larger than {limit} bytes, more than this server reads (DOCSPACE_MAX_RESPONSE_BYTES); \
         ask for less (a smaller `count`, a filter, one item at a time)"
    )]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// DocSpace could not be reached, or the connection failed (the message
    /// names the portal and the cause).
    #[error("{0}")]
    Transport(String),
    /// DocSpace did not answer in time (the message names the portal).
    #[error("{0}")]
    Timeout(String),
    /// No operation has this id.
    #[error("unknown operation `{0}`")]
    UnknownOperation(String),
}

/// Reads a required argument.
pub fn required<T: DeserializeOwned>(args: &Args, name: &str) -> Result<T, CallError> {
    match args.get(name) {
        None | Some(Value::Null) => Err(CallError::MissingArgument(name.to_owned())),
        Some(v) => decode(v, name),
    }
}

/// Reads a path parameter: required, and usable as one path segment once
/// percent-encoded as the client does (which leaves `.` and `\\` alone). An
/// empty value, `.`, `..` or a backslash would let URL normalisation turn
/// `files/share/{key}` into another endpoint (`..\\..\\people\\@self`), so
/// they are refused.
pub fn path_segment<T: DeserializeOwned>(args: &Args, name: &str) -> Result<T, CallError> {
    let value: T = required(args, name)?;
    // Numbers and booleans are always plain segments; a string is sent as it is.
    if let Some(text) = args.get(name).and_then(Value::as_str) {
        check_segment(name, text.trim())?;
    }
    Ok(value)
}

/// Refuses a path parameter value that would not stay one path segment.
pub(crate) fn check_segment(name: &str, value: &str) -> Result<(), CallError> {
    let problem = if value.is_empty() {
        Some("it is empty")
    } else if value == "." || value == ".." {
        Some("`.` and `..` are not identifiers")
    } else if value.contains('\\') {
        Some("it contains a backslash")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(CallError::InvalidArgument {
            name: name.to_owned(),
            message: format!("not usable in the request path: {problem}"),
        }),
        None => Ok(()),
    }
}

/// Whether the path of a URL the client built is the one its operation's
/// `template` describes under the portal's `base_path`: as many segments,
/// the literal ones equal, each parameter a non-empty segment. Anything else
/// (a value that URL normalisation collapsed or split) is another endpoint.
pub(crate) fn path_matches(base_path: &str, template: &str, path: &str) -> bool {
    let Some(rest) = path.strip_prefix(base_path.trim_end_matches('/')) else { return false };
    let actual: Vec<&str> = rest.split('/').collect();
    let wanted: Vec<&str> = template.split('/').collect();
    actual.len() == wanted.len()
        && actual.iter().zip(&wanted).all(|(a, w)| match (w.find('{'), w.rfind('}')) {
            (Some(open), Some(close)) => {
                let (prefix, suffix) = (w.get(..open).unwrap_or_default(), w.get(close + 1..).unwrap_or_default());
                a.len() > prefix.len() + suffix.len()
                    && a.starts_with(prefix)
                    && a.ends_with(suffix)
                    && !matches!(*a, "." | "..")
            }
            _ => a == w,
        })
}

/// Reads an optional argument (absent and `null` are both "not given").
pub fn optional<T: DeserializeOwned>(args: &Args, name: &str) -> Result<Option<T>, CallError> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => decode(v, name).map(Some),
    }
}

/// Reads the request body; an absent body is an empty object (or array), so
/// operations whose body members are all optional need no `body` at all.
pub fn body<T: DeserializeOwned>(args: &Args, name: &str) -> Result<T, CallError> {
    match args.get(name) {
        Some(v) if !v.is_null() => decode(v, name),
        _ => serde_json::from_value(Value::Object(Map::new()))
            .or_else(|_| serde_json::from_value(Value::Array(Vec::new())))
            .map_err(|_| CallError::MissingArgument(name.to_owned())),
    }
}

/// Deserializes `v`, naming the offending member in the error; models often
/// quote numbers and booleans (`"42"`), so a string that is a JSON scalar is
/// tried as that scalar too.
fn decode<T: DeserializeOwned>(v: &Value, name: &str) -> Result<T, CallError> {
    serde_path_to_error::deserialize::<_, T>(v.clone()).or_else(|first| {
        let coerced = v
            .as_str()
            .and_then(|s| serde_json::from_str::<Value>(s.trim()).ok())
            .filter(|c| c.is_number() || c.is_boolean());
        match coerced.map(serde_json::from_value::<T>) {
            Some(Ok(value)) => Ok(value),
            _ => Err(invalid(name, &first)),
        }
    })
}

fn invalid(name: &str, e: &serde_path_to_error::Error<serde_json::Error>) -> CallError {
    let path = e.path().to_string();
    let message = if path == "." { e.inner().to_string() } else { format!("`{path}`: {}", e.inner()) };
    CallError::InvalidArgument { name: name.to_owned(), message }
}

/// Finishes a call whose success type is JSON.
pub async fn json_output<T, E>(
    client: &Client,
    result: Result<ResponseValue<T>, ClientError<E>>,
) -> Result<Output, CallError> {
    overflowed(client)?;
    match result {
        Ok(rv) => {
            let status = rv.status().as_u16();
            let body = client.captured().map(|c| c.body).unwrap_or_default();
            declared_body(status, &body, None, said_json(client))
        }
        Err(ClientError::InvalidResponsePayload(bytes, e)) => {
            let body = client.captured().map_or(bytes, |c| c.body);
            declared_body(200, &body, Some(e.to_string()), said_json(client))
        }
        Err(e) => failure(client, e).await,
    }
}

/// Finishes a call whose success type is a byte stream.
pub async fn bytes_output<E>(
    client: &Client,
    result: Result<ResponseValue<ByteStream>, ClientError<E>>,
) -> Result<Output, CallError> {
    overflowed(client)?;
    match result {
        Ok(rv) => {
            let status = rv.status().as_u16();
            let content_type =
                rv.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let bytes = client.captured().map(|c| c.body).unwrap_or_default();
            if says_json(content_type.as_deref()) {
                return declared_body(status, &bytes, None, true);
            }
            Ok(Output::Bytes { status, content_type, bytes })
        }
        Err(e) => failure(client, e).await,
    }
}

/// Finishes a call with no success body.
pub async fn empty_output<E>(
    client: &Client,
    result: Result<ResponseValue<()>, ClientError<E>>,
) -> Result<Output, CallError> {
    overflowed(client)?;
    match result {
        Ok(rv) => {
            let status = rv.status().as_u16();
            let body = client.captured().map(|c| c.body).unwrap_or_default();
            if body.iter().all(u8::is_ascii_whitespace) {
                Ok(Output::Empty { status })
            } else {
                declared_body(status, &body, None, said_json(client))
            }
        }
        Err(e) => failure(client, e).await,
    }
}

/// [`CallError::TooLarge`] when the call's answer was not read whole.
fn overflowed(client: &Client) -> Result<(), CallError> {
    match client.captured() {
        Some(c) if c.overflow => Err(CallError::TooLarge { limit: client.max_response() }),
        _ => Ok(()),
    }
}

/// Interprets a 2xx body: JSON (checked for DocSpace's error envelope), or
/// text/bytes when it is not JSON.
pub(crate) fn json_body(status: u16, body: &[u8], mismatch: Option<String>) -> Result<Output, CallError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Output::Empty { status });
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => {
            if let Some(error) = envelope_error(&value) {
                return Err(error);
            }
            Ok(Output::Json { status, value, mismatch })
        }
        Err(_) => Ok(Output::Bytes { status, content_type: None, bytes: Bytes::copy_from_slice(body) }),
    }
}

/// Whether a `Content-Type` says JSON (`application/json`, `…+json`).
pub(crate) fn says_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|c| c.to_ascii_lowercase().contains("json"))
}

/// Whether the call's answer said it was JSON.
fn said_json(client: &Client) -> bool {
    client.captured().is_some_and(|c| c.json)
}

/// [`json_body`] for an answer whose `Content-Type` said JSON or not
/// (`declared_json`). One that said JSON but does not parse is malformed:
/// neither a result nor DocSpace's error. It fails the call rather than be
/// passed on as a success, or a write tool would report as done what
/// DocSpace may never have done. A body that never claimed to be JSON is
/// still passed on as it came.
pub(crate) fn declared_body(
    status: u16,
    body: &[u8],
    mismatch: Option<String>,
    declared_json: bool,
) -> Result<Output, CallError> {
    match json_body(status, body, mismatch)? {
        Output::Bytes { .. } if declared_json => Err(CallError::Malformed { status, message: error_message(body) }),
        output => Ok(output),
    }
}

/// DocSpace sometimes answers an error with HTTP 2xx and an envelope
/// `{status, statusCode, error: {message}}`.
pub fn envelope_error(value: &Value) -> Option<CallError> {
    let obj = value.as_object()?;
    let status_code = obj.get("statusCode").and_then(Value::as_u64);
    let error = obj.get("error").filter(|e| !e.is_null());
    let failed = error.is_some() || status_code.is_some_and(|s| s >= 400);
    if !failed {
        return None;
    }
    let message = error
        .and_then(|e| {
            e.get("message").and_then(Value::as_str).map(str::to_owned).or_else(|| e.as_str().map(str::to_owned))
        })
        .unwrap_or_else(|| "DocSpace reported an error without a message".to_owned());
    let status = status_code.and_then(|s| u16::try_from(s).ok()).filter(|s| *s >= 400).unwrap_or(500);
    Some(CallError::Upstream { status, message })
}

/// An error body's message: the envelope's `error.message`, a `message` or
/// `title`/`detail` (problem details), else the start of the text.
pub fn error_message(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        let message = value
            .pointer("/error/message")
            .or_else(|| value.get("message"))
            .or_else(|| value.get("detail"))
            .or_else(|| value.get("title"))
            .or_else(|| value.get("error"))
            .and_then(Value::as_str);
        if let Some(m) = message {
            return m.to_owned();
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_owned();
    }
    let mut cut: String = text.chars().take(500).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

async fn failure<E>(client: &Client, e: ClientError<E>) -> Result<Output, CallError> {
    match e {
        ClientError::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            let body = match client.captured() {
                Some(c) => c.body,
                None => response.bytes().await.unwrap_or_default(),
            };
            if (200..300).contains(&status) {
                declared_body(status, &body, None, said_json(client))
            } else {
                Err(CallError::Upstream { status, message: error_message(&body) })
            }
        }
        ClientError::ErrorResponse(rv) => {
            let body = client.captured().map(|c| c.body).unwrap_or_default();
            Err(CallError::Upstream { status: rv.status().as_u16(), message: error_message(&body) })
        }
        ClientError::InvalidResponsePayload(body, _) => declared_body(200, &body, None, said_json(client)),
        ClientError::InvalidRequest(m) | ClientError::Custom(m) => Err(CallError::InvalidRequest(m)),
        ClientError::CommunicationError(e) | ClientError::ResponseBodyError(e) | ClientError::InvalidUpgrade(e) => {
            Err(transport(&e))
        }
    }
}

/// Classifies a reqwest error (timeouts apart) without echoing the URL's secrets.
pub fn transport(e: &reqwest::Error) -> CallError {
    let cause = cause(e);
    // The portal's origin only: a URL's path and query may carry ids, never credentials (userinfo is refused).
    let at = e.url().map(|u| format!("at {} ", u.origin().ascii_serialization())).unwrap_or_default();
    if e.is_timeout() {
        CallError::Timeout(format!("DocSpace {at}did not answer in time ({cause})"))
    } else {
        CallError::Transport(format!("DocSpace {at}could not be reached: {cause}"))
    }
}

/// Why a request got no answer, in words: DNS, a refused connection, TLS, a
/// connection closed early; else reqwest's own chain of errors.
fn cause(e: &reqwest::Error) -> String {
    let mut chain = vec![e.without_url_ref()];
    let mut io_kind = None;
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            io_kind.get_or_insert(io.kind());
        }
        chain.push(s.to_string());
        source = s.source();
    }
    let detail = chain.last().cloned().unwrap_or_default();
    let any = |needle: &str| chain.iter().any(|c| c.to_ascii_lowercase().contains(needle));
    use std::io::ErrorKind;
    if e.is_timeout() {
        "no answer within the time limit".to_owned()
    } else if any("dns error") || any("failed to lookup address") || any("name or service not known") {
        format!("its host name could not be resolved (DNS: {detail})")
    } else if io_kind == Some(ErrorKind::ConnectionRefused) {
        "the connection was refused: nothing listens at that address and port".to_owned()
    } else if any("certificate") || any("tls") || any("handshake") {
        format!("the TLS handshake failed ({detail})")
    } else if matches!(
        io_kind,
        Some(ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::UnexpectedEof)
    ) || any("connection closed")
    {
        format!("the connection was closed before an answer ({detail})")
    } else {
        chain.join(": ")
    }
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        // reqwest appends ` for url (…)`; the URL can carry userinfo.
        let text = self.to_string();
        match text.find(" for url (") {
            Some(i) => text.get(..i).unwrap_or(&text).to_owned(),
            None => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: Value) -> Args {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn path_parameters_stay_one_segment() {
        let a = args(json!({"key": "abc-1", "id": 7, "up": "..", "here": ".", "back": "..\\people", "empty": ""}));
        assert_eq!(path_segment::<String>(&a, "key"), Ok("abc-1".to_owned()));
        assert_eq!(path_segment::<i32>(&a, "id"), Ok(7));
        for bad in ["up", "here", "back", "empty"] {
            let e = path_segment::<String>(&a, bad).unwrap_err();
            assert!(e.to_string().contains("not usable in the request path"), "{bad}: {e}");
        }
        assert_eq!(path_segment::<String>(&a, "absent"), Err(CallError::MissingArgument("absent".into())));
    }

    #[test]
    fn a_url_path_must_be_its_operations() {
        let t = "/api/2.0/files/share/{key}";
        assert!(path_matches("/", t, "/api/2.0/files/share/abc"));
        assert!(path_matches("/docspace", t, "/docspace/api/2.0/files/share/a%2Fb"));
        assert!(!path_matches("/", t, "/api/2.0/people/@self"), "normalised away");
        assert!(!path_matches("/", t, "/api/2.0/files/share/"), "an empty segment");
        assert!(!path_matches("/", t, "/api/2.0/files/share/a/b"), "one more segment");
        assert!(!path_matches("/docspace", t, "/api/2.0/files/share/abc"), "outside the base path");
        assert!(path_matches("/", "/api/2.0/files/{id}.json", "/api/2.0/files/5.json"), "a parameter within a segment");
        assert!(!path_matches("/", "/api/2.0/files/{id}.json", "/api/2.0/files/.json"));
    }

    #[test]
    fn reads_arguments_with_clear_errors() {
        let a = args(json!({"fileId": 5, "title": "x", "n": "42", "flag": "true", "bad": "abc"}));
        assert_eq!(required::<i32>(&a, "fileId"), Ok(5));
        assert_eq!(required::<i32>(&a, "n"), Ok(42));
        assert_eq!(optional::<bool>(&a, "flag"), Ok(Some(true)));
        assert_eq!(optional::<i32>(&a, "absent"), Ok(None));
        assert_eq!(required::<i32>(&a, "absent"), Err(CallError::MissingArgument("absent".into())));
        let err = required::<i32>(&a, "bad").unwrap_err();
        assert!(matches!(&err, CallError::InvalidArgument { name, .. } if name == "bad"), "{err}");
        assert!(err.to_string().contains("`bad`"));
    }

    #[test]
    fn absent_body_is_empty_object() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct B {
            title: Option<String>,
        }
        assert_eq!(body::<B>(&Args::new(), "body"), Ok(B { title: None }));
        assert_eq!(body::<Vec<i32>>(&Args::new(), "body"), Ok(vec![]));
    }

    #[test]
    fn detects_the_error_envelope() {
        let e =
            envelope_error(&json!({"status": 1, "statusCode": 403, "error": {"message": "Access denied"}})).unwrap();
        assert_eq!(e, CallError::Upstream { status: 403, message: "Access denied".into() });
        assert!(envelope_error(&json!({"status": 0, "statusCode": 200, "response": {}})).is_none());
        assert!(envelope_error(&json!({"response": {"error": null}})).is_none());
        let r = json_body(200, br#"{"statusCode": 500, "error": {"message": "boom"}}"#, None);
        assert_eq!(r, Err(CallError::Upstream { status: 500, message: "boom".into() }));
    }

    #[test]
    fn a_body_that_says_json_and_is_not_fails_the_call() {
        let malformed = declared_body(200, b"{not json", None, true);
        assert_eq!(malformed, Err(CallError::Malformed { status: 200, message: "{not json".into() }));
        assert_eq!(
            malformed.unwrap_err().to_string(),
            "DocSpace answered HTTP 200 with malformed JSON: {not json",
            "the message says what happened"
        );
        // A body that never claimed to be JSON is passed on as it came.
        let text = declared_body(200, b"plain words", None, false).unwrap();
        assert!(matches!(text, Output::Bytes { status: 200, .. }), "{text:?}");
        assert!(matches!(declared_body(200, br#"{"a": 1}"#, None, true), Ok(Output::Json { .. })));
        assert_eq!(declared_body(204, b" ", None, true), Ok(Output::Empty { status: 204 }));
        assert!(says_json(Some("application/json; charset=utf-8")) && says_json(Some("application/problem+JSON")));
        assert!(!says_json(Some("text/plain")) && !says_json(None));
    }

    #[test]
    fn error_messages_prefer_docspace_text() {
        assert_eq!(error_message(br#"{"error": {"message": "Not found"}}"#), "Not found");
        assert_eq!(error_message(br#"{"title": "Too many", "status": 429}"#), "Too many");
        assert_eq!(error_message(b"<html>oops</html>"), "<html>oops</html>");
        assert_eq!(error_message(b""), "(empty body)");
    }
}
