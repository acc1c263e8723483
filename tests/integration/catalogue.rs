//! The catalogue's review surface: one insta snapshot per tool
//! (`tests/snapshots/tools/<name>.snap`) plus an index. A changed, missing or
//! stale snapshot fails; `cargo insta review` accepts changes after reading
//! them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use docspace_mcp::catalogue::{self, TOOLS, ToolDef};

use crate::common::root;

fn snapshot_dir() -> std::path::PathBuf {
    root().join("tests/snapshots/tools")
}

#[test]
fn one_snapshot_per_tool() {
    let mut failed = Vec::new();
    for tool in TOOLS {
        let outcome = std::panic::catch_unwind(|| {
            insta::with_settings!({
                snapshot_path => snapshot_dir(),
                prepend_module_to_snapshot => false,
                sort_maps => true,
                omit_expression => true,
                description => if tool.workflow {
                    format!("workflow tool ([workflows.{}] in openapi/tools.toml)", tool.name)
                } else {
                    format!("{} {} ({})", tool.method, tool.path, tool.operation_id)
                },
            }, {
                insta::assert_json_snapshot!(tool.name, tool.to_mcp());
            });
        });
        if outcome.is_err() {
            failed.push(tool.name);
        }
    }
    assert!(
        failed.is_empty(),
        "{} tool snapshot(s) differ or are missing: {}.\nReview with `cargo insta review` (INSTA_UPDATE=no keeps CI from writing).",
        failed.len(),
        failed.join(", ")
    );
}

#[test]
fn no_stale_snapshots() {
    let names: BTreeSet<&str> = TOOLS.iter().map(|t| t.name).collect();
    let stale: Vec<String> = std::fs::read_dir(snapshot_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".snap").map(str::to_owned))
        .filter(|n| !names.contains(n.as_str()))
        .collect();
    assert!(stale.is_empty(), "snapshots of tools that no longer exist (delete them): {stale:?}");
}

#[test]
fn index() {
    let mut out = String::new();
    let mut per_toolset: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut total = 0;
    writeln!(out, "API {}: {} tools, {} toolsets", catalogue::API_VERSION, TOOLS.len(), catalogue::TOOLSETS.len())
        .unwrap();
    writeln!(out, "name | toolset | hints | input bytes | output bytes | tool bytes").unwrap();
    for t in TOOLS {
        let size = t.mcp_size();
        total += size;
        for ts in t.toolsets() {
            let entry = per_toolset.entry(ts).or_default();
            entry.0 += 1;
            entry.1 += size;
        }
        writeln!(
            out,
            "{} | {} | {} | {} | {} | {}",
            t.name,
            t.toolset,
            t.hints(),
            serde_json::Value::Object(t.input_schema()).to_string().len(),
            t.output_schema_text().map_or(0, str::len),
            size
        )
        .unwrap();
    }
    writeln!(out, "\ntoolset | tools | bytes | ~tokens (tools of several toolsets count in each)").unwrap();
    for (ts, (n, bytes)) in &per_toolset {
        let curated = if catalogue::CORE_TOOLSETS.contains(ts) { " (default)" } else { "" };
        writeln!(out, "{ts}{curated} | {n} | {bytes} | {}", bytes / 4).unwrap();
    }
    let default: Vec<&ToolDef> = TOOLS.iter().filter(|t| t.is_core()).collect();
    let default_bytes: usize = default.iter().map(|t| t.mcp_size()).sum();
    writeln!(
        out,
        "\ndefault catalogue ({}) | {} | {default_bytes} | {}",
        catalogue::CORE_TOOLSETS.join(", "),
        default.len(),
        default_bytes / 4
    )
    .unwrap();
    writeln!(out, "\ntotal | {} | {total} | {}", TOOLS.len(), total / 4).unwrap();
    writeln!(out, "\nnormalisation:\n{}", catalogue::NORMALISATION).unwrap();
    insta::with_settings!({ snapshot_path => root().join("tests/snapshots"), prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("catalogue_index", out);
    });
}

#[test]
fn every_operation_is_a_tool() {
    assert_eq!(TOOLS.iter().filter(|t| !t.workflow).count(), 593);
    assert!(catalogue::EXCLUDED.is_empty());
    let mut ids: Vec<&str> = TOOLS.iter().filter(|t| !t.workflow).map(|t| t.operation_id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 593);
}

#[test]
fn lookups_use_names_and_aliases() {
    assert_eq!(catalogue::find("get_file_info").map(|t| t.operation_id), Some("getFileInfo"));
    assert!(catalogue::find("no_such_tool").is_none());
    for t in TOOLS {
        assert_eq!(catalogue::find(t.name).map(|f| f.name), Some(t.name));
        for a in t.aliases {
            assert_eq!(catalogue::find(a).map(|f| f.name), Some(t.name));
        }
    }
}

#[test]
fn every_client_operation_is_dispatchable_or_multipart() {
    // The catalogue and the client come from the same description: a tool
    // whose operation the client cannot call would be a dead tool.
    let multipart: BTreeSet<&str> = docspace_mcp_client::MULTIPART_OPERATIONS.iter().map(|m| m.operation_id).collect();
    for t in TOOLS {
        assert_eq!(t.multipart, multipart.contains(t.operation_id), "{}", t.name);
    }
    assert_eq!(multipart.len(), 12);
}

#[test]
fn every_workflow_tool_has_a_handler() {
    let declared: BTreeSet<&str> = TOOLS.iter().filter(|t| t.workflow).map(|t| t.name).collect();
    let implemented: BTreeSet<&str> = docspace_mcp::WORKFLOW_TOOLS.into_iter().collect();
    assert_eq!(declared, implemented, "openapi/tools.toml [workflows.*] and src/tools/workflows.rs must agree");
    assert!(TOOLS.iter().filter(|t| t.workflow).all(|t| t.operation_id.is_empty()));
}

/// Each tool's `tools/list` entry is prepared at build time as JSON text
/// (`ToolDef::mcp`, issue 18 item 7); it must say exactly what the typed
/// `Tool` the runtime builds from the catalogue's parts serialises to, for
/// every tool (the listing tools' prepared entry is that serialisation).
#[test]
fn every_prepared_definition_is_the_typed_tool() {
    for t in catalogue::TOOLS {
        let prepared: serde_json::Value = serde_json::from_str(&t.listed_json()).unwrap();
        assert_eq!(prepared, t.to_mcp(), "{}", t.name);
        let input: serde_json::Value = serde_json::from_str(t.input_schema_text()).unwrap();
        assert_eq!(prepared["inputSchema"]["type"], "object", "{}", t.name);
        assert!(input.is_object(), "{}", t.name);
        if let Some(output) = t.output_schema_text() {
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(output).unwrap(),
                prepared["outputSchema"],
                "{}",
                t.name
            );
        }
    }
}
