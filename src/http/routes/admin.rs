//! The staff API over users. Every route takes `StaffUser`: anonymous
//! callers get 401, authenticated non-staff 403.

use rocket::http::Status;
use rocket::response::status::Custom;
use rocket::serde::json::Json;
use rocket::{Route, State, delete, get, patch, post, routes};
use serde::Serialize;
use serde_json::{Value, json};

use crate::auth::accounts::{self, NewUser, PublicUser, UserChanges};
use crate::auth::pairs::Pair;
use crate::error::{Error, Result};
use crate::http::body::{Body, Field};
use crate::http::client::ClientAddr;
use crate::http::guards::StaffUser;
use crate::state::App;

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

const DEFAULT_PAGE_SIZE: i64 = 50;
const MAX_PAGE_SIZE: i64 = 500;

/// Django REST Framework's page-number pagination.
#[derive(Debug, Serialize)]
struct Page {
    count: i64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<PublicUser>,
}

fn invalid_page() -> Error {
    Error::NotFoundDetail("Invalid page.")
}

/// DRF's `page_size` rule: a positive integer, capped; anything else is
/// the default, and is not repeated in the links.
fn page_size(raw: Option<&str>) -> Option<i64> {
    raw.and_then(|s| s.parse::<i64>().ok())
        .filter(|n| *n > 0)
        .map(|n| n.min(MAX_PAGE_SIZE))
}

/// DRF's page rule: a positive integer or `last`; anything else, and a
/// page past the end (but for an empty first page), is `404 Invalid page.`.
fn page_number(raw: Option<&str>, count: i64, size: i64) -> Result<i64> {
    let pages = ((count + size - 1) / size).max(1);
    let page = match raw {
        None => 1,
        Some("last") => pages,
        Some(s) => s.parse::<i64>().map_err(|_| invalid_page())?,
    };
    if page < 1 || page > pages {
        return Err(invalid_page());
    }
    Ok(page)
}

#[get("/?<page>&<page_size>")]
async fn list(
    app: &State<App>,
    _staff: StaffUser,
    page: Option<&str>,
    page_size: Option<&str>,
) -> Result<Json<Page>> {
    let given_size = self::page_size(page_size);
    let size = given_size.unwrap_or(DEFAULT_PAGE_SIZE);
    let count = accounts::count_users(app).await?;
    let page = page_number(page, count, size)?;
    let offset = (page - 1).saturating_mul(size);
    let (_, listed) = accounts::list_users(app, offset, size).await?;
    // Relative links: the request's `Host` header is the client's to
    // choose, so it must not end up in a link latch hands out.
    let link = |p: i64| {
        let size = given_size
            .map(|s| format!("&page_size={s}"))
            .unwrap_or_default();
        format!("{BASE}/?page={p}{size}")
    };
    Ok(Json(Page {
        count,
        next: (offset + size < count).then(|| link(page + 1)),
        previous: (page > 1).then(|| link(page - 1)),
        results: listed.iter().map(PublicUser::of).collect(),
    }))
}

#[post("/", data = "<body>")]
async fn create(
    app: &State<App>,
    _staff: StaffUser,
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
    let user = accounts::create_user(app, new).await?;
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
    _staff: StaffUser,
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
    let user = accounts::update_user(app, id, changes).await?;
    Ok(Json(PublicUser::of(&user)))
}

/// 204 with no body, as DRF's destroy answers.
#[delete("/<id>")]
async fn remove(app: &State<App>, _staff: StaffUser, id: i64) -> Result<Status> {
    accounts::delete_user(app, id).await?;
    Ok(Status::NoContent)
}

#[post("/<id>/password", data = "<body>")]
async fn set_password(
    app: &State<App>,
    _staff: StaffUser,
    id: i64,
    body: Body,
) -> Result<Json<Value>> {
    accounts::find(app, id).await?;
    let password = body.one(Field::password("password", &app.settings))?;
    accounts::reset_password(app, id, password).await?;
    Ok(Json(json!({})))
}

#[post("/<id>/logout")]
async fn force_logout(app: &State<App>, _staff: StaffUser, id: i64) -> Result<Json<Value>> {
    accounts::find(app, id).await?;
    let revoked = accounts::log_out_everywhere(app, id).await?;
    Ok(Json(json!({ "revoked": revoked })))
}

/// A fresh pair for the user, as Simple JWT's `RefreshToken.for_user`.
#[post("/<id>/tokens")]
async fn mint(
    app: &State<App>,
    staff: StaffUser,
    id: i64,
    addr: ClientAddr,
) -> Result<Custom<Json<Pair>>> {
    let pair = accounts::mint_for(app, &staff.0.user, id, addr.0.to_string()).await?;
    Ok(Custom(Status::Created, Json(pair)))
}
