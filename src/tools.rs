//! The tool catalogue, selection over it, and running tools.

pub mod catalogue;
pub(crate) mod content;
pub(crate) mod file_operations;
pub(crate) mod invoke;
pub(crate) mod links;
pub(crate) mod listing;
pub(crate) mod meta;
pub(crate) mod search;
pub(crate) mod selection;
pub(crate) mod validate;
pub(crate) mod workflows;
