//! The consent page in a real browser: headless Chromium (Debian's `chromium`
//! and `chromium-driver`, installed by `scripts/test`) driven over WebDriver by
//! `tests/clients/consent_browser.py`. It reads the page (the client's name,
//! escaped, and its redirect URI), clicks Allow, signs in on the sandbox's
//! page and lands on the client's redirect URI with a code this test then
//! exchanges and uses; and it clicks Deny and lands there with
//! `error=access_denied`.

use std::path::PathBuf;

use docspace_mcp::sandbox;
use serde_json::Value;

use crate::common::clients::{chromium, python};
use crate::common::oauth::{Flow, REDIRECT, exchange, query_of, register, whoami};
use crate::common::root;
use crate::common::server::{OAuth, TestServer};

/// Runs the browser script with `browsers` (Chromium, ChromeDriver); the URL the browser ended at.
async fn browse(browsers: &(PathBuf, PathBuf), url: &str, decision: &str, expect: &[&str]) -> String {
    let mut cmd = tokio::process::Command::new(python());
    cmd.arg(root().join("tests/clients/consent_browser.py"))
        .arg("--chromium")
        .arg(&browsers.0)
        .arg("--chromedriver")
        .arg(&browsers.1)
        .args(["--authorize-url", url, "--decision", decision, "--redirect-prefix", REDIRECT])
        .args(["--username", sandbox::USERNAME, "--password", sandbox::PASSWORD]);
    for text in expect {
        cmd.args(["--expect-text", text]);
    }
    let out = cmd.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the browser run failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    let result = stdout.lines().find_map(|l| l.strip_prefix("RESULT ")).expect("a RESULT line");
    let v: Value = serde_json::from_str(result).unwrap();
    v["url"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_consent_page_works_in_headless_chromium() {
    let Some(browsers) = chromium() else { return };
    let s = TestServer::builder().oauth(OAuth::Shared).start().await;
    let b = s.base.as_str();
    let name = "Browser <Test> & Co";
    let client = register(b, &[REDIRECT], name).await;

    // Allow: the browser ends at the client's redirect URI with a code that works.
    let flow = Flow::new(&client, REDIRECT);
    let end = browse(&browsers, &flow.url(b, &[]), "allow", &[name, REDIRECT]).await;
    let q = query_of(&end);
    assert_eq!(q.get("state"), Some(&flow.state), "{end}");
    assert_eq!(q.get("iss").map(String::as_str), Some(b));
    let (status, t) = exchange(
        b,
        &[
            ("grant_type", "authorization_code"),
            ("code", &q["code"]),
            ("client_id", &client),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &flow.verifier),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{t}");
    assert!(whoami(b, t["access_token"].as_str().unwrap()).await.unwrap().contains(sandbox::USERNAME));

    // Deny: an error and the state, no code.
    let flow = Flow::new(&client, REDIRECT);
    let end = browse(&browsers, &flow.url(b, &[]), "deny", &[name]).await;
    let q = query_of(&end);
    assert_eq!(q.get("error").map(String::as_str), Some("access_denied"), "{end}");
    assert_eq!(q.get("state"), Some(&flow.state));
    assert!(!q.contains_key("code"));
}
