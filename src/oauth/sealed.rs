//! What travels sealed ([`super::seal`]) from one step of the flow to the
//! next, so that any replica can serve the next step with no shared store.
//!
//! The fields have readable names here and short names on the wire
//! (`#[serde(rename)]`): sealed values sit in URLs, cookies and form fields,
//! and values sealed before a restart or by another replica of an older
//! version must still open. The wire names must never change.

use serde::{Deserialize, Serialize};

/// What the client asked for at `/authorize`, carried to every later step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ClientRequest {
    /// The client's id.
    #[serde(rename = "c")]
    pub(crate) client_id: String,
    /// Where the code goes (checked against the registration).
    #[serde(rename = "r")]
    pub(crate) redirect_uri: String,
    /// The client's own `state`, returned as it came.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub(crate) state: Option<String>,
    /// The client's PKCE S256 challenge.
    #[serde(rename = "ch")]
    pub(crate) code_challenge: String,
    /// The resource the tokens are for (their audience).
    #[serde(rename = "res")]
    pub(crate) resource: String,
}

/// The authorization request waiting for the user's consent (the consent
/// form's hidden `request` field), with its CSRF token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pending {
    #[serde(flatten)]
    pub(crate) request: ClientRequest,
    /// The CSRF token, also in the form and in a cookie.
    #[serde(rename = "x")]
    pub(crate) csrf: String,
}

/// The `state` sent to DocSpace: the client's request and the verifier of the
/// proxy's own PKCE with DocSpace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UpstreamState {
    #[serde(flatten)]
    pub(crate) request: ClientRequest,
    /// The proxy's PKCE verifier.
    #[serde(rename = "v")]
    pub(crate) verifier: String,
}

/// The code handed to the client: DocSpace's code and what its exchange needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Code {
    #[serde(flatten)]
    pub(crate) request: ClientRequest,
    /// DocSpace's authorization code.
    #[serde(rename = "u")]
    pub(crate) upstream_code: String,
    /// The proxy's PKCE verifier for DocSpace.
    #[serde(rename = "v")]
    pub(crate) verifier: String,
}

