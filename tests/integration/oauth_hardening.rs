//! The OAuth attack suite's second half: the regressions of issue 14
//! ("hardening"), each an attack or a failure the proxy once let through.
//! Each test names its item; the first half is `the_attack_suite_is_refused`
//! in `oauth.rs`.
//!
//! - 5: consent is bound to the (client, redirect URI) pair, in both modes;
//! - 10: `/authorize` errors are pages until the user consented to the pair;
//! - 13: DocSpace refusing a token mid-session is an HTTP 401 (over legacy
//!   SSE, the next request is), and the introspection cache's lifetime is a
//!   setting;
//! - 12: refresh tokens are single-use, a foreign bearer token is refused,
//!   a session survives a refresh when DocSpace gives no `sub`, durations
//!   are checked at start.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Bytes;
use clap::Parser;
use docspace_mcp::Cli;
use docspace_mcp::Config;
use docspace_mcp::sandbox::{self, oauth as sandbox_oauth};
use docspace_mcp_client::reqwest;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::{Value, json};

use crate::common::oauth::*;
use crate::common::server::{OAuth, TestServer};
use crate::common::{Reply, Upstream};

/// The consent cookie a browser got for allowing `flow`.
async fn consent_cookie(http: &reqwest::Client, base: &str, flow: &Flow) -> String {
    let (_, _, consent) = consent_page(http, &flow.url(base, &[])).await;
    let r = decide(http, base, &consent.expect("the consent page"), "allow", true).await;
    assert_eq!(r.status(), 303);
    set_cookies(&r).into_iter().find(|c| c.starts_with("docspace_mcp_consent=")).expect("a consent cookie")
}

/// A session opened with `token`: its id (after `initialize` and `initialized`).
async fn open_session(base: &str, token: &str) -> String {
    let r = mcp(base, "/mcp", Some(token), &initialize(), None).await;
    assert_eq!(r.status(), 200);
    let session = r.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(mcp(base, "/mcp", Some(token), &initialized, Some(&session)).await.status(), 202);
    session
}

/// A `tools/call` of `get_self_profile`.
fn call_self_profile() -> Value {
    json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "get_self_profile", "arguments": {}}})
}

/// The JSON-RPC answer in a response: one JSON body, or an SSE stream's last `data:`.
async fn answer(r: reqwest::Response) -> Value {
    let body = r.text().await.unwrap();
    let json = if body.trim_start().starts_with('{') {
        body
    } else {
        body.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim).rfind(|d| !d.is_empty()).unwrap().to_owned()
    };
    serde_json::from_str(&json).unwrap()
}

/// Item 5: after a user allowed a client once, a link with another redirect
/// URI for the same client shows the consent page again (naming that URI)
/// instead of sending the code there.
#[tokio::test(flavor = "multi_thread")]
async fn consent_is_bound_to_the_redirect_uri() {
    for mode in [OAuth::Shared, OAuth::Own] {
        let s = TestServer::builder().oauth(mode).start().await;
        let b = s.base.as_str();
        let http = browser();
        let (client, elsewhere) = match mode {
            OAuth::Shared => {
                (register(b, &[REDIRECT, "https://app.example/cb"], "Two URIs").await, "https://app.example/cb")
            }
            OAuth::Own => (sandbox_oauth::CLIENT_ID.to_owned(), "https://attacker.example/cb"),
        };
        let flow = Flow::new(&client, REDIRECT);
        let cookie = consent_cookie(&http, b, &flow).await;
        let r = http.get(flow.url(b, &[])).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(r.status(), 302, "{mode:?}: the same client and redirect URI go straight on");
        assert!(location(&r).starts_with(&format!("{}/oauth2/authorize?", s.portal.base_url())), "{mode:?}");
        let attack = Flow::new(&client, elsewhere);
        let r = http.get(attack.url(b, &[])).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(r.status(), 200, "{mode:?}: another redirect URI asks again");
        assert!(r.headers().get("location").is_none(), "{mode:?}");
        assert!(r.text().await.unwrap().contains(elsewhere), "{mode:?}: the page names the new redirect URI");
    }
}

