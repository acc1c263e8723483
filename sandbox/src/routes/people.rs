//! People and groups: the caller, the directory with a filter and paging,
//! and groups with their members.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{Paging, St, answer, refuse, try_store, with_store};
use crate::store::{Refusal, User};

/// `getSelfProfile`.
pub(super) async fn me(State(s): St) -> Response {
    answer(try_store(&s, |st| st.me().map(User::full).ok_or_else(|| Refusal::not_found("user"))))
}

/// `getAllProfiles`, `searchUsersByExtendedFilter`, `getSimpleByFilter`: the
/// page, with the number of matches in `total`.
pub(super) async fn list(State(s): St, Query(p): Query<Paging>) -> Response {
    let (filter, start, count) = p.parts();
    match with_store(&s, |st| st.people(&filter, start, count)) {
        Ok((list, total)) => axum::Json(
            json!({"response": list, "count": list.len(), "total": total, "links": [], "status": 0, "statusCode": 200}),
        )
        .into_response(),
        Err(r) => refuse(&r),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GroupsQuery {
    user_id: Option<String>,
    // Not a flattened `Paging`: serde_urlencoded cannot read numbers through `flatten`.
    filter_value: Option<String>,
    start_index: Option<usize>,
    count: Option<usize>,
}

/// `getGroups`: the page, with the number of matches in `total`.
pub(super) async fn groups(State(s): St, Query(q): Query<GroupsQuery>) -> Response {
    let paging = Paging { filter_value: q.filter_value, start_index: q.start_index, count: q.count };
    let (filter, start, count) = paging.parts();
    match with_store(&s, |st| st.groups_json(&filter, q.user_id.as_deref(), start, count)) {
        Ok((list, total)) => axum::Json(
            json!({"response": list, "count": list.len(), "total": total, "links": [], "status": 0, "statusCode": 200}),
        )
        .into_response(),
        Err(r) => refuse(&r),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GroupQuery {
    include_members: Option<bool>,
}

/// `getGroup`, with its members when `includeMembers`.
pub(super) async fn group(State(s): St, Path(id): Path<String>, Query(q): Query<GroupQuery>) -> Response {
    answer(try_store(&s, |st| st.group(&id, q.include_members.unwrap_or(false))))
}
