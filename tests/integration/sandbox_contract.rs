//! The sandbox against the OpenAPI description. Every operation the sandbox
//! implements (`sandbox::operations()`, the table its router is built from)
//! is called through the generated client, the way tools call it, and every
//! answer must decode into the description's response type: JSON operations
//! through `dispatch`, which flags an answer that does not decode
//! (`Output::Json { mismatch: Some(..) }`), multipart ones decoded here into
//! their generated types, and a folder's items as the file and folder DTOs
//! DocSpace sends there. Reaching the sandbox's handler at all shows the
//! table's method and path are the description's (a wrong one would get the
//! sandbox's 404). The test fails when the sandbox gains an operation it
//! does not call.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use base64::Engine as _;
use docspace_mcp::sandbox::{self, Sandbox};
use docspace_mcp_client::dispatch::{Args, Output};
use docspace_mcp_client::reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use docspace_mcp_client::{Client, dispatch, multipart, types};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Calls operations and keeps what went wrong, so one run lists every drift.
struct Contract {
    client: Client,
    called: BTreeSet<&'static str>,
    drift: Vec<String>,
}

impl Contract {
    fn new(portal: &Sandbox) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {}", sandbox::API_KEY)).unwrap());
        let http = docspace_mcp_client::tls::builder().timeout(Duration::from_secs(10)).build().unwrap();
        let client = Client::with_headers(portal.base_url(), http, headers);
        Self { client, called: BTreeSet::new(), drift: Vec::new() }
    }

    /// Calls `operation` with `args` and returns the answer's `response`
    /// (`Null` after a drift, which is recorded).
    async fn call(&mut self, operation: &'static str, args: Value) -> Value {
        self.called.insert(operation);
        let args: Args = args.as_object().cloned().unwrap();
        let multipart = multipart::operation(operation);
        let outcome = match multipart {
            Some(op) => multipart::send(&self.client, op, &args).await,
            None => dispatch(&self.client, operation, &args).await,
        };
        let (status, value, mismatch) = match outcome {
            Ok(Output::Json { status, value, mismatch }) => (status, value, mismatch),
            Ok(other) => return self.drifted(operation, format!("answered something other than JSON: {other:?}")),
            Err(e) => return self.drifted(operation, format!("failed: {e}")),
        };
        let mismatch = match multipart {
            Some(_) => mismatch.or_else(|| decode_multipart_answer(operation, &value).err()),
            None => mismatch,
        };
        let mismatch = mismatch.or_else(|| decode_listing_items(&value).err());
        if let Some(m) = mismatch {
            return self.drifted(operation, format!("does not decode into the description's type: {m}\n    {value}"));
        }
        if status != 200 {
            return self.drifted(operation, format!("answered HTTP {status}, where the description has 200"));
        }
        value.get("response").cloned().unwrap_or(Value::Null)
    }

    fn drifted(&mut self, operation: &str, why: String) -> Value {
        self.drift.push(format!("{operation}: {why}"));
        Value::Null
    }
}

/// Decodes a multipart operation's answer into its generated type (the
/// multipart client returns JSON without decoding it).
fn decode_multipart_answer(operation: &str, value: &Value) -> Result<(), String> {
    fn decode<T: DeserializeOwned>(value: &Value) -> Result<(), String> {
        serde_json::from_value::<T>(value.clone()).map(drop).map_err(|e| e.to_string())
    }
    match operation {
        "uploadFile" | "uploadFileToMy" => decode::<types::FileIntegerArrayWrapper>(value),
        "uploadSession" => decode::<types::UploadSessionResponseIntegerWrapper>(value),
        other => Err(format!("no decode check for the multipart operation {other}: add its type here")),
    }
}

