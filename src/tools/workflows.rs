//! Handwritten workflow tools: one user action, several REST calls. Their
//! definitions (name, description, input schema) are in `openapi/tools.toml`
//! `[workflows.*]`, so they are part of the generated catalogue, its
//! snapshots and its search index; the handlers are here (finding things in
//! `search`).

use base64::Engine as _;
use docspace_mcp_client::dispatch::{Args, CallError, optional, required};
use docspace_mcp_client::{Client, raw};
use reqwest::multipart::{Form, Part};
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Value, json};

use crate::tools::content::{self, err, response};
use crate::tools::invoke::{Calls, Context};

mod search;

/// The workflow tools this build implements (each has a `[workflows.*]` entry).
pub const NAMES: [&str; 11] = [
    "delete_file_immediately",
    "delete_folder_immediately",
    "download_file_as_text",
    "get_recent_files",
    "get_room_access_levels",
    "get_room_types",
    "move_file_to_trash",
    "move_folder_to_trash",
    "move_room_to_archive",
    "search_files",
    "upload_file",
];

/// The workflows that are another tool with some arguments fixed (the
/// names ONLYOFFICE's server drafted for its delete and archive tools): the
/// tool they call, and what they fix.
pub(crate) fn preset(name: &str) -> Option<(&'static str, Option<(&'static str, bool)>)> {
    Some(match name {
        "move_file_to_trash" => ("delete_file", Some(("immediately", false))),
        "delete_file_immediately" => ("delete_file", Some(("immediately", true))),
        "move_folder_to_trash" => ("delete_folder", Some(("immediately", false))),
        "delete_folder_immediately" => ("delete_folder", Some(("immediately", true))),
        "move_room_to_archive" => ("archive_room", None),
        _ => return None,
    })
}

/// The `operation` label of a chunk sent to an upload session's location
/// (DocSpace's `ChunkedUploader.ashx`, not an operation of the description).
const CHUNK_UPLOAD: &str = "chunkedUpload";

/// Chunk size of upload sessions (DocSpace's own clients send 10 MiB chunks).
pub(crate) const CHUNK: usize = 10 * 1024 * 1024;

/// Runs the workflow `name`.
pub(crate) async fn run(name: &str, client: &Client, args: &Args, cx: &Context) -> CallToolResult {
    let outcome = match name {
        "upload_file" => upload_file(client, args, cx).await,
        "download_file_as_text" => download_file_as_text(client, args, cx).await,
        "get_room_types" => Ok(room_types()),
        "get_room_access_levels" => room_access_levels(client, args, &cx.calls).await,
        "search_files" => search::search_files(client, args, &cx.calls).await,
        "get_recent_files" => search::recent_files(client, args, &cx.calls).await,
        other => Err(format!("the workflow `{other}` is not implemented by this build")),
    };
    match outcome {
        Ok(result) => result,
        Err(message) => CallToolResult::error(vec![ContentBlock::text(message)]),
    }
}

fn text(s: String) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(s)])
}

