//! The browser's side of the flow, as decisions over values: the
//! authorization request (RFC 6749 §4.1.1, PKCE S256 of RFC 7636, RFC 8707
//! resources), the consent page and its form, and DocSpace's callback
//! (RFC 6749 §4.1.2), relayed to the client with `iss` (RFC 9207).
//!
//! No I/O and no memory here: the façade ([`super::proxy`]) looks up a
//! client's registration before [`authorize`], and marks consent forms and
//! states used between [`open_pending`] and [`decide`], and between
//! [`open_state`] and [`relay`]. Randomness (PKCE verifiers, CSRF tokens) and
//! sealing are the only effects.

use std::time::Duration;

use super::cimd;
use super::context::{Context, short_digest};
use super::error::ErrorCode;
use super::metadata::CALLBACK_PATH;
use super::pkce::{self, same};
use super::protocol::{
    AuthorizeRequest, CallbackRequest, ConsentForm, ConsentPage, Decision, MAX_PARAMETER_LEN, Step, with_query,
};
use super::registration::{self, Registration};
use super::seal::{self, Purpose};
use super::sealed::{ClientRequest, Code, Pending, UpstreamState};

/// How long a remembered consent lasts.
pub(crate) const CONSENT_TTL: Duration = Duration::from_secs(30 * 86_400);
/// How many (client, redirect URI) pairs one consent cookie remembers.
const CONSENT_PAIRS: usize = 20;

/// The registration behind a client id `/register` issued (sealed into the
/// id), or what to tell the user. Client ID metadata documents are fetched
/// by the façade.
pub(crate) fn registered_client(cx: &Context, client_id: &str) -> Result<Registration, String> {
    registration::client(&cx.states, client_id).ok_or_else(|| {
        "this client is not registered here (or its registration expired, or the server's keys changed): \
         remove the server from your MCP client and add it again so that it registers anew"
            .to_owned()
    })
}

/// `GET /authorize` once the client's registration is known (`None`: users'
/// own applications, which DocSpace checks): the consent page, a redirect to
/// DocSpace when this browser already consented to this client *with this
/// redirect URI* (`consent` cookie), or a refusal page. Errors go to the
/// redirect URI only when the browser consented to that pair before: until
/// then the URI is merely one the client chose, and redirecting there would
/// make this server an open redirector.
pub(crate) fn authorize(
    cx: &Context,
    request: AuthorizeRequest,
    registration: Option<Registration>,
    consent: Option<&str>,
) -> Step {
    let redirect_uri = match redirect_uri(&request, registration.as_ref()) {
        Ok(uri) => uri,
        Err(step) => return step,
    };
    let consented = consent.is_some_and(|c| consented(cx, c, &request.client_id, &redirect_uri));
    let request = match check(cx, request, redirect_uri, consented) {
        Ok(r) => r,
        Err(step) => return step,
    };
    if consented {
        return upstream_redirect(cx, request, None);
    }
    consent_page(cx, request, registration.and_then(|r| r.client_name))
}

/// Where errors may be sent: a URI the client registered (loopback on any
/// port), or for users' own applications any acceptable one (DocSpace
/// checks it against the application).
fn redirect_uri(request: &AuthorizeRequest, registration: Option<&Registration>) -> Result<String, Step> {
    match (&request.redirect_uri, registration) {
        (Some(uri), Some(reg)) if registration::redirect_matches(&reg.redirect_uris, uri) => Ok(uri.clone()),
        (Some(uri), Some(_)) => {
            Err(Step::refused(400, format!("redirect_uri {uri} is not one this client registered")))
        }
        (Some(uri), None) => match registration::acceptable_redirect_uri(uri) {
            Ok(()) => Ok(uri.clone()),
            Err(why) => Err(Step::refused(400, format!("redirect_uri refused: {why}"))),
        },
        (None, Some(reg)) if reg.redirect_uris.len() == 1 => Ok(reg.redirect_uris.concat()),
        (None, _) => Err(Step::refused(400, "redirect_uri is required")),
    }
}

