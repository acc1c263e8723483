//! The sandbox's HTTP surface: DocSpace's paths and envelopes over [`Store`].
//! Every `/api/2.0` request needs one of the sandbox credentials (or an access
//! token from its OAuth server, `super::oauth`); unknown
//! operations get DocSpace's error envelope. `/sandbox/faults` lets tests
//! make the next matching requests fail, hang or answer an HTTP-200 error
//! envelope, the way a real portal sometimes does.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::store::{self, Refusal, Store};
use super::{API_KEY, AUTH_TOKEN, PASSWORD, USERNAME};

/// Largest request body (chunks of an upload session are up to 10 MiB).
pub(super) const MAX_BODY: usize = 64 * 1024 * 1024;

/// A fault to inject into the next requests whose path starts with `path`.
#[derive(Debug, Clone, Deserialize)]
pub struct Fault {
    /// Path prefix, e.g. `/api/2.0/files/file/`.
    pub path: String,
    /// `status` (answer `status` with an error envelope), `envelope` (HTTP 200
    /// with an error envelope), `delay` (answer after `delay_ms`), `garbage`
    /// (HTTP 200 with a body that is not JSON).
    pub mode: String,
    /// For `status`.
    #[serde(default = "default_status")]
    pub status: u16,
    /// For `delay`.
    #[serde(default)]
    pub delay_ms: u64,
    /// How many requests it applies to.
    #[serde(default = "one")]
    pub times: u32,
}

fn default_status() -> u16 {
    500
}

fn one() -> u32 {
    1
}

/// What the handlers share.
pub(super) struct Shared {
    /// The portal's data.
    pub(super) store: Mutex<Store>,
    /// The sandbox's own address, for URLs it hands out.
    pub(super) base_url: OnceLock<String>,
    /// Pending faults.
    pub(super) faults: Mutex<Vec<Fault>>,
    /// The OAuth authorization server's grants and tokens.
    pub(super) oauth: Mutex<super::oauth::OAuthState>,
}

type St = State<Arc<Shared>>;

/// The router.
pub(super) fn app(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/api/2.0/people/@self", get(self_profile))
        .route("/api/2.0/people", get(people))
        .route("/api/2.0/people/filter", get(people))
        .route("/api/2.0/people/simple/filter", get(people))
        .route("/api/2.0/files/@my", get(my_documents))
        .route("/api/2.0/files/@trash", get(trash))
        .route("/api/2.0/files/@my/upload", post(upload_to_my))
        .route("/api/2.0/files/settings", get(settings))
        .route("/api/2.0/files/rooms", get(rooms).post(create_room))
        .route("/api/2.0/files/rooms/{id}", get(room_info).put(update_room))
        .route("/api/2.0/files/rooms/{id}/archive", put(archive_room))
        .route("/api/2.0/files/rooms/{id}/unarchive", put(unarchive_room))
        .route("/api/2.0/files/rooms/{id}/share", get(room_members).put(share_room))
        .route(
            "/api/2.0/files/folder/{id}",
            get(folder_info).post(create_folder).put(rename_folder).delete(delete_folder),
        )
        .route("/api/2.0/files/file/{id}", get(file_info).put(update_file).delete(delete_file))
        .route("/api/2.0/files/fileops", get(operations))
        .route("/api/2.0/files/fileops/copy", put(copy))
        .route("/api/2.0/files/fileops/move", put(move_items))
        .route("/api/2.0/files/fileops/delete", put(delete_items))
        .route("/api/2.0/files/fileops/emptytrash", put(empty_trash))
        .route("/api/2.0/files/fileops/bulkdownload", put(bulk_download))
        .route("/api/2.0/files/{id}", get(folder_content))
        .route("/api/2.0/files/{id}/upload", post(upload_file))
        .route("/api/2.0/files/{id}/upload/create_session", post(create_session))
        .route("/api/2.0/files/{id}/session/{session}", post(session_chunk))
        .route("/ChunkedUploader.ashx", post(chunked_uploader))
        .route("/sandbox/download/{token}", get(download))
        .route("/sandbox/faults", post(add_fault))
        .fallback(unknown)
        .layer(middleware::from_fn_with_state(shared.clone(), faults))
        .layer(middleware::from_fn_with_state(shared.clone(), authenticate));
    api.layer(DefaultBodyLimit::max(MAX_BODY)).with_state(shared.clone()).merge(super::oauth::routes(shared))
}

/// DocSpace's success envelope.
fn ok(response: Value) -> Response {
    let count = response.as_array().map_or(1, Vec::len);
    axum::Json(json!({"response": response, "count": count, "links": [], "status": 0, "statusCode": 200}))
        .into_response()
}

/// DocSpace's error envelope with the matching status.
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

fn base(s: &Shared) -> String {
    s.base_url.get().cloned().unwrap_or_default()
}

