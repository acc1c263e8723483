//! The official MCP conformance suite (`@modelcontextprotocol/conformance`,
//! pinned in `tests/clients/package-lock.json`, installed by
//! `scripts/test`) in server mode against `docspace-mcp-conformance`: the
//! full server requirement set of each protocol revision, with an empty
//! expected-failures baseline (`conformance/expected-failures.yml`). Every
//! scenario also checks each message the server sent against that
//! revision's JSON schema (`wire-schema-valid`).
//!
//! The suite also runs, unscored, the scenarios a revision does not
//! require (pending ones and the tasks extension); those this server
//! passes are held to passing here too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    missing_docs
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The workspace's root.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// The folder with the suite's `conformance` and the Node it runs on, or
/// `None` (a skip) when it is not installed and clients are not required.
fn suite() -> Option<PathBuf> {
    let bin = std::env::var("DOCSPACE_MCP_NODE_BIN")
        .map_or_else(|_| root().join("tests/clients/node_modules/.bin"), PathBuf::from);
    if bin.join("conformance").exists() && bin.join("node").exists() {
        return Some(bin);
    }
    let message = format!(
        "the MCP conformance suite is not installed in {} (npm ci --prefix tests/clients); scripts/test installs it",
        bin.display()
    );
    assert!(std::env::var_os("DOCSPACE_MCP_REQUIRE_CLIENTS").is_none(), "{message}");
    eprintln!("SKIPPED: {message}");
    None
}

/// The fixture server, stopped when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_docspace-mcp-conformance"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut url = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut url).unwrap();
        let url = url.trim().to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "the server printed {url:?}");
        let address = url.trim_start_matches("http://").trim_end_matches("/mcp").to_owned();
        let started = Instant::now();
        while std::net::TcpStream::connect(&address).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "the server does not listen on {address}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One scenario's line of the suite's summary: its name and whether it passed.
fn scenarios(summary: &str) -> Vec<(String, bool)> {
    summary
        .lines()
        .filter_map(|line| {
            let (passed, rest) = match line.split_once(' ') {
                Some(("✓", rest)) => (true, rest),
                Some(("✗", rest)) => (false, rest),
                _ => return None,
            };
            Some((rest.split(':').next()?.to_owned(), passed))
        })
        .collect()
}

/// The server scenarios the suite's requirement set `revision` scores
/// (its `requirements/<revision>.yaml`, section `server:`).
fn required(bin: &Path, revision: &str) -> Vec<String> {
    let file = bin.join("../@modelcontextprotocol/conformance/requirements").join(format!("{revision}.yaml"));
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    text.lines()
        .skip_while(|line| *line != "server:")
        .skip(1)
        .take_while(|line| !line.starts_with(|c: char| c.is_ascii_alphabetic()))
        .filter_map(|line| line.trim().strip_prefix("- "))
        .map(|name| name.split_whitespace().next().unwrap_or_default().to_owned())
        .collect()
}

/// Runs the requirement set `revision`; checks that every scored scenario
/// passed, that `scored` of them ran, and that the unscored `also` passed.
fn requirement_set(revision: &str, scored: usize, also: &[&str]) {
    let Some(bin) = suite() else { return };
    let server = Server::start();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new(bin.join("conformance"))
        .args(["server", "--url", &server.url, "--requirements", revision, "--expected-failures"])
        .arg(root().join("conformance/expected-failures.yml"))
        .env("PATH", &path)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary = stdout.split("=== SUMMARY ===").nth(1).unwrap_or_default();
    println!("{revision}:{summary}");
    assert!(out.status.success(), "the {revision} requirement set failed:\n{stdout}\n{stderr}");
    let required = required(&bin, revision);
    let all = scenarios(summary);
    let (counted, rest): (Vec<_>, Vec<_>) = all.iter().partition(|(name, _)| required.contains(name));
    let failed: Vec<&String> = counted.iter().filter(|(_, passed)| !passed).map(|(name, _)| name).collect();
    assert!(failed.is_empty(), "scored scenarios failed: {failed:?}\n{stdout}");
    assert_eq!(required.len(), scored, "the suite's {revision} set requires {required:?}");
    assert_eq!(counted.len(), scored, "the {revision} set should have run {required:?}:\n{summary}");
    for name in also {
        assert!(
            rest.iter().any(|(n, passed)| n == name && *passed),
            "the unscored scenario {name} should pass:\n{summary}"
        );
    }
}

#[test]
fn the_2025_11_25_requirement_set_passes_in_full() {
    requirement_set("2025-11-25", 30, &["server-session-lifecycle", "server-sse-polling", "json-schema-2020-12"]);
}

#[test]
fn the_2026_07_28_requirement_set_passes_in_full() {
    requirement_set("2026-07-28", 37, &["json-schema-2020-12", "http-header-validation"]);
}
