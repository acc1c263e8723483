//! The sandbox portal's data: people, the folder tree (My documents, rooms,
//! archive, trash), files with content, file operations, upload sessions and
//! bulk downloads. Plain data and functions; the HTTP side is `routes.rs`.
//!
//! JSON output follows the DocSpace OpenAPI description's DTOs
//! (`FileDtoInteger`, `FolderDtoInteger`, `FolderContentDtoInteger`,
//! `FileOperationDto`, `EmployeeFullDto`, …), with the members a client
//! actually reads.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// Folder ids of the system folders.
pub const MY_DOCUMENTS: i64 = 1;
/// The "Rooms" (VirtualRooms) folder.
pub const ROOMS: i64 = 2;
/// The rooms archive.
pub const ARCHIVE: i64 = 3;
/// The trash.
pub const TRASH: i64 = 4;

/// DocSpace `FolderType` values used here.
mod folder_type {
    pub(super) const DEFAULT: i64 = 0;
    pub(super) const TRASH: i64 = 3;
    pub(super) const USER: i64 = 5;
    pub(super) const VIRTUAL_ROOMS: i64 = 14;
    pub(super) const ARCHIVE: i64 = 20;
    /// Custom room (rooms use the room-type specific folder types).
    pub(super) const CUSTOM_ROOM: i64 = 19;
}

const DATE: &str = "2025-06-02T09:30:00.0000000+00:00";

/// A person.
#[derive(Debug, Clone)]
pub struct User {
    /// UUID.
    pub id: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// E-mail (also the login).
    pub email: String,
    /// Portal owner/admin.
    pub is_admin: bool,
}

impl User {
    fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// `EmployeeDto` (short form).
    pub fn summary(&self) -> Value {
        json!({"id": self.id, "displayName": self.display_name(), "avatar": "", "profileUrl": "", "hasAvatar": false, "isAnonim": false})
    }

    /// `EmployeeFullDto`.
    pub fn full(&self) -> Value {
        json!({
            "id": self.id, "displayName": self.display_name(), "firstName": self.first_name, "lastName": self.last_name,
            "userName": self.email, "email": self.email, "status": 1, "activationStatus": 1, "isAdmin": self.is_admin,
            "isOwner": self.is_admin, "isVisitor": false, "isCollaborator": false, "isRoomAdmin": false,
            "hasAvatar": false, "avatar": "", "profileUrl": "", "registrationDate": DATE, "cultureName": "en-US",
            "groups": [], "isLDAP": false, "isSSO": false,
        })
    }
}

/// A file or a folder (rooms are folders with a room type).
#[derive(Debug, Clone)]
pub struct Entry {
    /// Id.
    pub id: i64,
    /// Parent folder id (0 for roots).
    pub parent: i64,
    /// Title (files include their extension).
    pub title: String,
    /// Creator's UUID.
    pub created_by: String,
    /// File content; `None` for folders.
    pub content: Option<Vec<u8>>,
    /// File version (starts at 1).
    pub version: i64,
    /// The system folder type, for folders.
    pub folder_type: i64,
    /// The room type, for rooms.
    pub room_type: Option<i64>,
    /// Where a trashed entry came from.
    pub trashed_from: Option<i64>,
    /// Room members: user id → access level.
    pub members: BTreeMap<String, i64>,
    /// Bumped on every change.
    pub updated: u64,
}

impl Entry {
    /// Whether this is a folder.
    pub fn is_folder(&self) -> bool {
        self.content.is_none()
    }

    fn extension(&self) -> String {
        self.title.rfind('.').map(|i| self.title[i..].to_ascii_lowercase()).unwrap_or_default()
    }
}

