//! The sandbox portal's data: people, the folder tree (My documents, rooms,
//! archive, trash), files with content, file operations, upload sessions and
//! converted downloads. Plain data and functions, with one file per DocSpace
//! area: `people`, `groups`, `files` (files and folders, versions), `links`
//! (file and room links), `rooms`, `operations` (file operations, bulk
//! download with conversion), `uploads` (chunked upload sessions) and `recent` (the Recent section). The HTTP side is `routes`.
//!
//! JSON output follows the DocSpace OpenAPI description's DTOs
//! (`FileDtoInteger`, `FolderDtoInteger`, `FolderContentDtoInteger`,
//! `FileOperationDto`, `EmployeeFullDto`, …) with the members a client
//! actually reads; the root package's `sandbox_contract` test checks that
//! every answer decodes into the generated client's types.

mod files;
mod groups;
mod links;
mod operations;
mod people;
mod recent;
mod rooms;
mod uploads;

use std::collections::BTreeMap;

pub(crate) use files::Search;
pub(crate) use links::LinkRequest;
pub(crate) use operations::Conflict;
use operations::FileOperation;
pub(crate) use people::User;
pub(crate) use rooms::Invitation;
pub(crate) use uploads::Chunked;
use uploads::Upload;

/// My documents.
pub const MY_DOCUMENTS: i64 = 1;
/// The "Rooms" folder (DocSpace's VirtualRooms).
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
    pub(super) const RECENT: i64 = 11;
    pub(super) const VIRTUAL_ROOMS: i64 = 14;
    /// Rooms carry their room type's folder type; the sandbox uses this one.
    pub(super) const CUSTOM_ROOM: i64 = 19;
    pub(super) const ARCHIVE: i64 = 20;
}

/// Creation date of everything (updates move [`date`] on).
const DATE: &str = "2025-06-02T09:30:00.0000000+00:00";

/// A file or a folder (rooms are folders with a room type), as
/// [`Sandbox::inspect`](crate::Sandbox::inspect) shows it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Id.
    pub id: i64,
    /// Parent folder id (0 for the system folders).
    pub parent: i64,
    /// Title (a file's includes its extension).
    pub title: String,
    /// A file's content; `None` for folders.
    pub content: Option<Vec<u8>>,
    /// Room members: user id → DocSpace `FileShare` access level.
    pub members: BTreeMap<String, i64>,
    pub(crate) created_by: String,
    /// File version, from 1.
    pub(crate) version: i64,
    pub(crate) folder_type: i64,
    pub(crate) room_type: Option<i64>,
    /// The store's clock at the last change.
    pub(crate) updated: u64,
    /// A file's earlier versions, oldest first.
    pub(crate) history: Vec<Version>,
    /// Share links of a file, or invitation and share links of a room.
    pub(crate) links: Vec<links::Link>,
}

/// An earlier version of a file.
#[derive(Debug, Clone)]
pub(crate) struct Version {
    pub(crate) version: i64,
    pub(crate) content: Vec<u8>,
    pub(crate) updated: u64,
}

impl Entry {
    /// Whether this is a folder.
    pub fn is_folder(&self) -> bool {
        self.content.is_none()
    }

    /// Makes `content` the current version, keeping the one it replaces.
    pub(crate) fn new_version(&mut self, content: Vec<u8>, tick: u64) {
        let old = self.content.replace(content).unwrap_or_default();
        self.history.push(Version { version: self.version, content: old, updated: self.updated });
        self.version += 1;
        self.updated = tick;
    }

    /// `.docx`, lower case; empty when the title has none.
    pub(crate) fn extension(&self) -> String {
        self.title.rfind('.').and_then(|i| self.title.get(i..)).map(str::to_ascii_lowercase).unwrap_or_default()
    }
}

