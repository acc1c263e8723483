//! Rooms: folders under Rooms with a room type and members; archived rooms
//! live in the archive.

use serde_json::{Value, json};

use super::{ARCHIVE, Outcome, ROOMS, Refusal, Store, folder_type, valid_title};

/// DocSpace `RoomType`s the sandbox creates: filling forms, collaboration,
/// custom, public, virtual data room.
const ROOM_TYPES: [i64; 5] = [1, 2, 5, 6, 8];

/// DocSpace `FileShare` levels a room member can have (0 removes the member).
const ROOM_ACCESS: [i64; 8] = [0, 2, 5, 6, 7, 9, 10, 11];

/// `FileShare` of a room manager; a room's creator is one.
const ROOM_MANAGER: i64 = 9;

/// Who to invite (by id or e-mail) and with which `FileShare` level.
pub(crate) struct Invitation {
    pub(crate) id: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) access: i64,
}

impl Store {
    pub(super) fn insert_room(&mut self, title: &str, room_type: i64, by: &str) -> i64 {
        let id = self.insert_folder(ROOMS, title, by);
        if let Some(r) = self.entries.get_mut(&id) {
            r.room_type = Some(room_type);
            r.folder_type = folder_type::CUSTOM_ROOM;
            r.members.insert(by.to_owned(), ROOM_MANAGER);
        }
        id
    }

    /// Creates a room, its creator its manager.
    pub(crate) fn create_room(&mut self, title: &str, room_type: i64) -> Outcome<Value> {
        let title = valid_title(title)?;
        if !ROOM_TYPES.contains(&room_type) {
            return Err(Refusal::bad(format!("Unknown room type {room_type}; use 1, 2, 5, 6 or 8")));
        }
        let me = self.my_id();
        let id = self.insert_room(&title, room_type, &me);
        self.room(id).map(|r| self.folder_json(r))
    }

    /// Archives (`archive`) or restores a room.
    pub(crate) fn archive_room(&mut self, id: i64, archive: bool) -> Outcome<Value> {
        self.room(id)?;
        if let Some(r) = self.entries.get_mut(&id) {
            r.parent = if archive { ARCHIVE } else { ROOMS };
        }
        let kind = if archive { super::operations::ARCHIVE } else { super::operations::UNARCHIVE };
        Ok(self.operation(kind, Vec::new(), vec![id], None))
    }

    /// Deletes an archived room and everything in it for good.
    pub(crate) fn delete_room(&mut self, id: i64) -> Outcome<Value> {
        if self.room(id)?.parent != ARCHIVE {
            return Err(Refusal::forbidden("Only an archived room can be deleted: archive it first"));
        }
        self.remove_tree(id);
        Ok(self.operation(super::operations::DELETE, Vec::new(), vec![id], None))
    }

