//! docspace-mcp: an MCP server for ONLYOFFICE DocSpace, in Rust.
//!
//! # What it is
//!
//! Every DocSpace API operation is an MCP tool. A build step (`build.rs`
//! calling the pure `docspace-mcp-codegen` crate) turns DocSpace's OpenAPI
//! description into two things: a typed client with a JSON dispatch (the
//! `docspace-mcp-client` crate, kept apart so that editing this crate never
//! recompiles its 60k lines) and the tool catalogue (names, toolsets, JSON
//! schemas, annotations), included in this crate by `tools::catalogue`.
//! Generated code enters at exactly those two `include!` sites.
//!
//! # How a request flows
//!
//! A client speaks MCP over stdio or HTTP (`transport`). Over HTTP, each
//! request passes the edge middleware (request id, `Host`/`Origin`, rate
//! limits), is read for the portal, credentials and tool selection it names
//! (or its OAuth token is checked), and lands on a session. The MCP handler
//! ([`DocSpaceServer`], in `server`) offers the session's [`Selection`] of
//! tools; a call goes through `tools::invoke` (or a handwritten workflow) to
//! the generated client, which calls the DocSpace portal, or the embedded
//! [`sandbox`] portal. The OAuth proxy (`oauth`, with its axum routes in
//! `transport::http`) stands beside the transport in front of DocSpace's
//! authorization server.
//!
//! # Layers, and what must not depend on what
//!
//! - `run` (commands) → `config` (the one validated [`Config`]) → `auth`,
//!   `portal` (a portal's client), `egress` (which portals a client may
//!   name), `tools::selection`;
//! - `transport` → `server` → `tools` → the generated client → `auth`;
//!   `transport` → `oauth` → `auth`;
//! - `server` never names axum or `transport`: the HTTP layer hands it a
//!   [`CallScope`]; `oauth` and `auth` never name axum either;
//! - nothing but `config` sees a clap type;
//! - `spans` (the server's own OpenTelemetry spans and their export, on
//!   only with an OTLP endpoint) is used by `transport`, `server`, `tools`
//!   and `oauth`, and names none of them.
//!
//! The modules are private; what is public is listed below, for the binary,
//! the tests and anyone embedding the server. `docs/architecture.md` has the
//! module map.
//!
//! stdout belongs to the MCP protocol when serving over stdio, hence
//! `clippy::print_stdout` is denied: command output goes through explicit
//! writers, logs to stderr.

mod auth;
mod cli;
mod config;
mod egress;
pub mod logging;
mod metrics;
mod oauth;
mod portal;
mod run;
mod server;
mod spans;
mod store;
mod tools;
mod trace;
mod transport;

pub use auth::Secret;
pub use cli::{Cli, Command, configuration_reference, run_tools};
pub use config::environment::{environment_warnings, parse_from};
pub use config::{Config, Error as ConfigError};
pub use docspace_sandbox as sandbox;
pub use egress::metadata_client_builder;
pub use oauth::pkce;
pub use run::{Error, json_logs, log_level, run, serve};
pub use server::{Answer, CallScope, ConfirmMode, DocSpaceServer, Extension, Options, Selection, Setup};
pub use tools::catalogue;
pub use tools::workflows::NAMES as WORKFLOW_TOOLS;
pub use transport::{http, stdio};

/// The error of a `tools` command.
pub type ToolsError = cli::Error;