/// The whole portal, as [`Sandbox::inspect`](crate::Sandbox::inspect) shows it.
#[derive(Debug)]
pub struct Store {
    /// Files and folders by id.
    pub entries: BTreeMap<i64, Entry>,
    /// People; the first is the caller (`@self`).
    pub(crate) users: Vec<User>,
    /// Groups of people.
    pub(crate) groups: Vec<groups::Group>,
    pub(crate) operations: BTreeMap<String, FileOperation>,
    pub(crate) uploads: BTreeMap<String, Upload>,
    /// Converted downloads by token: file name and bytes.
    pub(crate) downloads: BTreeMap<String, (String, Vec<u8>)>,
    /// The caller's Recent section: file ids, the latest opened first.
    pub recent: Vec<i64>,
    /// Status reads a new file operation reports as still running.
    pub(crate) operation_latency: u32,
    next_id: i64,
    clock: u64,
}

/// A request the portal refuses; becomes DocSpace's error envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) status: u16,
    pub(crate) message: String,
}

impl Refusal {
    /// 404 with DocSpace's wording.
    pub(crate) fn not_found(what: &str) -> Self {
        Self { status: 404, message: format!("The required {what} was not found") }
    }

    pub(crate) fn bad(message: impl Into<String>) -> Self {
        Self { status: 400, message: message.into() }
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self { status: 403, message: message.into() }
    }
}

pub(crate) type Outcome<T> = Result<T, Refusal>;

impl Store {
    /// A portal seeded with a few people, folders, files and rooms.
    pub(crate) fn seeded() -> Self {
        let users = people::seed();
        let me = users.first().map(|u| u.id.clone()).unwrap_or_default();
        let groups = groups::seed(&users);
        let mut store = Self {
            users,
            groups,
            entries: BTreeMap::new(),
            operations: BTreeMap::new(),
            uploads: BTreeMap::new(),
            downloads: BTreeMap::new(),
            recent: Vec::new(),
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
            store.entries.insert(id, files::folder(id, 0, title, ty, &me));
        }
        let projects = store.insert_folder(MY_DOCUMENTS, "Projects", &me);
        let welcome = b"Welcome to the DocSpace sandbox.\nEverything here lives in memory.\n";
        store.insert_file(MY_DOCUMENTS, "Welcome.txt", welcome, &me);
        let roadmap = b"Roadmap 2026\n\nQ1: ship the MCP server.\nQ2: OAuth for every client.\n";
        let roadmap = store.insert_file(projects, "Roadmap.docx", roadmap, &me);
        store.insert_file(projects, "Budget.xlsx", b"Item,Cost\nServers,1200\nLicences,300\n", &me);
        let marketing = store.insert_room("Marketing", 2, &me);
        let brief = b"Campaign brief\n\nAudience: teams that write documents together.\n";
        store.insert_file(marketing, "Campaign brief.docx", brief, &me);
        if let Some(r) = store.entries.get_mut(&marketing) {
            r.members.insert(people::SAM.into(), 10);
        }
        store.insert_room("Contracts", 1, &me);
        // Opened in the editor before the sandbox starts.
        store.recent.push(roadmap);
        store
    }