async fn authenticate(State(s): St, request: Request, next: Next) -> Response {
    let oauth_token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| s.oauth.lock().is_ok_and(|o| o.accepts(t.trim())));
    if oauth_token || accepted(request.headers()) {
        next.run(request).await
    } else {
        refuse(&Refusal { status: 401, message: "Unauthorized: send the sandbox API key, token or password".into() })
    }
}

/// The sandbox accepts each of the four methods docspace-mcp can send.
fn accepted(headers: &HeaderMap) -> bool {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USERNAME}:{PASSWORD}"));
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default().trim();
    let cookie_ok = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|c| c.split(';'))
        .any(|c| c.trim() == format!("asc_auth_key={AUTH_TOKEN}"));
    auth == format!("Bearer {API_KEY}") || auth == AUTH_TOKEN || auth == format!("Basic {basic}") || cookie_ok
}

async fn faults(State(s): St, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let fault = s.faults.lock().ok().and_then(|mut faults| {
        let i = faults.iter().position(|f| path.starts_with(&f.path) && f.times > 0)?;
        let f = faults.get_mut(i)?;
        f.times -= 1;
        let taken = f.clone();
        faults.retain(|f| f.times > 0);
        Some(taken)
    });
    match fault {
        None => next.run(request).await,
        Some(f) => match f.mode.as_str() {
            "delay" => {
                tokio::time::sleep(Duration::from_millis(f.delay_ms)).await;
                next.run(request).await
            }
            "envelope" => {
                axum::Json(json!({"status": 1, "statusCode": f.status, "error": {"message": "Injected failure"}}))
                    .into_response()
            }
            "garbage" => (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "{not json").into_response(),
            _ => refuse(&Refusal { status: f.status, message: "Injected failure".into() }),
        },
    }
}

async fn add_fault(State(s): St, axum::Json(fault): axum::Json<Fault>) -> Response {
    if let Ok(mut faults) = s.faults.lock() {
        faults.push(fault);
    }
    ok(json!({"added": true}))
}

async fn unknown(request: Request) -> Response {
    refuse(&Refusal {
        status: 404,
        message: format!("The sandbox does not implement {} {}", request.method(), request.uri().path()),
    })
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
    fn parts(&self) -> (String, usize, usize) {
        (
            self.filter_value.clone().unwrap_or_default(),
            self.start_index.unwrap_or(0),
            self.count.unwrap_or(100).min(1000),
        )
    }
}

async fn self_profile(State(s): St) -> Response {
    answer(try_store(&s, |st| st.me().map(store::User::full).ok_or_else(|| Refusal::not_found("user"))))
}

async fn people(State(s): St, Query(p): Query<Paging>) -> Response {
    let (filter, start, count) = p.parts();
    match with_store(&s, |st| st.people(&filter, start, count)) {
        Ok((list, total)) => axum::Json(
            json!({"response": list, "count": list.len(), "total": total, "links": [], "status": 0, "statusCode": 200}),
        )
        .into_response(),
        Err(r) => refuse(&r),
    }
}

fn content(s: &Shared, id: i64, p: &Paging) -> Response {
    let (filter, start, count) = p.parts();
    answer(try_store(s, |st| st.content_json(id, &filter, start, count)))
}

async fn my_documents(State(s): St, Query(p): Query<Paging>) -> Response {
    content(&s, store::MY_DOCUMENTS, &p)
}

async fn trash(State(s): St, Query(p): Query<Paging>) -> Response {
    content(&s, store::TRASH, &p)
}

async fn rooms(State(s): St, Query(p): Query<Paging>) -> Response {
    content(&s, store::ROOMS, &p)
}

async fn folder_content(State(s): St, Path(id): Path<String>, Query(p): Query<Paging>) -> Response {
    match id.parse::<i64>() {
        Ok(id) => content(&s, id, &p),
        Err(_) => refuse(&Refusal::not_found("folder")),
    }
}

async fn settings() -> Response {
    ok(
        json!({"extsConvertible": {".docx": [".txt", ".pdf", ".odt"], ".xlsx": [".csv", ".pdf"], ".pptx": [".pdf"], ".txt": [".docx", ".pdf"]}}),
    )
}

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

fn int_of(m: &Map<String, Value>, k: &str) -> Option<i64> {
    m.get(k).and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
}

fn ids_of(m: &Map<String, Value>, k: &str) -> Vec<i64> {
    m.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok())).collect())
        .unwrap_or_default()
}

async fn create_room(State(s): St, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(&body)?;
        let room_type = int_of(&b, "roomType").unwrap_or(6);
        try_store(&s, |st| st.create_room(str_of(&b, "title"), room_type))
    };
    answer(run())
}

async fn room_info(State(s): St, Path(id): Path<i64>) -> Response {
    answer(try_store(&s, |st| st.room(id).map(|r| st.folder_json(r))))
}

