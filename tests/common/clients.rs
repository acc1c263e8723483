//! The independent clients the `interop` tests drive, found where
//! `scripts/test` installs them: the official Python MCP SDK (`.venv`, or
//! `$DOCSPACE_MCP_PYTHON`), the conformance suite and its Node
//! (`tests/clients/node_modules/.bin`, or `$DOCSPACE_MCP_NODE_BIN`), and
//! Chromium with ChromeDriver (on `PATH`, or `$DOCSPACE_MCP_CHROMIUM` and
//! `$DOCSPACE_MCP_CHROMEDRIVER`), and for the `replicas` tests Debian's
//! `redis-server` (or `valkey-server`) and `nginx` (on `PATH` or in
//! `/usr/sbin`, or `$DOCSPACE_MCP_REDIS_SERVER` and `$DOCSPACE_MCP_NGINX`).
//!
//! A missing client makes its test print why it is skipped and what
//! installs it, and return. `scripts/test` installs every client and sets
//! `DOCSPACE_MCP_REQUIRE_CLIENTS=1`, under which a missing client fails the
//! test instead: CI never passes by skipping.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::root;

/// `None`, after saying why (or a panic when clients are required).
fn missing<T>(what: &str) -> Option<T> {
    let message = format!("{what}; scripts/test installs it");
    assert!(
        std::env::var_os("DOCSPACE_MCP_REQUIRE_CLIENTS").is_none(),
        "{message} (DOCSPACE_MCP_REQUIRE_CLIENTS is set)"
    );
    // Straight to stderr, past libtest's capture, so the skip shows in a normal run.
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("SKIPPED: {message}\n").as_bytes());
    None
}

/// The Python to run the client scripts with.
pub fn python() -> String {
    std::env::var("DOCSPACE_MCP_PYTHON").unwrap_or_else(|_| {
        let venv = root().join(".venv/bin/python");
        if venv.exists() { venv.display().to_string() } else { "python3".into() }
    })
}

/// A Python that has the `mcp` SDK.
pub fn python_with_sdk() -> Option<String> {
    let python = python();
    let probe = Command::new(&python).args(["-c", "import mcp"]).output();
    if probe.as_ref().is_ok_and(|o| o.status.success()) {
        return Some(python);
    }
    missing(&format!(
        "{python} cannot import the Python MCP SDK (`mcp`): create .venv from tests/clients/requirements.txt or set \
         DOCSPACE_MCP_PYTHON"
    ))
}

/// The folder with the conformance suite's `conformance` and its `node`.
pub fn conformance_bin() -> Option<PathBuf> {
    let bin = std::env::var("DOCSPACE_MCP_NODE_BIN")
        .map_or_else(|_| root().join("tests/clients/node_modules/.bin"), PathBuf::from);
    if bin.join("conformance").exists() && bin.join("node").exists() {
        return Some(bin);
    }
    missing(&format!("the MCP conformance suite is not installed in {} (npm ci --prefix tests/clients)", bin.display()))
}

/// `name` on `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|dir| dir.join(name)).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|p| p.is_file())
}

/// Chromium and ChromeDriver.
pub fn chromium() -> Option<(PathBuf, PathBuf)> {
    let find = |var: &str, name: &str| {
        std::env::var_os(var).map(PathBuf::from).filter(|p| Path::new(p).is_file()).or_else(|| on_path(name))
    };
    match (find("DOCSPACE_MCP_CHROMIUM", "chromium"), find("DOCSPACE_MCP_CHROMEDRIVER", "chromedriver")) {
        (Some(chromium), Some(driver)) => Some((chromium, driver)),
        _ => missing("Chromium or ChromeDriver is missing (Debian: apt-get install chromium chromium-driver)"),
    }
}

/// A program: `$var` when set, else the first of `names` on `PATH` or in
/// `/usr/sbin` (where Debian puts nginx, off a normal user's `PATH`).
fn program(var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    names
        .iter()
        .find_map(|name| on_path(name).or_else(|| Some(Path::new("/usr/sbin").join(name)).filter(|p| p.is_file())))
}

/// The shared store's server: Redis, or Valkey (the same protocol).
pub fn redis_server() -> Option<PathBuf> {
    program("DOCSPACE_MCP_REDIS_SERVER", &["redis-server", "valkey-server"])
        .or_else(|| missing("redis-server (or valkey-server) is missing (Debian: apt-get install redis-server)"))
}

/// nginx.
pub fn nginx() -> Option<PathBuf> {
    program("DOCSPACE_MCP_NGINX", &["nginx"]).or_else(|| missing("nginx is missing (Debian: apt-get install nginx)"))
}

/// The MCP Inspector's launcher and the Node 22 to run it with (both in
/// `tests/clients/node_modules/.bin`, or `$DOCSPACE_MCP_NODE_BIN`).
pub fn inspector() -> Option<(PathBuf, PathBuf)> {
    let bin = std::env::var("DOCSPACE_MCP_NODE_BIN")
        .map_or_else(|_| root().join("tests/clients/node_modules/.bin"), PathBuf::from);
    if bin.join("mcp-inspector").exists() && bin.join("node").exists() {
        return Some((bin.join("node"), bin.join("mcp-inspector")));
    }
    missing(&format!("the MCP Inspector is not installed in {} (npm ci --prefix tests/clients)", bin.display()))
}

/// mcpo (`.venv-mcpo/bin/mcpo`, or `$DOCSPACE_MCP_MCPO`).
pub fn mcpo() -> Option<PathBuf> {
    let path = std::env::var_os("DOCSPACE_MCP_MCPO").map_or_else(|| root().join(".venv-mcpo/bin/mcpo"), PathBuf::from);
    if path.is_file() {
        return Some(path);
    }
    missing(&format!("mcpo is not installed at {} (a venv from tests/clients/requirements-mcpo.txt)", path.display()))
}