async fn upload_file(client: &Client, args: &Args, cx: &Context) -> Result<CallToolResult, String> {
    let progress = cx.progress.as_ref();
    let folder: i64 = required(args, "parentId").map_err(|e| err(&e))?;
    let filename = args.get("filename").and_then(Value::as_str).map(str::trim).filter(|f| !f.is_empty());
    let filename = filename.ok_or("missing required argument `filename`")?;
    if !filename.contains('.') || filename.ends_with('.') {
        return Err(format!(
            "`filename` needs an extension (e.g. {filename}.txt): DocSpace decides the file type from it"
        ));
    }
    let bytes = match (args.get("content").and_then(Value::as_str), args.get("contentBase64").and_then(Value::as_str)) {
        (Some(_), Some(_)) => return Err("give either `content` or `contentBase64`, not both".into()),
        (Some(t), None) => t.as_bytes().to_vec(),
        (None, Some(b)) => base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .map_err(|e| format!("argument `contentBase64` is not valid base64: {e}"))?,
        (None, None) => return Err("missing argument: give `content` (text) or `contentBase64` (bytes)".into()),
    };
    let create_new = optional::<bool>(args, "createNewIfExist").map_err(|e| err(&e))?.unwrap_or(true);
    let mut session_args = Args::new();
    session_args.insert("folderId".into(), json!(folder));
    session_args
        .insert("body".into(), json!({"fileName": filename, "fileSize": bytes.len(), "createNewIfExist": create_new}));
    let session =
        response(cx.calls.dispatch(client, "createUploadSession", &session_args).await.map_err(|e| err(&e))?)?;
    let location = session
        .pointer("/data/location")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("DocSpace did not return an upload location: {session}"))?;
    let total = bytes.len();
    let chunks: Vec<&[u8]> = if bytes.is_empty() { vec![&[][..]] } else { bytes.chunks(CHUNK).collect() };
    let count = chunks.len();
    for (i, chunk) in chunks.into_iter().enumerate() {
        let part = Part::bytes(chunk.to_vec())
            .file_name(filename.to_owned())
            .mime_str("application/octet-stream")
            .map_err(|e| e.to_string())?;
        let form = Form::new().part("file", part);
        let sent = |c: Client| async move { raw::post_form(&c, location, form).await };
        let answer = cx.calls.timed(client, CHUNK_UPLOAD, sent, |a| a.status).await.map_err(|e| match e {
            // The last chunk's answer lost: the file may be there.
            CallError::Timeout(_) if i + 1 == count => format!("{e}. {}", super::invoke::maybe_done("upload_file")),
            e => err(&e),
        })?;
        let body = chunk_answer(answer.status, &answer.body)
            .map_err(|why| format!("DocSpace refused chunk {} of {count} (HTTP {}): {why}", i + 1, answer.status))?;
        let sent = (i * CHUNK + chunk.len()).min(total);
        if let Some(p) = progress {
            p.report(sent as f64, Some(total as f64), format!("uploaded {sent} of {total} bytes")).await;
        }
        if i + 1 == count {
            let file = body.get("data").cloned().unwrap_or(body);
            return Ok(text(json!({"uploaded": true, "bytes": total, "chunks": count, "file": file}).to_string()));
        }
    }
    Err("the upload ended without a final answer from DocSpace".into())
}

/// A chunk's answer (`{success, data}`), or why it is a refusal: an error
/// status, `success: false`, DocSpace's error envelope (with HTTP 2xx too),
/// or a body that is not JSON. Only an answer that is none of these means the
/// chunk (and, for the last one, the file) was stored.
fn chunk_answer(status: u16, body: &[u8]) -> Result<Value, String> {
    let message = || docspace_mcp_client::dispatch::error_message(body);
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Err(if (200..300).contains(&status) {
            format!("the answer is not JSON: {}", message())
        } else {
            message()
        });
    };
    if let Some(e) = docspace_mcp_client::dispatch::envelope_error(&value) {
        return Err(e.to_string());
    }
    let refused = value.get("success").and_then(Value::as_bool) == Some(false);
    if !(200..300).contains(&status) || refused {
        return Err(value.get("message").and_then(Value::as_str).map_or_else(message, str::to_owned));
    }
    Ok(value)
}

async fn download_file_as_text(client: &Client, args: &Args, cx: &Context) -> Result<CallToolResult, String> {
    let id: i64 = required(args, "fileId").map_err(|e| err(&e))?;
    let max = optional::<u64>(args, "maxChars").map_err(|e| err(&e))?.unwrap_or(100_000).clamp(1, 1_000_000);
    let max = usize::try_from(max).unwrap_or(100_000);
    let offset = optional::<u64>(args, "offset").map_err(|e| err(&e))?.unwrap_or(0);
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    let file = content::info(client, id, cx).await?;
    let bytes = content::download(client, &file, true, cx).await?;
    let more = |next| format!("call again with offset {next}");
    Ok(text(content::page(&String::from_utf8_lossy(&bytes), offset, max, &file.title, more)))
}

