//! A file's content from DocSpace, for `download_file_as_text` and the file
//! resources: its description (`getFileInfo`), and its bytes through a
//! download operation (`bulkDownload`), as they are or converted by DocSpace
//! to text (documents and presentations to `.txt`, spreadsheets to `.csv`).
//! Also the paging of long texts both use.

use docspace_mcp_client::dispatch::{Args, CallError, Output};
use docspace_mcp_client::{Client, raw};
use serde_json::{Value, json};

use crate::tools::file_operations::{self, Waited};
use crate::tools::invoke::Context;

/// The `operation` label of a file fetched from the link a download operation gives.
pub(crate) const FILE_DOWNLOAD: &str = "fileDownload";

/// Extensions whose bytes are text already.
const PLAIN: &[&str] = &[".txt", ".csv", ".md", ".json", ".xml", ".html", ".htm", ".log", ".yaml", ".yml", ".tsv"];
/// Spreadsheets (converted to `.csv`).
const SHEETS: &[&str] = &[".xlsx", ".xls", ".ods", ".xlsm", ".xltx", ".ots"];
/// Documents and presentations DocSpace converts to `.txt`.
const DOCUMENTS: &[&str] = &[
    ".docx", ".doc", ".docm", ".dotx", ".odt", ".ott", ".rtf", ".pdf", ".epub", ".fb2", ".pptx", ".ppt", ".odp",
    ".otp", ".ppsx",
];

/// What DocSpace says of a file.
#[derive(Debug, Clone)]
pub(crate) struct Info {
    /// The file's id.
    pub id: i64,
    /// Its name.
    pub title: String,
    /// Its extension, lower case, with the dot (`.docx`).
    pub ext: String,
    /// Its size in bytes, when DocSpace gives it.
    pub size: Option<u64>,
}

impl Info {
    /// Whether its content can be read as text (as it is, or converted).
    pub(crate) fn is_text(&self) -> bool {
        let ext = self.ext.as_str();
        PLAIN.contains(&ext) || SHEETS.contains(&ext) || DOCUMENTS.contains(&ext)
    }

    /// The media type of its content as text (after any conversion).
    pub(crate) fn text_mime(&self) -> &'static str {
        match self.ext.as_str() {
            ".md" => "text/markdown",
            ".json" => "application/json",
            ".xml" => "application/xml",
            ".html" | ".htm" => "text/html",
            ".yaml" | ".yml" => "application/yaml",
            ".tsv" => "text/tab-separated-values",
            ext if ext == ".csv" || SHEETS.contains(&ext) => "text/csv",
            _ => "text/plain",
        }
    }

    /// The media type of its bytes as they are.
    pub(crate) fn mime(&self) -> &'static str {
        match self.ext.as_str() {
            ".png" => "image/png",
            ".jpg" | ".jpeg" => "image/jpeg",
            ".gif" => "image/gif",
            ".webp" => "image/webp",
            ".svg" => "image/svg+xml",
            ".bmp" => "image/bmp",
            ".tif" | ".tiff" => "image/tiff",
            ".pdf" => "application/pdf",
            ".zip" => "application/zip",
            ".mp3" => "audio/mpeg",
            ".wav" => "audio/wav",
            ".ogg" => "audio/ogg",
            ".mp4" => "video/mp4",
            ".docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ".xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ".pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            ext if PLAIN.contains(&ext) => self.text_mime(),
            _ => "application/octet-stream",
        }
    }
}

/// DocSpace's answer, unwrapped from its `response` envelope.
pub(crate) fn response(out: Output) -> Result<Value, String> {
    match out {
        Output::Json { value, .. } => Ok(value.get("response").cloned().unwrap_or(value)),
        other => Err(format!("DocSpace answered something unexpected: {other:?}")),
    }
}

/// Whether a message of this module (a [`CallError`]'s text) is DocSpace's 404.
pub(crate) fn is_not_found(message: &str) -> bool {
    message.starts_with("DocSpace answered HTTP 404")
}

/// A call's error as the message a tool answers with.
pub(crate) fn err(e: &CallError) -> String {
    e.to_string()
}

/// The file `id`'s description.
pub(crate) async fn info(client: &Client, id: i64, cx: &Context) -> Result<Info, String> {
    let mut args = Args::new();
    args.insert("fileId".into(), json!(id));
    let info = response(cx.calls.dispatch(client, "getFileInfo", &args).await.map_err(|e| err(&e))?)?;
    Ok(Info {
        id,
        title: info.get("title").and_then(Value::as_str).unwrap_or("the file").to_owned(),
        ext: info.get("fileExst").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase(),
        size: info.get("pureContentLength").and_then(Value::as_u64),
    })
}

