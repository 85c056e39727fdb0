//! The audit trail for staff: `GET /api/admin/audit/?user=&event=&since=`,
//! newest first, paginated like the user list.

use rocket::serde::json::Json;
use rocket::{Route, State, get, routes};

use crate::auth::accounts;
use crate::auth::audit::{self, Event};
use crate::error::{Error, Result};
use crate::http::guards::StaffUser;
use crate::http::openapi::{BadRequest, Detail, E401_BEARER, E403_STAFF, E404_PAGE};
use crate::http::pagination::Page;
use crate::http::trail;
use crate::state::App;
use crate::store::audit::{Filter, Listed};

pub const BASE: &str = "/api/admin/audit";
pub const DEMAND: super::Demand = super::Demand::Staff;

pub fn routes() -> Vec<Route> {
    routes![list]
}

#[utoipa::path(
    get,
    tag = "admin",
    context_path = BASE,
    path = "/",
    operation_id = "list_audit_events",
    security(("bearer" = [])),
    params(
        ("user" = Option<String>, Query, nullable = false, description = "A user id or username"),
        ("event" = Option<String>, Query, nullable = false, description = "An event name, e.g. `login`"),
        ("since" = Option<String>, Query, nullable = false, description = "An RFC 3339 time, or a duration such as `1d`"),
        ("page" = Option<String>, Query, nullable = false, description = "A page number from 1, or `last`"),
        ("page_size" = Option<String>, Query, nullable = false, description = "Rows a page (default 50, at most 500)"),
    ),
    responses(
        (status = 200, description = "Security events, newest first", body = Page<Listed>),
        (status = 400, description = "An unknown event or an unreadable time", body = BadRequest),
        (status = 401, description = E401_BEARER, body = Detail),
        (status = 403, description = E403_STAFF, body = Detail),
        (status = 404, description = E404_PAGE, body = Detail),
    ),
)]
#[get("/?<user>&<event>&<since>&<page>&<page_size>")]
#[allow(clippy::too_many_arguments)]
async fn list(
    app: &State<App>,
    _staff: StaffUser,
    user: Option<&str>,
    event: Option<&str>,
    since: Option<&str>,
    page: Option<&str>,
    page_size: Option<&str>,
) -> Result<Json<Page<Listed>>> {
    let mut filter = Filter::default();
    let mut query = String::new();
    if let Some(user) = user.filter(|u| !u.is_empty()) {
        filter.user_id = Some(user_id(app, user).await?);
        query.push_str(&format!("&user={}", filter.user_id.unwrap_or_default()));
    }
    if let Some(event) = event.filter(|e| !e.is_empty()) {
        let known =
            Event::named(event).ok_or_else(|| Error::field("event", "Select a valid choice."))?;
        filter.event = Some(known.name().to_string());
        query.push_str(&format!("&event={}", known.name()));
    }
    if let Some(since) = since.filter(|s| !s.is_empty()) {
        let at = audit::since(app.now(), since).ok_or_else(|| {
            Error::field("since", "Enter a time (RFC 3339) or a duration such as 1d.")
        })?;
        filter.since = Some(at);
        query.push_str(&format!("&since={at}"));
    }
    trail::page(app, BASE, filter, query, page, page_size)
        .await
        .map(Json)
}

/// A user by id or by name; an unknown one matches nothing.
async fn user_id(app: &App, user: &str) -> Result<i64> {
    if let Ok(id) = user.parse::<i64>() {
        return Ok(id);
    }
    Ok(accounts::find_by_name(app, user)
        .await?
        .map_or(-1, |u| u.id))
}
