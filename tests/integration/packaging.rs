//! The packaging files under `packaging/` (docs/packaging.md) against the
//! binary: one version everywhere (Cargo, the live `serverInfo`, npm, PyPI,
//! the MCPB manifest, server.json), server.json valid under the MCP
//! registry's published schema, and the Claude Desktop bundle's manifest
//! true to the server (its tool list is the live default `tools/list`; each
//! `user_config` answer reaches a setting the server reads). The built
//! packages themselves are installed and run by `scripts/test-packaging`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};

use clap::CommandFactory;
use docspace_mcp::Cli;
use docspace_mcp::sandbox::{self, Sandbox};
use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};
use tokio::process::Command;

use crate::common::{root, server_command};

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn read_json(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn manifest() -> Value {
    read_json("packaging/mcpb/manifest.json")
}

fn registry_validator() -> jsonschema::Validator {
    let schema = read_json("tests/fixtures/mcp-registry/server.schema-2025-12-11.json");
    jsonschema::options().with_draft(jsonschema::Draft::Draft7).should_validate_formats(true).build(&schema).unwrap()
}

fn errors(validator: &jsonschema::Validator, document: &Value) -> Vec<String> {
    validator.iter_errors(document).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

#[test]
fn server_json_validates_against_the_registry_schema() {
    let validator = registry_validator();
    let server = read_json("packaging/server.json");
    assert_eq!(errors(&validator, &server), Vec::<String>::new());
    assert_eq!(
        server["$schema"], "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "server.json names the schema it is checked against"
    );
    let kinds: BTreeSet<&str> =
        server["packages"].as_array().unwrap().iter().map(|p| p["registryType"].as_str().unwrap()).collect();
    assert_eq!(kinds, BTreeSet::from(["mcpb", "npm", "oci", "pypi"]));
    let remote = &server["remotes"][0];
    assert_eq!(remote["type"], "streamable-http");
    assert!(remote["url"].as_str().unwrap().ends_with("/mcp"), "{remote}");
    // The remote's headers are ones the HTTP transport reads (docs/http.md), credentials marked secret.
    for header in remote["headers"].as_array().unwrap() {
        let name = header["name"].as_str().unwrap();
        assert!(
            ["X-Mcp-Base-Url", "X-Mcp-Api-Key", "X-Mcp-Auth-Token", "X-Mcp-Username", "X-Mcp-Password"].contains(&name),
            "{name}"
        );
        assert_eq!(header["isSecret"] == true, name != "X-Mcp-Base-Url" && name != "X-Mcp-Username", "{name}");
    }

    // The validator is live: what the registry rejects, it rejects.
    let mut broken = server.clone();
    broken["name"] = json!("no-slash");
    broken["packages"][0]["version"] = json!("latest");
    broken["description"] = json!("x".repeat(101));
    assert_eq!(errors(&validator, &broken).len(), 3, "{:?}", errors(&validator, &broken));
}

#[test]
fn the_package_environments_name_settings_the_server_reads() {
    let settings = settings();
    let server = read_json("packaging/server.json");
    for package in server["packages"].as_array().unwrap() {
        for variable in package["environmentVariables"].as_array().into_iter().flatten() {
            let name = variable["name"].as_str().unwrap();
            assert!(
                settings.contains(name),
                "server.json {} names {name}, which the server does not read",
                package["registryType"]
            );
            let secret = ["DOCSPACE_API_KEY", "DOCSPACE_AUTH_TOKEN", "DOCSPACE_PASSWORD"].contains(&name);
            assert_eq!(variable["isSecret"] == true, secret, "{name}: isSecret");
        }
    }
}

/// Every `DOCSPACE_*` variable the command line reads (any command).
fn settings() -> BTreeSet<String> {
    fn walk(cmd: &clap::Command, out: &mut BTreeSet<String>) {
        out.extend(cmd.get_arguments().filter_map(|a| a.get_env()).map(|e| e.to_string_lossy().into_owned()));
        cmd.get_subcommands().for_each(|c| walk(c, out));
    }
    let mut out = BTreeSet::new();
    walk(&Cli::command(), &mut out);
    assert!(out.contains("DOCSPACE_BASE_URL") && out.len() > 20, "{out:?}");
    out
}

/// Cargo's version, and every copy of it kept in `packaging/`.
fn declared_versions() -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut put = |what: String, v: &Value| {
        found.insert(what.clone(), v.as_str().unwrap_or_else(|| panic!("{what}: {v}")).to_owned());
    };
    let npm = read_json("packaging/npm/docspace-mcp/package.json");
    put("npm launcher".into(), &npm["version"]);
    for (name, version) in npm["optionalDependencies"].as_object().unwrap() {
        put(format!("npm optionalDependencies {name}"), version);
    }
    let pyproject: toml::Table =
        std::fs::read_to_string(root().join("packaging/pypi/pyproject.toml")).unwrap().parse().unwrap();
    let pypi = pyproject["project"]["version"].as_str().unwrap();
    put("pypi/pyproject.toml".into(), &json!(pypi));
    put("mcpb/manifest.json".into(), &manifest()["version"]);
    let server = read_json("packaging/server.json");
    put("server.json".into(), &server["version"]);
    for p in server["packages"].as_array().unwrap() {
        let kind = p["registryType"].as_str().unwrap();
        if let Some(v) = p.get("version") {
            put(format!("server.json {kind} package"), v);
        }
        let id = p["identifier"].as_str().unwrap();
        match kind {
            "oci" => put("server.json oci image tag".into(), &json!(id.rsplit_once(':').unwrap().1)),
            "mcpb" => {
                let file = id.rsplit('/').next().unwrap();
                put(
                    "server.json mcpb file name".into(),
                    &json!(file.trim_start_matches("docspace-mcp-").split('-').next().unwrap()),
                );
                put(
                    "server.json mcpb release tag".into(),
                    &json!(id.split("/download/v").nth(1).unwrap().split('/').next().unwrap()),
                );
            }
            _ => {}
        }
    }
    found
}

#[tokio::test]
async fn every_version_string_agrees() {
    let mut found = declared_versions();
    assert!(found.len() >= 15, "{found:?}");

    // The binary's own: serverInfo from a live initialize, and --version.
    let cmd = Command::from(server_command(&["sandbox"], &[("DOCSPACE_LOG_LEVEL", "warn")]));
    let (transport, _) = TokioChildProcess::builder(cmd).stderr(std::process::Stdio::null()).spawn().unwrap();
    let client = ().serve(transport).await.unwrap();
    let info = client.peer_info().unwrap().server_info.clone().unwrap();
    assert_eq!(info.name, "docspace-mcp");
    found.insert("serverInfo (live initialize)".into(), info.version);
    client.cancel().await.unwrap();
    let out = server_command(&["--version"], &[]).output().unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    found.insert("docspace-mcp --version".into(), printed.trim().trim_start_matches("docspace-mcp ").to_owned());

    let wrong: BTreeMap<_, _> = found.iter().filter(|(_, v)| *v != VERSION).collect();
    assert!(wrong.is_empty(), "version strings that differ from Cargo.toml's {VERSION}: {wrong:#?}");
}

#[tokio::test]
async fn the_bundles_tool_list_is_the_live_default_tools_list() {
    // The bundle as its host launches it, with a user who filled in only the portal and a key:
    // every other user_config answer is its default, as the MCPB library substitutes it.
    let manifest = manifest();
    let portal = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap();
    let answers = json!({"base_url": portal.base_url(), "api_key": sandbox::API_KEY});
    let env = launch_environment(&manifest, &answers);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let cmd = Command::from(server_command(&[], &env));
    let (transport, _) = TokioChildProcess::builder(cmd).stderr(std::process::Stdio::null()).spawn().unwrap();
    let client = ().serve(transport).await.unwrap();
    let live: Vec<(String, String)> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.name.to_string(), t.title.clone().unwrap_or_default()))
        .collect();
    let listed: Vec<(String, String)> = manifest["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_owned(), t["description"].as_str().unwrap().to_owned()))
        .collect();
    let (mut live_sorted, mut listed_sorted) = (live.clone(), listed.clone());
    live_sorted.sort();
    listed_sorted.sort();
    assert_eq!(
        listed_sorted, live_sorted,
        "packaging/mcpb/manifest.json's tools must be the default tools/list (name, and the title as description); \
         `docspace-mcp tools list --json` prints them"
    );
    // And the server works as configured: the key reaches the portal.
    let me = client.call_tool(rmcp::model::CallToolRequestParams::new("get_self_profile")).await.unwrap();
    assert_ne!(me.is_error, Some(true), "{}", crate::common::text(&me));
    client.cancel().await.unwrap();
}

