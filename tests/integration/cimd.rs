//! Client ID metadata documents fetched for real: an https host on
//! 127.0.0.1 (a self-signed certificate for `client.test`, which the proxy's
//! document client resolves there and trusts; every other setting of that
//! client is the production one) serves documents good and bad, and the
//! proxy signs a client in with the good one and refuses the rest with a
//! clear page, never following a redirect or reading past the size limit.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docspace_mcp::http::Overrides;
use docspace_mcp::metadata_client_builder;
use docspace_mcp_client::reqwest;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types::PrivatePkcs8KeyDer};
use tokio_util::sync::CancellationToken;

use crate::common::oauth::{Flow, REDIRECT, browser, consent_page, tokens, whoami};
use crate::common::server::{OAuth, TestServer};

const HOST: &str = "client.test";

/// The https host of the documents, and the paths it was asked for.
struct DocumentHost {
    port: u16,
    certificate: Vec<u8>,
    requests: Arc<Mutex<Vec<String>>>,
    stop: CancellationToken,
}

impl Drop for DocumentHost {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl DocumentHost {
    async fn start() -> Self {
        let rcgen::CertifiedKey { cert, signing_key } =
            rcgen::generate_simple_self_signed(vec![HOST.to_owned()]).unwrap();
        let key = PrivatePkcs8KeyDer::from(signing_key.serialize_der());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key.into())
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = CancellationToken::new();
        let (log, until) = (requests.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    () = until.cancelled() => break,
                    a = listener.accept() => a,
                };
                let Ok((tcp, _)) = accepted else { continue };
                let (acceptor, log) = (acceptor.clone(), log.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let path = head.split(' ').nth(1).unwrap_or_default().to_owned();
                    log.lock().unwrap().push(path.clone());
                    let response = respond(port, &path).await;
                    let _ = tls.write_all(&response).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        Self { port, certificate: cert.der().to_vec(), requests, stop }
    }

    fn url(&self, path: &str) -> String {
        document_url(self.port, path)
    }

    /// The proxy's document client, resolving `client.test` here and trusting
    /// only this host's certificate.
    fn client(&self) -> reqwest::Client {
        metadata_client_builder("cimd-test")
            .resolve(HOST, SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)))
            .tls_certs_only([reqwest::Certificate::from_der(&self.certificate).unwrap()])
            .build()
            .unwrap()
    }

    fn requests_for(&self, path: &str) -> usize {
        self.requests.lock().unwrap().iter().filter(|p| p.as_str() == path).count()
    }
}

fn document_url(port: u16, path: &str) -> String {
    format!("https://{HOST}:{port}{path}")
}

