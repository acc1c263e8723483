//! The fourth test binary: three replicas of the server sharing one store,
//! behind nginx round robin (no stickiness), for real on 127.0.0.1:
//! `redis-server` (or `valkey-server`) and `nginx` from Debian, the sandbox
//! portal in this process, the replicas as processes of the binary under
//! test, and the official Python MCP SDK's clients through nginx
//! (docs/deploy.md, "Several replicas", describes the topology).
//!
//! - `topology`: starting and killing the processes, nginx's configuration
//!   (the shipped `deploy/nginx/docspace-mcp.conf`) and its access log,
//!   which says which replica answered each request.
//! - `oauth`: the Python SDK's OAuth client through nginx (consent,
//!   callback and code exchange on three replicas), then codes, states,
//!   consent forms and refresh tokens replayed on another replica, and a
//!   revocation honoured by all.
//! - `sessions`: Streamable HTTP and SSE sessions whose requests land on
//!   every replica.
//!
//! `scripts/test` installs redis-server and nginx; without them the tests
//! say so and are skipped, unless DOCSPACE_MCP_REQUIRE_CLIENTS is set (as
//! scripts/test does), when they fail.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    missing_docs,
    unreachable_pub
)]

#[path = "../common/lib.rs"]
mod common;
mod oauth;
mod sessions;
mod topology;

use std::time::{Duration, Instant};

use sessions::{PyClient, new_session, of_session, on_session, ping};
use topology::{Access, Options, Programs, Topology};

/// How long the replicas may take to notice the store's state: a guard
/// against a hang, not a measurement.
const NOTICE_WITHIN: Duration = Duration::from_secs(30);

/// One ordered scenario on one topology: OAuth, sessions, a replica killed
/// and started again, the store killed and started again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_behind_round_robin_nginx_share_one_store() {
    let Some(programs) = Programs::find() else { return };
    if common::clients::python_with_sdk().is_none() {
        return;
    }
    let started = Instant::now();
    // The MCP rate limit is off here, so that what each request needs of the store shows by
    // itself; `the_rate_limit_is_global_across_replicas` checks the limiter, an outage included.
    let mut t = Topology::start(&programs, Options { rate_limit: (0, 0) }).await;
    println!("topology up in {} ms: nginx at {}", started.elapsed().as_millis(), t.public);
    for r in &t.replicas {
        let (status, health) = r.health().await;
        assert_eq!((status, health["store"].as_str()), (200, Some("ok")), "replica {}: {health}", r.index);
    }

    // OAuth: the independent client through nginx, then each step at a chosen replica.
    let step = Instant::now();
    oauth::python_client_signs_in_through_nginx(&t).await;
    let spent = oauth::single_use_and_revocation_hold_across_replicas(&t).await;
    println!("oauth: {} ms", step.elapsed().as_millis());

    // Legacy SSE: one stream, its messages on every replica.
    let step = Instant::now();
    sessions::sse_session_spans_replicas(&t, 12).await;
    println!("sse session: {} ms", step.elapsed().as_millis());

    // Streamable HTTP: one session, in three phases.
    let step = Instant::now();
    let mark = t.nginx.mark();
    let mut client = PyClient::start(&t, "/mcp", &[12, 9, 9]);
    let pause = client.until_pause().await;
    let phase1 = t.nginx.log_since(mark);
    let session = of_session(&phase1, &pause.session);
    assert_all_fine(&session, "phase 1");
    assert_eq!(
        replicas(&t, &posts(&session)).len(),
        3,
        "phase 1: the session's requests on every replica: {session:#?}"
    );

    // Phase 2: the replica that opened the session killed while the session is open.
    let opened = session.iter().find(|a| a.new_session == pause.session).map(|a| a.upstream().to_owned());
    let killed = opened.and_then(|addr| t.replica_at(&addr)).unwrap_or_else(|| panic!("no initialize: {session:#?}"));
    t.replicas[killed].kill();
    assert!(!t.replicas[killed].running());
    let mark = t.nginx.mark();
    client.go().await;
    let pause = client.until_pause().await;
    let phase2 = t.nginx.log_since(mark);
    let session = of_session(&phase2, &pause.session);
    assert_all_fine(&session, "phase 2");
    let dead = format!("127.0.0.1:{}", t.replicas[killed].port);
    // Its POSTs (a GET stream held by the killed replica ended when it did).
    let served = replicas(&t, &posts(&session));
    assert!(
        !served.contains(&killed) && served.len() == 2,
        "phase 2: the session went on, on the two replicas left: {session:#?}"
    );
    assert!(
        session.iter().any(|a| a.upstreams.len() > 1 && a.upstreams[0] == dead),
        "phase 2: nginx tried the killed replica and passed the request on: {session:#?}"
    );
    println!("phase 2: replica {killed}, which opened the session, killed; the session went on on replicas {served:?}");

    // The store killed while the session is open: clear errors, every process up.
    let spent_session = pause;
    store_down(&mut t, killed, &spent_session).await;
    oauth::refused_while_the_store_is_down(&t, &spent, (killed + 1) % 3).await;

    // The store started again on the same port (its append-only file kept everything),
    // and the killed replica started again.
    t.redis.restart();
    for r in t.replicas.iter().filter(|r| r.index != killed) {
        wait_for_store(r, "ok").await;
    }
    t.replicas[killed].restart().await;
    wait_for_store(&t.replicas[killed], "ok").await;
    for r in &t.replicas {
        let (status, body) = on_session(&t, &r.base, &spent_session, &ping(900 + r.index as u64)).await;
        assert_eq!(status, 200, "after the store's restart, the session at replica {}: {body}", r.index);
    }

    // Phase 3: the same session, on every replica again (the restarted one included).
    let mark = t.nginx.mark();
    client.go().await;
    client.finish().await;
    let phase3 = t.nginx.log_since(mark);
    let session = of_session(&phase3, &spent_session.session);
    assert_all_fine(&session, "phase 3");
    assert_eq!(
        replicas(&t, &posts(&session)).len(),
        3,
        "phase 3: the session on every replica, the restarted one included: {session:#?}"
    );
    println!(
        "streamable http session (three phases, a replica and the store restarted): {} ms",
        step.elapsed().as_millis()
    );

    // After the restarts: what OAuth remembered is still remembered, and SSE relays again.
    oauth::memories_survive_the_store_restart(&t, &spent).await;
    oauth::refresh_after_the_store_is_back(&t, &spent, 0).await;
    sessions::sse_session_spans_replicas(&t, 6).await;
    println!("the whole scenario: {} ms", started.elapsed().as_millis());
}

