//! docs/clients.md's MCP Inspector and mcpo recipes, run with those clients
//! (issue 15, item 5; the JSON configurations are run by the integration
//! binary's `recipes`). The placeholders are swapped as there: the sandbox
//! portal and its key, a server on a free port.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use docspace_mcp::sandbox::{self, Sandbox};

use crate::common::server::TestServer;
use crate::common::{BIN, Recipe, clients, recipes};

const PORTAL: &str = "https://your-portal.example.com";
const KEY: &str = "your-api-key";
const SERVER: &str = "http://127.0.0.1:8080";

/// A shell line's words, quotes honoured (the recipes use '…' and "…").
fn words(line: &str) -> Vec<String> {
    let (mut out, mut word, mut quote, mut any) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (None, '\'' | '"') => (quote, any) = (Some(c), true),
            (Some(q), c) if c == q => quote = None,
            (None, ' ') => {
                if any {
                    out.push(std::mem::take(&mut word));
                }
                any = false;
            }
            (_, c) => (word, any) = (word + &c.to_string(), true),
        }
    }
    if any {
        out.push(word);
    }
    out
}

fn of_kind<'a>(all: &'a [Recipe], kind: &str) -> Vec<&'a Recipe> {
    all.iter().filter(|r| r.kind.first().map(String::as_str) == Some(kind)).collect()
}

fn swap(w: &str, portal: &str, server: &str) -> String {
    w.replace(PORTAL, portal).replace(KEY, sandbox::API_KEY).replace(SERVER, server)
}

/// A server with no portal of its own, which lets clients name the sandbox.
async fn open_server(portal: &std::sync::Arc<Sandbox>) -> TestServer {
    TestServer::builder()
        .portal(Some(portal.clone()))
        .args(&["--allowed-base-urls", "127.0.0.1:*", "--allow-private-base-urls"])
        .start()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_inspector_recipes_work() {
    let Some((node, inspector)) = clients::inspector() else { return };
    let all = recipes();
    let recipes = of_kind(&all, "inspector");
    assert_eq!(recipes.len(), 2, "the local and the remote recipe");
    let portal = std::sync::Arc::new(Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap());
    let server = open_server(&portal).await;
    for recipe in recipes {
        let mut argv = words(&recipe.text);
        assert_eq!(argv.drain(..2).collect::<Vec<_>>(), ["npx", "@modelcontextprotocol/inspector"], "{}", recipe.name);
        let args: Vec<String> = argv
            .iter()
            .map(|w| if w == "docspace-mcp" { BIN.to_owned() } else { swap(w, portal.base_url(), &server.base) })
            .collect();
        let (node, inspector) = (node.clone(), inspector.clone());
        let out = tokio::task::spawn_blocking(move || {
            Command::new(node).arg(inspector).args(&args).stdin(Stdio::null()).output().unwrap()
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}: {stdout}\n{}", recipe.name, String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("Alex Morgan") && stdout.contains("\"isError\": false"), "{}: {stdout}", recipe.name);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mcpo_recipes_work() {
    let Some(mcpo) = clients::mcpo() else { return };
    let all = recipes();
    let recipes = of_kind(&all, "mcpo");
    assert_eq!(recipes.len(), 2, "the local and the remote recipe");
    let portal = std::sync::Arc::new(Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap());
    let server = open_server(&portal).await;
    for recipe in recipes {
        let mut argv = words(&recipe.text);
        // Leading VAR=value words are its environment.
        let env: Vec<(String, String)> = argv
            .iter()
            .take_while(|w| w.contains('=') && w.starts_with("DOCSPACE_"))
            .map(|w| {
                let (k, v) = w.split_once('=').unwrap();
                (k.to_owned(), swap(v, portal.base_url(), &server.base))
            })
            .collect();
        argv.drain(..env.len());
        assert_eq!(argv.remove(0), "mcpo", "{}", recipe.name);
        let port = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
        let args: Vec<String> = argv
            .iter()
            .map(|w| match w.as_str() {
                "docspace-mcp" => BIN.to_owned(),
                "8000" => port.to_string(),
                w => swap(w, portal.base_url(), &server.base),
            })
            .collect();
        let mut cmd = Command::new(&mcpo);
        cmd.args(&args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("DOCSPACE_")) {
            cmd.env_remove(k);
        }
        cmd.envs(env);
        let mut child = cmd.spawn().unwrap();
        // mcpo starts its MCP client, then serves one OpenAPI route per tool.
        let url = format!("http://127.0.0.1:{port}/get_self_profile");
        let deadline = Instant::now() + Duration::from_secs(60);
        let answer = loop {
            match docspace_mcp_client::tls::builder()
                .build()
                .unwrap()
                .post(&url)
                .json(&serde_json::json!({}))
                .send()
                .await
            {
                Ok(r) if r.status() != 404 => break r.text().await.unwrap(),
                _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(300)).await,
                other => panic!("{}: mcpo did not serve get_self_profile: {other:?}", recipe.name),
            }
        };
        let _ = child.kill();
        let _ = child.wait();
        assert!(answer.contains("Alex Morgan"), "{}: {answer}", recipe.name);
    }
}
