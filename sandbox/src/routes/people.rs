//! People: the caller, and the directory with a filter and paging.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
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
