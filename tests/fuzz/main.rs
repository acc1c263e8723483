//! The fuzz targets: one test binary, each target a bolero `check!()`. An
//! ordinary `cargo test` runs each for a bounded number of random inputs
//! (seconds; this is the CI run); `cargo bolero test` runs the same target
//! under libFuzzer for as long as asked (docs/testing.md, "Fuzzing").
//!
//! - `http`: JSON-RPC over HTTP against the in-process router, in the
//!   operator's mode and in the mode where clients name their portal
//!   (per-request configuration headers and base URLs) — targets 1 and 5;
//! - `stdio`: JSON-RPC lines into the stdio server over an in-memory pipe;
//! - `dispatch`: tool arguments against the generated client's dispatch;
//! - `oauth`: the OAuth proxy's endpoints, and sealed tokens mutated;
//! - the spec normaliser's target is in the codegen crate's tests
//!   (`codegen/tests/codegen/fuzz.rs`).
//!
//! `input` draws structured inputs from the fuzzer's bytes, `wire` turns them
//! into HTTP requests and reads answers, `harness` holds the runtime, the
//! time bound and the panic watch. Nothing leaves 127.0.0.1.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    unreachable_pub
)]

#[path = "../common/lib.rs"]
mod common;
mod dispatch;
mod harness;
mod http;
mod input;
mod oauth;
mod stdio;
mod wire;
