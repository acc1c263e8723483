//! Files and folders: folder content (My documents, the trash, any folder,
//! searched below it with DocSpace's filters), the Recent section,
//! information, creating, renaming, deleting (through a file operation),
//! empty documents, versions, share links, and the conversion settings.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Filters, Paging, Shared, St, answer, body_of, int_of, ok, refuse, str_of, try_store, with_store};
use crate::store::{LinkRequest, MY_DOCUMENTS, Refusal, TRASH};

/// A folder's content, paged and filtered.
pub(super) fn listing(s: &Shared, id: i64, p: &Paging, f: &Filters) -> Response {
    let (_, start, count) = p.parts();
    let search = f.search(p);
    answer(try_store(s, |st| st.search_json(id, &search, start, count)))
}

pub(super) async fn my_documents(State(s): St, Query(p): Query<Paging>, Query(f): Query<Filters>) -> Response {
    listing(&s, MY_DOCUMENTS, &p, &f)
}

pub(super) async fn trash(State(s): St, Query(p): Query<Paging>, Query(f): Query<Filters>) -> Response {
    listing(&s, TRASH, &p, &f)
}

/// `getFolderByFolderId`; an id that is not a number is an unknown folder.
pub(super) async fn content(
    State(s): St,
    Path(id): Path<String>,
    Query(p): Query<Paging>,
    Query(f): Query<Filters>,
) -> Response {
    match id.parse::<i64>() {
        Ok(id) => listing(&s, id, &p, &f),
        Err(_) => refuse(&Refusal::not_found("folder")),
    }
}

/// `getRecentFolder`: the files the caller opened, the latest first.
pub(super) async fn recent(State(s): St, Query(p): Query<Paging>, Query(f): Query<Filters>) -> Response {
    let (_, start, count) = p.parts();
    let search = f.search(&p);
    answer(with_store(&s, |st| st.recent_json(&search, start, count)))
}

/// `addFileToRecent`.
pub(super) async fn add_recent(State(s): St, Path(id): Path<i64>) -> Response {
    answer(try_store(&s, |st| st.add_recent(id)))
}

/// `getFilesSettings`: which conversions there are.
pub(super) async fn settings() -> Response {
    ok(json!({"extsConvertible": {
        ".docx": [".txt", ".pdf", ".odt"], ".xlsx": [".csv", ".pdf"], ".pptx": [".pdf"], ".txt": [".docx", ".pdf"],
    }}))
}

pub(super) async fn folder_info(State(s): St, Path(id): Path<i64>) -> Response {
    answer(try_store(&s, |st| st.folder(id).map(|f| st.folder_json(f))))
}

pub(super) async fn create_folder(State(s): St, Path(id): Path<i64>, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(&body)?;
        try_store(&s, |st| st.create_folder(id, str_of(&b, "title")))
    };
    answer(run())
}

pub(super) async fn rename_folder(State(s): St, Path(id): Path<i64>, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(&body)?;
        try_store(&s, |st| st.rename(id, str_of(&b, "title"), true))
    };
    answer(run())
}

pub(super) async fn delete_folder(State(s): St, Path(id): Path<i64>, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let immediately = body_of(&body)?.get("immediately").and_then(Value::as_bool) == Some(true);
        try_store(&s, |st| st.delete(&[], &[id], immediately).map(|op| json!([op])))
    };
    answer(run())
}

pub(super) async fn file_info(State(s): St, Path(id): Path<i64>) -> Response {
    answer(try_store(&s, |st| st.file(id).map(|f| st.file_json(f))))
}

/// `updateFile`: renames it.
pub(super) async fn update_file(State(s): St, Path(id): Path<i64>, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(&body)?;
        try_store(&s, |st| st.rename(id, str_of(&b, "title"), false))
    };
    answer(run())
}

pub(super) async fn delete_file(State(s): St, Path(id): Path<i64>, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let immediately = body_of(&body)?.get("immediately").and_then(Value::as_bool) == Some(true);
        try_store(&s, |st| st.delete(&[id], &[], immediately).map(|op| json!([op])))
    };
    answer(run())
}

/// `createFile`: an empty document.
pub(super) async fn create_file(State(s): St, Path(id): Path<i64>, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(&body)?;
        try_store(&s, |st| st.create_file(id, str_of(&b, "title")))
    };
    answer(run())
}

/// `getFileVersionInfo`: newest first.
pub(super) async fn versions(State(s): St, Path(id): Path<i64>) -> Response {
    answer(try_store(&s, |st| st.versions_json(id).map(Value::Array)))
}

#[derive(Debug, Deserialize)]
pub(super) struct VersionQuery {
    version: Option<i64>,
}

/// `restoreFileVersion`: `version` becomes the current one.
pub(super) async fn restore_version(State(s): St, Path(id): Path<i64>, Query(q): Query<VersionQuery>) -> Response {
    match q.version {
        Some(v) => answer(try_store(&s, |st| st.restore_version(id, v))),
        None => refuse(&Refusal::bad("`version` is required")),
    }
}

/// `getFileLinks`, paged.
pub(super) async fn links(State(s): St, Path(id): Path<i64>, Query(p): Query<Paging>) -> Response {
    let (_, start, count) = p.parts();
    answer(try_store(&s, |st| {
        st.links(id, true, None).map(|l| l.iter().skip(start).take(count).map(|l| l.json(&s.base_url)).collect())
    }))
}

/// `setFileExternalLink`.
pub(super) async fn set_link(State(s): St, Path(id): Path<i64>, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(&body)?;
        try_store(&s, |st| st.set_link(id, true, &link_request(&b))).map(|l| l.json(&s.base_url))
    };
    answer(run())
}

/// `FileLinkRequest` or `RoomLinkRequest`.
pub(super) fn link_request(b: &Map<String, Value>) -> LinkRequest {
    let text = |k: &str| b.get(k).and_then(Value::as_str).map(str::to_owned);
    let flag = |k: &str| b.get(k).and_then(Value::as_bool);
    LinkRequest {
        link_id: text("linkId"),
        title: text("title"),
        access: int_of(b, "access"),
        link_type: int_of(b, "linkType"),
        internal: flag("internal"),
        deny_download: flag("denyDownload"),
        password: text("password"),
        expiration: text("expirationDate"),
        max_use: int_of(b, "maxUseCount"),
    }
}
