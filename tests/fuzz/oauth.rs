//! The OAuth proxy (target 4): random parameters to `/authorize` (GET, and
//! the consent form's POST), `/oauth/callback`, `/token` (form and JSON
//! bodies, Basic credentials), `/register`, `/revoke`, `/introspect` and
//! the discovery documents, and random or mutated bearer tokens on `/mcp`.
//!
//! The values come from a real sign-in made once at the start (a client id
//! from `/register`, access and refresh tokens, an unused code, a consent
//! page's pending request and CSRF token, the state sent upstream), used as
//! they are, swapped between fields, or mutated: bits flipped inside the
//! sealed bytes, cut, lengthened, version byte changed, re-encoded. The
//! router fuzzed is a replica of the server that issued them (same key and
//! issuer), in this process. Client metadata documents are fetched through a
//! proxy on a closed loopback port, so a URL client id never leaves the
//! machine.
//!
//! Every request must be answered within the time bound with a status other
//! than 500; afterwards the discovery document is served and a token kept
//! aside still opens an MCP session.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use arbitrary::{Arbitrary, Unstructured};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use docspace_mcp::http::Overrides;
use docspace_mcp::sandbox;
use docspace_mcp_client::reqwest;
use serde_json::{Value, json};

use crate::common::oauth::{self as flow, KEY, REDIRECT};
use crate::common::server::{OAuth, TestServer};
use crate::harness::{self, CI_ITERATIONS, CI_TIME, MAX_LEN};
use crate::http::Server;
use crate::input;
use crate::wire;

/// The real values of a sign-in, by what they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Real {
    ClientId,
    AccessToken,
    RefreshToken,
    Code,
    Verifier,
    Pending,
    Csrf,
    State,
    Redirect,
    Issuer,
    Portal,
}

const REALS: &[Real] = &[
    Real::ClientId,
    Real::AccessToken,
    Real::RefreshToken,
    Real::Code,
    Real::Verifier,
    Real::Pending,
    Real::Csrf,
    Real::State,
    Real::Redirect,
    Real::Issuer,
    Real::Portal,
];

/// What is done to a value before it is sent.
#[derive(Debug, Clone)]
pub enum Mutation {
    None,
    /// One bit of the decoded token flipped.
    FlipBit(usize, u8),
    /// The decoded token cut to this many bytes.
    Cut(usize),
    /// Bytes added to the decoded token.
    Append(Vec<u8>),
    /// The version byte replaced.
    Version(u8),
    /// Standard base64 with padding instead of base64url.
    Standard,
    /// Text appended to the token as sent.
    Suffix(String),
    /// The text cut to this many characters.
    Chars(usize),
}

/// A parameter value: text, or a real value (mutated).
#[derive(Debug, Clone)]
pub enum Val {
    Text(String),
    Real(Real, Mutation),
}

fn val(u: &mut Unstructured) -> arbitrary::Result<Val> {
    if u.ratio(1, 3)? {
        return Ok(Val::Text(input::string(
            u,
            &[
                "code",
                "token",
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "S256",
                "plain",
                "none",
                "allow",
                "deny",
                "files:read",
                "openid",
                "access_token",
                "http://127.0.0.1:9/callback",
                "https://client.example/cb",
                "https://client.example/metadata.json",
                "http://localhost/",
                "client_secret_basic",
            ],
        )?));
    }
    let real = *u.choose(REALS)?;
    let mutation = match u.int_in_range(0..=12)? {
        0 => Mutation::FlipBit(u.arbitrary()?, u.int_in_range(0..=7)?),
        1 => Mutation::Cut(u.int_in_range(0..=80)?),
        2 => Mutation::Append(u.arbitrary()?),
        3 => Mutation::Version(u.arbitrary()?),
        4 => Mutation::Standard,
        5 => Mutation::Suffix(input::string(u, &["=", "==", ".", " ", "%00", "A"])?),
        6 => Mutation::Chars(u.int_in_range(0..=200)?),
        _ => Mutation::None,
    };
    Ok(Val::Real(real, mutation))
}

