//! The sandbox's HTTP surface: DocSpace's paths and envelopes over the
//! [`Store`], one file per area. [`ROUTES`] lists every operation of the
//! OpenAPI description the sandbox implements, by operationId, method and
//! path as the description writes them, with its handler: the router is
//! built from it, and [`operations()`] hands it to the drift test, so no
//! operation is served without being checked against the description.
//!
//! Every request but OAuth's needs one of the sandbox credentials or an
//! access token from its OAuth server ([`guard`]); unknown operations get
//! a 501 in DocSpace's error envelope naming what the sandbox implements, and `/sandbox/faults` makes the next matching
//! requests fail, hang, drop the connection, answer slowly or answer an
//! HTTP-200 error envelope.

mod files;
mod guard;
mod operations;
mod people;
mod rooms;
mod uploads;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, get, on, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};

pub use guard::Fault;
pub(crate) use guard::Faults;

use crate::oauth::OAuthState;
use crate::store::{Refusal, Search, Store};

/// Largest request body (chunks of an upload session are up to 10 MiB).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// What the handlers share.
pub(crate) struct Shared {
    pub(crate) store: Mutex<Store>,
    /// The sandbox's own address, for the URLs it hands out.
    pub(crate) base_url: String,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) oauth: Mutex<OAuthState>,
    /// The latest requests that carried a W3C trace context.
    pub(crate) traced: Mutex<std::collections::VecDeque<Traced>>,
}

/// A request that carried a `traceparent` header, as the sandbox saw it
/// (so that tests can check that a client's trace context reached DocSpace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traced {
    /// Its method.
    pub method: String,
    /// Its path.
    pub path: String,
    /// Its `traceparent`.
    pub traceparent: String,
    /// Its `tracestate`, if any.
    pub tracestate: Option<String>,
}

/// How many traced requests are kept (the oldest go first).
const TRACED_KEPT: usize = 1000;

/// Records the trace context of every request that carries one.
async fn record_trace(State(s): St, request: axum::extract::Request, next: middleware::Next) -> Response {
    record(&s, &request);
    next.run(request).await
}

fn record(s: &Shared, request: &axum::extract::Request) {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let Some(traceparent) = header("traceparent") else { return };
    let Ok(mut traced) = s.traced.lock() else { return };
    if traced.len() >= TRACED_KEPT {
        traced.pop_front();
    }
    traced.push_back(Traced {
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
        traceparent,
        tracestate: header("tracestate"),
    });
}

type St = State<Arc<Shared>>;

/// An operation of the DocSpace OpenAPI description that the sandbox implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// Its operationId.
    pub id: &'static str,
    /// Its HTTP method, upper case.
    pub method: &'static str,
    /// Its path template, as the description writes it.
    pub path: &'static str,
}

#[derive(Clone, Copy)]
enum Verb {
    Get,
    Post,
    Put,
    Delete,
}

use Verb::{Delete, Get, Post, Put};

impl Verb {
    fn name(self) -> &'static str {
        match self {
            Get => "GET",
            Post => "POST",
            Put => "PUT",
            Delete => "DELETE",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Get => MethodFilter::GET,
            Post => MethodFilter::POST,
            Put => MethodFilter::PUT,
            Delete => MethodFilter::DELETE,
        }
    }
}

/// One implemented operation and its handler (given the method to answer).
struct Route {
    id: &'static str,
    verb: Verb,
    path: &'static str,
    handler: fn(MethodFilter) -> MethodRouter<Arc<Shared>>,
}

const fn route(
    id: &'static str,
    verb: Verb,
    path: &'static str,
    handler: fn(MethodFilter) -> MethodRouter<Arc<Shared>>,
) -> Route {
    Route { id, verb, path, handler }
}

