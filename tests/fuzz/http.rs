//! JSON-RPC over HTTP (targets 1 and 5): sequences of requests — arbitrary
//! methods, paths, queries, headers (`Mcp-Session-Id`, the `X-Mcp-*`
//! configuration headers, `Authorization`, `Host`, `Origin`) and bodies
//! (bytes, or JSON-RPC messages with `tools/call` shaped by the tools'
//! schemas) — against the in-process router, session ids carried from
//! answer to request. Two servers: the operator's (the sandbox as its
//! portal) and one without a portal where clients name theirs
//! (`--allowed-base-urls`, loopback only, so nothing leaves the machine).
//!
//! Every request must be answered, with a status other than 500, within
//! the time bound; afterwards a new client must still be able to open a
//! session and list tools (nothing the input did may wedge the server).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arbitrary::{Arbitrary, Unstructured};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use clap::Parser;
use docspace_mcp::sandbox::{self, Sandbox};
use docspace_mcp::{Cli, Config, http};
use tokio_util::sync::CancellationToken;

use crate::harness::{self, CI_ITERATIONS, CI_TIME, MAX_LEN};
use crate::wire::{self, Req, Sessions};

/// A server under test, in this process, and the sandbox portal beside it.
pub struct Server {
    pub app: Router,
    pub portal: Arc<Sandbox>,
    _stop: StopOnDrop,
}

struct StopOnDrop(CancellationToken);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// The flags every fuzzed server gets: short DocSpace deadlines (a tool
/// call waits at most a few seconds, well within the hang bound), sessions
/// that hibernate after a second (so rebuilding them is fuzzed too).
const COMMON: &[&str] = &[
    "--transport",
    "http",
    "--request-timeout",
    "3",
    "--operation-timeout",
    "1",
    "--session-hibernate-after",
    "1",
    "--http-body-timeout",
    "2",
];

/// Starts a sandbox and builds the router for `args` (plus [`COMMON`]);
/// `{portal}` in an argument stands for the sandbox's base URL.
pub async fn server(args: &[&str], overrides: http::Overrides) -> Server {
    let portal =
        Arc::new(Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.expect("the sandbox portal"));
    server_on(portal, args, overrides).await
}

/// [`server`] with a sandbox that is already running.
pub async fn server_on(portal: Arc<Sandbox>, args: &[&str], overrides: http::Overrides) -> Server {
    let mut argv = vec!["docspace-mcp".to_owned()];
    argv.extend(COMMON.iter().map(|a| (*a).to_owned()));
    argv.extend(args.iter().map(|a| a.replace("{portal}", portal.base_url())));
    let cli = Cli::try_parse_from(&argv).expect("fuzz server flags");
    let config = Config::from_args(cli.serve).expect("fuzz server settings");
    let stop = CancellationToken::new();
    let (app, _state) = http::app(config, stop.clone(), overrides).expect("the router");
    Server { app, portal, _stop: StopOnDrop(stop) }
}

/// The operator's server: the sandbox is its portal, CORS open to any origin.
pub async fn operator() -> Server {
    server(&["--base-url", "{portal}", "--api-key", sandbox::API_KEY, "--cors-origins", "*"], Default::default()).await
}

/// No portal of its own: clients name one on loopback (and only there).
pub async fn multi_tenant() -> Server {
    server(
        &["--allowed-base-urls", "http://127.0.0.1:*,localhost,http://[::1]:*", "--allow-private-base-urls"],
        Default::default(),
    )
    .await
}

/// A few requests, in order.
#[derive(Debug)]
pub struct Exchange(pub Vec<Req>);

/// An exchange for a server whose sandbox is at `portal`.
fn exchange(u: &mut Unstructured, portal: &str, paths: &[&str]) -> arbitrary::Result<Exchange> {
    let n = u.int_in_range(1..=6)?;
    Ok(Exchange((0..n).map(|_| wire::request(u, paths, &[portal])).collect::<arbitrary::Result<_>>()?))
}

/// The sandbox's address, as the generators draw it: it is only known
/// once the server runs, so the input carries a marker the driver replaces.
pub const PORTAL: &str = "http://portal.fuzz";

impl<'a> Arbitrary<'a> for Exchange {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        exchange(u, PORTAL, wire::MCP_PATHS)
    }
}

/// Replaces the portal marker with the sandbox's address.
pub fn localise(req: &Req, portal: &str) -> Req {
    let swap = |s: &str| s.replace(PORTAL, portal);
    let mut req = req.clone();
    req.query = match req.query {
        wire::Query::Pairs(p) => wire::Query::Pairs(p.into_iter().map(|(k, v)| (k, swap(&v))).collect()),
        raw => raw,
    };
    for (_, v) in &mut req.headers {
        if let Ok(s) = std::str::from_utf8(v) {
            *v = swap(s).into_bytes();
        }
    }
    req
}

