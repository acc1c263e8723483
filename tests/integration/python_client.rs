//! The official Python MCP SDK against `docspace-mcp sandbox` over stdio
//! (`tests/clients/stdio_client.py`) and against the HTTP transports with
//! per-request credentials (`tests/clients/http_client.py`). `scripts/test` installs the SDK into
//! `.venv` and points `DOCSPACE_MCP_PYTHON` at it; without the SDK this test
//! fails and says how to install it.

use std::process::Command;

use crate::common::root;

fn python() -> String {
    std::env::var("DOCSPACE_MCP_PYTHON").unwrap_or_else(|_| {
        let venv = root().join(".venv/bin/python");
        if venv.exists() { venv.display().to_string() } else { "python3".into() }
    })
}

fn python_with_sdk() -> String {
    let python = python();
    let probe = Command::new(&python).args(["-c", "import mcp"]).output();
    let has_sdk = probe.as_ref().is_ok_and(|o| o.status.success());
    assert!(
        has_sdk,
        "{python} cannot import the `mcp` SDK: run scripts/test (it creates .venv from tests/clients/requirements.txt) \
         or set DOCSPACE_MCP_PYTHON to a Python that has it"
    );
    python
}

#[tokio::test(flavor = "multi_thread")]
async fn the_python_sdk_client_works_over_streamable_http_and_sse() {
    let python = python_with_sdk();
    let s = crate::http::start(false, &["--allowed-base-urls", "127.0.0.1:*", "--allow-private-base-urls"]).await;
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
    let python = python_with_sdk();
    let shared = crate::oauth::start(true, None, &[]).await;
    let own = crate::oauth::start(false, None, &[]).await;
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

#[test]
fn the_python_sdk_client_works_over_stdio() {
    let python = python_with_sdk();
    let out = Command::new(&python)
        .arg(root().join("tests/clients/stdio_client.py"))
        .arg(env!("CARGO_BIN_EXE_docspace-mcp"))
        .env_remove("DOCSPACE_BASE_URL")
        .env_remove("DOCSPACE_API_KEY")
        .env_remove("DOCSPACE_TOOLSETS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the Python client reported failures:\n{stdout}\n{stderr}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
}
