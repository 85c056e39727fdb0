//! The Simple JWT endpoints: obtain, refresh, verify, blacklist.

use rocket::http::Header;
use rocket::serde::json::Json;
use rocket::{Responder, Route, State, post, routes};
use serde_json::{Value, json};

use crate::auth::pairs::{self, Pair, Replay, Started};
use crate::error::Result;
use crate::http::body::{Body, Field};
use crate::http::client::{ClientAddr, DEVICE_HEADER, PresentedDevice};
use crate::http::openapi::{
    BadRequest, Credentials, Detail, E400, E401_TOKEN, E413, E415, E429, Empty, RefreshRequest,
    VerifyRequest,
};
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

#[utoipa::path(
    post,
    tag = "tokens",
    context_path = BASE,
    path = "/",
    operation_id = "obtain_token_pair",
    request_body(content(
        (Credentials = "application/json"),
        (Credentials = "application/x-www-form-urlencoded"),
        (Credentials = "multipart/form-data"),
    )),
    params(("X-Latch-Device" = Option<String>, Header, nullable = false, description = "The device token a previous login on this device answered with")),
    responses(
        (status = 200, description = "Logged in", body = Pair,
            headers(("X-Latch-Device" = String, description = "A device token for this account"))),
        (status = 401, description = "`{\"detail\": \"No active account found with the given credentials\"}`", body = Detail),
        (status = 400, description = E400, body = BadRequest),
        (status = 413, description = E413, body = Detail),
        (status = 415, description = E415, body = Detail),
        (status = 429, description = E429, body = Detail),
    ),
)]
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

#[utoipa::path(
    post,
    tag = "tokens",
    context_path = ALIAS_BASE,
    path = "/",
    operation_id = "obtain_token_pair_alias",
    request_body(content(
        (Credentials = "application/json"),
        (Credentials = "application/x-www-form-urlencoded"),
        (Credentials = "multipart/form-data"),
    )),
    params(("X-Latch-Device" = Option<String>, Header, nullable = false, description = "The device token a previous login on this device answered with")),
    responses(
        (status = 200, description = "Logged in", body = Pair,
            headers(("X-Latch-Device" = String, description = "A device token for this account"))),
        (status = 401, description = "`{\"detail\": \"No active account found with the given credentials\"}`", body = Detail),
        (status = 400, description = E400, body = BadRequest),
        (status = 413, description = E413, body = Detail),
        (status = 415, description = E415, body = Detail),
        (status = 429, description = E429, body = Detail),
    ),
)]
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

#[utoipa::path(
    post,
    tag = "tokens",
    context_path = BASE,
    path = "/refresh/",
    operation_id = "refresh_token",
    request_body(content(
        (RefreshRequest = "application/json"),
        (RefreshRequest = "application/x-www-form-urlencoded"),
        (RefreshRequest = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "A new access token, and a new refresh token when rotation is on", body = Pair),
        (status = 401, description = E401_TOKEN, body = Detail),
        (status = 400, description = E400, body = BadRequest),
        (status = 413, description = E413, body = Detail),
        (status = 415, description = E415, body = Detail),
        (status = 429, description = E429, body = Detail),
    ),
)]
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

#[utoipa::path(
    post,
    tag = "tokens",
    context_path = ALIAS_BASE,
    path = "/refresh/",
    operation_id = "refresh_token_alias",
    request_body(content(
        (RefreshRequest = "application/json"),
        (RefreshRequest = "application/x-www-form-urlencoded"),
        (RefreshRequest = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "A new access token, and a new refresh token when rotation is on", body = Pair),
        (status = 401, description = E401_TOKEN, body = Detail),
        (status = 400, description = E400, body = BadRequest),
        (status = 413, description = E413, body = Detail),
        (status = 415, description = E415, body = Detail),
        (status = 429, description = E429, body = Detail),
    ),
)]
#[post("/refresh", data = "<body>")]
async fn refresh_alias(
    app: &State<App>,
    body: Body,
    client: ClientInfo,
    addr: ClientAddr,
) -> Result<Json<Pair>> {
    refresh(app, body, client, addr).await
}

#[utoipa::path(
    post,
    tag = "tokens",
    context_path = BASE,
    path = "/verify/",
    operation_id = "verify_token",
    request_body(content(
        (VerifyRequest = "application/json"),
        (VerifyRequest = "application/x-www-form-urlencoded"),
        (VerifyRequest = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "The token is valid", body = Empty),
        (status = 401, description = E401_TOKEN, body = Detail),
        (status = 400, description = E400, body = BadRequest),
        (status = 413, description = E413, body = Detail),
        (status = 415, description = E415, body = Detail),
        (status = 429, description = E429, body = Detail),
    ),
)]
#[post("/verify", data = "<body>")]
async fn verify(app: &State<App>, body: Body, addr: ClientAddr) -> Result<Json<Value>> {
    let raw = body.one(Field::token("token"))?;
    pairs::verify(app, &raw, addr.0).await?;
    Ok(Json(json!({})))
}

#[utoipa::path(
    post,
    tag = "tokens",
    context_path = BASE,
    path = "/blacklist/",
    operation_id = "blacklist_token",
    request_body(content(
        (RefreshRequest = "application/json"),
        (RefreshRequest = "application/x-www-form-urlencoded"),
        (RefreshRequest = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "Logged out: the refresh token can never be used again", body = Empty),
        (status = 401, description = E401_TOKEN, body = Detail),
        (status = 400, description = E400, body = BadRequest),
        (status = 413, description = E413, body = Detail),
        (status = 415, description = E415, body = Detail),
        (status = 429, description = E429, body = Detail),
    ),
)]
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