/// Every operation the sandbox implements.
const ROUTES: &[Route] = &[
    // People.
    route("getSelfProfile", Get, "/api/2.0/people/@self", |m| on(m, people::me)),
    route("getAllProfiles", Get, "/api/2.0/people", |m| on(m, people::list)),
    route("searchUsersByExtendedFilter", Get, "/api/2.0/people/filter", |m| on(m, people::list)),
    route("getSimpleByFilter", Get, "/api/2.0/people/simple/filter", |m| on(m, people::list)),
    route("getGroups", Get, "/api/2.0/group", |m| on(m, people::groups)),
    route("getGroup", Get, "/api/2.0/group/{id}", |m| on(m, people::group)),
    // Files and folders.
    route("getMyFolder", Get, "/api/2.0/files/@my", |m| on(m, files::my_documents)),
    route("getTrashFolder", Get, "/api/2.0/files/@trash", |m| on(m, files::trash)),
    route("getFolderByFolderId", Get, "/api/2.0/files/{folderId}", |m| on(m, files::content)),
    route("getFilesSettings", Get, "/api/2.0/files/settings", |m| on(m, files::settings)),
    route("getFolderInfo", Get, "/api/2.0/files/folder/{folderId}", |m| on(m, files::folder_info)),
    route("createFolder", Post, "/api/2.0/files/folder/{folderId}", |m| on(m, files::create_folder)),
    route("renameFolder", Put, "/api/2.0/files/folder/{folderId}", |m| on(m, files::rename_folder)),
    route("deleteFolder", Delete, "/api/2.0/files/folder/{folderId}", |m| on(m, files::delete_folder)),
    route("getFileInfo", Get, "/api/2.0/files/file/{fileId}", |m| on(m, files::file_info)),
    route("updateFile", Put, "/api/2.0/files/file/{fileId}", |m| on(m, files::update_file)),
    route("deleteFile", Delete, "/api/2.0/files/file/{fileId}", |m| on(m, files::delete_file)),
    route("createFile", Post, "/api/2.0/files/{folderId}/file", |m| on(m, files::create_file)),
    route("getFileVersionInfo", Get, "/api/2.0/files/file/{fileId}/history", |m| on(m, files::versions)),
    route("restoreFileVersion", Post, "/api/2.0/files/file/{fileId}/restoreversion", |m| on(m, files::restore_version)),
    route("getRecentFolder", Get, "/api/2.0/files/recent", |m| on(m, files::recent)),
    route("addFileToRecent", Post, "/api/2.0/files/file/{fileId}/recent", |m| on(m, files::add_recent)),
    route("getFileLinks", Get, "/api/2.0/files/file/{id}/links", |m| on(m, files::links)),
    route("setFileExternalLink", Put, "/api/2.0/files/file/{id}/links", |m| on(m, files::set_link)),
    // Rooms.
    route("getRoomsFolder", Get, "/api/2.0/files/rooms", |m| on(m, rooms::list)),
    route("createRoom", Post, "/api/2.0/files/rooms", |m| on(m, rooms::create)),
    route("getRoomInfo", Get, "/api/2.0/files/rooms/{id}", |m| on(m, rooms::info)),
    route("updateRoom", Put, "/api/2.0/files/rooms/{id}", |m| on(m, rooms::update)),
    route("deleteRoom", Delete, "/api/2.0/files/rooms/{id}", |m| on(m, rooms::delete)),
    route("archiveRoom", Put, "/api/2.0/files/rooms/{id}/archive", |m| on(m, rooms::archive)),
    route("unarchiveRoom", Put, "/api/2.0/files/rooms/{id}/unarchive", |m| on(m, rooms::unarchive)),
    route("getRoomSecurityInfo", Get, "/api/2.0/files/rooms/{id}/share", |m| on(m, rooms::members)),
    route("setRoomSecurity", Put, "/api/2.0/files/rooms/{id}/share", |m| on(m, rooms::share)),
    route("getRoomLinks", Get, "/api/2.0/files/rooms/{id}/links", |m| on(m, rooms::links)),
    route("setRoomLink", Put, "/api/2.0/files/rooms/{id}/links", |m| on(m, rooms::set_link)),
    // File operations.
    route("getOperationStatuses", Get, "/api/2.0/files/fileops", |m| on(m, operations::statuses)),
    route("copyBatchItems", Put, "/api/2.0/files/fileops/copy", |m| on(m, operations::copy)),
    route("moveBatchItems", Put, "/api/2.0/files/fileops/move", |m| on(m, operations::move_items)),
    route("deleteBatchItems", Put, "/api/2.0/files/fileops/delete", |m| on(m, operations::delete)),
    route("emptyTrash", Put, "/api/2.0/files/fileops/emptytrash", |m| on(m, operations::empty_trash)),
    route("bulkDownload", Put, "/api/2.0/files/fileops/bulkdownload", |m| on(m, operations::bulk_download)),
    // Uploads.
    route("uploadFile", Post, "/api/2.0/files/{folderId}/upload", |m| on(m, uploads::to_folder)),
    route("uploadFileToMy", Post, "/api/2.0/files/@my/upload", |m| on(m, uploads::to_my_documents)),
    route("createUploadSession", Post, "/api/2.0/files/{folderId}/upload/create_session", |m| {
        on(m, uploads::create_session)
    }),
    route("uploadSession", Post, "/api/2.0/files/{folderId}/session/{sessionId}", |m| on(m, uploads::session_chunk)),
];

/// The operations of the DocSpace OpenAPI description the sandbox implements.
pub fn operations() -> impl Iterator<Item = Operation> {
    ROUTES.iter().map(|r| Operation { id: r.id, method: r.verb.name(), path: r.path })
}

/// The router: [`ROUTES`], a few paths outside the description, the guards,
/// and the OAuth authorization server.
pub(crate) fn app(shared: Arc<Shared>) -> Router {
    let api = ROUTES
        .iter()
        .fold(Router::new(), |router, r| router.route(r.path, (r.handler)(r.verb.filter())))
        // Not in the description: DocSpace's chunk endpoint (createUploadSession's `location`),
        // and the sandbox's own converted downloads and fault injection.
        .route("/ChunkedUploader.ashx", post(uploads::chunked_uploader))
        .route("/sandbox/download/{token}", get(operations::download))
        .route("/sandbox/faults", post(guard::add_fault))
        .fallback(guard::unknown)
        .method_not_allowed_fallback(guard::unknown)
        .layer(middleware::from_fn_with_state(shared.clone(), guard::faults))
        .layer(middleware::from_fn_with_state(shared.clone(), guard::authenticate));
    api.layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared.clone())
        .merge(crate::oauth::routes(shared.clone()))
        .layer(middleware::from_fn_with_state(shared, record_trace))
}

