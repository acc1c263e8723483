//! Listings that fit a context window. DocSpace answers a folder, the rooms
//! or the people with every member of every item (URLs, thumbnails,
//! security flags, whole author profiles): about 840 bytes a file, so one
//! page of 100 is some 21,000 tokens. The listing tools answer a compact
//! shape by default — per item what an assistant needs to act on it (ids,
//! titles, types, sizes, dates, owner, access) under DocSpace's own member
//! names, leaving out what the listing already says (the listed folder as
//! each item's parent, zero counts, an active account's status, all-zero
//! fractions of a second) — and the whole answer with `verbosity: "full"`.
//!
//! Either way a page is kept under [`BUDGET`] bytes by dropping whole items
//! from its end, and a page that does not reach the end of the listing says
//! so in a top-level `more` member: how many were shown of how many, and
//! the `startIndex` to call again with.

use docspace_mcp_client::dispatch::Args;
use serde_json::{Map, Value, json};

use crate::tools::catalogue::ToolDef;

/// The most bytes of JSON one listing page answers with (~8,000 tokens).
pub(crate) const BUDGET: usize = 32_000;

/// The argument that asks for every field.
pub(crate) const ARGUMENT: &str = "verbosity";

/// What the argument's schema says (added to each listing tool's input schema).
pub(crate) fn argument_schema() -> Value {
    json!({
        "type": "string", "enum": ["compact", "full"], "default": "compact",
        "description": "compact: per item the ids, title, type, size, dates, owner and access; full: every field DocSpace returns."
    })
}

/// Which kind of listing an operation answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `FolderContentDto`: `files`, `folders`, `current`, `total`.
    Folder,
    /// An array of `EmployeeFullDto`, `total` in the envelope.
    People,
    /// An array of `GroupDto`, `total` in the envelope.
    Groups,
}

fn kind(operation_id: &str) -> Option<Kind> {
    match operation_id {
        "getFolderByFolderId" | "getMyFolder" | "getRoomsFolder" => Some(Kind::Folder),
        "searchUsersByExtendedFilter" => Some(Kind::People),
        "getGroups" => Some(Kind::Groups),
        _ => None,
    }
}

/// Adds [`ARGUMENT`] to the input schema of `operation_id`'s tool when it
/// answers a listing (as [`crate::tools::catalogue::ToolDef::input_schema`]
/// does), for catalogues built elsewhere than in this binary (`tools diff`).
pub(crate) fn add_argument(operation_id: &str, schema: &mut Value) {
    if kind(operation_id).is_some()
        && let Some(Value::Object(props)) = schema.get_mut("properties")
    {
        props.insert(ARGUMENT.into(), argument_schema());
    }
}

/// Whether `tool` answers a listing (and takes [`ARGUMENT`]).
pub(crate) fn is_listing(tool: &ToolDef) -> bool {
    !tool.workflow && kind(tool.operation_id).is_some()
}

/// How a listing tool's answer is shaped.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    kind: Kind,
    full: bool,
}

impl Shape {
    /// The shape `tool` answers with, taking [`ARGUMENT`] out of `args`
    /// (DocSpace has no such parameter); `None` for tools that are not listings.
    pub(crate) fn of(tool: &ToolDef, args: &mut Args) -> Option<Self> {
        let verbosity = args.remove(ARGUMENT);
        if !is_listing(tool) {
            if let Some(v) = verbosity {
                args.insert(ARGUMENT.into(), v);
            }
            return None;
        }
        let full = verbosity.as_ref().and_then(Value::as_str) == Some("full");
        Some(Self { kind: kind(tool.operation_id)?, full })
    }

    /// The answer (DocSpace's envelope) in this shape, within [`BUDGET`],
    /// with `more` when the listing goes on; `args` are the call's (for
    /// `startIndex`).
    pub(crate) fn apply(&self, mut value: Value, args: &Args) -> Value {
        let Some(envelope) = value.as_object_mut() else { return value };
        if !self.full {
            for k in ["links", "status", "statusCode"] {
                envelope.remove(k);
            }
            if let Some(response) = envelope.get_mut("response") {
                compact_response(self.kind, response);
            }
        }
        let start = args.get("startIndex").and_then(Value::as_u64).unwrap_or(0);
        let (shown, total) = fit(self.kind, envelope);
        if let Some(total) = total.filter(|t| start + shown < *t) {
            let next = start + shown;
            envelope.insert(
                "more".into(),
                Value::String(format!(
                    "{shown} of {total} items shown (from startIndex {start}); more available: call again with \
                     startIndex={next}"
                )),
            );
        }
        value
    }
}

