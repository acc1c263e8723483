//! The façade with a fake DocSpace ([`Fake`], an [`Upstream`] that answers
//! what a test scripts and records what it was asked): the whole flow from
//! `/authorize` to the bearer check runs with no network at all.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde_json::json;

use super::*;
use crate::auth::Secret;
use crate::oauth::pkce;
use crate::oauth::upstream::{Credentials, TokenKind, Tokens, UpstreamError};

const KEY: &str = "a test key that is long enough for the sealer";
const ISSUER: &str = "http://127.0.0.1:8000";
const REDIRECT: &str = "http://127.0.0.1:9/callback";
const OWN_ID: &str = "own-application";
const OWN_SECRET: &str = "own-secret";

/// What the fake was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Token { client_id: String, secret: String, grant: String, verifier: Option<String> },
    Revoke { client_id: String, token: String, kind: TokenKind },
    Introspect { token: String },
    Document { url: String },
}

#[derive(Default)]
struct Fake {
    tokens: Mutex<VecDeque<Result<Tokens, UpstreamError>>>,
    introspection: Mutex<Option<Result<Introspected, UpstreamError>>>,
    calls: Mutex<Vec<Call>>,
}

impl Fake {
    fn answer(&self, answer: Result<Tokens, UpstreamError>) {
        self.tokens.lock().unwrap().push_back(answer);
    }

    fn introspection(&self, answer: Result<Introspected, UpstreamError>) {
        *self.introspection.lock().unwrap() = Some(answer);
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn record(&self, call: Call) {
        self.calls.lock().unwrap().push(call);
    }
}

#[async_trait::async_trait]
impl Upstream for Fake {
    async fn token(&self, credentials: &Credentials, grant: Grant<'_>) -> Result<Tokens, UpstreamError> {
        let (grant, verifier) = match grant {
            Grant::AuthorizationCode { code, redirect_uri, code_verifier } => {
                assert_eq!(redirect_uri, format!("{ISSUER}{CALLBACK_PATH}"), "the proxy's callback");
                (code.to_owned(), Some(code_verifier.to_owned()))
            }
            Grant::RefreshToken { refresh_token } => (refresh_token.to_owned(), None),
        };
        let secret = credentials.client_secret.expose().to_owned();
        self.record(Call::Token { client_id: credentials.client_id.clone(), secret, grant, verifier });
        self.tokens.lock().unwrap().pop_front().unwrap_or(Err(UpstreamError::Unexpected { status: 599 }))
    }

    async fn revoke(&self, credentials: &Credentials, token: &str, kind: TokenKind) -> Result<(), UpstreamError> {
        self.record(Call::Revoke { client_id: credentials.client_id.clone(), token: token.to_owned(), kind });
        Ok(())
    }

    async fn introspect(&self, _: &Credentials, token: &str) -> Result<Introspected, UpstreamError> {
        self.record(Call::Introspect { token: token.to_owned() });
        self.introspection.lock().unwrap().clone().unwrap_or(Ok(Introspected { active: true, subject: None }))
    }