/// DocSpace's room types (`RoomType`): value, enum name, label, purpose.
const ROOM_TYPES: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "FillingFormsRoom",
        "Form filling room",
        "Collect forms filled in by people, with the results kept in the room.",
    ),
    (2, "EditingRoom", "Collaboration room", "Edit documents together, with editing, reviewing and viewing rights."),
    (5, "CustomRoom", "Custom room", "Any purpose, with every access level available."),
    (6, "PublicRoom", "Public room", "Share documents with anyone through an external link, without an account."),
    (
        8,
        "VirtualDataRoom",
        "Virtual data room",
        "Share documents securely, with watermarks, lifetimes and form filling.",
    ),
    (9, "AiRoom", "AI room", "Work with documents through an AI agent."),
];

/// DocSpace's room access levels (`FileShare` values valid in rooms).
const ACCESS_LEVELS: &[(i64, &str, &str)] = &[
    (0, "None", "No access (removes the member)"),
    (2, "Read", "Viewer"),
    (5, "Review", "Reviewer"),
    (6, "Comment", "Commenter"),
    (7, "FillForms", "Form filler"),
    (9, "RoomManager", "Room manager"),
    (10, "Editing", "Editor"),
    (11, "ContentCreator", "Content creator"),
];

/// The levels a room type allows (besides None, which removes a member).
fn allowed_levels(room_type: i64) -> &'static [i64] {
    match room_type {
        1 => &[7, 9, 11],
        2 => &[2, 9, 10, 11],
        5 => &[2, 5, 6, 9, 10, 11],
        6 => &[9, 11],
        8 => &[2, 7, 9, 10, 11],
        _ => &[2, 5, 6, 7, 9, 10, 11],
    }
}

fn room_types() -> CallToolResult {
    let list: Vec<Value> = ROOM_TYPES
        .iter()
        .map(|(value, name, title, purpose)| json!({"roomType": value, "name": name, "title": title, "purpose": purpose}))
        .collect();
    text(Value::Array(list).to_string())
}

async fn room_access_levels(client: &Client, args: &Args, calls: &Calls) -> Result<CallToolResult, String> {
    let id: i64 = required(args, "roomId").map_err(|e| err(&e))?;
    let mut room_args = Args::new();
    room_args.insert("id".into(), json!(id));
    let room = response(calls.dispatch(client, "getRoomInfo", &room_args).await.map_err(|e| err(&e))?)?;
    let room_type = room
        .get("roomType")
        .and_then(Value::as_i64)
        .ok_or_else(|| format!("{id} is not a room (it has no roomType)"))?;
    let allowed = allowed_levels(room_type);
    let levels: Vec<Value> = ACCESS_LEVELS
        .iter()
        .filter(|(v, _, _)| *v == 0 || allowed.contains(v))
        .map(|(value, name, title)| json!({"access": value, "name": name, "title": title}))
        .collect();
    let kind = ROOM_TYPES.iter().find(|t| t.0 == room_type).map_or("room", |t| t.2);
    Ok(text(json!({"roomId": id, "roomType": room_type, "roomTypeTitle": kind, "accessLevels": levels}).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_is_stored_only_when_its_answer_says_so() {
        let stored = br#"{"success": true, "data": {"id": 7, "title": "a.txt"}}"#;
        assert_eq!(chunk_answer(201, stored).unwrap()["data"]["id"], 7);
        // HTTP 200 with DocSpace's error envelope, or with a body that is not JSON: not stored.
        let envelope = br#"{"status": 1, "statusCode": 500, "error": {"message": "Injected failure"}}"#;
        assert_eq!(chunk_answer(200, envelope).unwrap_err(), "DocSpace answered HTTP 500: Injected failure");
        assert_eq!(chunk_answer(200, b"{not json").unwrap_err(), "the answer is not JSON: {not json");
        assert_eq!(chunk_answer(200, b"").unwrap_err(), "the answer is not JSON: (empty body)");
        assert_eq!(chunk_answer(200, br#"{"success": false, "message": "Too big"}"#).unwrap_err(), "Too big");
        assert_eq!(chunk_answer(502, b"<h1>Bad gateway</h1>").unwrap_err(), "<h1>Bad gateway</h1>");
        assert_eq!(chunk_answer(400, br#"{"success": false, "message": "No session"}"#).unwrap_err(), "No session");
    }
}
