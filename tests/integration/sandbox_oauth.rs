//! The sandbox portal's OAuth authorization server, with DocSpace's quirks:
//! no registration endpoint, PKCE required, unknown scopes refused, missing
//! scope = every scope (echoed in token responses), exact redirect URIs, a
//! sign-in and consent page, single-use codes, refresh and revocation; its
//! access tokens open the portal's API.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};

use docspace_mcp::pkce;
use docspace_mcp::sandbox::{self, Sandbox, oauth};
use docspace_mcp_client::reqwest::{self, redirect::Policy};
use serde_json::Value;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn query_of(location: &str) -> HashMap<String, String> {
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

struct As {
    portal: Sandbox,
    http: reqwest::Client,
}

impl As {
    fn authorize_url(&self, extra: &[(&str, &str)]) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in extra {
            q.append_pair(k, v);
        }
        format!("{}/oauth2/authorize?{}", self.portal.base_url(), q.finish())
    }

    /// Signs in on the consent page and answers `decision`; the redirect's query.
    async fn consent(&self, params: &[(&str, &str)], password: &str, decision: &str) -> (u16, HashMap<String, String>) {
        let mut form: Vec<(&str, &str)> = params.to_vec();
        form.extend([("username", sandbox::USERNAME), ("password", password), ("decision", decision)]);
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let r = self
            .http
            .post(format!("{}/oauth2/authorize", self.portal.base_url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let location = r.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
        assert!(status != 303 && status != 302 || location.starts_with(REDIRECT), "{location}");
        (status, query_of(&location))
    }

    async fn token(&self, form: &[(&str, &str)], basic: bool) -> (u16, Value) {
        let mut req = self.http.post(format!("{}/oauth2/token", self.portal.base_url()));
        let mut form: Vec<(&str, &str)> = form.to_vec();
        if basic {
            req = req.basic_auth(oauth::CLIENT_ID, Some(oauth::CLIENT_SECRET));
        } else {
            form.extend([("client_id", oauth::CLIENT_ID), ("client_secret", oauth::CLIENT_SECRET)]);
        }
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let r = req.header("content-type", "application/x-www-form-urlencoded").body(body).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn me(&self, token: &str) -> u16 {
        let url = format!("{}/api/2.0/people/@self", self.portal.base_url());
        self.http.get(url).bearer_auth(token).send().await.unwrap().status().as_u16()
    }
}

#[tokio::test]
async fn the_sandbox_authorization_server_behaves_like_docspace() {
    let portal = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap();
    portal.allow_oauth_redirect(REDIRECT);
    let a = &As { portal, http: docspace_mcp_client::tls::builder().redirect(Policy::none()).build().unwrap() };
    let verifier = pkce::verifier().unwrap();
    let challenge = pkce::challenge(&verifier);
    let good = [
        ("response_type", "code"),
        ("client_id", oauth::CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("state", "st-1"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];

    // Never redirect to an unknown client's or an unregistered URI.
    let unknown = a
        .http
        .get(a.authorize_url(&[("response_type", "code"), ("client_id", "nope"), ("redirect_uri", REDIRECT)]))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
    let mut elsewhere = good.to_vec();
    elsewhere[2] = ("redirect_uri", "https://evil.example/cb");
    assert_eq!(a.http.get(a.authorize_url(&elsewhere)).send().await.unwrap().status(), 400);
    // PKCE required; unknown scopes refused — on the client's redirect, with its state.
    let r = a.http.get(a.authorize_url(&good[..4])).send().await.unwrap();
    let q = query_of(r.headers()["location"].to_str().unwrap());
    assert_eq!((q["error"].as_str(), q["state"].as_str()), ("invalid_request", "st-1"));
    let mut scoped = good.to_vec();
    scoped.push(("scope", "files:read claudeai"));
    let r = a.http.get(a.authorize_url(&scoped)).send().await.unwrap();
    assert_eq!(query_of(r.headers()["location"].to_str().unwrap())["error"], "invalid_scope");
    assert_eq!(a.http.get(a.authorize_url(&good)).send().await.unwrap().status(), 200, "the sign-in page");

    // Sign-in and consent.
    let (status, _) = a.consent(&good, "wrong", "allow").await;
    assert_eq!(status, 401);
    let (_, q) = a.consent(&good, sandbox::PASSWORD, "deny").await;
    assert_eq!((q["error"].as_str(), q["state"].as_str()), ("access_denied", "st-1"));
    let (status, q) = a.consent(&good, sandbox::PASSWORD, "allow").await;
    assert_eq!((status, q["state"].as_str()), (303, "st-1"));
    let code = q["code"].clone();

    // The code exchange needs the verifier, the same redirect URI and the client; codes are single-use.
    let other = pkce::verifier().unwrap();
    let exchange = |code: String, verifier: String| async move {
        a.token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &verifier),
            ],
            true,
        )
        .await
    };
    let (status, body) = exchange(code, other).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let (_, q) = a.consent(&good, sandbox::PASSWORD, "allow").await;
    let code = q["code"].clone();
    let (status, tokens) = exchange(code.clone(), verifier.clone()).await;
    assert_eq!(status, 200, "{tokens}");
    let granted: Vec<&str> = tokens["scope"].as_str().unwrap().split(' ').collect();
    assert_eq!(granted, oauth::SCOPES, "no scope asked = every scope, echoed");
    let (status, _) = exchange(code, verifier.clone()).await;
    assert_eq!(status, 400, "a code works once");

    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(a.me(&access).await, 200, "the token opens the API");
    let introspect = |token: String| async move {
        let body = form_urlencoded::Serializer::new(String::new()).append_pair("token", &token).finish();
        a.http
            .post(format!("{}/oauth2/introspect", a.portal.base_url()))
            .basic_auth(oauth::CLIENT_ID, Some(oauth::CLIENT_SECRET))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    assert_eq!(introspect(access.clone()).await["active"], true);

    // Refresh (client credentials in the body this time); the old refresh token is spent.
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, renewed) = a.token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)], false).await;
    assert_eq!(status, 200, "{renewed}");
    assert_eq!(a.me(renewed["access_token"].as_str().unwrap()).await, 200);
    let (status, _) = a.token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)], false).await;
    assert_eq!(status, 400);

    // Revocation.
    let body = form_urlencoded::Serializer::new(String::new()).append_pair("token", &access).finish();
    let r = a
        .http
        .post(format!("{}/oauth2/revoke", a.portal.base_url()))
        .basic_auth(oauth::CLIENT_ID, Some(oauth::CLIENT_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(a.me(&access).await, 401);
    assert_eq!(introspect(access).await["active"], false);

    // No registration endpoint; a wrong client secret is invalid_client.
    let r = a.http.post(format!("{}/oauth2/register", a.portal.base_url())).body("{}").send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = a
        .http
        .post(format!("{}/oauth2/token", a.portal.base_url()))
        .basic_auth(oauth::CLIENT_ID, Some("wrong"))
        .body("grant_type=refresh_token&refresh_token=x")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
}
