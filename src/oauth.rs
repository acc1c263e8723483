//! The OAuth proxy in front of DocSpace's authorization server, as plain
//! types and functions (the HTTP routes are in `transport::http::oauth`),
//! split along oxide-auth's lines — typed protocol, pure decisions, I/O and
//! memory behind traits:
//! - [`proxy`]: the façade the routes call; each step is parse → decide →
//!   ask DocSpace or the memory → decide;
//! - [`protocol`]: the requests, parsed once, and the answers, as types;
//!   [`error`]: the RFC error codes and the error answers built from them;
//!   [`metadata`]: the discovery documents and the bearer challenge;
//! - `authorize` (authorization, consent, callback) and `token` (client
//!   authentication, code and refresh grants, revocation, introspection, the
//!   bearer-token check): the decisions, with no I/O and no memory;
//! - [`upstream`]: DocSpace's token, revocation and introspection endpoints
//!   and client metadata documents, behind one trait (the only network I/O);
//! - [`memory`]: the per-replica memory (single use, revocations, caches),
//!   one bounded expiring map behind a trait, failing closed;
//! - [`seal`]: encrypted, authenticated, expiring tokens (state, codes, client
//!   ids, access tokens), so any replica can serve any step with no shared
//!   store; `sealed`: what travels sealed;
//! - [`pkce`]: PKCE S256 challenges and verifiers;
//! - [`registration`]: RFC 7591 registration sealed into the client id, and the
//!   redirect-URI rules (exact, loopback on any port);
//! - [`cimd`]: client ID metadata documents, fetched narrowly;
//! - [`consent`]: the consent page.
//!
//! Nothing here names an axum type.

mod authorize;
pub(crate) mod cimd;
pub(crate) mod consent;
mod context;
pub(crate) mod error;
pub(crate) mod memory;
pub(crate) mod metadata;
pub mod pkce;
pub(crate) mod protocol;
pub(crate) mod proxy;
pub(crate) mod registration;
pub(crate) mod seal;
mod sealed;
mod token;
pub(crate) mod upstream;
