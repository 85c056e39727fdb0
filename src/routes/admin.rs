//! The staff API over users. Every route takes `StaffUser`: anonymous
//! callers get 401, authenticated non-staff 403.

use rocket::http::Status;
use rocket::response::status::Custom;
use rocket::serde::json::Json;
use rocket::{Route, State, delete, get, patch, post, routes};
use serde::Serialize;
use serde_json::{Value, json};

use crate::accounts;
use crate::app::App;
use crate::db::now;
use crate::error::{Error, Result};
use crate::guards::StaffUser;
use crate::payload::{Field, Payload};
use crate::routes::account::{create_user, enforce_policy};
use crate::routes::tokens::fields1;
use crate::users::{self, PublicUser, User};

pub fn routes() -> Vec<Route> {
    routes![
        list,
        create,
        read,
        update,
        remove,
        set_password,
        force_logout
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

#[get("/api/admin/users?<page>&<page_size>")]
async fn list(
    app: &State<App>,
    _staff: StaffUser,
    page: Option<i64>,
    page_size: Option<i64>,
    host: Host,
) -> Result<Json<Page>> {
    let size = page_size
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .clamp(1, MAX_PAGE_SIZE);
    let page = page.unwrap_or(1);
    if page < 1 {
        return Err(Error::NotFound);
    }
    let offset = (page - 1).saturating_mul(size);
    let (count, users) = app
        .db
        .run(move |conn| users::page(conn, offset, size))
        .await?;
    if page > 1 && users.is_empty() {
        return Err(Error::BadRequest("Invalid page.".into()));
    }
    let link = |p: i64| {
        format!(
            "{}/api/admin/users/?page={p}{}",
            host.0,
            page_size
                .map(|s| format!("&page_size={s}"))
                .unwrap_or_default()
        )
    };
    Ok(Json(Page {
        count,
        next: (offset + size < count).then(|| link(page + 1)),
        previous: (page > 1).then(|| link(page - 1)),
        results: users.iter().map(User::public).collect(),
    }))
}

/// `scheme://host` of the request, for absolute pagination links as DRF
/// writes them.
struct Host(String);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for Host {
    type Error = ();

    async fn from_request(req: &'r rocket::Request<'_>) -> rocket::request::Outcome<Self, ()> {
        let host = req
            .host()
            .map(|h| h.to_string())
            .unwrap_or_else(|| "localhost".into());
        let scheme = if req.rocket().config().tls_enabled() {
            "https"
        } else {
            "http"
        };
        rocket::request::Outcome::Success(Host(format!("{scheme}://{host}")))
    }
}

#[post("/api/admin/users", data = "<payload>")]
async fn create(
    app: &State<App>,
    _staff: StaffUser,
    payload: Payload,
) -> Result<Custom<Json<PublicUser>>> {
    let is_staff = payload.boolean("is_staff")?.unwrap_or(false);
    let user = create_user(app, &payload, is_staff).await?;
    Ok(Custom(Status::Created, Json(user.public())))
}

async fn load(app: &App, id: i64) -> Result<User> {
    app.db
        .run(move |conn| users::by_id(conn, id))
        .await?
        .ok_or(Error::NotFound)
}

#[get("/api/admin/users/<id>")]
async fn read(app: &State<App>, _staff: StaffUser, id: i64) -> Result<Json<PublicUser>> {
    Ok(Json(load(app, id).await?.public()))
}

/// Changes `is_active`, `is_staff` and `username`; deactivation ends the
/// user's sessions and tokens at once.
#[patch("/api/admin/users/<id>", data = "<payload>")]
async fn update(
    app: &State<App>,
    _staff: StaffUser,
    id: i64,
    payload: Payload,
) -> Result<Json<PublicUser>> {
    load(app, id).await?;
    let active = payload.boolean("is_active")?;
    let staff = payload.boolean("is_staff")?;
    let username = if payload.has("username") {
        let [name] = fields1(&payload, Field::username(&app.settings))?;
        let name = users::normalize_username(&name);
        if let Some(problem) = users::username_problem(&name, app.settings.max_username_length) {
            return Err(Error::Fields(vec![("username".into(), vec![problem])]));
        }
        Some(name)
    } else {
        None
    };
    app.db
        .run(move |conn| {
            if let Some(name) = &username
                && !users::rename(conn, id, name)?
            {
                return Err(Error::field(
                    "username",
                    "A user with that username already exists.",
                ));
            }
            if let Some(staff) = staff {
                users::set_staff(conn, id, staff)?;
            }
            if let Some(active) = active {
                accounts::set_active(conn, id, active, now())?;
            }
            Ok(())
        })
        .await?;
    Ok(Json(load(app, id).await?.public()))
}

/// 204 with no body, as DRF's destroy answers.
#[delete("/api/admin/users/<id>")]
async fn remove(app: &State<App>, _staff: StaffUser, id: i64) -> Result<Status> {
    let deleted = app.db.run(move |conn| users::delete(conn, id)).await?;
    if !deleted {
        return Err(Error::NotFound);
    }
    Ok(Status::NoContent)
}

#[post("/api/admin/users/<id>/password", data = "<payload>")]
async fn set_password(
    app: &State<App>,
    _staff: StaffUser,
    id: i64,
    payload: Payload,
) -> Result<Json<Value>> {
    let user = load(app, id).await?;
    let [password] = fields1(&payload, Field::password("password", &app.settings))?;
    enforce_policy(app, &user.username, &password, "password")?;
    let hash = app.hasher.hash(password).await?;
    app.db
        .run(move |conn| accounts::set_password(conn, id, &hash, now()))
        .await?;
    Ok(Json(json!({})))
}

#[post("/api/admin/users/<id>/logout")]
async fn force_logout(app: &State<App>, _staff: StaffUser, id: i64) -> Result<Json<Value>> {
    load(app, id).await?;
    let revoked = app
        .db
        .run(move |conn| accounts::log_out_everywhere(conn, id, now()))
        .await?;
    Ok(Json(json!({ "revoked": revoked })))
}
