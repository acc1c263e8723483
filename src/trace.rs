//! W3C Trace Context (<https://www.w3.org/TR/trace-context/>): a client's
//! `traceparent` (and its `tracestate`), taken from the HTTP request's
//! headers or from an MCP request's `params._meta`, is sent on the DocSpace
//! requests it causes, so that a tracing system links the client's span,
//! this server's logs and DocSpace's. Without an OTLP endpoint this server
//! opens no span of its own: it forwards the context unchanged, as the
//! specification asks of a participant that does not trace. With one,
//! [`crate::spans`] makes the context the parent of the server's spans, and
//! the `traceparent` sent names the DocSpace request's own span.
//!
//! Only well-formed values are forwarded. `traceparent` is
//! `version-traceid-parentid-flags` in lower-case hex: version `00` is
//! exactly that (55 characters); a later version (`01` to `fe`; `ff` is
//! invalid) may append `-`-separated fields, which are kept, within
//! [`MAX_TRACEPARENT`] characters. A trace id or parent id of all zeros is
//! invalid. `tracestate` travels only beside a valid `traceparent`, and only
//! when it is a well-formed list of at most 32 `key=value` members within
//! 512 characters; otherwise it alone is dropped.

use reqwest::header::{HeaderName, HeaderValue};

/// `traceparent`.
pub(crate) static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// `tracestate`.
pub(crate) static TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// The longest `traceparent` accepted (version 00 has 55 characters; later
/// versions may add fields).
const MAX_TRACEPARENT: usize = 256;
/// The longest `tracestate` forwarded (the specification asks that at least
/// 512 characters be propagated).
const MAX_TRACESTATE: usize = 512;
/// The most list members of a `tracestate`.
const MAX_MEMBERS: usize = 32;

/// A trace context to forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TraceContext {
    /// The `traceparent` value, as received.
    pub traceparent: HeaderValue,
    /// The `tracestate` value, when it was received and is well-formed.
    pub tracestate: Option<HeaderValue>,
}

impl TraceContext {
    /// The context of `traceparent` and `tracestate`, or `None` when
    /// `traceparent` is not a valid one (`tracestate` alone is dropped when
    /// it is malformed).
    pub(crate) fn parse(traceparent: &str, tracestate: Option<&str>) -> Option<Self> {
        if !valid_traceparent(traceparent) {
            return None;
        }
        let traceparent = HeaderValue::from_str(traceparent).ok()?;
        let tracestate = tracestate.filter(|s| valid_tracestate(s)).and_then(|s| HeaderValue::from_str(s).ok());
        Some(Self { traceparent, tracestate })
    }

    /// The context an HTTP request's headers carry: `None` when it has no
    /// `traceparent`, `Some(None)` when its `traceparent` is invalid.
    pub(crate) fn from_headers(headers: &http::HeaderMap) -> Option<Option<Self>> {
        let parent = headers.get(&TRACEPARENT)?;
        // Several `tracestate` headers are one list (RFC 9110 §5.3); one is the usual case.
        let state: Vec<&str> = headers.get_all(&TRACESTATE).iter().filter_map(|v| v.to_str().ok()).collect();
        let state = (!state.is_empty()).then(|| state.join(","));
        Some(parent.to_str().ok().and_then(|p| Self::parse(p, state.as_deref())))
    }

    /// The context an MCP request's `_meta` carries (`traceparent`,
    /// `tracestate` string members): `None` when it has no `traceparent`,
    /// `Some(None)` when it is invalid.
    pub(crate) fn from_meta(meta: &serde_json::Map<String, serde_json::Value>) -> Option<Option<Self>> {
        let parent = meta.get("traceparent")?;
        let state = meta.get("tracestate").and_then(serde_json::Value::as_str);
        Some(parent.as_str().and_then(|p| Self::parse(p, state)))
    }

    /// The headers DocSpace requests carry.
    pub(crate) fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        let mut headers = vec![(TRACEPARENT.clone(), self.traceparent.clone())];
        if let Some(state) = &self.tracestate {
            headers.push((TRACESTATE.clone(), state.clone()));
        }
        headers
    }
}