/// Sends every request of `exchange`, checking each answer.
pub async fn drive(server: &Server, exchange: &Exchange) {
    let mut sessions = Sessions::default();
    for (i, req) in exchange.0.iter().enumerate() {
        let req = localise(req, server.portal.base_url());
        let answer = tokio::time::timeout(harness::HANG, wire::send(&server.app, &req, &mut sessions))
            .await
            .unwrap_or_else(|_| panic!("request {i} got no answer within {:?}: {req:?}", harness::HANG));
        if std::env::var_os("FUZZ_VERBOSE").is_some() {
            let path: String = req.path.chars().take(80).collect();
            let body: String = String::from_utf8_lossy(&answer.body).chars().take(200).collect();
            eprintln!("{i}: {} {path} -> {} {body}", req.method, answer.status);
        }
        assert_ne!(
            answer.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "request {i} got 500: {req:?}\n{}",
            String::from_utf8_lossy(&answer.body)
        );
    }
}

/// A new client, from an address and with credentials of its own, can
/// still open a session and list the tools; it closes the session after.
pub async fn probe(server: &Server, credentials: &[(&str, String)]) {
    static PROBES: AtomicU64 = AtomicU64::new(0);
    let n = PROBES.fetch_add(1, Ordering::Relaxed);
    let peer = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 9));
    let post = |body: serde_json::Value, session: Option<&str>| {
        let mut req = Request::post("/mcp")
            .header("host", "127.0.0.1:8080")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("x-mcp-api-key", format!("probe-{n}"));
        for (k, v) in credentials {
            req = req.header(*k, v.as_str());
        }
        if let Some(s) = session {
            req = req.header("mcp-session-id", s);
        }
        let mut req = req.body(Body::from(body.to_string())).unwrap();
        req.extensions_mut().insert(ConnectInfo(SocketAddr::new(peer, 1)));
        req
    };
    let init = wire::call(&server.app, post(crate::input::initialize("2025-06-18"), None)).await;
    assert_eq!(init.status, StatusCode::OK, "a new client cannot initialize: {}", String::from_utf8_lossy(&init.body));
    let session = init.session.expect("a session id");
    let notified = serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let ack = wire::call(&server.app, post(notified, Some(&session))).await;
    assert_eq!(ack.status, StatusCode::ACCEPTED, "{}", String::from_utf8_lossy(&ack.body));
    let list = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let listed = wire::call(&server.app, post(list, Some(&session))).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&listed.body).contains("\"tools\""), "no tools listed");
    let mut delete = post(serde_json::Value::Null, Some(&session));
    *delete.method_mut() = axum::http::Method::DELETE;
    *delete.body_mut() = Body::empty();
    let closed = wire::call(&server.app, delete).await;
    assert_eq!(closed.status, StatusCode::OK, "the probe's session does not close");
}

/// One input of an HTTP target: the exchange, then the probe.
fn round(rt: &tokio::runtime::Runtime, target: &str, server: &Server, credentials: &[(&str, String)], e: &Exchange) {
    harness::run(rt, target, "the exchange", drive(server, e));
    harness::run(rt, target, "the probe", probe(server, credentials));
}

#[test]
fn http_operator() {
    let rt = harness::runtime("http_operator");
    let server = rt.block_on(operator());
    let (rt, server) = (AssertUnwindSafe(rt), AssertUnwindSafe(server));
    bolero::check!()
        .with_arbitrary::<Exchange>()
        .with_iterations(CI_ITERATIONS)
        .with_test_time(CI_TIME)
        .with_max_len(MAX_LEN)
        .for_each(|e| round(&rt, "http_operator", &server, &[], e));
}

#[test]
fn http_multi_tenant() {
    let rt = harness::runtime("http_multi_tenant");
    let server = rt.block_on(multi_tenant());
    // The probe names the sandbox (clients of this server bring their portal).
    let credentials = [("x-mcp-base-url", server.portal.base_url().to_owned())];
    let (rt, server) = (AssertUnwindSafe(rt), AssertUnwindSafe(server));
    bolero::check!()
        .with_arbitrary::<Exchange>()
        .with_iterations(CI_ITERATIONS)
        .with_test_time(CI_TIME)
        .with_max_len(MAX_LEN)
        .for_each(|e| round(&rt, "http_multi_tenant", &server, &credentials, e));
}