/// The environment an MCPB host gives the server: `mcp_config.env` with
/// `${user_config.KEY}` replaced by the user's answer or else the option's
/// default (booleans as `true`/`false`), as `getMcpConfigForManifest` in
/// `@anthropic-ai/mcpb` does. A reference with neither stays as it is there,
/// so this leaves it too (and the test below forbids it).
fn launch_environment(manifest: &Value, answers: &Value) -> BTreeMap<String, String> {
    let options = manifest["user_config"].as_object().unwrap();
    let value = |key: &str| -> Option<String> {
        let v = answers.get(key).or_else(|| options.get(key).and_then(|o| o.get("default")))?;
        Some(match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    manifest["server"]["mcp_config"]["env"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, template)| {
            let template = template.as_str().unwrap();
            let key = template.strip_prefix("${user_config.").and_then(|k| k.strip_suffix('}'));
            let resolved = key.and_then(value).unwrap_or_else(|| template.to_owned());
            (name.clone(), resolved)
        })
        .collect()
}

#[test]
fn the_bundles_user_config_maps_to_the_servers_settings() {
    let manifest = manifest();
    let settings = settings();
    let options = manifest["user_config"].as_object().unwrap();
    let env = manifest["server"]["mcp_config"]["env"].as_object().unwrap();
    let mut used = BTreeSet::new();
    for (name, template) in env {
        assert!(settings.contains(name), "mcp_config.env sets {name}, which the server does not read");
        let key = template.as_str().unwrap().strip_prefix("${user_config.").and_then(|k| k.strip_suffix('}'));
        let key = key.unwrap_or_else(|| panic!("{name} = {template}: not one user_config answer"));
        let option =
            options.get(key).unwrap_or_else(|| panic!("{name} refers to user_config.{key}, which is not defined"));
        // An optional answer left blank must still be replaced (an MCPB host leaves `${user_config.x}`
        // in place when there is neither an answer nor a default), and blank means unset to the server.
        assert!(option["required"] == true || option.get("default").is_some(), "user_config.{key} needs a default");
        used.insert(key);
    }
    assert_eq!(
        used,
        options.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        "every user_config option is passed on"
    );
    for key in ["api_key", "auth_token", "password"] {
        assert_eq!(options[key]["sensitive"], true, "user_config.{key} is a secret");
        assert_eq!(options[key]["type"], "string");
    }
    assert_eq!(env["DOCSPACE_BASE_URL"], "${user_config.base_url}");
    assert_eq!(options["base_url"]["required"], true);
    assert_eq!(manifest["server"]["type"], "binary");
    assert_eq!(manifest["server"]["mcp_config"]["command"], "${__dirname}/server/docspace-mcp");

    // With only the portal and a key answered, nothing is left unsubstituted; that the server takes
    // the blank answers for unset (not for a second credential method, or a toolset named "") is
    // shown live by the_bundles_tool_list_is_the_live_default_tools_list.
    let env = launch_environment(&manifest, &json!({"base_url": "https://portal.example", "api_key": "sk-x"}));
    assert!(env.values().all(|v| !v.contains("${")), "{env:?}");
}

/// The static binary in an empty root (or a `scratch` image) finds no CA
/// certificates. It still serves the sandbox and plain-HTTP portals; an
/// HTTPS portal's certificate is refused, and the tool error (and the log)
/// say how to add certificates. The certificates are read at the first
/// HTTPS handshake, not at start-up (`docspace_mcp_client::tls`). (Before
/// session 6, building the HTTP client failed and every tool call answered
/// "builder error"; `scripts/test-packaging` runs the real empty root.)
#[tokio::test]
async fn the_server_works_where_the_system_has_no_ca_certificates() {
    let dir = std::env::temp_dir().join(format!("docspace-mcp-no-certs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    // With SSL_CERT_FILE or SSL_CERT_DIR set, rustls-native-certs reads only them: an empty bundle
    // in an otherwise empty folder is no roots (both are set, as the test's own environment may set either).
    let envs = [("SSL_CERT_FILE", empty.to_str().unwrap()), ("SSL_CERT_DIR", dir.to_str().unwrap())];
    let cmd = Command::from(server_command(&["sandbox"], &envs));
    let (transport, _) = TokioChildProcess::builder(cmd).stderr(std::process::Stdio::null()).spawn().unwrap();
    let client = ().serve(transport).await.unwrap();
    let me = client.call_tool(rmcp::model::CallToolRequestParams::new("get_self_profile")).await.unwrap();
    assert_ne!(me.is_error, Some(true), "{}", crate::common::text(&me));
    client.cancel().await.unwrap();

    // An HTTPS portal on 127.0.0.1 (a self-signed certificate: any certificate will do, none can be verified).
    let portal = tls_listener().await;
    let base_url = format!("https://127.0.0.1:{portal}");
    let envs = [envs[0], envs[1], ("DOCSPACE_BASE_URL", base_url.as_str()), ("DOCSPACE_API_KEY", "sk-test")];
    let cmd = Command::from(server_command(&[], &envs));
    let (transport, stderr) = TokioChildProcess::builder(cmd).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let client = ().serve(transport).await.unwrap();
    let me = client.call_tool(rmcp::model::CallToolRequestParams::new("get_self_profile")).await.unwrap();
    let text = crate::common::text(&me);
    assert_eq!(me.is_error, Some(true), "{text}");
    assert!(text.contains("no CA certificates found") && text.contains("SSL_CERT_FILE"), "{text}");
    client.cancel().await.unwrap();
    let mut log = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stderr.unwrap(), &mut log).await.unwrap();
    assert!(log.contains("no CA certificates found") && log.contains("SSL_CERT_FILE"), "{log}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A TLS listener on 127.0.0.1 with a self-signed certificate that
/// completes handshakes and answers nothing; its port.
async fn tls_listener() -> u16 {
    use std::sync::Arc;
    use tokio_rustls::rustls;

    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(signing_key.serialize_der());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key.into())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(tcp).await;
            });
        }
    });
    port
}
