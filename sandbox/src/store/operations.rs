//! File operations: move, copy, delete (to the trash, then for good), empty
//! the trash, archive, and bulk download with conversion. Each is done at
//! once, but its status can report it running for a few reads
//! ([`Store::operation_latency`]), as a real portal's long operations do.

use serde_json::{Value, json};

use super::{Entry, Outcome, ROOMS, Refusal, Store, TRASH};

/// DocSpace `FileOperationType`s.
pub(super) const MOVE: i64 = 0;
pub(super) const COPY: i64 = 1;
pub(super) const DELETE: i64 = 2;
pub(super) const DOWNLOAD: i64 = 4;
pub(super) const ARCHIVE: i64 = 5;
pub(super) const UNARCHIVE: i64 = 6;

/// What a name clash in the destination of a copy or move does
/// (`FileConflictResolveType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conflict {
    /// Leave that item alone.
    Skip,
    /// Replace the existing item.
    Overwrite,
    /// Give the new item a free title, `Name (1).ext`.
    Duplicate,
}

/// Conversions a bulk download can make (by target extension; empty or
/// the file's own extension: none).
const CONVERSIONS: [&str; 7] = ["", ".txt", ".csv", ".md", ".docx", ".xlsx", ".pdf"];

/// A file operation, for `FileOperationDto`.
#[derive(Debug, Clone)]
pub(crate) struct FileOperation {
    id: String,
    kind: i64,
    files: Vec<i64>,
    folders: Vec<i64>,
    /// Bulk download: where the result is.
    url: Option<String>,
    /// How many more status reads report it running.
    pending_reads: u32,
}

impl Store {
    /// Records a finished operation (reads may still see it running) and returns its `FileOperationDto`.
    pub(super) fn operation(&mut self, kind: i64, files: Vec<i64>, folders: Vec<i64>, url: Option<String>) -> Value {
        let id = self.token("op");
        let op = FileOperation { id: id.clone(), kind, files, folders, url, pending_reads: self.operation_latency };
        let v = self.operation_json(&op, self.operation_latency > 0);
        self.operations.insert(id, op);
        v
    }

    /// `FileOperationDto`.
    fn operation_json(&self, op: &FileOperation, running: bool) -> Value {
        let entries = |ids: &[i64]| -> Vec<Value> {
            ids.iter().filter_map(|i| self.entries.get(i)).map(|e| json!({"id": e.id, "title": e.title})).collect()
        };
        json!({
            "id": op.id, "Operation": op.kind, "progress": if running { 50 } else { 100 }, "error": "",
            "processed": if running { "1" } else { "2" }, "finished": !running, "status": if running { 1 } else { 2 },
            "url": if running { None } else { op.url.clone() },
            "files": entries(&op.files), "folders": entries(&op.folders),
        })
    }

