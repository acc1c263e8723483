//! The tool catalogue, selection over it, and running tools.

pub mod catalogue;
pub mod invoke;
pub mod selection;

pub use catalogue::{ToolDef, ToolsetDef};