/// A file operation (`FileOperationDto`).
#[derive(Debug, Clone)]
pub struct Operation {
    /// Id (a UUID-like string).
    pub id: String,
    /// `FileOperationType`: 0 move, 1 copy, 2 delete, 4 download, 5 archive.
    pub kind: i64,
    /// Files involved.
    pub files: Vec<i64>,
    /// Folders involved.
    pub folders: Vec<i64>,
    /// Error text, if it failed.
    pub error: Option<String>,
    /// Download URL (bulk download).
    pub url: Option<String>,
    /// How many more status reads report it unfinished.
    pub pending_reads: u32,
}

/// A chunked upload session.
#[derive(Debug, Clone)]
pub struct Upload {
    /// Target folder.
    pub folder: i64,
    /// File name.
    pub name: String,
    /// Announced size.
    pub total: u64,
    /// Received bytes.
    pub data: Vec<u8>,
    /// Create a new file on a name clash (else: a new version of the existing one).
    pub create_new: bool,
}

/// The whole portal.
#[derive(Debug)]
pub struct Store {
    /// People; the first is the caller ("@self").
    pub users: Vec<User>,
    /// Files and folders by id.
    pub entries: BTreeMap<i64, Entry>,
    /// File operations by id.
    pub operations: BTreeMap<String, Operation>,
    /// Upload sessions by id.
    pub uploads: BTreeMap<String, Upload>,
    /// Converted downloads by token.
    pub downloads: BTreeMap<String, (String, Vec<u8>)>,
    /// Status reads an operation stays unfinished for (0: finished at once).
    pub operation_latency: u32,
    next_id: i64,
    clock: u64,
}

/// A request the portal refuses; becomes DocSpace's error envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// Message.
    pub message: String,
}

impl Refusal {
    /// 404 with DocSpace's wording.
    pub fn not_found(what: &str) -> Self {
        Self { status: 404, message: format!("The required {what} was not found") }
    }

    /// 400.
    pub fn bad(message: impl Into<String>) -> Self {
        Self { status: 400, message: message.into() }
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self { status: 403, message: message.into() }
    }
}

/// Result of a store operation.
pub type Outcome<T> = Result<T, Refusal>;