fn http_response(status: &str, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nconnection: close\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// What the host answers for `path`.
async fn respond(port: u16, path: &str) -> Vec<u8> {
    let json = |v: serde_json::Value| {
        let body = v.to_string();
        http_response(
            "200 OK",
            &[("content-type", "application/json".into()), ("content-length", body.len().to_string())],
            body.as_bytes(),
        )
    };
    let own = document_url(port, path);
    let big = vec![b' '; 70 * 1024];
    match path {
        "/client.json" => json(json!({
            "client_id": own,
            "client_name": "Docs <Client>",
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
        })),
        "/moved.json" => http_response("302 Found", &[("location", document_url(port, "/client.json"))], b""),
        "/impostor.json" => json(json!({"client_id": document_url(port, "/client.json"), "redirect_uris": [REDIRECT]})),
        "/open-redirect.json" => json(json!({"client_id": own, "redirect_uris": ["http://evil.example/cb"]})),
        "/missing.json" => http_response("404 Not Found", &[("content-length", "0".into())], b""),
        "/page.json" => http_response("200 OK", &[("content-type", "text/html".into())], b"<html>hello</html>"),
        // Declared too large, and too large without a declared length.
        "/huge.json" => http_response(
            "200 OK",
            &[("content-type", "application/json".into()), ("content-length", big.len().to_string())],
            &big,
        ),
        "/endless.json" => http_response("200 OK", &[("content-type", "application/json".into())], &big),
        "/slow.json" => {
            tokio::time::sleep(Duration::from_secs(8)).await;
            json(json!({"client_id": own, "redirect_uris": [REDIRECT]}))
        }
        _ => http_response("404 Not Found", &[("content-length", "0".into())], b""),
    }
}

/// A client known only by its document's URL signs in and calls a tool; the
/// document is fetched once for the whole flow and then served from memory.
#[tokio::test(flavor = "multi_thread")]
async fn a_client_known_by_its_metadata_document_signs_in() {
    let host = DocumentHost::start().await;
    let s = TestServer::builder()
        .oauth(OAuth::Shared)
        .overrides(Overrides { metadata_client: Some(host.client()) })
        .start()
        .await;
    let b = s.base.as_str();
    let flow = Flow::new(&host.url("/client.json"), REDIRECT);

    let (_, html, consent) = consent_page(&browser(), &flow.url(b, &[])).await;
    assert!(consent.is_some(), "{html}");
    assert!(html.contains("Docs &lt;Client&gt;"), "the document's name, escaped: {html}");
    assert!(html.contains(&host.url("/client.json")), "the document's URL names the client: {html}");

    let body = tokens(b, &flow).await;
    let token = body["access_token"].as_str().unwrap();
    let me = whoami(b, token).await.unwrap();
    assert!(me.contains(docspace_mcp::sandbox::USERNAME), "{me}");
    assert_eq!(host.requests_for("/client.json"), 1, "one fetch for two authorizations and an exchange");

    // A redirect URI the document does not list is refused on a page, never redirected to.
    let other = Flow::new(&host.url("/client.json"), "http://127.0.0.1:9/elsewhere");
    let r = browser().get(other.url(b, &[])).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
}

/// Every bad document is refused with a page, and a redirect is never
/// followed.
#[tokio::test(flavor = "multi_thread")]
async fn bad_metadata_documents_are_refused() {
    let host = DocumentHost::start().await;
    let s = TestServer::builder()
        .oauth(OAuth::Shared)
        .overrides(Overrides { metadata_client: Some(host.client()) })
        .start()
        .await;
    // What went wrong is in the log only (see `failed_document_fetches_all_look_the_same`),
    // except for a document that names its own URL.
    let unusable = "could not be used: it could not be fetched, or what came back is not a client metadata document";
    let cases = [
        ("/moved.json", unusable),
        ("/impostor.json", unusable),
        ("/open-redirect.json", "plain http is allowed only for loopback addresses"),
        ("/missing.json", unusable),
        ("/page.json", unusable),
        ("/huge.json", unusable),
        ("/endless.json", unusable),
        ("/slow.json", unusable),
    ];
    for (path, expected) in cases {
        let flow = Flow::new(&host.url(path), REDIRECT);
        let r = browser().get(flow.url(&s.base, &[])).send().await.unwrap();
        assert_eq!(r.status(), 400, "{path}");
        assert!(r.headers().get("location").is_none(), "{path}: no redirect to an unverified client");
        let page = r.text().await.unwrap();
        assert!(page.contains(expected), "{path}: {page}");
    }
    assert_eq!(host.requests_for("/client.json"), 0, "the redirect was not followed");
    assert_eq!(host.requests_for("/moved.json"), 1);
}

/// Issue 14, item 12: whatever kept a document from being fetched or read
/// (no connection, no TLS, a redirect, an error status, a slow host, a body
/// too large or not JSON, a document for another URL), the page says the
/// same thing, so the fetch cannot be used to learn which hosts and ports
/// the server reaches and what they answer. A document for its own URL
/// that breaks a rule is still named.
#[tokio::test(flavor = "multi_thread")]
async fn failed_document_fetches_all_look_the_same() {
    let host = DocumentHost::start().await;
    let s = TestServer::builder()
        .oauth(OAuth::Shared)
        .overrides(Overrides { metadata_client: Some(host.client()) })
        .start()
        .await;
    let closed = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
    let plain_http: u16 = s.base.rsplit(':').next().unwrap().parse().unwrap();
    let urls = [
        host.url("/moved.json"),
        host.url("/impostor.json"),
        host.url("/missing.json"),
        host.url("/page.json"),
        host.url("/huge.json"),
        host.url("/endless.json"),
        host.url("/slow.json"),
        document_url(closed, "/client.json"),
        document_url(plain_http, "/client.json"),
    ];
    let mut pages = Vec::new();
    for url in &urls {
        let r = browser().get(Flow::new(url, REDIRECT).url(&s.base, &[])).send().await.unwrap();
        assert_eq!(r.status(), 400, "{url}");
        assert!(r.headers().get("location").is_none(), "{url}");
        pages.push(r.text().await.unwrap().replace(url.as_str(), "<url>"));
    }
    for (url, page) in urls.iter().zip(&pages) {
        assert_eq!(page, &pages[0], "{url} is told apart from {}", urls[0]);
    }
    for telling in ["refused", "os error", "error sending", "timed out", "HTTP 30", "HTTP 40", "127.0.0.1", "too large"]
    {
        assert!(!pages[0].contains(telling), "{telling}: {}", pages[0]);
    }
    let r =
        browser().get(Flow::new(&host.url("/open-redirect.json"), REDIRECT).url(&s.base, &[])).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("plain http is allowed only for loopback addresses"), "{page}");
}
