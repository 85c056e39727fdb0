//! The protected resource, who the bearer is, and their password.

use rocket::serde::json::Json;
use rocket::{Route, State, get, post, routes};

use crate::auth::accounts::{self, PublicUser};
use crate::auth::pairs::Pair;
use crate::error::Result;
use crate::http::body::{Body, Field};
use crate::http::guards::AuthUser;
use crate::http::openapi::{
    BadRequest, Detail, E400, E401_BEARER, E404_PAGE, E413, E415, E429, PasswordChange,
};
use crate::http::pagination::Page;
use crate::http::trail;
use crate::state::App;
use crate::store::audit::{Filter, Listed};
use crate::store::sessions::ClientInfo;

pub const BASE: &str = "/api/me";
pub const DEMAND: super::Demand = super::Demand::User;

pub fn routes() -> Vec<Route> {
    routes![me, change_password, activity]
}

#[utoipa::path(
    get,
    tag = "me",
    context_path = BASE,
    path = "/",
    operation_id = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = PublicUser),
        (status = 401, description = E401_BEARER, body = Detail),
    ),
)]
#[get("/")]
fn me(caller: AuthUser) -> Json<PublicUser> {
    Json(PublicUser::of(&caller.user))
}

/// Changes the password, ends every session (this one too), and hands back
/// a fresh pair so the client that changed it stays signed in.
#[utoipa::path(
    post,
    tag = "me",
    context_path = BASE,
    path = "/password/",
    operation_id = "change_own_password",
    security(("bearer" = [])),
    request_body(content(
        (PasswordChange = "application/json"),
        (PasswordChange = "application/x-www-form-urlencoded"),
        (PasswordChange = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "Changed; every session ended, and a fresh pair for this client", body = Pair),
        (status = 401, description = E401_BEARER, body = Detail),
        (status = 400, description = E400, body = BadRequest),
        (status = 413, description = E413, body = Detail),
        (status = 415, description = E415, body = Detail),
        (status = 429, description = E429, body = Detail),
    ),
)]
#[post("/password", data = "<body>")]
async fn change_password(
    app: &State<App>,
    caller: AuthUser,
    body: Body,
    client: ClientInfo,
) -> Result<Json<Pair>> {
    let [old, new] = body.two([
        Field::password("old_password", &app.settings),
        Field::password("new_password", &app.settings),
    ])?;
    accounts::change_own_password(app, &caller.user, old, new, client)
        .await
        .map(Json)
}

/// The caller's own recent activity, from the audit trail.
#[utoipa::path(
    get,
    tag = "me",
    context_path = BASE,
    path = "/activity/",
    operation_id = "own_activity",
    security(("bearer" = [])),
    params(
        ("page" = Option<String>, Query, nullable = false, description = "A page number from 1, or `last`"),
        ("page_size" = Option<String>, Query, nullable = false, description = "Rows a page (default 50, at most 500)"),
    ),
    responses(
        (status = 200, description = "The caller's security events, newest first", body = Page<Listed>),
        (status = 401, description = E401_BEARER, body = Detail),
        (status = 404, description = E404_PAGE, body = Detail),
    ),
)]
#[get("/activity?<page>&<page_size>")]
async fn activity(
    app: &State<App>,
    caller: AuthUser,
    page: Option<&str>,
    page_size: Option<&str>,
) -> Result<Json<Page<Listed>>> {
    let filter = Filter {
        user_id: Some(caller.user.id),
        ..Filter::default()
    };
    let base = format!("{BASE}/activity");
    trail::page(app, &base, filter, String::new(), page, page_size)
        .await
        .map(Json)
}
