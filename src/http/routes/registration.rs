//! Open registration: anyone may create an account when
//! `registration = "open"`.

use rocket::http::Status;
use rocket::response::status::Custom;
use rocket::serde::json::Json;
use rocket::{Route, State, post, routes};

use crate::auth::accounts::{self, PublicUser};
use crate::auth::pairs;
use crate::config::Registration;
use crate::error::{Error, Result};
use crate::http::body::Body;
use crate::http::client::ClientAddr;
use crate::state::App;

pub const BASE: &str = "/api/register";

pub fn routes() -> Vec<Route> {
    routes![register]
}

#[post("/", data = "<body>")]
async fn register(
    app: &State<App>,
    addr: ClientAddr,
    body: Body,
) -> Result<Custom<Json<PublicUser>>> {
    if app.settings.registration != Registration::Open {
        return Err(Error::ForbiddenDetail("Registration is closed.".into()));
    }
    pairs::throttle_requests(app, addr.0)?;
    let [username, password] = body.credentials(&app.settings)?;
    let user = accounts::register(app, username, password).await?;
    Ok(Custom(Status::Created, Json(PublicUser::of(&user))))
}
