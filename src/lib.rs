//! docspace-mcp: an MCP server for ONLYOFFICE DocSpace.
//!
//! Every DocSpace API operation is a tool, generated at build time from the
//! OpenAPI description (see `build.rs` and the `codegen/` crate):
//! - [`tools::catalogue`] holds the generated catalogue (names, toolsets,
//!   schemas, annotations) and turns entries into MCP tool definitions;
//! - the typed client and its JSON dispatch live in the `docspace-mcp-client`
//!   crate, so editing this crate never recompiles the generated client;
//! - [`server`] is the MCP handler (rmcp) over the selected tools, served by
//!   [`transport`] (stdio); [`config`] and [`auth`] turn flags and
//!   `DOCSPACE_*` variables into a DocSpace client ([`docspace`]);
//! - [`cli`] is the command line (`docspace-mcp [serve]`, `tools list|show|info`).
//!
//! stdout belongs to the MCP protocol when serving over stdio, hence
//! `clippy::print_stdout` is denied: command output goes through explicit
//! writers.

pub mod auth;
pub mod cli;
pub mod config;
pub mod docspace;
pub mod egress;
pub mod oauth;
mod run;
pub use docspace_sandbox as sandbox;
pub mod server;
pub mod tools;
pub mod transport;

pub use run::{Error, log_level, run, serve};
