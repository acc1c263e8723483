//! DocSpace as MCP resources: file content, and folder, room and My
//! documents listings, addressed by `docspace://` URIs. A client reads a
//! file without its content passing through the model (the model sees a
//! `resource_link`, the client fetches it).
//!
//! - `docspace://rooms`: the rooms (a listing);
//! - `docspace://folders/my`: My documents (a listing);
//! - `docspace://folders/{folderId}{?startIndex,count}`: a folder's or a
//!   room's content (a listing);
//! - `docspace://files/{fileId}{?offset,limit}`: a file's content. Text
//!   files, and documents, spreadsheets and presentations converted by
//!   DocSpace, read as text, a page of `limit` characters from `offset`
//!   (at most `DOCSPACE_MAX_RESULT_BYTES` characters; a page that stops
//!   before the end says so, and names the URI of the next page); other
//!   files as a blob, up to `DOCSPACE_MAX_RESULT_BYTES` bytes (larger ones
//!   are refused with a message saying so).
//!
//! A listing is JSON: the folder, its subfolders and files, each with its
//! resource URI, and the URI of the next page when there is one.

use base64::Engine as _;
use docspace_mcp_client::Client;
use docspace_mcp_client::dispatch::Args;
use rmcp::ErrorData;
use rmcp::model::{ReadResourceResult, Resource, ResourceContents, ResourceTemplate};
use serde_json::{Value, json};

use crate::tools::content;
use crate::tools::invoke::Context;

/// The scheme of this server's resources.
pub(crate) const SCHEME: &str = "docspace://";

/// Entries of a listing page when the URI names no `count`.
const PAGE: u64 = 100;

/// The resources `resources/list` names (the roots; the rest are reached
/// through them or the templates).
pub(crate) fn listed() -> Vec<Resource> {
    vec![
        Resource::new("docspace://rooms", "rooms")
            .with_title("Rooms")
            .with_description("The rooms you can see: each with its id and the URI of its content")
            .with_mime_type("application/json"),
        Resource::new("docspace://folders/my", "my-documents")
            .with_title("My documents")
            .with_description("Your own folder's content: subfolders and files, each with its URI")
            .with_mime_type("application/json"),
    ]
}

/// The templates `resources/templates/list` names.
pub(crate) fn templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new("docspace://files/{fileId}{?offset,limit}", "file")
            .with_title("File content")
            .with_description(
                "A file's content: text for text files, documents, spreadsheets (CSV) and presentations, paged by \
                 offset and limit (characters); other files as binary data",
            ),
        ResourceTemplate::new("docspace://folders/{folderId}{?startIndex,count}", "folder")
            .with_title("Folder or room content")
            .with_description("A folder's or room's subfolders and files, each with its URI")
            .with_mime_type("application/json"),
    ]
}

/// How much one read may return.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The most characters of a text page, and bytes of a blob (0: no limit).
    pub max_bytes: usize,
}

/// The error of a URI this server does not serve.
pub(crate) fn not_found(uri: &str, why: &str) -> ErrorData {
    ErrorData::resource_not_found(format!("no resource {}: {why}", super::quoted(uri)), Some(json!({ "uri": uri })))
}

/// A refusal from DocSpace, as the read's error.
fn refused(uri: &str, message: String) -> ErrorData {
    if content::is_not_found(&message) {
        return not_found(uri, &message);
    }
    ErrorData::internal_error(message, Some(json!({ "uri": uri })))
}

/// Reads `uri` (one of this server's) through `client`.
pub(crate) async fn read(
    client: &Client,
    uri: &str,
    cx: &Context,
    limits: Limits,
) -> Result<ReadResourceResult, ErrorData> {
    let rest = uri.strip_prefix(SCHEME).unwrap_or_default();
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let query: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let number = |name: &str| -> Result<Option<u64>, ErrorData> {
        match query.iter().find(|(k, _)| k == name) {
            None => Ok(None),
            Some((_, v)) => v.parse::<u64>().map(Some).map_err(|_| {
                ErrorData::invalid_params(format!("`{name}` in {} must be a whole number", super::quoted(uri)), None)
            }),
        }
    };
    let id = |segment: &str| segment.parse::<i64>().ok().filter(|id| *id > 0);
    let contents = match path.split('/').collect::<Vec<_>>().as_slice() {
        ["rooms"] => {
            listing(client, uri, "getRoomsFolder", Args::new(), (number("startIndex")?, number("count")?), cx).await?
        }
        ["folders", "my"] => {
            listing(client, uri, "getMyFolder", Args::new(), (number("startIndex")?, number("count")?), cx).await?
        }
        ["folders", folder] => {
            let folder = id(folder).ok_or_else(|| not_found(uri, "a folder id is a positive whole number"))?;
            let mut args = Args::new();
            args.insert("folderId".into(), json!(folder));
            listing(client, uri, "getFolderByFolderId", args, (number("startIndex")?, number("count")?), cx).await?
        }
        ["files", file] => {
            let file = id(file).ok_or_else(|| not_found(uri, "a file id is a positive whole number"))?;
            file_content(client, uri, file, (number("offset")?, number("limit")?), cx, limits).await?
        }
        _ => {
            return Err(not_found(
                uri,
                "this server serves docspace://rooms, docspace://folders/… and docspace://files/…",
            ));
        }
    };
    Ok(ReadResourceResult::new(vec![contents]))
}