/// A request to the proxy.
#[derive(Debug, Clone)]
pub struct OAuthReq {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, Val)>,
    pub body: Payload,
    pub authorization: Option<Auth>,
    /// Send the consent page's CSRF cookie (or a made-up cookie).
    pub cookie: Option<Option<String>>,
    /// Extra headers (Origin, Host, Content-Type, …).
    pub headers: Vec<(String, String)>,
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Payload {
    None,
    Form(Vec<(String, Val)>),
    Json(Vec<(String, Val)>),
    /// A registration document, structure-aware.
    Register(Value),
    Raw(Vec<u8>),
}

/// The `Authorization` header.
#[derive(Debug, Clone)]
pub enum Auth {
    Basic(Val, Val),
    Bearer(Val),
    Raw(String),
}

const PATHS: &[&str] = &[
    "/authorize",
    "/oauth/authorize",
    "/token",
    "/oauth/token",
    "/register",
    "/oauth/register",
    "/revoke",
    "/oauth/revoke",
    "/introspect",
    "/oauth/introspect",
    "/oauth/callback",
    "/mcp",
    "/sse",
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
    "/.well-known/oauth-protected-resource",
    "/.well-known/oauth-protected-resource/mcp",
    "/mcp/.well-known/openid-configuration",
];

const KEYS: &[&str] = &[
    "response_type",
    "client_id",
    "client_secret",
    "redirect_uri",
    "state",
    "code_challenge",
    "code_challenge_method",
    "scope",
    "resource",
    "code",
    "code_verifier",
    "grant_type",
    "refresh_token",
    "token",
    "token_type_hint",
    "error",
    "error_description",
    "iss",
    "request",
    "csrf",
    "decision",
];

fn pairs(u: &mut Unstructured) -> arbitrary::Result<Vec<(String, Val)>> {
    let n = u.int_in_range(0..=8)?;
    (0..n)
        .map(|_| {
            let key = if u.ratio(9, 10)? { (*u.choose(KEYS)?).to_owned() } else { input::string(u, &[])? };
            Ok((key, val(u)?))
        })
        .collect()
}

fn registration(u: &mut Unstructured) -> arbitrary::Result<Value> {
    let mut doc = serde_json::Map::new();
    let uris = ["http://127.0.0.1:9/callback", "https://client.example/cb", "http://localhost:1/x", "javascript:x", ""];
    if u.ratio(4, 5)? {
        let n = u.int_in_range(0..=3)?;
        let list: Vec<Value> = (0..n).map(|_| Ok(json!(input::string(u, &uris)?))).collect::<arbitrary::Result<_>>()?;
        doc.insert("redirect_uris".into(), Value::Array(list));
    }
    for key in ["client_name", "token_endpoint_auth_method", "grant_types", "response_types", "scope", "client_uri"] {
        if u.ratio(1, 2)? {
            let v = match key {
                "grant_types" | "response_types" => {
                    json!([input::string(u, &["authorization_code", "refresh_token", "code", "implicit"])?])
                }
                "token_endpoint_auth_method" => {
                    json!(input::string(u, &["none", "client_secret_post", "client_secret_basic", "private_key_jwt"])?)
                }
                _ => input::value(u, 1, &[], &["fuzz"])?,
            };
            doc.insert(key.into(), v);
        }
    }
    if u.ratio(1, 10)? {
        return input::value(u, 3, &["redirect_uris", "client_name"], &uris);
    }
    Ok(Value::Object(doc))
}

/// A real value, as it is.
fn real(r: Real) -> Val {
    Val::Real(r, Mutation::None)
}

fn text(t: &str) -> Val {
    Val::Text(t.to_owned())
}