/// The file's bytes: as they are (`as_text` false, or a text file), or
/// converted by DocSpace to text.
pub(crate) async fn download(client: &Client, file: &Info, as_text: bool, cx: &Context) -> Result<Vec<u8>, String> {
    let (id, title) = (file.id, &file.title);
    let ext = file.ext.as_str();
    let body = if !as_text || PLAIN.contains(&ext) {
        json!({"fileIds": [id]})
    } else {
        let target = if SHEETS.contains(&ext) { ".csv" } else { ".txt" };
        json!({"fileConvertIds": [{"key": id, "value": target}]})
    };
    let mut args = Args::new();
    args.insert("body".into(), body);
    let started = cx.calls.dispatch(client, "bulkDownload", &args).await.map_err(|e| err(&e))?;
    let Output::Json { value: started, .. } = started else { return Err("DocSpace did not start the download".into()) };
    let mut ops: Vec<Value> = file_operations::items(&started).into_iter().cloned().collect();
    let pending = file_operations::pending(&started);
    if !pending.is_empty() {
        match file_operations::wait(client, &pending, cx).await.map_err(|e| err(&e))? {
            Waited::Finished(done) => ops = done,
            Waited::TimedOut(_) => {
                return Err(format!(
                    "DocSpace is still preparing {title} (operation {}); try again later, or check it with \
                     get_operation_statuses",
                    pending.join(", ")
                ));
            }
        }
    }
    if let Some(failed) = ops.iter().find_map(file_operations::failure) {
        return Err(format!("DocSpace could not prepare {title}: {failed}"));
    }
    let url = ops
        .iter()
        .find_map(|o| o.get("url").and_then(Value::as_str))
        .ok_or_else(|| format!("DocSpace finished the download of {title} without a link"))?;
    let get = |c: Client| async move { raw::get(&c, url).await };
    let answer = cx.calls.timed(client, FILE_DOWNLOAD, get, |f| f.status).await.map_err(|e| err(&e))?;
    if !(200..300).contains(&answer.status) {
        return Err(format!(
            "downloading {title} failed: HTTP {}: {}",
            answer.status,
            docspace_mcp_client::dispatch::error_message(&answer.body)
        ));
    }
    Ok(answer.body.to_vec())
}

/// One page of a long text: characters `offset..offset + limit`, with a
/// closing line that says what was left out and how to ask for it (`more`
/// names the way: a tool argument, a resource URI) when the text goes on.
pub(crate) fn page(text: &str, offset: usize, limit: usize, title: &str, more: impl Fn(usize) -> String) -> String {
    let total = text.chars().count();
    let mut out: String = text.chars().skip(offset).take(limit).collect();
    let end = offset.saturating_add(limit).min(total);
    if offset >= total && total > 0 {
        return format!("[{title} has {total} characters; offset {offset} is past its end]");
    }
    if end < total {
        out.push_str(&format!(
            "\n\n[truncated: characters {offset}–{end} of {total} of {title} are above; {} for the next part]",
            more(end)
        ));
    } else if offset > 0 {
        out.push_str(&format!("\n\n[end of {title}: characters {offset}–{end} of {total}]"));
    }
    out
}

#[cfg(test)]
mod tests {
    use docspace_mcp_client::dispatch::CallError;

    use super::{is_not_found, page};

    #[test]
    fn a_404_is_known_by_its_message() {
        let gone = CallError::Upstream { status: 404, message: "The required file was not found".into() };
        assert!(is_not_found(&gone.to_string()));
        let refused = CallError::Upstream { status: 403, message: "Access denied".into() };
        assert!(!is_not_found(&refused.to_string()));
    }

    #[test]
    fn a_page_says_what_is_left_and_how_to_ask_for_it() {
        let more = |next: usize| format!("offset={next}");
        assert_eq!(page("abcdef", 0, 10, "f", more), "abcdef", "a short text is whole, with no marker");
        let first = page("abcdef", 0, 4, "f", more);
        assert!(first.starts_with("abcd\n\n[truncated: characters 0–4 of 6 of f"), "{first}");
        assert!(first.contains("offset=4"), "{first}");
        let last = page("abcdef", 4, 4, "f", more);
        assert!(last.starts_with("ef\n\n[end of f: characters 4–6 of 6]"), "{last}");
        assert!(page("abcdef", 9, 4, "f", more).contains("past its end"));
        // Characters, not bytes: a page never splits one.
        assert!(page("ééé", 1, 1, "f", more).starts_with("é\n\n"), "{}", page("ééé", 1, 1, "f", more));
    }
}
