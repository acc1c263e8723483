//! People: the caller (`@self`, the portal owner) and a few colleagues.

use serde_json::{Value, json};

use super::{DATE, Store};

/// DocSpace's avatar for people without a photo (sizes appended).
const DEFAULT_AVATAR: &str = "/static/images/default_user_photo";

/// Sam Lee, a member of the seeded Marketing room.
pub(super) const SAM: &str = "1a2b3c4d-0001-4e6f-9a7b-000000000002";

#[derive(Debug, Clone)]
pub(crate) struct User {
    /// A UUID.
    pub(crate) id: String,
    pub(crate) first_name: String,
    pub(crate) last_name: String,
    /// Also the login.
    pub(crate) email: String,
    /// The portal's owner and admin.
    pub(crate) is_admin: bool,
}

/// The seeded people; the first is the caller.
pub(super) fn seed() -> Vec<User> {
    let user = |id: &str, first: &str, last: &str, is_admin: bool| User {
        id: id.into(),
        first_name: first.into(),
        last_name: last.into(),
        email: format!("{}.{}@sandbox.example", first.to_lowercase(), last.to_lowercase()),
        is_admin,
    };
    vec![
        user("8f3b1c2e-5d4a-4e6f-9a7b-1c2d3e4f5a6b", "Alex", "Morgan", true),
        user(SAM, "Sam", "Lee", false),
        user("1a2b3c4d-0001-4e6f-9a7b-000000000003", "Priya", "Natarajan", false),
        user("1a2b3c4d-0001-4e6f-9a7b-000000000004", "Jonas", "Weber", false),
    ]
}

impl User {
    fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// `EmployeeDto`, the short form.
    pub(crate) fn summary(&self) -> Value {
        json!({"id": self.id, "displayName": self.display_name(), "avatar": "", "profileUrl": "", "hasAvatar": false,
               "isAnonim": false})
    }

    /// `EmployeeFullDto`.
    pub(crate) fn full(&self) -> Value {
        json!({
            "id": self.id, "displayName": self.display_name(), "firstName": self.first_name, "lastName": self.last_name,
            "userName": self.email, "email": self.email, "status": 1, "activationStatus": 1, "isAdmin": self.is_admin,
            "isOwner": self.is_admin, "isVisitor": false, "isCollaborator": false, "isRoomAdmin": false,
            "hasAvatar": false, "avatar": "", "profileUrl": "", "registrationDate": DATE, "cultureName": "en-US",
            "groups": [], "isLDAP": false, "isSSO": false,
            // What DocSpace sends for someone without a photo, and its account defaults.
            "avatarMax": format!("{DEFAULT_AVATAR}_size_200-200.png"),
            "avatarMedium": format!("{DEFAULT_AVATAR}_size_48-48.png"),
            "avatarSmall": format!("{DEFAULT_AVATAR}_size_32-32.png"),
            "avatarOriginal": format!("{DEFAULT_AVATAR}_size_200-200.png"),
            "mobilePhoneActivationStatus": 0, "isAnonim": false, "isCustomQuota": false, "quotaLimit": -1,
            "usedSpace": 0, "theme": "System", "hasPersonalFolder": true, "tfaAppEnabled": false, "shared": false,
        })
    }
}

impl Store {
    /// The caller.
    pub(crate) fn me(&self) -> Option<&User> {
        self.users.first()
    }

    pub(super) fn my_id(&self) -> String {
        self.me().map(|u| u.id.clone()).unwrap_or_default()
    }

    /// `EmployeeDto` of `id`, or a stand-in for someone unknown.
    pub(super) fn user_summary(&self, id: &str) -> Value {
        self.users
            .iter()
            .find(|u| u.id == id)
            .map_or_else(|| json!({"id": id, "displayName": "Unknown"}), User::summary)
    }

    /// People whose name or e-mail contains `filter`, paged; and how many match.
    pub(crate) fn people(&self, filter: &str, start: usize, count: usize) -> (Vec<Value>, usize) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_is_the_admin() {
        let s = Store::seeded();
        let me = s.me().unwrap();
        assert_eq!(me.email, crate::USERNAME);
        assert!(me.is_admin);
        assert_eq!(me.full()["displayName"], "Alex Morgan");
        assert_eq!(s.user_summary(SAM)["displayName"], "Sam Lee");
        assert_eq!(s.user_summary("nobody")["displayName"], "Unknown");
    }

    #[test]
    fn people_are_filtered_by_name_or_email_and_paged() {
        let s = Store::seeded();
        let (all, total) = s.people("", 0, 100);
        assert_eq!((all.len(), total), (4, 4));
        let (page, total) = s.people("", 1, 2);
        assert_eq!(total, 4);
        assert_eq!(page.iter().map(|p| p["firstName"].as_str().unwrap()).collect::<Vec<_>>(), ["Sam", "Priya"]);
        let (priya, total) = s.people("NATARAJAN", 0, 100);
        assert_eq!((priya[0]["email"].as_str(), total), (Some("priya.natarajan@sandbox.example"), 1));
        assert_eq!(s.people("weber@", 0, 100).1, 1, "e-mail matches too");
        assert_eq!(s.people("nobody", 0, 100).1, 0);
    }
}
