//! Files and folders: creating, renaming, and their DTOs, including a
//! folder's content with paging and a title filter.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{ARCHIVE, DATE, Entry, Outcome, ROOMS, Refusal, Store, TRASH, date, folder_type, valid_title};

/// A folder entry.
pub(super) fn folder(id: i64, parent: i64, title: &str, folder_type: i64, by: &str) -> Entry {
    Entry {
        id,
        parent,
        title: title.to_owned(),
        created_by: by.to_owned(),
        content: None,
        version: 1,
        folder_type,
        room_type: None,
        members: BTreeMap::new(),
        updated: 0,
        history: Vec::new(),
        links: Vec::new(),
    }
}

/// DocSpace `FileType` of an extension.
fn file_type(ext: &str) -> i64 {
    match ext {
        ".docx" | ".doc" | ".odt" | ".txt" | ".md" | ".rtf" => 7,
        ".xlsx" | ".xls" | ".ods" | ".csv" => 5,
        ".pptx" | ".ppt" | ".odp" => 6,
        ".pdf" => 10,
        ".png" | ".jpg" | ".jpeg" | ".gif" => 4,
        ".mp4" | ".webm" | ".mov" => 2,
        ".mp3" | ".ogg" | ".wav" => 3,
        _ => 0,
    }
}

/// What a folder listing is filtered by: DocSpace's `filterValue`
/// (a title substring, any case), `filterType` (`FilterType`),
/// `applyFilterOption` (`ApplyFilterOption`) and `withSubFolders`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Search {
    pub(crate) text: String,
    pub(crate) filter_type: i64,
    pub(crate) apply_option: i64,
    pub(crate) with_subfolders: bool,
}

impl Search {
    /// Whether `e` is one of the entries this search keeps. Type filters
    /// other than folders-only keep files only, as DocSpace's do.
    pub(crate) fn matches(&self, e: &Entry) -> bool {
        let needle = self.text.to_lowercase();
        if !needle.is_empty() && !e.title.to_lowercase().contains(&needle) {
            return false;
        }
        let kind = file_type(&e.extension());
        let by_type = match self.filter_type {
            1 => !e.is_folder(),
            2 => e.is_folder(),
            3 => !e.is_folder() && kind == 7,
            4 => !e.is_folder() && kind == 6,
            5 => !e.is_folder() && kind == 5,
            7 => !e.is_folder() && kind == 4,
            12 => !e.is_folder() && (kind == 2 || kind == 3),
            22 => !e.is_folder() && kind == 10,
            // Pdf forms: the sandbox has none.
            23 => false,
            _ => true,
        };
        let by_option = match self.apply_option {
            1 => !e.is_folder(),
            2 => e.is_folder(),
            _ => true,
        };
        by_type && by_option
    }
}

impl Store {
    pub(super) fn insert_folder(&mut self, parent: i64, title: &str, by: &str) -> i64 {
        let id = self.new_id();
        let mut f = folder(id, parent, title, folder_type::DEFAULT, by);
        f.updated = self.tick();
        self.entries.insert(id, f);
        id
    }

    pub(super) fn insert_file(&mut self, parent: i64, title: &str, content: &[u8], by: &str) -> i64 {
        let id = self.new_id();
        let mut f = folder(id, parent, title, 0, by);
        f.content = Some(content.to_vec());
        f.updated = self.tick();
        self.entries.insert(id, f);
        id
    }

    /// `FileDtoInteger`.
    pub(crate) fn file_json(&self, e: &Entry) -> Value {
        let size = e.content.as_ref().map_or(0, Vec::len);
        let author = self.user_summary(&e.created_by);
        let root = self.root_of(e.id);
        json!({
            "id": e.id, "title": e.title, "folderId": e.parent, "version": e.version, "versionGroup": e.version,
            "contentLength": format!("{size} bytes"), "pureContentLength": size, "fileExst": e.extension(),
            "fileType": file_type(&e.extension()), "fileStatus": 0, "fileEntryType": 2, "access": 0, "shared": false,
            "rootFolderId": root, "rootFolderType": self.entries.get(&root).map_or(0, |r| r.folder_type),
            "created": DATE, "updated": date(e.updated), "createdBy": author, "updatedBy": author,
            "viewUrl": format!("/filehandler.ashx?action=view&fileid={}", e.id),
            "webUrl": format!("/doceditor?fileid={}", e.id),
            "canShare": true, "security": {"Read": true, "Edit": true, "Delete": true},
        })
    }

