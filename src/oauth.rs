//! The OAuth proxy in front of DocSpace's authorization server, as plain
//! types and functions (the HTTP routes are in `transport::http::oauth`):
//! - [`proxy`]: discovery documents, authorization with consent, DocSpace's
//!   callback, the token endpoint, revocation, and the bearer-token check;
//! - [`seal`]: encrypted, authenticated, expiring tokens (state, codes, client
//!   ids, access tokens), so any replica can serve any step with no shared store;
//! - [`pkce`]: PKCE S256 challenges and verifiers;
//! - [`registration`]: RFC 7591 registration sealed into the client id, and the
//!   redirect-URI rules (exact, loopback on any port);
//! - [`cimd`]: client ID metadata documents, fetched narrowly;
//! - [`consent`]: the consent page;
//! - [`memory`]: the per-replica memory (single use, revocations, caches),
//!   one bounded expiring map behind a trait, failing closed.

pub mod cimd;
pub mod consent;
pub mod memory;
pub mod pkce;
pub mod proxy;
pub mod registration;
pub mod seal;
