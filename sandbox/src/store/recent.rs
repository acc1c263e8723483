//! The Recent section: the files the caller opened, the latest first.
//! DocSpace adds a file when its editor opens it, and through
//! `addFileToRecent`; the sandbox has no editor, so only the latter (and the
//! seed) fill it. Files in the trash or gone are not listed.

use serde_json::Value;

use super::{Entry, Outcome, Search, Store, TRASH, files, folder_type};

/// The id the Recent folder answers with (DocSpace's is per portal).
const RECENT_FOLDER: i64 = 5;

impl Store {
    /// Puts file `id` first in the Recent section; its `FileDtoInteger`.
    pub(crate) fn add_recent(&mut self, id: i64) -> Outcome<Value> {
        self.file(id)?;
        self.recent.retain(|r| *r != id);
        self.recent.insert(0, id);
        self.file(id).map(|f| self.file_json(f))
    }

    /// The Recent section as a `FolderContentDtoInteger`, in the order the
    /// files were opened, filtered by `search` (its subfolder flag aside).
    pub(crate) fn recent_json(&self, search: &Search, start: usize, count: usize) -> Value {
        let me = self.my_id();
        let mut current = files::folder(RECENT_FOLDER, 0, "Recent", folder_type::RECENT, &me);
        current.updated = self.clock;
        let items: Vec<&Entry> = self
            .recent
            .iter()
            .filter_map(|id| self.file(*id).ok())
            .filter(|e| !self.is_within(e.id, TRASH) && search.matches(e))
            .collect();
        self.page_of(&current, items, start, count)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::id_of;
    use super::*;

    fn titles(v: &Value) -> Vec<&str> {
        v["files"].as_array().unwrap().iter().map(|f| f["title"].as_str().unwrap()).collect()
    }

    #[test]
    fn the_latest_opened_file_comes_first_once() {
        let mut s = Store::seeded();
        assert_eq!(titles(&s.recent_json(&Search::default(), 0, 10)), ["Roadmap.docx"]);
        let welcome = id_of(&s, "Welcome.txt");
        assert_eq!(s.add_recent(welcome).unwrap()["title"], "Welcome.txt");
        s.add_recent(id_of(&s, "Budget.xlsx")).unwrap();
        s.add_recent(welcome).unwrap();
        let all = s.recent_json(&Search::default(), 0, 10);
        assert_eq!(titles(&all), ["Welcome.txt", "Budget.xlsx", "Roadmap.docx"]);
        assert_eq!((all["total"].as_u64(), all["current"]["folderType"].as_i64()), (Some(3), Some(11)));
        let sheets = Search { filter_type: 5, ..Search::default() };
        assert_eq!(titles(&s.recent_json(&sheets, 0, 10)), ["Budget.xlsx"]);
        let text = Search { text: "ROAD".into(), ..Search::default() };
        assert_eq!(titles(&s.recent_json(&text, 0, 10)), ["Roadmap.docx"]);
        assert_eq!(titles(&s.recent_json(&Search::default(), 1, 1)), ["Budget.xlsx"]);
        assert_eq!(s.add_recent(id_of(&s, "Projects")).unwrap_err().status, 404, "a folder is not a file");
        s.delete(&[welcome], &[], false).unwrap();
        assert_eq!(titles(&s.recent_json(&Search::default(), 0, 10)), ["Budget.xlsx", "Roadmap.docx"]);
    }
}
