//! Several replicas sharing one Redis-protocol store (`DOCSPACE_STATE_URL`):
//! two servers in this process, one sandbox portal, a real `redis-server`.
//! A Streamable HTTP session opened on one continues on the other (and on a
//! replica started afterwards), a client's DELETE on one ends it on both,
//! an SSE message posted to the replica without the stream reaches it,
//! rate limits count over both, and a store outage answers 503 and heals.
//! The three-process topology behind nginx is `tests/replicas`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::mcp_http::{self, Answer, Events, open, post};
use crate::common::server::TestServer;
use crate::common::store::Redis;

const SECRET: &str = "a-state-secret-of-at-least-32-bytes!!";

/// A replica on `portal` sharing `redis`.
async fn replica(redis: &Redis, portal: Option<Arc<docspace_mcp::sandbox::Sandbox>>, extra: &[&str]) -> TestServer {
    let url = redis.url();
    let mut args = vec!["--state-url", url.as_str(), "--state-secret-key", SECRET];
    args.extend_from_slice(extra);
    TestServer::builder().operator().portal(portal).args(&args).start().await
}

/// `tools/call` of `name` with no arguments.
fn call(id: u64, name: &str) -> Value {
    mcp_http::call(id, name, json!({}))
}

/// `get_self_profile` on `base` within `session`: the profile's text.
async fn whoami(base: &str, session: &str, id: u64) -> Answer {
    mcp_http::post(&format!("{base}/mcp"), Some(session), &[], &call(id, "get_self_profile")).await
}

fn profile(a: &Answer) -> String {
    a.message()["result"]["content"][0]["text"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_session_continues_on_any_replica_and_ends_on_all() {
    let Some(redis) = Redis::start() else { return };
    let a = replica(&redis, None, &[]).await;
    let b = replica(&redis, Some(a.portal.clone()), &[]).await;
    let names = |a: &Answer| -> Vec<String> {
        a.message()["result"]["tools"]
            .as_array()
            .map(|tools| tools.iter().map(|t| t["name"].as_str().unwrap_or_default().to_owned()).collect())
            .unwrap_or_default()
    };
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let everything = names(&post(&b.mcp(), Some(&open(&b.mcp(), &[]).await), &[], &list).await);
    // Opened on A with a narrower selection than the operator's (read-only
    // tools, asked for in a header): B serves that selection, not the operator's.
    let session = open(&a.mcp(), &[("x-mcp-read-only", "true")]).await;
    let on_a = names(&post(&a.mcp(), Some(&session), &[], &list).await);
    let on_b = names(&post(&b.mcp(), Some(&session), &[], &list).await);
    assert!(!on_a.is_empty() && on_a.len() < everything.len(), "{on_a:?}");
    assert_eq!(on_b, on_a, "B serves the selection the session was opened with");
    let on_b = whoami(&b.base, &session, 3).await;
    assert_eq!(on_b.status, 200, "{}", on_b.body);
    assert!(profile(&on_b).contains("Alex Morgan"), "{}", on_b.body);
    assert!(profile(&whoami(&a.base, &session, 4).await).contains("Alex Morgan"), "and back on A");

    // Another identity on B is refused, as on the replica that opened it.
    let other = post(
        &b.mcp(),
        Some(&session),
        &[("x-mcp-base-url", a.portal.base_url()), ("x-mcp-api-key", "sk-someone-else")],
        &call(5, "get_self_profile"),
    )
    .await;
    assert_eq!(other.status, 403, "{}", other.body);

    // A replica started later (A restarted, say) serves it too.
    let c = replica(&redis, Some(a.portal.clone()), &[]).await;
    assert!(profile(&whoami(&c.base, &session, 6).await).contains("Alex Morgan"));

    // The client's DELETE on B ends it everywhere.
    let r = docspace_mcp_client::tls::builder()
        .build()
        .unwrap()
        .delete(format!("{}/mcp", b.base))
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-06-18")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for base in [&a.base, &b.base, &c.base] {
        assert_eq!(whoami(base, &session, 7).await.status, 404, "closed on {base}");
    }
    // Nothing secret in the store: the identity is a keyed hash, no key holds the API key.
    let keys: Vec<String> = redis.query(redis::cmd("KEYS").arg("*")).await;
    assert!(!keys.is_empty());
    for key in &keys {
        assert!(key.starts_with("docspace-mcp:"), "namespaced: {key}");
        let dump: Vec<u8> = redis.query(redis::cmd("DUMP").arg(key)).await;
        let dump = String::from_utf8_lossy(&dump);
        assert!(!dump.contains(docspace_mcp::sandbox::API_KEY), "{key} holds the API key");
    }
}

#[tokio::test]
async fn log_levels_follow_a_session_across_replicas() {
    let Some(redis) = Redis::start() else { return };
    let a = replica(&redis, None, &[]).await;
    let b = replica(&redis, Some(a.portal.clone()), &[]).await;
    let session = open(&a.mcp(), &[]).await;
    let set = json!({"jsonrpc": "2.0", "id": 2, "method": "logging/setLevel", "params": {"level": "warning"}});
    assert_eq!(post(&a.mcp(), Some(&session), &[], &set).await.status, 200);
    let stored: Option<String> =
        redis.query(redis::cmd("HGET").arg(format!("docspace-mcp:session:{session}")).arg("level")).await;
    assert_eq!(stored.as_deref(), Some("\"warning\""), "recorded for the other replicas");
    // B adopts the session with its level: a failing call there sends a
    // warning on the session's GET stream.
    assert_eq!(whoami(&b.base, &session, 3).await.status, 200);
    let stream = docspace_mcp_client::tls::builder()
        .build()
        .unwrap()
        .get(format!("{}/mcp", b.base))
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-06-18")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut events = Events::new(stream);
    let failing = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "get_room_info", "arguments": {"roomId": 999_999}}});
    let r = post(&b.mcp(), Some(&session), &[], &failing).await;
    assert!(r.body.contains("isError"), "{}", r.body);
    let (_, data) = events.next().await;
    let log: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(
        (log["method"].as_str(), log["params"]["level"].as_str()),
        (Some("notifications/message"), Some("warning")),
        "the level set on A holds on B: {log}"
    );
}

