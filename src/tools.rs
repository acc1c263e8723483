//! The tool catalogue, selection over it, and running tools.

pub mod catalogue;
pub(crate) mod invoke;
pub(crate) mod meta;
pub(crate) mod operations;
pub(crate) mod search;
pub(crate) mod selection;
pub(crate) mod workflows;
