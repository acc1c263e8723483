//! The 2026-07-28 revision on the real server (stateless requests, no
//! session; the conformance suite covers the fixtures' side in the
//! `docspace-mcp-conformance` crate): every result says its `resultType`,
//! lists carry cache hints in a stable order, log notifications come only
//! to a request whose `_meta` names a level, `server/discover` declares
//! only what is served, and the headers must match the body. Resources and
//! prompts on both revisions: `resources.rs`.

use serde_json::{Value, json};

use crate::common::mcp_http::{Answer, stateless};
use crate::common::server::TestServer;

/// The notifications of an answer, then its response.
fn split(a: &Answer) -> (Vec<Value>, Value) {
    let mut messages = a.messages();
    let response = messages.pop().unwrap_or(Value::Null);
    (messages, response)
}

#[tokio::test]
async fn results_carry_their_type_and_lists_their_cache_hints_in_a_stable_order() {
    let s = TestServer::builder().operator().start().await;
    let url = s.mcp();
    let first = stateless(&url, 1, "tools/list", json!({}), json!({})).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let (_, list) = split(&first);
    let result = &list["result"];
    assert_eq!(result["resultType"], "complete", "{list}");
    assert!(result["ttlMs"].as_u64().is_some() && result["cacheScope"].is_string(), "{list}");
    let names = |v: &Value| -> Vec<String> {
        v["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
    };
    let again = split(&stateless(&url, 2, "tools/list", json!({}), json!({})).await).1;
    assert_eq!(names(&list), names(&again), "tools/list keeps its order");
    assert!(names(&list).len() > 20, "{list}");

    let call = stateless(&url, 3, "tools/call", json!({"name": "get_self_profile", "arguments": {}}), json!({})).await;
    let (_, call) = split(&call);
    assert_eq!(call["result"]["resultType"], "complete", "{call}");
    assert!(call["result"]["content"][0]["text"].as_str().unwrap().contains("email"), "{call}");
}

#[tokio::test]
async fn log_notifications_come_only_to_a_request_that_names_a_level() {
    let s = TestServer::builder().operator().start().await;
    let url = s.mcp();
    let failing = json!({"name": "get_room_info", "arguments": {"roomId": 999_999}});
    let quiet = stateless(&url, 1, "tools/call", failing.clone(), json!({})).await;
    let (notes, response) = split(&quiet);
    assert_eq!(response["result"]["isError"], true, "{}", quiet.body);
    assert!(notes.is_empty(), "no level asked, no log: {notes:?}");

    let asked = json!({"io.modelcontextprotocol/logLevel": "warning"});
    let told = stateless(&url, 2, "tools/call", failing.clone(), asked).await;
    let (notes, response) = split(&told);
    assert_eq!(response["id"], 2, "{}", told.body);
    assert_eq!(notes.len(), 1, "{}", told.body);
    assert_eq!(notes[0]["method"], "notifications/message");
    assert_eq!(notes[0]["params"]["level"], "warning");
    assert_eq!(notes[0]["params"]["data"]["tool"], "get_room_info");

    // A level above the message's: nothing.
    let above = json!({"io.modelcontextprotocol/logLevel": "error"});
    let (notes, _) = split(&stateless(&url, 3, "tools/call", failing, above).await);
    assert!(notes.is_empty(), "{notes:?}");
}

#[tokio::test]
async fn discover_declares_what_is_served_and_headers_must_match_the_body() {
    let s = TestServer::builder().operator().start().await;
    let url = s.mcp();
    let (_, discover) = split(&stateless(&url, 1, "server/discover", json!({}), json!({})).await);
    let result = &discover["result"];
    assert!(result["supportedVersions"].as_array().unwrap().contains(&json!("2026-07-28")), "{discover}");
    let server = &result["_meta"]["io.modelcontextprotocol/serverInfo"];
    assert_eq!(server["name"], "docspace-mcp");
    let icon = server["icons"][0]["src"].as_str().unwrap();
    assert!(icon.starts_with("data:image/svg+xml;base64,"), "{server}");
    let capabilities = result["capabilities"].as_object().unwrap();
    for served in ["tools", "resources", "prompts", "completions"] {
        assert!(capabilities.contains_key(served), "{served}: {discover}");
    }
    // No subscriptions/listen here, so nothing it alone would deliver is declared.
    assert!(capabilities["resources"].get("subscribe").is_none(), "{discover}");
    assert!(capabilities["tools"].get("listChanged").is_none(), "{discover}");
    let listen =
        stateless(&url, 2, "subscriptions/listen", json!({"notifications": {"toolsListChanged": true}}), json!({}))
            .await;
    assert_eq!(split(&listen).1["error"]["code"], -32601, "{}", listen.body);

    // Mcp-Name must name the tool the body calls (SEP-2243).
    let body = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "get_self_profile",
        "arguments": {}, "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}}}});
    let headers = [("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/call"), ("mcp-name", "delete_room")];
    let mismatch = crate::common::mcp_http::post(&url, None, &headers, &body).await;
    assert_eq!(mismatch.status, 400, "{}", mismatch.body);
    assert_eq!(mismatch.json()["error"]["code"], -32020, "{}", mismatch.body);
}