    /// `FolderDtoInteger` (rooms add their `roomType`).
    pub(crate) fn folder_json(&self, e: &Entry) -> Value {
        let author = self.user_summary(&e.created_by);
        let root = self.root_of(e.id);
        let count = |folders: bool| self.children(e.id).filter(|c| c.is_folder() == folders).count();
        let mut v = json!({
            "id": e.id, "title": e.title, "parentId": e.parent, "filesCount": count(false),
            "foldersCount": count(true), "folderType": e.folder_type, "type": e.folder_type,
            "fileEntryType": 1, "access": 0, "shared": false, "isShareable": e.room_type.is_some(), "new": 0,
            "pinned": false, "private": false, "rootFolderId": root,
            "rootFolderType": self.entries.get(&root).map_or(0, |r| r.folder_type),
            "created": DATE, "updated": date(e.updated), "createdBy": author, "updatedBy": author, "tags": [],
            "security": {"Read": true, "Create": true, "Delete": true, "EditRoom": e.room_type.is_some()},
        });
        if let (Some(rt), Some(obj)) = (e.room_type, v.as_object_mut()) {
            obj.insert("roomType".into(), json!(rt));
        }
        v
    }

    /// `FolderContentDtoInteger` of a folder: folders first, then files, by
    /// title; those whose title contains `filter`; `count` from `start`.
    #[cfg(test)]
    pub(crate) fn content_json(&self, id: i64, filter: &str, start: usize, count: usize) -> Outcome<Value> {
        self.search_json(id, &Search { text: filter.to_owned(), ..Search::default() }, start, count)
    }

    /// `FolderContentDtoInteger` of a folder searched as `search` says: its
    /// children, or everything below it with `with_subfolders`, that match;
    /// folders first, then files, by title; `count` from `start`.
    pub(crate) fn search_json(&self, id: i64, search: &Search, start: usize, count: usize) -> Outcome<Value> {
        let current = self.folder(id)?;
        let items: Vec<&Entry> = if search.with_subfolders {
            self.entries.values().filter(|e| e.id != id && self.is_within(e.id, id)).collect()
        } else {
            self.children(id).collect()
        };
        let items = items.into_iter().filter(|e| search.matches(e)).collect();
        Ok(self.content_page(current, items, start, count))
    }

    /// `FolderContentDtoInteger` of `current` holding one page of `items`,
    /// folders first, then files, by title.
    pub(super) fn content_page(&self, current: &Entry, mut items: Vec<&Entry>, start: usize, count: usize) -> Value {
        items.sort_by(|a, b| (!a.is_folder(), &a.title).cmp(&(!b.is_folder(), &b.title)));
        self.page_of(current, items, start, count)
    }

    /// `FolderContentDtoInteger` of `current` holding one page of `items`, in their order.
    pub(super) fn page_of(&self, current: &Entry, items: Vec<&Entry>, start: usize, count: usize) -> Value {
        let total = items.len();
        let page: Vec<&Entry> = items.into_iter().skip(start).take(count).collect();
        let folders: Vec<Value> = page.iter().filter(|e| e.is_folder()).map(|e| self.folder_json(e)).collect();
        let files: Vec<Value> = page.iter().filter(|e| !e.is_folder()).map(|e| self.file_json(e)).collect();
        json!({
            "files": files, "folders": folders, "current": self.folder_json(current),
            "pathParts": self.path_parts(current.id), "startIndex": start, "count": page.len(), "total": total,
            "new": 0,
        })
    }

    /// The folders from the root down to `id`.
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

    /// Creates a folder under `parent` (not in the trash, the rooms root or the archive).
    pub(crate) fn create_folder(&mut self, parent: i64, title: &str) -> Outcome<Value> {
        let title = valid_title(title)?;
        self.folder(parent)?;
        if parent == TRASH || parent == ROOMS || parent == ARCHIVE || self.is_within(parent, TRASH) {
            return Err(Refusal::forbidden("You cannot create folders here"));
        }
        let me = self.my_id();
        let id = self.insert_folder(parent, &title, &me);
        self.folder(id).map(|f| self.folder_json(f))
    }

