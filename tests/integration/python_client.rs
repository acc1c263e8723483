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
