//! `resource_link` content for the files and folders a tool result names
//! (an upload, a created file, a listing, a search): each links to its
//! `docspace://` resource, so a client can fetch a file's content without
//! it passing through the model. At most [`MAX`] links per result.

use rmcp::model::{ContentBlock, Resource};
use serde_json::Value;

/// The most links one result carries.
pub(crate) const MAX: usize = 20;

/// How deep into a result entries are looked for (a listing's entries are
/// at `response.files[]`, a search's at `items[]`, an upload's at `file`).
const DEPTH: usize = 4;

/// What a listing's key says of the entries under it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Under {
    /// Nothing.
    Any,
    /// `files`: files.
    Files,
    /// `folders`: folders or rooms.
    Folders,
    /// `current`, `pathParts`: the listed folder and its parents, not entries.
    Skip,
}

/// The links to the files and folders `value` describes, in order.
pub(crate) fn of(value: &Value) -> Vec<ContentBlock> {
    let mut links = Vec::new();
    walk(value, Under::Any, DEPTH, &mut links);
    links
}

fn walk(value: &Value, under: Under, depth: usize, links: &mut Vec<ContentBlock>) {
    if links.len() >= MAX || under == Under::Skip {
        return;
    }
    match value {
        Value::Object(entry) => {
            if let Some(link) = link(entry, under) {
                links.push(link);
                return;
            }
            if depth > 0 {
                for (key, v) in entry {
                    let under = match key.as_str() {
                        "files" => Under::Files,
                        "folders" => Under::Folders,
                        "current" | "pathParts" => Under::Skip,
                        _ => Under::Any,
                    };
                    walk(v, under, depth - 1, links);
                }
            }
        }
        Value::Array(items) if depth > 0 => items.iter().for_each(|v| walk(v, under, depth - 1, links)),
        _ => {}
    }
}

/// The link of one entry: a file (under `files`, or with an extension, or
/// a search item of kind `file`) or a folder or room (under `folders`, or
/// counting files, or a search item of kind `folder` or `room`).
fn link(entry: &serde_json::Map<String, Value>, under: Under) -> Option<ContentBlock> {
    let id = entry.get("id").and_then(Value::as_i64).filter(|id| *id > 0)?;
    let title = entry.get("title").and_then(Value::as_str)?;
    let kind = entry.get("kind").and_then(Value::as_str);
    let file = under == Under::Files || entry.contains_key("fileExst") || kind == Some("file");
    let folder = under == Under::Folders || entry.contains_key("filesCount") || matches!(kind, Some("folder" | "room"));
    let uri = match (file, folder) {
        (true, _) => format!("docspace://files/{id}"),
        (false, true) => format!("docspace://folders/{id}"),
        _ => return None,
    };
    let mut resource = Resource::new(uri, title);
    if let Some(size) = entry.get("pureContentLength").and_then(Value::as_u64) {
        resource = resource.with_size(size);
    }
    if !file {
        resource = resource.with_mime_type("application/json");
    }
    Some(ContentBlock::resource_link(resource))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{MAX, of};

    #[test]
    fn files_and_folders_link_to_their_resources() {
        // A compact listing's files have no extension: their key says what they are.
        let listing = json!({"response": {"current": {"id": 1, "title": "My documents", "filesCount": 1},
            "folders": [{"id": 101, "title": "Projects", "filesCount": 2}],
            "files": [{"id": 102, "title": "Welcome.txt", "pureContentLength": 66}]}});
        let links: Vec<String> = of(&listing).iter().map(|l| l.as_resource_link().unwrap().uri.clone()).collect();
        assert_eq!(links, ["docspace://folders/101", "docspace://files/102"]);
        let search =
            json!({"items": [{"id": 5, "title": "a.docx", "kind": "file"}, {"id": 6, "title": "R", "kind": "room"}]});
        assert_eq!(of(&search).len(), 2);
        let many: Vec<_> = (1..100).map(|i| json!({"id": i, "title": "f", "fileExst": ".txt"})).collect();
        assert_eq!(of(&json!({"files": many})).len(), MAX);
        assert!(of(&json!({"id": 3, "displayName": "a person"})).is_empty());
    }
}
