//! Build glue for the client: find the DocSpace description (downloading it
//! when it must; see the README's "How the build works") and write
//! `$OUT_DIR/client.rs`, the progenitor client and its JSON dispatch. All
//! logic lives in the `docspace-mcp-codegen` crate.

use docspace_mcp_codegen::{self as codegen, build_script};

fn main() {
    build_script::report(run());
}

fn run() -> Result<(), String> {
    let manifest_dir = build_script::dir("CARGO_MANIFEST_DIR")?;
    let root = manifest_dir.parent().ok_or("the client crate has no parent folder")?;
    let spec = build_script::resolve(root)?;
    let prepared = codegen::prepare(&spec.text).map_err(|e| format!("{}: {e}", spec.path.display()))?;
    let client = codegen::generate_client(&prepared).map_err(|e| e.to_string())?;
    build_script::write(&build_script::dir("OUT_DIR")?.join("client.rs"), &client)
}