    /// Renames a folder or room (`want_folder`), or a file, which keeps its
    /// extension when the new title has none.
    pub(crate) fn rename(&mut self, id: i64, title: &str, want_folder: bool) -> Outcome<Value> {
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
        e.title = if !want_folder && !title.contains('.') { format!("{title}{}", e.extension()) } else { title };
        e.updated = tick;
        let e = e.clone();
        Ok(if want_folder { self.folder_json(&e) } else { self.file_json(&e) })
    }

    /// Creates an empty document in `parent` (a folder or a room); a title
    /// without an extension becomes a `.docx`, a taken one is numbered.
    pub(crate) fn create_file(&mut self, parent: i64, title: &str) -> Outcome<Value> {
        let title = valid_title(title)?;
        self.folder(parent)?;
        if parent == TRASH || parent == ROOMS || parent == ARCHIVE || self.is_within(parent, TRASH) {
            return Err(Refusal::forbidden("You cannot create files here"));
        }
        let title = if title.contains('.') { title } else { format!("{title}.docx") };
        let title =
            if self.children(parent).any(|e| e.title == title) { self.free_title(parent, &title) } else { title };
        let me = self.my_id();
        let id = self.insert_file(parent, &title, b"", &me);
        self.file(id).map(|f| self.file_json(f))
    }

    /// A file's versions, newest first, each a `FileDtoInteger`.
    pub(crate) fn versions_json(&self, id: i64) -> Outcome<Vec<Value>> {
        let current = self.file(id)?;
        let mut out = vec![self.file_json(current)];
        for v in current.history.iter().rev() {
            let mut old = current.clone();
            old.version = v.version;
            old.content = Some(v.content.clone());
            old.updated = v.updated;
            out.push(self.file_json(&old));
        }
        Ok(out)
    }

    /// Makes `version` of file `id` the current one (as a new version); the
    /// file's edit history, each an `EditHistoryDto`, newest first.
    pub(crate) fn restore_version(&mut self, id: i64, version: i64) -> Outcome<Value> {
        let file = self.file(id)?;
        let content = if version == file.version {
            file.content.clone().unwrap_or_default()
        } else {
            let old = file.history.iter().find(|v| v.version == version);
            old.map(|v| v.content.clone()).ok_or_else(|| Refusal::not_found("file version"))?
        };
        let tick = self.tick();
        let e = self.entries.get_mut(&id).ok_or_else(|| Refusal::not_found("file"))?;
        e.new_version(content, tick);
        let e = e.clone();
        let author = self.user_summary(&e.created_by);
        let who = json!({"id": author.get("id"), "name": author.get("displayName")});
        let entry = |version: i64, updated: u64| {
            json!({"id": e.id, "key": format!("{}-{version}", e.id), "version": version, "versionGroup": version,
                   "user": who, "created": date(updated), "changesHistory": "", "changes": [],
                   "serverVersion": "sandbox"})
        };
        let mut out = vec![entry(e.version, e.updated)];
        out.extend(e.history.iter().rev().map(|v| entry(v.version, v.updated)));
        Ok(Value::Array(out))
    }

