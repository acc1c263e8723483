//! Build glue, shared by two packages (see the README's "How the build works"):
//! - `docspace-mcp-client` (client/, `build = "../build.rs"`) writes
//!   `$OUT_DIR/client.rs`: the progenitor client and its JSON dispatch;
//! - `docspace-mcp` (this package) writes `$OUT_DIR/catalogue.rs`: the tool
//!   catalogue, curated by `openapi/tools.toml`.
//!
//! The client package resolves the description (and downloads it when it must)
//! and hands its path to this package through `links` metadata, so a build
//! resolves, warns and downloads once.
//!
//! Keeping the 60k-line client in its own crate means editing handwritten code
//! or the overlay never recompiles it. All logic lives in `codegen/`; this file
//! only reads the environment, calls it and writes files.

use std::path::{Path, PathBuf};

use docspace_mcp_codegen as codegen;

fn main() {
    if let Err(message) = run() {
        for line in message.lines() {
            println!("cargo::error={line}");
        }
    }
}

fn run() -> Result<(), String> {
    let package = env("CARGO_PKG_NAME").unwrap_or_default();
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR").ok_or("CARGO_MANIFEST_DIR is not set")?);
    let out_dir = PathBuf::from(env("OUT_DIR").ok_or("OUT_DIR is not set")?);
    let is_client = package == "docspace-mcp-client";
    let root =
        if is_client { manifest_dir.parent().map(Path::to_path_buf).unwrap_or(manifest_dir) } else { manifest_dir };

    let spec = if is_client { resolve(&root)? } else { resolved_by_client(&root)? };
    println!("cargo::rerun-if-changed={}", spec.path.display());
    let prepared = codegen::prepare(&spec.text).map_err(|e| format!("{}: {e}", spec.path.display()))?;
    write(&out_dir.join("normalisation.txt"), &prepared.summary())?;
    if is_client {
        let client = codegen::generate_client(&prepared).map_err(|e| e.to_string())?;
        write(&out_dir.join("client.rs"), &client)
    } else {
        let overlay_path = root.join("openapi/tools.toml");
        println!("cargo::rerun-if-changed={}", overlay_path.display());
        let overlay_text = std::fs::read_to_string(&overlay_path)
            .map_err(|e| format!("cannot read {}: {e}", overlay_path.display()))?;
        let overlay = codegen::Overlay::parse(&overlay_text).map_err(|e| e.to_string())?;
        let (_, source) = codegen::generate_catalogue(&prepared, &overlay).map_err(|e| e.to_string())?;
        write(&out_dir.join("catalogue.rs"), &source)
    }
}

/// Finds (or downloads) the description; runs once per build, in the client
/// package, which passes the result on through `links` metadata.
fn resolve(root: &Path) -> Result<codegen::source::Resolved, String> {
    for var in ["DOCSPACE_OPENAPI", "DOCSPACE_OPENAPI_URL", "DOCSPACE_OPENAPI_OFFLINE"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let lock_path = root.join("openapi/spec.lock");
    println!("cargo::rerun-if-changed={}", lock_path.display());
    let lock_text =
        std::fs::read_to_string(&lock_path).map_err(|e| format!("cannot read {}: {e}", lock_path.display()))?;
    let lock = codegen::source::Lock::parse(&lock_text).map_err(|e| e.to_string())?;
    let settings = codegen::source::Settings {
        root: root.to_path_buf(),
        env_path: env("DOCSPACE_OPENAPI"),
        url_override: env("DOCSPACE_OPENAPI_URL"),
        offline: codegen::source::truthy(env("DOCSPACE_OPENAPI_OFFLINE").as_deref()),
        // This workspace keeps the descriptions beside the checkout (never
        // committed here); the pinned one is picked by its sha256.
        pinned_dirs: root.parent().map(|p| vec![p.join("shared/openapi")]).unwrap_or_default(),
    };
    let spec = codegen::source::resolve(&settings, &lock).map_err(|e| e.to_string())?;
    if settings.env_path.is_none() {
        println!("cargo::rerun-if-changed={}", root.join(codegen::source::DEFAULT_PATH).display());
    }
    if let Some(warning) = &spec.warning {
        println!("cargo::warning={warning}");
    }
    println!("cargo::metadata=spec={}", spec.path.display());
    Ok(spec)
}

/// The root package reads the description the client package resolved.
fn resolved_by_client(root: &Path) -> Result<codegen::source::Resolved, String> {
    println!("cargo::rerun-if-env-changed=DEP_DOCSPACE_OPENAPI_SPEC");
    let Some(path) = env("DEP_DOCSPACE_OPENAPI_SPEC") else {
        // Only if the client package ever stopped passing it on.
        return resolve(root);
    };
    let path = PathBuf::from(path);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(codegen::source::Resolved {
        sha256: codegen::source::sha256_hex(text.as_bytes()),
        path,
        text,
        origin: codegen::source::Origin::Env,
        warning: None,
    })
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    // Unchanged output keeps its timestamp, so nothing downstream rebuilds.
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