    async fn client_document(&self, url: &str) -> Result<Registration, String> {
        self.record(Call::Document { url: url.to_owned() });
        Ok(Registration { redirect_uris: vec![REDIRECT.to_owned()], client_name: Some("Documented".into()) })
    }
}

fn settings(shared: bool) -> Settings {
    Settings {
        upstream: "http://127.0.0.1:9000/".into(),
        app: shared.then(|| App { client_id: "shared-app".into(), client_secret: Secret::new("shared-secret") }),
        issuer: ISSUER.into(),
        resources: vec![format!("{ISSUER}/mcp")],
        token_ttl: Duration::from_secs(3600),
        state_ttl: Duration::from_secs(600),
        introspection_ttl: Duration::from_secs(30),
    }
}

fn proxy_with(shared: bool, fake: &Arc<Fake>, memory: Memories) -> Proxy {
    Proxy::with_parts(settings(shared), KEY, KEY, fake.clone(), memory).unwrap()
}

fn proxy(shared: bool) -> (Proxy, Arc<Fake>) {
    let fake = Arc::new(Fake::default());
    (proxy_with(shared, &fake, Memories::in_memory()), fake)
}

fn params(pairs: &[(&str, &str)]) -> Params {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn query(location: &str) -> Params {
    let q = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

fn location(step: Step) -> String {
    match step {
        Step::Redirect { location, .. } => location,
        other => panic!("not a redirect: {other:?}"),
    }
}

/// A client's side of the flow.
struct McpClient {
    id: String,
    verifier: String,
    auth: ClientAuth,
}

impl McpClient {
    fn new(proxy: &Proxy) -> Self {
        let (id, auth) = if proxy.shared_app() {
            let r = proxy.register(&json!({"redirect_uris": [REDIRECT], "client_name": "Test"})).unwrap();
            (r.client_id, ClientAuth::default())
        } else {
            (OWN_ID.to_owned(), ClientAuth { basic: Some((OWN_ID.into(), OWN_SECRET.into())) })
        };
        Self { id, verifier: pkce::verifier().unwrap(), auth }
    }

    /// `/authorize`, consent, DocSpace's callback with `upstream_code`: the
    /// proxy's code, and the PKCE challenge the proxy sent DocSpace.
    async fn code(&self, proxy: &Proxy, upstream_code: &str) -> (String, String) {
        let challenge = pkce::challenge(&self.verifier);
        let authorize = params(&[
            ("response_type", "code"),
            ("client_id", &self.id),
            ("redirect_uri", REDIRECT),
            ("state", "client-state"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]);
        let Step::Consent(page) = proxy.authorize(&authorize, None).await else { panic!("the consent page") };
        let form = params(&[("request", &page.request), ("csrf", &page.csrf), ("decision", "allow")]);
        let to_docspace = location(proxy.consent(&form, Some(&page.csrf), None).await);
        let upstream = query(&to_docspace);
        let back = proxy.callback(&params(&[("state", &upstream["state"]), ("code", upstream_code)])).await;
        let back = query(&location(back));
        assert_eq!((back["state"].as_str(), back["iss"].as_str()), ("client-state", ISSUER));
        (back["code"].clone(), upstream["code_challenge"].clone())
    }

    fn exchange_form(&self, code: &str) -> Params {
        params(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", &self.id),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &self.verifier),
        ])
    }

    fn refresh_form(&self, refresh: &str) -> Params {
        params(&[("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", &self.id)])
    }
}

fn docspace_tokens(access: &str, refresh: Option<&str>) -> Result<Tokens, UpstreamError> {
    Ok(Tokens { access_token: Some(access.into()), expires_in: Some(60), refresh_token: refresh.map(str::to_owned) })
}

#[tokio::test]
async fn a_code_is_exchanged_at_docspace_once() {
    for shared in [true, false] {
        let (proxy, fake) = proxy(shared);
        let client = McpClient::new(&proxy);
        let (code, challenge) = client.code(&proxy, "docspace-code").await;
        fake.answer(docspace_tokens("up-access", Some("up-refresh")));
        let t = proxy.token(&client.exchange_form(&code), &client.auth).await.unwrap();
        assert_eq!((t.token_type, t.expires_in), ("Bearer", 60));
        assert!(t.refresh_token.is_some() && !t.access_token.contains("up-access"));
        let Some(Call::Token { client_id, secret, grant, verifier }) = fake.calls().pop() else { panic!() };
        let expected = if shared { ("shared-app", "shared-secret") } else { (OWN_ID, OWN_SECRET) };
        assert_eq!((client_id.as_str(), secret.as_str()), expected, "shared: {shared}");
        assert_eq!(grant, "docspace-code");
        assert_eq!(pkce::challenge(&verifier.unwrap()), challenge, "the proxy's own PKCE with DocSpace");

        fake.introspection(Ok(Introspected { active: true, subject: Some("me@example".into()) }));
        let me = proxy.authenticate(&t.access_token).await.unwrap();
        assert_eq!(
            (me.subject.as_str(), me.upstream.expose(), me.client_id.as_str()),
            ("me@example", "up-access", client.id.as_str())
        );
        assert_eq!(me.audience, format!("{ISSUER}/mcp"));

        let again = proxy.token(&client.exchange_form(&code), &client.auth).await.unwrap_err();
        assert_eq!((again.code, again.description.as_str()), (ErrorCode::InvalidGrant, "the code was already used"));
        assert_eq!(fake.calls().iter().filter(|c| matches!(c, Call::Token { .. })).count(), 1, "asked once");
    }
}

#[tokio::test]
async fn refresh_goes_through_docspace_and_keeps_the_old_refresh_token_when_not_rotated() {
    let (proxy, fake) = proxy(false);
    let client = McpClient::new(&proxy);
    let (code, _) = client.code(&proxy, "docspace-code").await;
    fake.answer(docspace_tokens("up-access", Some("up-refresh")));
    let t = proxy.token(&client.exchange_form(&code), &client.auth).await.unwrap();
    let refresh = t.refresh_token.unwrap();
    fake.answer(docspace_tokens("up-access-2", None));
    let t2 = proxy.token(&client.refresh_form(&refresh), &client.auth).await.unwrap();
    assert!(matches!(fake.calls().last(), Some(Call::Token { grant, verifier: None, .. }) if grant == "up-refresh"));
    fake.answer(docspace_tokens("up-access-3", Some("up-refresh-3")));
    proxy.token(&client.refresh_form(&t2.refresh_token.unwrap()), &client.auth).await.unwrap();
    assert!(
        matches!(fake.calls().last(), Some(Call::Token { grant, .. }) if grant == "up-refresh"),
        "DocSpace did not rotate: the old refresh token was sealed again"
    );
    let stranger = ClientAuth { basic: Some(("another-app".into(), "its-secret".into())) };
    let mut form = client.refresh_form(&refresh);
    form.insert("client_id".into(), "another-app".into());
    let e = proxy.token(&form, &stranger).await.unwrap_err();
    assert_eq!(
        (e.code, e.description.as_str()),
        (ErrorCode::InvalidGrant, "the refresh token was issued to another client")
    );
    let e = proxy.token(&client.refresh_form(&t.access_token), &client.auth).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidGrant, "an access token is not a refresh token");
}

/// Refresh-token rotation at the proxy: a refresh token is used once even
/// when DocSpace does not rotate its own; a replay is `invalid_grant` and
/// never reaches DocSpace; a refresh DocSpace gave no answer to can be tried
/// again.
#[tokio::test]
async fn a_refresh_token_is_used_once() {
    for shared in [true, false] {
        let (proxy, fake) = proxy(shared);
        let client = McpClient::new(&proxy);
        let (code, _) = client.code(&proxy, "docspace-code").await;
        fake.answer(docspace_tokens("up-access", Some("up-refresh")));
        let first = proxy.token(&client.exchange_form(&code), &client.auth).await.unwrap().refresh_token.unwrap();
        fake.answer(docspace_tokens("up-access-2", None));
        let second = proxy.token(&client.refresh_form(&first), &client.auth).await.unwrap().refresh_token.unwrap();
        let asked = || fake.calls().iter().filter(|c| matches!(c, Call::Token { .. })).count();
        assert_eq!(asked(), 2);
        let e = proxy.token(&client.refresh_form(&first), &client.auth).await.unwrap_err();
        assert_eq!((e.code, e.description.as_str()), (ErrorCode::InvalidGrant, "the refresh token was already used"));
        assert_eq!(asked(), 2, "the replay never reached DocSpace");
        fake.answer(Err(UpstreamError::Unreachable));
        let e = proxy.token(&client.refresh_form(&second), &client.auth).await.unwrap_err();
        assert_eq!(e.status, 502);
        fake.answer(docspace_tokens("up-access-3", None));
        proxy.token(&client.refresh_form(&second), &client.auth).await.expect("not spent by DocSpace's silence");
        let e = proxy.token(&client.refresh_form(&second), &client.auth).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidGrant, "shared: {shared}");
    }
}

/// Issue 14, item 12: without DocSpace's `sub`, the subject is the grant's,
/// the same for every token refreshed from one sign-in (a session opened
/// with the first accepts the next), and another sign-in's is another.
#[tokio::test]
async fn the_subject_survives_a_refresh_when_docspace_names_none() {
    let (proxy, fake) = proxy(true);
    let client = McpClient::new(&proxy);
    let (code, _) = client.code(&proxy, "docspace-code").await;
    fake.answer(docspace_tokens("up-access", Some("up-refresh")));
    let first = proxy.token(&client.exchange_form(&code), &client.auth).await.unwrap();
    fake.answer(docspace_tokens("up-access-2", Some("up-refresh-2")));
    let second = proxy.token(&client.refresh_form(&first.refresh_token.unwrap()), &client.auth).await.unwrap();
    fake.answer(docspace_tokens("up-access-3", None));
    let third = proxy.token(&client.refresh_form(&second.refresh_token.unwrap()), &client.auth).await.unwrap();
    let subject = |token: String| {
        let proxy = &proxy;
        async move { proxy.authenticate(&token).await.unwrap().subject }
    };
    let one = subject(first.access_token).await;
    assert_eq!(one, subject(second.access_token).await, "rotated by DocSpace");
    assert_eq!(one, subject(third.access_token).await, "not rotated");
    let (code, _) = client.code(&proxy, "docspace-code-2").await;
    fake.answer(docspace_tokens("up-access-4", None));
    let other = proxy.token(&client.exchange_form(&code), &client.auth).await.unwrap();
    assert_ne!(one, subject(other.access_token).await, "another sign-in");
    fake.introspection(Ok(Introspected { active: true, subject: Some("me@example".into()) }));
    let (code, _) = client.code(&proxy, "docspace-code-3").await;
    fake.answer(docspace_tokens("up-access-5", None));
    let named = proxy.token(&client.exchange_form(&code), &client.auth).await.unwrap();
    assert_eq!(subject(named.access_token).await, "me@example", "DocSpace's `sub` first");
}

/// DocSpace failing: the right error each time, and the code still works
/// afterwards; a refusal by DocSpace is relayed and spends the code.
#[tokio::test]
async fn docspace_failing_is_a_clear_error_and_the_code_stays_usable() {
    let (proxy, fake) = proxy(true);
    let client = McpClient::new(&proxy);
    let (code, _) = client.code(&proxy, "docspace-code").await;
    let cases = [
        (Err(UpstreamError::Unreachable), 502, ErrorCode::TemporarilyUnavailable, "cannot be reached"),
        (Err(UpstreamError::Unexpected { status: 500 }), 502, ErrorCode::ServerError, "HTTP 500"),
        (Ok(Tokens::default()), 502, ErrorCode::ServerError, "no access_token"),
        (
            Err(UpstreamError::Refused { status: 401, error: "invalid_client".into(), description: String::new() }),
            502,
            ErrorCode::ServerError,
            "DOCSPACE_OAUTH_CLIENT_ID",
        ),
    ];
    for (answer, status, code_, says) in cases {
        fake.answer(answer);
        let e = proxy.token(&client.exchange_form(&code), &client.auth).await.unwrap_err();
        assert_eq!((e.status, e.code), (status, code_), "{e}");
        assert!(e.description.contains(says), "{e}");
    }
    fake.answer(docspace_tokens("up-access", None));
    let t = proxy.token(&client.exchange_form(&code), &client.auth).await.unwrap();
    assert!(t.refresh_token.is_none(), "DocSpace gave none");

    for (error, status, code_) in
        [("invalid_grant", 400, ErrorCode::InvalidGrant), ("made_up", 502, ErrorCode::ServerError)]
    {
        let (code, _) = client.code(&proxy, "docspace-code-2").await;
        let refused = UpstreamError::Refused { status: 400, error: error.into(), description: "code expired".into() };
        fake.answer(Err(refused));
        let e = proxy.token(&client.exchange_form(&code), &client.auth).await.unwrap_err();
        assert_eq!((e.status, e.code), (status, code_), "{e}");
        assert!(e.description.contains("code expired"), "{e}");
        if status < 500 {
            let e = proxy.token(&client.exchange_form(&code), &client.auth).await.unwrap_err();
            assert_eq!(e.description, "the code was already used", "a refusal spends the code");
        }
    }
}

#[tokio::test]
async fn revocation_is_immediate_here_and_reaches_docspace() {
    let (proxy, fake) = proxy(true);
    let client = McpClient::new(&proxy);
    let (code, _) = client.code(&proxy, "docspace-code").await;
    fake.answer(docspace_tokens("up-access", Some("up-refresh")));
    let t = proxy.token(&client.exchange_form(&code), &client.auth).await.unwrap();
    proxy.authenticate(&t.access_token).await.unwrap();
    let introspect = params(&[("token", &t.access_token), ("client_id", &client.id)]);
    assert!(proxy.introspect(&introspect, &client.auth).await.unwrap().active);

    // Another client's revocation and an unknown token are no-ops (RFC 7009 §2.2).
    let other = McpClient::new(&proxy);
    let by_other = params(&[("token", &t.access_token), ("client_id", &other.id)]);
    proxy.revoke(&by_other, &other.auth).await.unwrap();
    proxy.revoke(&params(&[("token", "garbage")]), &ClientAuth::default()).await.unwrap();
    assert!(!fake.calls().iter().any(|c| matches!(c, Call::Revoke { .. })));
    assert!(proxy.authenticate(&t.access_token).await.is_ok());

    let revoke = params(&[("token", &t.access_token), ("client_id", &client.id), ("token_type_hint", "access_token")]);
    proxy.revoke(&revoke, &client.auth).await.unwrap();
    let revoked =
        Call::Revoke { client_id: "shared-app".into(), token: "up-access".into(), kind: TokenKind::AccessToken };
    assert_eq!(fake.calls().last(), Some(&revoked));
    let e = proxy.authenticate(&t.access_token).await.unwrap_err();
    assert_eq!(
        e,
        AuthError::Invalid("the access token has been revoked".into()),
        "at once, despite the cached introspection"
    );
    assert!(!proxy.introspect(&introspect, &client.auth).await.unwrap().active);

    let refresh = t.refresh_token.unwrap();
    let revoke = params(&[("token", &refresh), ("token_type_hint", "refresh_token")]);
    proxy.revoke(&revoke, &ClientAuth::default()).await.unwrap();
    assert!(matches!(fake.calls().last(), Some(Call::Revoke { kind: TokenKind::RefreshToken, .. })));
    let e = proxy.token(&client.refresh_form(&refresh), &client.auth).await.unwrap_err();
    assert_eq!(e.description, "the refresh token has been revoked");
}

#[tokio::test]
async fn introspection_is_cached_and_docspace_down_is_not_inactive() {
    let (proxy, fake) = proxy(true);
    let client = McpClient::new(&proxy);
    let mut tokens = Vec::new();
    for code in ["c1", "c2"] {
        let (code, _) = client.code(&proxy, code).await;
        fake.answer(docspace_tokens(&format!("up-{code}"), None));
        tokens.push(proxy.token(&client.exchange_form(&code), &client.auth).await.unwrap().access_token);
    }
    let subject = proxy.authenticate(&tokens[0]).await.unwrap().subject;
    assert!(subject.starts_with("grant:"), "no `sub` from DocSpace: the grant's label ({subject})");
    proxy.authenticate(&tokens[0]).await.unwrap();
    let asked = fake.calls().iter().filter(|c| matches!(c, Call::Introspect { .. })).count();
    assert_eq!(asked, 1, "the second check was answered from the cache");

    fake.introspection(Err(UpstreamError::Unreachable));
    let e = proxy.authenticate(&tokens[1]).await.unwrap_err();
    assert!(matches!(&e, AuthError::Unavailable(why) if why.contains("cannot be reached")), "{e:?}");
    let e = proxy.introspect(&params(&[("token", &tokens[1])]), &ClientAuth::default()).await.unwrap_err();
    assert_eq!((e.status, e.code), (503, ErrorCode::TemporarilyUnavailable));
    fake.introspection(Ok(Introspected { active: false, subject: None }));
    let e = proxy.authenticate(&tokens[1]).await.unwrap_err();
    assert_eq!(e, AuthError::Invalid("DocSpace says the access token is no longer active".into()));
}

/// Issue 14, item 13: the introspection cache's lifetime is a setting (zero:
/// DocSpace is asked on every check), and a token DocSpace refused on an API
/// call loses its cached answer.
#[tokio::test]
async fn the_introspection_cache_follows_its_setting_and_docspace_refusals() {
    for (ttl, asked) in [(Duration::ZERO, 3), (Duration::from_secs(30), 2)] {
        let fake = Arc::new(Fake::default());
        let settings = Settings { introspection_ttl: ttl, ..settings(true) };
        let proxy = Proxy::with_parts(settings, KEY, KEY, fake.clone(), Memories::in_memory()).unwrap();
        let client = McpClient::new(&proxy);
        let (code, _) = client.code(&proxy, "docspace-code").await;
        fake.answer(docspace_tokens("up-access", None));
        let access = proxy.token(&client.exchange_form(&code), &client.auth).await.unwrap().access_token;
        proxy.authenticate(&access).await.unwrap();
        proxy.authenticate(&access).await.unwrap();
        proxy.docspace_refused("up-access").await;
        proxy.authenticate(&access).await.unwrap();
        let introspections = fake.calls().iter().filter(|c| matches!(c, Call::Introspect { .. })).count();
        assert_eq!(introspections, asked, "cache lifetime {ttl:?}");
    }
}

/// A replica whose memory broke (a poisoned lock; for the shared store, an
/// outage) refuses what it cannot check, with 503: no consent form, code or
/// token goes through.
#[tokio::test]
async fn a_broken_memory_fails_closed() {
    let fake = Arc::new(Fake::default());
    let healthy = proxy_with(true, &fake, Memories::in_memory());
    let client = McpClient::new(&healthy);
    let (code, _) = client.code(&healthy, "docspace-code").await;
    fake.answer(docspace_tokens("up-access", None));
    let access = healthy.token(&client.exchange_form(&code), &client.auth).await.unwrap().access_token;
    let (code, _) = client.code(&healthy, "docspace-code-2").await;

    let used = Arc::new(ExpiringMap::new(10));
    let revoked = Arc::new(ExpiringMap::new(10));
    used.poison();
    revoked.poison();
    let memory = Memories { used, revoked, ..Memories::in_memory() };
    let broken = proxy_with(true, &fake, memory);
    let e = broken.token(&client.exchange_form(&code), &client.auth).await.unwrap_err();
    assert_eq!((e.status, e.code), (503, ErrorCode::TemporarilyUnavailable), "{e:?}");
    let exchanges = |calls: Vec<Call>| calls.iter().filter(|c| matches!(c, Call::Token { .. })).count();
    assert_eq!(exchanges(fake.calls()), 1, "the second code was not spent at DocSpace");
    let e = broken.authenticate(&access).await.unwrap_err();
    assert!(matches!(e, AuthError::Unavailable(_)), "{e:?}");
    let challenge = pkce::challenge(&client.verifier);
    let authorize = params(&[
        ("response_type", "code"),
        ("client_id", &client.id),
        ("redirect_uri", REDIRECT),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    let Step::Consent(page) = broken.authorize(&authorize, None).await else { panic!("the consent page") };
    let form = params(&[("request", &page.request), ("csrf", &page.csrf), ("decision", "allow")]);
    let step = broken.consent(&form, Some(&page.csrf), None).await;
    assert!(matches!(step, Step::Refused { status: 503, message } if message.contains("try again")));
    assert!(healthy.authenticate(&access).await.is_ok(), "the healthy replica still serves the token");
}

/// Issue 14, item 12: a memory full of marks that have not expired refuses
/// rather than forgets. Here the used set holds two marks, the consent form's
/// and the state's: the code cannot be marked, so it is not exchanged (the
/// old memory dropped the soonest-expiring mark and let it through).
#[tokio::test]
async fn a_full_memory_fails_closed() {
    let fake = Arc::new(Fake::default());
    let memory = Memories { used: Arc::new(ExpiringMap::new(2)), ..Memories::in_memory() };
    let proxy = proxy_with(true, &fake, memory);
    let client = McpClient::new(&proxy);
    let (code, _) = client.code(&proxy, "docspace-code").await;
    fake.answer(docspace_tokens("up-access", None));
    let e = proxy.token(&client.exchange_form(&code), &client.auth).await.unwrap_err();
    assert_eq!((e.status, e.code), (503, ErrorCode::TemporarilyUnavailable), "{e:?}");
    assert!(!fake.calls().iter().any(|c| matches!(c, Call::Token { .. })), "DocSpace was not asked");
}

#[tokio::test]
async fn a_metadata_document_is_fetched_through_the_upstream_and_reused() {
    let (proxy, fake) = proxy(true);
    let url = "https://client.example/oauth/metadata.json";
    let challenge = pkce::challenge(&pkce::verifier().unwrap());
    let authorize = params(&[
        ("response_type", "code"),
        ("client_id", url),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    for _ in 0..2 {
        let Step::Consent(page) = proxy.authorize(&authorize, None).await else { panic!("the consent page") };
        assert_eq!((page.client_name.as_deref(), page.client_label.as_str()), (Some("Documented"), url));
        assert_eq!(page.redirect_uri, REDIRECT, "the document's one redirect URI");
    }
    assert_eq!(fake.calls(), vec![Call::Document { url: url.into() }], "fetched once");
}
