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
    assert_eq!(all.len(), 604);
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
    assert!(text.contains("Catalogue: 604 tools (593 operations, 11 workflows)"), "{text}");
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

/// A description named by `$var` (as .ci/run and scripts/test set it), else the one in ../shared.
fn description(var: &str, file: &str) -> std::path::PathBuf {
    std::env::var_os(var)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| crate::common::root().join("../shared/openapi").join(file))
}

/// The dump of the built catalogue and the catalogue `tools diff` builds from
/// the same description with the same overlay are the same: no change at all.
/// (So a released binary's dump compares with a description on equal terms.)
#[test]
fn the_built_catalogue_dumped_equals_the_one_built_from_its_description() {
    let dir = tempfile_dir("dump");
    let dump = dir.join("dump.json");
    std::fs::write(&dump, run(&["tools", "dump"]).unwrap()).unwrap();
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&dump).unwrap()).unwrap();
    assert_eq!(json["format"], "docspace-mcp-catalogue/1");
    assert_eq!(json["tools"].as_array().unwrap().len(), 604);
    assert!(json["tools"][0]["x-docspace"]["core"].is_boolean());
    let spec = description("DOCSPACE_OPENAPI", "docspace-3.7.0.yaml");
    let report: Value = serde_json::from_str(
        &run(&[
            "tools",
            "diff",
            dump.to_str().unwrap(),
            spec.to_str().unwrap(),
            "--format",
            "json",
            "--fail-on",
            "any",
        ])
        .unwrap(),
    )
    .unwrap();
    assert_eq!(report["changes"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["new"]["api_version"], "3.7.0");
}

