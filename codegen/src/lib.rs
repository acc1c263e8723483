//! The docspace-mcp code generator: DocSpace OpenAPI description → a typed
//! client (progenitor) and a catalogue of MCP tools.
//!
//! A pure library used by the build scripts (`client/build.rs`, `build.rs`)
//! and, at run time, by `docspace-mcp tools diff` and `tools responses`.
//! The build scripts turn on the `generate` (progenitor client, Rust
//! tables) and `fetch` (find or download the description) features; the
//! server uses neither, so no code generator is compiled into it.
//! It never depends on the runtime crates (rmcp, tokio, axum, reqwest) or the
//! root crate; its only I/O is `source` (feature `fetch`), which locates (and, when allowed,
//! downloads) the description, and `build_script`, the scripts' shared glue.
//!
//! The pipeline:
//! 1. [`spec::parse`] YAML/JSON → JSON value; [`spec::downgrade_31`] brings an
//!    OpenAPI 3.1 document down to 3.0.
//! 2. [`normalise::wire`] rules (shared by client and catalogue) and
//!    [`normalise::client`] rules (client only), each counted.
//! 3. `generate_client` (feature `generate`): progenitor client + JSON dispatch + multipart table.
//! 4. `generate_catalogue` (feature `generate`): one tool per operation, curated by
//!    `openapi/tools.toml`, checked ([`catalogue::check`]).
//!
//! Beside the pipeline, [`diff`] compares two catalogues (built from two
//! descriptions, or dumped by two binaries) and says what the change means
//! for MCP clients: `docspace-mcp tools diff`; [`responses`] lists the
//! operations whose declared answers the client does not decode as declared.

#[cfg(feature = "fetch")]
pub mod build_script;
pub mod catalogue;
#[cfg(feature = "generate")]
mod client;
pub mod diff;
#[cfg(feature = "generate")]
mod emit;
mod error;
pub mod naming;
pub mod normalise;
pub mod overlay;
pub mod responses;
pub mod schema;
pub mod search;
#[cfg(feature = "fetch")]
pub mod source;
pub mod spec;

use serde_json::Value;

pub use catalogue::{Catalogue, ToolSpec, ToolsetSpec};
pub use error::{Error, Result};
pub use normalise::{MultipartOp, Report};
pub use overlay::Overlay;

/// A parsed and normalised description, ready for both generators.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// After the 3.1 downgrade and the wire rules: what the catalogue reads.
    pub doc: Value,
    /// After the client rules too: what progenitor reads.
    pub client_doc: Value,
    /// The multipart operations.
    pub multipart: Vec<MultipartOp>,
    /// Every rule and how often it fired.
    pub report: Report,
    /// What the 3.1 → 3.0 downgrade rewrote (None for a 3.0 document).
    pub downgrade: Option<spec::Downgrade>,
}

impl Prepared {
    /// `info.version`.
    pub fn api_version(&self) -> &str {
        spec::api_version(&self.doc).unwrap_or("unknown")
    }

    /// A human summary: version, operation counts and every rule's count.
    pub fn summary(&self) -> String {
        let mut out = format!("DocSpace API {}\n", self.api_version());
        if let Some(d) = &self.downgrade {
            out.push_str(&format!(
                "OpenAPI 3.1 input downgraded to 3.0: {} type arrays, {} null branches, {} const, {} examples, {} exclusive bounds, {} keywords dropped\n",
                d.type_arrays, d.null_branches, d.consts, d.examples, d.exclusive_bounds, d.dropped_keywords
            ));
        }
        out.push_str(&self.report.render());
        out
    }
}

/// Parses, downgrades and normalises a description.
pub fn prepare(text: &str) -> Result<Prepared> {
    prepare_value(spec::parse(text)?)
}

/// [`prepare`] for a description already parsed into JSON.
pub fn prepare_value(mut doc: Value) -> Result<Prepared> {
    let downgrade = spec::downgrade_31(&mut doc);
    if let Some(refused) = downgrade.as_ref().map(|d| &d.refused).filter(|r| !r.is_empty()) {
        let shown: Vec<&str> = refused.iter().take(10).map(String::as_str).collect();
        let more = if refused.len() > 10 { format!(" and {} more", refused.len() - 10) } else { String::new() };
        return Err(Error::Spec(format!(
            "this OpenAPI 3.1 description uses JSON Schema constructs OpenAPI 3.0 cannot express, which the tools and \
             the client would misstate: {}{more}. Rewrite them in 3.0 terms (e.g. `prefixItems` as `items`, `$defs` \
             under components/schemas) or report the description upstream",
            shown.join("; ")
        )));
    }
    match spec::openapi_version(&doc) {
        Some(v) if v.trim().starts_with("3.0") => {}
        Some(v) => {
            return Err(Error::Spec(format!("OpenAPI {v} is not supported (3.0 and 3.1 are)")));
        }
        None => {
            return Err(Error::Spec("no `openapi` version field: is this an OpenAPI description?".into()));
        }
    }
    let (mut report, multipart) = normalise::wire(&mut doc);
    let mut client_doc = doc.clone();
    normalise::client(&mut client_doc, &multipart, &mut report);
    Ok(Prepared { doc, client_doc, multipart, report, downgrade })
}

/// Generates the client crate's source (`client.rs`).
#[cfg(feature = "generate")]
pub fn generate_client(prepared: &Prepared) -> Result<String> {
    client::generate(&prepared.client_doc, &prepared.multipart)
}

/// Builds the catalogue and renders it as Rust source (`catalogue.rs`).
#[cfg(feature = "generate")]
pub fn generate_catalogue(prepared: &Prepared, overlay: &Overlay) -> Result<(Catalogue, String)> {
    let multipart_ids: std::collections::BTreeSet<String> =
        prepared.multipart.iter().map(|m| m.operation_id.clone()).collect();
    let catalogue = catalogue::build(&prepared.doc, overlay, &multipart_ids)?;
    let source = emit::catalogue(&catalogue, prepared.api_version(), &prepared.summary())?;
    Ok((catalogue, source))
}
