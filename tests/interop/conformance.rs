//! The official MCP conformance suite (`@modelcontextprotocol/conformance`,
//! server mode) against Streamable HTTP: every scenario that applies to a
//! server without the suite's fixture tools. `scripts/test` installs the
//! suite and the Node 22 it needs into `tests/clients/node_modules`.
//! Also its authorization-server scenarios (`conformance authorization`)
//! against the OAuth proxy: the metadata endpoint, and the authorization-code
//! grant, whose browser part (consent page, the sandbox's sign-in) this test
//! walks when the suite prints the URL.

use docspace_mcp_client::reqwest;

use crate::common::clients::conformance_bin;
use crate::common::server::{OAuth, TestServer};

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

#[tokio::test(flavor = "multi_thread")]
async fn the_conformance_suite_passes() {
    let Some(bin) = conformance_bin() else { return };
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let s = TestServer::builder().operator().start().await;
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

#[tokio::test(flavor = "multi_thread")]
async fn the_conformance_suite_s_authorization_server_scenarios_pass() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let Some(bin) = conformance_bin() else { return };
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let s = TestServer::builder().oauth(OAuth::Shared).start().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let callback = format!("http://127.0.0.1:{port}/callback");
    let client = crate::common::oauth::register(&s.base, &[&callback], "MCP conformance suite").await;
    let mut child = tokio::process::Command::new(bin.join("conformance"))
        .args(["authorization", "--url", &s.base, "--client-id", &client, "--port", &port.to_string()])
        .args(["--resource", &format!("{}/mcp", s.base)])
        .env("PATH", &path)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut output = Vec::new();
    let prefix = format!("{}/authorize?", s.base);
    let walked = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            output.push(line.clone());
            if line.starts_with(&prefix) {
                let back = crate::common::oauth::walk(&s.base, &line).await;
                assert!(back.starts_with(&callback), "{back}");
                // The suite's callback server receives the code.
                reqwest::get(&back).await.unwrap();
                break;
            }
        }
        while let Some(line) = lines.next_line().await.unwrap() {
            output.push(line);
        }
    })
    .await;
    let status = child.wait().await.unwrap();
    let stdout = output.join("\n");
    assert!(walked.is_ok(), "the suite did not finish:\n{stdout}");
    let total = stdout.lines().find(|l| l.starts_with("Total:")).unwrap_or_default();
    assert!(status.success() && total.contains(" 0 failed") && !total.contains(" 0 passed"), "{stdout}");
    assert!(stdout.contains("authorization-code-grant: 1 passed, 0 failed"), "{stdout}");
    println!("{stdout}");
}