/// `tools diff` on the real 3.5.0 → 3.7.0 change, as CI would run it.
#[test]
fn diff_reports_the_real_change_and_fails_ci_on_breaking_changes() {
    let bin = env!("CARGO_BIN_EXE_docspace-mcp");
    let dir = tempfile_dir("diff");
    let (old, new) = (
        description("DOCSPACE_OPENAPI_3_5", "docspace-3.5.0.yaml"),
        description("DOCSPACE_OPENAPI", "docspace-3.7.0.yaml"),
    );
    let (md, json) = (dir.join("report.md"), dir.join("report.json"));
    let out = Command::new(bin)
        .args(["tools", "diff"])
        .args([&old, &new])
        .arg("--markdown-out")
        .arg(&md)
        .arg("--json-out")
        .arg(&json)
        .args(["--fail-on", "breaking"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "breaking changes fail --fail-on breaking");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("breaking changes") && stderr.contains("(--fail-on)"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(" breaking and ") && stdout.contains("tools added"), "{stdout}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(markdown.starts_with("# MCP tool changes: DocSpace API 3.5.0 → 3.7.0"), "{markdown}");
    // Entries checked by hand against the two descriptions (docs/updating.md quotes them).
    let has = |tool: &str, at: &str, kind: &str, impact: &str| {
        report["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["tool"] == tool && c["at"] == at && c["kind"] == kind && c["impact"] == impact)
    };
    assert!(has("add_group", "body.groupName", "newly-required", "breaking"));
    assert!(has("restore_file_version", "", "method-changed", "breaking"));
    assert!(has("get_checkout_setup_url", "", "path-changed", "breaking"));
    assert!(has("get_folder_recent", "", "tool-removed", "breaking"));
    let renamed = report["renamed"].as_array().unwrap();
    assert!(renamed.iter().any(|r| r["from"] == "star_user_typet_update" && r["to"] == "start_user_type_update"));
    // Without --fail-on the same report is not a failure; JSON on stdout is the same report.
    let plain =
        Command::new(bin).args(["tools", "diff"]).args([&old, &new]).args(["--format", "json"]).output().unwrap();
    assert!(plain.status.success());
    let again: Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert_eq!(again["changes"], report["changes"], "stable: the same inputs give the same report");
    // Help names the command.
    let help = Command::new(bin).args(["tools", "diff", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("--fail-on") && help.contains("--markdown-out") && help.contains("catalogue dumps"),
        "{help}"
    );
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("docspace-mcp-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A repository root for `scripts/update-spec` in a temporary directory:
/// `openapi/tools.toml` copied, `openapi/spec.lock` pinning `pinned`.
fn update_root(name: &str, pinned: &std::path::Path, version: &str) -> std::path::PathBuf {
    let root = tempfile_dir(name);
    std::fs::create_dir_all(root.join("openapi")).unwrap();
    std::fs::copy(crate::common::root().join("openapi/tools.toml"), root.join("openapi/tools.toml")).unwrap();
    let lock = format!(
        "# pinned\nversion = \"{version}\"\nurl = \"https://example.invalid/{version}.yaml\"\nsha256 = \"{}\"\n",
        sha256(pinned)
    );
    std::fs::write(root.join("openapi/spec.lock"), lock).unwrap();
    root
}

fn sha256(path: &std::path::Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_owned()
}

fn update_spec(root: &std::path::Path, args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new("bash")
        .arg(crate::common::root().join("scripts/update-spec"))
        .args(args)
        .env("DOCSPACE_MCP_ROOT", root)
        .env("DOCSPACE_MCP_BIN", env!("CARGO_BIN_EXE_docspace-mcp"))
        .env_remove("DOCSPACE_OPENAPI_OLD")
        .output()
        .unwrap()
}

/// The update workflow on the two real descriptions, up to the regeneration
/// (which is cargo's, and would build this repository inside its own test).
#[test]
fn update_spec_pins_a_new_release_and_writes_its_report() {
    let (v35, v37) = (
        description("DOCSPACE_OPENAPI_3_5", "docspace-3.5.0.yaml"),
        description("DOCSPACE_OPENAPI", "docspace-3.7.0.yaml"),
    );
    let os = |s: &str| std::ffi::OsString::from(s);
    // 3.5.0 → 3.7.0: tools.toml (curated for 3.7.0) applies; the release is pinned and the report written.
    let root = update_root("update-forward", &v35, "3.5.0");
    let url = "https://example.invalid/docspace-3.7.0.yaml";
    let out = update_spec(
        &root,
        &[
            v37.as_os_str(),
            &os("--url"),
            &os(url),
            &os("--sha256"),
            &os(&sha256(&v37)),
            &os("--old"),
            v35.as_os_str(),
            &os("--no-regenerate"),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}\n{}", String::from_utf8_lossy(&out.stdout));
    let lock = std::fs::read_to_string(root.join("openapi/spec.lock")).unwrap();
    assert!(lock.contains("version = \"3.7.0\"") && lock.contains(&format!("url = \"{url}\"")), "{lock}");
    assert!(lock.contains(&format!("sha256 = \"{}\"", sha256(&v37))) && lock.starts_with("# pinned"), "{lock}");
    assert_eq!(sha256(&root.join("openapi/docspace.yaml")), sha256(&v37));
    let report = std::fs::read_to_string(root.join("openapi/changes/3.5.0-to-3.7.0.md")).unwrap();
    assert!(report.starts_with("# MCP tool changes: DocSpace API 3.5.0 → 3.7.0"), "{report}");
    assert!(report.contains("| `tools.toml` entries that no longer apply | 0 |"), "{report}");

    // 3.7.0 → 3.5.0: entries of tools.toml no longer apply; the script stops (status 3) before pinning.
    let root = update_root("update-backward", &v37, "3.7.0");
    let before = std::fs::read_to_string(root.join("openapi/spec.lock")).unwrap();
    let out = update_spec(
        &root,
        &[v35.as_os_str(), &os("--url"), &os(url), &os("--old"), v37.as_os_str(), &os("--no-regenerate")],
    );
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("entries no longer apply to 3.5.0"));
    assert_eq!(std::fs::read_to_string(root.join("openapi/spec.lock")).unwrap(), before, "nothing pinned");
    assert!(!root.join("openapi/docspace.yaml").exists());
    let report = std::fs::read_to_string(root.join("openapi/changes/3.7.0-to-3.5.0.md")).unwrap();
    assert!(report.contains("- [tools.getRoomsFolder] hidden `subjectOwnerId`: hides parameter"), "{report}");

    // A checksum that does not match changes nothing.
    let out = update_spec(&root, &[v35.as_os_str(), &os("--url"), &os(url), &os("--sha256"), &os(&"0".repeat(64))]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sha256 mismatch"));
    assert_eq!(std::fs::read_to_string(root.join("openapi/spec.lock")).unwrap(), before);
    // A file needs the URL it is published at.
    let out = update_spec(&root, &[v35.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a file needs --url"));
}

/// `tools responses` on the pinned description.
#[test]
fn responses_lists_what_the_client_does_not_decode_as_declared() {
    let spec = description("DOCSPACE_OPENAPI", "docspace-3.7.0.yaml");
    let text = run(&["tools", "responses", spec.to_str().unwrap()]).unwrap();
    assert!(text.starts_with("# Response fidelity: DocSpace API 3.7.0"), "{text}");
    assert!(text.contains("| `getFileInfo` | `GET /api/2.0/files/file/{fileId}` | `shape-rewritten` |"), "{text}");
    let json: Value =
        serde_json::from_str(&run(&["tools", "responses", spec.to_str().unwrap(), "--format", "json"]).unwrap())
            .unwrap();
    assert_eq!(json["operations"], 593);
}
