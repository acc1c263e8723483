//! The codegen error type. Messages are shown by `build.rs` as the reason the
//! build stopped, so each says what to fix.

/// Everything that can stop generation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The description cannot be read or is not OpenAPI.
    #[error("OpenAPI description: {0}")]
    Spec(String),
    /// `openapi/tools.toml` is malformed or names something that does not exist.
    #[error("openapi/tools.toml: {0}")]
    Overlay(String),
    /// The catalogue breaks a rule MCP clients rely on.
    #[error("tool catalogue: {0}")]
    Catalogue(String),
    /// progenitor rejected the (normalised) description.
    #[error("client generation: {0}")]
    Progenitor(String),
    /// Locating, downloading or verifying the description failed.
    #[error("{0}")]
    Source(String),
}

/// Result with the codegen [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
