//! The codegen test binary: the pipeline on tiny fixture specs, the overlay,
//! OpenAPI 3.1 input, the real DocSpace descriptions, spec sourcing, and the
//! spec normaliser's fuzz target.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    unreachable_pub
)]

mod common;
mod diff;
mod fuzz;
mod openapi31;
mod overlay;
mod pipeline;
mod real_specs;
mod source;
