//! The OAuth flow as MCP clients and browsers walk it, against a test server
//! with the proxy on (see [`super::server`]): registration, the consent page
//! and its form, the sandbox's sign-in, the callback, the code exchange and
//! an MCP call with the token.

use docspace_mcp::pkce;
use docspace_mcp::sandbox;
use docspace_mcp_client::reqwest::{self, redirect::Policy};
use serde_json::{Value, json};
use std::collections::HashMap;

pub const KEY: &str = "an-oauth-test-key-that-is-long-enough-0123456789";
pub const REDIRECT: &str = "http://127.0.0.1:9/callback";

pub fn browser() -> reqwest::Client {
    docspace_mcp_client::tls::builder().redirect(Policy::none()).build().unwrap()
}

pub fn query_of(location: &str) -> HashMap<String, String> {
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

pub fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// The hidden inputs of a page's form.
pub fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .filter_map(|rest| {
            let name = rest.strip_prefix("name=\"")?.split('"').next()?;
            let value = rest.split("value=\"").nth(1)?.split('"').next()?;
            Some((unescape(name), unescape(value)))
        })
        .collect()
}

pub fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next().map(str::to_owned))
        .collect()
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

/// One client's side of a flow.
pub struct Flow {
    pub client_id: String,
    pub redirect: String,
    pub verifier: String,
    pub state: String,
    /// Send `resource` (RFC 8707).
    pub resource: bool,
}

impl Flow {
    pub fn new(client_id: &str, redirect: &str) -> Self {
        Self {
            client_id: client_id.to_owned(),
            redirect: redirect.to_owned(),
            verifier: pkce::verifier().unwrap(),
            state: format!("st-{}", uuid::Uuid::new_v4().simple()),
            resource: true,
        }
    }

