//! Uploads: a whole file at once, or a chunked upload session that becomes
//! a file when its last byte arrives. A name clash makes a new version of
//! the existing file, or a new file with a free title when asked to.

use serde_json::Value;

use super::{Outcome, Refusal, Store, valid_title};

/// A chunked upload session.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    folder: i64,
    name: String,
    /// The size announced when the session was made.
    total: u64,
    data: Vec<u8>,
    /// On a name clash, a new file (else a new version of the existing one).
    create_new: bool,
}

/// How far a session got.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Chunked {
    /// Bytes received so far, more to come.
    Partial(u64),
    /// Every byte arrived: the new file's `FileDtoInteger`, and its size.
    Done(Value, u64),
}

impl Store {
    /// Starts a chunked upload session for `name` (`total` bytes) in `folder`; returns its id.
    pub(crate) fn create_upload(&mut self, folder: i64, name: &str, total: u64, create_new: bool) -> Outcome<String> {
        self.folder(folder)?;
        let name = valid_title(name)?;
        if !name.contains('.') {
            return Err(Refusal::bad("The file name needs an extension"));
        }
        let id = self.token("upload");
        self.uploads.insert(id.clone(), Upload { folder, name, total, data: Vec::new(), create_new });
        Ok(id)
    }

    /// Appends a chunk to a session; the last one stores the file.
    pub(crate) fn upload_chunk(&mut self, session: &str, chunk: &[u8]) -> Outcome<Chunked> {
        let upload = self.uploads.get_mut(session).ok_or_else(|| Refusal::not_found("upload session"))?;
        upload.data.extend_from_slice(chunk);
        let received = upload.data.len() as u64;
        if received > upload.total {
            self.uploads.remove(session);
            return Err(Refusal::bad("More bytes arrived than the session announced"));
        }
        if received < upload.total {
            return Ok(Chunked::Partial(received));
        }
        let done = self.uploads.remove(session).ok_or_else(|| Refusal::not_found("upload session"))?;
        let file = self.store_upload(done.folder, &done.name, &done.data, done.create_new)?;
        Ok(Chunked::Done(file, received))
    }

    /// Stores an uploaded file: a new one, or on a name clash a new version
    /// of the existing one (a new file with a free title if `create_new`).
    pub(crate) fn store_upload(&mut self, folder: i64, name: &str, data: &[u8], create_new: bool) -> Outcome<Value> {
        self.folder(folder)?;
        let me = self.my_id();
        let clash = self.children(folder).find(|e| !e.is_folder() && e.title == name).map(|e| e.id);
        let id = match clash {
            Some(existing) if !create_new => {
                let tick = self.tick();
                let e = self.entries.get_mut(&existing).ok_or_else(|| Refusal::not_found("file"))?;
                e.new_version(data.to_vec(), tick);
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
}

#[cfg(test)]
mod tests {
    use super::super::MY_DOCUMENTS;
    use super::*;

    #[test]
    fn a_session_becomes_a_file_with_its_last_chunk() {
        let mut s = Store::seeded();
        let session = s.create_upload(MY_DOCUMENTS, "big.bin", 6, false).unwrap();
        assert_eq!(s.upload_chunk(&session, b"ab").unwrap(), Chunked::Partial(2));
        assert_eq!(s.upload_chunk(&session, b"cd").unwrap(), Chunked::Partial(4));
        let Chunked::Done(file, 6) = s.upload_chunk(&session, b"ef").unwrap() else { panic!("not done") };
        assert_eq!((file["title"].as_str(), file["pureContentLength"].as_u64()), (Some("big.bin"), Some(6)));
        let id = file["id"].as_i64().unwrap();
        assert_eq!(s.entries[&id].content.as_deref(), Some(&b"abcdef"[..]));
        assert_eq!(s.upload_chunk(&session, b"x").unwrap_err().status, 404, "the session is over");
    }

    #[test]
    fn a_session_refuses_more_than_it_announced() {
        let mut s = Store::seeded();
        let session = s.create_upload(MY_DOCUMENTS, "small.txt", 2, false).unwrap();
        assert_eq!(s.upload_chunk(&session, b"abc").unwrap_err().status, 400);
        assert!(s.uploads.is_empty(), "and is dropped");
        assert_eq!(s.create_upload(MY_DOCUMENTS, "no-extension", 1, false).unwrap_err().status, 400);
        assert_eq!(s.create_upload(9999, "a.txt", 1, false).unwrap_err().status, 404);
    }

    #[test]
    fn a_clash_makes_a_version_or_a_new_file() {
        let mut s = Store::seeded();
        let first = s.store_upload(MY_DOCUMENTS, "Welcome.txt", b"v2", false).unwrap();
        assert_eq!((first["title"].as_str(), first["version"].as_i64()), (Some("Welcome.txt"), Some(2)));
        let second = s.store_upload(MY_DOCUMENTS, "Welcome.txt", b"other", true).unwrap();
        assert_eq!((second["title"].as_str(), second["version"].as_i64()), (Some("Welcome (1).txt"), Some(1)));
        assert_ne!(first["id"], second["id"]);
    }
}
