//! Finding things: `search_files` (text in titles across My documents and
//! rooms, or below one folder) and `get_recent_files`, over DocSpace's
//! filtered folder listings. DocSpace 3.7.0 has no portal-wide search
//! endpoint: a folder's listing searches below it (`filterValue` with
//! `withSubFolders`), and the rooms list searches room titles, so a search
//! "everywhere" is My documents, the rooms' titles and each room's content,
//! one after the other. Their results are concatenated in that order, which
//! makes paging exact: each source is asked only for the slice of the
//! overall page that falls in it, and for its total.
//!
//! Answers are compact (per item the id, title, kind, file type, folder,
//! where it was found, date and link), and an empty result says what was
//! searched instead of being an empty list.

use docspace_mcp_client::Client;
use docspace_mcp_client::dispatch::{Args, optional};
use rmcp::model::CallToolResult;
use serde_json::{Map, Value, json};

use super::{err, response, text};
use crate::tools::invoke::Calls;
use crate::tools::listing::short_date;

/// The `type` argument's values and DocSpace's `FilterType` for each.
const TYPES: &[(&str, i64)] = &[
    ("all", 0),
    ("files", 1),
    ("folders", 2),
    ("documents", 3),
    ("presentations", 4),
    ("spreadsheets", 5),
    ("images", 7),
    ("media", 12),
    ("pdf", 22),
    ("forms", 23),
];

/// Results per call unless asked, and at most.
const DEFAULT_COUNT: u64 = 20;
const MAX_COUNT: u64 = 50;

/// The most rooms whose content one search goes through (one page of the rooms list).
const MAX_ROOMS: u64 = 50;

/// DocSpace `FileType` names.
fn file_type(v: Option<i64>) -> &'static str {
    match v {
        Some(1) => "archive",
        Some(2) => "video",
        Some(3) => "audio",
        Some(4) => "image",
        Some(5) => "spreadsheet",
        Some(6) => "presentation",
        Some(7) => "document",
        Some(10) => "pdf",
        Some(11) => "diagram",
        _ => "other",
    }
}

/// Where a file is, from its `rootFolderType` (`FolderType`).
fn root_name(v: Option<i64>) -> Option<&'static str> {
    match v? {
        5 => Some("My documents"),
        3 => Some("Trash"),
        6 => Some("Shared with me"),
        14 | 15 | 16 | 19 | 22 | 29 | 31 => Some("Rooms"),
        20 => Some("Archive"),
        _ => None,
    }
}

/// The `type` argument as a `FilterType` (0 when absent).
fn filter_type(args: &Args, allowed: &[&str]) -> Result<(&'static str, i64), String> {
    let name = optional::<String>(args, "type").map_err(|e| err(&e))?.unwrap_or_else(|| "all".into());
    TYPES
        .iter()
        .find(|(n, _)| *n == name && allowed.contains(n))
        .map(|(n, v)| (*n, *v))
        .ok_or_else(|| format!("argument `type` is invalid: `{name}` is not one of {}", allowed.join(", ")))
}

/// `count` and `startIndex`, checked.
fn paging(args: &Args) -> Result<(u64, u64), String> {
    let count = optional::<u64>(args, "count").map_err(|e| err(&e))?.unwrap_or(DEFAULT_COUNT);
    if !(1..=MAX_COUNT).contains(&count) {
        return Err(format!("argument `count` is invalid: {count} is not between 1 and {MAX_COUNT}"));
    }
    let start = optional::<u64>(args, "startIndex").map_err(|e| err(&e))?.unwrap_or(0);
    Ok((count, start))
}