/// A folder's page of entries, as JSON.
async fn listing(
    client: &Client,
    uri: &str,
    operation: &'static str,
    mut args: Args,
    (start, count): (Option<u64>, Option<u64>),
    cx: &Context,
) -> Result<ResourceContents, ErrorData> {
    let start = start.unwrap_or(0);
    let count = count.unwrap_or(PAGE).clamp(1, 1000);
    args.insert("startIndex".into(), json!(start));
    args.insert("count".into(), json!(count));
    let answer = cx.calls.dispatch(client, operation, &args).await.map_err(|e| refused(uri, e.to_string()))?;
    let folder = content::response(answer).map_err(|e| refused(uri, e))?;
    let entries = |key: &str| folder.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
    let folders: Vec<Value> = entries("folders")
        .iter()
        .map(|f| {
            let id = f.get("id").cloned().unwrap_or_default();
            json!({"id": id, "title": f.get("title"), "uri": format!("{SCHEME}folders/{id}"),
                   "filesCount": f.get("filesCount"), "foldersCount": f.get("foldersCount")})
        })
        .collect();
    let files: Vec<Value> = entries("files")
        .iter()
        .map(|f| {
            let id = f.get("id").cloned().unwrap_or_default();
            json!({"id": id, "title": f.get("title"), "uri": format!("{SCHEME}files/{id}"),
                   "size": f.get("pureContentLength"), "updated": f.get("updated"), "webUrl": f.get("webUrl")})
        })
        .collect();
    let shown = (folders.len() + files.len()) as u64;
    let total = folder.get("total").and_then(Value::as_u64).unwrap_or(shown + start);
    let current = folder.get("current").cloned().unwrap_or_default();
    let mut page = json!({
        "folder": {"id": current.get("id"), "title": current.get("title")},
        "total": total, "startIndex": start, "folders": folders, "files": files,
    });
    if start + shown < total && shown > 0 {
        let base = uri.split_once('?').map_or(uri, |(base, _)| base);
        if let Some(page) = page.as_object_mut() {
            page.insert("next".into(), json!(format!("{base}?startIndex={}&count={count}", start + shown)));
        }
    }
    Ok(ResourceContents::text(page.to_string(), uri).with_mime_type("application/json"))
}

/// A file's content: a page of its text, or its bytes.
async fn file_content(
    client: &Client,
    uri: &str,
    id: i64,
    (offset, limit): (Option<u64>, Option<u64>),
    cx: &Context,
    limits: Limits,
) -> Result<ResourceContents, ErrorData> {
    let file = content::info(client, id, cx).await.map_err(|e| refused(uri, e))?;
    let max = if limits.max_bytes == 0 { usize::MAX } else { limits.max_bytes };
    if !file.is_text() {
        if let Some(size) = file.size.filter(|size| usize::try_from(*size).map_or(true, |size| size > max)) {
            return Err(ErrorData::invalid_params(
                format!(
                    "{} is {size} bytes, more than a resource read returns (DOCSPACE_MAX_RESULT_BYTES, {max} bytes); \
                     open it in DocSpace, or share a link to it",
                    file.title
                ),
                Some(json!({ "uri": uri, "size": size })),
            ));
        }
        let bytes = content::download(client, &file, false, cx).await.map_err(|e| refused(uri, e))?;
        if bytes.len() > max {
            return Err(ErrorData::invalid_params(
                format!("{} is {} bytes, more than a resource read returns ({max} bytes)", file.title, bytes.len()),
                Some(json!({ "uri": uri, "size": bytes.len() })),
            ));
        }
        let blob = base64::engine::general_purpose::STANDARD.encode(&bytes);
        return Ok(ResourceContents::blob(blob, uri).with_mime_type(file.mime()));
    }
    let bytes = content::download(client, &file, true, cx).await.map_err(|e| refused(uri, e))?;
    let offset = usize::try_from(offset.unwrap_or(0)).unwrap_or(usize::MAX);
    let limit = usize::try_from(limit.unwrap_or(u64::MAX)).unwrap_or(usize::MAX).clamp(1, max);
    let base = uri.split_once('?').map_or(uri, |(base, _)| base).to_owned();
    let more = |next: usize| format!("read {base}?offset={next}&limit={limit}");
    let text = content::page(&String::from_utf8_lossy(&bytes), offset, limit, &file.title, more);
    Ok(ResourceContents::text(text, uri).with_mime_type(file.text_mime()))
}
