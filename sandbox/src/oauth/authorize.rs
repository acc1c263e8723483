//! The authorization endpoint: the request checked as DocSpace checks it, a
//! sign-in and consent page a test (or a person) can fill in, and the
//! redirect back with a code or an error.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::{CLIENT_ID, Grant, SCOPES, St, random_token};
use crate::routes::Shared;
use crate::{PASSWORD, USERNAME};

/// The validated parameters of an authorization request.
struct Request {
    redirect_uri: String,
    state: Option<String>,
    challenge: String,
    scopes: Vec<String>,
}

/// An authorization request is refused either on the page (bad client or
/// redirect URI: never redirect there) or by redirecting with `error`.
enum Refused {
    Page(String),
    Redirect(String),
}

fn validate(s: &Shared, p: &HashMap<String, String>) -> Result<Request, Refused> {
    let get = |k: &str| p.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    if get("client_id").as_deref() != Some(CLIENT_ID) {
        return Err(Refused::Page("unknown client_id".into()));
    }
    let redirect_uri = get("redirect_uri").ok_or_else(|| Refused::Page("redirect_uri is required".into()))?;
    let registered = s.oauth.lock().map(|o| o.redirect_uris.contains(&redirect_uri)).unwrap_or(false);
    if !registered {
        return Err(Refused::Page(format!("redirect_uri {redirect_uri} is not registered for the application")));
    }
    let state = get("state");
    let fail = |error: &str, description: &str| {
        let mut pairs = vec![("error", error), ("error_description", description)];
        if let Some(st) = &state {
            pairs.push(("state", st.as_str()));
        }
        Refused::Redirect(with_query(&redirect_uri, &pairs))
    };
    if get("response_type").as_deref() != Some("code") {
        return Err(fail("unsupported_response_type", "response_type must be code"));
    }
    let Some(challenge) = get("code_challenge") else {
        return Err(fail("invalid_request", "code_challenge is required (PKCE)"));
    };
    if get("code_challenge_method").as_deref() != Some("S256") {
        return Err(fail("invalid_request", "code_challenge_method must be S256"));
    }
    let scopes: Vec<String> = match get("scope") {
        None => SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        Some(list) => list.split_whitespace().map(str::to_owned).collect(),
    };
    if let Some(unknown) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return Err(fail("invalid_scope", &format!("unknown scope {unknown}")));
    }
    Ok(Request { redirect_uri, state, challenge, scopes })
}

/// The sign-in and consent form, carrying the request's parameters along.
fn sign_in_form(p: &HashMap<String, String>, message: Option<&str>) -> Response {
    let hidden: String = p
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "username" | "password" | "decision"))
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(k), escape(v)))
        .collect();
    let note = message.map(|m| format!("<p id=\"error\">{}</p>", escape(m))).unwrap_or_default();
    Html(format!(
        "<!doctype html><title>Sandbox DocSpace sign-in</title><h1>Sign in to the sandbox portal</h1>{note}\
         <form method=\"post\" action=\"/oauth2/authorize\">{hidden}\
         <label>Email <input name=\"username\" id=\"username\"></label>\
         <label>Password <input name=\"password\" id=\"password\" type=\"password\"></label>\
         <p>The application <b>{CLIENT_ID}</b> asks for access to your files, rooms and profile.</p>\
         <button name=\"decision\" value=\"allow\" id=\"allow\">Allow</button>\
         <button name=\"decision\" value=\"deny\" id=\"deny\">Deny</button></form>"
    ))
    .into_response()
}

fn refused(r: Refused) -> Response {
    match r {
        Refused::Page(why) => (StatusCode::BAD_REQUEST, Html(format!("<p>{}</p>", escape(&why)))).into_response(),
        Refused::Redirect(to) => Redirect::to(&to).into_response(),
    }
}

/// `GET /oauth2/authorize`: the form, or the refusal.
pub(super) async fn page(State(s): St, Query(p): Query<HashMap<String, String>>) -> Response {
    match validate(&s, &p) {
        Ok(_) => sign_in_form(&p, None),
        Err(r) => refused(r),
    }
}

/// `POST /oauth2/authorize`: the filled-in form; back to the client with a
/// code, or with `access_denied`.
pub(super) async fn submit(State(s): St, body: Bytes) -> Response {
    let p: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let request = match validate(&s, &p) {
        Ok(r) => r,
        Err(r) => return refused(r),
    };
    let back = |key: &str, value: &str| {
        let mut pairs = vec![(key, value)];
        if let Some(st) = &request.state {
            pairs.push(("state", st.as_str()));
        }
        Redirect::to(&with_query(&request.redirect_uri, &pairs)).into_response()
    };
    if p.get("decision").map(String::as_str) == Some("deny") {
        return back("error", "access_denied");
    }
    if p.get("username").map(String::as_str) != Some(USERNAME)
        || p.get("password").map(String::as_str) != Some(PASSWORD)
    {
        return (StatusCode::UNAUTHORIZED, sign_in_form(&p, Some("Wrong email or password"))).into_response();
    }
    let code = random_token("sandbox-code");
    if let Ok(mut o) = s.oauth.lock() {
        let grant = Grant {
            redirect_uri: request.redirect_uri.clone(),
            challenge: request.challenge.clone(),
            scopes: request.scopes.clone(),
            expires: Instant::now() + Duration::from_secs(600),
        };
        o.codes.insert(code.clone(), grant);
    }
    back("code", &code)
}

/// `s` escaped for HTML text and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `uri` with `pairs` added to its query (before any fragment).
fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let (base, fragment) = match uri.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (uri, None),
    };
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        query.append_pair(k, v);
    }
    let mut out = base.to_owned();
    if !pairs.is_empty() {
        out.push(if base.contains('?') { '&' } else { '?' });
        out.push_str(&query.finish());
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_that_can_break_out_of_an_attribute() {
        assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn adds_the_query_before_the_fragment() {
        assert_eq!(with_query("http://c/cb", &[("code", "a b")]), "http://c/cb?code=a+b");
        assert_eq!(with_query("http://c/cb?x=1#f", &[("state", "s&t")]), "http://c/cb?x=1&state=s%26t#f");
        assert_eq!(with_query("http://c/cb", &[]), "http://c/cb");
    }
}