/// The request's checks, in order, once its redirect URI is verified.
/// Errors go back to that URI (RFC 6749 §4.1.2.1, with the client's state)
/// when the browser `consented` to this client with it; otherwise they are
/// shown on a page.
fn check(
    cx: &Context,
    request: AuthorizeRequest,
    redirect_uri: String,
    consented: bool,
) -> Result<ClientRequest, Step> {
    let too_long = request.state.as_ref().is_some_and(|s| s.len() > MAX_PARAMETER_LEN);
    let state = if too_long { None } else { request.state };
    let fail = |code: ErrorCode, description: &str| {
        if consented {
            let pairs = [("error", code.as_str()), ("error_description", description)];
            Step::redirect(client_redirect(cx, &redirect_uri, &pairs, &state))
        } else {
            Step::refused(400, format!("the sign-in request is not valid ({}): {description}", code.as_str()))
        }
    };
    if too_long {
        return Err(fail(ErrorCode::InvalidRequest, "state is longer than 1024 characters"));
    }
    if request.response_type.as_deref() != Some("code") {
        return Err(fail(ErrorCode::UnsupportedResponseType, "response_type must be code"));
    }
    let Some(challenge) = request.code_challenge else {
        return Err(fail(ErrorCode::InvalidRequest, "code_challenge is required (PKCE with S256)"));
    };
    if request.code_challenge_method.as_deref() != Some("S256") {
        return Err(fail(ErrorCode::InvalidRequest, "code_challenge_method must be S256"));
    }
    if challenge.len() != 43 || !challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(fail(ErrorCode::InvalidRequest, "code_challenge is not an S256 challenge"));
    }
    let resource = match cx.settings.resource(request.resource.as_deref()) {
        Ok(r) => r,
        Err(e) => return Err(fail(ErrorCode::InvalidTarget, &e)),
    };
    Ok(ClientRequest { client_id: request.client_id, redirect_uri, state, code_challenge: challenge, resource })
}

/// The consent page, carrying the request sealed with a fresh CSRF token.
fn consent_page(cx: &Context, request: ClientRequest, client_name: Option<String>) -> Step {
    let Ok(csrf) = pkce::verifier() else {
        return Step::refused(500, "the system's random source failed");
    };
    let client_label = if cimd::is_document_url(&request.client_id) {
        request.client_id.clone()
    } else if cx.settings.shared_app() {
        format!("registered client {}", short_digest(&request.client_id))
    } else {
        request.client_id.clone()
    };
    let redirect_uri = request.redirect_uri.clone();
    let pending = Pending { request, csrf: csrf.clone() };
    let sealed = match cx.states.seal(Purpose::Pending, &pending, cx.settings.state_ttl) {
        Ok(r) => r,
        Err(e) => return Step::refused(500, e.to_string()),
    };
    Step::Consent(Box::new(ConsentPage {
        client_name,
        client_label,
        redirect_uri,
        portal: cx.settings.upstream.trim_end_matches('/').to_owned(),
        request: sealed,
        csrf,
    }))
}

/// The consent form's pending request, when the form is this server's
/// (sealed here, unexpired) and its CSRF token is in the form and the
/// cookie. The façade then marks the form used.
pub(crate) fn open_pending(cx: &Context, form: &ConsentForm, csrf_cookie: Option<&str>) -> Result<Pending, Step> {
    let pending: Pending = match cx.states.open(Purpose::Pending, &form.request) {
        Ok(p) => p,
        Err(seal::Error::Expired) => {
            return Err(Step::refused(
                400,
                "this consent page has expired: start the sign-in again from your MCP client",
            ));
        }
        Err(_) => {
            return Err(Step::refused(
                400,
                "this consent form is not valid: start the sign-in again from your MCP client",
            ));
        }
    };
    let csrf_ok = !pending.csrf.is_empty()
        && same(form.csrf.as_bytes(), pending.csrf.as_bytes())
        && csrf_cookie.is_some_and(|c| same(c.as_bytes(), pending.csrf.as_bytes()));
    if !csrf_ok {
        return Err(Step::refused(403, "the consent form did not come from this server's page (CSRF check failed)"));
    }
    Ok(pending)
}