async fn update_room(State(s): St, Path(id): Path<i64>, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(&body)?;
        try_store(&s, |st| {
            st.room(id)?;
            match b.get("title").and_then(Value::as_str) {
                Some(t) => st.rename(id, t, true),
                None => st.room(id).map(|r| st.folder_json(r)),
            }
        })
    };
    answer(run())
}

async fn archive_room(State(s): St, Path(id): Path<i64>) -> Response {
    answer(try_store(&s, |st| st.archive_room(id, true)))
}

async fn unarchive_room(State(s): St, Path(id): Path<i64>) -> Response {
    answer(try_store(&s, |st| st.archive_room(id, false)))
}

async fn room_members(State(s): St, Path(id): Path<i64>) -> Response {
    answer(try_store(&s, |st| st.members_json(id).map(Value::Array)))
}

async fn share_room(State(s): St, Path(id): Path<i64>, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(&body)?;
        let invitations: Vec<(Option<String>, Option<String>, i64)> = b
            .get("invitations")
            .and_then(Value::as_array)
            .ok_or_else(|| Refusal::bad("`invitations` is required"))?
            .iter()
            .map(|i| {
                (
                    i.get("id").and_then(Value::as_str).map(str::to_owned),
                    i.get("email").and_then(Value::as_str).map(str::to_owned),
                    i.get("access").and_then(Value::as_i64).unwrap_or(2),
                )
            })
            .collect();
        try_store(&s, |st| st.share_room(id, &invitations))
    };
    answer(run())
}

async fn folder_info(State(s): St, Path(id): Path<i64>) -> Response {
    answer(try_store(&s, |st| st.folder(id).map(|f| st.folder_json(f))))
}

async fn create_folder(State(s): St, Path(id): Path<i64>, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(&body)?;
        try_store(&s, |st| st.create_folder(id, str_of(&b, "title")))
    };
    answer(run())
}

async fn rename_folder(State(s): St, Path(id): Path<i64>, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(&body)?;
        try_store(&s, |st| st.rename(id, str_of(&b, "title"), true))
    };
    answer(run())
}

async fn delete_folder(State(s): St, Path(id): Path<i64>) -> Response {
    answer(try_store(&s, |st| st.delete(&[], &[id]).map(|op| json!([op]))))
}

async fn file_info(State(s): St, Path(id): Path<i64>) -> Response {
    answer(try_store(&s, |st| st.file(id).map(|f| st.file_json(f))))
}

async fn update_file(State(s): St, Path(id): Path<i64>, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(&body)?;
        try_store(&s, |st| st.rename(id, str_of(&b, "title"), false))
    };
    answer(run())
}

async fn delete_file(State(s): St, Path(id): Path<i64>) -> Response {
    answer(try_store(&s, |st| st.delete(&[id], &[]).map(|op| json!([op]))))
}

#[derive(Debug, Deserialize)]
struct OpQuery {
    id: Option<String>,
}

async fn operations(State(s): St, Query(q): Query<OpQuery>) -> Response {
    answer(with_store(&s, |st| Value::Array(st.read_operations(q.id.as_deref()))))
}

async fn transfer(s: &Shared, body: &Bytes, copy: bool) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(body)?;
        let dest = int_of(&b, "destFolderId").ok_or_else(|| Refusal::bad("`destFolderId` is required"))?;
        // ASP.NET binds enums from names and numbers alike.
        let conflict = match b.get("conflictResolveType").and_then(Value::as_str) {
            Some("Skip") => 0,
            Some("Overwrite") => 1,
            Some("Duplicate") => 2,
            _ => int_of(&b, "conflictResolveType").unwrap_or(2),
        };
        let (files, folders) = (ids_of(&b, "fileIds"), ids_of(&b, "folderIds"));
        try_store(s, |st| st.transfer(&files, &folders, dest, copy, conflict).map(|op| json!([op])))
    };
    answer(run())
}

async fn copy(State(s): St, body: Bytes) -> Response {
    transfer(&s, &body, true).await
}

async fn move_items(State(s): St, body: Bytes) -> Response {
    transfer(&s, &body, false).await
}

async fn delete_items(State(s): St, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(&body)?;
        let (files, folders) = (ids_of(&b, "fileIds"), ids_of(&b, "folderIds"));
        try_store(&s, |st| st.delete(&files, &folders).map(|op| json!([op])))
    };
    answer(run())
}

async fn empty_trash(State(s): St) -> Response {
    answer(with_store(&s, |st| json!([st.empty_trash()])))
}

