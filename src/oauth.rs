//! The OAuth proxy in front of DocSpace's authorization server (issue 6; being
//! built): plain types and functions, no HTTP framework. What exists so far:
//! - [`seal`]: encrypted, authenticated, expiring tokens (state, codes, client
//!   ids, access tokens), so any replica can serve any step with no shared store;
//! - [`pkce`]: PKCE S256 challenges and verifiers;
//! - [`registration`]: RFC 7591 registration sealed into the client id, and the
//!   redirect-URI rules (exact, loopback on any port).
//!
//! Nothing here is wired to a route yet: the server offers no OAuth endpoints.

pub mod pkce;
pub mod registration;
pub mod seal;
