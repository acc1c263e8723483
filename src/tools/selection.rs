//! Which tools a server offers: toolsets, then enabled tools, then disabled
//! tools, then read-only mode (in that order, each applied to the result of
//! the previous one). No toolsets named means the default catalogue: the
//! curated toolsets of `[core]` in `openapi/tools.toml`; `all` means every
//! operation.

use std::collections::BTreeSet;

use crate::tools::catalogue::{self, ToolDef};

/// A selection names something that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Unknown toolset names.
    #[error("unknown toolset(s) in {var}: {unknown}. Valid toolsets: all, {valid}")]
    UnknownToolsets {
        /// The setting.
        var: &'static str,
        /// The unknown names.
        unknown: String,
        /// Every valid name.
        valid: String,
    },
    /// Unknown tool names.
    #[error("unknown tool(s) in {var}: {unknown}. {hint}")]
    UnknownTools {
        /// The setting.
        var: &'static str,
        /// The unknown names.
        unknown: String,
        /// Close matches and where to see every name.
        hint: String,
    },
    /// Nothing left to offer.
    #[error("the tool selection is empty: {toolsets}, {enabled} and {disabled} leave no tool")]
    Empty {
        /// The toolsets setting.
        toolsets: &'static str,
        /// The enabled-tools setting.
        enabled: &'static str,
        /// The disabled-tools setting.
        disabled: &'static str,
    },
}

/// What the three lists are called where they came from, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Labels {
    /// The toolsets list.
    pub toolsets: &'static str,
    /// The enabled-tools list.
    pub enabled: &'static str,
    /// The disabled-tools list.
    pub disabled: &'static str,
}

/// The environment variables (and flags) of the server's own selection.
pub(crate) const ENVIRONMENT: Labels =
    Labels { toolsets: "DOCSPACE_TOOLSETS", enabled: "DOCSPACE_ENABLED_TOOLS", disabled: "DOCSPACE_DISABLED_TOOLS" };

/// The query parameters (or `X-Mcp-*` headers) of an HTTP request's selection.
pub(crate) const REQUEST: Labels =
    Labels { toolsets: "toolsets", enabled: "enabled_tools", disabled: "disabled_tools" };

fn names(list: &[String]) -> BTreeSet<String> {
    list.iter().map(|t| t.trim().to_ascii_lowercase()).filter(|t| !t.is_empty()).collect()
}

/// Applies the selection rules to the catalogue; `read_only` keeps only tools
/// whose annotations say read-only (applied last, so nothing re-adds a write tool).
pub(crate) fn select(
    toolsets: &[String],
    enabled: &[String],
    disabled: &[String],
    read_only: bool,
) -> Result<Vec<&'static ToolDef>, Error> {
    select_from(ENVIRONMENT, toolsets, enabled, disabled, read_only)
}

/// [`select`], with errors naming the lists as `from` calls them.
pub(crate) fn select_from(
    from: Labels,
    toolsets: &[String],
    enabled: &[String],
    disabled: &[String],
    read_only: bool,
) -> Result<Vec<&'static ToolDef>, Error> {
    let wanted = names(toolsets);
    let unknown: Vec<&str> =
        wanted.iter().map(String::as_str).filter(|t| *t != "all" && catalogue::toolset(t).is_none()).collect();
    if !unknown.is_empty() {
        let valid: Vec<&str> = catalogue::TOOLSETS.iter().map(|t| t.name).collect();
        return Err(Error::UnknownToolsets {
            var: from.toolsets,
            unknown: unknown.join(", "),
            valid: valid.join(", "),
        });
    }
    let enabled = resolve_tools(&names(enabled), from.enabled)?;
    let disabled = resolve_tools(&names(disabled), from.disabled)?;
    let everything = wanted.contains("all");
    let default = wanted.is_empty();
    let selected: Vec<&'static ToolDef> = catalogue::TOOLS
        .iter()
        .filter(|t| {
            everything
                || (default && t.is_core())
                || t.toolsets().any(|ts| wanted.contains(ts))
                || enabled.contains(t.name)
        })
        .filter(|t| !disabled.contains(t.name))
        .filter(|t| !read_only || t.read_only)
        .collect();
    if selected.is_empty() {
        return Err(Error::Empty { toolsets: from.toolsets, enabled: from.enabled, disabled: from.disabled });
    }
    Ok(selected)
}

