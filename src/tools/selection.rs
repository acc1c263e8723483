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
    /// Whether unknown names get "did you mean" suggestions: for the
    /// operator's own settings, never for a request (an anonymous caller
    /// must not be able to make the server compare long names against every
    /// tool; the message says where the valid names are instead).
    pub suggest: bool,
}

/// The environment variables (and flags) of the server's own selection.
pub(crate) const ENVIRONMENT: Labels = Labels {
    toolsets: "DOCSPACE_TOOLSETS",
    enabled: "DOCSPACE_ENABLED_TOOLS",
    disabled: "DOCSPACE_DISABLED_TOOLS",
    suggest: true,
};

/// The query parameters (or `X-Mcp-*` headers) of an HTTP request's selection.
pub(crate) const REQUEST: Labels =
    Labels { toolsets: "toolsets", enabled: "enabled_tools", disabled: "disabled_tools", suggest: false };

/// How many unknown names a message repeats (the rest are counted).
const ECHOED: usize = 5;

/// The unknown names for a message: the first few, each cut to a tool name's
/// longest (64 characters), and how many more there were.
fn echo(unknown: &[&str]) -> String {
    let mut shown: Vec<String> = unknown.iter().take(ECHOED).map(|u| u.chars().take(64).collect()).collect();
    if unknown.len() > ECHOED {
        shown.push(format!("and {} more", unknown.len() - ECHOED));
    }
    shown.join(", ")
}

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
        return Err(Error::UnknownToolsets { var: from.toolsets, unknown: echo(&unknown), valid: valid.join(", ") });
    }
    let enabled = resolve_tools(&names(enabled), from.enabled, from.suggest)?;
    let disabled = resolve_tools(&names(disabled), from.disabled, from.suggest)?;
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
fn resolve_tools(list: &BTreeSet<String>, var: &'static str, suggest: bool) -> Result<BTreeSet<&'static str>, Error> {
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
    if !suggest {
        let hint = "tools/list shows the tools this server offers (`docspace-mcp tools list`, all of them).".to_owned();
        return Err(Error::UnknownTools { var, unknown: echo(&unknown), hint });
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

/// Levenshtein distance between two names.
pub(crate) fn distance(a: &str, b: &str) -> usize {
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
        // A request's unknown names get no suggestions (no edit-distance work
        // for an anonymous caller), and only a few of them are repeated.
        let e = select_from(REQUEST, &[], &v(&["get_file_inf"]), &[], false).unwrap_err().to_string();
        assert!(e.contains("enabled_tools: get_file_inf") && !e.contains("Did you mean"), "{e}");
        assert!(e.contains("tools/list"), "{e}");
        let many: Vec<String> = (0..40).map(|i| format!("{}{i}", "x".repeat(100))).collect();
        let e = select_from(REQUEST, &[], &[], &many, false).unwrap_err().to_string();
        assert!(e.contains("and 35 more") && e.len() < 600, "{e}");
        let ro = select(&[], &v(&["create_room"]), &[], true).unwrap();
        assert!(ro.iter().all(|t| t.read_only) && !ro.is_empty());
    }
}
