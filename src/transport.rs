//! Transports serving the MCP handler. Only stdio exists so far.

pub mod stdio;