/// Item 10: an invalid authorization request is shown on a page, never
/// redirected, until the user consented to the client with that redirect
/// URI; after that, errors go back to the client (RFC 6749 §4.1.2.1).
#[tokio::test(flavor = "multi_thread")]
async fn authorize_errors_are_pages_until_the_user_consented() {
    for mode in [OAuth::Shared, OAuth::Own] {
        let s = TestServer::builder().oauth(mode).start().await;
        let b = s.base.as_str();
        let http = browser();
        let client = match mode {
            OAuth::Shared => register(b, &[REDIRECT, "https://evil.example/cb"], "Open redirector").await,
            OAuth::Own => sandbox_oauth::CLIENT_ID.to_owned(),
        };
        for uri in [REDIRECT, "https://evil.example/cb"] {
            let flow = Flow::new(&client, uri);
            for extra in [[("response_type", "token")], [("code_challenge_method", "plain")]] {
                let r = http.get(flow.url(b, &extra)).send().await.unwrap();
                assert_eq!(r.status(), 400, "{mode:?} {uri} {extra:?}");
                assert!(r.headers().get("location").is_none(), "{mode:?} {uri} {extra:?}: no redirect before consent");
                let page = r.text().await.unwrap();
                assert!(page.contains("is not valid"), "{mode:?} {uri}: {page}");
            }
        }
        let flow = Flow::new(&client, REDIRECT);
        let cookie = consent_cookie(&http, b, &flow).await;
        let r = http.get(flow.url(b, &[("response_type", "token")])).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(r.status(), 302, "{mode:?}: consented, so the error goes to the client");
        assert!(location(&r).starts_with(REDIRECT), "{mode:?}");
        let q = query_of(&location(&r));
        assert_eq!((q["error"].as_str(), q["state"].as_str()), ("unsupported_response_type", flow.state.as_str()));
        let other = Flow::new(&client, "https://evil.example/cb");
        let r = http.get(other.url(b, &[("response_type", "token")])).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(r.status(), 400, "{mode:?}: consent to one redirect URI does not cover another");
    }
}

/// Item 13: a token revoked at DocSpace behind this replica's back (here by
/// another replica) stops working at its first use: the tool call is
/// answered with HTTP 401 and a challenge, so the client refreshes or signs
/// in again, and the token's cached introspection is dropped.
#[tokio::test(flavor = "multi_thread")]
async fn docspace_refusing_a_token_mid_session_is_a_401() {
    let s = TestServer::builder().oauth(OAuth::Shared).start().await;
    let b = s.base.as_str();
    let client = register(b, &[REDIRECT], "Revoked elsewhere").await;
    let t = tokens(b, &Flow::new(&client, REDIRECT)).await;
    let access = t["access_token"].as_str().unwrap();
    let session = open_session(b, access).await;
    let r = mcp(b, "/mcp", Some(access), &call_self_profile(), Some(&session)).await;
    assert_eq!(r.status(), 200);
    let ok = answer(r).await;
    assert!(ok["result"]["content"][0]["text"].as_str().unwrap().contains(sandbox::USERNAME), "{ok}");

    let replica = TestServer::builder()
        .oauth(OAuth::Shared)
        .portal(Some(s.portal.clone()))
        .args(&["--server-base-url", b])
        .start()
        .await;
    let r = docspace_mcp_client::tls::builder()
        .build()
        .unwrap()
        .post(format!("{}/revoke", replica.base))
        .form(&[("token", access), ("client_id", client.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let r = mcp(b, "/mcp", Some(access), &call_self_profile(), Some(&session)).await;
    assert_eq!(r.status(), 401, "not a tool error: {}", r.text().await.unwrap_or_default());
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains(&format!("resource_metadata=\"{b}/.well-known/oauth-protected-resource/mcp\"")));
    // The cached introspection is gone: the token is refused at the door now.
    let r = mcp(b, "/mcp", Some(access), &initialize(), None).await;
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("no longer active"));
}

/// The next `event: message`'s data on a legacy SSE stream.
async fn next_message(stream: &mut BoxStream<'static, reqwest::Result<Bytes>>, buffer: &mut String) -> Value {
    loop {
        if let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let message = block.lines().any(|l| l.trim() == "event: message");
            let data: String = block.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim).collect();
            if message && !data.is_empty() {
                return serde_json::from_str(&data).unwrap();
            }
            continue;
        }
        let chunk =
            tokio::time::timeout(std::time::Duration::from_secs(10), stream.next()).await.unwrap().unwrap().unwrap();
        buffer.push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
    }
}