/// A request a real client or browser sends at one step of the flow, with
/// the sign-in's values, then edited: a value mutated or replaced, a pair
/// dropped or given twice. Random pairs alone seldom get past the first
/// check; these reach the decisions behind it.
fn step(u: &mut Unstructured) -> arbitrary::Result<OAuthReq> {
    use Real::*;
    let authorize = || {
        vec![
            ("response_type".to_owned(), text("code")),
            ("client_id".to_owned(), real(ClientId)),
            ("redirect_uri".to_owned(), real(Redirect)),
            ("state".to_owned(), text("client-state")),
            ("code_challenge".to_owned(), text("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")),
            ("code_challenge_method".to_owned(), text("S256")),
            ("scope".to_owned(), text("files:read openid")),
            ("resource".to_owned(), Val::Text("{issuer}/mcp".into())),
        ]
    };
    let (method, path, mut pairs, mut cookie, mut authorization) = match u.int_in_range(0..=7)? {
        0 => (Method::GET, "/authorize", authorize(), None, None),
        1 => (
            Method::POST,
            "/authorize",
            vec![("request".into(), real(Pending)), ("csrf".into(), real(Csrf)), ("decision".into(), text("allow"))],
            Some(None),
            None,
        ),
        2 => (
            Method::GET,
            "/oauth/callback",
            vec![("code".into(), text("upstream-code")), ("state".into(), real(State))],
            None,
            None,
        ),
        3 => (
            Method::POST,
            "/token",
            vec![
                ("grant_type".into(), text("authorization_code")),
                ("code".into(), real(Code)),
                ("client_id".into(), real(ClientId)),
                ("redirect_uri".into(), real(Redirect)),
                ("code_verifier".into(), real(Verifier)),
            ],
            None,
            None,
        ),
        4 => (
            Method::POST,
            "/token",
            vec![
                ("grant_type".into(), text("refresh_token")),
                ("refresh_token".into(), real(RefreshToken)),
                ("client_id".into(), real(ClientId)),
            ],
            None,
            None,
        ),
        5 => (
            Method::POST,
            "/revoke",
            vec![("token".into(), real(AccessToken)), ("client_id".into(), real(ClientId))],
            None,
            None,
        ),
        6 => (
            Method::POST,
            "/introspect",
            vec![("token".into(), real(AccessToken))],
            None,
            Some(Auth::Basic(real(ClientId), text(""))),
        ),
        _ => (Method::POST, "/mcp", vec![], None, Some(Auth::Bearer(real(AccessToken)))),
    };
    for _ in 0..u.int_in_range(0..=2)? {
        if pairs.is_empty() {
            break;
        }
        let at = u.choose_index(pairs.len())?;
        match u.int_in_range(0..=4)? {
            0 => {
                pairs.remove(at);
            }
            1 => {
                let again = pairs[at].clone();
                pairs.push(again);
            }
            2 => pairs[at].1 = Val::Text(input::string(u, &[])?),
            _ => pairs[at].1 = val(u)?,
        }
    }
    if u.ratio(1, 6)? {
        cookie = None;
    }
    if u.ratio(1, 6)? {
        authorization = Some(Auth::Bearer(val(u)?));
    }
    let (query, body) = match (&method, path) {
        (&Method::GET, _) => (pairs, Payload::None),
        (_, "/mcp") => (vec![], Payload::Raw(input::initialize("2025-06-18").to_string().into_bytes())),
        _ if u.ratio(1, 5)? => (vec![], Payload::Json(pairs)),
        _ => (vec![], Payload::Form(pairs)),
    };
    let path = if path != "/mcp" && path != "/oauth/callback" && u.arbitrary()? {
        format!("/oauth{path}")
    } else {
        path.to_owned()
    };
    let mut headers = vec![("origin".to_owned(), "{issuer}".to_owned())];
    if path == "/mcp" {
        headers.push(("accept".into(), "application/json, text/event-stream".into()));
        headers.push(("content-type".into(), "application/json".into()));
    }
    Ok(OAuthReq { method, path, query, body, authorization, cookie, headers })
}

