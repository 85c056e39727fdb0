//! The staff API over users. Every route takes `StaffUser`: anonymous
//! callers get 401, authenticated non-staff 403.

use rocket::http::Status;
use rocket::response::status::Custom;
use rocket::serde::json::Json;
use rocket::{Route, State, delete, get, patch, post, routes};
use serde_json::{Value, json};

use crate::auth::accounts::{self, NewUser, PublicUser, UserChanges};
use crate::auth::pairs::Pair;
use crate::error::Result;
use crate::http::body::{Body, Field};
use crate::http::guards::StaffUser;
use crate::http::openapi::{
    BadRequest, Detail, E400, E401_BEARER, E403_STAFF, E404, E404_PAGE, E409, E413, E415, Empty,
    NewUserRequest, PasswordReset, Revoked, UserChangesRequest,
};
use crate::http::pagination::{Page, Window};
use crate::state::App;
use crate::store::sessions::{ClientInfo, Listed};

pub const BASE: &str = "/api/admin/users";
pub const DEMAND: super::Demand = super::Demand::Staff;

pub fn routes() -> Vec<Route> {
    routes![
        list,
        create,
        read,
        update,
        remove,
        set_password,
        force_logout,
        mint,
        sessions
    ]
}

/// `search` (DRF's `SearchFilter` name) keeps the users whose names
/// contain it.
#[utoipa::path(
    get,
    tag = "admin",
    context_path = BASE,
    path = "/",
    operation_id = "list_users",
    security(("bearer" = [])),
    params(
        ("page" = Option<String>, Query, nullable = false, description = "A page number from 1, or `last`"),
        ("page_size" = Option<String>, Query, nullable = false, description = "Rows a page (default 50, at most 500)"),
        ("search" = Option<String>, Query, nullable = false, description = "Only users whose names contain this"),
    ),
    responses(
        (status = 200, description = "Users, by id", body = Page<PublicUser>),
        (status = 401, description = E401_BEARER, body = Detail),
        (status = 403, description = E403_STAFF, body = Detail),
        (status = 404, description = E404_PAGE, body = Detail),
    ),
)]
#[get("/?<page>&<page_size>&<search>")]
async fn list(
    app: &State<App>,
    _staff: StaffUser,
    page: Option<&str>,
    page_size: Option<&str>,
    search: Option<&str>,
) -> Result<Json<Page<PublicUser>>> {
    let term = search.map(str::trim).filter(|s| !s.is_empty());
    let Some(term) = term else {
        let count = accounts::count_users(app).await?;
        let window = Window::of(page, page_size, count)?;
        let (_, listed) = accounts::list_users(app, window.offset, window.size).await?;
        let results = listed.iter().map(PublicUser::of).collect();
        return Ok(Json(Page::new(&window, count, BASE, "", results)));
    };
    let count = accounts::count_matching(app, term).await?;
    let window = Window::of(page, page_size, count)?;
    let listed = accounts::list_matching(app, term, window.offset, window.size).await?;
    let results = listed.iter().map(PublicUser::of).collect();
    let query = format!("&search={}", encode(term));
    Ok(Json(Page::new(&window, count, BASE, &query, results)))
}

/// A query value, percent-encoded (everything but unreserved characters).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[utoipa::path(
    post,
    tag = "admin",
    context_path = BASE,
    path = "/",
    operation_id = "create_user",
    security(("bearer" = [])),
    request_body(content(
        (NewUserRequest = "application/json"),
        (NewUserRequest = "application/x-www-form-urlencoded"),
        (NewUserRequest = "multipart/form-data"),
    )),
    responses(
        (status = 201, description = "Created", body = PublicUser),
        (status = 400, description = E400, body = BadRequest),
        (status = 413, description = E413, body = Detail),
        (status = 415, description = E415, body = Detail),
        (status = 401, description = E401_BEARER, body = Detail),
        (status = 403, description = E403_STAFF, body = Detail),
    ),
)]
#[post("/", data = "<body>")]
async fn create(
    app: &State<App>,
    staff: StaffUser,
    client: ClientInfo,
    body: Body,
) -> Result<Custom<Json<PublicUser>>> {
    let is_staff = body.boolean("is_staff")?.unwrap_or(false);
    let [username, password] = body.credentials(&app.settings)?;
    let new = NewUser {
        username,
        password,
        is_staff,
        first_account: false,
    };
    let user = accounts::create_user(app, new, &staff.actor(client)).await?;
    Ok(Custom(Status::Created, Json(PublicUser::of(&user))))
}

#[utoipa::path(
    get,
    tag = "admin",
    context_path = BASE,
    path = "/{id}/",
    operation_id = "read_user",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user", body = PublicUser),
        (status = 401, description = E401_BEARER, body = Detail),
        (status = 403, description = E403_STAFF, body = Detail),
        (status = 404, description = E404, body = Detail),
    ),
)]
#[get("/<id>")]
async fn read(app: &State<App>, _staff: StaffUser, id: i64) -> Result<Json<PublicUser>> {
    Ok(Json(PublicUser::of(&accounts::find(app, id).await?)))
}

