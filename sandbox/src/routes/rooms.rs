//! Rooms: the list, information, creating, renaming, archiving, deleting,
//! members and links.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;

use super::{Filters, Paging, St, answer, body_of, int_of, str_of, try_store};
use crate::store::{Invitation, ROOMS, Refusal};

/// Collaboration room, when `roomType` is not given.
const DEFAULT_ROOM_TYPE: i64 = 6;

/// `getRoomsFolder`: the Rooms folder's content.
pub(super) async fn list(State(s): St, Query(p): Query<Paging>) -> Response {
    super::files::listing(&s, ROOMS, &p, &Filters::default())
}

pub(super) async fn create(State(s): St, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(&body)?;
        let room_type = int_of(&b, "roomType").unwrap_or(DEFAULT_ROOM_TYPE);
        try_store(&s, |st| st.create_room(str_of(&b, "title"), room_type))
    };
    answer(run())
}

pub(super) async fn info(State(s): St, Path(id): Path<i64>) -> Response {
    answer(try_store(&s, |st| st.room(id).map(|r| st.folder_json(r))))
}

/// `updateRoom`: renames it when a title is given.
pub(super) async fn update(State(s): St, Path(id): Path<i64>, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(&body)?;
        try_store(&s, |st| {
            let room = st.room(id)?;
            match b.get("title").and_then(Value::as_str) {
                Some(t) => st.rename(id, t, true),
                None => Ok(st.folder_json(room)),
            }
        })
    };
    answer(run())
}

pub(super) async fn archive(State(s): St, Path(id): Path<i64>) -> Response {
    answer(try_store(&s, |st| st.archive_room(id, true)))
}

pub(super) async fn unarchive(State(s): St, Path(id): Path<i64>) -> Response {
    answer(try_store(&s, |st| st.archive_room(id, false)))
}

pub(super) async fn members(State(s): St, Path(id): Path<i64>) -> Response {
    answer(try_store(&s, |st| st.members_json(id).map(Value::Array)))
}

/// `setRoomSecurity`: `invitations` by user id or e-mail; access 2 (read) unless given.
pub(super) async fn share(State(s): St, Path(id): Path<i64>, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(&body)?;
        let invitations: Vec<Invitation> = b
            .get("invitations")
            .and_then(Value::as_array)
            .ok_or_else(|| Refusal::bad("`invitations` is required"))?
            .iter()
            .map(|i| Invitation {
                id: i.get("id").and_then(Value::as_str).map(str::to_owned),
                email: i.get("email").and_then(Value::as_str).map(str::to_owned),
                access: i.get("access").and_then(Value::as_i64).unwrap_or(2),
            })
            .collect();
        try_store(&s, |st| st.share_room(id, &invitations))
    };
    answer(run())
}

/// `deleteRoom`: an archived room, for good.
pub(super) async fn delete(State(s): St, Path(id): Path<i64>) -> Response {
    answer(try_store(&s, |st| st.delete_room(id)))
}

#[derive(Debug, Deserialize)]
pub(super) struct LinkQuery {
    r#type: Option<i64>,
}

/// `getRoomLinks`, of one `type` when given.
pub(super) async fn links(State(s): St, Path(id): Path<i64>, Query(q): Query<LinkQuery>) -> Response {
    answer(try_store(&s, |st| st.links(id, false, q.r#type).map(|l| l.iter().map(|l| l.json(&s.base_url)).collect())))
}

/// `setRoomLink`.
pub(super) async fn set_link(State(s): St, Path(id): Path<i64>, body: Bytes) -> Response {
    let run = || -> Result<Value, Refusal> {
        let b = body_of(&body)?;
        try_store(&s, |st| st.set_link(id, false, &super::files::link_request(&b))).map(|l| l.json(&s.base_url))
    };
    answer(run())
}
