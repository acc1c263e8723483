//! The OAuth proxy across replicas: the official Python SDK's OAuth client
//! signing in through nginx, and each single-use memory and revocation
//! checked by sending each step of a sign-in to a chosen replica directly.
//!
//! The refusals checked are the proxy's own ("the code was already used",
//! not DocSpace's "unknown or used code"): DocSpace's single-use codes and
//! refresh tokens would refuse a replay too, but only after the replay
//! reached DocSpace, and a replica without the shared memory says what
//! DocSpace says. Revocation is checked with a request DocSpace never sees
//! (`initialize`, with the token's introspection answer cached on every
//! replica beforehand), so only the shared revocation list can refuse it.

use docspace_mcp::sandbox;
use docspace_mcp_client::reqwest;
use serde_json::Value;

use super::common::clients::python_with_sdk;
use super::common::oauth::{self as flow, Consent, Flow, REDIRECT};
use super::common::root;
use super::topology::{Access, Topology, http};

/// The Python SDK's OAuth client (`tests/clients/oauth_client.py`, shared
/// application mode) through nginx, over Streamable HTTP and over SSE: it
/// registers, signs in, calls tools, refreshes and calls again. nginx's log
/// shows the consent form, DocSpace's callback and the code exchange each
/// answered by a different replica.
pub async fn python_client_signs_in_through_nginx(t: &Topology) {
    let python = python_with_sdk().expect("the Python MCP SDK");
    for (path, transport) in [("/mcp", "streamable-http"), ("/sse", "sse")] {
        let mark = t.nginx.mark();
        let out = tokio::process::Command::new(&python)
            .arg(root().join("tests/clients/oauth_client.py"))
            .args(["--url", &format!("{}{path}", t.public), "--transport", transport, "--mode", "shared"])
            .args(["--username", sandbox::USERNAME, "--password", sandbox::PASSWORD])
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stdout.contains(" passed, 0 failed"),
            "{transport}: the Python OAuth client through nginx reported failures:\n{stdout}\n{stderr}\n{}",
            t.logs()
        );
        let log = t.nginx.log_since(mark);
        let first = |method: &str, path: &str| -> &Access {
            log.iter()
                .find(|a| a.method == method && a.path() == path)
                .unwrap_or_else(|| panic!("{transport}: no {method} {path} in nginx's log: {log:#?}"))
        };
        let steps = [first("POST", "/authorize"), first("GET", "/oauth/callback"), first("POST", "/token")];
        let served: Vec<Option<usize>> = steps.iter().map(|a| t.replica_at(a.upstream())).collect();
        println!("{transport}: consent form, callback, code exchange answered by replicas {served:?}");
        assert!(
            served.iter().all(Option::is_some)
                && served[0] != served[1]
                && served[1] != served[2]
                && served[0] != served[2],
            "{transport}: the consent form, DocSpace's callback and the code exchange should each land on another \
             replica (round robin): {steps:#?}"
        );
        let everyone = t.replicas_of(&log);
        assert_eq!(everyone.len(), 3, "{transport}: the whole sign-in and sessions used every replica: {log:#?}");
        let errors: Vec<&Access> = log.iter().filter(|a| a.status >= 500).collect();
        assert!(errors.is_empty(), "{transport}: server errors through nginx: {errors:#?}");
    }
}

/// A browser's sign-in with each step sent to a chosen replica.
struct SignIn {
    flow: Flow,
    /// The consent form as submitted.
    consent: Consent,
    /// DocSpace's redirect to the callback (nginx's URL).
    callback: String,
    /// The code the client got.
    code: String,
}

fn on(t: &Topology, replica: usize, public_url: &str) -> String {
    assert!(public_url.starts_with(&t.public), "{public_url}");
    public_url.replacen(&t.public, &t.replicas[replica].base, 1)
}

