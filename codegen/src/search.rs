//! The search index behind the `search_tools` meta tool, built at compile
//! time: BM25 postings over each tool's name, title, description, toolset,
//! path segments and parameter names (name words weigh 3, title words 2, the
//! rest 1).
//!
//! [`tokens`] (the `docspace-mcp-tokens` crate) is shared with the runtime,
//! which tokenizes queries the same way.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::catalogue::Catalogue;
pub use docspace_mcp_tokens::{STOPWORDS, tokens};

/// Postings (tool index, term frequency) per term, and each tool's length.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Index {
    /// Term → postings, sorted by term.
    pub terms: BTreeMap<String, Vec<(u16, u16)>>,
    /// Weighted token count per tool (same order as the catalogue's tools).
    pub doc_len: Vec<u16>,
}

/// What of a tool the index reads.
#[derive(Debug, Clone, Copy)]
pub struct Indexed<'a> {
    /// Tool name.
    pub name: &'a str,
    /// Title.
    pub title: &'a str,
    /// Description.
    pub description: &'a str,
    /// Primary toolset.
    pub toolset: &'a str,
    /// Path template (empty for workflow tools).
    pub path: &'a str,
    /// Other names.
    pub aliases: &'a [String],
    /// The input schema (its top-level property names are indexed).
    pub input_schema: &'a Value,
}

/// The weighted bag of terms the index holds for one tool.
pub fn document(tool: Indexed<'_>) -> Vec<String> {
    let mut bag: Vec<String> = Vec::new();
    for _ in 0..3 {
        bag.extend(tokens(tool.name));
    }
    for _ in 0..2 {
        bag.extend(tokens(tool.title));
    }
    bag.extend(tokens(tool.description));
    bag.extend(tokens(tool.toolset));
    // Paths carry DocSpace's own vocabulary (`/rooms/{id}/share`); parameters and `api/2.0` do not.
    for segment in tool
        .path
        .split('/')
        .filter(|s| !s.starts_with('{') && *s != "api" && !s.starts_with(|c: char| c.is_ascii_digit()))
    {
        bag.extend(tokens(segment));
    }
    for alias in tool.aliases {
        bag.extend(tokens(alias));
    }
    if let Some(props) = tool.input_schema.get("properties").and_then(Value::as_object) {
        for name in props.keys() {
            bag.extend(tokens(name));
        }
    }
    bag
}

/// Builds the index over the catalogue's tools, in their order.
pub fn build(catalogue: &Catalogue) -> Index {
    let mut index = Index::default();
    for (doc, tool) in catalogue.tools.iter().enumerate() {
        let bag = document(Indexed {
            name: &tool.name,
            title: &tool.title,
            description: &tool.description,
            toolset: &tool.toolset,
            path: &tool.path,
            aliases: &tool.aliases,
            input_schema: &tool.input_schema,
        });
        let mut tf: BTreeMap<String, u16> = BTreeMap::new();
        for t in &bag {
            let n = tf.entry(t.clone()).or_default();
            *n = n.saturating_add(1);
        }
        let doc = u16::try_from(doc).unwrap_or(u16::MAX);
        for (term, n) in tf {
            index.terms.entry(term).or_default().push((doc, n));
        }
        index.doc_len.push(u16::try_from(bag.len()).unwrap_or(u16::MAX));
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_names_and_prose() {
        assert_eq!(tokens("getFileInfo"), ["get", "file", "info"]);
        assert_eq!(tokens("get_rooms_folder"), ["get", "room", "folder"]);
        assert_eq!(tokens("Uploads a file to the specified folder."), ["upload", "file", "folder"]);
        assert_eq!(tokens("Access entries, status"), ["access", "entry", "status"]);
        assert_eq!(tokens("X-Mcp-Api-Key v2"), ["x", "mcp", "api", "key", "v2"]);
    }
}