/// Tool names (aliases allowed) → canonical names.
fn resolve_tools(list: &BTreeSet<String>, var: &'static str) -> Result<BTreeSet<&'static str>, Error> {
    let mut out = BTreeSet::new();
    let mut unknown = Vec::new();
    for name in list {
        match catalogue::find(name) {
            Some(t) => {
                out.insert(t.name);
            }
            None => unknown.push(name.as_str()),
        }
    }
    if unknown.is_empty() {
        return Ok(out);
    }
    let mut close: Vec<&str> = unknown.iter().flat_map(|u| suggestions(u)).collect();
    close.dedup();
    let hint = if close.is_empty() {
        format!("`docspace-mcp tools list` shows all {} valid names.", catalogue::TOOLS.len())
    } else {
        format!(
            "Did you mean: {}? `docspace-mcp tools list` shows all {} valid names.",
            close.join(", "),
            catalogue::TOOLS.len()
        )
    };
    Err(Error::UnknownTools { var, unknown: unknown.join(", "), hint })
}

/// The closest tool names (edit distance at most a third of the length).
pub(crate) fn suggestions(name: &str) -> Vec<&'static str> {
    let mut scored: Vec<(usize, &'static str)> = catalogue::TOOLS
        .iter()
        .map(|t| (distance(name, t.name), t.name))
        .filter(|(d, _)| *d <= name.len().div_ceil(3))
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, n)| n).collect()
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut row = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let best = (prev.get(j + 1).copied().unwrap_or(usize::MAX).saturating_add(1))
                .min(row.get(j).copied().unwrap_or(usize::MAX).saturating_add(1))
                .min(prev.get(j).copied().unwrap_or(usize::MAX).saturating_add(cost));
            row.push(best);
        }
        prev = row;
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn toolsets_then_enabled_then_disabled() {
        assert_eq!(select(&v(&["all"]), &[], &[], false).unwrap().len(), catalogue::TOOLS.len());
        let default = select(&[], &[], &[], false).unwrap();
        let core: Vec<&str> = default.iter().map(|t| t.name).collect();
        assert_eq!(core, catalogue::CORE, "no toolsets = the curated default");
        assert_eq!(select(&v(&["files", "folders", "rooms", "people"]), &[], &[], false).unwrap(), default);
        let rooms = select(&v(&["rooms"]), &[], &[], false).unwrap();
        assert!(rooms.iter().all(|t| t.toolsets().any(|ts| ts == "rooms")));
        let generated = select(&v(&["rooms_api"]), &[], &[], false).unwrap();
        assert!(generated.len() > rooms.len() && generated.iter().all(|t| t.toolset == "rooms_api"));
        let more = select(&v(&["rooms"]), &v(&["get_file_info"]), &v(&["create_room"]), false).unwrap();
        assert!(more.iter().any(|t| t.name == "get_file_info"));
        assert!(!more.iter().any(|t| t.name == "create_room"));
        assert_eq!(more.len(), rooms.len());
    }

    #[test]
    fn unknown_names_are_errors_that_help() {
        let e = select(&v(&["romos"]), &[], &[], false).unwrap_err().to_string();
        assert!(e.contains("DOCSPACE_TOOLSETS") && e.contains("romos") && e.contains("rooms"), "{e}");
        let e = select(&[], &v(&["get_file_inf"]), &[], false).unwrap_err().to_string();
        assert!(e.contains("DOCSPACE_ENABLED_TOOLS") && e.contains("Did you mean: get_file_info"), "{e}");
        let e = select(&[], &[], &v(&["zzzzzzzzzzzzzzzzzzzzzz"]), false).unwrap_err().to_string();
        assert!(e.contains("DOCSPACE_DISABLED_TOOLS") && e.contains("tools list"), "{e}");
        let only = select(&v(&["rooms"]), &[], &[], false).unwrap();
        let all: Vec<String> = only.iter().map(|t| t.name.to_owned()).collect();
        let empty = Error::Empty {
            toolsets: "DOCSPACE_TOOLSETS",
            enabled: "DOCSPACE_ENABLED_TOOLS",
            disabled: "DOCSPACE_DISABLED_TOOLS",
        };
        assert_eq!(select(&v(&["rooms"]), &[], &all, false), Err(empty));
        let e = select_from(REQUEST, &v(&["romos"]), &[], &[], false).unwrap_err().to_string();
        assert!(e.contains("unknown toolset(s) in toolsets: romos"), "{e}");
        let ro = select(&[], &v(&["create_room"]), &[], true).unwrap();
        assert!(ro.iter().all(|t| t.read_only) && !ro.is_empty());
    }
}