impl Store {
    /// A portal seeded with realistic data.
    pub fn seeded() -> Self {
        let users = vec![
            user("8f3b1c2e-5d4a-4e6f-9a7b-1c2d3e4f5a6b", "Alex", "Morgan", "alex.morgan@sandbox.example", true),
            user("1a2b3c4d-0001-4e6f-9a7b-000000000002", "Sam", "Lee", "sam.lee@sandbox.example", false),
            user(
                "1a2b3c4d-0001-4e6f-9a7b-000000000003",
                "Priya",
                "Natarajan",
                "priya.natarajan@sandbox.example",
                false,
            ),
            user("1a2b3c4d-0001-4e6f-9a7b-000000000004", "Jonas", "Weber", "jonas.weber@sandbox.example", false),
        ];
        let me = users.first().map(|u| u.id.clone()).unwrap_or_default();
        let mut store = Self {
            users,
            entries: BTreeMap::new(),
            operations: BTreeMap::new(),
            uploads: BTreeMap::new(),
            downloads: BTreeMap::new(),
            operation_latency: 0,
            next_id: 100,
            clock: 0,
        };
        for (id, title, ty) in [
            (MY_DOCUMENTS, "My documents", folder_type::USER),
            (ROOMS, "Rooms", folder_type::VIRTUAL_ROOMS),
            (ARCHIVE, "Archive", folder_type::ARCHIVE),
            (TRASH, "Trash", folder_type::TRASH),
        ] {
            store.entries.insert(id, folder(id, 0, title, ty, &me));
        }
        let projects = store.insert_folder(MY_DOCUMENTS, "Projects", &me);
        store.insert_file(
            MY_DOCUMENTS,
            "Welcome.txt",
            b"Welcome to the DocSpace sandbox.\nEverything here lives in memory.\n",
            &me,
        );
        store.insert_file(
            projects,
            "Roadmap.docx",
            b"Roadmap 2026\n\nQ1: ship the MCP server.\nQ2: OAuth for every client.\n",
            &me,
        );
        store.insert_file(projects, "Budget.xlsx", b"Item,Cost\nServers,1200\nLicences,300\n", &me);
        let room = store.insert_room("Marketing", 2, &me);
        store.insert_file(
            room,
            "Campaign brief.docx",
            b"Campaign brief\n\nAudience: teams that write documents together.\n",
            &me,
        );
        if let Some(r) = store.entries.get_mut(&room) {
            r.members.insert("1a2b3c4d-0001-4e6f-9a7b-000000000002".into(), 10);
        }
        store.insert_room("Contracts", 1, &me);
        store
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn new_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// A fresh opaque id.
    pub fn token(&mut self, prefix: &str) -> String {
        let n = self.new_id();
        format!("{prefix}-{n:08x}-7c1e-4b5a-9d3f-{:012x}", self.tick())
    }

    /// The caller.
    pub fn me(&self) -> Option<&User> {
        self.users.first()
    }

    fn my_id(&self) -> String {
        self.me().map(|u| u.id.clone()).unwrap_or_default()
    }

    /// Creates a folder.
    pub fn insert_folder(&mut self, parent: i64, title: &str, by: &str) -> i64 {
        let id = self.new_id();
        let mut f = folder(id, parent, title, folder_type::DEFAULT, by);
        f.updated = self.tick();
        self.entries.insert(id, f);
        id
    }

    /// Creates a file.
    pub fn insert_file(&mut self, parent: i64, title: &str, content: &[u8], by: &str) -> i64 {
        let id = self.new_id();
        let updated = self.tick();
        self.entries.insert(
            id,
            Entry {
                id,
                parent,
                title: title.to_owned(),
                created_by: by.to_owned(),
                content: Some(content.to_vec()),
                version: 1,
                folder_type: 0,
                room_type: None,
                trashed_from: None,
                members: BTreeMap::new(),
                updated,
            },
        );
        id
    }

    /// Creates a room.
    pub fn insert_room(&mut self, title: &str, room_type: i64, by: &str) -> i64 {
        let id = self.insert_folder(ROOMS, title, by);
        if let Some(r) = self.entries.get_mut(&id) {
            r.room_type = Some(room_type);
            r.folder_type = folder_type::CUSTOM_ROOM;
            r.members.insert(by.to_owned(), 9);
        }
        id
    }

    /// An entry that is a folder.
    pub fn folder(&self, id: i64) -> Outcome<&Entry> {
        self.entries.get(&id).filter(|e| e.is_folder()).ok_or_else(|| Refusal::not_found("folder"))
    }

    /// An entry that is a file.
    pub fn file(&self, id: i64) -> Outcome<&Entry> {
        self.entries.get(&id).filter(|e| !e.is_folder()).ok_or_else(|| Refusal::not_found("file"))
    }

    /// An entry that is a room.
    pub fn room(&self, id: i64) -> Outcome<&Entry> {
        self.entries.get(&id).filter(|e| e.room_type.is_some()).ok_or_else(|| Refusal::not_found("room"))
    }

    fn children(&self, id: i64) -> impl Iterator<Item = &Entry> {
        self.entries.values().filter(move |e| e.parent == id)
    }

    fn is_within(&self, id: i64, ancestor: i64) -> bool {
        let mut cur = Some(id);
        for _ in 0..64 {
            match cur {
                Some(c) if c == ancestor => return true,
                Some(c) => cur = self.entries.get(&c).map(|e| e.parent).filter(|p| *p != 0),
                None => return false,
            }
        }
        false
    }

    fn root_of(&self, id: i64) -> i64 {
        let mut cur = id;
        for _ in 0..64 {
            match self.entries.get(&cur) {
                Some(e) if e.parent != 0 => cur = e.parent,
                _ => break,
            }
        }
        cur
    }

    /// `FileDtoInteger`.
    pub fn file_json(&self, e: &Entry) -> Value {
        let size = e.content.as_ref().map_or(0, Vec::len);
        let author = self.user_summary(&e.created_by);
        json!({
            "id": e.id, "title": e.title, "folderId": e.parent, "version": e.version, "versionGroup": e.version,
            "contentLength": format!("{size} bytes"), "pureContentLength": size, "fileExst": e.extension(),
            "fileType": file_type(&e.extension()), "fileStatus": 0, "fileEntryType": 2, "access": 0, "shared": false,
            "rootFolderId": self.root_of(e.id), "rootFolderType": self.entries.get(&self.root_of(e.id)).map_or(0, |r| r.folder_type),
            "created": DATE, "updated": date(e.updated), "createdBy": author, "updatedBy": author,
            "viewUrl": format!("/filehandler.ashx?action=view&fileid={}", e.id), "webUrl": format!("/doceditor?fileid={}", e.id),
            "canShare": true, "security": {"Read": true, "Edit": true, "Delete": true},
        })
    }

    /// `FolderDtoInteger`.
    pub fn folder_json(&self, e: &Entry) -> Value {
        let author = self.user_summary(&e.created_by);
        let mut v = json!({
            "id": e.id, "title": e.title, "parentId": e.parent, "filesCount": self.children(e.id).filter(|c| !c.is_folder()).count(),
            "foldersCount": self.children(e.id).filter(|c| c.is_folder()).count(), "folderType": e.folder_type, "type": e.folder_type,
            "fileEntryType": 1, "access": 0, "shared": false, "isShareable": e.room_type.is_some(), "new": 0, "pinned": false,
            "private": false, "rootFolderId": self.root_of(e.id),
            "rootFolderType": self.entries.get(&self.root_of(e.id)).map_or(0, |r| r.folder_type),
            "created": DATE, "updated": date(e.updated), "createdBy": author, "updatedBy": author, "tags": [],
            "security": {"Read": true, "Create": true, "Delete": true, "EditRoom": e.room_type.is_some()},
        });
        if let (Some(rt), Some(obj)) = (e.room_type, v.as_object_mut()) {
            obj.insert("roomType".into(), json!(rt));
        }
        v
    }

    /// `FolderContentDtoInteger` of a folder, with paging and a title filter.
    pub fn content_json(&self, id: i64, filter: &str, start: usize, count: usize) -> Outcome<Value> {
        let current = self.folder(id)?;
        let needle = filter.to_lowercase();
        let matches = |e: &&Entry| needle.is_empty() || e.title.to_lowercase().contains(&needle);
        let mut items: Vec<&Entry> = self.children(id).filter(matches).collect();
        items.sort_by(|a, b| (!a.is_folder(), &a.title).cmp(&(!b.is_folder(), &b.title)));
        let total = items.len();
        let page: Vec<&Entry> = items.into_iter().skip(start).take(count).collect();
        let folders: Vec<Value> = page.iter().filter(|e| e.is_folder()).map(|e| self.folder_json(e)).collect();
        let files: Vec<Value> = page.iter().filter(|e| !e.is_folder()).map(|e| self.file_json(e)).collect();
        Ok(json!({
            "files": files, "folders": folders, "current": self.folder_json(current), "pathParts": self.path_parts(id),
            "startIndex": start, "count": page.len(), "total": total, "new": 0,
        }))
    }

    fn path_parts(&self, id: i64) -> Vec<Value> {
        let mut parts = Vec::new();
        let mut cur = id;
        for _ in 0..64 {
            let Some(e) = self.entries.get(&cur) else { break };
            parts.push(json!({"id": e.id, "title": e.title}));
            if e.parent == 0 {
                break;
            }
            cur = e.parent;
        }
        parts.reverse();
        parts
    }

    fn user_summary(&self, id: &str) -> Value {
        self.users
            .iter()
            .find(|u| u.id == id)
            .map_or_else(|| json!({"id": id, "displayName": "Unknown"}), User::summary)
    }

    /// Creates a folder under `parent` (not in the trash or the rooms root).
    pub fn create_folder(&mut self, parent: i64, title: &str) -> Outcome<Value> {
        let title = valid_title(title)?;
        self.folder(parent)?;
        if parent == TRASH || parent == ROOMS || parent == ARCHIVE || self.is_within(parent, TRASH) {
            return Err(Refusal::forbidden("You cannot create folders here"));
        }
        let me = self.my_id();
        let id = self.insert_folder(parent, &title, &me);
        self.folder(id).map(|f| self.folder_json(f))
    }

    /// Renames a folder or room.
    pub fn rename(&mut self, id: i64, title: &str, want_folder: bool) -> Outcome<Value> {
        let title = valid_title(title)?;
        if id <= TRASH {
            return Err(Refusal::forbidden("System folders cannot be renamed"));
        }
        let tick = self.tick();
        let e = self
            .entries
            .get_mut(&id)
            .filter(|e| e.is_folder() == want_folder)
            .ok_or_else(|| Refusal::not_found(if want_folder { "folder" } else { "file" }))?;
        if !want_folder && !title.contains('.') {
            let ext = e.extension();
            e.title = format!("{title}{ext}");
        } else {
            e.title = title;
        }
        e.updated = tick;
        let e = e.clone();
        Ok(if want_folder { self.folder_json(&e) } else { self.file_json(&e) })
    }

    /// Starts an operation that is already done (reads may still see it running).
    fn operation(
        &mut self,
        kind: i64,
        files: Vec<i64>,
        folders: Vec<i64>,
        error: Option<String>,
        url: Option<String>,
    ) -> Value {
        let id = self.token("op");
        let op = Operation { id: id.clone(), kind, files, folders, error, url, pending_reads: self.operation_latency };
        let v = self.operation_json(&op, self.operation_latency > 0);
        self.operations.insert(id, op);
        v
    }

    /// `FileOperationDto`.
    pub fn operation_json(&self, op: &Operation, running: bool) -> Value {
        let entries = |ids: &[i64]| -> Vec<Value> {
            ids.iter().filter_map(|i| self.entries.get(i)).map(|e| json!({"id": e.id, "title": e.title})).collect()
        };
        json!({
            "id": op.id, "Operation": op.kind, "progress": if running { 50 } else { 100 }, "error": op.error.clone().unwrap_or_default(),
            "processed": if running { "1" } else { "2" }, "finished": !running, "status": if running { 1 } else if op.error.is_some() { 3 } else { 2 },
            "url": if running { Value::Null } else { op.url.clone().map_or(Value::Null, Value::String) },
            "files": entries(&op.files), "folders": entries(&op.folders),
        })
    }

    /// Every operation's status (each read brings running ones closer to done).
    pub fn read_operations(&mut self, only: Option<&str>) -> Vec<Value> {
        let ids: Vec<String> =
            self.operations.keys().filter(|k| only.is_none_or(|o| o == k.as_str())).cloned().collect();
        let mut out = Vec::new();
        for id in ids {
            if let Some(op) = self.operations.get_mut(&id) {
                let running = op.pending_reads > 0;
                op.pending_reads = op.pending_reads.saturating_sub(1);
                let op = op.clone();
                out.push(self.operation_json(&op, running));
            }
        }
        out
    }

    /// Moves entries to the trash (or deletes them for good when already there).
    pub fn delete(&mut self, files: &[i64], folders: &[i64]) -> Outcome<Value> {
        for id in files.iter().chain(folders) {
            if *id <= TRASH {
                return Err(Refusal::forbidden("System folders cannot be deleted"));
            }
            if !self.entries.contains_key(id) {
                return Err(Refusal::not_found(if files.contains(id) { "file" } else { "folder" }));
            }
        }
        for id in files.iter().chain(folders) {
            if self.is_within(*id, TRASH) {
                self.remove_tree(*id);
            } else if let Some(e) = self.entries.get_mut(id) {
                e.trashed_from = Some(e.parent);
                e.parent = TRASH;
            }
        }
        Ok(self.operation(2, files.to_vec(), folders.to_vec(), None, None))
    }

    fn remove_tree(&mut self, id: i64) {
        let kids: Vec<i64> = self.children(id).map(|e| e.id).collect();
        for k in kids {
            self.remove_tree(k);
        }
        self.entries.remove(&id);
    }

    /// Empties the trash.
    pub fn empty_trash(&mut self) -> Value {
        let ids: Vec<i64> = self.children(TRASH).map(|e| e.id).collect();
        for id in &ids {
            self.remove_tree(*id);
        }
        self.operation(2, Vec::new(), ids, None, None)
    }

    /// Copies or moves entries into `dest`. `conflict`: 0 skip, 1 overwrite, 2 duplicate.
    pub fn transfer(&mut self, files: &[i64], folders: &[i64], dest: i64, copy: bool, conflict: i64) -> Outcome<Value> {
        self.folder(dest)?;
        if dest == TRASH || dest == ROOMS {
            return Err(Refusal::forbidden("You cannot move or copy items there"));
        }
        for f in files {
            self.file(*f)?;
        }
        for f in folders {
            self.folder(*f)?;
            if self.is_within(dest, *f) {
                return Err(Refusal::bad("A folder cannot be moved or copied into itself"));
            }
        }
        let me = self.my_id();
        for id in files.iter().chain(folders) {
            let Some(src) = self.entries.get(id).cloned() else { continue };
            // A copy into its own folder clashes with its source; a move there does not.
            let clash = self.children(dest).find(|e| e.title == src.title && (copy || e.id != src.id)).map(|e| e.id);
            let title = match (clash, conflict) {
                (Some(_), 0) => continue,
                (Some(existing), 1) => {
                    self.remove_tree(existing);
                    src.title.clone()
                }
                (Some(_), _) => self.free_title(dest, &src.title),
                (None, _) => src.title.clone(),
            };
            if copy {
                self.copy_tree(&src, dest, &title, &me);
            } else if let Some(e) = self.entries.get_mut(id) {
                e.parent = dest;
                e.title = title;
            }
        }
        Ok(self.operation(i64::from(copy), files.to_vec(), folders.to_vec(), None, None))
    }

    fn copy_tree(&mut self, src: &Entry, dest: i64, title: &str, by: &str) {
        let id = match &src.content {
            Some(content) => self.insert_file(dest, title, content, by),
            None => self.insert_folder(dest, title, by),
        };
        let kids: Vec<Entry> = self.children(src.id).cloned().collect();
        for k in kids {
            let t = k.title.clone();
            self.copy_tree(&k, id, &t, by);
        }
    }

    /// `Name (1).ext`, `Name (2).ext`, … the first that is free in `folder`.
    pub fn free_title(&self, folder: i64, title: &str) -> String {
        let (stem, ext) = title.rfind('.').map_or((title, ""), |i| (&title[..i], &title[i..]));
        (1..)
            .map(|n| format!("{stem} ({n}){ext}"))
            .find(|t| !self.children(folder).any(|e| &e.title == t))
            .unwrap_or_else(|| title.to_owned())
    }

    /// Creates a room.
    pub fn create_room(&mut self, title: &str, room_type: i64) -> Outcome<Value> {
        let title = valid_title(title)?;
        if ![1, 2, 5, 6, 8].contains(&room_type) {
            return Err(Refusal::bad(format!("Unknown room type {room_type}; use 1, 2, 5, 6 or 8")));
        }
        let me = self.my_id();
        let id = self.insert_room(&title, room_type, &me);
        self.room(id).map(|r| self.folder_json(r))
    }

    /// Archives (`archive`) or restores a room.
    pub fn archive_room(&mut self, id: i64, archive: bool) -> Outcome<Value> {
        self.room(id)?;
        if let Some(r) = self.entries.get_mut(&id) {
            r.parent = if archive { ARCHIVE } else { ROOMS };
        }
        Ok(self.operation(if archive { 5 } else { 6 }, Vec::new(), vec![id], None, None))
    }

    /// Invites, changes or removes (access 0) room members.
    pub fn share_room(&mut self, id: i64, invitations: &[(Option<String>, Option<String>, i64)]) -> Outcome<Value> {
        self.room(id)?;
        let mut resolved = Vec::new();
        for (user_id, email, access) in invitations {
            let user = self
                .users
                .iter()
                .find(|u| {
                    user_id.as_deref() == Some(u.id.as_str())
                        || email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(&u.email))
                })
                .ok_or_else(|| Refusal::bad(format!("No user with id {user_id:?} or e-mail {email:?}")))?;
            if ![0, 2, 5, 6, 7, 9, 10, 11].contains(access) {
                return Err(Refusal::bad(format!("Access level {access} is not valid for a room")));
            }
            resolved.push((user.id.clone(), *access));
        }
        let room = self.entries.get_mut(&id).ok_or_else(|| Refusal::not_found("room"))?;
        for (user, access) in resolved {
            if access == 0 {
                room.members.remove(&user);
            } else {
                room.members.insert(user, access);
            }
        }
        let members = self.members_json(id)?;
        Ok(json!({"members": members, "warning": ""}))
    }