#[tokio::test]
async fn sse_messages_posted_to_another_replica_reach_the_stream() {
    let Some(redis) = Redis::start() else { return };
    let a = replica(&redis, None, &[]).await;
    let b = replica(&redis, Some(a.portal.clone()), &[]).await;
    let http = docspace_mcp_client::tls::builder().build().unwrap();
    let stream = http.get(format!("{}/sse", a.base)).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let mut events = Events::new(stream);
    let (event, endpoint) = events.next().await;
    assert_eq!(event, "endpoint");
    let send = |base: String, body: Value, headers: Vec<(&'static str, String)>| {
        let http = http.clone();
        let endpoint = endpoint.clone();
        async move {
            let mut req = http.post(format!("{base}{endpoint}")).header("content-type", "application/json");
            for (k, v) in headers {
                req = req.header(k, v);
            }
            req.body(body.to_string()).send().await.unwrap().status().as_u16()
        }
    };
    // Every message goes to B, which does not hold the stream.
    assert_eq!(send(b.base.clone(), mcp_http::init(1), vec![]).await, 202);
    let (_, reply) = events.next().await;
    assert_eq!(serde_json::from_str::<Value>(&reply).unwrap()["id"], 1, "{reply}");
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(send(b.base.clone(), initialized, vec![]).await, 202);
    for id in 2..6 {
        let base = if id % 2 == 0 { &b.base } else { &a.base };
        assert_eq!(send(base.clone(), call(id, "get_self_profile"), vec![]).await, 202);
        let (_, reply) = events.next().await;
        let reply: Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(reply["id"], id);
        assert!(reply["result"]["content"][0]["text"].as_str().unwrap().contains("Alex Morgan"), "{reply}");
    }
    // Another identity is refused on B before anything is relayed.
    let other = vec![("x-mcp-base-url", a.portal.base_url().to_owned()), ("x-mcp-api-key", "sk-else".to_owned())];
    assert_eq!(send(b.base.clone(), call(9, "get_self_profile"), other).await, 403);
    // The stream closes: B no longer finds the session.
    drop(events);
    let mut gone = false;
    for _ in 0..100 {
        if send(b.base.clone(), call(10, "get_self_profile"), vec![]).await == 404 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gone, "the session ends with its stream, on every replica");
}

#[tokio::test]
async fn rate_limits_count_over_every_replica() {
    let Some(redis) = Redis::start() else { return };
    let limits = ["--rate-limit", "6", "--rate-window-ms", "60000"];
    let a = replica(&redis, None, &limits).await;
    let b = replica(&redis, Some(a.portal.clone()), &limits).await;
    let http = docspace_mcp_client::tls::builder().build().unwrap();
    let mut allowed = 0;
    let mut remaining = Vec::new();
    for i in 0..12 {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        let r = http.get(format!("{base}/health")).send().await.unwrap();
        match r.status().as_u16() {
            200 => {
                allowed += 1;
                remaining.push(r.headers()["ratelimit-remaining"].to_str().unwrap().parse::<u32>().unwrap());
            }
            429 => assert!(r.headers().contains_key("retry-after")),
            other => panic!("status {other}"),
        }
    }
    assert_eq!(allowed, 6, "6 per window over both replicas, not 6 each");
    assert_eq!(remaining, [5, 4, 3, 2, 1, 0], "each replica sees the other's requests");
}