/// Item 13 over the legacy SSE transport: a message's POST is answered 202
/// before the call runs, so the call DocSpace refused is a tool error on the
/// stream; the token's cached introspection is dropped at once all the same,
/// and the next request with it gets the 401 challenge.
#[tokio::test(flavor = "multi_thread")]
async fn over_legacy_sse_the_request_after_a_refusal_is_a_401() {
    let s = TestServer::builder().oauth(OAuth::Shared).start().await;
    let b = s.base.as_str();
    let client = register(b, &[REDIRECT], "Legacy SSE").await;
    let t = tokens(b, &Flow::new(&client, REDIRECT)).await;
    let access = t["access_token"].as_str().unwrap();
    let http = docspace_mcp_client::tls::builder().build().unwrap();
    let r =
        http.get(format!("{b}/sse")).bearer_auth(access).header("accept", "text/event-stream").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mut stream = r.bytes_stream().boxed();
    let mut buffer = String::new();
    let endpoint = loop {
        let chunk = stream.next().await.unwrap().unwrap();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        if let Some(line) =
            buffer.lines().find_map(|l| l.strip_prefix("data:").map(str::trim).filter(|d| d.starts_with("/messages")))
        {
            let endpoint = line.to_owned();
            buffer.clear();
            break endpoint;
        }
    };
    let url = format!("{b}{endpoint}");
    let post = |body: Value| {
        let (http, url) = (http.clone(), url.clone());
        async move { http.post(url).bearer_auth(access).json(&body).send().await.unwrap() }
    };
    assert_eq!(post(initialize()).await.status(), 202);
    assert_eq!(next_message(&mut stream, &mut buffer).await["id"], 1);
    assert_eq!(post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await.status(), 202);

    let replica = TestServer::builder()
        .oauth(OAuth::Shared)
        .portal(Some(s.portal.clone()))
        .args(&["--server-base-url", b])
        .start()
        .await;
    let r = http
        .post(format!("{}/revoke", replica.base))
        .form(&[("token", access), ("client_id", client.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    assert_eq!(post(call_self_profile()).await.status(), 202);
    let reply = next_message(&mut stream, &mut buffer).await;
    assert_eq!(reply["result"]["isError"], true, "{reply}");
    let mut status = 0;
    for _ in 0..20 {
        status = post(json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"})).await.status().as_u16();
        if status == 401 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, 401, "the request after the refusal");
}

/// Item 13: how long DocSpace's introspection answers are reused is a
/// setting; with 0 every request asks DocSpace, so a revocation elsewhere is
/// seen at once; by default an answer is reused (up to 30 s).
#[tokio::test(flavor = "multi_thread")]
async fn the_introspection_cache_lifetime_is_a_setting() {
    for (ttl, refused_at_once) in [("0", true), ("30000", false)] {
        let s =
            TestServer::builder().oauth(OAuth::Shared).args(&["--oauth-introspection-cache-ttl-ms", ttl]).start().await;
        let b = s.base.as_str();
        let client = register(b, &[REDIRECT], "Cached").await;
        let t = tokens(b, &Flow::new(&client, REDIRECT)).await;
        let access = t["access_token"].as_str().unwrap();
        assert_eq!(mcp(b, "/mcp", Some(access), &initialize(), None).await.status(), 200);
        let replica = TestServer::builder()
            .oauth(OAuth::Shared)
            .portal(Some(s.portal.clone()))
            .args(&["--server-base-url", b])
            .start()
            .await;
        let r = docspace_mcp_client::tls::builder()
            .build()
            .unwrap()
            .post(format!("{}/revoke", replica.base))
            .form(&[("token", access), ("client_id", client.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let status = mcp(b, "/mcp", Some(access), &initialize(), None).await.status();
        assert_eq!(status == 401, refused_at_once, "cache lifetime {ttl} ms: {status}");
    }
}

/// A DocSpace that never rotates its refresh tokens (its refresh grant
/// answers without one) and introspects without `sub`, behind a replica of
/// `front` (same key, same public URL): the replica and the DocSpace.
async fn non_rotating_docspace(front: &TestServer) -> (TestServer, Upstream) {
    let issued = Arc::new(AtomicUsize::new(0));
    let docspace = Upstream::start(move |seen| {
        let body = String::from_utf8_lossy(&seen.body).into_owned();
        if seen.target.ends_with("/oauth2/introspect") {
            return Reply::json(200, json!({"active": true}));
        }
        let n = issued.fetch_add(1, Ordering::SeqCst);
        if body.contains("grant_type=authorization_code") {
            Reply::json(
                200,
                json!({"access_token": format!("up-access-{n}"), "expires_in": 600, "refresh_token": "up-refresh"}),
            )
        } else {
            Reply::json(200, json!({"access_token": format!("up-access-{n}"), "expires_in": 600}))
        }
    })
    .await;
    let replica = TestServer::builder()
        .oauth(OAuth::Shared)
        .args(&["--oauth-base-url", &docspace.base_url, "--server-base-url", &front.base])
        .start()
        .await;
    (replica, docspace)
}

/// Tokens for `client` from the replica (the code comes from `front`'s sandbox sign-in).
async fn tokens_at(front: &TestServer, replica: &TestServer, client: &str) -> Value {
    let flow = Flow::new(client, REDIRECT);
    let code = code_for(&front.base, &flow).await;
    let (status, t) = exchange(
        &replica.base,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", client),
            ("code_verifier", &flow.verifier),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{t}");
    t
}

/// Refresh-token rotation at the proxy: a refresh token is used once, even
/// when DocSpace hands back no new refresh token (and would take its old one
/// again); a replay gets `invalid_grant`, the newest one keeps working.
#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_token_is_used_once() {
    let front = TestServer::builder().oauth(OAuth::Shared).start().await;
    let (replica, docspace) = non_rotating_docspace(&front).await;
    let client = register(&front.base, &[REDIRECT], "Refreshing").await;
    let t = tokens_at(&front, &replica, &client).await;
    let first = t["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |token: String| {
        let (base, client) = (replica.base.clone(), client.clone());
        async move {
            exchange(&base, &[("grant_type", "refresh_token"), ("refresh_token", &token), ("client_id", &client)], None)
                .await
        }
    };
    let (status, t2) = refresh(first.clone()).await;
    assert_eq!(status, 200, "{t2}");
    let second = t2["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    let (status, replay) = refresh(first.clone()).await;
    assert_eq!((status, replay["error"].as_str()), (400, Some("invalid_grant")), "a replayed refresh token: {replay}");
    let (status, t3) = refresh(second).await;
    assert_eq!(status, 200, "the newest refresh token still works: {t3}");
    let asked =
        docspace.requests().iter().filter(|r| String::from_utf8_lossy(&r.body).contains("refresh_token")).count();
    assert_eq!(asked, 2, "the replay never reached DocSpace");
}

/// A session opened with one access token accepts the next one, refreshed
/// from the same grant, even when DocSpace's introspection names no `sub`.
#[tokio::test(flavor = "multi_thread")]
async fn a_session_survives_a_refresh_when_docspace_gives_no_subject() {
    let front = TestServer::builder().oauth(OAuth::Shared).start().await;
    let (replica, _docspace) = non_rotating_docspace(&front).await;
    let client = register(&front.base, &[REDIRECT], "Long session").await;
    let t = tokens_at(&front, &replica, &client).await;
    let session = open_session(&replica.base, t["access_token"].as_str().unwrap()).await;
    let (status, t2) = exchange(
        &replica.base,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ("client_id", &client),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{t2}");
    let list = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"});
    let r = mcp(&replica.base, "/mcp", t2["access_token"].as_str(), &list, Some(&session)).await;
    assert_eq!(r.status(), 200, "the refreshed token on the same session");
    assert!(answer(r).await["result"]["tools"].as_array().is_some_and(|t| !t.is_empty()));
    // Another user's grant (another sign-in) is another identity.
    let other = tokens_at(&front, &replica, &client).await;
    let r = mcp(&replica.base, "/mcp", other["access_token"].as_str(), &list, Some(&session)).await;
    assert_eq!(r.status(), 403, "another grant on this session");
}

/// Item 12: with OAuth on, a bearer token this server did not issue (here a
/// DocSpace API key) is refused rather than passed on to DocSpace, unless
/// the operator opts in.
#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_bearer_token_is_refused_unless_allowed() {
    let s = TestServer::builder().oauth(OAuth::Shared).start().await;
    let r = mcp(&s.base, "/mcp", Some(sandbox::API_KEY), &initialize(), None).await;
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("error=\"invalid_token\"") && challenge.contains("resource_metadata="), "{challenge}");
    let raw = docspace_mcp_client::tls::builder()
        .build()
        .unwrap()
        .post(format!("{}/mcp", s.base))
        .header("authorization", format!("Basic {}", "dXNlcjpwYXNz"))
        .header("accept", "application/json, text/event-stream")
        .json(&initialize())
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 401, "any Authorization value that is not this server's token");

    let allowed = TestServer::builder().oauth(OAuth::Shared).args(&["--oauth-passthrough-authorization"]).start().await;
    let me = whoami(&allowed.base, sandbox::API_KEY).await.unwrap();
    assert!(me.contains(sandbox::USERNAME), "passed on to DocSpace when the operator allows it: {me}");
}

/// Item 12: every duration setting is checked when the configuration is
/// read, naming its variable, rather than overflowing later (a huge TTL
/// once panicked at the first code exchange).
#[tokio::test(flavor = "multi_thread")]
async fn out_of_range_durations_stop_the_start() {
    let huge = u64::MAX.to_string();
    let cases: [(&str, &str, &str); 11] = [
        ("--oauth-token-ttl-ms", &huge, "DOCSPACE_OAUTH_AUTH_TOKEN_TTL"),
        ("--oauth-state-ttl-ms", &huge, "DOCSPACE_OAUTH_STATE_TOKEN_TTL"),
        ("--oauth-introspection-cache-ttl-ms", &huge, "DOCSPACE_OAUTH_INTROSPECTION_CACHE_TTL"),
        ("--oauth-token-rate-window-ms", &huge, "DOCSPACE_SERVER_RATE_LIMITS_OAUTH_TOKEN_WINDOW"),
        ("--oauth-cors-max-age-ms", &huge, "DOCSPACE_SERVER_CORS_OAUTH_MAX_AGE"),
        ("--cors-max-age-ms", &huge, "DOCSPACE_SERVER_CORS_MCP_MAX_AGE"),
        ("--rate-window-ms", &huge, "DOCSPACE_SERVER_RATE_LIMITS_MCP_WINDOW"),
        ("--session-idle-timeout", &huge, "DOCSPACE_SESSION_IDLE_TIMEOUT"),
        ("--session-hibernate-after", &huge, "DOCSPACE_SESSION_HIBERNATE_AFTER"),
        ("--request-timeout", "0", "DOCSPACE_REQUEST_TIMEOUT"),
        ("--operation-timeout", &huge, "DOCSPACE_OPERATION_TIMEOUT"),
    ];
    for (flag, value, variable) in cases {
        let argv = [
            "docspace-mcp",
            "--transport",
            "http",
            "--oauth-base-url",
            "http://127.0.0.1:9",
            "--server-base-url",
            "http://127.0.0.1:8080",
            "--oauth-secret-key",
            KEY,
            flag,
            value,
        ];
        let parsed = Cli::try_parse_from(argv);
        let serve =
            parsed.unwrap_or_else(|e| panic!("{flag} {value}: refused by the parser, not the configuration: {e}"));
        let e = Config::from_args(serve.serve).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains(variable), "{flag} {value}: {e}");
    }
}
