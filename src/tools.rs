//! The tool catalogue and selection over it.

pub mod catalogue;

pub use catalogue::{ToolDef, ToolsetDef};