/// Changes `is_active`, `is_staff` and `username`; deactivation ends the
/// user's sessions and tokens at once.
#[utoipa::path(
    patch,
    tag = "admin",
    context_path = BASE,
    path = "/{id}/",
    operation_id = "update_user",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The user's id")),
    request_body(content(
        (UserChangesRequest = "application/json"),
        (UserChangesRequest = "application/x-www-form-urlencoded"),
        (UserChangesRequest = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "The changed user", body = PublicUser),
        (status = 400, description = E400, body = BadRequest),
        (status = 413, description = E413, body = Detail),
        (status = 415, description = E415, body = Detail),
        (status = 401, description = E401_BEARER, body = Detail),
        (status = 403, description = E403_STAFF, body = Detail),
        (status = 404, description = E404, body = Detail),
        (status = 409, description = E409, body = Detail),
    ),
)]
#[patch("/<id>", data = "<body>")]
async fn update(
    app: &State<App>,
    staff: StaffUser,
    client: ClientInfo,
    id: i64,
    body: Body,
) -> Result<Json<PublicUser>> {
    let changes = UserChanges {
        is_active: body.boolean("is_active")?,
        is_staff: body.boolean("is_staff")?,
        username: match body.has("username") {
            true => Some(body.one(Field::username(&app.settings))?),
            false => None,
        },
    };
    let user = accounts::update_user(app, id, changes, &staff.actor(client)).await?;
    Ok(Json(PublicUser::of(&user)))
}

/// 204 with no body, as DRF's destroy answers.
#[utoipa::path(
    delete,
    tag = "admin",
    context_path = BASE,
    path = "/{id}/",
    operation_id = "delete_user",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = E401_BEARER, body = Detail),
        (status = 403, description = E403_STAFF, body = Detail),
        (status = 404, description = E404, body = Detail),
        (status = 409, description = E409, body = Detail),
    ),
)]
#[delete("/<id>")]
async fn remove(app: &State<App>, staff: StaffUser, client: ClientInfo, id: i64) -> Result<Status> {
    accounts::delete_user(app, id, &staff.actor(client)).await?;
    Ok(Status::NoContent)
}

#[utoipa::path(
    post,
    tag = "admin",
    context_path = BASE,
    path = "/{id}/password/",
    operation_id = "set_user_password",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The user's id")),
    request_body(content(
        (PasswordReset = "application/json"),
        (PasswordReset = "application/x-www-form-urlencoded"),
        (PasswordReset = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "Set; the user's sessions ended", body = Empty),
        (status = 400, description = E400, body = BadRequest),
        (status = 413, description = E413, body = Detail),
        (status = 415, description = E415, body = Detail),
        (status = 401, description = E401_BEARER, body = Detail),
        (status = 403, description = E403_STAFF, body = Detail),
        (status = 404, description = E404, body = Detail),
    ),
)]
#[post("/<id>/password", data = "<body>")]
async fn set_password(
    app: &State<App>,
    staff: StaffUser,
    client: ClientInfo,
    id: i64,
    body: Body,
) -> Result<Json<Value>> {
    accounts::find(app, id).await?;
    let password = body.one(Field::password("password", &app.settings))?;
    accounts::reset_password(app, id, password, &staff.actor(client)).await?;
    Ok(Json(json!({})))
}

#[utoipa::path(
    post,
    tag = "admin",
    context_path = BASE,
    path = "/{id}/logout/",
    operation_id = "log_user_out",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user's sessions ended", body = Revoked),
        (status = 401, description = E401_BEARER, body = Detail),
        (status = 403, description = E403_STAFF, body = Detail),
        (status = 404, description = E404, body = Detail),
    ),
)]
#[post("/<id>/logout")]
async fn force_logout(
    app: &State<App>,
    staff: StaffUser,
    client: ClientInfo,
    id: i64,
) -> Result<Json<Value>> {
    accounts::find(app, id).await?;
    let revoked = accounts::log_out_everywhere(app, id, &staff.actor(client)).await?;
    Ok(Json(json!({ "revoked": revoked })))
}

/// The user's live sessions, as they see them on `/api/sessions/`.
#[utoipa::path(
    get,
    tag = "admin",
    context_path = BASE,
    path = "/{id}/sessions",
    operation_id = "list_user_sessions",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user's live sessions", body = Vec<Listed>),
        (status = 401, description = E401_BEARER, body = Detail),
        (status = 403, description = E403_STAFF, body = Detail),
        (status = 404, description = E404, body = Detail),
    ),
)]
#[get("/<id>/sessions")]
async fn sessions(app: &State<App>, _staff: StaffUser, id: i64) -> Result<Json<Vec<Listed>>> {
    accounts::find(app, id).await?;
    accounts::list_sessions(app, id, None).await.map(Json)
}

/// A fresh pair for the user, as Simple JWT's `RefreshToken.for_user`.
#[utoipa::path(
    post,
    tag = "admin",
    context_path = BASE,
    path = "/{id}/tokens/",
    operation_id = "mint_user_tokens",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The user's id")),
    responses(
        (status = 201, description = "A fresh pair, a session of the user's own", body = Pair),
        (status = 400, description = "The user is inactive", body = BadRequest),
        (status = 401, description = E401_BEARER, body = Detail),
        (status = 403, description = E403_STAFF, body = Detail),
        (status = 404, description = E404, body = Detail),
    ),
)]
#[post("/<id>/tokens")]
async fn mint(
    app: &State<App>,
    staff: StaffUser,
    client: ClientInfo,
    id: i64,
) -> Result<Custom<Json<Pair>>> {
    let by = staff.actor(client);
    let pair = accounts::mint_for(app, &staff.0.user, id, &by).await?;
    Ok(Custom(Status::Created, Json(pair)))
}
