//! TLS for every HTTP client of the process: one cryptography provider
//! (*ring*, which the server also uses to seal OAuth state), so the binary
//! carries one implementation of each primitive and the build compiles no
//! second C library (reqwest's default provider is aws-lc-rs).
//!
//! - [`builder`] is `reqwest::Client::builder()` with the provider installed
//!   as the process default (reqwest has no provider of its own here: the
//!   `rustls-no-provider` feature). Every client of this workspace, the
//!   tests' and the benches' too, is built through it.
//! - [`lazy_roots`] is a TLS configuration whose trusted roots (the system's
//!   CA certificates, through the platform verifier) are read at the first
//!   HTTPS handshake, not when the client is built: a server that talks to a
//!   plain-HTTP portal, or has not made its first call yet, spends nothing
//!   on them (reading and parsing the ~150 certificates of a Debian system
//!   was a third of a stdio server's start-up). Where the system has no CA
//!   certificates at all (a static binary in an empty root or a `scratch`
//!   image), every HTTPS certificate is refused with a message that says how
//!   to add them; plain HTTP works.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Why HTTPS certificates are refused on a system without CA certificates.
pub const NO_CA_CERTIFICATES: &str = "no CA certificates found on this system, so no HTTPS certificate can be \
     verified: install them (Debian/Ubuntu: the ca-certificates package) or point SSL_CERT_FILE at a PEM bundle; \
     plain-HTTP portals and the sandbox work without them";

/// The process's cryptography provider (*ring*).
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider())).clone()
}

/// Makes [`provider`] the process default (once; a default installed
/// before stays).
pub fn install_provider() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        // Err only when a default is already installed, which is as good.
        let _ = CryptoProvider::install_default((*provider()).clone());
    });
}

/// `reqwest::Client::builder()`, with the process's provider installed.
pub fn builder() -> reqwest::ClientBuilder {
    install_provider();
    reqwest::Client::builder()
}

/// A client TLS configuration that verifies servers against the system's CA
/// certificates, read at the first handshake (see the module's text). For
/// [`reqwest::ClientBuilder::tls_backend_preconfigured`]. (An error is
/// not expected: it would mean the provider supports no TLS version.)
pub fn lazy_roots() -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = provider();
    let verifier = Arc::new(LazyRoots { provider: provider.clone() });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // reqwest speaks HTTP/1.1 only here (no `http2` feature).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The platform verifier, made at the first certificate to verify.
#[derive(Debug)]
struct LazyRoots {
    provider: Arc<CryptoProvider>,
}

impl LazyRoots {
    /// The process's one platform verifier (every client built from
    /// [`lazy_roots`] shares it: the certificates are read once, and a
    /// missing store is logged once), or why there is none.
    fn platform(&self) -> Result<&'static rustls_platform_verifier::Verifier, rustls::Error> {
        static PLATFORM: OnceLock<Result<rustls_platform_verifier::Verifier, String>> = OnceLock::new();
        let made = PLATFORM.get_or_init(|| {
            rustls_platform_verifier::Verifier::new(self.provider.clone()).map_err(|e| {
                tracing::warn!(error = %e, "{NO_CA_CERTIFICATES}");
                e.to_string()
            })
        });
        made.as_ref().map_err(|e| rustls::Error::General(format!("{NO_CA_CERTIFICATES} ({e})")))
    }
}

impl ServerCertVerifier for LazyRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.platform()?.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    // Signatures need no roots: the provider's algorithms check them.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
