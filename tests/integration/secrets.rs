//! No secret reaches the logs: the binary runs every transport (stdio,
//! Streamable HTTP, legacy SSE) with every auth method (API key, personal
//! access token, user name and password, a raw `Authorization` header, and
//! OAuth: the proxy's key, the shared application's secret, codes, access
//! and refresh tokens), with credentials DocSpace accepts and ones it
//! refuses, at trace level for every crate (`RUST_LOG=trace`), and all it
//! writes on stderr is searched for every secret used.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docspace_mcp::sandbox::{self, Sandbox};
use serde_json::{Value, json};

use crate::common::oauth::{Flow, exchange, register, tokens, whoami};
use crate::common::server_command;

const SECRET_KEY: &str = "log-test-secret-key-0123456789-abcdefghijkl";
const WRONG_KEY: &str = "sk-wrong-key-never-accepted-4711";
const WRONG_PASSWORD: &str = "wrong-password-never-accepted-4711";

/// A running binary and everything it wrote on stderr so far.
struct Logged {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Logged {
    /// Spawns the binary with `args` and `envs` at trace level.
    fn spawn(args: &[&str], envs: &[(&str, &str)], stdin: bool) -> Self {
        let mut envs: Vec<(&str, &str)> = envs.to_vec();
        envs.extend([("RUST_LOG", "trace"), ("DOCSPACE_LOG_LEVEL", "trace")]);
        let mut child = server_command(args, &envs)
            .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(if stdin { Stdio::piped() } else { Stdio::null() })
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Self { child, log }
    }

