//! Groups of people: the list with a filter and paging, and one group with
//! its members (`GroupDto`).

use serde_json::{Value, json};

use super::{Outcome, Refusal, Store, User};

/// A group: its id (a UUID), name, manager and members (user ids).
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) manager: Option<String>,
    pub(crate) members: Vec<String>,
}

/// The seeded groups: Marketing (managed by Sam, with Priya) and Engineering
/// (Jonas and the caller).
pub(super) fn seed(users: &[User]) -> Vec<Group> {
    let id = |i: usize| users.get(i).map(|u| u.id.clone()).unwrap_or_default();
    vec![
        Group {
            id: "5e1f0a2b-0002-4c3d-8e9f-000000000001".into(),
            name: "Marketing".into(),
            manager: Some(id(1)),
            members: vec![id(1), id(2)],
        },
        Group {
            id: "5e1f0a2b-0002-4c3d-8e9f-000000000002".into(),
            name: "Engineering".into(),
            manager: None,
            members: vec![id(3), id(0)],
        },
    ]
}

/// DocSpace's empty UUID (a group's parent and category).
const EMPTY_UUID: &str = "00000000-0000-0000-0000-000000000000";

impl Store {
    /// `GroupDto`, with its members when `with_members`.
    fn group_json(&self, g: &Group, with_members: bool) -> Value {
        let full = |id: &String| self.users.iter().find(|u| &u.id == id).map(User::full);
        let mut v = json!({
            "id": g.id, "name": g.name, "parent": EMPTY_UUID, "category": EMPTY_UUID, "isLDAP": false,
            "isSystem": false, "shared": false, "membersCount": g.members.len(),
            "manager": g.manager.as_ref().and_then(full),
        });
        if let (true, Some(obj)) = (with_members, v.as_object_mut()) {
            obj.insert("members".into(), g.members.iter().filter_map(full).collect());
        }
        v
    }

    /// Groups whose name contains `filter` and, given `user`, that have them as
    /// a member; paged, and how many match.
    pub(crate) fn groups_json(
        &self,
        filter: &str,
        user: Option<&str>,
        start: usize,
        count: usize,
    ) -> (Vec<Value>, usize) {
        let needle = filter.to_lowercase();
        let all: Vec<&Group> = self
            .groups
            .iter()
            .filter(|g| needle.is_empty() || g.name.to_lowercase().contains(&needle))
            .filter(|g| user.is_none_or(|u| g.members.iter().any(|m| m == u)))
            .collect();
        let total = all.len();
        (all.into_iter().skip(start).take(count).map(|g| self.group_json(g, false)).collect(), total)
    }

    /// One group, with its members when `with_members`.
    pub(crate) fn group(&self, id: &str, with_members: bool) -> Outcome<Value> {
        let g =
            self.groups.iter().find(|g| g.id.eq_ignore_ascii_case(id)).ok_or_else(|| Refusal::not_found("group"))?;
        Ok(self.group_json(g, with_members))
    }
}

#[cfg(test)]
mod tests {
    use super::super::people::SAM;
    use super::*;

    #[test]
    fn groups_are_listed_filtered_and_shown_with_their_members() {
        let s = Store::seeded();
        let (all, total) = s.groups_json("", None, 0, 100);
        assert_eq!((all.len(), total), (2, 2));
        assert!(all[0].get("members").is_none(), "the list leaves members out");
        assert_eq!(all[0]["manager"]["displayName"], "Sam Lee");
        assert_eq!(s.groups_json("ENGIN", None, 0, 100).1, 1);
        let (sams, _) = s.groups_json("", Some(SAM), 0, 100);
        assert_eq!(sams.iter().map(|g| g["name"].as_str().unwrap()).collect::<Vec<_>>(), ["Marketing"]);
        assert_eq!(s.groups_json("", None, 1, 1).0[0]["name"], "Engineering");
        let id = all[0]["id"].as_str().unwrap();
        let g = s.group(id, true).unwrap();
        assert_eq!(g["members"].as_array().unwrap().len(), 2);
        assert_eq!(g["membersCount"], 2);
        assert!(s.group(id, false).unwrap().get("members").is_none());
        assert_eq!(s.group("nope", true).unwrap_err().status, 404);
    }
}
