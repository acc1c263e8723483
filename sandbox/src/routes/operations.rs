//! File operations: their statuses, copy, move, delete, empty the trash,
//! bulk download, and the converted downloads it hands out.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Shared, St, answer, body_of, ids_of, int_of, refuse, try_store, with_store};
use crate::store::{Conflict, Refusal};

#[derive(Debug, Deserialize)]
pub(super) struct OperationQuery {
    id: Option<String>,
}

/// `getOperationStatuses`: every operation's, or `id`'s.
pub(super) async fn statuses(State(s): St, Query(q): Query<OperationQuery>) -> Response {
    answer(with_store(&s, |st| Value::Array(st.read_operations(q.id.as_deref()))))
}

/// `conflictResolveType`, by name or number (ASP.NET binds enums from both);
/// duplicate unless given.
fn conflict(b: &serde_json::Map<String, Value>) -> Conflict {
    match b.get("conflictResolveType").and_then(Value::as_str) {
        Some("Skip") => Conflict::Skip,
        Some("Overwrite") => Conflict::Overwrite,
        Some("Duplicate") => Conflict::Duplicate,
        _ => match int_of(b, "conflictResolveType") {
            Some(0) => Conflict::Skip,
            Some(1) => Conflict::Overwrite,
            _ => Conflict::Duplicate,
        },
    }
}

fn transfer(s: &Shared, body: &Bytes, copy: bool) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(body)?;
        let dest = int_of(&b, "destFolderId").ok_or_else(|| Refusal::bad("`destFolderId` is required"))?;
        let (files, folders) = (ids_of(&b, "fileIds"), ids_of(&b, "folderIds"));
        try_store(s, |st| st.transfer(&files, &folders, dest, copy, conflict(&b)).map(|op| json!([op])))
    };
    answer(run())
}

pub(super) async fn copy(State(s): St, body: Bytes) -> Response {
    transfer(&s, &body, true)
}

pub(super) async fn move_items(State(s): St, body: Bytes) -> Response {
    transfer(&s, &body, false)
}

pub(super) async fn delete(State(s): St, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(&body)?;
        let (files, folders) = (ids_of(&b, "fileIds"), ids_of(&b, "folderIds"));
        let immediately = b.get("immediately").and_then(Value::as_bool) == Some(true);
        try_store(&s, |st| st.delete(&files, &folders, immediately).map(|op| json!([op])))
    };
    answer(run())
}

pub(super) async fn empty_trash(State(s): St) -> Response {
    answer(with_store(&s, |st| json!([st.empty_trash()])))
}

/// `bulkDownload`: `fileIds` as they are, `fileConvertIds` (`{key, value}`)
/// converted to the extension in `value`.
pub(super) async fn bulk_download(State(s): St, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(&body)?;
        let mut files: Vec<(i64, Option<String>)> = ids_of(&b, "fileIds").into_iter().map(|i| (i, None)).collect();
        for item in b.get("fileConvertIds").and_then(Value::as_array).into_iter().flatten() {
            let key = item.get("key").and_then(|k| k.as_i64().or_else(|| k.as_str()?.parse().ok()));
            let key = key.ok_or_else(|| Refusal::bad("fileConvertIds[].key must be a file id"))?;
            files.push((key, item.get("value").and_then(Value::as_str).map(str::to_owned)));
        }
        try_store(&s, |st| st.bulk_download(&s.base_url, &files).map(|op| json!([op])))
    };
    answer(run())
}

/// `GET /sandbox/download/{token}`: what a bulk download made.
pub(super) async fn download(State(s): St, Path(token): Path<String>) -> Response {
    match with_store(&s, |st| st.downloads.get(&token).cloned()) {
        Ok(Some((name, bytes))) => {
            let disposition = format!("attachment; filename=\"{}\"", name.replace('"', ""));
            let headers = [
                (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
                (header::CONTENT_DISPOSITION, disposition),
            ];
            (headers, bytes).into_response()
        }
        Ok(None) => refuse(&Refusal::not_found("download")),
        Err(r) => refuse(&r),
    }
}
