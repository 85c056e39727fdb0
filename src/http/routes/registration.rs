//! Open registration: anyone may create an account when
//! `registration = "open"`.

use rocket::http::Status;
use rocket::response::status::Custom;
use rocket::serde::json::Json;
use rocket::{Route, State, post, routes};

use crate::auth::accounts::{self, PublicUser};
use crate::auth::pairs::{self, Pair};
use crate::config::Registration;
use crate::error::{Error, Result};
use crate::http::body::Body;
use crate::http::client::ClientAddr;
use crate::http::openapi::{BadRequest, Credentials, Detail, E400, E413, E415, E429};
use crate::state::App;
use crate::store::sessions::ClientInfo;
use serde::Serialize;

pub const BASE: &str = "/api/register";

pub fn routes() -> Vec<Route> {
    routes![register]
}

/// The new user, signed in: their fields and their first pair.
#[derive(Serialize, utoipa::ToSchema)]
struct Registered {
    #[serde(flatten)]
    user: PublicUser,
    #[serde(flatten)]
    pair: Pair,
}

#[utoipa::path(
    post,
    tag = "accounts",
    context_path = BASE,
    path = "/",
    operation_id = "register",
    request_body(content(
        (Credentials = "application/json"),
        (Credentials = "application/x-www-form-urlencoded"),
        (Credentials = "multipart/form-data"),
    )),
    responses(
        (status = 201, description = "Registered and signed in", body = Registered),
        (status = 400, description = E400, body = BadRequest),
        (status = 413, description = E413, body = Detail),
        (status = 415, description = E415, body = Detail),
        (status = 403, description = "Registration is closed, or no staff account exists yet", body = Detail),
        (status = 429, description = E429, body = Detail),
    ),
)]
#[post("/", data = "<body>")]
async fn register(
    app: &State<App>,
    addr: ClientAddr,
    client: ClientInfo,
    body: Body,
) -> Result<Custom<Json<Registered>>> {
    if app.settings.registration != Registration::Open {
        return Err(Error::ForbiddenDetail("Registration is closed.".into()));
    }
    pairs::throttle_requests(app, addr.0)?;
    let [username, password] = body.credentials(&app.settings)?;
    let (user, pair) = accounts::register(app, username, password, client).await?;
    let user = PublicUser::of(&user);
    Ok(Custom(Status::Created, Json(Registered { user, pair })))
}