fn compact_response(kind: Kind, response: &mut Value) {
    match (kind, response) {
        (Kind::Folder, Value::Object(content)) => {
            content.remove("new");
            let here = content.get("current").and_then(|c| c.get("id")).cloned().unwrap_or(Value::Null);
            for (key, item) in [("files", file as fn(&Value, &Value) -> Value), ("folders", folder)] {
                if let Some(Value::Array(items)) = content.get_mut(key) {
                    *items = items.iter().map(|i| item(i, &here)).collect();
                }
            }
            if let Some(current) = content.get_mut("current") {
                *current = folder(current, &Value::Null);
            }
        }
        (Kind::People, Value::Array(items)) => *items = items.iter().map(person).collect(),
        (Kind::Groups, Value::Array(items)) => *items = items.iter().map(group).collect(),
        _ => {}
    }
}

/// Drops items from the end until the whole answer fits [`BUDGET`]; the
/// number of items shown and the listing's total, when known.
fn fit(kind: Kind, envelope: &mut Map<String, Value>) -> (u64, Option<u64>) {
    let mut size = Value::Object(envelope.clone()).to_string().len();
    let total_of = |v: Option<&Value>| v.and_then(Value::as_u64);
    let Some(response) = envelope.get_mut("response") else { return (0, None) };
    let (shown, total) = match (kind, response) {
        (Kind::Folder, Value::Object(content)) => {
            let total = total_of(content.get("total"));
            for key in ["files", "folders"] {
                while size > BUDGET {
                    let Some(Value::Array(items)) = content.get_mut(key) else { break };
                    let Some(last) = items.pop() else { break };
                    size = size.saturating_sub(last.to_string().len() + 1);
                }
            }
            let count = |k: &str| content.get(k).and_then(Value::as_array).map_or(0, Vec::len) as u64;
            let shown = count("files") + count("folders");
            content.insert("count".into(), json!(shown));
            (shown, total)
        }
        (_, Value::Array(items)) => {
            while size > BUDGET {
                let Some(last) = items.pop() else { break };
                size = size.saturating_sub(last.to_string().len() + 1);
            }
            (items.len() as u64, None)
        }
        _ => return (0, None),
    };
    if matches!(kind, Kind::People | Kind::Groups) {
        let total = total_of(envelope.get("total"));
        envelope.insert("count".into(), json!(shown));
        return (shown, total);
    }
    (shown, total)
}

/// `value` with only `keys` (those present and not null), dates without
/// DocSpace's all-zero fractions of a second.
fn pick(value: &Value, keys: &[&str]) -> Map<String, Value> {
    keys.iter()
        .filter_map(|k| value.get(*k).filter(|v| !v.is_null()).map(|v| ((*k).to_owned(), short_date(v))))
        .collect()
}

/// `2025-06-02T10:08:00.0000000+00:00` as `2025-06-02T10:08:00+00:00` (the
/// same instant); anything else as it is.
pub(crate) fn short_date(v: &Value) -> Value {
    let Some(s) = v.as_str().filter(|s| s.len() > 19 && s.as_bytes().get(10) == Some(&b'T')) else {
        return v.clone();
    };
    let Some(dot) = s.get(19..).filter(|rest| rest.starts_with('.')).map(|_| 19) else { return v.clone() };
    let digits = s.get(dot + 1..).map_or(0, |rest| rest.bytes().take_while(u8::is_ascii_digit).count());
    match s.get(dot + 1..dot + 1 + digits) {
        Some(fraction) if digits > 0 && fraction.bytes().all(|b| b == b'0') => {
            Value::String(format!("{}{}", s.get(..dot).unwrap_or(s), s.get(dot + 1 + digits..).unwrap_or_default()))
        }
        _ => v.clone(),
    }
}

/// Removes `key` from `m` when it holds `value`.
fn drop_if(m: &mut Map<String, Value>, key: &str, value: &Value) {
    if m.get(key) == Some(value) {
        m.shift_remove(key);
    }
}

/// An author or manager: the display name alone.
fn name_of(person: Option<&Value>) -> Option<Value> {
    person.and_then(|p| p.get("displayName")).filter(|n| !n.is_null()).cloned()
}

/// A file: its folder only when it is not the one listed, its type in its title's extension.
fn file(f: &Value, here: &Value) -> Value {
    let mut m = pick(f, &["id", "title", "folderId", "pureContentLength", "version", "created", "updated", "access"]);
    drop_if(&mut m, "folderId", here);
    if let Some(n) = name_of(f.get("createdBy")) {
        m.insert("createdBy".into(), n);
    }
    if f.get("shared").and_then(Value::as_bool) == Some(true) {
        m.insert("shared".into(), Value::Bool(true));
    }
    Value::Object(m)
}

