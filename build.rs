//! Build glue for this package: write `$OUT_DIR/catalogue.rs`, the tool
//! catalogue generated from the DocSpace description and curated by
//! `openapi/tools.toml` (see the README's "How the build works"). The client
//! crate's build script (`client/build.rs`) found the description and hands
//! its path on; all logic lives in the `docspace-mcp-codegen` crate.

use docspace_mcp_codegen::{self as codegen, build_script};

fn main() {
    build_script::report(run());
}

fn run() -> Result<(), String> {
    let root = build_script::dir("CARGO_MANIFEST_DIR")?;
    let spec = build_script::resolved_by_client(&root)?;
    let prepared = codegen::prepare(&spec.text).map_err(|e| format!("{}: {e}", spec.path.display()))?;
    let overlay_path = root.join("openapi/tools.toml");
    println!("cargo::rerun-if-changed={}", overlay_path.display());
    let overlay_text =
        std::fs::read_to_string(&overlay_path).map_err(|e| format!("cannot read {}: {e}", overlay_path.display()))?;
    let overlay = codegen::Overlay::parse(&overlay_text).map_err(|e| e.to_string())?;
    let (_, source) = codegen::generate_catalogue(&prepared, &overlay).map_err(|e| e.to_string())?;
    build_script::write(&build_script::dir("OUT_DIR")?.join("catalogue.rs"), &source)
}
