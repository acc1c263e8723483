//! What the two build scripts share (`client/build.rs` writes the client,
//! the top-level `build.rs` the catalogue): reading their environment,
//! finding the description (with the `cargo::` directives that make cargo
//! re-run them when it changes), writing outputs without touching unchanged
//! files, and reporting failures as `cargo::error` lines.
//!
//! The client's script resolves the description (downloading it when it
//! must) and hands its path to the root package's script through `links`
//! metadata, so one build resolves, warns and downloads once.

// Build scripts talk to cargo on stdout: that is what `println!` is for here.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};

use crate::source::{self, Lock, Origin, Resolved, Settings};

/// The `links` metadata key the client's script sets, as the root's sees it.
const HANDED_ON: &str = "DEP_DOCSPACE_OPENAPI_SPEC";

/// An environment variable.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A directory cargo names in the environment (`CARGO_MANIFEST_DIR`, `OUT_DIR`).
pub fn dir(name: &str) -> Result<PathBuf, String> {
    env(name).map(PathBuf::from).ok_or_else(|| format!("{name} is not set"))
}

/// Runs a build script's work; a failure becomes `cargo::error` lines.
pub fn report(result: Result<(), String>) {
    if let Err(message) = result {
        for line in message.lines() {
            println!("cargo::error={line}");
        }
    }
}

/// Writes `text` to `path` unless it is already there: an unchanged output
/// keeps its timestamp, so nothing downstream rebuilds.
pub fn write(path: &Path, text: &str) -> Result<(), String> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Finds (or downloads) the description for the workspace at `root`, and
/// hands its path on to the root package's script.
pub fn resolve(root: &Path) -> Result<Resolved, String> {
    for var in ["DOCSPACE_OPENAPI", "DOCSPACE_OPENAPI_URL", "DOCSPACE_OPENAPI_OFFLINE"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let lock_path = root.join("openapi/spec.lock");
    println!("cargo::rerun-if-changed={}", lock_path.display());
    let lock_text =
        std::fs::read_to_string(&lock_path).map_err(|e| format!("cannot read {}: {e}", lock_path.display()))?;
    let lock = Lock::parse(&lock_text).map_err(|e| e.to_string())?;
    let settings = Settings {
        root: root.to_path_buf(),
        env_path: env("DOCSPACE_OPENAPI"),
        url_override: env("DOCSPACE_OPENAPI_URL"),
        offline: source::truthy(env("DOCSPACE_OPENAPI_OFFLINE").as_deref()),
        // This workspace keeps the descriptions beside the checkout (never
        // committed here); the pinned one is picked by its sha256.
        pinned_dirs: root.parent().map(|p| vec![p.join("shared/openapi")]).unwrap_or_default(),
    };
    let spec = source::resolve(&settings, &lock).map_err(|e| e.to_string())?;
    if settings.env_path.is_none() {
        println!("cargo::rerun-if-changed={}", root.join(source::DEFAULT_PATH).display());
    }
    if let Some(warning) = &spec.warning {
        println!("cargo::warning={warning}");
    }
    println!("cargo::rerun-if-changed={}", spec.path.display());
    println!("cargo::metadata=spec={}", spec.path.display());
    Ok(spec)
}

/// The description the client package's script resolved (or, should it
/// ever stop handing it on, resolved here).
pub fn resolved_by_client(root: &Path) -> Result<Resolved, String> {
    println!("cargo::rerun-if-env-changed={HANDED_ON}");
    let Some(path) = env(HANDED_ON) else { return resolve(root) };
    let path = PathBuf::from(path);
    println!("cargo::rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(Resolved { sha256: source::sha256_hex(text.as_bytes()), path, text, origin: Origin::Env, warning: None })
}