fn lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `version-traceid-parentid-flags` (trace-context §3.2).
fn valid_traceparent(value: &str) -> bool {
    if value.len() < 55 || value.len() > MAX_TRACEPARENT || !value.is_ascii() {
        return false;
    }
    let mut fields = value.split('-');
    let (Some(version), Some(trace_id), Some(parent_id), Some(flags)) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return false;
    };
    let rest: Vec<&str> = fields.collect();
    lower_hex(version, 2)
        && version != "ff"
        && lower_hex(trace_id, 32)
        && trace_id.bytes().any(|b| b != b'0')
        && lower_hex(parent_id, 16)
        && parent_id.bytes().any(|b| b != b'0')
        && lower_hex(flags, 2)
        // Version 00 has exactly four fields; a later one may add more (§3.2.4).
        && (rest.is_empty() || version != "00")
        && rest.iter().all(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A `tracestate` list (trace-context §3.3): members `key=value`,
/// comma-separated with optional spaces; empty members are allowed.
fn valid_tracestate(value: &str) -> bool {
    if value.len() > MAX_TRACESTATE {
        return false;
    }
    let members: Vec<&str> = value.split(',').map(|m| m.trim_matches([' ', '\t'])).filter(|m| !m.is_empty()).collect();
    members.len() <= MAX_MEMBERS && members.iter().all(|m| valid_member(m))
}

fn valid_member(member: &str) -> bool {
    let Some((key, value)) = member.split_once('=') else { return false };
    valid_key(key) && valid_value(value)
}

/// `simple-key` or `tenant-id@system-id`: lower-case letters, digits, `_-*/`.
fn valid_key(key: &str) -> bool {
    let part = |s: &str, max: usize| {
        !s.is_empty()
            && s.len() <= max
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-*/".contains(&b))
    };
    match key.split_once('@') {
        Some((tenant, system)) => {
            part(tenant, 241)
                && part(system, 14)
                && system.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
                && tenant.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        }
        None => part(key, 256) && key.bytes().next().is_some_and(|b| b.is_ascii_lowercase()),
    }
}

/// Up to 256 printable characters other than `,` and `=`, not ending in a space.
fn valid_value(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 256
        && !value.ends_with(' ')
        && value.bytes().all(|b| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=')
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn traceparents_are_checked_field_by_field() {
        assert!(valid_traceparent(GOOD));
        assert!(!valid_traceparent(&GOOD.to_uppercase()), "upper-case hex");
        assert!(!valid_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"), "zero trace id");
        assert!(!valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"), "zero parent id");
        assert!(!valid_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), "version ff");
        assert!(!valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"), "short trace id");
        assert!(!valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"), "00 has 4 fields");
        assert!(!valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g"), "flags not hex");
        assert!(!valid_traceparent("00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01"), "separators");
        assert!(!valid_traceparent(""), "empty");
        assert!(valid_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"), "later version");
        assert!(!valid_traceparent(&format!(
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-{}",
            "a".repeat(300)
        )));
    }

    #[test]
    fn tracestate_travels_only_when_well_formed_and_beside_a_valid_parent() {
        let c = TraceContext::parse(GOOD, Some("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE")).unwrap();
        assert_eq!(c.tracestate.unwrap(), "rojo=00f067aa0ba902b7, congo=t61rcWkgMzE");
        let c = TraceContext::parse(GOOD, Some("tenant@vendor=x")).unwrap();
        assert!(c.tracestate.is_some());
        for bad in ["Upper=x", "k=v\u{7f}", "k=a,b", "noequals", "k=a=b", "=v", &"k=v,".repeat(40)] {
            assert!(TraceContext::parse(GOOD, Some(bad)).unwrap().tracestate.is_none(), "{bad:?}");
        }
        assert!(TraceContext::parse("garbage", Some("rojo=1")).is_none());
        let headers = TraceContext::parse(GOOD, None).unwrap().headers();
        assert_eq!(headers, vec![(TRACEPARENT.clone(), HeaderValue::from_static(GOOD))]);
    }

    #[test]
    fn from_headers_and_from_meta_tell_absent_from_invalid() {
        let mut h = http::HeaderMap::new();
        assert_eq!(TraceContext::from_headers(&h), None);
        h.insert(&TRACEPARENT, HeaderValue::from_static("00-bad"));
        assert_eq!(TraceContext::from_headers(&h), Some(None));
        h.insert(&TRACEPARENT, HeaderValue::from_static(GOOD));
        h.append(&TRACESTATE, HeaderValue::from_static("a=1"));
        h.append(&TRACESTATE, HeaderValue::from_static("b=2"));
        let c = TraceContext::from_headers(&h).unwrap().unwrap();
        assert_eq!(c.tracestate.unwrap(), "a=1,b=2");
        let meta = serde_json::json!({"traceparent": GOOD, "tracestate": "a=1"});
        let c = TraceContext::from_meta(meta.as_object().unwrap()).unwrap().unwrap();
        assert_eq!(c.traceparent, GOOD);
        let meta = serde_json::json!({"traceparent": 7});
        assert_eq!(TraceContext::from_meta(meta.as_object().unwrap()), Some(None));
        assert_eq!(TraceContext::from_meta(&serde_json::Map::new()), None);
    }
}