/// A folder's content types its items as `FileEntryBaseDto` (no `id`, all
/// optional), which would let almost anything through; DocSpace sends
/// `FileDtoInteger` and `FolderDtoInteger` there, so hold the sandbox to those.
fn decode_listing_items(value: &Value) -> Result<(), String> {
    let response = &value["response"];
    let (Some(files), Some(folders)) = (response["files"].as_array(), response["folders"].as_array()) else {
        return Ok(());
    };
    for file in files {
        serde_json::from_value::<types::FileDtoInteger>(file.clone()).map_err(|e| format!("files[]: {e}"))?;
    }
    for folder in folders {
        serde_json::from_value::<types::FolderDtoInteger>(folder.clone()).map_err(|e| format!("folders[]: {e}"))?;
    }
    Ok(())
}

/// The `id` of an entry (0, which the sandbox does not know, after a drift).
fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_default()
}

/// The entry titled `title` in a list of entries.
fn named<'a>(list: &'a Value, title: &str) -> Option<&'a Value> {
    list.as_array().into_iter().flatten().find(|e| e["title"] == title || e["email"] == title)
}

fn file_part(name: Option<&str>, bytes: &[u8]) -> Value {
    let content = base64::engine::general_purpose::STANDARD.encode(bytes);
    match name {
        Some(name) => json!({"File": {"filename": name, "content_base64": content}}),
        None => json!({"File": {"content_base64": content}}),
    }
}

