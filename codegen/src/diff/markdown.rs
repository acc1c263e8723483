//! The report as Markdown for a pull-request review: the totals, then what
//! to act on (the curated layer, the breaking changes), then the lists, and
//! the compatible changes folded away.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{Change, Impact, Report, ToolRef};

/// At most this many search terms are named per list.
const MAX_TERMS: usize = 40;

fn version(v: Option<&String>) -> String {
    v.map_or_else(|| "?".to_owned(), |v| v.clone())
}

/// Table cells: no pipes or line breaks.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn toolsets(t: &ToolRef) -> String {
    match &t.toolsets {
        Some(ts) => ts.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", "),
        None => "?".into(),
    }
}

fn by_tool<'a>(changes: impl Iterator<Item = &'a Change>) -> BTreeMap<&'a str, Vec<&'a Change>> {
    let mut out: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
    for c in changes {
        out.entry(c.tool.as_str()).or_default().push(c);
    }
    out
}

fn change_line(out: &mut String, c: &Change) {
    let at = if c.at.is_empty() { String::new() } else { format!(" `{}`", c.at) };
    let _ = writeln!(out, "- **{}**{at}: {}", c.kind, c.detail.replace('\n', " "));
}

/// Renders the report.
pub(super) fn render(r: &Report) -> String {
    let mut out = String::new();
    let t = &r.totals;
    let _ = writeln!(
        out,
        "# MCP tool changes: DocSpace API {} → {}\n",
        version(r.old.api_version.as_ref()),
        version(r.new.api_version.as_ref())
    );
    let _ = writeln!(out, "- old: `{}` ({} tools)", r.old.source, r.old.tools);
    let _ = writeln!(out, "- new: `{}` ({} tools)\n", r.new.source, r.new.tools);
    let kept_names = r.renamed.iter().filter(|x| x.old_name_works).count();
    let core_breaking = r.curated.core_affected.iter().filter(|c| c.breaking > 0).count();
    let overlay = match &r.curated.no_longer_apply {
        Some(v) => v.len().to_string(),
        None => "not known (a side is a catalogue dump)".into(),
    };
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| **breaking changes** | **{}** in {} tools |", t.breaking, t.tools_with_breaking);
    let _ = writeln!(
        out,
        "| compatible changes | {} ({} tools with only compatible changes) |",
        t.compatible, t.tools_with_compatible_only
    );
    let _ = writeln!(out, "| tools added | {} |", t.added);
    let _ = writeln!(out, "| tools removed | {} |", t.removed);
    let _ = writeln!(out, "| tools renamed | {} ({kept_names} keep the old name as an alias) |", t.renamed);
    let _ = writeln!(out, "| tools moved between toolsets | {} |", t.moved);
    let _ = writeln!(
        out,
        "| default-catalogue tools affected | {} ({core_breaking} with breaking changes) |",
        t.core_affected
    );
    let _ = writeln!(out, "| `tools.toml` entries that no longer apply | {overlay} |");
    let s = &r.search;
    let _ = writeln!(
        out,
        "| search index (dynamic mode) | {} → {} tools; {} re-indexed; {} terms gone, {} new |\n",
        s.documents.0,
        s.documents.1,
        s.reindexed,
        s.terms_removed.len(),
        s.terms_added.len()
    );

    out.push_str("## Curated layer\n\n### `openapi/tools.toml` entries that no longer apply\n\n");
    match &r.curated.no_longer_apply {
        None => out.push_str("Not known: a side is a catalogue dump, not a description.\n"),
        Some(v) if v.is_empty() => out.push_str("None: every entry that applied still applies.\n"),
        Some(v) => {
            out.push_str(
                "The build stops on these until they are fixed; the comparison below leaves them out (the tools fall \
                 back to their generated form).\n\n",
            );
            for p in v {
                let _ = writeln!(out, "- {}: {}", p.entry, p.why.replace('\n', " "));
            }
        }
    }
    if let Some(v) = r.curated.still_failing.as_ref().filter(|v| !v.is_empty()) {
        out.push_str("\nEntries that apply to neither side:\n\n");
        for p in v {
            let _ = writeln!(out, "- {}: {}", p.entry, p.why.replace('\n', " "));
        }
    }
    if let Some(v) = r.curated.now_apply.as_ref().filter(|v| !v.is_empty()) {
        out.push_str("\nEntries that did not apply to the old side and apply to the new one:\n\n");
        for p in v {
            let _ = writeln!(out, "- {} (was: {})", p.entry, p.why.replace('\n', " "));
        }
    }
    out.push_str("\n### Default catalogue\n\n");
    if r.curated.core_affected.is_empty() {
        out.push_str("No tool of the default catalogue changes.\n");
    } else {
        out.push_str("| tool | breaking | compatible |\n|---|---:|---:|\n");
        for c in &r.curated.core_affected {
            let _ = writeln!(out, "| `{}` | {} | {} |", c.tool, c.breaking, c.compatible);
        }
    }
    out.push_str("\n### Dynamic mode: the `search_tools` index\n\n");
    let _ = writeln!(out, "{} tools kept are indexed differently (their ranking for a query may move).", s.reindexed);
    for (what, terms) in [("Terms no tool is found by any more", &s.terms_removed), ("New terms", &s.terms_added)] {
        if terms.is_empty() {
            continue;
        }
        let shown: Vec<String> = terms.iter().take(MAX_TERMS).map(|t| format!("`{t}`")).collect();
        let more =
            if terms.len() > MAX_TERMS { format!(" … and {} more", terms.len() - MAX_TERMS) } else { String::new() };
        let _ = writeln!(out, "{what} ({}): {}{more}.", terms.len(), shown.join(", "));
    }

    out.push_str("\n## Breaking changes\n\n");
    let breaking = by_tool(r.changes.iter().filter(|c| c.impact == Impact::Breaking));
    if breaking.is_empty() {
        out.push_str("None.\n");
    }
    for (tool, changes) in &breaking {
        let _ = writeln!(out, "### `{tool}`\n");
        for c in changes {
            change_line(&mut out, c);
        }
        out.push('\n');
    }

    if !r.removed.is_empty() {
        out.push_str("\n## Tools removed\n\n| tool | operation | toolsets |\n|---|---|---|\n");
        for t in &r.removed {
            let _ = writeln!(out, "| `{}` | `{}` | {} |", t.name, cell(&t.operation), toolsets(t));
        }
    }
    if !r.renamed.is_empty() {
        out.push_str(
            "\n## Tools renamed\n\n| old name | new name | recognised by | old name still works |\n|---|---|---|---|\n",
        );
        for x in &r.renamed {
            let ids = x.operation_id.as_ref().map(|(a, b)| format!(" (`{a}` → `{b}`)")).unwrap_or_default();
            let works = if x.old_name_works { "yes (alias)" } else { "**no**" };
            let _ = writeln!(out, "| `{}` | `{}` | {}{ids} | {works} |", x.from, x.to, x.how);
        }
    }
    if !r.moved.is_empty() {
        out.push_str("\n## Tools moved between toolsets\n\n| tool | from | to |\n|---|---|---|\n");
        for m in &r.moved {
            let list = |v: &[String]| v.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ");
            let _ = writeln!(out, "| `{}` | {} | {} |", m.tool, list(&m.from), list(&m.to));
        }
    }
    if !r.added.is_empty() {
        out.push_str("\n## Tools added\n\n| tool | operation | toolsets |\n|---|---|---|\n");
        for t in &r.added {
            let _ = writeln!(out, "| `{}` | `{}` | {} |", t.name, cell(&t.operation), toolsets(t));
        }
    }

    let compatible = by_tool(r.changes.iter().filter(|c| c.impact == Impact::Compatible && c.kind != "tool-added"));
    if !compatible.is_empty() {
        let n: usize = compatible.values().map(Vec::len).sum();
        let _ = writeln!(
            out,
            "\n## Compatible changes\n\n<details><summary>{n} compatible changes in {} tools (tools added aside)</summary>\n",
            compatible.len()
        );
        for (tool, changes) in &compatible {
            let _ = writeln!(out, "### `{tool}`\n");
            for c in changes {
                change_line(&mut out, c);
            }
            out.push('\n');
        }
        out.push_str("</details>\n");
    }
    out
}
