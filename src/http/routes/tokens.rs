//! The Simple JWT endpoints: obtain, refresh, verify, blacklist.

use rocket::serde::json::Json;
use rocket::{Route, State, post, routes};
use serde_json::{Value, json};

use crate::auth::pairs::{self, Pair};
use crate::error::Result;
use crate::http::body::{Body, Field};
use crate::http::client::ClientAddr;
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

#[post("/", data = "<body>")]
async fn obtain(
    app: &State<App>,
    body: Body,
    client: ClientInfo,
    addr: ClientAddr,
) -> Result<Json<Pair>> {
    let [username, password] = body.credentials(&app.settings)?;
    let (_, pair) = pairs::log_in(app, &username, password, addr.0, client).await?;
    Ok(Json(pair))
}

#[post("/", data = "<body>")]
async fn obtain_alias(
    app: &State<App>,
    body: Body,
    client: ClientInfo,
    addr: ClientAddr,
) -> Result<Json<Pair>> {
    obtain(app, body, client, addr).await
}

#[post("/refresh", data = "<body>")]
async fn refresh(
    app: &State<App>,
    body: Body,
    client: ClientInfo,
    addr: ClientAddr,
) -> Result<Json<Pair>> {
    pairs::throttle_requests(app, addr.0)?;
    let raw = body.one(Field::token("refresh"))?;
    pairs::refresh(app, &raw, client).await.map(Json)
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
async fn verify(app: &State<App>, body: Body) -> Result<Json<Value>> {
    let raw = body.one(Field::token("token"))?;
    pairs::verify(app, &raw).await?;
    Ok(Json(json!({})))
}

#[post("/blacklist", data = "<body>")]
async fn blacklist(app: &State<App>, body: Body) -> Result<Json<Value>> {
    let raw = body.one(Field::token("refresh"))?;
    pairs::blacklist(app, &raw).await?;
    Ok(Json(json!({})))
}
