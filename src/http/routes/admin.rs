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

/// The user's live sessions, as they see them on `/api/sessions/`.
#[get("/<id>/sessions")]
async fn sessions(app: &State<App>, _staff: StaffUser, id: i64) -> Result<Json<Vec<Listed>>> {
    accounts::find(app, id).await?;
    accounts::list_sessions(app, id, None).await.map(Json)
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
