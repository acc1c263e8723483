//! Sealed tokens: a JSON payload encrypted and authenticated with AES-256-GCM
//! (ring), bound to a [`Purpose`] and an expiry. A state token cannot be
//! replayed as an access token (each purpose has its own key, derived with
//! HKDF from the configured secret, and is the AEAD's associated data), a
//! tampered or foreign token does not open, and an expired one is refused.
//!
//! Wire form: base64url (no padding) of `version (1) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{self, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;
use serde::de::DeserializeOwned;

const VERSION: u8 = 1;
/// The shortest secret accepted, in bytes.
pub(crate) const MIN_SECRET_LEN: usize = 32;
/// The longest token `open` looks at.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// What a sealed token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// OAuth `state` the proxy sends upstream.
    State,
    /// An authorization code the proxy hands its client.
    Code,
    /// A client id issued by `/register` (carrying the registration).
    Client,
    /// An access token the proxy hands its client.
    AccessToken,
    /// A refresh token the proxy hands its client.
    RefreshToken,
    /// The consent cookie.
    Consent,
    /// An authorization request waiting for the user's consent (in the consent form).
    Pending,
    /// A legacy SSE message relayed to another replica through the shared store.
    Relay,
}

impl Purpose {
    const ALL: [Self; 8] = [
        Self::State,
        Self::Code,
        Self::Client,
        Self::AccessToken,
        Self::RefreshToken,
        Self::Consent,
        Self::Pending,
        Self::Relay,
    ];

    fn label(self) -> &'static [u8] {
        match self {
            Self::State => b"docspace-mcp state",
            Self::Code => b"docspace-mcp code",
            Self::Client => b"docspace-mcp client",
            Self::AccessToken => b"docspace-mcp access token",
            Self::RefreshToken => b"docspace-mcp refresh token",
            Self::Consent => b"docspace-mcp consent",
            Self::Pending => b"docspace-mcp pending authorization",
            Self::Relay => b"docspace-mcp sse relay",
        }
    }
}

/// Why a token did not open (or could not be made).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Error {
    /// Not a token of this form at all.
    #[error("malformed token")]
    Malformed,
    /// Tampered with, sealed with another key, or for another purpose.
    #[error("invalid token")]
    Invalid,
    /// Past its expiry.
    #[error("expired token")]
    Expired,
    /// The configured secret is too weak to seal with.
    #[error("the OAuth secret key must be at least {MIN_SECRET_LEN} bytes (e.g. `openssl rand -base64 32`)")]
    WeakKey,
    /// The system's random source or the cipher failed.
    #[error("cannot seal: {0}")]
    Crypto(&'static str),
}

/// Whether `token` has the wire form of a sealed token (whatever its key,
/// purpose or expiry): how a proxy token is told from a DocSpace API key or
/// token in an `Authorization` header.
pub(crate) fn looks_sealed(token: &str) -> bool {
    token.len() <= MAX_TOKEN_LEN
        && URL_SAFE_NO_PAD
            .decode(token.trim())
            .is_ok_and(|b| b.first() == Some(&VERSION) && b.len() > 1 + NONCE_LEN + aead::AES_256_GCM.tag_len())
}

/// Seals and opens tokens with keys derived from one secret.
pub(crate) struct Sealer {
    keys: Vec<(Purpose, LessSafeKey)>,
    random: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(***)")
    }
}

#[derive(Serialize, serde::Deserialize)]
struct Envelope<T> {
    exp: u64,
    v: T,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Sealer {
    /// Keys derived from `secret` (at least [`MIN_SECRET_LEN`] bytes).
    pub(crate) fn new(secret: &str) -> Result<Self, Error> {
        let secret = secret.trim();
        if secret.len() < MIN_SECRET_LEN {
            return Err(Error::WeakKey);
        }
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"docspace-mcp seal v1").extract(secret.as_bytes());
        let mut keys = Vec::new();
        for purpose in Purpose::ALL {
            let info = [purpose.label()];
            let okm = prk.expand(&info, &aead::AES_256_GCM).map_err(|_| Error::Crypto("key derivation"))?;
            keys.push((purpose, LessSafeKey::new(UnboundKey::from(okm))));
        }
        Ok(Self { keys, random: SystemRandom::new() })
    }

    fn key(&self, purpose: Purpose) -> Result<&LessSafeKey, Error> {
        self.keys.iter().find(|(p, _)| *p == purpose).map(|(_, k)| k).ok_or(Error::Crypto("no key"))
    }

