//! The official Python MCP SDK against `docspace-mcp sandbox` over stdio
//! (`tests/clients/stdio_client.py`, `tests/clients/surface_client.py`) and against the HTTP transports with
//! per-request credentials (`tests/clients/http_client.py`). `scripts/test` installs the SDK into
//! `.venv` and points `DOCSPACE_MCP_PYTHON` at it; without the SDK these tests
//! are skipped, saying how to install it.

use std::process::Command;

use crate::common::clients::python_with_sdk;
use crate::common::root;
use crate::common::server::{OAuth, TestServer};

#[tokio::test(flavor = "multi_thread")]
async fn the_python_sdk_client_works_over_streamable_http_and_sse() {
    let Some(python) = python_with_sdk() else { return };
    let s =
        TestServer::builder().args(&["--allowed-base-urls", "127.0.0.1:*", "--allow-private-base-urls"]).start().await;
    let out = tokio::process::Command::new(&python)
        .arg(root().join("tests/clients/http_client.py"))
        .args([s.base.as_str(), s.portal.base_url(), docspace_mcp::sandbox::API_KEY])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the Python client reported failures:\n{stdout}\n{stderr}");
    assert!(stdout.contains(" passed, 0 failed") && !stdout.contains("FAIL"), "{stdout}");
    assert!(stdout.contains("[sse] the write is visible"), "{stdout}");
}

/// The SDK's own OAuth client provider signs in headless (registration or the
/// user's own application, consent page, the sandbox's sign-in, callback, code
/// exchange), calls tools, refreshes, and calls again — in both registration
/// modes, over Streamable HTTP and SSE.
#[tokio::test(flavor = "multi_thread")]
async fn the_python_sdk_signs_in_with_oauth_in_both_modes_over_both_transports() {
    use docspace_mcp::sandbox::{self, oauth};
    let Some(python) = python_with_sdk() else { return };
    let shared = TestServer::builder().oauth(OAuth::Shared).start().await;
    let own = TestServer::builder().oauth(OAuth::Own).start().await;
    let runs: [(&str, &str, &str, &[&str]); 4] = [
        (shared.base.as_str(), "/mcp", "shared", &[]),
        (shared.base.as_str(), "/sse", "shared", &[]),
        (own.base.as_str(), "/mcp", "own", &["--auth-method", "client_secret_basic"]),
        (own.base.as_str(), "/sse", "own", &["--auth-method", "client_secret_post"]),
    ];
    for (base, path, mode, extra) in runs {
        let transport = if path == "/mcp" { "streamable-http" } else { "sse" };
        let mut cmd = tokio::process::Command::new(&python);
        cmd.arg(root().join("tests/clients/oauth_client.py"))
            .args(["--url", &format!("{base}{path}"), "--transport", transport, "--mode", mode])
            .args(["--username", sandbox::USERNAME, "--password", sandbox::PASSWORD])
            .args(extra);
        if mode == "own" {
            cmd.args(["--client-id", oauth::CLIENT_ID, "--client-secret", oauth::CLIENT_SECRET]);
        }
        let out = cmd.output().await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{mode} {path}: the Python OAuth client reported failures:\n{stdout}\n{stderr}");
        assert!(stdout.contains(" passed, 0 failed") && !stdout.contains("FAIL"), "{mode} {path}: {stdout}");
    }
}

/// Runs the stdio client script `script` (`tests/clients/`) against the
/// binary with none of the caller's settings; its stdout, once it passed.
fn stdio_script(python: &str, script: &str) -> String {
    let out = Command::new(python)
        .arg(root().join("tests/clients").join(script))
        .arg(env!("CARGO_BIN_EXE_docspace-mcp"))
        .env_remove("DOCSPACE_BASE_URL")
        .env_remove("DOCSPACE_API_KEY")
        .env_remove("DOCSPACE_TOOLSETS")
        .env_remove("DOCSPACE_DESTRUCTIVE_CONFIRMATION")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script} reported failures:\n{stdout}\n{stderr}");
    assert!(stdout.contains(" passed, 0 failed") && !stdout.contains("FAIL"), "{stdout}");
    stdout
}

#[test]
fn the_python_sdk_client_works_over_stdio() {
    let Some(python) = python_with_sdk() else { return };
    stdio_script(&python, "stdio_client.py");
}

/// Resources, prompts, completions, resource links and confirmations
/// (`tests/clients/surface_client.py`), on both revisions: the 2025
/// session confirms through `elicitation/create`, the 2026-07-28 one
/// through the input-required result the SDK drives itself.
#[test]
fn the_python_sdk_reads_resources_gets_prompts_and_confirms_on_both_revisions() {
    let Some(python) = python_with_sdk() else { return };
    let stdout = stdio_script(&python, "surface_client.py");
    assert!(stdout.contains("20 passed, 0 failed"), "{stdout}");
    assert!(stdout.contains("[auto] negotiated protocol 2026-07-28"), "{stdout}");
}