/// DocSpace's success envelope around `response`.
fn ok(response: Value) -> Response {
    let count = response.as_array().map_or(1, Vec::len);
    axum::Json(json!({"response": response, "count": count, "links": [], "status": 0, "statusCode": 200}))
        .into_response()
}

/// DocSpace's error envelope, with the matching status.
fn refuse(r: &Refusal) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, axum::Json(json!({"status": 1, "statusCode": r.status, "error": {"message": r.message}}))).into_response()
}

fn answer(result: Result<Value, Refusal>) -> Response {
    match result {
        Ok(v) => ok(v),
        Err(r) => refuse(&r),
    }
}

/// Runs a store operation that can itself refuse.
fn try_store<T>(s: &Shared, f: impl FnOnce(&mut Store) -> Result<T, Refusal>) -> Result<T, Refusal> {
    with_store(s, f).and_then(|r| r)
}

fn with_store<T>(s: &Shared, f: impl FnOnce(&mut Store) -> T) -> Result<T, Refusal> {
    let mut guard = s.store.lock().map_err(|_| Refusal { status: 500, message: "sandbox state is poisoned".into() })?;
    Ok(f(&mut guard))
}

/// A JSON object body (an empty body is an empty object).
fn body_of(bytes: &Bytes) -> Result<Map<String, Value>, Refusal> {
    if bytes.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Refusal::bad("The request body is not a JSON object")),
    }
}

fn str_of<'a>(m: &'a Map<String, Value>, k: &str) -> &'a str {
    m.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// A number, or a string holding one (ASP.NET binds both).
fn int_of(m: &Map<String, Value>, k: &str) -> Option<i64> {
    m.get(k).and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
}

fn ids_of(m: &Map<String, Value>, k: &str) -> Vec<i64> {
    m.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok())).collect())
        .unwrap_or_default()
}

/// Paging and filtering query parameters.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Paging {
    #[serde(default)]
    filter_value: Option<String>,
    #[serde(default)]
    start_index: Option<usize>,
    #[serde(default)]
    count: Option<usize>,
}

impl Paging {
    /// The filter, the start and the page size (100 unless asked, at most 1000).
    fn parts(&self) -> (String, usize, usize) {
        (
            self.filter_value.clone().unwrap_or_default(),
            self.start_index.unwrap_or(0),
            self.count.unwrap_or(100).min(1000),
        )
    }
}

/// The filters of a folder listing besides the text (`Paging`'s
/// `filterValue`); a separate extractor, since serde_urlencoded cannot read
/// numbers through `flatten`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Filters {
    #[serde(default)]
    filter_type: Option<i64>,
    #[serde(default)]
    apply_filter_option: Option<i64>,
    #[serde(default)]
    with_sub_folders: Option<bool>,
}

impl Filters {
    fn search(&self, p: &Paging) -> Search {
        Search {
            text: p.filter_value.clone().unwrap_or_default(),
            filter_type: self.filter_type.unwrap_or(0),
            apply_option: self.apply_filter_option.unwrap_or(0),
            with_subfolders: self.with_sub_folders.unwrap_or(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn shared() -> Arc<Shared> {
        Arc::new(Shared {
            store: Mutex::new(Store::seeded()),
            base_url: "http://127.0.0.1:1".into(),
            faults: Mutex::new(Faults::default()),
            oauth: Mutex::new(OAuthState::default()),
            traced: Mutex::default(),
        })
    }

    #[test]
    fn the_route_table_builds_a_router_and_names_each_operation_once() {
        let _ = app(shared()); // axum panics on overlapping routes
        let ids: BTreeSet<&str> = operations().map(|o| o.id).collect();
        assert_eq!(ids.len(), ROUTES.len());
        let routes: BTreeSet<(&str, &str)> = operations().map(|o| (o.method, o.path)).collect();
        assert_eq!(routes.len(), ROUTES.len());
        assert!(operations().all(|o| o.path.starts_with("/api/2.0/")));
    }

    #[test]
    fn bodies_and_numbers_are_read_as_asp_net_binds_them() {
        let b = body_of(&Bytes::from_static(br#"{"a": "7", "b": 8, "ids": [1, "2", "x"], "t": "T"}"#)).unwrap();
        assert_eq!((int_of(&b, "a"), int_of(&b, "b"), int_of(&b, "t")), (Some(7), Some(8), None));
        assert_eq!(ids_of(&b, "ids"), [1, 2]);
        assert_eq!((str_of(&b, "t"), str_of(&b, "none")), ("T", ""));
        assert!(body_of(&Bytes::new()).unwrap().is_empty());
        assert_eq!(body_of(&Bytes::from_static(b"[1]")).unwrap_err().status, 400);
    }
}