/// A folder or room: its parent only when it is not the one listed, counts only when not zero.
fn folder(f: &Value, here: &Value) -> Value {
    let mut m =
        pick(f, &["id", "title", "parentId", "roomType", "filesCount", "foldersCount", "created", "updated", "access"]);
    drop_if(&mut m, "parentId", here);
    drop_if(&mut m, "filesCount", &json!(0));
    drop_if(&mut m, "foldersCount", &json!(0));
    if let Some(n) = name_of(f.get("createdBy")) {
        m.insert("createdBy".into(), n);
    }
    for flag in ["shared", "pinned", "private"] {
        if f.get(flag).and_then(Value::as_bool) == Some(true) {
            m.insert(flag.into(), Value::Bool(true));
        }
    }
    if let Some(tags) = f.get("tags").filter(|t| t.as_array().is_some_and(|a| !a.is_empty())) {
        m.insert("tags".into(), tags.clone());
    }
    Value::Object(m)
}

fn person(p: &Value) -> Value {
    // `status` only when the account is not active (1).
    let mut m = pick(p, &["id", "displayName", "email", "status"]);
    drop_if(&mut m, "status", &json!(1));
    // The account type, from DocSpace's flags.
    let flag = |k: &str| p.get(k).and_then(Value::as_bool) == Some(true);
    let role = if flag("isOwner") {
        "owner"
    } else if flag("isAdmin") {
        "admin"
    } else if flag("isRoomAdmin") {
        "roomAdmin"
    } else if flag("isCollaborator") {
        "user"
    } else if flag("isVisitor") {
        "guest"
    } else {
        "user"
    };
    m.insert("role".into(), Value::String(role.into()));
    let groups: Vec<Value> = p
        .get("groups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|g| g.get("name"))
        .cloned()
        .collect();
    if !groups.is_empty() {
        m.insert("groups".into(), Value::Array(groups));
    }
    Value::Object(m)
}

fn group(g: &Value) -> Value {
    let mut m = pick(g, &["id", "name", "membersCount"]);
    if let Some(n) = name_of(g.get("manager")) {
        m.insert("manager".into(), n);
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::catalogue::find;

    fn args(v: Value) -> Args {
        v.as_object().cloned().unwrap()
    }

    fn a_file(id: u64) -> Value {
        json!({
            "id": id, "title": format!("Report {id}.docx"), "folderId": 1, "version": 1, "versionGroup": 1,
            "contentLength": "12 KB", "pureContentLength": 12000, "fileExst": ".docx", "fileType": 7,
            "fileStatus": 0, "access": 0, "shared": false, "rootFolderId": 1, "rootFolderType": 5,
            "created": "2025-06-02T09:30:00.0000000+00:00", "updated": "2025-06-02T10:00:00.0000000+00:00",
            "createdBy": {"id": "u1", "displayName": "Alex Morgan", "avatar": "/a.png", "profileUrl": "/p"},
            "updatedBy": {"id": "u1", "displayName": "Alex Morgan", "avatar": "/a.png", "profileUrl": "/p"},
            "viewUrl": "/filehandler.ashx?action=view&fileid=1", "webUrl": "/doceditor?fileid=1",
            "security": {"Read": true, "Edit": true}, "thumbnailUrl": "/thumb", "requestToken": null,
        })
    }

    fn folder_page(files: u64, total: u64) -> Value {
        json!({"response": {
            "files": (0..files).map(a_file).collect::<Vec<_>>(), "folders": [],
            "current": {"id": 1, "title": "My documents", "parentId": 0, "filesCount": total, "security": {}},
            "pathParts": [{"id": 1, "title": "My documents"}], "startIndex": 0, "count": files, "total": total, "new": 0,
        }, "count": 1, "links": [], "status": 0, "statusCode": 200})
    }

    fn shape(tool: &str, a: &mut Args) -> Shape {
        Shape::of(find(tool).unwrap(), a).unwrap()
    }

    #[test]
    fn a_compact_file_keeps_what_an_assistant_acts_on() {
        let mut a = args(json!({"folderId": 1}));
        let v = shape("get_folder_content", &mut a).apply(folder_page(1, 1), &a);
        assert_eq!(
            v["response"]["files"][0],
            json!({"id": 0, "title": "Report 0.docx", "pureContentLength": 12000, "version": 1,
                   "created": "2025-06-02T09:30:00+00:00", "updated": "2025-06-02T10:00:00+00:00", "access": 0,
                   "createdBy": "Alex Morgan"})
        );
        assert!(v.get("more").is_none() && v.get("links").is_none(), "{v}");
        assert_eq!(v["response"]["current"]["title"], "My documents");
    }

    #[test]
    fn dates_lose_only_an_all_zero_fraction() {
        for (from, to) in [
            ("2025-06-02T10:08:00.0000000+00:00", "2025-06-02T10:08:00+00:00"),
            ("2025-06-02T10:08:00.5000000+02:00", "2025-06-02T10:08:00.5000000+02:00"),
            ("2025-06-02T10:08:00Z", "2025-06-02T10:08:00Z"),
            ("Report 2025.docx", "Report 2025.docx"),
        ] {
            assert_eq!(short_date(&json!(from)), json!(to));
        }
        assert_eq!(short_date(&json!(7)), json!(7));
    }

    #[test]
    fn what_the_listing_already_says_is_not_repeated_per_item() {
        let here = json!(1);
        let elsewhere = json!({"id": 9, "title": "b.txt", "folderId": 2});
        assert_eq!(file(&elsewhere, &here)["folderId"], 2, "found below the listed folder: where it is");
        let f = json!({"id": 5, "title": "Sub", "parentId": 1, "filesCount": 0, "foldersCount": 3});
        assert_eq!(folder(&f, &here), json!({"id": 5, "title": "Sub", "foldersCount": 3}));
    }

    #[test]
    fn full_keeps_everything_and_the_argument_is_not_sent() {
        let mut a = args(json!({"folderId": 1, "verbosity": "full"}));
        let s = shape("get_folder_content", &mut a);
        assert!(!a.contains_key(ARGUMENT), "DocSpace has no `verbosity` parameter");
        let v = s.apply(folder_page(2, 2), &a);
        assert_eq!(v, folder_page(2, 2));
    }

    #[test]
    fn a_page_short_of_the_total_says_where_to_go_on() {
        let mut a = args(json!({"folderId": 1, "startIndex": 10, "count": 5}));
        let v = shape("get_folder_content", &mut a).apply(folder_page(5, 40), &a);
        assert_eq!(
            v["more"],
            "5 of 40 items shown (from startIndex 10); more available: call again with startIndex=15"
        );
    }

    #[test]
    fn an_answer_over_the_budget_loses_whole_items_from_its_end() {
        let mut a = args(json!({"folderId": 1, "verbosity": "full"}));
        let v = shape("get_folder_content", &mut a).apply(folder_page(100, 100), &a);
        assert!(v.to_string().len() <= BUDGET, "{}", v.to_string().len());
        let shown = v["response"]["files"].as_array().unwrap().len();
        assert!(shown > 10 && shown < 100, "{shown}");
        assert_eq!(v["response"]["count"], shown);
        assert_eq!(
            v["more"],
            format!(
                "{shown} of 100 items shown (from startIndex 0); more available: call again with startIndex={shown}"
            )
        );
    }

    #[test]
    fn people_and_groups_are_compact_too() {
        let person = json!({"id": "u1", "displayName": "Sam Lee", "firstName": "Sam", "email": "sam@x", "status": 1,
                            "isAdmin": false, "isOwner": false, "isRoomAdmin": true, "avatar": "/a", "groups": [{"id": "g", "name": "Marketing"}]});
        let mut a = args(json!({}));
        let v = shape("get_all_people", &mut a)
            .apply(json!({"response": [person], "count": 1, "total": 3, "status": 0, "statusCode": 200}), &a);
        assert_eq!(
            v["response"][0],
            json!({"id": "u1", "displayName": "Sam Lee", "email": "sam@x", "role": "roomAdmin", "groups": ["Marketing"]})
        );
        let disabled = json!({"id": "u2", "displayName": "Old", "status": 2, "isVisitor": true});
        assert_eq!(super::person(&disabled), json!({"id": "u2", "displayName": "Old", "status": 2, "role": "guest"}));
        assert!(v["more"].as_str().unwrap().ends_with("startIndex=1"), "{v}");
        let g = json!({"id": "g", "name": "Marketing", "membersCount": 2, "isLDAP": false, "manager": {"displayName": "Sam Lee", "email": "x"}});
        let v = shape("get_groups", &mut a).apply(json!({"response": [g], "count": 1, "total": 1}), &a);
        assert_eq!(v["response"][0], json!({"id": "g", "name": "Marketing", "membersCount": 2, "manager": "Sam Lee"}));
    }

    #[test]
    fn other_tools_are_not_listings_and_keep_their_arguments() {
        let mut a = args(json!({"fileId": 1, "verbosity": "full"}));
        assert!(Shape::of(find("get_file_info").unwrap(), &mut a).is_none());
        assert!(a.contains_key(ARGUMENT));
    }
}
