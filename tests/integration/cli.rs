//! `docspace-mcp tools …`: in-process for the output, and once as a spawned
//! binary for `--help` and exit codes.

use std::process::Command;

use clap::Parser;
use docspace_mcp::Cli;
use serde_json::Value;

fn run(args: &[&str]) -> Result<String, docspace_mcp::ToolsError> {
    let cli = Cli::try_parse_from(std::iter::once("docspace-mcp").chain(args.iter().copied())).unwrap();
    let Some(docspace_mcp::Command::Tools(command)) = cli.command else { panic!("not a tools command") };
    let mut out = Vec::new();
    docspace_mcp::run_tools(command, &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

#[test]
fn the_command_line_definition_is_consistent() {
    use clap::CommandFactory;
    Cli::command().debug_assert();
}

#[test]
fn list_filters_by_toolset() {
    let text = run(&["tools", "list", "--toolsets", "rooms"]).unwrap();
    assert!(text.starts_with("NAME"));
    assert!(text.contains("create_room"));
    assert!(!text.contains("get_file_info"));
    let last = text.lines().last().unwrap();
    assert!(last.contains(" tools; ") && last.contains("tokens"), "{last}");
    let default = run(&["tools", "list"]).unwrap();
    assert!(default.contains("get_folder_content") && default.contains("get_all_people"));
    assert!(!default.contains("get_backup_history"), "the default is the curated catalogue");
    let json: Vec<Value> =
        serde_json::from_str(&run(&["tools", "list", "--toolsets", "rooms,files_files", "--json"]).unwrap()).unwrap();
    assert!(json.iter().any(|t| t["name"] == "create_room") && json.iter().any(|t| t["name"] == "get_file_info"));
    assert!(json.iter().all(|t| t["inputSchema"]["type"] == "object"));
    let all: Vec<Value> =
        serde_json::from_str(&run(&["tools", "list", "--toolsets", "all", "--json"]).unwrap()).unwrap();
    assert_eq!(all.len(), 597);
}

#[test]
fn unknown_toolsets_list_the_valid_ones() {
    let e = run(&["tools", "list", "--toolsets", "rooms,nope"]).unwrap_err().to_string();
    assert!(e.contains("unknown toolset(s)") && e.contains("nope") && e.contains("files_files"), "{e}");
}

#[test]
fn show_prints_the_definition() {
    let def: Value = serde_json::from_str(&run(&["tools", "show", "get_file_info"]).unwrap()).unwrap();
    assert_eq!(def["name"], "get_file_info");
    assert_eq!(def["annotations"]["readOnlyHint"], true);
    assert_eq!(def["x-docspace"]["operationId"], "getFileInfo");
    assert_eq!(def["x-docspace"]["path"], "/api/2.0/files/file/{fileId}");
    let e = run(&["tools", "show", "get_everything"]).unwrap_err().to_string();
    assert!(e.contains("no tool is named `get_everything`"), "{e}");
}

#[test]
fn info_reports_version_and_normalisation() {
    let text = run(&["tools", "info"]).unwrap();
    assert!(text.contains("DocSpace API version: 3.7.0"));
    assert!(text.contains("Catalogue: 597 tools (593 operations, 4 workflows)"), "{text}");
    assert!(text.contains("multipart-body"));
}

#[test]
fn toolsets_lists_counts() {
    let json: Vec<Value> = serde_json::from_str(&run(&["tools", "toolsets", "--json"]).unwrap()).unwrap();
    let generated: u64 = json.iter().filter(|t| t["curated"] == false).map(|t| t["tools"].as_u64().unwrap()).sum();
    assert_eq!(generated, 593, "every operation is in exactly one tag-derived toolset");
    let default: Vec<&str> =
        json.iter().filter(|t| t["default"] == true).map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(default, ["files", "folders", "people", "rooms"]);
    let text = run(&["tools", "toolsets"]).unwrap();
    assert!(text.lines().any(|l| l.starts_with("rooms ") && l.contains("[default]")), "{text}");
}

#[test]
fn the_binary_explains_itself_and_fails_cleanly() {
    let bin = env!("CARGO_BIN_EXE_docspace-mcp");
    let help = Command::new(bin).args(["tools", "list", "--help"]).output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("--toolsets") && text.contains("DOCSPACE_TOOLSETS"), "{text}");
    let bad = Command::new(bin).args(["tools", "show", "nope"]).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no tool is named `nope`"));
    assert!(bad.stdout.is_empty());
}

/// docs/configuration.md is generated from the command line's definitions;
/// `DOCSPACE_MCP_UPDATE_DOCS=1` rewrites it.
#[test]
fn the_configuration_reference_matches_the_command_line() {
    let path = crate::common::root().join("docs/configuration.md");
    let generated = docspace_mcp::configuration_reference();
    if std::env::var_os("DOCSPACE_MCP_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/configuration.md is not what the command line says; run \
         DOCSPACE_MCP_UPDATE_DOCS=1 cargo test --test integration configuration_reference and review the diff"
    );
    // Every environment variable the server reads is in it.
    for var in [
        "DOCSPACE_BASE_URL",
        "DOCSPACE_API_KEY",
        "DOCSPACE_SERVER_RATE_LIMITS_OAUTH_TOKEN_WINDOW",
        "DOCSPACE_SANDBOX_PORT",
    ] {
        assert!(generated.contains(&format!("`{var}`")), "{var}");
    }
}

/// Issue 15, item 6: the size of `all` is one figure wherever it is written
/// (`--help` said ~450,000 tokens, README and the start-up warning ~390,000).
#[test]
fn the_size_of_all_is_one_figure_everywhere() {
    use clap::CommandFactory;
    let tokens = docspace_mcp::catalogue::TOOLS.iter().map(|t| t.mcp_size()).sum::<usize>() / 4;
    let help = docspace_mcp::Cli::command()
        .get_arguments()
        .find(|a| a.get_id() == "toolsets")
        .and_then(|a| a.get_long_help().or(a.get_help()).map(ToString::to_string))
        .unwrap();
    let root = crate::common::root();
    let docs = ["docs/catalogue.md", "docs/configuration.md", "README.md"]
        .map(|p| (p, std::fs::read_to_string(root.join(p)).unwrap()));
    let mut seen = 0;
    for (place, text) in std::iter::once(("--help", help.as_str())).chain(docs.iter().map(|(p, t)| (*p, t.as_str()))) {
        // Every "~N tokens" of six digits or more is the size of `all`.
        for (i, _) in text.match_indices(" tokens") {
            let before = &text[..i];
            let digits: String = before.chars().rev().take_while(|c| c.is_ascii_digit() || *c == ',').collect();
            let n: usize = digits.chars().rev().filter(char::is_ascii_digit).collect::<String>().parse().unwrap_or(0);
            if n >= 100_000 {
                seen += 1;
                let off = n.abs_diff(tokens) as f64 / tokens as f64;
                assert!(off < 0.05, "{place} says ~{n} tokens for `all`; the catalogue has ~{tokens}");
            }
        }
    }
    assert!(seen >= 2, "the figure is written in --help and docs/catalogue.md");
}
