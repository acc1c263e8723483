//! Requests to URLs that DocSpace hands out rather than the API describes:
//! bulk-download links and chunked-upload locations. They go through the
//! same hooks as generated calls (the caller's credentials), but only to the
//! portal's own origin: a URL pointing elsewhere would leak the credentials.

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::Url;
use reqwest::multipart::Form;

use crate::Client;
use crate::dispatch::{CallError, transport};

/// A response read in full.
#[derive(Debug, Clone)]
pub struct Raw {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// Body.
    pub body: bytes::Bytes,
}

/// Resolves `url` against the portal's base URL and refuses other origins.
pub fn same_origin(client: &Client, url: &str) -> Result<Url, CallError> {
    let base = Url::parse(&format!("{}/", client.baseurl())).map_err(|e| CallError::InvalidRequest(e.to_string()))?;
    let target = base
        .join(url)
        .map_err(|e| CallError::InvalidRequest(format!("DocSpace returned an unusable URL `{url}`: {e}")))?;
    if target.origin() != base.origin() {
        return Err(CallError::InvalidRequest(format!(
            "DocSpace returned a URL on another origin ({}); credentials are only sent to the portal",
            target.origin().ascii_serialization()
        )));
    }
    Ok(target)
}

/// GET a portal URL with the caller's credentials.
pub async fn get(client: &Client, url: &str) -> Result<Raw, CallError> {
    let target = same_origin(client, url)?;
    let request = client.client().get(target).build().map_err(|e| CallError::InvalidRequest(e.to_string()))?;
    execute(client, request, "rawGet").await
}

/// POST a multipart form to a portal URL with the caller's credentials.
pub async fn post_form(client: &Client, url: &str, form: Form) -> Result<Raw, CallError> {
    let target = same_origin(client, url)?;
    let request =
        client.client().post(target).multipart(form).build().map_err(|e| CallError::InvalidRequest(e.to_string()))?;
    execute(client, request, "rawPost").await
}

/// Runs a built request through the client's hooks.
pub(crate) async fn execute(
    client: &Client,
    mut request: reqwest::Request,
    operation_id: &'static str,
) -> Result<Raw, CallError> {
    let info = OperationInfo { operation_id };
    client.pre::<()>(&mut request, &info).await.map_err(|e| CallError::InvalidRequest(e.to_string()))?;
    // A per-call copy, so the exec hook reports whether the body was read whole.
    let client = client.for_call();
    let response = client.exec(request, &info).await.map_err(|e| transport(&e))?;
    if client.captured().is_some_and(|c| c.overflow) {
        return Err(CallError::TooLarge { limit: client.max_response() });
    }
    let status = response.status().as_u16();
    let content_type =
        response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = response.bytes().await.map_err(|e| transport(&e))?;
    Ok(Raw { status, content_type, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_portal_origin() {
        let c = Client::with_headers(
            "https://portal.example/docspace",
            crate::tls::builder().build().unwrap(),
            reqwest::header::HeaderMap::new(),
        );
        assert_eq!(
            same_origin(&c, "/ChunkedUploader.ashx?uid=1").unwrap().as_str(),
            "https://portal.example/ChunkedUploader.ashx?uid=1"
        );
        assert_eq!(same_origin(&c, "https://portal.example/x").unwrap().as_str(), "https://portal.example/x");
        assert!(same_origin(&c, "https://evil.example/x").is_err());
        assert!(same_origin(&c, "http://portal.example/x").is_err(), "another scheme is another origin");
        assert!(same_origin(&c, "https://portal.example:8443/x").is_err());
    }
}