/// An access or refresh token handed to the client: DocSpace's token, the
/// audience, the client, (own-application mode) the client's secret, needed
/// to introspect, refresh and revoke, and the grant it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Token {
    /// DocSpace's token.
    #[serde(rename = "t")]
    pub(crate) upstream: String,
    /// The resource it is for.
    #[serde(rename = "a")]
    pub(crate) audience: String,
    /// The client it was issued to.
    #[serde(rename = "c")]
    pub(crate) client_id: String,
    /// The client's DocSpace secret (users' own applications only).
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub(crate) client_secret: Option<String>,
    /// The grant: a random id drawn when the code was exchanged and carried
    /// by every token refreshed from it, which stands for the user when
    /// DocSpace's introspection names no subject (absent from tokens sealed
    /// before it existed).
    #[serde(rename = "g", default, skip_serializing_if = "Option::is_none")]
    pub(crate) grant: Option<String>,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::oauth::seal::{Purpose, Sealer};

    /// The payloads as they were written before they had readable names.
    mod old {
        use serde::{Deserialize, Serialize};

        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub(super) struct ClientRequest {
            pub(super) c: String,
            pub(super) r: String,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub(super) s: Option<String>,
            pub(super) ch: String,
            pub(super) res: String,
        }

        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub(super) struct Pending {
            #[serde(flatten)]
            pub(super) q: ClientRequest,
            pub(super) x: String,
        }

        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub(super) struct UpstreamState {
            #[serde(flatten)]
            pub(super) q: ClientRequest,
            pub(super) v: String,
        }

        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub(super) struct Code {
            #[serde(flatten)]
            pub(super) q: ClientRequest,
            pub(super) u: String,
            pub(super) v: String,
        }

        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub(super) struct Token {
            pub(super) t: String,
            pub(super) a: String,
            pub(super) c: String,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub(super) k: Option<String>,
        }
    }

    fn request(state: Option<&str>) -> (ClientRequest, old::ClientRequest) {
        let new = ClientRequest {
            client_id: "client".into(),
            redirect_uri: "http://127.0.0.1:9/cb".into(),
            state: state.map(str::to_owned),
            code_challenge: "challenge".into(),
            resource: "http://127.0.0.1:1/mcp".into(),
        };
        let old = old::ClientRequest {
            c: new.client_id.clone(),
            r: new.redirect_uri.clone(),
            s: new.state.clone(),
            ch: new.code_challenge.clone(),
            res: new.resource.clone(),
        };
        (new, old)
    }

    /// Same JSON both ways, and a value sealed in one form opens in the other.
    fn same_wire<N, O>(sealer: &Sealer, purpose: Purpose, new: &N, old: &O)
    where
        N: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
        O: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        assert_eq!(serde_json::to_string(new).unwrap(), serde_json::to_string(old).unwrap());
        let ttl = Duration::from_secs(60);
        let opened: O = sealer.open(purpose, &sealer.seal(purpose, new, ttl).unwrap()).unwrap();
        assert_eq!(&opened, old, "sealed now, opened by the old form");
        let opened: N = sealer.open(purpose, &sealer.seal(purpose, old, ttl).unwrap()).unwrap();
        assert_eq!(&opened, new, "sealed by the old form, opened now");
    }

    #[test]
    fn the_wire_form_of_every_sealed_payload_is_unchanged() {
        let sealer = Sealer::new("a test secret that is long enough for the sealer").unwrap();
        for state in [Some("st-1"), None] {
            let (q, oq) = request(state);
            let pending = Pending { request: q.clone(), csrf: "csrf".into() };
            let old_pending = old::Pending { q: oq.clone(), x: "csrf".into() };
            same_wire(&sealer, Purpose::Pending, &pending, &old_pending);
            let upstream = UpstreamState { request: q.clone(), verifier: "verifier".into() };
            let old_upstream = old::UpstreamState { q: oq.clone(), v: "verifier".into() };
            same_wire(&sealer, Purpose::State, &upstream, &old_upstream);
            let code = Code { request: q, upstream_code: "up".into(), verifier: "verifier".into() };
            let old_code = old::Code { q: oq, u: "up".into(), v: "verifier".into() };
            same_wire(&sealer, Purpose::Code, &code, &old_code);
        }
        for secret in [Some("secret"), None] {
            let token = Token {
                upstream: "docspace-token".into(),
                audience: "http://127.0.0.1:1/mcp".into(),
                client_id: "client".into(),
                client_secret: secret.map(str::to_owned),
                grant: None,
            };
            let old_token = old::Token {
                t: token.upstream.clone(),
                a: token.audience.clone(),
                c: token.client_id.clone(),
                k: token.client_secret.clone(),
            };
            same_wire(&sealer, Purpose::AccessToken, &token, &old_token);
        }
        // A token with a grant opens in the old form (which ignores it), and an old one in the new (without).
        let token = Token {
            upstream: "t".into(),
            audience: "a".into(),
            client_id: "c".into(),
            client_secret: None,
            grant: Some("g".into()),
        };
        assert_eq!(serde_json::to_string(&token).unwrap(), r#"{"t":"t","a":"a","c":"c","g":"g"}"#);
        let ttl = Duration::from_secs(60);
        let old: old::Token =
            sealer.open(Purpose::AccessToken, &sealer.seal(Purpose::AccessToken, &token, ttl).unwrap()).unwrap();
        let new: Token =
            sealer.open(Purpose::AccessToken, &sealer.seal(Purpose::AccessToken, &old, ttl).unwrap()).unwrap();
        assert_eq!(new, Token { grant: None, ..token });
        let (q, _) = request(Some("s"));
        assert_eq!(
            serde_json::to_string(&Code { request: q, upstream_code: "u".into(), verifier: "v".into() }).unwrap(),
            r#"{"c":"client","r":"http://127.0.0.1:9/cb","s":"s","ch":"challenge","res":"http://127.0.0.1:1/mcp","u":"u","v":"v"}"#,
            "the documented short names"
        );
    }
}