    /// The status of every operation, or of `only`; each read brings running ones closer to done.
    pub(crate) fn read_operations(&mut self, only: Option<&str>) -> Vec<Value> {
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

    /// Moves entries to the trash, or deletes them for good when already there.
    /// Moves entries to the trash, or deletes them for good when they are in
    /// it already or `immediately` says so (DocSpace's `immediately`).
    pub(crate) fn delete(&mut self, files: &[i64], folders: &[i64], immediately: bool) -> Outcome<Value> {
        for id in files.iter().chain(folders) {
            if *id <= TRASH {
                return Err(Refusal::forbidden("System folders cannot be deleted"));
            }
            if !self.entries.contains_key(id) {
                return Err(Refusal::not_found(if files.contains(id) { "file" } else { "folder" }));
            }
        }
        for id in files.iter().chain(folders) {
            if immediately || self.is_within(*id, TRASH) {
                self.remove_tree(*id);
            } else if let Some(e) = self.entries.get_mut(id) {
                e.parent = TRASH;
            }
        }
        Ok(self.operation(DELETE, files.to_vec(), folders.to_vec(), None))
    }

    /// Deletes everything in the trash for good.
    pub(crate) fn empty_trash(&mut self) -> Value {
        let ids: Vec<i64> = self.children(TRASH).map(|e| e.id).collect();
        for id in &ids {
            self.remove_tree(*id);
        }
        self.operation(DELETE, Vec::new(), ids, None)
    }

    /// Copies or moves entries into `dest`, resolving name clashes as `conflict` says.
    pub(crate) fn transfer(
        &mut self,
        files: &[i64],
        folders: &[i64],
        dest: i64,
        copy: bool,
        conflict: Conflict,
    ) -> Outcome<Value> {
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
                (Some(_), Conflict::Skip) => continue,
                (Some(existing), Conflict::Overwrite) => {
                    self.remove_tree(existing);
                    src.title.clone()
                }
                (Some(_), Conflict::Duplicate) => self.free_title(dest, &src.title),
                (None, _) => src.title.clone(),
            };
            if copy {
                self.copy_tree(&src, dest, &title, &me);
            } else if let Some(e) = self.entries.get_mut(id) {
                e.parent = dest;
                e.title = title;
            }
        }
        Ok(self.operation(if copy { COPY } else { MOVE }, files.to_vec(), folders.to_vec(), None))
    }

    fn copy_tree(&mut self, src: &Entry, dest: i64, title: &str, by: &str) {
        let id = match &src.content {
            Some(content) => self.insert_file(dest, title, content, by),
            None => self.insert_folder(dest, title, by),
        };
        let kids: Vec<Entry> = self.children(src.id).cloned().collect();
        for k in kids {
            self.copy_tree(&k, id, &k.title, by);
        }
    }

    /// Bulk download: converts one file (or concatenates several, each under a
    /// `==> title <==` line), keeps the result at `{base_url}/sandbox/download/…`
    /// and returns the operation that hands out that URL.
    pub(crate) fn bulk_download(&mut self, base_url: &str, files: &[(i64, Option<String>)]) -> Outcome<Value> {
        if files.is_empty() {
            return Err(Refusal::bad("Nothing to download"));
        }
        let mut out = Vec::new();
        let mut name = String::new();
        for (id, convert) in files {
            let f = self.file(*id)?;
            let target = convert.clone().unwrap_or_else(|| f.extension());
            if !CONVERSIONS.contains(&target.as_str()) && target != f.extension() {
                return Err(Refusal::bad(format!("Cannot convert {} to {target}", f.title)));
            }
            if files.len() > 1 {
                out.extend_from_slice(format!("==> {} <==\n", f.title).as_bytes());
            }
            name = match f.title.rfind('.') {
                Some(i) if !target.is_empty() => format!("{}{target}", f.title.split_at(i).0),
                _ => f.title.clone(),
            };
            out.extend_from_slice(f.content.as_deref().unwrap_or_default());
        }
        let token = self.token("dl");
        let url = format!("{base_url}/sandbox/download/{token}");
        self.downloads.insert(token, (name, out));
        let ids = files.iter().map(|(i, _)| *i).collect();
        Ok(self.operation(DOWNLOAD, ids, Vec::new(), Some(url)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::id_of;
    use super::super::{ARCHIVE as ARCHIVE_FOLDER, MY_DOCUMENTS};
    use super::*;

    fn titles_in(s: &Store, folder: i64) -> Vec<String> {
        let mut t: Vec<String> = s.children(folder).map(|e| e.title.clone()).collect();
        t.sort();
        t
    }

    #[test]
    fn copies_resolve_clashes_as_asked() {
        let mut s = Store::seeded();
        let welcome = id_of(&s, "Welcome.txt");
        s.transfer(&[welcome], &[], MY_DOCUMENTS, true, Conflict::Skip).unwrap();
        assert_eq!(titles_in(&s, MY_DOCUMENTS), ["Projects", "Welcome.txt"]);
        let op = s.transfer(&[welcome], &[], MY_DOCUMENTS, true, Conflict::Duplicate).unwrap();
        assert_eq!((op["Operation"].as_i64(), op["finished"].as_bool()), (Some(COPY), Some(true)));
        assert_eq!(titles_in(&s, MY_DOCUMENTS), ["Projects", "Welcome (1).txt", "Welcome.txt"]);
        let copy = id_of(&s, "Welcome (1).txt");
        assert_eq!(s.entries[&copy].content, s.entries[&welcome].content);
        s.transfer(&[welcome], &[], MY_DOCUMENTS, true, Conflict::Overwrite).unwrap();
        assert_eq!(titles_in(&s, MY_DOCUMENTS), ["Projects", "Welcome (1).txt", "Welcome.txt"]);
        assert!(!s.entries.contains_key(&welcome), "overwritten by its copy");
    }

    #[test]
    fn a_folder_moves_with_its_content_but_not_into_itself() {
        let mut s = Store::seeded();
        let projects = id_of(&s, "Projects");
        let inner = s.create_folder(projects, "Inner").unwrap()["id"].as_i64().unwrap();
        assert_eq!(s.transfer(&[], &[projects], inner, false, Conflict::Duplicate).unwrap_err().status, 400);
        assert_eq!(s.transfer(&[], &[projects], TRASH, false, Conflict::Duplicate).unwrap_err().status, 403);
        let marketing = id_of(&s, "Marketing");
        let op = s.transfer(&[], &[projects], marketing, false, Conflict::Duplicate).unwrap();
        assert_eq!(op["Operation"], MOVE);
        assert_eq!(s.entries[&projects].parent, marketing);
        assert_eq!(s.root_of(id_of(&s, "Budget.xlsx")), ROOMS);
        let copy = s.transfer(&[], &[projects], MY_DOCUMENTS, true, Conflict::Duplicate).unwrap();
        assert_eq!(copy["folders"][0]["title"], "Projects");
        assert_eq!(s.entries.values().filter(|e| e.title == "Budget.xlsx").count(), 2, "copied with its content");
    }

    #[test]
    fn deleting_goes_through_the_trash() {
        let mut s = Store::seeded();
        let (welcome, projects) = (id_of(&s, "Welcome.txt"), id_of(&s, "Projects"));
        s.delete(&[welcome], &[projects], false).unwrap();
        assert_eq!(titles_in(&s, TRASH), ["Projects", "Welcome.txt"]);
        s.delete(&[welcome], &[], false).unwrap();
        assert!(!s.entries.contains_key(&welcome), "deleted from the trash for good");
        let op = s.empty_trash();
        assert_eq!(op["folders"], json!([]), "gone before the operation reports them");
        assert!(s.entries.values().all(|e| e.title != "Budget.xlsx"), "with what was inside");
        assert_eq!(s.delete(&[], &[ARCHIVE_FOLDER], false).unwrap_err().status, 403);
        assert_eq!(s.delete(&[welcome], &[], false).unwrap_err().status, 404);
    }

    #[test]
    fn deleting_immediately_skips_the_trash() {
        let mut s = Store::seeded();
        let projects = id_of(&s, "Projects");
        s.delete(&[], &[projects], true).unwrap();
        assert!(titles_in(&s, TRASH).is_empty(), "not in the trash");
        assert!(s.entries.values().all(|e| e.title != "Projects" && e.title != "Budget.xlsx"), "gone with its content");
    }

    #[test]
    fn operations_finish_after_the_reads_they_are_given() {
        let mut s = Store::seeded();
        s.operation_latency = 2;
        let op = s.delete(&[id_of(&s, "Welcome.txt")], &[], false).unwrap();
        assert_eq!((op["finished"].as_bool(), op["progress"].as_i64()), (Some(false), Some(50)));
        let id = op["id"].as_str().unwrap().to_owned();
        let finished = |s: &mut Store| s.read_operations(Some(&id))[0]["finished"].as_bool().unwrap();
        assert!(!finished(&mut s));
        assert!(!finished(&mut s));
        assert!(finished(&mut s));
        assert_eq!(s.read_operations(None).len(), 1);
        assert!(s.read_operations(Some("op-unknown")).is_empty());
    }

    /// The file a finished bulk download hands out.
    fn downloaded(s: &Store, op: &Value) -> (String, String) {
        let token = op["url"].as_str().unwrap().strip_prefix("http://sandbox/sandbox/download/").unwrap();
        let (name, bytes) = &s.downloads[token];
        (name.clone(), String::from_utf8(bytes.clone()).unwrap())
    }

    #[test]
    fn bulk_download_converts_or_concatenates() {
        let mut s = Store::seeded();
        let (budget, roadmap) = (id_of(&s, "Budget.xlsx"), id_of(&s, "Roadmap.docx"));
        let one = s.bulk_download("http://sandbox", &[(budget, Some(".csv".into()))]).unwrap();
        assert_eq!(one["Operation"], DOWNLOAD);
        assert_eq!(
            downloaded(&s, &one),
            ("Budget.csv".to_owned(), "Item,Cost\nServers,1200\nLicences,300\n".to_owned())
        );
        let two = s.bulk_download("http://sandbox", &[(budget, None), (roadmap, Some(".txt".into()))]).unwrap();
        let (name, text) = downloaded(&s, &two);
        assert_eq!(name, "Roadmap.txt");
        assert!(text.starts_with("==> Budget.xlsx <==\nItem,Cost") && text.contains("==> Roadmap.docx <==\nRoadmap"));

        s.operation_latency = 1;
        let running = s.bulk_download("http://sandbox", &[(budget, None)]).unwrap();
        assert_eq!(running["url"], Value::Null, "no URL before it finishes");
        let id = running["id"].as_str().unwrap();
        assert_eq!(s.read_operations(Some(id))[0]["url"], Value::Null, "one read reports it running");
        let done = s.read_operations(Some(id)).pop().unwrap();
        assert_eq!(downloaded(&s, &done).0, "Budget.xlsx");

        assert_eq!(s.bulk_download("http://sandbox", &[(budget, Some(".exe".into()))]).unwrap_err().status, 400);
        assert_eq!(s.bulk_download("http://sandbox", &[]).unwrap_err().status, 400);
        assert_eq!(s.bulk_download("http://sandbox", &[(MY_DOCUMENTS, None)]).unwrap_err().status, 404);
    }
}
