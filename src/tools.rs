//! The tool catalogue, selection over it, and running tools.

pub mod catalogue;
pub mod invoke;
pub mod meta;
pub mod operations;
pub mod search;
pub mod selection;
pub mod workflows;

pub use catalogue::{ToolDef, ToolsetDef};
