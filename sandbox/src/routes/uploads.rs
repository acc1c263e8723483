//! Uploads: a multipart file into a folder or My documents, and chunked
//! upload sessions, whose chunks arrive through `uploadSession` or through
//! DocSpace's `ChunkedUploader.ashx` (where a session's `location` points).

use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Shared, St, answer, body_of, ok, refuse, str_of, try_store};
use crate::store::{Chunked, MY_DOCUMENTS, Refusal};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UploadQuery {
    create_new_if_exist: Option<bool>,
}

/// The first file part of a multipart body: its file name, if any, and bytes.
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

/// Stores the uploaded file. The answer is a list of files, as the
/// description has it (`FileIntegerArrayWrapper`).
async fn upload_into(s: &Shared, folder: i64, q: UploadQuery, form: Multipart) -> Response {
    let (name, data) = match first_file(form).await {
        Ok(f) => f,
        Err(r) => return refuse(&r),
    };
    let name = name.unwrap_or_else(|| "Upload.bin".into());
    let create_new = q.create_new_if_exist.unwrap_or(false);
    answer(try_store(s, |st| st.store_upload(folder, &name, &data, create_new)).map(|file| json!([file])))
}

/// `uploadFile`.
pub(super) async fn to_folder(
    State(s): St,
    Path(id): Path<i64>,
    Query(q): Query<UploadQuery>,
    form: Multipart,
) -> Response {
    upload_into(&s, id, q, form).await
}

/// `uploadFileToMy`.
pub(super) async fn to_my_documents(State(s): St, Query(q): Query<UploadQuery>, form: Multipart) -> Response {
    upload_into(&s, MY_DOCUMENTS, q, form).await
}

/// `createUploadSession`: the session, and where to send its chunks.
pub(super) async fn create_session(State(s): St, Path(id): Path<i64>, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(&body)?;
        let size = b.get("fileSize").and_then(Value::as_u64).ok_or_else(|| Refusal::bad("`fileSize` is required"))?;
        let create_new = b.get("createNewIfExist").and_then(Value::as_bool).unwrap_or(false);
        let session = try_store(&s, |st| st.create_upload(id, str_of(&b, "fileName"), size, create_new))?;
        let location = format!("{}/ChunkedUploader.ashx?uid={session}", s.base_url);
        Ok(json!({"success": true, "data": {
            "id": session, "path": [id], "created": "2025-06-02T09:30:00", "expired": "2025-06-03T09:30:00",
            "location": location, "bytes_total": size,
        }}))
    };
    answer(run())
}

/// `uploadSession`: a chunk; the file once the last one arrives.
pub(super) async fn session_chunk(
    State(s): St,
    Path((_folder, session)): Path<(i64, String)>,
    form: Multipart,
) -> Response {
    let chunk = match first_file(form).await {
        Ok((_, c)) => c,
        Err(r) => return refuse(&r),
    };
    match try_store(&s, |st| st.upload_chunk(&session, &chunk)) {
        Ok(Chunked::Partial(received)) => ok(json!({"bytesUploaded": received, "file": null})),
        Ok(Chunked::Done(file, received)) => ok(json!({"bytesUploaded": received, "file": file})),
        Err(r) => refuse(&r),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct UidQuery {
    uid: Option<String>,
}

/// `POST /ChunkedUploader.ashx?uid=…`, with its own envelope: `{success, data}`
/// (201 and the file at the end), or `{success: false, message}`.
pub(super) async fn chunked_uploader(State(s): St, Query(q): Query<UidQuery>, form: Multipart) -> Response {
    let result = match (q.uid, first_file(form).await) {
        (None, _) => Err(Refusal::bad("`uid` is required")),
        (_, Err(r)) => Err(r),
        (Some(uid), Ok((_, chunk))) => try_store(&s, |st| st.upload_chunk(&uid, &chunk)),
    };
    match result {
        Ok(Chunked::Done(file, _)) => {
            (StatusCode::CREATED, axum::Json(json!({"success": true, "data": file}))).into_response()
        }
        Ok(Chunked::Partial(received)) => {
            axum::Json(json!({"success": true, "data": {"bytes_uploaded": received}})).into_response()
        }
        Err(r) => (
            StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST),
            axum::Json(json!({"success": false, "message": r.message})),
        )
            .into_response(),
    }
}