#[tokio::test]
async fn a_store_outage_answers_503_and_sessions_survive_it() {
    let Some(mut redis) = Redis::start() else { return };
    let a = replica(&redis, None, &[]).await;
    let session = open(&a.mcp(), &[]).await;
    assert!(profile(&whoami(&a.base, &session, 2).await).contains("Alex Morgan"));
    redis.stop();
    let down = whoami(&a.base, &session, 3).await;
    assert_eq!(down.status, 503, "{}", down.body);
    assert!(down.body.contains("store_unavailable"), "{}", down.body);
    // A new session cannot be recorded: refused, rather than handed out
    // alive on this replica only and dead once the store is back.
    let new = post(&a.mcp(), None, &[], &mcp_http::init(1)).await;
    assert_eq!((new.status, new.session().as_deref()), (503, None), "{}", new.body);
    assert!(new.body.contains("store_unavailable"), "{}", new.body);
    // The health probe still answers (rate limits fall back to this
    // replica's own counters while the store is away) and says why.
    let health: Value = docspace_mcp_client::tls::builder()
        .build()
        .unwrap()
        .get(format!("{}/health", a.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((health["status"].as_str(), health["store"].as_str()), (Some("ok"), Some("unavailable")));
    redis.restart();
    // The connection comes back by itself; the session was saved with the store.
    let mut back = None;
    for i in 0..100 {
        let a = whoami(&a.base, &session, 10 + i).await;
        if a.status == 200 {
            back = Some(a);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let back = back.expect("the session answers again once the store is back");
    assert!(profile(&back).contains("Alex Morgan"), "{}", back.body);
}

/// OAuth's single-use memories are the store's: a code spent on one replica
/// is refused on the other before DocSpace is asked, and a refresh token
/// rotated on one cannot be replayed on the other (DocSpace keeps its own
/// refresh token valid, so without the store the replay would pass).
#[tokio::test(flavor = "multi_thread")]
async fn oauth_codes_and_refresh_tokens_are_single_use_across_replicas() {
    use crate::common::oauth::{Flow, REDIRECT, code_for, exchange, register};
    use crate::common::server::OAuth;
    let Some(redis) = Redis::start() else { return };
    let url = redis.url();
    let shared = ["--state-url", url.as_str(), "--state-secret-key", SECRET];
    let a = TestServer::builder().oauth(OAuth::Shared).args(&shared).start().await;
    let mut b_args = shared.to_vec();
    b_args.extend(["--server-base-url", a.base.as_str()]);
    let b = TestServer::builder().oauth(OAuth::Shared).portal(Some(a.portal.clone())).args(&b_args).start().await;
    let client = register(&a.base, &[REDIRECT], "Replicas").await;
    let flow = Flow::new(&client, REDIRECT);
    let code = code_for(&a.base, &flow).await;
    let form = |code: &str| {
        [
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("client_id", client.clone()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code_verifier", flow.verifier.clone()),
        ]
    };
    let pairs = form(&code);
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, tokens) = exchange(&b.base, &pairs, None).await;
    assert_eq!(status, 200, "the code made on A is exchanged on B: {tokens}");
    let (status, replay) = exchange(&a.base, &pairs, None).await;
    assert_eq!((status, replay["error"].as_str()), (400, Some("invalid_grant")), "{replay}");
    assert_eq!(replay["error_description"], "the code was already used", "refused by the shared memory: {replay}");

    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let refresh_form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str()), ("client_id", &client)];
    let (status, rotated) = exchange(&a.base, &refresh_form, None).await;
    assert_eq!(status, 200, "{rotated}");
    assert_ne!(rotated["refresh_token"].as_str(), Some(refresh.as_str()), "rotated");
    let (status, replay) = exchange(&b.base, &refresh_form, None).await;
    assert_eq!((status, replay["error"].as_str()), (400, Some("invalid_grant")), "replayed on B: {replay}");
    let next = rotated["refresh_token"].as_str().unwrap();
    let (status, again) =
        exchange(&b.base, &[("grant_type", "refresh_token"), ("refresh_token", next), ("client_id", &client)], None)
            .await;
    assert_eq!(status, 200, "the rotated token works on B: {again}");
}

/// With the store, a replica keeps a quiet session only until its worker
/// would hibernate (its caps and memory follow what it serves now); the
/// session itself lives on in the store and comes back on its next request.
#[tokio::test]
async fn a_replica_lets_go_of_quiet_sessions_the_store_keeps() {
    let Some(redis) = Redis::start() else { return };
    let a = replica(&redis, None, &["--session-hibernate-after", "1"]).await;
    let session = open(&a.mcp(), &[]).await;
    let health = || async {
        docspace_mcp_client::tls::builder()
            .build()
            .unwrap()
            .get(format!("{}/health", a.base))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    assert_eq!(health().await["sessions"], 1);
    let mut released = false;
    for _ in 0..100 {
        if health().await["sessions"] == 0 {
            released = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(released, "the replica let the quiet session go");
    let back = whoami(&a.base, &session, 2).await;
    assert_eq!(back.status, 200, "{}", back.body);
    assert!(profile(&back).contains("Alex Morgan"));
    assert_eq!(health().await["sessions"], 1, "adopted again");
}
