//! The OAuth proxy over real sockets, in front of the sandbox's authorization
//! server: discovery as each client probes it, the whole flow (registration,
//! consent, DocSpace sign-in, callback, code exchange, MCP calls with the
//! token, refresh, revocation) in both registration modes, the attack suite
//! (every attempt refused), and the settings the server refuses to start with.
//! The flows here are driven with raw HTTP; the Python SDK's OAuth client and
//! a real browser drive them in `python_client.rs` and `browser.rs`.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use docspace_mcp::Cli;
use docspace_mcp::Config;
use docspace_mcp::pkce;
use docspace_mcp::sandbox::{self, oauth as sandbox_oauth};
use docspace_mcp_client::reqwest;
use serde_json::{Value, json};

use crate::common::oauth::*;
use crate::common::server::{OAuth, TestServer};
use crate::common::{Reply, Upstream};

#[tokio::test(flavor = "multi_thread")]
async fn discovery_answers_every_client_probe() {
    let s = TestServer::builder().oauth(OAuth::Shared).start().await;
    let b = s.base.as_str();
    let http = docspace_mcp_client::tls::builder().build().unwrap();
    let get = |path: &str| {
        let http = http.clone();
        let url = format!("{b}{path}");
        async move {
            let r = http.get(&url).send().await.unwrap();
            assert_eq!(r.status(), 200, "{url}");
            r.json::<Value>().await.unwrap()
        }
    };
    // RFC 9728: root (Gemini CLI reads it first and wants the endpoint's URL), /mcp (Claude), /sse.
    assert_eq!(get("/.well-known/oauth-protected-resource").await["resource"], format!("{b}/mcp"));
    let prm = get("/.well-known/oauth-protected-resource/mcp").await;
    assert_eq!(prm["resource"], format!("{b}/mcp"));
    assert_eq!(prm["authorization_servers"], json!([b]), "the issuer, not an endpoint (the reference's bug)");
    assert!(prm["scopes_supported"].as_array().unwrap().contains(&json!("offline_access")), "ChatGPT");
    assert_eq!(get("/.well-known/oauth-protected-resource/sse").await["resource"], format!("{b}/sse"));
    // RFC 8414 and OpenID discovery, at the root and in the forms older clients build.
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server/mcp",
        "/.well-known/openid-configuration/mcp",
        "/mcp/.well-known/openid-configuration",
    ] {
        let m = get(path).await;
        assert_eq!(m["issuer"], b, "{path}: issuer equals the base URL exactly");
        assert_eq!(m["authorization_endpoint"], format!("{b}/authorize"));
        assert_eq!(m["token_endpoint"], format!("{b}/token"));
        assert_eq!(m["registration_endpoint"], format!("{b}/register"));
        assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
        assert!(
            m["token_endpoint_auth_methods_supported"].as_array().unwrap().contains(&json!("none")),
            "Claude's CIMD"
        );
        assert_eq!(m["client_id_metadata_document_supported"], true);
        assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    }
    // 401s name the metadata with an absolute URL, and the scopes.
    let r = mcp(b, "/mcp", None, &initialize(), None).await;
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(
        challenge.contains(&format!("resource_metadata=\"{b}/.well-known/oauth-protected-resource/mcp\"")),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"docspace offline_access\""), "{challenge}");
    let r = http.get(format!("{b}/sse")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("oauth-protected-resource/sse\""));
    let r = http.post(format!("{b}/messages?sessionId=x")).body("{}").send().await.unwrap();
    assert_eq!(r.status(), 401, "the SSE message endpoint too");
    // The 2025-03-26 fallbacks on the origin: /authorize, /token, /register answer (not 404).
    let r = http.get(format!("{b}/authorize")).send().await.unwrap();
    assert_eq!(r.status(), 400, "no client_id: a page, not a redirect");
    let r = http.post(format!("{b}/token")).body("grant_type=authorization_code").send().await.unwrap();
    assert_eq!(r.status(), 401, "no client");
    assert_eq!(r.headers()["cache-control"], "no-store");

    // Behind a public URL: the issuer is that URL, and its host is allowed by itself.
    let public = TestServer::builder()
        .oauth(OAuth::Shared)
        .args(&["--server-base-url", "https://mcp.example.test"])
        .start()
        .await;
    let at = |host: &'static str| {
        let url = format!("{}/.well-known/oauth-authorization-server", public.base);
        async move {
            docspace_mcp_client::tls::builder().build().unwrap().get(url).header("host", host).send().await.unwrap()
        }
    };
    let r = at("mcp.example.test").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["token_endpoint"], "https://mcp.example.test/token");
    assert_eq!(at("other.example").await.status(), 403, "other hosts are still refused");

    // Users' own applications: no registration offered, no CIMD; /register says why.
    let own = TestServer::builder().oauth(OAuth::Own).start().await;
    let m = reqwest::get(format!("{}/.well-known/oauth-authorization-server", own.base))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert!(m.get("registration_endpoint").is_none(), "{m}");
    assert_eq!(m["client_id_metadata_document_supported"], false);
    let r =
        http.post(format!("{}/register", own.base)).json(&json!({"redirect_uris": [REDIRECT]})).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("client id and secret of your DocSpace OAuth application"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shared_application_flow_runs_end_to_end_with_refresh_and_revocation() {
    let s = TestServer::builder().oauth(OAuth::Shared).start().await;
    let b = s.base.as_str();
    let client =
        register(b, &["cursor://anysphere.cursor-mcp/oauth/callback", "http://127.0.0.1:8787/callback"], "Cursor")
            .await;
    // Loopback redirects match on any port (VS Code, Copilot CLI).
    let flow = Flow::new(&client, "http://127.0.0.1:41234/callback");
    let t = tokens(b, &flow).await;
    assert!(t.get("scope").is_none(), "scope removed from the token response: {t}");
    assert_eq!(t["token_type"], "Bearer");
    assert!(t["expires_in"].as_u64().unwrap() <= 3600);
    let access = t["access_token"].as_str().unwrap();
    let refresh = t["refresh_token"].as_str().unwrap();
    assert!(!access.starts_with("sandbox-oauth-access"), "never the upstream token itself");
    let me = whoami(b, access).await.unwrap();
    assert!(me.contains(sandbox::USERNAME), "{me}");

    // Refresh: a new access token that works; DocSpace rotated its refresh token.
    let refresh_form = [("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", client.as_str())];
    let (status, t2) = exchange(b, &refresh_form, None).await;
    assert_eq!(status, 200, "{t2}");
    assert!(t2.get("scope").is_none());
    let access2 = t2["access_token"].as_str().unwrap();
    assert!(whoami(b, access2).await.unwrap().contains(sandbox::USERNAME));
    let (status, again) = exchange(b, &refresh_form, None).await;
    assert_eq!((status, again["error"].as_str()), (400, Some("invalid_grant")), "a used refresh token: {again}");

    // Introspection (RFC 7662, the reference's endpoint): active, with its expiry and audience.
    let introspect = |token: String| {
        let url = format!("{b}/introspect");
        let client = client.clone();
        async move {
            let r = docspace_mcp_client::tls::builder()
                .build()
                .unwrap()
                .post(url)
                .form(&[("token", token), ("client_id", client)])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let i = introspect(access2.to_owned()).await;
    assert_eq!((i["active"].as_bool(), i["aud"].as_str()), (Some(true), Some(format!("{b}/mcp").as_str())), "{i}");
    assert!(i["exp"].as_u64().unwrap() > 0 && i["sub"] == sandbox::USERNAME, "{i}");
    assert_eq!(introspect("garbage".into()).await, json!({"active": false}));

    // Revocation: the token is refused with 401 at once; revoking an unknown token is fine.
    let r = docspace_mcp_client::tls::builder()
        .build()
        .unwrap()
        .post(format!("{b}/revoke"))
        .form(&[("token", access2), ("client_id", client.as_str()), ("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (status, challenge) = whoami(b, access2).await.unwrap_err();
    assert_eq!(status, 401);
    assert!(challenge.contains("error=\"invalid_token\"") && challenge.contains("revoked"), "{challenge}");
    assert_eq!(introspect(access2.to_owned()).await["active"], false, "revoked");
    let r = docspace_mcp_client::tls::builder()
        .build()
        .unwrap()
        .post(format!("{b}/revoke"))
        .form(&[("token", "nonsense")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "RFC 7009: an unknown token is not an error");
    // The first access token still works (it was not revoked). Another replica
    // (same key, same public URL) serves it with no shared store, and refuses the
    // revoked one because DocSpace says it is no longer active.
    assert!(whoami(b, access).await.is_ok());
    let replica = TestServer::builder()
        .oauth(OAuth::Shared)
        .portal(Some(s.portal.clone()))
        .args(&["--server-base-url", b])
        .start()
        .await;
    assert!(whoami(&replica.base, access).await.unwrap().contains(sandbox::USERNAME));
    let (status, challenge) = whoami(&replica.base, access2).await.unwrap_err();
    assert!(status == 401 && challenge.contains("no longer active"), "{challenge}");
}

#[tokio::test(flavor = "multi_thread")]
async fn users_own_application_is_forwarded() {
    let s = TestServer::builder().oauth(OAuth::Own).start().await;
    let b = s.base.as_str();
    let flow = Flow::new(sandbox_oauth::CLIENT_ID, REDIRECT);
    let code = code_for(b, &flow).await;
    let base_form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", flow.verifier.as_str()),
    ];
    // No secret: the client must bring its application's secret.
    let (status, e) = exchange(b, &[&base_form[..], &[("client_id", sandbox_oauth::CLIENT_ID)]].concat(), None).await;
    assert_eq!((status, e["error"].as_str()), (401, Some("invalid_client")), "{e}");
    // A wrong secret: DocSpace's refusal is relayed (the code is spent).
    let (status, e) = exchange(b, &base_form, Some((sandbox_oauth::CLIENT_ID, "wrong"))).await;
    assert_eq!((status, e["error"].as_str()), (401, Some("invalid_client")), "{e}");
    // A fresh flow with the right secret (client_secret_basic), without `resource`
    // (Gemini Spark sends none: the audience defaults to `/mcp`).
    let mut flow = Flow::new(sandbox_oauth::CLIENT_ID, REDIRECT);
    flow.resource = false;
    let code = code_for(b, &flow).await;
    let (status, t) = exchange(
        b,
        &[("grant_type", "authorization_code"), ("code", &code), ("code_verifier", &flow.verifier)],
        Some((sandbox_oauth::CLIENT_ID, sandbox_oauth::CLIENT_SECRET)),
    )
    .await;
    assert_eq!(status, 200, "{t}");
    assert!(t.get("scope").is_none());
    assert!(whoami(b, t["access_token"].as_str().unwrap()).await.unwrap().contains(sandbox::USERNAME));
    // Refresh with client_secret_post.
    let (status, t2) = exchange(
        b,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ("client_id", sandbox_oauth::CLIENT_ID),
            ("client_secret", sandbox_oauth::CLIENT_SECRET),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{t2}");
    assert!(whoami(b, t2["access_token"].as_str().unwrap()).await.is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_attack_suite_is_refused() {
    let s = TestServer::builder().oauth(OAuth::Shared).start().await;
    let b = s.base.as_str();
    let http = browser();
    let client = register(b, &[REDIRECT, "https://app.example/cb"], "Honest client").await;

    // Unregistered redirect URIs and open-redirect attempts: a page, never a redirect.
    for evil in [
        "https://evil.example/cb",
        "https://app.example/cb/../../evil",
        "https://app.example/cb?next=https://evil.example",
        "https://app.example.evil.example/cb",
        "http://127.0.0.1.evil.example:9/callback",
        "http://localhost:9/callback",
        "https://app.example/cb#frag",
        "javascript:alert(1)",
    ] {
        let flow = Flow::new(&client, evil);
        let r = http.get(flow.url(b, &[])).send().await.unwrap();
        assert_eq!(r.status(), 400, "{evil}");
        assert!(r.headers().get("location").is_none(), "{evil}: no redirect to an unverified URI");
    }
    // Unknown, tampered or foreign client ids: a page (and 401 invalid_client at /token, so clients re-register).
    let mut tampered = client.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for id in ["made-up", tampered.as_str(), sandbox_oauth::CLIENT_ID] {
        let r = http.get(Flow::new(id, REDIRECT).url(b, &[])).send().await.unwrap();
        assert_eq!(r.status(), 400, "{id}");
        let (status, e) =
            exchange(b, &[("grant_type", "authorization_code"), ("code", "x"), ("client_id", id)], None).await;
        assert_eq!((status, e["error"].as_str()), (401, Some("invalid_client")), "{id}: {e}");
    }
    // A client id from a server with another key is unknown here.
    let other_key_server = TestServer::builder()
        .oauth(OAuth::Shared)
        .args(&["--oauth-secret-key", "another-key-that-is-also-long-enough-987654321"])
        .start()
        .await;
    let foreign = register(&other_key_server.base, &[REDIRECT], "Elsewhere").await;
    assert_eq!(http.get(Flow::new(&foreign, REDIRECT).url(b, &[])).send().await.unwrap().status(), 400);

    // PKCE is required, S256 only. Until the user consented to this client with this redirect URI the
    // refusal is a page (issue 14, item 10); after that, an error sent to the client with its state.
    let flow = Flow::new(&client, REDIRECT);
    let (_, _, consented) = consent_page(&http, &flow.url(b, &[])).await;
    let r = decide(&http, b, &consented.unwrap(), "allow", true).await;
    let consent_cookie =
        set_cookies(&r).into_iter().find(|c| c.starts_with("docspace_mcp_consent=")).expect("a consent cookie");
    for (extra, what) in [
        (vec![("code_challenge", "")], "no challenge"),
        (vec![("code_challenge_method", "plain")], "plain"),
        (vec![("code_challenge_method", "")], "no method"),
        (vec![("code_challenge", "short")], "malformed challenge"),
        (vec![("response_type", "token")], "implicit"),
        (vec![("resource", "https://other.example/mcp")], "another resource"),
        (vec![("state", &"s".repeat(1025))], "an oversized state"),
    ] {
        let r = http.get(flow.url(b, &extra)).send().await.unwrap();
        assert_eq!(r.status(), 400, "{what}: before consent");
        assert!(r.headers().get("location").is_none(), "{what}: before consent");
        let r = http.get(flow.url(b, &extra)).header("cookie", &consent_cookie).send().await.unwrap();
        assert_eq!(r.status(), 302, "{what}");
        let q = query_of(&location(&r));
        assert!(location(&r).starts_with(REDIRECT), "{what}");
        assert!(q.contains_key("error") && !q.contains_key("code"), "{what}: {q:?}");
        if what != "an oversized state" {
            assert_eq!(q.get("state"), Some(&flow.state), "{what}");
        }
    }

    // Consent cannot be skipped: the form needs its CSRF cookie, our Origin, and an untampered request.
    let (headers, page_html, consent) = consent_page(&http, &flow.url(b, &[])).await;
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(headers["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    let consent = consent.unwrap();
    assert!(
        page_html.contains("Honest client") && page_html.contains(REDIRECT),
        "the page names the client and the redirect URI"
    );
    let r = decide(&http, b, &consent, "allow", false).await;
    assert_eq!(r.status(), 403, "no CSRF cookie (a cross-site POST)");
    let r = http
        .post(format!("{b}/authorize"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://evil.example")
        .header("cookie", consent.cookies.join("; "))
        .body(form(&[("request", &consent.fields[0].1), ("csrf", &consent.fields[1].1), ("decision", "allow")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "another Origin");
    let forged = Consent {
        fields: vec![("request".into(), format!("{}x", consent.fields[0].1)), consent.fields[1].clone()],
        cookies: consent.cookies.clone(),
    };
    assert_eq!(decide(&http, b, &forged, "allow", true).await.status(), 400, "a tampered request");
    // Going to DocSpace directly with the server's application and callback: the callback refuses a state it did not seal.
    let r = http.get(format!("{b}/oauth/callback?code=stolen&state=forged")).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    // Denying sends the client an error with its state.
    let r = decide(&http, b, &consent, "deny", true).await;
    assert_eq!(r.status(), 303);
    let q = query_of(&location(&r));
    assert_eq!(
        (q["error"].as_str(), q["state"].as_str(), q["iss"].as_str()),
        ("access_denied", flow.state.as_str(), b)
    );
    assert_eq!(decide(&http, b, &consent, "allow", true).await.status(), 400, "a consent form is single-use");

    // DocSpace's own errors reach the client with its state and iss (the reference answers 400 instead).
    let flow = Flow::new(&client, REDIRECT);
    let (_, _, consent) = consent_page(&http, &flow.url(b, &[])).await;
    let r = decide(&http, b, &consent.unwrap(), "allow", true).await;
    let callback = sandbox_login(&http, &location(&r), "deny").await;
    let r = http.get(&callback).send().await.unwrap();
    let q = query_of(&location(&r));
    assert!(location(&r).starts_with(REDIRECT));
    assert_eq!(
        (q["error"].as_str(), q["state"].as_str(), q["iss"].as_str()),
        ("access_denied", flow.state.as_str(), b)
    );
    // …and a replayed callback (same state) is refused.
    let r = http.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 400, "replayed state");

    // Code exchange: PKCE, client binding, single use.
    let flow = Flow::new(&client, REDIRECT);
    let code = code_for(b, &flow).await;
    let mut tampered_code = code.clone();
    tampered_code.insert(10, 'x');
    let other = register(b, &[REDIRECT], "Other").await;
    let attempt = |code: &str, client: &str, verifier: Option<&str>, redirect: &str| {
        let mut pairs: Vec<(String, String)> = vec![
            ("grant_type".into(), "authorization_code".into()),
            ("code".into(), code.into()),
            ("client_id".into(), client.into()),
            ("redirect_uri".into(), redirect.into()),
        ];
        if let Some(v) = verifier {
            pairs.push(("code_verifier".into(), v.into()));
        }
        async move {
            let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            exchange(b, &refs, None).await
        }
    };
    let wrong_verifier = pkce::verifier().unwrap();
    for ((status, e), what) in [
        (attempt(&code, &client, None, REDIRECT).await, "missing verifier"),
        (attempt(&code, &client, Some(&wrong_verifier), REDIRECT).await, "wrong verifier"),
        (attempt(&code, &other, Some(&flow.verifier), REDIRECT).await, "another client's code"),
        (attempt(&code, &client, Some(&flow.verifier), "https://app.example/cb").await, "another redirect_uri"),
        (attempt(&tampered_code, &client, Some(&flow.verifier), REDIRECT).await, "tampered code"),
    ] {
        assert!(status == 400 && e["error"] != "", "{what}: {status} {e}");
        assert!(e.get("access_token").is_none(), "{what}");
    }
    let (status, t) = attempt(&code, &client, Some(&flow.verifier), REDIRECT).await;
    assert_eq!(status, 200, "the rightful exchange still works after the failed ones: {t}");
    let (status, e) = attempt(&code, &client, Some(&flow.verifier), REDIRECT).await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_grant")), "replayed code: {e}");
    let access = t["access_token"].as_str().unwrap().to_owned();

    // Tokens: tampered, of another audience, expired; a refresh token is not an access token.
    let mut bad = access.clone().into_bytes();
    let mid = bad.len() / 2;
    bad[mid] = if bad[mid] == b'A' { b'B' } else { b'A' };
    let (status, challenge) = whoami(b, &String::from_utf8(bad).unwrap()).await.unwrap_err();
    assert!(status == 401 && challenge.contains("invalid_token"), "tampered: {challenge}");
    let (status, _) = whoami(b, t["refresh_token"].as_str().unwrap()).await.unwrap_err();
    assert_eq!(status, 401, "a refresh token used as an access token");
    // Another deployment with the same key (and the same DocSpace): its tokens are for its own resource.
    let elsewhere = TestServer::builder().oauth(OAuth::Shared).portal(Some(s.portal.clone())).start().await;
    let (status, challenge) = whoami(&elsewhere.base, &access).await.unwrap_err();
    assert!(status == 401 && challenge.contains("another resource"), "wrong audience: {challenge}");
    let short = TestServer::builder().oauth(OAuth::Shared).args(&["--oauth-token-ttl-ms", "1000"]).start().await;
    let short_client = register(&short.base, &[REDIRECT], "Short").await;
    let t = tokens(&short.base, &Flow::new(&short_client, REDIRECT)).await;
    assert_eq!(t["expires_in"], 1, "the shorter of the proxy's and DocSpace's lifetimes");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, challenge) = whoami(&short.base, t["access_token"].as_str().unwrap()).await.unwrap_err();
    assert!(status == 401 && challenge.contains("expired"), "expired: {challenge}");
    // A token with other credentials is a 400, not a silent choice.
    let r = mcp(b, "/mcp", Some(&access), &initialize(), None).await;
    assert_eq!(r.status(), 200);
    let r = docspace_mcp_client::tls::builder()
        .build()
        .unwrap()
        .post(format!("{b}/mcp"))
        .bearer_auth(&access)
        .header("x-mcp-api-key", sandbox::API_KEY)
        .header("accept", "application/json, text/event-stream")
        .json(&initialize())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

/// Two consent pages open at once (issue 14, item 11): each keeps its own
/// CSRF cookie, so allowing the first after the second was opened works. The
/// browser's cookie jar is imitated: a later Set-Cookie of the same name
/// replaces the earlier one.
#[tokio::test(flavor = "multi_thread")]
async fn two_consent_pages_at_once_do_not_clash() {
    let s = TestServer::builder().oauth(OAuth::Shared).start().await;
    let b = s.base.as_str();
    let http = browser();
    let client = register(b, &[REDIRECT], "Two tabs").await;
    let (first, second) = (Flow::new(&client, REDIRECT), Flow::new(&client, REDIRECT));
    let (_, _, page1) = consent_page(&http, &first.url(b, &[])).await;
    let (_, _, page2) = consent_page(&http, &second.url(b, &[])).await;
    let (mut page1, page2) = (page1.unwrap(), page2.unwrap());
    let mut jar: Vec<(String, String)> = Vec::new();
    for c in page1.cookies.iter().chain(&page2.cookies) {
        let (name, value) = c.split_once('=').unwrap();
        jar.retain(|(n, _)| n != name);
        jar.push((name.to_owned(), value.to_owned()));
    }
    page1.cookies = jar.iter().map(|(n, v)| format!("{n}={v}")).collect();
    let r = decide(&http, b, &page1, "allow", true).await;
    assert_eq!(r.status(), 303, "the first tab's Allow, after the second tab opened");
}

#[tokio::test(flavor = "multi_thread")]
async fn consent_is_remembered_per_client() {
    let s = TestServer::builder().oauth(OAuth::Shared).start().await;
    let b = s.base.as_str();
    let http = browser();
    let client = register(b, &[REDIRECT], "Remembered").await;
    let flow = Flow::new(&client, REDIRECT);
    let (_, _, consent) = consent_page(&http, &flow.url(b, &[])).await;
    let r = decide(&http, b, &consent.unwrap(), "allow", true).await;
    let consent_cookie =
        set_cookies(&r).into_iter().find(|c| c.starts_with("docspace_mcp_consent=")).expect("a consent cookie");
    // The same client again, with the cookie: straight to DocSpace.
    let r = http.get(flow.url(b, &[])).header("cookie", &consent_cookie).send().await.unwrap();
    assert_eq!(r.status(), 302);
    assert!(location(&r).starts_with(&format!("{}/oauth2/authorize?", s.portal.base_url())));
    let upstream = query_of(&location(&r));
    assert!(!upstream.contains_key("scope"), "scopes are never sent to DocSpace");
    assert_eq!(upstream["code_challenge_method"], "S256", "the proxy's own PKCE");
    assert_ne!(upstream["code_challenge"], pkce::challenge(&flow.verifier), "not the client's challenge");
    assert_eq!(upstream["redirect_uri"], format!("{b}/oauth/callback"));
    // Another client (a new registration, as Claude makes per connection) asks again.
    let other = register(b, &[REDIRECT], "Another").await;
    let r = http.get(Flow::new(&other, REDIRECT).url(b, &[])).header("cookie", &consent_cookie).send().await.unwrap();
    assert_eq!(r.status(), 200, "the consent page again");
}

/// Requests no client should send — repeated parameters, bodies that are not
/// forms or JSON, unknown grants, broken Basic credentials, wrong methods —
/// get an OAuth error (JSON for the API endpoints, a page for the browser
/// ones) that says what is wrong, and never a redirect.
#[tokio::test(flavor = "multi_thread")]
async fn malformed_oauth_requests_get_clear_errors() {
    let s = TestServer::builder().oauth(OAuth::Shared).start().await;
    let b = s.base.as_str();
    let client = register(b, &[REDIRECT], "Sloppy client").await;
    let http = docspace_mcp_client::tls::builder().build().unwrap();
    let post = |path: &str, content_type: &str, body: String| {
        http.post(format!("{b}{path}")).header("content-type", content_type.to_owned()).body(body).send()
    };
    const FORM: &str = "application/x-www-form-urlencoded";
    let cases = [
        ("/token", FORM, String::new(), 401, "invalid_client", "client_id is required"),
        ("/token", "application/json", "{".into(), 400, "invalid_request", "the body is not JSON"),
        ("/token", "application/json", "[1]".into(), 400, "invalid_request", "not a JSON object"),
        (
            "/token",
            FORM,
            form(&[("grant_type", "authorization_code"), ("client_id", &client), ("code", "a"), ("code", "b")]),
            400,
            "invalid_request",
            "parameter `code` is given more than once",
        ),
        (
            "/token",
            FORM,
            form(&[("grant_type", "password"), ("client_id", &client), ("username", "u"), ("password", "p")]),
            400,
            "unsupported_grant_type",
            "grant_type `password` is not supported",
        ),
        (
            "/token",
            FORM,
            form(&[("grant_type", "authorization_code"), ("client_id", &client)]),
            400,
            "invalid_request",
            "code is required",
        ),
        ("/register", "application/json", "nope".into(), 400, "invalid_client_metadata", "not JSON"),
        (
            "/register",
            "application/json",
            json!({"redirect_uris": ["javascript:alert(1)"]}).to_string(),
            400,
            "invalid_redirect_uri",
            "javascript",
        ),
        ("/revoke", FORM, form(&[("client_id", &client)]), 400, "invalid_request", "token is required"),
        ("/introspect", FORM, form(&[("client_id", &client)]), 400, "invalid_request", "token is required"),
    ];
    for (path, content_type, body, status, error, description) in cases {
        let r = post(path, content_type, body.clone()).await.unwrap();
        assert_eq!(r.status(), status, "{path} {body}");
        assert_eq!(r.headers()["cache-control"], "no-store", "{path} {body}");
        let answer: Value = r.json().await.unwrap();
        assert_eq!(answer["error"], error, "{path} {body}: {answer}");
        let text = answer["error_description"].as_str().unwrap_or_default();
        assert!(text.contains(description), "{path} {body}: {answer}");
    }

    let r = http
        .post(format!("{b}/token"))
        .header("authorization", "Basic !!not-base64!!")
        .header("content-type", FORM)
        .body(form(&[("grant_type", "refresh_token"), ("refresh_token", "x")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    for path in ["/token", "/register", "/revoke", "/introspect"] {
        let r = http.get(format!("{b}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 405, "GET {path}");
    }

    // The browser endpoints: a repeated parameter is a page, never a redirect
    // (which of two redirect URIs would it go to?).
    let flow = Flow::new(&client, REDIRECT);
    let pages = [
        flow.url(b, &[]).replacen("client_id=", &format!("client_id={}&client_id=", client), 1),
        format!("{}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb", flow.url(b, &[])),
        format!("{b}/oauth/callback?code=a&state=x&state=y"),
    ];
    let browser = browser();
    for url in pages {
        let r = browser.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 400, "{url}");
        assert!(r.headers().get("location").is_none(), "{url}");
        let page = r.text().await.unwrap();
        assert!(page.contains("is given more than once"), "{url}: {page}");
    }
    let (_, _, consent) = consent_page(&browser, &flow.url(b, &[])).await;
    let mut consent = consent.expect("the consent page");
    let first = consent.fields.first().cloned().unwrap();
    consent.fields.push(first);
    let r = decide(&browser, b, &consent, "allow", true).await;
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    assert!(r.text().await.unwrap().contains("is given more than once"));
}

/// Each OAuth endpoint has its own per-IP limit (the reference's settings),
/// apart from the MCP one; the API endpoints answer browser-based clients
/// on any origin by default while `/mcp` keeps its own origin policy.
#[tokio::test(flavor = "multi_thread")]
async fn oauth_endpoints_have_their_own_rate_limits_and_cors() {
    let s = TestServer::builder()
        .oauth(OAuth::Shared)
        .args(&["--oauth-register-rate-limit", "2", "--oauth-token-rate-limit", "3"])
        .start()
        .await;
    let b = s.base.as_str();
    let http = docspace_mcp_client::tls::builder().build().unwrap();
    let registration = json!({"redirect_uris": [REDIRECT]}).to_string();
    let register = || {
        http.post(format!("{b}/register")).header("content-type", "application/json").body(registration.clone()).send()
    };
    let token = || {
        http.post(format!("{b}/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=refresh_token")
            .send()
    };
    for _ in 0..2 {
        assert_eq!(register().await.unwrap().status(), 201);
    }
    for _ in 0..3 {
        assert_eq!(token().await.unwrap().status(), 401, "refused on its merits, not limited");
    }
    for (r, setting) in [
        (register().await.unwrap(), "DOCSPACE_SERVER_RATE_LIMITS_OAUTH_REGISTER_*"),
        (token().await.unwrap(), "DOCSPACE_SERVER_RATE_LIMITS_OAUTH_TOKEN_*"),
    ] {
        assert_eq!(r.status(), 429);
        let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "rate_limited", "{body}");
        assert!(body.to_string().contains(setting), "{body}");
    }
    // The other endpoints and /mcp count apart.
    let r = http.get(format!("{b}/.well-known/oauth-authorization-server")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(mcp(b, "/mcp", None, &initialize(), None).await.status(), 401, "MCP: no token, not limited");

    // CORS: the metadata and token endpoints answer a web client on its own origin…
    let web = "https://web-client.example";
    let r = http
        .request(reqwest::Method::OPTIONS, format!("{b}/introspect"))
        .header("origin", web)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(r.headers()["access-control-allow-origin"], web);
    let r =
        http.get(format!("{b}/.well-known/oauth-protected-resource/mcp")).header("origin", web).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], web);
    // …while /mcp keeps its own policy (allowed hostnames), and a listed OAuth
    // origin list is enforced.
    let r = http
        .post(format!("{b}/mcp"))
        .header("origin", web)
        .header("content-type", "application/json")
        .body(initialize().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let listed =
        TestServer::builder().oauth(OAuth::Shared).args(&["--oauth-cors-origins", "https://app.example"]).start().await;
    let get = |origin: &'static str| {
        http.get(format!("{}/.well-known/oauth-authorization-server", listed.base)).header("origin", origin).send()
    };
    let r = get("https://app.example").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "https://app.example");
    let r = get(web).await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("DOCSPACE_SERVER_CORS_OAUTH_ORIGIN"));
}

/// A CORS origin list does not lock the browser out of the server's own
/// consent page (issue 14, item 9): its form posts from the server's origin.
#[tokio::test(flavor = "multi_thread")]
async fn a_cors_origin_list_keeps_browser_sign_in_working() {
    let s = TestServer::builder().oauth(OAuth::Shared).args(&["--cors-origins", "https://app.example"]).start().await;
    let client = register(&s.base, &[REDIRECT], "Listed origins").await;
    let flow = Flow::new(&client, REDIRECT);
    let t = tokens(&s.base, &flow).await;
    assert!(whoami(&s.base, t["access_token"].as_str().unwrap()).await.unwrap().contains(sandbox::USERNAME));
}

#[tokio::test(flavor = "multi_thread")]
async fn client_metadata_documents_are_fetched_only_from_public_https() {
    let s = TestServer::builder().oauth(OAuth::Shared).start().await;
    let http = browser();
    for id in ["https://127.0.0.1:9/client.json", "https://localhost/client.json", "https://10.0.0.1/client.json"] {
        let r = http.get(Flow::new(id, REDIRECT).url(&s.base, &[])).send().await.unwrap();
        assert_eq!(r.status(), 400, "{id}");
        let page = r.text().await.unwrap();
        assert!(page.contains("private or local") || page.contains("local address"), "{id}: {page}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unsafe_oauth_settings_stop_the_start() {
    let portal = "http://127.0.0.1:9";
    let cases: [(&[&str], &str); 5] = [
        (&["--server-base-url", "http://127.0.0.1:8080"], "DOCSPACE_OAUTH_AUTH_TOKEN_SECRET_KEY is not"),
        (&["--server-base-url", "http://127.0.0.1:8080", "--oauth-secret-key", "short"], "at least 32 bytes"),
        // Off loopback there is no default public URL.
        (&["--host", "0.0.0.0", "--oauth-secret-key", KEY], "DOCSPACE_SERVER_BASE_URL is not"),
        (
            &["--server-base-url", "http://127.0.0.1:8080", "--oauth-secret-key", KEY, "--oauth-client-id", "x"],
            "DOCSPACE_OAUTH_CLIENT_SECRET is not",
        ),
        (
            &[
                "--server-base-url",
                "http://127.0.0.1:8080",
                "--oauth-secret-key",
                KEY,
                "--base-url",
                portal,
                "--api-key",
                "k",
            ],
            "remove the server's own DocSpace credentials",
        ),
    ];
    for (extra, expected) in cases {
        let mut argv = vec!["docspace-mcp", "--transport", "http", "--oauth-base-url", portal];
        argv.extend_from_slice(extra);
        let serve = Cli::try_parse_from(&argv).unwrap().serve;
        let e = Config::from_args(serve).map(|_| ()).unwrap_err();
        assert!(e.to_string().contains(expected), "{argv:?}: {e}");
    }
}

/// DocSpace's authorization server failing in every way (500 with HTML, a
/// body that is not JSON, no access token, too slow, refusals, unreachable):
/// clear OAuth errors, never a panic or a hang, and a code the failure did not
/// consume can be exchanged again.
#[tokio::test(flavor = "multi_thread")]
async fn upstream_failures_are_clear_errors_and_lose_nothing() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let a = TestServer::builder().oauth(OAuth::Shared).start().await;
    let mode = Arc::new(AtomicUsize::new(0));
    let m = mode.clone();
    let fake = Upstream::start(move |_| match m.load(Ordering::SeqCst) {
        0 => Reply::text(500, "text/html", "<h1>Internal error</h1>"),
        1 => Reply::text(200, "application/json", "not json at all"),
        2 => Reply::json(200, json!({"token_type": "Bearer"})),
        3 => Reply { delay_ms: 2500, ..Reply::json(200, json!({"access_token": "late"})) },
        4 => Reply::json(400, json!({"error": "invalid_grant", "error_description": "code expired"})),
        5 => Reply::json(401, json!({"error": "invalid_client"})),
        _ => Reply::json(200, json!({"access_token": "fresh-upstream", "expires_in": 60, "refresh_token": "r"})),
    })
    .await;
    // A replica of `a` (same key, same public URL) whose DocSpace is the failing one.
    let b = TestServer::builder()
        .oauth(OAuth::Shared)
        .args(&["--oauth-base-url", &fake.base_url, "--server-base-url", &a.base, "--request-timeout", "1"])
        .start()
        .await;
    let client = register(&a.base, &[REDIRECT], "Patient").await;
    let flow = Flow::new(&client, REDIRECT);
    let code = code_for(&a.base, &flow).await;
    let form = |code: &str| -> Vec<(String, String)> {
        [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", &client),
            ("code_verifier", &flow.verifier),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec()
    };
    let send = |base: String, pairs: Vec<(String, String)>| async move {
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        exchange(&base, &refs, None).await
    };
    for (m, status, error, says) in [
        (0, 502, "server_error", "HTTP 500"),
        (1, 502, "server_error", "HTTP 200"),
        (2, 502, "server_error", "no access_token"),
        (3, 502, "temporarily_unavailable", "cannot be reached"),
        (5, 502, "server_error", "DOCSPACE_OAUTH_CLIENT_ID"),
    ] {
        mode.store(m, Ordering::SeqCst);
        let (got, e) = send(b.base.clone(), form(&code)).await;
        assert_eq!((got, e["error"].as_str()), (status, Some(error)), "mode {m}: {e}");
        assert!(e["error_description"].as_str().unwrap().contains(says), "mode {m}: {e}");
    }
    // After all that, the same code still goes through once DocSpace answers.
    mode.store(9, Ordering::SeqCst);
    let (got, t) = send(b.base.clone(), form(&code)).await;
    assert_eq!(got, 200, "{t}");
    assert_eq!(t["expires_in"], 60);
    // A refusal is relayed as it is.
    let code = code_for(&a.base, &flow).await;
    mode.store(4, Ordering::SeqCst);
    let (got, e) = send(b.base.clone(), form(&code)).await;
    assert_eq!(
        (got, e["error"].as_str(), e["error_description"].as_str()),
        (400, Some("invalid_grant"), Some("code expired"))
    );
    // Introspection failing: 503 at /mcp, not a 401 that would send the user through sign-in again.
    let good = tokens(&a.base, &Flow::new(&client, REDIRECT)).await;
    mode.store(0, Ordering::SeqCst);
    let r = mcp(&b.base, "/mcp", good["access_token"].as_str(), &initialize(), None).await;
    assert_eq!(r.status(), 503);
    // DocSpace's authorization server unreachable.
    let closed = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let c = TestServer::builder()
        .oauth(OAuth::Shared)
        .args(&["--oauth-base-url", &closed_url, "--server-base-url", &a.base])
        .start()
        .await;
    let code = code_for(&a.base, &flow).await;
    let (got, e) = send(c.base.clone(), form(&code)).await;
    assert_eq!((got, e["error"].as_str()), (502, Some("temporarily_unavailable")), "{e}");
    assert!(fake.requests().iter().all(|r| r.method == "POST"), "form POSTs to DocSpace");
}

/// RFC 9110 §11.1: authentication scheme names are case-insensitive. The
/// reference matched `Basic` and `Bearer` exactly, and so did this server:
/// `BASIC` client credentials were ignored (401 `invalid_client`) and a
/// `bEaReR` token was taken for something else.
#[tokio::test(flavor = "multi_thread")]
async fn authorization_scheme_names_are_case_insensitive() {
    use base64::Engine as _;
    let s = TestServer::builder().oauth(OAuth::Own).start().await;
    let b = s.base.as_str();
    let flow = Flow::new(sandbox_oauth::CLIENT_ID, REDIRECT);
    let code = code_for(b, &flow).await;
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        sandbox_oauth::CLIENT_ID,
        sandbox_oauth::CLIENT_SECRET
    ));
    let r = docspace_mcp_client::tls::builder()
        .build()
        .unwrap()
        .post(format!("{b}/token"))
        .header("authorization", format!("BASIC {credentials}"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", flow.verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let status = r.status();
    let t: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "BASIC client credentials: {t}");
    let access = t["access_token"].as_str().unwrap();
    for scheme in ["bEaReR", "BEARER"] {
        let r = docspace_mcp_client::tls::builder()
            .build()
            .unwrap()
            .post(format!("{b}/mcp"))
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("authorization", format!("{scheme} {access}"))
            .body(initialize().to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{scheme}: {:?}", r.headers().get("www-authenticate"));
    }
}

/// The proxy's calls to DocSpace's authorization server say who they are for:
/// the client's address (`X-Forwarded-For`/`X-Real-IP`, from the peer and
/// trusted proxies only, never the client's own claims) and the request id.
/// Before, DocSpace saw every sign-in as coming from this server.
#[tokio::test(flavor = "multi_thread")]
async fn calls_to_docspace_carry_the_callers_address_and_request_id() {
    let a = TestServer::builder().oauth(OAuth::Shared).start().await;
    let fake = Upstream::start(|_| Reply::json(200, json!({"access_token": "up", "expires_in": 60}))).await;
    let b = TestServer::builder()
        .oauth(OAuth::Shared)
        .args(&["--oauth-base-url", &fake.base_url, "--server-base-url", &a.base])
        .start()
        .await;
    let client = register(&a.base, &[REDIRECT], "Traced").await;
    let flow = Flow::new(&client, REDIRECT);
    let code = code_for(&a.base, &flow).await;
    let r = docspace_mcp_client::tls::builder()
        .build()
        .unwrap()
        .post(format!("{}/token", b.base))
        .header("x-request-id", "trace-me-42")
        // A client's own claim: no proxy is trusted (DOCSPACE_PROXY_HOPS is 0), so it is not believed.
        .header("x-forwarded-for", "198.51.100.9")
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", client.as_str()),
            ("code_verifier", flow.verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen = fake.requests();
    let token = seen.iter().find(|s| s.target.ends_with("oauth2/token")).expect("a token call");
    assert_eq!(token.header("x-request-id"), Some("trace-me-42"));
    assert_eq!(token.header("x-forwarded-for"), Some("127.0.0.1"), "the peer, not the client's claim");
    assert_eq!(token.header("x-real-ip"), Some("127.0.0.1"));
}
