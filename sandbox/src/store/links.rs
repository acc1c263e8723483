//! Links: a file's share links and a room's invitation and share links, each
//! answered as a `FileShareDto` whose `sharedLink` is a `FileShareLink`.
//! Setting a link with an unknown or no `linkId` creates one; with a known
//! one changes it, and access 0 (None) revokes it.

use serde_json::{Value, json};

use super::{Outcome, Refusal, Store};

/// DocSpace `LinkType`.
pub(crate) const INVITATION: i64 = 0;
pub(crate) const EXTERNAL: i64 = 1;

/// DocSpace `SubjectType` of a link.
const EXTERNAL_LINK: i64 = 1;
const INVITATION_LINK: i64 = 3;
const PRIMARY_EXTERNAL_LINK: i64 = 4;

/// `FileShare` values a link cannot have: Restrict, Varies, Custom filter,
/// Room manager.
const NOT_FOR_LINKS: [i64; 4] = [3, 4, 8, 9];

/// Read, the access of a new link unless asked.
const READ: i64 = 2;

/// A link.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) access: i64,
    pub(crate) link_type: i64,
    pub(crate) primary: bool,
    pub(crate) internal: bool,
    pub(crate) deny_download: bool,
    pub(crate) password: Option<String>,
    pub(crate) expiration: Option<String>,
    pub(crate) max_use: Option<i64>,
}

/// What `setFileExternalLink` and `setRoomLink` ask for (`FileLinkRequest`,
/// `RoomLinkRequest`); absent members keep their value.
#[derive(Debug, Clone, Default)]
pub(crate) struct LinkRequest {
    pub(crate) link_id: Option<String>,
    pub(crate) title: Option<String>,
    pub(crate) access: Option<i64>,
    pub(crate) link_type: Option<i64>,
    pub(crate) internal: Option<bool>,
    pub(crate) deny_download: Option<bool>,
    pub(crate) password: Option<String>,
    pub(crate) expiration: Option<String>,
    pub(crate) max_use: Option<i64>,
}

impl Link {
    /// `FileShareDto` of this link; `base` is the portal's address.
    pub(crate) fn json(&self, base: &str) -> Value {
        let subject = match (self.link_type, self.primary) {
            (INVITATION, _) => INVITATION_LINK,
            (_, true) => PRIMARY_EXTERNAL_LINK,
            _ => EXTERNAL_LINK,
        };
        let mut link = json!({
            "id": self.id, "title": self.title, "shareLink": format!("{base}/s/{}", self.id),
            "linkType": self.link_type, "denyDownload": self.deny_download, "isExpired": false,
            "primary": self.primary, "internal": self.internal, "requestToken": self.id.replace('-', ""),
            "currentUseCount": 0,
        });
        if let Some(obj) = link.as_object_mut() {
            for (k, v) in [
                ("password", self.password.clone().map(Value::from)),
                ("expirationDate", self.expiration.clone().map(Value::from)),
                ("maxUseCount", self.max_use.map(Value::from)),
            ] {
                if let Some(v) = v {
                    obj.insert(k.into(), v);
                }
            }
        }
        json!({
            "access": self.access, "sharedTo": link, "sharedLink": link, "isLocked": false, "isOwner": false,
            "canEditAccess": true, "canEditInternal": true, "canEditDenyDownload": true,
            "canEditExpirationDate": true, "canRevoke": true, "subjectType": subject,
        })
    }
}

impl Store {
    /// The links of file `id` (`file`) or room `id`, of `link_type` when given.
    pub(crate) fn links(&self, id: i64, file: bool, link_type: Option<i64>) -> Outcome<Vec<&Link>> {
        let e = if file { self.file(id)? } else { self.room(id)? };
        Ok(e.links.iter().filter(|l| link_type.is_none_or(|t| l.link_type == t)).collect())
    }