/// The user's decision on a genuine, first-time consent form: on to DocSpace
/// (remembering the consent in the cookie), or back to the client.
pub(crate) fn decide(cx: &Context, pending: Pending, decision: Option<Decision>, consent_cookie: Option<&str>) -> Step {
    match decision {
        Some(Decision::Allow) => {
            let q = &pending.request;
            let cookie = remember_consent(cx, consent_cookie, &q.client_id, &q.redirect_uri);
            upstream_redirect(cx, pending.request, cookie)
        }
        Some(Decision::Deny) => {
            let pairs = [("error", ErrorCode::AccessDenied.as_str()), ("error_description", "the user declined")];
            let q = &pending.request;
            Step::redirect(client_redirect(cx, &q.redirect_uri, &pairs, &q.state))
        }
        None => Step::refused(400, "decision must be allow or deny"),
    }
}

/// Sends the browser to DocSpace with the proxy's own PKCE and sealed state.
fn upstream_redirect(cx: &Context, request: ClientRequest, cookie: Option<String>) -> Step {
    let Ok(verifier) = pkce::verifier() else {
        return Step::refused(500, "the system's random source failed");
    };
    let state = UpstreamState { request, verifier };
    let sealed = match cx.states.seal(Purpose::State, &state, cx.settings.state_ttl) {
        Ok(s) => s,
        Err(e) => return Step::refused(500, e.to_string()),
    };
    let settings = &cx.settings;
    let client_id = settings.app.as_ref().map_or(state.request.client_id.as_str(), |a| a.client_id.as_str());
    let challenge = pkce::challenge(&state.verifier);
    let callback = settings.url(CALLBACK_PATH);
    let location = with_query(
        &format!("{}oauth2/authorize", settings.upstream),
        &[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", &callback),
            ("state", &sealed),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    Step::Redirect { location, cookie }
}

/// The client's redirect URI with `pairs`, its `state` and `iss`.
fn client_redirect(cx: &Context, redirect_uri: &str, pairs: &[(&str, &str)], state: &Option<String>) -> String {
    let mut all: Vec<(&str, &str)> = pairs.to_vec();
    if let Some(s) = state {
        all.push(("state", s));
    }
    all.push(("iss", &cx.settings.issuer));
    with_query(redirect_uri, &all)
}

/// DocSpace's state, when this server sealed it and it has not expired. The
/// façade then marks it used.
pub(crate) fn open_state(cx: &Context, callback: &CallbackRequest) -> Result<UpstreamState, Step> {
    match cx.states.open(Purpose::State, &callback.state) {
        Ok(s) => Ok(s),
        Err(seal::Error::Expired) => {
            Err(Step::refused(400, "this sign-in took too long: start it again from your MCP client"))
        }
        Err(_) => Err(Step::refused(400, "this sign-in's state is not valid: start it again from your MCP client")),
    }
}

/// DocSpace's answer, relayed to the client: the proxy's sealed code, or
/// DocSpace's error (a code no RFC defines becomes `server_error`, naming it).
pub(crate) fn relay(cx: &Context, state: UpstreamState, callback: CallbackRequest) -> Step {
    let q = &state.request;
    let redirect = |pairs: &[(&str, &str)]| Step::redirect(client_redirect(cx, &q.redirect_uri, pairs, &q.state));
    if let Some(error) = callback.error {
        let wire: String = error.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect();
        let description: String = callback
            .error_description
            .unwrap_or_else(|| "DocSpace refused the authorization".into())
            .chars()
            .filter(|c| !c.is_control())
            .take(300)
            .collect();
        let (code, description) = match ErrorCode::parse(&wire) {
            Some(code) => (code, description),
            None => (ErrorCode::ServerError, format!("DocSpace answered `{wire}`: {description}")),
        };
        tracing::info!(error = %wire, "DocSpace's authorization server answered with an error; relayed to the client");
        return redirect(&[("error", code.as_str()), ("error_description", &description)]);
    }
    let Some(upstream_code) = callback.code else {
        return redirect(&[
            ("error", ErrorCode::ServerError.as_str()),
            ("error_description", "DocSpace returned no code"),
        ]);
    };
    let code = Code { request: q.clone(), upstream_code, verifier: state.verifier.clone() };
    match cx.tokens.seal(Purpose::Code, &code, cx.settings.state_ttl) {
        Ok(sealed) => redirect(&[("code", &sealed)]),
        Err(_) => redirect(&[("error", ErrorCode::ServerError.as_str()), ("error_description", "cannot issue a code")]),
    }
}

/// What the consent cookie remembers of one consent: a digest of the client
/// id and the redirect URI together (length-prefixed, so that no other pair
/// has the same text), so that consenting to a client never covers a code
/// sent elsewhere.
fn consent_key(client_id: &str, redirect_uri: &str) -> String {
    short_digest(&format!("{}:{client_id}{redirect_uri}", client_id.len()))
}

/// Whether the consent cookie remembers `client_id` with `redirect_uri`.
fn consented(cx: &Context, cookie: &str, client_id: &str, redirect_uri: &str) -> bool {
    let keys: Vec<String> = cx.states.open(Purpose::Consent, cookie).unwrap_or_default();
    keys.contains(&consent_key(client_id, redirect_uri))
}

/// The consent cookie's new value, remembering `client_id` with
/// `redirect_uri` (the most recent [`CONSENT_PAIRS`] pairs).
fn remember_consent(cx: &Context, cookie: Option<&str>, client_id: &str, redirect_uri: &str) -> Option<String> {
    let mut keys: Vec<String> = cookie.and_then(|c| cx.states.open(Purpose::Consent, c).ok()).unwrap_or_default();
    let mine = consent_key(client_id, redirect_uri);
    keys.retain(|k| *k != mine);
    keys.push(mine);
    while keys.len() > CONSENT_PAIRS {
        keys.remove(0);
    }
    cx.states.seal(Purpose::Consent, &keys, CONSENT_TTL).ok()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::oauth::context::Settings;

    fn cx() -> Context {
        let settings = Settings {
            upstream: "http://127.0.0.1:9000/".into(),
            app: None,
            issuer: "http://127.0.0.1:8000".into(),
            resources: vec!["http://127.0.0.1:8000/mcp".into()],
            token_ttl: Duration::from_secs(60),
            state_ttl: Duration::from_secs(60),
            introspection_ttl: Duration::from_secs(30),
        };
        Context::new(settings, "a test key that is long enough for the sealer", "another key, long enough, for states")
            .unwrap()
    }

    fn state() -> UpstreamState {
        let request = ClientRequest {
            client_id: "client".into(),
            redirect_uri: "http://127.0.0.1:9/cb".into(),
            state: Some("st".into()),
            code_challenge: pkce::challenge("v"),
            resource: "http://127.0.0.1:8000/mcp".into(),
        };
        UpstreamState { request, verifier: "verifier".into() }
    }

    fn query(step: Step) -> HashMap<String, String> {
        let Step::Redirect { location, cookie: None } = step else { panic!("a redirect: {step:?}") };
        assert!(location.starts_with("http://127.0.0.1:9/cb?"), "{location}");
        let q = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
        form_urlencoded::parse(q.as_bytes()).into_owned().collect()
    }

    fn callback(error: Option<&str>, code: Option<&str>) -> CallbackRequest {
        CallbackRequest {
            state: String::new(),
            code: code.map(str::to_owned),
            error: error.map(str::to_owned),
            error_description: None,
        }
    }

    /// DocSpace's errors reach the client with its state and `iss`; a code no
    /// RFC defines becomes `server_error`, naming it.
    #[test]
    fn docspace_errors_are_relayed_as_codes_the_client_knows() {
        let cx = cx();
        let q = query(relay(&cx, state(), callback(Some("access_denied"), None)));
        assert_eq!((q["error"].as_str(), q["state"].as_str()), ("access_denied", "st"));
        assert_eq!(
            (q["error_description"].as_str(), q["iss"].as_str()),
            ("DocSpace refused the authorization", "http://127.0.0.1:8000")
        );
        let q = query(relay(&cx, state(), callback(Some("consent_required<script>"), None)));
        assert_eq!(q["error"], "server_error");
        assert!(q["error_description"].starts_with("DocSpace answered `consent_requiredscript`"), "{q:?}");
        let q = query(relay(&cx, state(), callback(None, None)));
        assert_eq!(
            (q["error"].as_str(), q["error_description"].as_str()),
            ("server_error", "DocSpace returned no code")
        );
        let q = query(relay(&cx, state(), callback(None, Some("docspace-code"))));
        let code: Code = cx.tokens.open(Purpose::Code, &q["code"]).unwrap();
        assert_eq!((code.upstream_code.as_str(), code.request), ("docspace-code", state().request));
    }

    fn request(redirect_uri: &str, state: &str, challenge: Option<String>) -> AuthorizeRequest {
        AuthorizeRequest {
            client_id: "own-app".into(),
            redirect_uri: Some(redirect_uri.into()),
            state: Some(state.into()),
            response_type: Some("code".into()),
            code_challenge: challenge,
            code_challenge_method: Some("S256".into()),
            resource: None,
        }
    }

    /// Issue 14, item 10: errors go to the redirect URI only once the user
    /// consented to the client with it; before, they are a page.
    #[test]
    fn errors_go_to_the_redirect_uri_only_after_consent_to_it() {
        let cx = cx();
        let step = authorize(&cx, request("http://evil.example/cb", "st", None), None, None);
        assert!(matches!(step, Step::Refused { status: 400, .. }), "plain http elsewhere than loopback: {step:?}");
        for uri in ["http://127.0.0.1:9/cb", "https://evil.example/cb"] {
            let step = authorize(&cx, request(uri, "st", None), None, None);
            assert!(
                matches!(&step, Step::Refused { status: 400, message } if message.contains("code_challenge is required")),
                "{uri}, no consent: {step:?}"
            );
        }
        let cookie = remember_consent(&cx, None, "own-app", "http://127.0.0.1:9/cb").unwrap();
        let q = query(authorize(&cx, request("http://127.0.0.1:9/cb", "st", None), None, Some(&cookie)));
        assert_eq!((q["error"].as_str(), q["state"].as_str()), ("invalid_request", "st"));
        let q = query(authorize(&cx, request("http://127.0.0.1:9/cb", &"s".repeat(1025), None), None, Some(&cookie)));
        assert_eq!(q["error"], "invalid_request");
        assert!(!q.contains_key("state"), "an oversized state is not sent back");
        let step = authorize(&cx, request("https://evil.example/cb", "st", None), None, Some(&cookie));
        assert!(matches!(step, Step::Refused { status: 400, .. }), "consent covers one redirect URI: {step:?}");
    }

    /// Issue 14, item 5: a remembered consent covers one client with one
    /// redirect URI; any other pair gets the consent page.
    #[test]
    fn consent_covers_one_client_with_one_redirect_uri() {
        let cx = cx();
        let challenge = || Some(pkce::challenge("verifier"));
        let cookie = remember_consent(&cx, None, "own-app", "http://127.0.0.1:9/cb").unwrap();
        let step = authorize(&cx, request("http://127.0.0.1:9/cb", "st", challenge()), None, Some(&cookie));
        assert!(
            matches!(&step, Step::Redirect { location, .. } if location.starts_with("http://127.0.0.1:9000/oauth2/authorize?")),
            "{step:?}"
        );
        let step = authorize(&cx, request("https://attacker.example/cb", "st", challenge()), None, Some(&cookie));
        assert!(matches!(&step, Step::Consent(page) if page.redirect_uri == "https://attacker.example/cb"), "{step:?}");
        let mut other = request("http://127.0.0.1:9/cb", "st", challenge());
        other.client_id = "another-app".into();
        assert!(matches!(authorize(&cx, other, None, Some(&cookie)), Step::Consent(_)));
        // Pairs whose texts run together are not confused.
        let cookie = remember_consent(&cx, None, "own-", "apphttp://127.0.0.1:9/cb").unwrap();
        let step = authorize(&cx, request("http://127.0.0.1:9/cb", "st", challenge()), None, Some(&cookie));
        assert!(matches!(step, Step::Consent(_)));
    }
}
