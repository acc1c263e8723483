//! The official MCP conformance suite (`@modelcontextprotocol/conformance`,
//! server mode) against Streamable HTTP: every scenario that applies to a
//! server without the suite's fixture tools. `scripts/test` installs the
//! suite and the Node 22 it needs into `tests/clients/node_modules`.

use std::path::PathBuf;

use crate::common::root;

/// The scenarios that apply (the others need fixture tools such as
/// `test_simple_text`, or prompts and resources this server does not have).
const SCENARIOS: [&str; 8] = [
    "server-initialize",
    "server-session-lifecycle",
    "ping",
    "tools-list",
    "logging-set-level",
    "dns-rebinding-protection",
    "server-sse-multiple-streams",
    "http-header-validation",
];

fn bin_dir() -> PathBuf {
    std::env::var("DOCSPACE_MCP_NODE_BIN")
        .map_or_else(|_| root().join("tests/clients/node_modules/.bin"), PathBuf::from)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_conformance_suite_passes() {
    let bin = bin_dir();
    assert!(
        bin.join("conformance").exists() && bin.join("node").exists(),
        "the conformance suite is not installed in {}: run scripts/test (npm ci in tests/clients)",
        bin.display()
    );
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let s = crate::http::start(true, &[]).await;
    let url = format!("{}/mcp", s.base);
    let mut failures = Vec::new();
    for scenario in SCENARIOS {
        let out = tokio::process::Command::new(bin.join("conformance"))
            .args(["server", "--url", &url, "--scenario", scenario])
            .env("PATH", &path)
            .env("NO_COLOR", "1")
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let passed = out.status.success()
            && stdout.lines().any(|l| l.contains("Passed:") && l.contains(" 0 failed"))
            && !stdout.contains("FAILURE");
        println!("{scenario}: {}", if passed { "passed" } else { "FAILED" });
        if !passed {
            failures.push(format!("{scenario}:\n{stdout}\n{stderr}"));
        }
    }
    assert!(failures.is_empty(), "conformance scenarios failed:\n{}", failures.join("\n"));
}
