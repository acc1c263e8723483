//! The tool catalogue, selection over it, and running tools.

pub mod catalogue;
pub mod invoke;
pub mod meta;
pub mod search;
pub mod selection;

pub use catalogue::{ToolDef, ToolsetDef};