/// POSTs the consent form to `replica`, as the browser on the public origin.
async fn submit(t: &Topology, replica: usize, consent: &Consent) -> reqwest::Response {
    let mut pairs: Vec<(&str, &str)> = consent.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    pairs.push(("decision", "allow"));
    http()
        .post(format!("{}/authorize", t.replicas[replica].base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", &t.public)
        .header("cookie", consent.cookies.join("; "))
        .body(flow::form(&pairs))
        .send()
        .await
        .unwrap()
}

/// The consent page from `page`, its form to `form`, DocSpace's sign-in,
/// and DocSpace's redirect to `callback`: the code.
async fn sign_in(t: &Topology, client_id: &str, [page, form, callback]: [usize; 3]) -> SignIn {
    let flow = Flow::new(client_id, REDIRECT);
    let browser = flow::browser();
    let (_, html, consent) = flow::consent_page(&browser, &on(t, page, &flow.url(&t.public, &[]))).await;
    let consent = consent.unwrap_or_else(|| panic!("the consent page from replica {page}: {html}"));
    let r = submit(t, form, &consent).await;
    assert_eq!(r.status(), 303, "the consent form at replica {form}: {}", r.text().await.unwrap_or_default());
    let docspace = flow::location(&r);
    let to_callback = flow::sandbox_login(&browser, &docspace, "allow").await;
    assert!(to_callback.starts_with(&format!("{}/oauth/callback?", t.public)), "{to_callback}");
    let r = browser.get(on(t, callback, &to_callback)).send().await.unwrap();
    assert_eq!(r.status(), 302, "the callback at replica {callback}: {}", r.text().await.unwrap_or_default());
    let back = flow::query_of(&flow::location(&r));
    assert_eq!(back.get("state"), Some(&flow.state));
    assert_eq!(back.get("iss"), Some(&t.public), "iss is the public URL, whichever replica answered");
    SignIn { code: back["code"].clone(), flow, consent, callback: to_callback }
}

async fn exchange(t: &Topology, replica: usize, s: &SignIn) -> (u16, Value) {
    flow::exchange(
        &t.replicas[replica].base,
        &[
            ("grant_type", "authorization_code"),
            ("code", &s.code),
            ("client_id", &s.flow.client_id),
            ("redirect_uri", &s.flow.redirect),
            ("code_verifier", &s.flow.verifier),
        ],
        None,
    )
    .await
}

async fn refresh(t: &Topology, replica: usize, client_id: &str, token: &str) -> (u16, Value) {
    flow::exchange(
        &t.replicas[replica].base,
        &[("grant_type", "refresh_token"), ("refresh_token", token), ("client_id", client_id)],
        None,
    )
    .await
}

async fn revoke(t: &Topology, replica: usize, client_id: &str, token: &str) -> u16 {
    let r = http()
        .post(format!("{}/revoke", t.replicas[replica].base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(flow::form(&[("token", token), ("client_id", client_id)]))
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

/// `initialize` at `replica` with `token`: the status and `WWW-Authenticate`.
/// The proxy checks the token (seal, revocation, DocSpace's cached
/// introspection) and DocSpace sees nothing else of it.
pub async fn initialize(t: &Topology, replica: usize, token: &str) -> (u16, String) {
    let r = flow::mcp(&t.replicas[replica].base, "/mcp", Some(token), &flow::initialize(), None).await;
    let challenge = r.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (r.status().as_u16(), challenge)
}

fn description(body: &Value) -> &str {
    body["error_description"].as_str().unwrap_or_default()
}

/// What the checks leave for later ones (after the store restarts).
pub struct Spent {
    pub client_id: String,
    /// A code exchanged once.
    pub code: SignInCode,
    /// An access token revoked at one replica.
    pub revoked_access: String,
    /// A refresh token used once.
    pub used_refresh: String,
    /// An access token and a refresh token never used.
    pub fresh: (String, String),
}

/// A used code with what its exchange needs.
pub struct SignInCode(SignIn);

impl SignInCode {
    /// Replays the code at `replica`: the status and the error's description.
    pub async fn replay(&self, t: &Topology, replica: usize) -> (u16, String) {
        let (status, body) = exchange(t, replica, &self.0).await;
        (status, description(&body).to_owned())
    }
}

/// Single use and revocation, each step at a chosen replica.
pub async fn single_use_and_revocation_hold_across_replicas(t: &Topology) -> Spent {
    let client_id = flow::register(&t.replicas[0].base, &[REDIRECT], "replicas test").await;

    // A sign-in over three replicas: the page from 0, the form to 1, DocSpace's callback to 2.
    let first = sign_in(t, &client_id, [0, 1, 2]).await;

    // Replays of each single-use step at another replica.
    let r = submit(t, 2, &first.consent).await;
    let status = r.status();
    let page = r.text().await.unwrap_or_default();
    assert!(
        status == 400 && page.contains("already submitted"),
        "the consent form submitted at replica 1, again at replica 2: {status} {page}"
    );
    let r = http().get(on(t, 0, &first.callback)).send().await.unwrap();
    let status = r.status();
    let page = r.text().await.unwrap_or_default();
    assert!(
        status == 400 && page.contains("already completed"),
        "DocSpace's callback answered at replica 2, again at replica 0: {status} {page}"
    );

    // The code: exchanged at 0, replayed at 1 and 2.
    let (status, tokens) = exchange(t, 0, &first).await;
    assert_eq!(status, 200, "the code at replica 0: {tokens}");
    for replica in [1, 2, 0] {
        let (status, body) = exchange(t, replica, &first).await;
        assert_eq!(
            (status, body["error"].as_str(), description(&body)),
            (400, Some("invalid_grant"), "the code was already used"),
            "the code replayed at replica {replica} must be refused by the proxy itself (before DocSpace): {body}"
        );
    }

    // A second code, sent to two replicas at once: exactly one wins.
    let second = sign_in(t, &client_id, [1, 2, 0]).await;
    let ((s1, b1), (s2, b2)) = tokio::join!(exchange(t, 1, &second), exchange(t, 2, &second));
    let (winner, loser) = match (s1, s2) {
        (200, _) => (&b1, (s2, &b2)),
        (_, 200) => (&b2, (s1, &b1)),
        _ => panic!("the same code at replicas 1 and 2 at once: neither was accepted: {s1} {b1} / {s2} {b2}"),
    };
    let fresh =
        (winner["access_token"].as_str().unwrap().to_owned(), winner["refresh_token"].as_str().unwrap().to_owned());
    assert_eq!(
        (loser.0, description(loser.1)),
        (400, "the code was already used"),
        "the same code at replicas 1 and 2 at once: one exchange, the other refused by the proxy: {}",
        loser.1
    );

    // Refresh rotation: the refresh token used at 1, replayed at 2 and 0.
    let refresh1 = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, rotated) = refresh(t, 1, &client_id, &refresh1).await;
    assert_eq!(status, 200, "the refresh at replica 1: {rotated}");
    for replica in [2, 0] {
        let (status, body) = refresh(t, replica, &client_id, &refresh1).await;
        assert_eq!(
            (status, description(&body)),
            (400, "the refresh token was already used"),
            "the refresh token replayed at replica {replica}: {body}"
        );
    }
    // The new refresh token, at two replicas at once: exactly one refresh.
    let refresh2 = rotated["refresh_token"].as_str().unwrap().to_owned();
    let ((s1, b1), (s2, b2)) = tokio::join!(refresh(t, 0, &client_id, &refresh2), refresh(t, 2, &client_id, &refresh2));
    let (latest, loser) = match (s1, s2) {
        (200, _) => (b1.clone(), (s2, b2.clone())),
        (_, 200) => (b2.clone(), (s1, b1.clone())),
        _ => panic!("one refresh token at replicas 0 and 2 at once: neither was accepted: {s1} {b1} / {s2} {b2}"),
    };
    assert_eq!(
        (loser.0, description(&loser.1)),
        (400, "the refresh token was already used"),
        "one refresh token at replicas 0 and 2 at once: one refresh, the other refused: {}",
        loser.1
    );

    // Revocation: the access token is accepted by every replica (each caches DocSpace's
    // introspection answer), revoked at 0, then refused by all three.
    let access = latest["access_token"].as_str().unwrap().to_owned();
    for replica in 0..3 {
        let (status, challenge) = initialize(t, replica, &access).await;
        assert_eq!(status, 200, "the fresh access token at replica {replica}: {challenge}");
    }
    assert_eq!(revoke(t, 0, &client_id, &access).await, 200, "the revocation at replica 0");
    for replica in [1, 2, 0] {
        let (status, challenge) = initialize(t, replica, &access).await;
        assert!(
            status == 401 && challenge.contains("invalid_token"),
            "the access token revoked at replica 0, at replica {replica}: {status} {challenge}"
        );
    }
    // And the refresh token, revoked at 1, refused at 2 by the proxy.
    let last_refresh = latest["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(revoke(t, 1, &client_id, &last_refresh).await, 200, "the refresh token's revocation at replica 1");
    let (status, body) = refresh(t, 2, &client_id, &last_refresh).await;
    assert_eq!(
        (status, description(&body)),
        (400, "the refresh token has been revoked"),
        "the refresh token revoked at replica 1, at replica 2: {body}"
    );

    Spent { client_id, code: SignInCode(first), revoked_access: access, used_refresh: refresh1, fresh }
}

/// With the store down: a token request and an MCP request with a valid
/// token are refused with 503 (neither single use nor revocation can be
/// checked), and the refresh token is not spent by the refusal.
pub async fn refused_while_the_store_is_down(t: &Topology, spent: &Spent, replica: usize) {
    let (status, body) = refresh(t, replica, &spent.client_id, &spent.fresh.1).await;
    assert!(
        status == 503 && matches!(body["error"].as_str(), Some("temporarily_unavailable" | "store_unavailable")),
        "a refresh at replica {replica} with the store down: {status} {body}"
    );
    let r = flow::mcp(&t.replicas[replica].base, "/mcp", Some(&spent.fresh.0), &flow::initialize(), None).await;
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert!(
        status == 503 && matches!(body["error"].as_str(), Some("temporarily_unavailable" | "store_unavailable")),
        "an MCP request with a valid access token at replica {replica} with the store down: {status} {body}"
    );
}

/// After the store came back, the refresh refused while it was down goes
/// through.
pub async fn refresh_after_the_store_is_back(t: &Topology, spent: &Spent, replica: usize) {
    let (status, body) = refresh(t, replica, &spent.client_id, &spent.fresh.1).await;
    assert_eq!(status, 200, "the refresh refused while the store was down, at replica {replica} after: {body}");
}

/// After the store came back: what was used and revoked before is still.
pub async fn memories_survive_the_store_restart(t: &Topology, spent: &Spent) {
    for replica in 0..3 {
        let (status, why) = spent.code.replay(t, replica).await;
        assert_eq!((status, why.as_str()), (400, "the code was already used"), "the used code at replica {replica}");
        let (status, body) = refresh(t, replica, &spent.client_id, &spent.used_refresh).await;
        assert_eq!(
            (status, description(&body)),
            (400, "the refresh token was already used"),
            "the used refresh token at replica {replica}: {body}"
        );
        let (status, challenge) = initialize(t, replica, &spent.revoked_access).await;
        assert_eq!(status, 401, "the revoked access token at replica {replica}: {challenge}");
    }
}
