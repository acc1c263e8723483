//! `search_tools`: BM25 ranking over the index `codegen` built at compile
//! time (`SEARCH_TERMS`, `SEARCH_DOC_LEN`). Only the query is tokenized at
//! run time, by the tokenizer codegen uses (the `docspace-mcp-tokens` crate).

use crate::tools::catalogue::{self, TOOLS, ToolDef};

pub(crate) use docspace_mcp_tokens::tokens;

/// Words people use for what DocSpace's API calls otherwise (query side only;
/// an expansion counts half).
const SYNONYMS: &[(&str, &[&str])] = &[
    ("list", &["get"]),
    ("show", &["get"]),
    ("read", &["get"]),
    ("me", &["self", "profile"]),
    ("i", &["self", "profile"]),
    ("myself", &["self", "profile"]),
    ("document", &["file"]),
    ("doc", &["file"]),
    ("remove", &["delete"]),
    ("rename", &["update", "title"]),
    ("find", &["search", "filter"]),
    ("member", &["security", "share"]),
    ("permission", &["access", "security"]),
    ("invite", &["share", "security"]),
    ("content", &["folder"]),
    ("people", &["profile", "user"]),
];

/// Score factor of workflow and core tools.
pub(crate) const PRIOR: f64 = 1.25;

/// The best `limit` tools for `query` among those `allowed`, with their scores.
pub(crate) fn search(query: &str, allowed: impl Fn(&ToolDef) -> bool, limit: usize) -> Vec<(&'static ToolDef, f64)> {
    const K1: f64 = 1.2;
    const B: f64 = 0.4;
    let lens = catalogue::SEARCH_DOC_LEN;
    let n = lens.len() as f64;
    let avg = lens.iter().map(|l| f64::from(*l)).sum::<f64>() / n.max(1.0);
    let mut scores = vec![0.0_f64; TOOLS.len()];
    let mut weighted: Vec<(String, f64)> = Vec::new();
    for term in tokens(query) {
        if let Some((_, more)) = SYNONYMS.iter().find(|(w, _)| *w == term) {
            weighted.extend(more.iter().map(|m| ((*m).to_owned(), 0.5)));
        }
        weighted.push((term, 1.0));
    }
    weighted.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
    weighted.dedup_by(|a, b| a.0 == b.0);
    for (term, weight) in weighted {
        let Ok(i) = catalogue::SEARCH_TERMS.binary_search_by(|(t, _)| (*t).cmp(term.as_str())) else { continue };
        let Some((_, postings)) = catalogue::SEARCH_TERMS.get(i) else { continue };
        let df = postings.len() as f64;
        let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
        for (doc, tf) in *postings {
            let doc = usize::from(*doc);
            let tf = f64::from(*tf);
            let len = lens.get(doc).map_or(avg, |l| f64::from(*l));
            if let Some(score) = scores.get_mut(doc) {
                *score += weight * idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / avg));
            }
        }
    }
    // Tools designed around a user action (workflows, the curated core) win ties
    // with the many raw operations that share their words.
    let prior = |t: &ToolDef| if t.workflow || t.is_core() { PRIOR } else { 1.0 };
    let mut ranked: Vec<(&'static ToolDef, f64)> =
        TOOLS.iter().zip(scores).map(|(t, s)| (t, s * prior(t))).filter(|(t, s)| *s > 0.0 && allowed(t)).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.name.cmp(b.0.name)));
    ranked.truncate(limit);
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn top(query: &str, n: usize) -> Vec<&'static str> {
        search(query, |_| true, n).into_iter().map(|(t, _)| t.name).collect()
    }

    #[test]
    fn ranks_the_obvious_tools_first() {
        assert_eq!(top("upload a file", 1), ["upload_file"]);
        assert_eq!(top("download a file as text", 1), ["download_file_as_text"]);
        assert!(top("archive a room", 3).contains(&"archive_room"), "{:?}", top("archive a room", 3));
        assert!(
            top("room members access", 5).contains(&"get_room_security_info"),
            "{:?}",
            top("room members access", 5)
        );
        assert!(top("who am I", 5).contains(&"get_self_profile"), "{:?}", top("who am I", 5));
        assert!(
            top("list files in a folder", 3).contains(&"get_folder_content"),
            "{:?}",
            top("list files in a folder", 3)
        );
        assert!(top("zzzz qqqq", 5).is_empty());
    }

    #[test]
    fn respects_the_allowed_set() {
        let only_read = search("delete a file", |t| t.read_only, 10);
        assert!(only_read.iter().all(|(t, _)| t.read_only));
    }
}