    /// The authorization URL (with scopes DocSpace does not know, as clients send);
    /// `extra` replaces or adds parameters, an empty value removes one.
    pub fn url(&self, base: &str, extra: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(String, String)> = [
            ("response_type", "code".to_owned()),
            ("client_id", self.client_id.clone()),
            ("redirect_uri", self.redirect.clone()),
            ("state", self.state.clone()),
            ("code_challenge", pkce::challenge(&self.verifier)),
            ("code_challenge_method", "S256".to_owned()),
            ("scope", "claudeai files:read openid".to_owned()),
            ("resource", if self.resource { format!("{base}/mcp") } else { String::new() }),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for (k, v) in extra {
            match pairs.iter_mut().find(|(pk, _)| pk == k) {
                Some(p) => p.1 = (*v).to_owned(),
                None => pairs.push(((*k).to_owned(), (*v).to_owned())),
            }
        }
        pairs.retain(|(_, v)| !v.is_empty());
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        format!("{base}/authorize?{}", form(&refs))
    }
}

pub async fn register(base: &str, redirects: &[&str], name: &str) -> String {
    let r = docspace_mcp_client::tls::builder()
        .build()
        .unwrap()
        .post(format!("{base}/register"))
        .json(&json!({"redirect_uris": redirects, "client_name": name, "token_endpoint_auth_method": "none"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["client_id"].as_str().unwrap().to_owned()
}

/// The consent page's form, and the cookies it set.
pub struct Consent {
    pub fields: Vec<(String, String)>,
    pub cookies: Vec<String>,
}

/// GET of the consent page: its headers, HTML and form.
pub async fn consent_page(http: &reqwest::Client, url: &str) -> (reqwest::header::HeaderMap, String, Option<Consent>) {
    let r = http.get(url).send().await.unwrap();
    let ok = r.status() == 200;
    let cookies = set_cookies(&r);
    let headers = r.headers().clone();
    let html = r.text().await.unwrap();
    let consent = ok.then(|| Consent { fields: hidden_inputs(&html), cookies });
    (headers, html, consent)
}

pub async fn decide(
    http: &reqwest::Client,
    base: &str,
    consent: &Consent,
    decision: &str,
    cookies: bool,
) -> reqwest::Response {
    let mut pairs: Vec<(&str, &str)> = consent.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    pairs.push(("decision", decision));
    let mut req = http
        .post(format!("{base}/authorize"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", base)
        .body(form(&pairs));
    if cookies {
        req = req.header("cookie", consent.cookies.join("; "));
    }
    req.send().await.unwrap()
}

/// Signs in on the sandbox's page at `upstream` and answers `decision`: the callback URL.
pub async fn sandbox_login(http: &reqwest::Client, upstream: &str, decision: &str) -> String {
    let page = http.get(upstream).send().await.unwrap();
    assert_eq!(page.status(), 200, "the sandbox's sign-in page for {upstream}");
    let html = page.text().await.unwrap();
    let mut pairs = hidden_inputs(&html);
    pairs.extend([
        ("username".to_owned(), sandbox::USERNAME.to_owned()),
        ("password".to_owned(), sandbox::PASSWORD.to_owned()),
        ("decision".to_owned(), decision.to_owned()),
    ]);
    let action = upstream.split("/oauth2/").next().unwrap();
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = http
        .post(format!("{action}/oauth2/authorize"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&refs))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    location(&r)
}

/// The whole browser part: consent (allow), sandbox sign-in, callback; the
/// redirect to the client's URI.
pub async fn authorize(base: &str, flow: &Flow) -> String {
    walk(base, &flow.url(base, &[])).await
}

/// The browser part for an authorization URL built by someone else.
pub async fn walk(base: &str, url: &str) -> String {
    let http = browser();
    let (_, _, consent) = consent_page(&http, url).await;
    let consent = consent.expect("the consent page");
    let r = decide(&http, base, &consent, "allow", true).await;
    assert_eq!(r.status(), 303);
    let callback = sandbox_login(&http, &location(&r), "allow").await;
    assert!(callback.starts_with(&format!("{base}/oauth/callback?")), "{callback}");
    let r = http.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 302);
    location(&r)
}

pub async fn exchange(base: &str, pairs: &[(&str, &str)], basic: Option<(&str, &str)>) -> (u16, Value) {
    let mut req = docspace_mcp_client::tls::builder()
        .build()
        .unwrap()
        .post(format!("{base}/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(pairs));
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub async fn code_for(base: &str, flow: &Flow) -> String {
    let back = authorize(base, flow).await;
    assert!(back.starts_with(&flow.redirect), "{back}");
    let q = query_of(&back);
    assert_eq!(q.get("state"), Some(&flow.state), "the client's own state comes back");
    assert_eq!(q.get("iss").map(String::as_str), Some(base), "iss (RFC 9207)");
    q["code"].clone()
}

pub async fn tokens(base: &str, flow: &Flow) -> Value {
    let code = code_for(base, flow).await;
    let (status, body) = exchange(
        base,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &flow.client_id),
            ("redirect_uri", &flow.redirect),
            ("code_verifier", &flow.verifier),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

pub async fn mcp(
    base: &str,
    path: &str,
    token: Option<&str>,
    body: &Value,
    session: Option<&str>,
) -> reqwest::Response {
    let mut req = docspace_mcp_client::tls::builder()
        .build()
        .unwrap()
        .post(format!("{base}{path}"))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2025-06-18")
        .body(body.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    req.send().await.unwrap()
}

pub fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "oauth-test", "version": "0"}}})
}

/// initialize, initialized, `get_self_profile`: the tool's text.
pub async fn whoami(base: &str, token: &str) -> Result<String, (u16, String)> {
    let r = mcp(base, "/mcp", Some(token), &initialize(), None).await;
    if r.status() != 200 {
        let status = r.status().as_u16();
        let challenge =
            r.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        return Err((status, challenge));
    }
    let session = r.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let n = mcp(
        base,
        "/mcp",
        Some(token),
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        Some(&session),
    )
    .await;
    assert_eq!(n.status(), 202);
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "get_self_profile", "arguments": {}}});
    let r = mcp(base, "/mcp", Some(token), &call, Some(&session)).await;
    if r.status() != 200 {
        return Err((r.status().as_u16(), String::new()));
    }
    // One JSON answer, or an SSE stream whose last `data:` is the answer.
    let body = r.text().await.unwrap();
    let json = if body.trim_start().starts_with('{') {
        body
    } else {
        body.lines().filter_map(|l| l.strip_prefix("data:")).next_back().unwrap_or_default().trim().to_owned()
    };
    let v: Value = serde_json::from_str(&json).unwrap();
    Ok(v["result"]["content"][0]["text"].as_str().unwrap_or_default().to_owned())
}