/// One item of a folder's content (`FileDtoInteger` when `file`, else
/// `FolderDtoInteger`), compact; `location` says where it was found.
fn item(v: &Value, file: bool, location: Option<&str>) -> Value {
    let mut out = Map::new();
    for k in ["id", "title"] {
        if let Some(x) = v.get(k) {
            out.insert(k.into(), x.clone());
        }
    }
    let kind = if file {
        "file"
    } else if v.get("roomType").is_some_and(|t| !t.is_null()) {
        "room"
    } else {
        "folder"
    };
    out.insert("kind".into(), json!(kind));
    if file {
        out.insert("type".into(), json!(file_type(v.get("fileType").and_then(Value::as_i64))));
    }
    let parent = if file { v.get("folderId") } else { v.get("parentId") };
    if let Some(p) = parent.filter(|p| !p.is_null()) {
        out.insert("folderId".into(), p.clone());
    }
    let location = location.or_else(|| root_name(v.get("rootFolderType").and_then(Value::as_i64)));
    if let Some(l) = location {
        out.insert("location".into(), json!(l));
    }
    if let Some(d) = v.get("updated").filter(|d| !d.is_null()) {
        out.insert("modified".into(), short_date(d));
    }
    if let Some(u) = v.get("webUrl").and_then(Value::as_str).filter(|u| !u.is_empty()) {
        out.insert("url".into(), json!(u));
    }
    Value::Object(out)
}

/// A folder's content as compact items (folders, then files) and its total.
fn items_of(content: &Value, location: Option<&str>) -> (Vec<Value>, u64) {
    let list = |k: &str, file: bool| -> Vec<Value> {
        content.get(k).and_then(Value::as_array).into_iter().flatten().map(|v| item(v, file, location)).collect()
    };
    let mut items = list("folders", false);
    items.extend(list("files", true));
    let total = content.get("total").and_then(Value::as_u64).unwrap_or(items.len() as u64);
    (items, total)
}

/// Where a search looks, in the order its results come.
enum Source {
    /// Below a folder or room; its name in results (from the answer when `None`).
    Folder { id: i64, name: Option<String> },
    /// The rooms whose titles match.
    RoomTitles,
}

/// What a search asks every source.
struct Query {
    text: String,
    filter_type: i64,
    with_subfolders: bool,
}

impl Query {
    /// Asks `source` for `count` results from `start`: the compact items,
    /// the source's total and the searched folder's title.
    async fn ask(
        &self,
        client: &Client,
        calls: &Calls,
        source: &Source,
        start: u64,
        count: u64,
    ) -> Result<(Vec<Value>, u64, Option<String>), String> {
        let mut a = Args::new();
        a.insert("filterValue".into(), json!(self.text));
        a.insert("startIndex".into(), json!(start));
        a.insert("count".into(), json!(count.max(1)));
        match source {
            Source::Folder { id, name } => {
                a.insert("folderId".into(), json!(id));
                a.insert("withSubFolders".into(), json!(self.with_subfolders));
                if self.filter_type != 0 {
                    a.insert("filterType".into(), json!(self.filter_type));
                }
                let content = response(calls.dispatch(client, "getFolderByFolderId", &a).await.map_err(|e| err(&e))?)?;
                let here = content.pointer("/current/title").and_then(Value::as_str).map(str::to_owned);
                let name = name.clone().or(here);
                let (items, total) = items_of(&content, name.as_deref());
                Ok((items, total, name))
            }
            Source::RoomTitles => {
                let content = response(calls.dispatch(client, "getRoomsFolder", &a).await.map_err(|e| err(&e))?)?;
                let (items, total) = items_of(&content, Some("Rooms"));
                Ok((items, total, None))
            }
        }
    }
}

