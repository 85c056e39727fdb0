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
use crate::http::pagination::{Page, Window};
use crate::state::App;
use crate::store::sessions::ClientInfo;

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
        mint
    ]
}

#[get("/?<page>&<page_size>")]
async fn list(
    app: &State<App>,
    _staff: StaffUser,
    page: Option<&str>,
    page_size: Option<&str>,
) -> Result<Json<Page<PublicUser>>> {
    let count = accounts::count_users(app).await?;
    let window = Window::of(page, page_size, count)?;
    let (_, listed) = accounts::list_users(app, window.offset, window.size).await?;
    let results = listed.iter().map(PublicUser::of).collect();
    Ok(Json(Page::new(&window, count, BASE, "", results)))
}

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

#[get("/<id>")]
async fn read(app: &State<App>, _staff: StaffUser, id: i64) -> Result<Json<PublicUser>> {
    Ok(Json(PublicUser::of(&accounts::find(app, id).await?)))
}

/// Changes `is_active`, `is_staff` and `username`; deactivation ends the
/// user's sessions and tokens at once.
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
#[delete("/<id>")]
async fn remove(app: &State<App>, staff: StaffUser, client: ClientInfo, id: i64) -> Result<Status> {
    accounts::delete_user(app, id, &staff.actor(client)).await?;
    Ok(Status::NoContent)
}

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

/// A fresh pair for the user, as Simple JWT's `RefreshToken.for_user`.
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