    /// Adds numbered files to My documents, rooms and people.
    pub(crate) fn populate(&mut self, files: usize, rooms: usize, people: usize) {
        let me = self.my_id();
        for i in 1..=files {
            let text = format!("Report {i}\n\nFigures for the quarter.\n");
            self.insert_file(MY_DOCUMENTS, &format!("Report {i:04}.docx"), text.as_bytes(), &me);
        }
        for i in 1..=rooms {
            self.insert_room(&format!("Project room {i:04}"), 2, &me);
        }
        for i in 1..=people {
            self.users.push(User {
                id: format!("2b3c4d5e-0003-4e6f-9a7b-{i:012}"),
                first_name: "Person".into(),
                last_name: format!("{i:04}"),
                email: format!("person.{i:04}@sandbox.example"),
                is_admin: false,
            });
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn new_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// A fresh opaque id, UUID-like.
    pub(crate) fn token(&mut self, prefix: &str) -> String {
        let n = self.new_id();
        format!("{prefix}-{n:08x}-7c1e-4b5a-9d3f-{:012x}", self.tick())
    }

    /// An entry that is a folder.
    pub(crate) fn folder(&self, id: i64) -> Outcome<&Entry> {
        self.entries.get(&id).filter(|e| e.is_folder()).ok_or_else(|| Refusal::not_found("folder"))
    }

    /// An entry that is a file.
    pub(crate) fn file(&self, id: i64) -> Outcome<&Entry> {
        self.entries.get(&id).filter(|e| !e.is_folder()).ok_or_else(|| Refusal::not_found("file"))
    }

    /// An entry that is a room.
    pub(crate) fn room(&self, id: i64) -> Outcome<&Entry> {
        self.entries.get(&id).filter(|e| e.room_type.is_some()).ok_or_else(|| Refusal::not_found("room"))
    }

    fn children(&self, id: i64) -> impl Iterator<Item = &Entry> {
        self.entries.values().filter(move |e| e.parent == id)
    }

    /// Whether `id` is `ancestor` or lies below it.
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

    /// The system folder `id` lies in.
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

    /// Removes `id` and everything below it.
    fn remove_tree(&mut self, id: i64) {
        let kids: Vec<i64> = self.children(id).map(|e| e.id).collect();
        for k in kids {
            self.remove_tree(k);
        }
        self.entries.remove(&id);
    }
}

/// A DocSpace date `tick` minutes after ten o'clock.
fn date(tick: u64) -> String {
    let minutes = tick % 60;
    let hours = 10 + (tick / 60) % 12;
    format!("2025-06-02T{hours:02}:{minutes:02}:00.0000000+00:00")
}

/// A title DocSpace would accept, trimmed.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The id of the entry titled `title`.
    pub(super) fn id_of(store: &Store, title: &str) -> i64 {
        store.entries.values().find(|e| e.title == title).map(|e| e.id).unwrap()
    }

    #[test]
    fn the_seed_has_the_system_folders_and_some_work() {
        let s = Store::seeded();
        for (id, title) in [(MY_DOCUMENTS, "My documents"), (ROOMS, "Rooms"), (ARCHIVE, "Archive"), (TRASH, "Trash")] {
            assert_eq!((s.entries[&id].title.as_str(), s.entries[&id].parent), (title, 0));
        }
        let budget = id_of(&s, "Budget.xlsx");
        assert_eq!(s.root_of(budget), MY_DOCUMENTS);
        assert!(s.is_within(budget, MY_DOCUMENTS) && !s.is_within(budget, ROOMS));
        assert!(s.file(budget).is_ok() && s.folder(budget).is_err() && s.room(budget).is_err());
        assert_eq!(s.room(id_of(&s, "Marketing")).unwrap().members.len(), 2);
        assert_eq!(s.entries[&budget].extension(), ".xlsx");
    }

    #[test]
    fn populating_adds_files_rooms_and_people() {
        let mut s = Store::seeded();
        let (entries, users) = (s.entries.len(), s.users.len());
        s.populate(3, 2, 4);
        assert_eq!((s.entries.len(), s.users.len()), (entries + 5, users + 4));
        assert!(s.file(id_of(&s, "Report 0003.docx")).is_ok() && s.room(id_of(&s, "Project room 0002")).is_ok());
        assert_eq!(s.people("person.0004@", 0, 10).1, 1);
    }

    #[test]
    fn titles_are_checked_and_ids_are_fresh() {
        assert_eq!(valid_title("  Notes  "), Ok("Notes".to_owned()));
        assert_eq!(valid_title(" ").unwrap_err().status, 400);
        assert!(valid_title("a/b").is_err() && valid_title(&"x".repeat(171)).is_err());
        let mut s = Store::seeded();
        assert_ne!(s.token("op"), s.token("op"));
    }
}
