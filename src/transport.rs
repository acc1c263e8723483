//! Transports serving the MCP handler: stdio, and over HTTP both Streamable
//! HTTP and the legacy HTTP+SSE transport.

pub mod http;
pub mod stdio;
