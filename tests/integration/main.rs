//! The integration-test binary: everything that needs only Rust (the
//! server, the sandbox and scripted upstreams on 127.0.0.1, in this process
//! or as the spawned binary). The independent clients are in `tests/interop`;
//! the harness both share is `tests/common`.
//!
//! - `catalogue`: an insta snapshot per tool plus an index; stale snapshots fail.
//! - `mcp_schema`: every tool validates against the official MCP schemas and
//!   every schema is a valid JSON Schema 2020-12.
//! - `cli`: `docspace-mcp tools …`, in-process and as a spawned binary.
//! - `core`: the default catalogue (budget, the reference's 23 tools and arguments).
//! - `edge`: what an anonymous caller can make the server spend: bodies,
//!   slow and idle connections, the connection cap.
//! - `http`: Streamable HTTP, legacy SSE, per-request configuration, hygiene.
//! - `oauth`: the OAuth proxy: discovery, both registration modes, the attack suite.
//! - `oauth_hardening`: the attack suite's second half, issue 14's regressions.
//! - `observability`: `/metrics` parsed and its counts after known traffic,
//!   a client's `traceparent` at the sandbox portal, JSON log lines.
//! - `cimd`: client ID metadata documents fetched from an https host on 127.0.0.1.
//! - `client`: the generated client's hooks and dispatch against an HTTP
//!   server on 127.0.0.1.
//! - `request_fidelity`: every generated tool's minimal call sends a request the description accepts.
//! - `sandbox`, `sandbox_oauth`: the sandbox portal and its authorization server.
//! - `sandbox_contract`: every sandbox answer decodes into the description's types.
//! - `listings`: arguments checked against the schema; compact, capped listings (and their sizes).
//! - `sandbox_sweep`: `docspace-mcp sandbox` serves every tool of its default catalogue.
//! - `secrets`: every transport and auth method at trace level; no secret in the logs.
//! - `shared_store`: replicas sharing a real `redis-server`: sessions, SSE
//!   relay, global rate limits, a store outage.
//! - `spans`: the server's own spans at a fake OTLP collector, joined to the
//!   client's trace and to the `traceparent` the portal received; flushed at
//!   exit; nothing started without an endpoint.
//! - `stdio`: the server over stdio, driven by the rmcp client.
//! - `workflows`: uploads, download as text, waiting on file operations.
//! - `recipes`: every client recipe in docs/clients.md, parsed and run as it says.
//! - `packaging`: packaging/ against the binary: one version everywhere,
//!   server.json under the registry schema, the MCPB manifest true to the server.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    unreachable_pub
)]

mod catalogue;
mod cimd;
mod cli;
mod client;
#[path = "../common/lib.rs"]
mod common;
mod confirmations;
mod core;
mod edge;
mod http;
mod listings;
mod mcp_schema;
mod oauth;
mod oauth_hardening;
mod observability;
mod packaging;
mod protocol_2026;
mod recipes;
mod request_fidelity;
mod resources;
mod sandbox;
mod sandbox_contract;
mod sandbox_oauth;
mod sandbox_sweep;
mod secrets;
mod shared_store;
mod spans;
mod stdio;
mod workflows;