impl<'a> Arbitrary<'a> for OAuthReq {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        if u.ratio(1, 2)? {
            return step(u);
        }
        let path = (*u.choose(PATHS)?).to_owned();
        let post =
            matches!(path.trim_start_matches("/oauth"), "/token" | "/register" | "/revoke" | "/introspect" | "/mcp");
        let method = if u.ratio(1, 8)? {
            u.choose(&[Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS])?.clone()
        } else if post || (path.ends_with("/authorize") && u.arbitrary()?) {
            Method::POST
        } else {
            Method::GET
        };
        let body = match u.int_in_range(0..=9)? {
            0 => Payload::None,
            1 => Payload::Raw(input::body(u)?),
            2 | 3 => Payload::Json(pairs(u)?),
            4 if path.ends_with("/register") => Payload::Register(registration(u)?),
            4 => Payload::Raw(input::message(u, 1)?.to_string().into_bytes()),
            _ if path.ends_with("/register") => Payload::Register(registration(u)?),
            _ => Payload::Form(pairs(u)?),
        };
        let authorization = match u.int_in_range(0..=5)? {
            0 => Some(Auth::Basic(val(u)?, val(u)?)),
            1 | 2 => Some(Auth::Bearer(val(u)?)),
            3 => Some(Auth::Raw(input::string(u, &["Basic", "Basic ::", "Bearer", "Negotiate x"])?)),
            _ => None,
        };
        let cookie = match u.int_in_range(0..=3)? {
            0 => Some(None),
            1 => Some(Some(input::string(u, &["docspace_mcp_consent=x", "docspace_mcp_csrf_=", "a=b; a=c"])?)),
            _ => None,
        };
        let mut headers = Vec::new();
        for _ in 0..u.int_in_range(0..=2)? {
            let name = *u.choose(&["origin", "host", "content-type", "accept", "x-forwarded-for"])?;
            let value = match name {
                "origin" => input::string(u, &["{issuer}", "https://evil.example", "null"])?,
                "content-type" => {
                    input::string(u, &["application/json", "application/x-www-form-urlencoded", "text/plain"])?
                }
                _ => wire::setting_value(u, name, &[])?,
            };
            headers.push((name.to_owned(), value));
        }
        Ok(Self { method, path, query: pairs(u)?, body, authorization, cookie, headers })
    }
}

/// The values of a sign-in.
struct Values {
    client_id: String,
    access: String,
    refresh: String,
    code: String,
    verifier: String,
    pending: String,
    csrf: String,
    state: String,
    issuer: String,
    portal: String,
}

impl Values {
    fn real(&self, r: Real) -> &str {
        match r {
            Real::ClientId => &self.client_id,
            Real::AccessToken => &self.access,
            Real::RefreshToken => &self.refresh,
            Real::Code => &self.code,
            Real::Verifier => &self.verifier,
            Real::Pending => &self.pending,
            Real::Csrf => &self.csrf,
            Real::State => &self.state,
            Real::Redirect => REDIRECT,
            Real::Issuer => &self.issuer,
            Real::Portal => &self.portal,
        }
    }

    fn resolve(&self, v: &Val) -> String {
        match v {
            Val::Text(t) => t.replace("{issuer}", &self.issuer),
            Val::Real(r, m) => mutate(self.real(*r), m),
        }
    }
}

/// `token` with `m` applied (to its sealed bytes when it decodes).
fn mutate(token: &str, m: &Mutation) -> String {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok();
    match (m, bytes) {
        (Mutation::None, _) => token.to_owned(),
        (Mutation::FlipBit(at, bit), Some(mut b)) if !b.is_empty() => {
            let at = at % b.len();
            b[at] ^= 1 << bit;
            URL_SAFE_NO_PAD.encode(b)
        }
        (Mutation::Cut(n), Some(mut b)) => {
            b.truncate(*n);
            URL_SAFE_NO_PAD.encode(b)
        }
        (Mutation::Append(extra), Some(mut b)) => {
            b.extend_from_slice(extra);
            URL_SAFE_NO_PAD.encode(b)
        }
        (Mutation::Version(v), Some(mut b)) if !b.is_empty() => {
            b[0] = *v;
            URL_SAFE_NO_PAD.encode(b)
        }
        (Mutation::Standard, Some(b)) => STANDARD.encode(b),
        (Mutation::Suffix(s), _) => format!("{token}{s}"),
        (Mutation::Chars(n), _) => token.chars().take(*n).collect(),
        (_, _) => format!("{token}x"),
    }
}

fn form(values: &Values, pairs: &[(String, Val)]) -> String {
    let resolved: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.clone(), values.resolve(v))).collect();
    form_urlencoded::Serializer::new(String::new()).extend_pairs(&resolved).finish()
}