    /// The HTTP address the server logged.
    async fn address(&self) -> String {
        for _ in 0..200 {
            let log = self.log.lock().unwrap().clone();
            if let Some(rest) = log.split("serving MCP over HTTP on ").nth(1) {
                return rest.split_whitespace().next().unwrap().to_owned();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not log its address");
    }

    /// Stops the process; all it logged.
    fn finish(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(200));
        self.log.lock().unwrap().clone()
    }
}

/// Asserts that `log` (non-empty, at trace level) holds none of `secrets`.
fn clean(what: &str, log: &str, secrets: &[&str]) {
    assert!(log.contains("TRACE") || log.contains("DEBUG"), "{what}: the log is not at trace level:\n{log}");
    for secret in secrets.iter().filter(|s| s.len() >= 8) {
        if let Some(at) = log.find(secret) {
            let start = log[..at].rfind('\n').map_or(0, |i| i + 1);
            let end = log[at..].find('\n').map_or(log.len(), |i| at + i);
            panic!("{what}: a secret is in the log: {}", &log[start..end]);
        }
    }
}

/// Every secret of the sandbox's users and of these tests.
fn secrets() -> Vec<&'static str> {
    vec![
        sandbox::API_KEY,
        sandbox::AUTH_TOKEN,
        sandbox::PASSWORD,
        sandbox::oauth::CLIENT_SECRET,
        SECRET_KEY,
        WRONG_KEY,
        WRONG_PASSWORD,
    ]
}

fn rpc(id: u64, method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn stdio_logs_no_secret_with_any_credential() {
    let portal = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap();
    let base = portal.base_url().to_owned();
    let basic = format!("Basic {}", base64_of(&format!("{}:{}", sandbox::USERNAME, sandbox::PASSWORD)));
    let methods: Vec<Vec<(&str, &str)>> = vec![
        vec![("DOCSPACE_API_KEY", sandbox::API_KEY)],
        vec![("DOCSPACE_AUTH_TOKEN", sandbox::AUTH_TOKEN)],
        vec![("DOCSPACE_USERNAME", sandbox::USERNAME), ("DOCSPACE_PASSWORD", sandbox::PASSWORD)],
        vec![("DOCSPACE_AUTHORIZATION", &basic)],
        vec![("DOCSPACE_API_KEY", WRONG_KEY)],
        vec![("DOCSPACE_USERNAME", sandbox::USERNAME), ("DOCSPACE_PASSWORD", WRONG_PASSWORD)],
    ];
    for envs in methods {
        let mut all = envs.clone();
        all.push(("DOCSPACE_BASE_URL", &base));
        let mut server = Logged::spawn(&[], &all, true);
        let mut stdin = server.child.stdin.take().unwrap();
        let stdout = server.child.stdout.take().unwrap();
        let init = rpc(
            1,
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}),
        );
        writeln!(stdin, "{init}").unwrap();
        writeln!(stdin, "{}", json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).unwrap();
        writeln!(stdin, "{}", rpc(2, "tools/call", json!({"name": "get_self_profile", "arguments": {}}))).unwrap();
        writeln!(stdin, "{}", rpc(3, "tools/call", json!({"name": "get_file_info", "arguments": {"fileId": 999_999}})))
            .unwrap();
        stdin.flush().unwrap();
        // Wait for the answers to both calls.
        let answers = tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stdout).lines();
            let mut seen = 0;
            while seen < 3 {
                if lines.next().is_none() {
                    break;
                }
                seen += 1;
            }
            seen
        })
        .await
        .unwrap();
        assert_eq!(answers, 3, "{envs:?}");
        drop(stdin);
        let log = server.finish();
        clean(&format!("stdio with {:?}", envs.iter().map(|(k, _)| *k).collect::<Vec<_>>()), &log, &secrets());
    }
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// One tool call over Streamable HTTP with `headers`, and one over SSE.
async fn both_transports(base: &str, headers: &[(&str, &str)]) {
    let http = docspace_mcp_client::tls::builder().build().unwrap();
    let post = |body: String, session: Option<String>| {
        let mut req = http
            .post(format!("{base}/mcp"))
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", "2025-06-18")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(s) = session {
            req = req.header("mcp-session-id", s);
        }
        req.send()
    };
    let init = rpc(
        1,
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}),
    );
    let r = post(init.clone(), None).await.unwrap();
    if let Some(session) = r.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_owned) {
        let _ = r.text().await;
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string();
        post(note, Some(session.clone())).await.unwrap();
        let call = rpc(2, "tools/call", json!({"name": "get_self_profile", "arguments": {}}));
        let _ = post(call, Some(session)).await.unwrap().text().await;
    }
    // Legacy SSE: open, post the same, read the replies.
    let mut req = http.get(format!("{base}/sse"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let Ok(r) = req.send().await else { return };
    if !r.status().is_success() {
        return;
    }
    let mut stream = r.bytes_stream();
    use futures::StreamExt as _;
    let first = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.ok().flatten();
    let text = first.and_then(Result::ok).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let Some(endpoint) = text.lines().find_map(|l| l.strip_prefix("data: ")) else { return };
    let url = format!("{base}{}", endpoint.trim());
    for body in [init, rpc(2, "tools/call", json!({"name": "get_self_profile", "arguments": {}}))] {
        let mut req = http.post(&url).header("content-type", "application/json").body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let _ = req.send().await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), async { while stream.next().await.is_some() {} }).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn http_logs_no_secret_with_any_credential() {
    let portal = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap();
    let portal_url = portal.base_url().to_owned();
    let server = Logged::spawn(
        &["--transport", "http", "--port", "0"],
        &[
            ("DOCSPACE_BASE_URL", &portal_url),
            ("DOCSPACE_API_KEY", sandbox::API_KEY),
            ("DOCSPACE_ALLOWED_BASE_URLS", "127.0.0.1:*"),
            ("DOCSPACE_ALLOW_PRIVATE_BASE_URLS", "true"),
        ],
        false,
    );
    let base = format!("http://{}", server.address().await.trim_start_matches("http://"));
    let basic = format!("Basic {}", base64_of(&format!("{}:{}", sandbox::USERNAME, sandbox::PASSWORD)));
    let bearer = format!("Bearer {}", sandbox::AUTH_TOKEN);
    let wrong = format!("Bearer {WRONG_KEY}");
    let per_request: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("x-mcp-base-url", &portal_url), ("x-mcp-api-key", sandbox::API_KEY)],
        vec![("x-mcp-base-url", &portal_url), ("x-mcp-auth-token", sandbox::AUTH_TOKEN)],
        vec![
            ("x-mcp-base-url", &portal_url),
            ("x-mcp-username", sandbox::USERNAME),
            ("x-mcp-password", sandbox::PASSWORD),
        ],
        vec![("x-mcp-base-url", &portal_url), ("authorization", &basic)],
        vec![("x-mcp-base-url", &portal_url), ("authorization", &bearer)],
        vec![("x-mcp-base-url", &portal_url), ("x-mcp-api-key", WRONG_KEY)],
        vec![("x-mcp-base-url", &portal_url), ("authorization", &wrong)],
        vec![
            ("x-mcp-base-url", &portal_url),
            ("x-mcp-username", sandbox::USERNAME),
            ("x-mcp-password", WRONG_PASSWORD),
        ],
    ];
    for headers in &per_request {
        both_transports(&base, headers).await;
    }
    clean("HTTP, every credential", &server.finish(), &secrets());
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_logs_no_secret() {
    let portal = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap();
    let server = Logged::spawn(
        &["--transport", "http", "--port", "0"],
        &[
            ("DOCSPACE_OAUTH_BASE_URL", portal.base_url()),
            ("DOCSPACE_OAUTH_AUTH_TOKEN_SECRET_KEY", SECRET_KEY),
            ("DOCSPACE_OAUTH_CLIENT_ID", sandbox::oauth::CLIENT_ID),
            ("DOCSPACE_OAUTH_CLIENT_SECRET", sandbox::oauth::CLIENT_SECRET),
        ],
        false,
    );
    let base = format!("http://{}", server.address().await.trim_start_matches("http://"));
    portal.allow_oauth_redirect(&format!("{base}/oauth/callback"));
    let redirect = "http://127.0.0.1:9/callback";
    let client_id = register(&base, &[redirect], "log test").await;
    let flow = Flow::new(&client_id, redirect);
    let issued = tokens(&base, &flow).await;
    let access = issued["access_token"].as_str().unwrap().to_owned();
    let refresh = issued["refresh_token"].as_str().unwrap().to_owned();
    whoami(&base, &access).await.unwrap();
    both_transports(&base, &[("authorization", &format!("Bearer {access}"))]).await;
    let (status, refreshed) = exchange(
        &base,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", &client_id)],
        None,
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let access2 = refreshed["access_token"].as_str().unwrap().to_owned();
    let refresh2 = refreshed["refresh_token"].as_str().unwrap_or_default().to_owned();
    // A replayed refresh token, a forged bearer, a revocation.
    exchange(&base, &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", &client_id)], None)
        .await;
    both_transports(&base, &[("authorization", &format!("Bearer {WRONG_KEY}"))]).await;
    docspace_mcp_client::tls::builder()
        .build()
        .unwrap()
        .post(format!("{base}/revoke"))
        .form(&[("token", access2.as_str()), ("client_id", client_id.as_str())])
        .send()
        .await
        .unwrap();
    let _ = whoami(&base, &access2).await;
    let log = server.finish();
    // The proxy's tokens, and DocSpace's own codes and tokens behind them.
    let upstream = portal.issued_tokens();
    assert!(upstream.len() >= 3, "{upstream:?}");
    let mut all = secrets();
    all.extend([access.as_str(), refresh.as_str(), access2.as_str(), refresh2.as_str()]);
    all.extend(upstream.iter().map(String::as_str));
    clean("OAuth", &log, &all);
}

#[test]
#[should_panic(expected = "a secret is in the log")]
fn the_search_finds_a_secret_when_there_is_one() {
    let log = format!("2026-12-07 TRACE hyper: parsed 3 headers\n2026-12-07 DEBUG x-mcp-api-key={WRONG_KEY}\n");
    clean("a log with a key", &log, &secrets());
}