#[tokio::test]
async fn every_sandbox_answer_decodes_into_the_descriptions_types() {
    let portal = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.unwrap();
    let mut c = Contract::new(&portal);

    // People.
    assert_eq!(c.call("getSelfProfile", json!({})).await["email"], sandbox::USERNAME);
    let people = c.call("getAllProfiles", json!({})).await;
    let sam = named(&people, "sam.lee@sandbox.example").map(|p| p["id"].clone()).unwrap_or_default();
    c.call("searchUsersByExtendedFilter", json!({"filterValue": "sam", "count": 1})).await;
    c.call("getSimpleByFilter", json!({"startIndex": 1})).await;
    let groups = c.call("getGroups", json!({"userId": sam, "count": 10})).await;
    let group = groups[0]["id"].clone();
    c.call("getGroup", json!({"id": group, "includeMembers": true})).await;

    // Files and folders.
    let my = c.call("getMyFolder", json!({})).await;
    let my_id = id(&my["current"]);
    let welcome = named(&my["files"], "Welcome.txt").map_or(0, id);
    c.call("getTrashFolder", json!({})).await;
    c.call("getFilesSettings", json!({})).await;
    let folder = id(&c.call("createFolder", json!({"folderId": my_id, "body": {"title": "Contract"}})).await);
    c.call("renameFolder", json!({"folderId": folder, "body": {"title": "Contract 2"}})).await;
    c.call("getFolderInfo", json!({"folderId": folder})).await;
    c.call("getFolderByFolderId", json!({"folderId": my_id, "count": 1, "startIndex": 1})).await;
    let search = json!({"folderId": my_id, "filterValue": "road", "withSubFolders": true, "filterType": 3});
    let found = c.call("getFolderByFolderId", search).await;
    let roadmap = named(&found["files"], "Roadmap.docx").map_or(0, id);
    c.call("addFileToRecent", json!({"fileId": roadmap})).await;
    c.call("getRecentFolder", json!({"filterType": 3, "filterValue": "road", "count": 5})).await;
    c.call("getFileInfo", json!({"fileId": welcome})).await;
    c.call("updateFile", json!({"fileId": welcome, "body": {"title": "Hello"}})).await;
    let doc = id(&c.call("createFile", json!({"folderId": folder, "body": {"title": "Blank.docx"}})).await);
    c.call("uploadFileToMy", json!({"body": file_part(Some("Hello.txt"), b"v2\n"), "createNewIfExist": false})).await;
    c.call("getFileVersionInfo", json!({"fileId": welcome})).await;
    c.call("restoreFileVersion", json!({"fileId": welcome, "version": 1})).await;
    let link = c.call("setFileExternalLink", json!({"id": doc, "body": {"access": 2, "title": "Readers"}})).await;
    c.call("getFileLinks", json!({"id": doc, "count": 10})).await;
    let revoke = json!({"id": doc, "body": {"linkId": link["sharedLink"]["id"], "access": 0}});
    c.call("setFileExternalLink", revoke).await;

    // Rooms.
    c.call("getRoomsFolder", json!({})).await;
    let room = id(&c.call("createRoom", json!({"body": {"title": "Drift", "roomType": 2}})).await);
    c.call("getRoomInfo", json!({"id": room})).await;
    c.call("updateRoom", json!({"id": room, "body": {"title": "Drift check"}})).await;
    c.call("setRoomSecurity", json!({"id": room, "body": {"invitations": [{"id": sam, "access": 10}]}})).await;
    c.call("getRoomSecurityInfo", json!({"id": room})).await;
    c.call("archiveRoom", json!({"id": room, "body": {}})).await;
    c.call("setRoomLink", json!({"id": room, "body": {"linkType": 1, "access": 2, "maxUseCount": 5}})).await;
    c.call("getRoomLinks", json!({"id": room, "type": 1})).await;
    c.call("unarchiveRoom", json!({"id": room, "body": {}})).await;
    let doomed = id(&c.call("createRoom", json!({"body": {"title": "Doomed", "roomType": 1}})).await);
    c.call("archiveRoom", json!({"id": doomed, "body": {}})).await;
    c.call("deleteRoom", json!({"id": doomed, "body": {}})).await;

    // File operations, one of them still running at its first status read.
    let transfer = json!({"fileIds": [welcome], "destFolderId": folder, "conflictResolveType": "Duplicate"});
    c.call("copyBatchItems", json!({"body": transfer})).await;
    portal.set_operation_latency(1);
    c.call("moveBatchItems", json!({"body": transfer})).await;
    c.call("getOperationStatuses", json!({})).await;
    portal.set_operation_latency(0);
    c.call("bulkDownload", json!({"body": {"fileConvertIds": [{"key": welcome, "value": ".txt"}]}})).await;

    // Uploads.
    c.call("uploadFile", json!({"folderId": folder, "body": file_part(Some("note.txt"), b"hello\n")})).await;
    c.call("uploadFileToMy", json!({"body": file_part(Some("mine.txt"), b"mine\n")})).await;
    let session = json!({"folderId": folder, "body": {"fileName": "big.bin", "fileSize": 6}});
    let session = c.call("createUploadSession", session).await["data"]["id"].clone();
    for chunk in [b"abc", b"def"] {
        let args = json!({"folderId": folder, "sessionId": session, "body": file_part(None, chunk)});
        c.call("uploadSession", args).await;
    }

    // Deleting, last.
    let notes = c.call("getFolderByFolderId", json!({"folderId": folder, "filterValue": "note"})).await;
    c.call("deleteFile", json!({"fileId": named(&notes["files"], "note.txt").map_or(0, id), "body": {}})).await;
    c.call("deleteBatchItems", json!({"body": {"fileIds": [welcome]}})).await;
    c.call("deleteFolder", json!({"folderId": folder, "body": {}})).await;
    c.call("emptyTrash", json!({})).await;

    let implemented: BTreeSet<&str> = sandbox::operations().map(|o| o.id).collect();
    let untested: Vec<&str> = implemented.difference(&c.called).copied().collect();
    assert!(untested.is_empty(), "the sandbox implements operations this test does not call: {untested:?}");
    let unimplemented: Vec<&str> = c.called.difference(&implemented).copied().collect();
    assert!(unimplemented.is_empty(), "called, but not in the sandbox's table: {unimplemented:?}");
    assert!(c.drift.is_empty(), "the sandbox's answers drift from the description:\n{}", c.drift.join("\n"));
}

#[test]
fn the_multipart_operations_are_routed_where_the_description_has_them() {
    for op in sandbox::operations() {
        if let Some(m) = multipart::operation(op.id) {
            assert_eq!((op.method, op.path), (m.method, m.path), "{}", op.id);
        } else {
            assert!(docspace_mcp_client::has_operation(op.id), "{} is not an operation of the description", op.id);
        }
    }
}