/// `search_files`.
pub(super) async fn search_files(client: &Client, args: &Args, calls: &Calls) -> Result<CallToolResult, String> {
    let text_arg = optional::<String>(args, "text").map_err(|e| err(&e))?.unwrap_or_default();
    let needle = text_arg.trim();
    if needle.is_empty() {
        return Err("missing required argument `text`: the words to find in titles".into());
    }
    let all: Vec<&str> = TYPES.iter().map(|t| t.0).collect();
    let (type_name, filter) = filter_type(args, &all)?;
    let (count, start) = paging(args)?;
    let with_subfolders = optional::<bool>(args, "withSubfolders").map_err(|e| err(&e))?.unwrap_or(true);
    let folder = optional::<i64>(args, "folderId").map_err(|e| err(&e))?;
    let location = optional::<String>(args, "location").map_err(|e| err(&e))?;
    let location = match (folder, location.as_deref()) {
        (Some(_), Some(l)) if l != "everywhere" => {
            return Err("give `folderId` or `location`, not both: `folderId` already says where to search".into());
        }
        (Some(_), _) => "folder",
        (None, None | Some("everywhere")) => "everywhere",
        (None, Some("my")) => "my",
        (None, Some("rooms")) => "rooms",
        (None, Some(other)) => {
            return Err(format!("argument `location` is invalid: `{other}` is not one of everywhere, my, rooms"));
        }
    };

    // Where to look.
    let mut sources = Vec::new();
    let mut searched = Vec::new();
    let mut notes = Vec::new();
    if let Some(id) = folder {
        sources.push(Source::Folder { id, name: None });
    }
    if matches!(location, "everywhere" | "my") {
        let mut a = Args::new();
        a.insert("count".into(), json!(1));
        let my = response(calls.dispatch(client, "getMyFolder", &a).await.map_err(|e| err(&e))?)?;
        let id = my
            .pointer("/current/id")
            .and_then(Value::as_i64)
            .ok_or("DocSpace did not say which folder is My documents")?;
        sources.push(Source::Folder { id, name: Some("My documents".into()) });
        searched.push("My documents".to_owned());
    }
    if matches!(location, "everywhere" | "rooms") {
        if matches!(type_name, "all" | "folders") {
            sources.push(Source::RoomTitles);
        }
        let mut a = Args::new();
        a.insert("count".into(), json!(MAX_ROOMS));
        let rooms = response(calls.dispatch(client, "getRoomsFolder", &a).await.map_err(|e| err(&e))?)?;
        let list: Vec<(i64, String)> = rooms
            .get("folders")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| Some((r.get("id")?.as_i64()?, r.get("title")?.as_str()?.to_owned())))
            .collect();
        let total = rooms.get("total").and_then(Value::as_u64).unwrap_or(list.len() as u64);
        searched.push(match list.len() {
            1 => "1 room".to_owned(),
            n => format!("{n} rooms"),
        });
        if total > list.len() as u64 {
            notes.push(format!(
                "only the first {} of {total} rooms were searched; give folderId to search a room",
                list.len()
            ));
        }
        sources.extend(list.into_iter().map(|(id, name)| Source::Folder { id, name: Some(name) }));
    }

    // The page: each source in turn, asked for what of it falls in the page.
    let query = Query { text: needle.to_owned(), filter_type: filter, with_subfolders };
    let mut items = Vec::new();
    let mut total = 0;
    let mut skip = start;
    let mut place = None;
    for source in &sources {
        let want = count - items.len() as u64;
        let (page, found, name) = query.ask(client, calls, source, skip, want).await?;
        if let Source::Folder { name: None, .. } = source {
            place = name;
        }
        total += found;
        if skip >= found {
            skip -= found;
            continue;
        }
        items.extend(page.into_iter().take(usize::try_from(want).unwrap_or(usize::MAX)));
        skip = 0;
    }
    if let Some(id) = folder {
        searched.push(place.map_or_else(|| format!("folder {id}"), |p| format!("{p} (folder {id})")));
    }
    let searched = searched.join(" and ");
    let what = if type_name == "all" { "file or folder".to_owned() } else { format!("item of type {type_name}") };
    if total == 0 {
        let depth = if with_subfolders { "" } else { " (not below its top level)" };
        let mut message = format!("Nothing found: no {what} title contains \"{needle}\" in {searched}{depth}.");
        for n in &notes {
            message.push_str(&format!(" Note: {n}."));
        }
        return Ok(text(message));
    }
    let mut out = json!({"text": needle, "searched": searched, "total": total, "startIndex": start, "items": items});
    finish(&mut out, start, total, notes);
    Ok(text(out.to_string()))
}