    /// `Name (1).ext`, `Name (2).ext`, … the first that is free in `folder`.
    pub(super) fn free_title(&self, folder: i64, title: &str) -> String {
        let (stem, ext) = title.rfind('.').map_or((title, ""), |i| title.split_at(i));
        (1..)
            .map(|n| format!("{stem} ({n}){ext}"))
            .find(|t| !self.children(folder).any(|e| &e.title == t))
            .unwrap_or_else(|| title.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::super::MY_DOCUMENTS;
    use super::super::tests::id_of;
    use super::*;

    fn titles(listing: &Value, kind: &str) -> Vec<String> {
        listing[kind].as_array().unwrap().iter().map(|e| e["title"].as_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn a_new_folder_is_listed_in_its_parent() {
        let mut s = Store::seeded();
        let made = s.create_folder(MY_DOCUMENTS, " Reports ").unwrap();
        assert_eq!((made["title"].as_str(), made["parentId"].as_i64()), (Some("Reports"), Some(MY_DOCUMENTS)));
        assert_eq!(made["rootFolderType"], folder_type::USER);
        let listing = s.content_json(MY_DOCUMENTS, "", 0, 100).unwrap();
        assert_eq!(titles(&listing, "folders"), ["Projects", "Reports"]);
        assert_eq!(titles(&listing, "files"), ["Welcome.txt"]);
        assert_eq!(listing["current"]["foldersCount"], 2);
        let reports = made["id"].as_i64().unwrap();
        let path = s.content_json(reports, "", 0, 100).unwrap()["pathParts"].clone();
        assert_eq!(path, json!([{"id": MY_DOCUMENTS, "title": "My documents"}, {"id": reports, "title": "Reports"}]));
    }

    #[test]
    fn folders_are_not_made_where_docspace_refuses_them() {
        let mut s = Store::seeded();
        for parent in [TRASH, ROOMS, ARCHIVE] {
            assert_eq!(s.create_folder(parent, "x").unwrap_err().status, 403);
        }
        assert_eq!(s.create_folder(9999, "x").unwrap_err().status, 404);
        assert_eq!(s.create_folder(MY_DOCUMENTS, "a:b").unwrap_err().status, 400);
    }

    #[test]
    fn content_is_paged_and_filtered() {
        let mut s = Store::seeded();
        let projects = id_of(&s, "Projects");
        for name in ["c.txt", "a.txt", "b.txt"] {
            s.insert_file(projects, name, b"", "me");
        }
        let page = s.content_json(projects, "", 1, 2).unwrap();
        assert_eq!(titles(&page, "files"), ["Roadmap.docx", "a.txt"], "by title, upper case first");
        assert_eq!(
            (page["startIndex"].as_u64(), page["count"].as_u64(), page["total"].as_u64()),
            (Some(1), Some(2), Some(5))
        );
        let filtered = s.content_json(projects, "TXT", 0, 100).unwrap();
        assert_eq!(titles(&filtered, "files"), ["a.txt", "b.txt", "c.txt"]);
        assert_eq!(filtered["total"], 3);
        assert_eq!(s.content_json(projects, "", 10, 100).unwrap()["count"], 0);
        assert_eq!(s.content_json(id_of(&s, "Budget.xlsx"), "", 0, 1).unwrap_err().status, 404, "not a folder");
    }

    #[test]
    fn a_search_below_a_folder_filters_by_text_type_and_kind() {
        let mut s = Store::seeded();
        let projects = id_of(&s, "Projects");
        let plans = s.insert_folder(projects, "Road plans", "me");
        s.insert_file(plans, "roadmap notes.txt", b"", "me");
        s.insert_file(MY_DOCUMENTS, "Scan.pdf", b"", "me");
        let search = |text: &str, filter_type: i64, with_subfolders: bool| Search {
            text: text.into(),
            filter_type,
            apply_option: 0,
            with_subfolders,
        };
        let found = s.search_json(MY_DOCUMENTS, &search("road", 0, true), 0, 100).unwrap();
        assert_eq!(titles(&found, "folders"), ["Road plans"]);
        assert_eq!(titles(&found, "files"), ["Roadmap.docx", "roadmap notes.txt"]);
        assert_eq!(found["total"], 3);
        assert_eq!(s.search_json(MY_DOCUMENTS, &search("road", 0, false), 0, 100).unwrap()["total"], 0);
        let docs = s.search_json(MY_DOCUMENTS, &search("road", 3, true), 0, 100).unwrap();
        assert_eq!(titles(&docs, "files"), ["Roadmap.docx", "roadmap notes.txt"]);
        assert!(titles(&docs, "folders").is_empty(), "a type filter keeps files only");
        let folders = s.search_json(MY_DOCUMENTS, &search("", 2, true), 0, 100).unwrap();
        assert_eq!(titles(&folders, "folders"), ["Projects", "Road plans"]);
        let pdf = s.search_json(MY_DOCUMENTS, &search("", 22, true), 0, 100).unwrap();
        assert_eq!(titles(&pdf, "files"), ["Scan.pdf"]);
        let sheets = s.search_json(MY_DOCUMENTS, &search("", 5, true), 0, 100).unwrap();
        assert_eq!(titles(&sheets, "files"), ["Budget.xlsx"]);
        let files_only = Search { apply_option: 1, ..search("road", 0, true) };
        assert_eq!(s.search_json(MY_DOCUMENTS, &files_only, 0, 100).unwrap()["total"], 2);
        let page = s.search_json(MY_DOCUMENTS, &search("road", 0, true), 1, 1).unwrap();
        assert_eq!((titles(&page, "files"), page["total"].as_u64()), (vec!["Roadmap.docx".to_owned()], Some(3)));
    }

    #[test]
    fn renaming_keeps_a_files_extension() {
        let mut s = Store::seeded();
        let welcome = id_of(&s, "Welcome.txt");
        assert_eq!(s.rename(welcome, "Hello", false).unwrap()["title"], "Hello.txt");
        assert_eq!(s.rename(welcome, "Hello.md", false).unwrap()["fileExst"], ".md");
        assert_eq!(s.rename(welcome, "Hello", true).unwrap_err().status, 404, "a file is not a folder");
        let projects = id_of(&s, "Projects");
        assert_eq!(s.rename(projects, "Plans", true).unwrap()["title"], "Plans");
        assert_eq!(s.rename(MY_DOCUMENTS, "Mine", true).unwrap_err().status, 403);
    }

    #[test]
    fn a_new_file_is_empty_numbered_on_a_clash_and_not_made_in_system_folders() {
        let mut s = Store::seeded();
        let made = s.create_file(MY_DOCUMENTS, "Plan").unwrap();
        assert_eq!((made["title"].as_str(), made["pureContentLength"].as_i64()), (Some("Plan.docx"), Some(0)));
        assert_eq!(s.create_file(MY_DOCUMENTS, "Welcome.txt").unwrap()["title"], "Welcome (1).txt");
        assert_eq!(s.create_file(id_of(&s, "Marketing"), "Sheet.xlsx").unwrap()["fileType"], 5);
        for parent in [TRASH, ROOMS, ARCHIVE] {
            assert_eq!(s.create_file(parent, "x.docx").unwrap_err().status, 403);
        }
        assert_eq!(s.create_file(9999, "x.docx").unwrap_err().status, 404);
        assert_eq!(s.create_file(MY_DOCUMENTS, " ").unwrap_err().status, 400);
    }

    #[test]
    fn versions_are_listed_and_an_old_one_restored_as_a_new_version() {
        let mut s = Store::seeded();
        let welcome = id_of(&s, "Welcome.txt");
        let original = s.entries[&welcome].content.clone();
        s.store_upload(MY_DOCUMENTS, "Welcome.txt", b"second", false).unwrap();
        let versions = s.versions_json(welcome).unwrap();
        assert_eq!(versions.iter().map(|v| v["version"].as_i64().unwrap()).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(versions[1]["pureContentLength"].as_u64(), original.as_ref().map(|c| c.len() as u64));
        let history = s.restore_version(welcome, 1).unwrap();
        assert_eq!(
            history.as_array().unwrap().iter().map(|h| h["version"].as_i64().unwrap()).collect::<Vec<_>>(),
            [3, 2, 1]
        );
        assert_eq!(s.entries[&welcome].content, original);
        assert_eq!(s.restore_version(welcome, 9).unwrap_err().status, 404);
        assert_eq!(s.versions_json(MY_DOCUMENTS).unwrap_err().status, 404);
    }

    #[test]
    fn free_titles_count_up() {
        let mut s = Store::seeded();
        assert_eq!(s.free_title(MY_DOCUMENTS, "Welcome.txt"), "Welcome (1).txt");
        s.insert_file(MY_DOCUMENTS, "Welcome (1).txt", b"", "me");
        assert_eq!(s.free_title(MY_DOCUMENTS, "Welcome.txt"), "Welcome (2).txt");
        assert_eq!(s.free_title(MY_DOCUMENTS, "Projects"), "Projects (1)");
    }
}