    /// `FileShareDto` list of a room.
    pub fn members_json(&self, id: i64) -> Outcome<Vec<Value>> {
        let room = self.room(id)?;
        Ok(room
            .members
            .iter()
            .filter_map(|(user, access)| {
                let u = self.users.iter().find(|u| &u.id == user)?;
                Some(json!({"access": access, "sharedTo": u.summary(), "sharedToUser": u.full(), "isOwner": *access == 9 && u.id == room.created_by,
                            "isLocked": false, "canEditAccess": true, "subjectType": 0}))
            })
            .collect())
    }

    /// Starts a chunked upload session.
    pub fn create_upload(&mut self, folder: i64, name: &str, total: u64, create_new: bool) -> Outcome<String> {
        self.folder(folder)?;
        let name = valid_title(name)?;
        if !name.contains('.') {
            return Err(Refusal::bad("The file name needs an extension"));
        }
        let id = self.token("upload");
        self.uploads.insert(id.clone(), Upload { folder, name, total, data: Vec::new(), create_new });
        Ok(id)
    }

    /// Appends a chunk; returns the file once every byte has arrived.
    pub fn upload_chunk(&mut self, session: &str, chunk: &[u8]) -> Outcome<(u64, Option<Value>)> {
        let upload = self.uploads.get_mut(session).ok_or_else(|| Refusal::not_found("upload session"))?;
        upload.data.extend_from_slice(chunk);
        let received = upload.data.len() as u64;
        if received > upload.total {
            self.uploads.remove(session);
            return Err(Refusal::bad("More bytes arrived than the session announced"));
        }
        if received < upload.total {
            return Ok((received, None));
        }
        let done = self.uploads.remove(session).ok_or_else(|| Refusal::not_found("upload session"))?;
        let file = self.store_upload(done.folder, &done.name, &done.data, done.create_new)?;
        Ok((received, Some(file)))
    }