async fn bulk_download(State(s): St, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(&body)?;
        let mut files: Vec<(i64, Option<String>)> = ids_of(&b, "fileIds").into_iter().map(|i| (i, None)).collect();
        for item in b.get("fileConvertIds").and_then(Value::as_array).into_iter().flatten() {
            let key = item.get("key").and_then(|k| k.as_i64().or_else(|| k.as_str()?.parse().ok()));
            let key = key.ok_or_else(|| Refusal::bad("fileConvertIds[].key must be a file id"))?;
            files.push((key, item.get("value").and_then(Value::as_str).map(str::to_owned)));
        }
        let base = base(&s);
        try_store(&s, |st| st.bulk_download(&base, &files).map(|op| json!([op])))
    };
    answer(run())
}

async fn download(State(s): St, Path(token): Path<String>) -> Response {
    match with_store(&s, |st| st.downloads.get(&token).cloned()) {
        Ok(Some((name, bytes))) => {
            let disposition = format!("attachment; filename=\"{}\"", name.replace('"', ""));
            (
                [
                    (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                bytes,
            )
                .into_response()
        }
        Ok(None) => refuse(&Refusal::not_found("download")),
        Err(r) => refuse(&r),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UploadQuery {
    create_new_if_exist: Option<bool>,
}

/// The first file part of a multipart body.
async fn first_file(mut form: Multipart) -> Result<(Option<String>, Vec<u8>), Refusal> {
    while let Some(field) = form.next_field().await.map_err(|e| Refusal::bad(format!("Bad multipart body: {e}")))? {
        let name = field.file_name().map(str::to_owned);
        let is_file = name.is_some() || field.name().is_some_and(|n| n.eq_ignore_ascii_case("file"));
        if is_file {
            let bytes = field.bytes().await.map_err(|e| Refusal::bad(format!("Bad multipart body: {e}")))?;
            return Ok((name, bytes.to_vec()));
        }
    }
    Err(Refusal::bad("The multipart body has no file part"))
}

async fn upload_into(s: &Shared, folder: i64, create_new: bool, form: Multipart) -> Response {
    let (name, data) = match first_file(form).await {
        Ok(f) => f,
        Err(r) => return refuse(&r),
    };
    let name = name.unwrap_or_else(|| "Upload.bin".into());
    answer(try_store(s, |st| st.store_upload(folder, &name, &data, create_new)))
}

async fn upload_file(State(s): St, Path(id): Path<i64>, Query(q): Query<UploadQuery>, form: Multipart) -> Response {
    upload_into(&s, id, q.create_new_if_exist.unwrap_or(false), form).await
}

async fn upload_to_my(State(s): St, Query(q): Query<UploadQuery>, form: Multipart) -> Response {
    upload_into(&s, store::MY_DOCUMENTS, q.create_new_if_exist.unwrap_or(false), form).await
}

async fn create_session(State(s): St, Path(id): Path<i64>, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(&body)?;
        let size = b.get("fileSize").and_then(Value::as_u64).ok_or_else(|| Refusal::bad("`fileSize` is required"))?;
        let create_new = b.get("createNewIfExist").and_then(Value::as_bool).unwrap_or(false);
        let session = try_store(&s, |st| st.create_upload(id, str_of(&b, "fileName"), size, create_new))?;
        let location = format!("{}/ChunkedUploader.ashx?uid={session}", base(&s));
        Ok(
            json!({"success": true, "data": {"id": session, "path": [id], "created": "2025-06-02T09:30:00", "expired": "2025-06-03T09:30:00",
                  "location": location, "bytes_total": size}}),
        )
    };
    answer(run())
}

fn chunk_answer(result: Result<(u64, Option<Value>), Refusal>) -> Response {
    match result {
        Ok((_, Some(file))) => {
            (StatusCode::CREATED, axum::Json(json!({"success": true, "data": file}))).into_response()
        }
        Ok((received, None)) => {
            axum::Json(json!({"success": true, "data": {"bytes_uploaded": received}})).into_response()
        }
        Err(r) => (
            StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST),
            axum::Json(json!({"success": false, "message": r.message})),
        )
            .into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct UidQuery {
    uid: Option<String>,
}

async fn chunked_uploader(State(s): St, Query(q): Query<UidQuery>, form: Multipart) -> Response {
    let Some(uid) = q.uid else { return chunk_answer(Err(Refusal::bad("`uid` is required"))) };
    let chunk = match first_file(form).await {
        Ok((_, c)) => c,
        Err(r) => return chunk_answer(Err(r)),
    };
    chunk_answer(try_store(&s, |st| st.upload_chunk(&uid, &chunk)))
}

async fn session_chunk(State(s): St, Path((_folder, session)): Path<(i64, String)>, form: Multipart) -> Response {
    let chunk = match first_file(form).await {
        Ok((_, c)) => c,
        Err(r) => return refuse(&r),
    };
    match try_store(&s, |st| st.upload_chunk(&session, &chunk)) {
        Ok((received, file)) => ok(json!({"bytesUploaded": received, "file": file})),
        Err(r) => refuse(&r),
    }
}
