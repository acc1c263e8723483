//! docs/clients.md's recipes, run the way they say (issue 15, item 5).
//!
//! Every block after a `<!-- recipe: NAME KIND … -->` line is checked: a JSON
//! configuration is parsed and its `docspace` server started (stdio: the
//! binary with the recipe's arguments and environment; remote: a test server
//! reached at the recipe's URL key with the recipe's headers), with the
//! placeholders swapped for the sandbox portal, its API key and the test
//! server's address; the rmcp client then lists the tools and calls
//! `get_self_profile`. The shell recipe runs its two commands. A recipe the
//! test does not know how to run fails it, so the page cannot gain an
//! untested snippet.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use docspace_mcp::sandbox::{self, Sandbox};
use docspace_mcp_client::reqwest;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt, service::RunningService};
use serde_json::Value;

use crate::common::server::TestServer;
use crate::common::{BIN, Recipe, recipes};

const PORTAL: &str = "https://your-portal.example.com";
const KEY: &str = "your-api-key";
const SERVER: &str = "http://127.0.0.1:8080";

/// The `docspace` entry of a configuration, under `mcpServers` or `servers`.
fn entry(config: &Value) -> &Value {
    config.get("mcpServers").or_else(|| config.get("servers")).and_then(|s| s.get("docspace")).expect("docspace")
}

/// A placeholder swapped for the test's value.
fn swap(value: &str, portal: &str, server: &str) -> String {
    value.replace(PORTAL, portal).replace(KEY, sandbox::API_KEY).replace(SERVER, server)
}

async fn check(client: RunningService<RoleClient, ()>, name: &str) {
    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "get_self_profile"), "{name}: the tools are listed");
    let me = client.call_tool(CallToolRequestParams::new("get_self_profile")).await.unwrap();
    assert!(format!("{me:?}").contains("Alex Morgan"), "{name}: {me:?}");
    client.cancel().await.unwrap();
}

async fn run_stdio(recipe: &Recipe, config: &Value, portal: &str) {
    let server = entry(config);
    let mut args: Vec<String> = server["args"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    match server["command"].as_str().unwrap() {
        "docspace-mcp" => {}
        // The package is not published from here: the local binary stands in for it.
        "npx" if recipe.kind.iter().any(|k| k == "npx") => {
            assert_eq!(args, ["-y", "docspace-mcp"], "{}", recipe.name);
            args.clear();
        }
        other => panic!("{}: no way to start `{other}`", recipe.name),
    }
    // VS Code's prompts: answered with the sandbox's key.
    let inputs: Vec<String> = config["inputs"]
        .as_array()
        .map(|i| i.iter().map(|i| format!("${{input:{}}}", i["id"].as_str().unwrap())).collect())
        .unwrap_or_default();
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(&args);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("DOCSPACE_") || k == "RUST_LOG") {
        cmd.env_remove(k);
    }
    for (k, v) in server["env"].as_object().into_iter().flatten() {
        let mut v = swap(v.as_str().unwrap(), portal, SERVER);
        for input in &inputs {
            v = v.replace(input, sandbox::API_KEY);
        }
        cmd.env(k, v);
    }
    let (transport, _) = TokioChildProcess::builder(cmd).stderr(std::process::Stdio::null()).spawn().unwrap();
    check(().serve(transport).await.unwrap(), &recipe.name).await;
}

async fn run_remote(recipe: &Recipe, config: &Value, portal: &Arc<Sandbox>) {
    let server = entry(config);
    let key = recipe.kind.iter().find(|k| ["url", "serverUrl", "httpUrl"].contains(&k.as_str())).expect("a URL key");
    let s = TestServer::builder()
        .portal(Some(portal.clone()))
        .args(&["--allowed-base-urls", "127.0.0.1:*", "--allow-private-base-urls"])
        .start()
        .await;
    let url = swap(server[key.as_str()].as_str().unwrap(), portal.base_url(), &s.base);
    assert!(url.starts_with(&s.base), "{}: the URL is the placeholder server's: {url}", recipe.name);
    let mut headers = HashMap::new();
    for (k, v) in server["headers"].as_object().into_iter().flatten() {
        let v = swap(v.as_str().unwrap(), portal.base_url(), &s.base);
        headers.insert(k.to_ascii_lowercase().parse::<reqwest::header::HeaderName>().unwrap(), v.parse().unwrap());
    }
    let config = StreamableHttpClientTransportConfig::with_uri(url).custom_headers(headers);
    check(().serve(StreamableHttpClientTransport::from_config(config)).await.unwrap(), &recipe.name).await;
}

/// The local sandbox recipe: its two commands, with free ports, then a
/// client with the headers the page names.
async fn run_shell(recipe: &Recipe) {
    use std::io::{BufRead, BufReader};
    let commands: Vec<&str> = recipe.text.lines().filter(|l| l.starts_with("docspace-mcp ")).collect();
    assert_eq!(commands.len(), 2, "{}", recipe.name);
    let free = || std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
    let (portal_port, server_port) = (free().to_string(), free().to_string());
    let argv = |line: &str| -> Vec<String> {
        line.split_whitespace()
            .skip(1)
            .map(|w| w.trim_matches('\'').replace("8092", &portal_port).replace("8080", &server_port))
            .collect()
    };
    let mut children = Vec::new();
    for (line, ready) in commands.iter().zip(["sandbox portal at", "serving MCP over HTTP on"]) {
        let args = argv(line);
        let mut child = crate::common::server_command(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        assert!(lines.any(|l| l.is_ok_and(|l| l.contains(ready))), "{}: `{line}` did not start", recipe.name);
        std::thread::spawn(move || lines.for_each(drop));
        children.push(child);
    }
    let mut headers = HashMap::new();
    headers.insert(
        reqwest::header::HeaderName::from_static("x-mcp-base-url"),
        format!("http://127.0.0.1:{portal_port}").parse().unwrap(),
    );
    headers.insert(reqwest::header::HeaderName::from_static("x-mcp-api-key"), sandbox::API_KEY.parse().unwrap());
    let config = StreamableHttpClientTransportConfig::with_uri(format!("http://127.0.0.1:{server_port}/mcp"))
        .custom_headers(headers);
    check(().serve(StreamableHttpClientTransport::from_config(config)).await.unwrap(), &recipe.name).await;
    for mut child in children {
        let _ = child.kill();
        let _ = child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_recipe_in_docs_clients_md_works() {
    let recipes = recipes();
    assert!(recipes.len() >= 9, "{} recipes", recipes.len());
    let portal = Arc::new(Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap());
    for recipe in &recipes {
        let kind = recipe.kind.first().map(String::as_str);
        // Run by the interop binary, which has those clients (tests/interop/recipes.rs).
        if matches!(kind, Some("inspector" | "mcpo")) {
            continue;
        }
        if kind == Some("shell") {
            run_shell(recipe).await;
            continue;
        }
        let config: Value = serde_json::from_str(&recipe.text)
            .unwrap_or_else(|e| panic!("{}: the snippet is not valid JSON: {e}", recipe.name));
        match kind {
            Some("stdio") => run_stdio(recipe, &config, portal.base_url()).await,
            Some("http") => run_remote(recipe, &config, &portal).await,
            other => panic!("{}: no test runs a recipe of kind {other:?}", recipe.name),
        }
    }
}
