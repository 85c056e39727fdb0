//! The Simple JWT endpoints: obtain, refresh, verify, blacklist.

use rocket::http::Header;
use rocket::serde::json::Json;
use rocket::{Responder, Route, State, post, routes};
use serde_json::{Value, json};

use crate::auth::pairs::{self, Pair, Replay, Started};
use crate::error::Result;
use crate::http::body::{Body, Field};
use crate::http::client::{ClientAddr, DEVICE_HEADER, PresentedDevice};
use crate::state::App;
use crate::store::sessions::ClientInfo;

pub const BASE: &str = "/api/token";

pub fn routes() -> Vec<Route> {
    routes![obtain, refresh, verify, blacklist]
}

/// The seed tutorial's spelling of the login and refresh routes.
pub const ALIAS_BASE: &str = "/access-token";

pub fn aliases() -> Vec<Route> {
    routes![obtain_alias, refresh_alias]
}

/// The pair, and the device token in a header: the body stays exactly
/// Simple JWT's.
#[derive(Responder)]
struct LoginAnswer {
    pair: Json<Pair>,
    device: Header<'static>,
}

#[post("/", data = "<body>")]
async fn obtain(
    app: &State<App>,
    body: Body,
    client: ClientInfo,
    addr: ClientAddr,
    device: PresentedDevice,
) -> Result<LoginAnswer> {
    let [username, password] = body.credentials(&app.settings)?;
    let device = device.0.as_deref();
    let started = Started::Elsewhere;
    let done = pairs::log_in(app, &username, password, addr.0, device, client, started).await?;
    Ok(LoginAnswer {
        pair: Json(done.pair),
        device: Header::new(DEVICE_HEADER, done.device),
    })
}

#[post("/", data = "<body>")]
async fn obtain_alias(
    app: &State<App>,
    body: Body,
    client: ClientInfo,
    addr: ClientAddr,
    device: PresentedDevice,
) -> Result<LoginAnswer> {
    obtain(app, body, client, addr, device).await
}

#[post("/refresh", data = "<body>")]
async fn refresh(
    app: &State<App>,
    body: Body,
    client: ClientInfo,
    addr: ClientAddr,
) -> Result<Json<Pair>> {
    let raw = body.one(Field::token("refresh"))?;
    pairs::refresh(app, &raw, addr.0, Replay::Configured, client)
        .await
        .map(Json)
}

#[post("/refresh", data = "<body>")]
async fn refresh_alias(
    app: &State<App>,
    body: Body,
    client: ClientInfo,
    addr: ClientAddr,
) -> Result<Json<Pair>> {
    refresh(app, body, client, addr).await
}

#[post("/verify", data = "<body>")]
async fn verify(app: &State<App>, body: Body, addr: ClientAddr) -> Result<Json<Value>> {
    let raw = body.one(Field::token("token"))?;
    pairs::verify(app, &raw, addr.0).await?;
    Ok(Json(json!({})))
}

#[post("/blacklist", data = "<body>")]
async fn blacklist(
    app: &State<App>,
    body: Body,
    addr: ClientAddr,
    client: ClientInfo,
) -> Result<Json<Value>> {
    let raw = body.one(Field::token("refresh"))?;
    pairs::blacklist(app, &raw, addr.0, client).await?;
    Ok(Json(json!({})))
}
