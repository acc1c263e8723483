//! Client ID metadata documents: a client whose `client_id` is an `https`
//! URL publishes its registration (redirect URIs, name) as JSON at that URL,
//! and the proxy fetches it instead of asking the client to register. The
//! fetch is the SSRF surface of an authorization server, so it is narrow:
//! `https` only, public addresses only (the resolver refuses private ones),
//! no redirects, a time limit and a size limit. Its failures are quiet too:
//! whatever kept a document from being used (no connection, no TLS, a
//! redirect, an error status, a timeout, a body too large or not JSON, a
//! document for another URL), the user is told the same thing and only the
//! log says which, so the fetch cannot be used to learn which hosts and
//! ports the server reaches and what they answer. Only a document that
//! names its own URL gets its rule breaches named.

use std::time::Duration;

use serde_json::Value;

use super::registration::{Registration, acceptable_redirect_uri};

/// The largest document read.
pub(crate) const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// How long a fetch may take.
pub(crate) const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether `client_id` names a metadata document (rather than being an id
/// this proxy issued).
pub(crate) fn is_document_url(client_id: &str) -> bool {
    client_id.starts_with("https://")
}

/// Checks the URL before anything is fetched: `https`, a host name or public
/// address, a path, no credentials or fragment.
pub(crate) fn check_url(client_id: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(client_id).map_err(|e| format!("client_id `{client_id}` is not a URL: {e}"))?;
    if url.scheme() != "https" {
        return Err("a client metadata document must be served over https".into());
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err("a client metadata document URL may not carry credentials or a fragment".into());
    }
    if url.path() == "/" || url.path().is_empty() {
        return Err("a client metadata document URL must have a path".into());
    }
    match url.host() {
        Some(url::Host::Ipv4(ip)) if !crate::egress::is_public(ip.into()) => {
            Err(format!("client_id `{client_id}` is a private or local address"))
        }
        Some(url::Host::Ipv6(ip)) if !crate::egress::is_public(ip.into()) => {
            Err(format!("client_id `{client_id}` is a private or local address"))
        }
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") || d.ends_with(".localhost") => {
            Err(format!("client_id `{client_id}` is a local address"))
        }
        None => Err(format!("client_id `{client_id}` has no host")),
        _ => Ok(url),
    }
}

/// Why a document was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Nothing usable came back (the detail is for the log only).
    Unusable(String),
    /// A document for this URL came back and breaks a rule (said to the user).
    Invalid(String),
}

/// What the user is told of an [`Refused::Unusable`] document: the same
/// whatever happened.
fn unusable(client_id: &str) -> String {
    format!(
        "the client metadata document at {client_id} could not be used: it could not be fetched, or what came back is \
         not a client metadata document for this URL (the server's log says which)"
    )
}

/// The registration a fetched document describes; `client_id` must equal
/// the URL it came from (until then the body is not known to be a document
/// at all), and its redirect URIs follow the registration rules.
pub(crate) fn parse(client_id: &str, body: &[u8]) -> Result<Registration, Refused> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| Refused::Unusable(format!("the body is not JSON: {e}")))?;
    if doc.get("client_id").and_then(Value::as_str) != Some(client_id) {
        return Err(Refused::Unusable("the document's client_id differs from its URL".into()));
    }
    let invalid = |why: &str| Refused::Invalid(why.to_owned());
    let uris = doc
        .get("redirect_uris")
        .and_then(Value::as_array)
        .filter(|u| !u.is_empty() && u.len() <= 16)
        .ok_or_else(|| invalid("the client metadata document needs 1 to 16 redirect_uris"))?;
    let mut redirect_uris = Vec::new();
    for uri in uris {
        let uri = uri.as_str().ok_or_else(|| invalid("redirect_uris must be strings"))?;
        acceptable_redirect_uri(uri).map_err(Refused::Invalid)?;
        redirect_uris.push(uri.to_owned());
    }
    let client_name = doc
        .get("client_name")
        .and_then(Value::as_str)
        .map(|n| n.chars().filter(|c| !c.is_control()).take(100).collect::<String>())
        .filter(|n| !n.trim().is_empty());
    Ok(Registration { redirect_uris, client_name })
}

/// Fetches and parses the document at `client_id` with `http` (which must
/// refuse private addresses and redirects): the registration, or what to
/// tell the user (the same for every [`Refused::Unusable`] document, whose
/// detail goes to the log).
pub(crate) async fn fetch(http: &reqwest::Client, client_id: &str) -> Result<Registration, String> {
    let url = check_url(client_id)?;
    let fetched = match download(http, url).await {
        Ok(body) => parse(client_id, &body),
        Err(detail) => Err(Refused::Unusable(detail)),
    };
    fetched.map_err(|refused| match refused {
        Refused::Unusable(detail) => {
            tracing::info!(client_id, "client metadata document not used: {detail}");
            unusable(client_id)
        }
        Refused::Invalid(why) => why,
    })
}

/// The body at `url`, or what went wrong (for the log).
async fn download(http: &reqwest::Client, url: reqwest::Url) -> Result<Vec<u8>, String> {
    let mut response = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(FETCH_TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("cannot fetch it: {}", crate::logging::error_chain(&e)))?;
    if !response.status().is_success() {
        return Err(format!("it answered HTTP {}", response.status().as_u16()));
    }
    if response.content_length().is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64) {
        return Err("it is too large".into());
    }
    let mut body = Vec::new();
    while let Some(chunk) =
        response.chunk().await.map_err(|e| format!("cannot read it: {}", crate::logging::error_chain(&e)))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_DOCUMENT_BYTES {
            return Err("it is too large".into());
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://vscode.dev/oauth/client-metadata.json";

    #[test]
    fn documents_are_checked_against_their_url_and_the_redirect_rules() {
        let good = serde_json::json!({"client_id": URL, "client_name": "Visual Studio Code",
            "redirect_uris": ["https://vscode.dev/redirect", "http://127.0.0.1:33418/"]});
        let reg = parse(URL, good.to_string().as_bytes()).unwrap();
        assert_eq!(reg.redirect_uris.len(), 2);
        assert_eq!(reg.client_name.as_deref(), Some("Visual Studio Code"));
        let other =
            serde_json::json!({"client_id": "https://evil.example/doc", "redirect_uris": ["https://a.example/cb"]});
        let unusable = |r| matches!(r, Err(Refused::Unusable(_)));
        assert!(unusable(parse(URL, other.to_string().as_bytes())), "another URL's document is no document here");
        assert!(unusable(parse(URL, br#"{"client_id": "x""#)));
        let bad_uri = serde_json::json!({"client_id": URL, "redirect_uris": ["http://evil.example/cb"]});
        assert!(
            matches!(parse(URL, bad_uri.to_string().as_bytes()), Err(Refused::Invalid(why)) if why.contains("loopback"))
        );
        let no_uris = serde_json::json!({"client_id": URL});
        assert!(matches!(parse(URL, no_uris.to_string().as_bytes()), Err(Refused::Invalid(_))));
    }

    #[test]
    fn only_public_https_urls_with_a_path_are_fetched() {
        assert!(check_url(URL).is_ok());
        for bad in [
            "http://vscode.dev/oauth/client.json",
            "https://127.0.0.1/client.json",
            "https://10.1.2.3/client.json",
            "https://[::1]/client.json",
            "https://169.254.169.254/latest/meta-data",
            "https://localhost/client.json",
            "https://user:pw@vscode.dev/client.json",
            "https://vscode.dev/",
            "https://vscode.dev/client.json#x",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert!(is_document_url(URL) && !is_document_url("abc"));
    }
}
