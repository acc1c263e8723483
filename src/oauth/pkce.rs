//! PKCE (RFC 7636) with the S256 method only: `plain` is refused.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};

/// A new code verifier: 32 random bytes, base64url (43 characters).
pub fn verifier() -> Result<String, ring::error::Unspecified> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The S256 challenge of `verifier`.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

/// Whether `verifier` is well-formed (RFC 7636 §4.1: 43–128 characters of
/// `[A-Za-z0-9-._~]`) and matches the S256 `challenge`.
pub fn verify(verifier: &str, challenge_value: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    well_formed && same(challenge(verifier).as_bytes(), challenge_value.as_bytes())
}

/// Equality that takes the same time wherever the inputs differ.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7636_appendix_b() {
        let v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(challenge(v), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(verify(v, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
    }

    #[test]
    fn wrong_or_malformed_verifiers_fail() {
        let v = verifier().unwrap();
        assert_eq!(v.len(), 43);
        let c = challenge(&v);
        assert!(verify(&v, &c));
        assert!(!verify(&verifier().unwrap(), &c));
        assert!(!verify("short", &challenge("short")), "too short to be a verifier");
        let bad = format!("{}!", "a".repeat(43));
        assert!(!verify(&bad, &challenge(&bad)), "characters outside the RFC's set");
        assert!(!verify(&v, &v), "plain is not S256");
    }
}
