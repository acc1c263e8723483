//! The second test binary: the server driven by independent MCP clients that
//! others wrote. `scripts/test` installs them; a test whose client is missing
//! says so and is skipped (unless DOCSPACE_MCP_REQUIRE_CLIENTS is set, as
//! scripts/test does), so `cargo test` passes with only Rust installed.
//!
//! - `python_client`: the official Python MCP SDK over stdio, Streamable HTTP
//!   and SSE, and its OAuth client provider signing in, in both modes.
//! - `conformance`: the official MCP conformance suite against `/mcp`, and its
//!   authorization-server scenarios against the OAuth proxy.
//! - `browser`: the OAuth consent page in headless Chromium.
//! - `recipes`: docs/clients.md's MCP Inspector and mcpo recipes, run with those clients.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    unreachable_pub
)]

mod browser;
#[path = "../common/lib.rs"]
mod common;
mod conformance;
mod python_client;
mod recipes;