    /// Stores an uploaded file: a new file, or a new version on a clash unless `create_new`.
    pub fn store_upload(&mut self, folder: i64, name: &str, data: &[u8], create_new: bool) -> Outcome<Value> {
        self.folder(folder)?;
        let me = self.my_id();
        let clash = self.children(folder).find(|e| !e.is_folder() && e.title == name).map(|e| e.id);
        let id = match clash {
            Some(existing) if !create_new => {
                let tick = self.tick();
                let e = self.entries.get_mut(&existing).ok_or_else(|| Refusal::not_found("file"))?;
                e.content = Some(data.to_vec());
                e.version += 1;
                e.updated = tick;
                existing
            }
            Some(_) => {
                let title = self.free_title(folder, name);
                self.insert_file(folder, &title, data, &me)
            }
            None => self.insert_file(folder, name, data, &me),
        };
        self.file(id).map(|f| self.file_json(f))
    }

    /// Bulk download: converts one file (or concatenates several) and returns the operation.
    pub fn bulk_download(&mut self, base_url: &str, files: &[(i64, Option<String>)]) -> Outcome<Value> {
        if files.is_empty() {
            return Err(Refusal::bad("Nothing to download"));
        }
        let mut out = Vec::new();
        let mut name = String::new();
        for (id, convert) in files {
            let f = self.file(*id)?;
            let content = f.content.clone().unwrap_or_default();
            let target = convert.clone().unwrap_or_else(|| f.extension());
            if !["", ".txt", ".csv", ".md", ".docx", ".xlsx", ".pdf"].contains(&target.as_str())
                && target != f.extension()
            {
                return Err(Refusal::bad(format!("Cannot convert {} to {target}", f.title)));
            }
            if files.len() > 1 {
                out.extend_from_slice(format!("==> {} <==\n", f.title).as_bytes());
            }
            name = match f.title.rfind('.') {
                Some(i) if !target.is_empty() => format!("{}{target}", &f.title[..i]),
                _ => f.title.clone(),
            };
            out.extend_from_slice(&content);
        }
        let token = self.token("dl");
        let url = format!("{base_url}/sandbox/download/{token}");
        self.downloads.insert(token, (name, out));
        let ids = files.iter().map(|(i, _)| *i).collect();
        Ok(self.operation(4, ids, Vec::new(), None, Some(url)))
    }