    /// Invites, changes or removes (access 0) room members; `RoomSecurityDto`.
    pub(crate) fn share_room(&mut self, id: i64, invitations: &[Invitation]) -> Outcome<Value> {
        self.room(id)?;
        let mut resolved = Vec::new();
        for i in invitations {
            let user = self
                .users
                .iter()
                .find(|u| {
                    i.id.as_deref() == Some(u.id.as_str())
                        || i.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(&u.email))
                })
                .ok_or_else(|| Refusal::bad(format!("No user with id {:?} or e-mail {:?}", i.id, i.email)))?;
            if !ROOM_ACCESS.contains(&i.access) {
                return Err(Refusal::bad(format!("Access level {} is not valid for a room", i.access)));
            }
            resolved.push((user.id.clone(), i.access));
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

    /// A room's members, each a `FileShareDto`.
    pub(crate) fn members_json(&self, id: i64) -> Outcome<Vec<Value>> {
        let room = self.room(id)?;
        let member = |(user, access): (&String, &i64)| {
            let u = self.users.iter().find(|u| &u.id == user)?;
            Some(json!({
                "access": access, "sharedTo": u.summary(), "sharedToUser": u.full(),
                "isOwner": *access == ROOM_MANAGER && u.id == room.created_by,
                "isLocked": false, "canEditAccess": true, "subjectType": 0,
            }))
        };
        Ok(room.members.iter().filter_map(member).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::people::SAM;
    use super::super::tests::id_of;
    use super::*;

    fn invite(id: Option<&str>, email: Option<&str>, access: i64) -> Invitation {
        Invitation { id: id.map(str::to_owned), email: email.map(str::to_owned), access }
    }

    #[test]
    fn a_new_room_is_listed_with_its_creator_as_manager() {
        let mut s = Store::seeded();
        let room = s.create_room("Launch", 2).unwrap();
        assert_eq!((room["roomType"].as_i64(), room["parentId"].as_i64()), (Some(2), Some(ROOMS)));
        let id = room["id"].as_i64().unwrap();
        let members = s.members_json(id).unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!((members[0]["access"].as_i64(), members[0]["isOwner"].as_bool()), (Some(ROOM_MANAGER), Some(true)));
        let rooms = s.content_json(ROOMS, "", 0, 100).unwrap();
        assert!(rooms["folders"].as_array().unwrap().iter().any(|r| r["id"] == id));
        assert_eq!(s.create_room("Odd", 3).unwrap_err().status, 400);
        assert_eq!(s.create_room("", 2).unwrap_err().status, 400);
    }

    #[test]
    fn members_are_invited_changed_and_removed() {
        let mut s = Store::seeded();
        let contracts = id_of(&s, "Contracts");
        let shared = s.share_room(contracts, &[invite(None, Some("SAM.LEE@sandbox.example"), 10)]).unwrap();
        assert_eq!(shared["members"].as_array().unwrap().len(), 2);
        s.share_room(contracts, &[invite(Some(SAM), None, 2)]).unwrap();
        assert_eq!(s.entries[&contracts].members.get(SAM), Some(&2));
        s.share_room(contracts, &[invite(Some(SAM), None, 0)]).unwrap();
        assert!(!s.entries[&contracts].members.contains_key(SAM));
        assert_eq!(s.share_room(contracts, &[invite(Some("nobody"), None, 2)]).unwrap_err().status, 400);
        assert_eq!(s.share_room(contracts, &[invite(Some(SAM), None, 4)]).unwrap_err().status, 400);
        assert_eq!(s.share_room(id_of(&s, "Projects"), &[]).unwrap_err().status, 404, "a folder is not a room");
    }

    #[test]
    fn archiving_moves_a_room_and_back() {
        let mut s = Store::seeded();
        let marketing = id_of(&s, "Marketing");
        let op = s.archive_room(marketing, true).unwrap();
        assert_eq!(
            (op["Operation"].as_i64(), op["finished"].as_bool()),
            (Some(super::super::operations::ARCHIVE), Some(true))
        );
        assert_eq!(s.entries[&marketing].parent, ARCHIVE);
        s.archive_room(marketing, false).unwrap();
        assert_eq!(s.entries[&marketing].parent, ROOMS);
        assert_eq!(s.archive_room(id_of(&s, "Projects"), true).unwrap_err().status, 404);
    }

    #[test]
    fn only_an_archived_room_is_deleted_with_its_content() {
        let mut s = Store::seeded();
        let marketing = id_of(&s, "Marketing");
        let brief = id_of(&s, "Campaign brief.docx");
        assert_eq!(s.delete_room(marketing).unwrap_err().status, 403);
        s.archive_room(marketing, true).unwrap();
        let op = s.delete_room(marketing).unwrap();
        assert_eq!(op["Operation"], super::super::operations::DELETE);
        assert!(!s.entries.contains_key(&marketing) && !s.entries.contains_key(&brief));
        assert_eq!(s.delete_room(marketing).unwrap_err().status, 404);
    }
}
