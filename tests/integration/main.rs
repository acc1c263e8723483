//! The one integration-test binary (one link, shared helpers).
//!
//! - `catalogue`: an insta snapshot per tool plus an index; stale snapshots fail.
//! - `mcp_schema`: every tool validates against the official MCP schemas and
//!   every schema is a valid JSON Schema 2020-12.
//! - `cli`: `docspace-mcp tools …`, in-process and as a spawned binary.
//! - `core`: the default catalogue (budget, the reference's 23 tools and arguments).
//! - `conformance`: the official MCP conformance suite against `/mcp`.
//! - `http`: Streamable HTTP, legacy SSE, per-request configuration, hygiene.
//! - `browser`: the OAuth consent page in headless Chromium.
//! - `oauth`: the OAuth proxy: discovery, both registration modes, the attack suite.
//! - `cimd`: client ID metadata documents fetched from an https host on 127.0.0.1.
//! - `client`: the generated client's hooks and dispatch against an HTTP
//!   server on 127.0.0.1.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    unreachable_pub
)]

mod browser;
mod catalogue;
mod cimd;
mod cli;
mod client;
mod common;
mod conformance;
mod core;
mod http;
mod mcp_schema;
mod oauth;
mod python_client;
mod sandbox;
mod sandbox_oauth;
mod stdio;
mod workflows;