/// `get_recent_files`.
pub(super) async fn recent_files(client: &Client, args: &Args, calls: &Calls) -> Result<CallToolResult, String> {
    let allowed: Vec<&str> = TYPES.iter().map(|t| t.0).filter(|t| !matches!(*t, "files" | "folders")).collect();
    let (type_name, filter) = filter_type(args, &allowed)?;
    let (count, start) = paging(args)?;
    let needle = optional::<String>(args, "text").map_err(|e| err(&e))?.unwrap_or_default();
    let needle = needle.trim();
    let mut a = Args::new();
    a.insert("startIndex".into(), json!(start));
    a.insert("count".into(), json!(count));
    if !needle.is_empty() {
        a.insert("filterValue".into(), json!(needle));
    }
    if filter != 0 {
        a.insert("filterType".into(), json!(filter));
    }
    let content = response(calls.dispatch(client, "getRecentFolder", &a).await.map_err(|e| err(&e))?)?;
    let (items, total) = items_of(&content, None);
    if total == 0 {
        let message = if needle.is_empty() && filter == 0 {
            "No recent files: DocSpace lists a file in Recent once it is opened in its editor.".to_owned()
        } else {
            let mut filters = Vec::new();
            if filter != 0 {
                filters.push(format!("of type {type_name}"));
            }
            if !needle.is_empty() {
                filters.push(format!("with \"{needle}\" in the title"));
            }
            format!("No recent files {}.", filters.join(" "))
        };
        return Ok(text(message));
    }
    let mut out = json!({"total": total, "startIndex": start, "items": items});
    finish(&mut out, start, total, Vec::new());
    Ok(text(out.to_string()))
}

/// Adds `more` (where to go on) and `notes` to an answer.
fn finish(out: &mut Value, start: u64, total: u64, notes: Vec<String>) {
    let shown = out.get("items").and_then(Value::as_array).map_or(0, Vec::len) as u64;
    let Some(obj) = out.as_object_mut() else { return };
    if shown == 0 && start >= total {
        obj.insert("more".into(), json!(format!("startIndex {start} is past the end: there are {total} results")));
    } else if start + shown < total {
        obj.insert(
            "more".into(),
            json!(format!(
                "{shown} of {total} shown (from startIndex {start}); more available: call again with startIndex={}",
                start + shown
            )),
        );
    }
    if !notes.is_empty() {
        obj.insert("notes".into(), json!(notes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_compact_and_say_where_they_are() {
        let file = json!({"id": 7, "title": "a.docx", "fileType": 7, "folderId": 3, "rootFolderType": 5,
            "updated": "2025-06-02T10:08:00.0000000+00:00", "webUrl": "https://p/doceditor?fileid=7",
            "createdBy": {"displayName": "x"}, "security": {}});
        assert_eq!(
            item(&file, true, None),
            json!({"id": 7, "title": "a.docx", "kind": "file", "type": "document", "folderId": 3,
                "location": "My documents", "modified": "2025-06-02T10:08:00+00:00", "url": "https://p/doceditor?fileid=7"})
        );
        let room = json!({"id": 9, "title": "Team", "roomType": 2, "parentId": 2, "rootFolderType": 14});
        assert_eq!(item(&room, false, Some("Rooms"))["kind"], "room");
        let folder = json!({"id": 4, "title": "Plans", "parentId": 1, "roomType": null});
        assert_eq!(
            item(&folder, false, Some("Marketing")),
            json!({"id": 4, "title": "Plans", "kind": "folder",
            "folderId": 1, "location": "Marketing"})
        );
    }

    #[test]
    fn more_says_where_to_go_on() {
        let mut out = json!({"items": [1, 2]});
        finish(&mut out, 4, 10, vec!["n".into()]);
        assert!(out["more"].as_str().unwrap().ends_with("startIndex=6"), "{out}");
        assert_eq!(out["notes"], json!(["n"]));
        let mut last = json!({"items": [1, 2]});
        finish(&mut last, 8, 10, Vec::new());
        assert!(last.get("more").is_none() && last.get("notes").is_none());
        let mut past = json!({"items": []});
        finish(&mut past, 12, 10, Vec::new());
        assert!(past["more"].as_str().unwrap().contains("past the end"), "{past}");
    }
}
