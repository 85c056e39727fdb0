//! `POST /api/setup`: claiming an empty instance with the link printed at
//! start-up (the rules are in `auth::first_run`).

use std::net::IpAddr;

use rocket::http::Status;
use rocket::response::status::Custom;
use rocket::serde::json::Json;
use rocket::{Orbit, Rocket, Route, State, post, routes};
use serde_json::Value;

use crate::auth::accounts::PublicUser;
use crate::auth::audit::Actor;
use crate::auth::{first_run, pairs};
use crate::error::Result;
use crate::http::body::Body;
use crate::http::client::ClientAddr;
use crate::http::openapi::{BadRequest, Detail, E400, E413, E415, E429, SetupRequest};
use crate::state::App;
use crate::store::sessions::ClientInfo;

pub const BASE: &str = "/api/setup";

pub fn routes() -> Vec<Route> {
    routes![create_first_account]
}

/// Called from the liftoff hook: arms a token and prints the setup link
/// when there are no users yet.
pub async fn announce(rocket: &Rocket<Orbit>) {
    let Some(app) = rocket.state::<App>() else {
        return;
    };
    match first_run::arm_if_unclaimed(app).await {
        Ok(Some(token)) => println!(
            "First run: create the first staff account at {}/setup#{token}",
            base_url(rocket.config())
        ),
        Ok(None) => {}
        Err(e) => rocket::warn!("cannot count users for first-run setup: {e}"),
    }
}

/// Where a browser on this machine reaches the server: an unspecified
/// listen address (`0.0.0.0`, `::`) is not one to type in.
fn base_url(config: &rocket::Config) -> String {
    let scheme = if config.tls_enabled() {
        "https"
    } else {
        "http"
    };
    let host = match config.address {
        IpAddr::V4(ip) if ip.is_unspecified() => "127.0.0.1".to_string(),
        IpAddr::V6(ip) if ip.is_unspecified() => "[::1]".to_string(),
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    format!("{scheme}://{host}:{}", config.port)
}

/// `{"token", "username", "password"}`: creates the first, staff, account.
/// The token is checked first, so without it nothing else about the
/// instance is revealed.
#[utoipa::path(
    post,
    tag = "accounts",
    context_path = BASE,
    path = "",
    operation_id = "first_run_setup",
    request_body(content(
        (SetupRequest = "application/json"),
        (SetupRequest = "application/x-www-form-urlencoded"),
        (SetupRequest = "multipart/form-data"),
    )),
    responses(
        (status = 201, description = "The first staff account", body = PublicUser),
        (status = 400, description = E400, body = BadRequest),
        (status = 413, description = E413, body = Detail),
        (status = 415, description = E415, body = Detail),
        (status = 403, description = "No first-run token is armed, or this is not it", body = Detail),
        (status = 429, description = E429, body = Detail),
    ),
)]
#[post("/", data = "<body>")]
async fn create_first_account(
    app: &State<App>,
    addr: ClientAddr,
    client: ClientInfo,
    body: Body,
) -> Result<Custom<Json<PublicUser>>> {
    pairs::throttle_requests(app, addr.0)?;
    let token = match body.0.get("token") {
        Some(Value::String(token)) => token.trim().to_string(),
        _ => String::new(),
    };
    first_run::check(app, &token).await?;
    let [username, password] = body.credentials(&app.settings)?;
    let by = Actor::anonymous(client);
    let user = first_run::claim(app, &token, username, password, &by).await?;
    Ok(Custom(Status::Created, Json(PublicUser::of(&user))))
}