    /// Creates, changes or (access 0) revokes a link of file `id` (`file`)
    /// or room `id`; the link as it now is.
    pub(crate) fn set_link(&mut self, id: i64, file: bool, r: &LinkRequest) -> Outcome<Link> {
        if file {
            self.file(id)?;
        } else {
            self.room(id)?;
        }
        if let Some(a) = r.access
            && (!(0..=11).contains(&a) || NOT_FOR_LINKS.contains(&a))
        {
            return Err(Refusal::bad(format!("Access level {a} is not valid for a link")));
        }
        if let Some(t) = r.link_type
            && (file && t != EXTERNAL || ![INVITATION, EXTERNAL].contains(&t))
        {
            return Err(Refusal::bad(format!("Link type {t} is not valid here")));
        }
        let new_id = uuid::Uuid::new_v4().to_string();
        let entry = self.entries.get_mut(&id).ok_or_else(|| Refusal::not_found(if file { "file" } else { "room" }))?;
        let known = r.link_id.as_deref().and_then(|l| entry.links.iter().position(|k| k.id.eq_ignore_ascii_case(l)));
        let Some(i) = known else {
            if r.access == Some(0) {
                return Err(Refusal::bad("A new link needs an access level other than 0 (None)"));
            }
            let link_type = r.link_type.unwrap_or(if file { EXTERNAL } else { INVITATION });
            let link = Link {
                id: new_id,
                title: r.title.clone().unwrap_or_else(|| format!("Link {}", entry.links.len() + 1)),
                access: r.access.unwrap_or(READ),
                link_type,
                primary: link_type == EXTERNAL && !entry.links.iter().any(|l| l.primary),
                internal: r.internal.unwrap_or(false),
                deny_download: r.deny_download.unwrap_or(false),
                password: r.password.clone().filter(|p| !p.is_empty()),
                expiration: r.expiration.clone(),
                max_use: r.max_use,
            };
            entry.links.push(link.clone());
            return Ok(link);
        };
        if r.access == Some(0) {
            let mut gone = entry.links.remove(i);
            gone.access = 0;
            return Ok(gone);
        }
        let link = entry.links.get_mut(i).ok_or_else(|| Refusal::not_found("link"))?;
        if let Some(v) = &r.title {
            link.title.clone_from(v);
        }
        if let Some(v) = r.access {
            link.access = v;
        }
        if let Some(v) = r.internal {
            link.internal = v;
        }
        if let Some(v) = r.deny_download {
            link.deny_download = v;
        }
        if let Some(v) = &r.password {
            link.password = Some(v.clone()).filter(|p| !p.is_empty());
        }
        if let Some(v) = &r.expiration {
            link.expiration = Some(v.clone());
        }
        if r.max_use.is_some() {
            link.max_use = r.max_use;
        }
        Ok(link.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::id_of;
    use super::*;

    fn ask(access: Option<i64>) -> LinkRequest {
        LinkRequest { access, ..LinkRequest::default() }
    }

    #[test]
    fn a_file_link_is_created_changed_and_revoked() {
        let mut s = Store::seeded();
        let welcome = id_of(&s, "Welcome.txt");
        assert!(s.links(welcome, true, None).unwrap().is_empty());
        let made = s.set_link(welcome, true, &ask(None)).unwrap();
        assert_eq!((made.access, made.link_type, made.primary), (READ, EXTERNAL, true));
        let dto = made.json("http://sandbox");
        assert_eq!(dto["subjectType"], PRIMARY_EXTERNAL_LINK);
        assert_eq!(dto["sharedLink"]["shareLink"], format!("http://sandbox/s/{}", made.id));
        let second = s.set_link(welcome, true, &LinkRequest { title: Some("Team".into()), ..ask(Some(10)) }).unwrap();
        assert!(!second.primary);
        let change = LinkRequest { link_id: Some(made.id.clone()), password: Some("pw".into()), ..ask(Some(6)) };
        let changed = s.set_link(welcome, true, &change).unwrap();
        assert_eq!((changed.access, changed.password.as_deref()), (6, Some("pw")));
        assert_eq!(s.links(welcome, true, None).unwrap().len(), 2);
        let revoke = LinkRequest { link_id: Some(made.id.clone()), ..ask(Some(0)) };
        assert_eq!(s.set_link(welcome, true, &revoke).unwrap().access, 0);
        assert_eq!(s.links(welcome, true, None).unwrap().len(), 1);
        assert_eq!(s.set_link(welcome, true, &ask(Some(9))).unwrap_err().status, 400);
        assert_eq!(s.set_link(welcome, true, &ask(Some(0))).unwrap_err().status, 400);
        assert_eq!(s.set_link(id_of(&s, "Projects"), true, &ask(None)).unwrap_err().status, 404);
    }

    #[test]
    fn a_room_has_invitation_and_share_links() {
        let mut s = Store::seeded();
        let room = id_of(&s, "Marketing");
        let invite = s.set_link(room, false, &ask(Some(10))).unwrap();
        assert_eq!((invite.link_type, invite.json("")["subjectType"].as_i64()), (INVITATION, Some(INVITATION_LINK)));
        let share = LinkRequest { link_type: Some(EXTERNAL), max_use: Some(3), ..ask(None) };
        assert!(s.set_link(room, false, &share).unwrap().primary);
        assert_eq!(s.links(room, false, None).unwrap().len(), 2);
        assert_eq!(s.links(room, false, Some(EXTERNAL)).unwrap().len(), 1);
        let bad = LinkRequest { link_type: Some(INVITATION), ..ask(None) };
        assert_eq!(s.set_link(id_of(&s, "Welcome.txt"), true, &bad).unwrap_err().status, 400);
        assert_eq!(s.set_link(id_of(&s, "Projects"), false, &ask(None)).unwrap_err().status, 404);
    }
}