    /// Seals `payload` for `purpose`, valid for `ttl`.
    pub(crate) fn seal<T: Serialize>(&self, purpose: Purpose, payload: &T, ttl: Duration) -> Result<String, Error> {
        let plain = serde_json::to_vec(&Envelope { exp: now().saturating_add(ttl.as_secs()), v: payload })
            .map_err(|_| Error::Crypto("payload"))?;
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).map_err(|_| Error::Crypto("random"))?;
        let mut in_out = plain;
        self.key(purpose)?
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(purpose.label()), &mut in_out)
            .map_err(|_| Error::Crypto("seal"))?;
        let mut token = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        token.push(VERSION);
        token.extend_from_slice(&nonce);
        token.extend_from_slice(&in_out);
        Ok(URL_SAFE_NO_PAD.encode(token))
    }

    /// Opens a token sealed for `purpose`.
    pub(crate) fn open<T: DeserializeOwned>(&self, purpose: Purpose, token: &str) -> Result<T, Error> {
        self.open_expiring(purpose, token).map(|(v, _)| v)
    }

    /// Opens a token sealed for `purpose`: its payload and its expiry (Unix seconds).
    pub(crate) fn open_expiring<T: DeserializeOwned>(&self, purpose: Purpose, token: &str) -> Result<(T, u64), Error> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(Error::Malformed);
        }
        let bytes = URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| Error::Malformed)?;
        let (version, rest) = bytes.split_first().ok_or(Error::Malformed)?;
        if *version != VERSION || rest.len() < NONCE_LEN + aead::AES_256_GCM.tag_len() {
            return Err(Error::Malformed);
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Error::Malformed)?;
        let mut in_out = sealed.to_vec();
        let plain = self
            .key(purpose)?
            .open_in_place(nonce, Aad::from(purpose.label()), &mut in_out)
            .map_err(|_| Error::Invalid)?;
        let envelope: Envelope<T> = serde_json::from_slice(plain).map_err(|_| Error::Invalid)?;
        if now() >= envelope.exp {
            return Err(Error::Expired);
        }
        Ok((envelope.v, envelope.exp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const SECRET: &str = "0123456789abcdef0123456789abcdef-test";

    #[test]
    fn round_trip() {
        let s = Sealer::new(SECRET).unwrap();
        let token = s.seal(Purpose::State, &json!({"client": "c1", "n": 7}), Duration::from_secs(60)).unwrap();
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "URL-safe: {token}");
        let back: Value = s.open(Purpose::State, &token).unwrap();
        assert_eq!(back, json!({"client": "c1", "n": 7}));
        let again = s.seal(Purpose::State, &json!({"client": "c1", "n": 7}), Duration::from_secs(60)).unwrap();
        assert_ne!(token, again, "a fresh nonce each time");
        let other_replica = Sealer::new(SECRET).unwrap();
        assert_eq!(other_replica.open::<Value>(Purpose::State, &token).unwrap(), back, "any replica opens it");
    }

    #[test]
    fn tampered_foreign_misused_and_expired_tokens_do_not_open() {
        let s = Sealer::new(SECRET).unwrap();
        let token = s.seal(Purpose::AccessToken, &"upstream-token", Duration::from_secs(60)).unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = URL_SAFE_NO_PAD.encode(&bytes);
        assert_eq!(s.open::<String>(Purpose::AccessToken, &tampered), Err(Error::Invalid));
        assert_eq!(s.open::<String>(Purpose::RefreshToken, &token), Err(Error::Invalid), "another purpose");
        let other = Sealer::new("another secret that is long enough to be used").unwrap();
        assert_eq!(other.open::<String>(Purpose::AccessToken, &token), Err(Error::Invalid), "another key");
        assert_eq!(s.open::<String>(Purpose::AccessToken, "not a token!"), Err(Error::Malformed));
        assert_eq!(s.open::<String>(Purpose::AccessToken, ""), Err(Error::Malformed));
        assert_eq!(s.open::<String>(Purpose::AccessToken, &"A".repeat(MAX_TOKEN_LEN + 1)), Err(Error::Malformed));
        assert!(looks_sealed(&token) && looks_sealed(&tampered));
        assert!(!looks_sealed("sk-0123456789abcdef0123456789abcdef0123456789"), "an API key");
        assert!(!looks_sealed("not a token!"));
        let expired = s.seal(Purpose::AccessToken, &"x", Duration::ZERO).unwrap();
        assert_eq!(s.open::<String>(Purpose::AccessToken, &expired), Err(Error::Expired));
    }

    #[test]
    fn weak_secrets_are_refused() {
        assert_eq!(Sealer::new("short").unwrap_err(), Error::WeakKey);
        assert_eq!(Sealer::new(&" ".repeat(40)).unwrap_err(), Error::WeakKey);
        assert!(!format!("{:?}", Sealer::new(SECRET).unwrap()).contains("0123"), "Debug shows no key material");
    }
}