    /// People matching `filter` (name or e-mail), paged.
    pub fn people(&self, filter: &str, start: usize, count: usize) -> (Vec<Value>, usize) {
        let needle = filter.to_lowercase();
        let all: Vec<&User> = self
            .users
            .iter()
            .filter(|u| {
                needle.is_empty() || u.display_name().to_lowercase().contains(&needle) || u.email.contains(&needle)
            })
            .collect();
        let total = all.len();
        (all.into_iter().skip(start).take(count).map(User::full).collect(), total)
    }
}

fn user(id: &str, first: &str, last: &str, email: &str, is_admin: bool) -> User {
    User { id: id.into(), first_name: first.into(), last_name: last.into(), email: email.into(), is_admin }
}

fn folder(id: i64, parent: i64, title: &str, folder_type: i64, by: &str) -> Entry {
    Entry {
        id,
        parent,
        title: title.to_owned(),
        created_by: by.to_owned(),
        content: None,
        version: 1,
        folder_type,
        room_type: None,
        trashed_from: None,
        members: BTreeMap::new(),
        updated: 0,
    }
}

fn date(tick: u64) -> String {
    let minutes = tick % 60;
    let hours = 10 + (tick / 60) % 12;
    format!("2025-06-02T{hours:02}:{minutes:02}:00.0000000+00:00")
}

fn valid_title(title: &str) -> Outcome<String> {
    let t = title.trim();
    if t.is_empty() {
        return Err(Refusal::bad("The title is empty"));
    }
    if t.len() > 170 || t.contains(['/', '\\', '<', '>', '|', '*', '?', '"', ':']) {
        return Err(Refusal::bad("The title is too long or contains characters that are not allowed"));
    }
    Ok(t.to_owned())
}

/// DocSpace `FileType`.
fn file_type(ext: &str) -> i64 {
    match ext {
        ".docx" | ".doc" | ".odt" | ".txt" | ".md" | ".rtf" => 7,
        ".xlsx" | ".xls" | ".ods" | ".csv" => 5,
        ".pptx" | ".ppt" | ".odp" => 6,
        ".pdf" => 10,
        ".png" | ".jpg" | ".jpeg" | ".gif" => 4,
        _ => 0,
    }
}