fn build(values: &Values, req: &OAuthReq) -> Request<Body> {
    let mut uri = req.path.clone();
    if !req.query.is_empty() {
        uri.push('?');
        uri.push_str(&form(values, &req.query));
    }
    let mut builder = Request::builder().method(req.method.clone()).uri(uri);
    if !req.headers.iter().any(|(k, _)| k == "host") {
        builder = builder.header("host", "127.0.0.1");
    }
    let (content_type, body) = match &req.body {
        Payload::None => (None, Vec::new()),
        Payload::Form(p) => (Some("application/x-www-form-urlencoded"), form(values, p).into_bytes()),
        Payload::Json(p) => {
            let map: serde_json::Map<String, Value> =
                p.iter().map(|(k, v)| (k.clone(), json!(values.resolve(v)))).collect();
            (Some("application/json"), Value::Object(map).to_string().into_bytes())
        }
        Payload::Register(doc) => (Some("application/json"), doc.to_string().into_bytes()),
        Payload::Raw(b) => (None, b.clone()),
    };
    if let Some(t) = content_type {
        builder = builder.header("content-type", t);
    }
    match &req.authorization {
        Some(Auth::Basic(id, secret)) => {
            let pair = format!("{}:{}", values.resolve(id), values.resolve(secret));
            builder = builder.header("authorization", format!("Basic {}", STANDARD.encode(pair)));
        }
        Some(Auth::Bearer(t)) => {
            if let Ok(v) = axum::http::HeaderValue::from_str(&format!("Bearer {}", values.resolve(t))) {
                builder = builder.header("authorization", v);
            }
        }
        Some(Auth::Raw(s)) => {
            if let Ok(v) = axum::http::HeaderValue::from_str(s) {
                builder = builder.header("authorization", v);
            }
        }
        None => {}
    }
    match &req.cookie {
        Some(None) => {
            let name: String =
                values.csrf.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')).take(16).collect();
            builder = builder.header("cookie", format!("docspace_mcp_csrf_{name}={}", values.csrf));
        }
        Some(Some(c)) => {
            if let Ok(v) = axum::http::HeaderValue::from_str(c) {
                builder = builder.header("cookie", v);
            }
        }
        None => {}
    }
    for (k, v) in &req.headers {
        if let Ok(v) = axum::http::HeaderValue::from_str(&v.replace("{issuer}", &values.issuer)) {
            builder = builder.header(k.as_str(), v);
        }
    }
    let mut request = builder.body(Body::from(body)).unwrap_or_else(|_| Request::new(Body::empty()));
    request.extensions_mut().insert(ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 1], 40_000))));
    request
}

/// A few requests to the proxy.
#[derive(Debug)]
pub struct Exchange(Vec<OAuthReq>);

impl<'a> Arbitrary<'a> for Exchange {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let n = u.int_in_range(1..=4)?;
        Ok(Self((0..n).map(|_| OAuthReq::arbitrary(u)).collect::<arbitrary::Result<_>>()?))
    }
}

async fn drive(server: &Server, values: &Values, exchange: &Exchange) {
    for (i, req) in exchange.0.iter().enumerate() {
        let answer = tokio::time::timeout(harness::HANG, wire::call(&server.app, build(values, req)))
            .await
            .unwrap_or_else(|_| panic!("request {i} got no answer within {:?}: {req:?}", harness::HANG));
        assert_ne!(
            answer.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "request {i} got 500: {req:?}\n{}",
            String::from_utf8_lossy(&answer.body)
        );
    }
}

