//! PKCE (RFC 7636), S256 only: what the token endpoint checks.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;

/// Whether `verifier` is well-formed (RFC 7636 §4.1: 43–128 characters of
/// `[A-Za-z0-9-._~]`) and matches the S256 `challenge`.
pub(super) fn verify(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    well_formed && same(s256(verifier).as_bytes(), challenge.as_bytes())
}

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

/// Equality that takes the same time wherever the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(verify(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!verify(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"));
        assert!(!verify(verifier, verifier), "plain is not S256");
        let short = "a".repeat(42);
        assert!(!verify(&short, &s256(&short)), "too short to be a verifier");
        let odd = format!("{}!", "a".repeat(43));
        assert!(!verify(&odd, &s256(&odd)), "characters outside the RFC's set");
    }
}