/// Every request of a session was answered without error.
fn assert_all_fine(session: &[&Access], phase: &str) {
    assert!(!session.is_empty(), "{phase}: no request of the session in nginx's log");
    let bad: Vec<&&Access> = session.iter().filter(|a| a.status >= 400).collect();
    assert!(bad.is_empty(), "{phase}: errors on the session: {bad:#?}");
}

/// The POSTs among a session's requests.
fn posts<'a>(lines: &[&'a Access]) -> Vec<&'a Access> {
    lines.iter().copied().filter(|a| a.method == "POST").collect()
}

fn replicas(t: &Topology, lines: &[&Access]) -> Vec<usize> {
    let owned: Vec<Access> = lines.iter().map(|a| (*a).clone()).collect();
    t.replicas_of(&owned)
}

/// Polls a replica's `/health` until its `store` is `want`.
async fn wait_for_store(r: &topology::Replica, want: &str) {
    let deadline = Instant::now() + NOTICE_WITHIN;
    loop {
        let (status, health) = r.health().await;
        assert_eq!(status, 200, "replica {}'s /health: {health}", r.index);
        if health["store"] == want {
            return;
        }
        assert!(Instant::now() < deadline, "replica {} never said store {want}: {health}\n{}", r.index, r.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// With the store killed: `/health` still 200 and says so, every process
/// still up, and a request on the open session answers 503
/// `store_unavailable` on every replica. A new session is refused the same
/// way (a session the store cannot record would be known to one replica
/// only, and lost once the store is back).
async fn store_down(t: &mut Topology, killed: usize, pause: &sessions::Pause) {
    t.redis.kill();
    let alive: Vec<usize> = (0..t.replicas.len()).filter(|i| *i != killed).collect();
    for &i in &alive {
        wait_for_store(&t.replicas[i], "unavailable").await;
    }
    let unavailable = |status: u16, body: &serde_json::Value| {
        status == 503 && body["error"] == "store_unavailable" && body["message"].as_str().is_some_and(|m| !m.is_empty())
    };
    for &i in &alive {
        let base = t.replicas[i].base.clone();
        let (status, body) = on_session(t, &base, pause, &ping(800 + i as u64)).await;
        assert!(unavailable(status, &body), "the open session at replica {i} with the store down: {status} {body}");
        // A session the store cannot record is refused, not handed out alive on one replica only.
        let (status, body, session) = new_session(t, &base).await;
        assert!(
            unavailable(status, &body) && session.is_none(),
            "a new session at replica {i} with the store down: {status} {body} {session:?}"
        );
    }
    for &i in &alive {
        assert!(t.replicas[i].running(), "replica {i} ended with the store down:\n{}", t.replicas[i].log());
    }
    println!(
        "store down: /health 200 with store unavailable, the open session and new sessions 503 store_unavailable, \
         every replica up"
    );
}

/// docs/deploy.md shows the `upstream` block the tests give nginx.
#[test]
fn the_documented_upstream_is_the_tested_one() {
    let (_, site) = topology::Nginx::config(std::path::Path::new("/tmp/x"), 8080, &[8081, 8082, 8083]);
    let start = site.find("upstream ").unwrap();
    let upstream = &site[start..start + site[start..].find("\n}").unwrap() + 2];
    let page = std::fs::read_to_string(common::root().join("docs/deploy.md")).unwrap();
    assert!(
        page.contains(&format!("```nginx\n{upstream}\n```")),
        "docs/deploy.md (Several replicas) must show the upstream block as the tests write it:\n{upstream}"
    );
}

/// The MCP rate limit counted once over all replicas: a client sends three
/// times its capacity through round-robin nginx, a third to each replica,
/// and exactly the capacity is allowed (each replica on its own would have
/// allowed it all).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_is_global_across_replicas() {
    let Some(programs) = Programs::find() else { return };
    const CAPACITY: u32 = 20;
    // A day's window (the longest): the allowance refills by one every 72 minutes.
    let mut t = Topology::start(&programs, Options { rate_limit: (CAPACITY, 86_400_000) }).await;
    // The test plays a proxy in front of nginx (the replicas trust two hops from 127.0.0.1):
    // the client's address is the one it writes in X-Forwarded-For.
    let client = "198.51.100.23";
    let mark = t.nginx.mark();
    let mut statuses = Vec::new();
    for _ in 0..(3 * CAPACITY) {
        statuses.push(ping_from(&t.public, client).await.0);
    }
    let refused = statuses.iter().filter(|s| **s == 429).count();
    let log = t.nginx.log_since(mark);
    let allowed_by: Vec<Access> = log.iter().filter(|a| a.status != 429).cloned().collect();
    let refused_by: Vec<Access> = log.iter().filter(|a| a.status == 429).cloned().collect();
    println!(
        "rate limit {CAPACITY}: {} allowed (by replicas {:?}), {refused} refused (by replicas {:?})",
        statuses.len() - refused,
        t.replicas_of(&allowed_by),
        t.replicas_of(&refused_by)
    );
    assert_eq!(refused, 2 * CAPACITY as usize, "statuses: {statuses:?}\n{}", t.logs());
    assert!(statuses.iter().take(CAPACITY as usize).all(|s| *s != 429 && *s < 500), "{statuses:?}");
    assert!(log.iter().all(|a| a.xff == client), "{log:#?}");
    assert_eq!(t.replicas_of(&refused_by).len(), 3, "every replica refused some: {log:#?}");
    // Another client address has its own allowance.
    let (status, body) = ping_from(&t.public, "198.51.100.24").await;
    assert_ne!(status, 429, "another client address: {body}");

    // The store killed: /health still answers, and each replica falls back to counting on its own
    // (docs/deploy.md): a client sending twice the capacity to one replica gets the capacity.
    t.redis.kill();
    for r in &t.replicas {
        wait_for_store(r, "unavailable").await;
    }
    let mut outage = Vec::new();
    for _ in 0..(2 * CAPACITY) {
        outage.push(ping_from(&t.replicas[0].base, "198.51.100.24").await.0);
    }
    let allowed = outage.iter().filter(|s| **s != 429).count();
    assert!(
        allowed == CAPACITY as usize && outage.iter().all(|s| *s == 429 || *s < 500),
        "one replica's own count while the store is down: {outage:?}"
    );
    // Started again: the counts were kept (the client is still over its limit), and counting goes on.
    t.redis.restart();
    for r in &t.replicas {
        wait_for_store(r, "ok").await;
    }
    for r in &t.replicas {
        let (status, body) = ping_from(&r.base, client).await;
        assert_eq!(status, 429, "replica {}, after the store's restart, the same client: {body}", r.index);
    }
    let mut allowed = 0;
    for _ in 0..(2 * CAPACITY) {
        if ping_from(&t.public, "198.51.100.25").await.0 != 429 {
            allowed += 1;
        }
    }
    assert_eq!(allowed, CAPACITY, "a new client after the store's restart");
}

/// A ping sent to `base` as `client` (its `X-Forwarded-For`): the status and JSON.
async fn ping_from(base: &str, client: &str) -> (u16, serde_json::Value) {
    let r = topology::http()
        .post(format!("{base}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("x-forwarded-for", client)
        .body(ping(1).to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}