/// Discovery still answers, and the token kept aside still opens a session.
async fn probe(server: &Server, token: &str) {
    let get = Request::get("/.well-known/oauth-authorization-server")
        .header("host", "127.0.0.1")
        .body(Body::empty())
        .unwrap();
    let answer = wire::call(&server.app, get).await;
    assert_eq!(answer.status, StatusCode::OK, "discovery: {}", String::from_utf8_lossy(&answer.body));
    let mut init = Request::post("/mcp")
        .header("host", "127.0.0.1")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(input::initialize("2025-06-18").to_string()))
        .unwrap();
    init.extensions_mut().insert(ConnectInfo(std::net::SocketAddr::from(([198, 51, 100, 10], 1))));
    let answer = wire::call(&server.app, init).await;
    assert_eq!(answer.status, StatusCode::OK, "the kept token: {}", String::from_utf8_lossy(&answer.body));
    let session = answer.session.expect("a session");
    let mut delete = Request::delete("/mcp")
        .header("host", "127.0.0.1")
        .header("authorization", format!("Bearer {token}"))
        .header("mcp-session-id", session)
        .body(Body::empty())
        .unwrap();
    delete.extensions_mut().insert(ConnectInfo(std::net::SocketAddr::from(([198, 51, 100, 10], 1))));
    assert_eq!(wire::call(&server.app, delete).await.status, StatusCode::OK);
}

/// Signs in on a real server (over a socket), then builds its replica in
/// this process: the values to fuzz with, a token kept aside, the replica.
async fn setup() -> (TestServer, Values, String, Server) {
    let issuing = TestServer::builder().oauth(OAuth::Shared).start().await;
    let base = issuing.base.clone();
    let client_id = flow::register(&base, &[REDIRECT], "fuzz").await;
    let signed = flow::tokens(&base, &flow::Flow::new(&client_id, REDIRECT)).await;
    let kept = flow::tokens(&base, &flow::Flow::new(&client_id, REDIRECT)).await;
    let unused = flow::Flow::new(&client_id, REDIRECT);
    let code = flow::code_for(&base, &unused).await;
    let browser = flow::browser();
    let (_, _, consent) = flow::consent_page(&browser, &flow::Flow::new(&client_id, REDIRECT).url(&base, &[])).await;
    let consent = consent.expect("a consent page");
    let field = |name: &str| consent.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let (pending, csrf) = (field("request"), field("csrf"));
    let upstream = flow::location(&flow::decide(&browser, &base, &consent, "allow", true).await);
    let state = flow::query_of(&upstream).get("state").cloned().unwrap_or_default();
    let token = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    let values = Values {
        client_id,
        access: token(&signed, "access_token"),
        refresh: token(&signed, "refresh_token"),
        code,
        verifier: unused.verifier.clone(),
        pending,
        csrf,
        state,
        issuer: base.clone(),
        portal: issuing.portal.base_url().to_owned(),
    };
    let documents = docspace_mcp::metadata_client_builder("fuzz")
        .proxy(reqwest::Proxy::all("http://127.0.0.1:9").expect("a proxy"))
        .build()
        .expect("the metadata client");
    let mut args: Vec<String> = [
        "--oauth-base-url",
        "{portal}",
        "--server-base-url",
        base.as_str(),
        "--oauth-secret-key",
        KEY,
        "--oauth-client-id",
        sandbox::oauth::CLIENT_ID,
        "--oauth-client-secret",
        sandbox::oauth::CLIENT_SECRET,
    ]
    .map(str::to_owned)
    .to_vec();
    for endpoint in
        ["server-metadata", "resource-metadata", "authorize", "callback", "introspect", "register", "revoke", "token"]
    {
        args.extend([format!("--oauth-{endpoint}-rate-limit"), "0".into()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let replica =
        crate::http::server_on(Arc::clone(&issuing.portal), &args, Overrides { metadata_client: Some(documents) })
            .await;
    (issuing, values, token(&kept, "access_token"), replica)
}

#[test]
fn oauth_requests() {
    let rt = harness::runtime("oauth_requests");
    let (issuing, values, kept, replica) = rt.block_on(setup());
    let (rt, _issuing, replica) = (AssertUnwindSafe(rt), AssertUnwindSafe(issuing), AssertUnwindSafe(replica));
    bolero::check!()
        .with_arbitrary::<Exchange>()
        .with_iterations(CI_ITERATIONS)
        .with_test_time(CI_TIME)
        .with_max_len(MAX_LEN)
        .for_each(|exchange| {
            harness::run(&rt, "oauth_requests", "the exchange", drive(&replica, &values, exchange));
            harness::run(&rt, "oauth_requests", "the probe", probe(&replica, &kept));
        });
}
