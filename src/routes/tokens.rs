//! The Simple JWT endpoints: obtain, refresh, verify, blacklist.

use rocket::serde::json::Json;
use rocket::{Route, State, post, routes};
use serde_json::{Value, json};

use crate::app::App;
use crate::db::now;
use crate::error::{Error, Result, TokenProblem};
use crate::grants::{self, Pair};
use crate::guards::ClientAddr;
use crate::payload::{Field, Payload};
use crate::sessions::Origin;
use crate::{login, throttle};

pub fn routes() -> Vec<Route> {
    routes![
        obtain,
        obtain_alias,
        refresh,
        refresh_alias,
        verify,
        blacklist
    ]
}

pub fn credential_fields(app: &App) -> [Field; 2] {
    [
        Field::username(&app.settings),
        Field::password("password", &app.settings),
    ]
}

#[post("/api/token", data = "<payload>")]
async fn obtain(
    app: &State<App>,
    payload: Payload,
    origin: Origin,
    addr: ClientAddr,
) -> Result<Json<Pair>> {
    let [username, password] = fields2(&payload, credential_fields(app))?;
    let user = login::check_credentials(app, &username, password, addr.0).await?;
    issue_pair(app, user.id, origin).await.map(Json)
}

/// The seed tutorial's spelling of the login route.
#[post("/access-token", data = "<payload>")]
async fn obtain_alias(
    app: &State<App>,
    payload: Payload,
    origin: Origin,
    addr: ClientAddr,
) -> Result<Json<Pair>> {
    obtain(app, payload, origin, addr).await
}

/// Starts a session and returns its first pair.
pub async fn issue_pair(app: &App, user_id: i64, origin: Origin) -> Result<Pair> {
    let keys = app.keys.clone();
    let settings = app.settings.clone();
    app.db
        .write(move |conn| grants::issue(conn, &keys, &settings, user_id, &origin, now()))
        .await
}

#[post("/api/token/refresh", data = "<payload>")]
async fn refresh(
    app: &State<App>,
    payload: Payload,
    origin: Origin,
    addr: ClientAddr,
) -> Result<Json<Pair>> {
    throttle_requests(app, addr)?;
    let [raw] = fields1(&payload, Field::token("refresh"))?;
    refresh_token(app, &raw, origin).await.map(Json)
}

/// The seed tutorial's spelling of the refresh route.
#[post("/access-token/refresh", data = "<payload>")]
async fn refresh_alias(
    app: &State<App>,
    payload: Payload,
    origin: Origin,
    addr: ClientAddr,
) -> Result<Json<Pair>> {
    refresh(app, payload, origin, addr).await
}

/// Validates and rotates a refresh token; shared with the cookie session.
pub async fn refresh_token(app: &App, raw: &str, origin: Origin) -> Result<Pair> {
    let now = now();
    let token = app.keys.decode(raw, now).map_err(Error::Token)?;
    let keys = app.keys.clone();
    let settings = app.settings.clone();
    app.db
        .write(move |conn| grants::refresh(conn, &keys, &settings, &token, &origin, now))
        .await
}

#[post("/api/token/verify", data = "<payload>")]
async fn verify(app: &State<App>, payload: Payload) -> Result<Json<Value>> {
    let [raw] = fields1(&payload, Field::token("token"))?;
    let token = app.keys.decode(&raw, now()).map_err(Error::Token)?;
    let checked = token.clone();
    if app
        .db
        .run(move |conn| grants::is_blacklisted(conn, &checked))
        .await?
    {
        return Err(Error::NonField(TokenProblem::Blacklisted.message().into()));
    }
    // Simple JWT's UntypedToken: the type is not checked, the rest is.
    match token.require(crate::tokens::Kind::Access) {
        Ok(()) | Err(TokenProblem::WrongType | TokenProblem::NoType) => Ok(Json(json!({}))),
        Err(p) => Err(Error::Token(p)),
    }
}

#[post("/api/token/blacklist", data = "<payload>")]
async fn blacklist(app: &State<App>, payload: Payload) -> Result<Json<Value>> {
    let [raw] = fields1(&payload, Field::token("refresh"))?;
    revoke_refresh(app, &raw).await?;
    Ok(Json(json!({})))
}

/// Logs out the session of a refresh token; shared with the cookie session.
pub async fn revoke_refresh(app: &App, raw: &str) -> Result<()> {
    let now = now();
    let token = app.keys.decode(raw, now).map_err(Error::Token)?;
    app.db
        .write(move |conn| grants::blacklist(conn, &token, now))
        .await
}

/// Refresh and similar endpoints are cheap to call and worth flooding, so
/// each address gets a budget.
pub fn throttle_requests(app: &App, addr: ClientAddr) -> Result<()> {
    let rule = throttle::Rule {
        burst: app.settings.request_address_burst,
        per_hour: app.settings.request_address_per_hour,
    };
    app.throttle
        .take(&throttle::address_key("requests", addr.0), rule)
        .map_err(Error::Throttled)
}

pub fn fields1(payload: &Payload, field: Field) -> Result<[String; 1]> {
    let mut values = payload.strings(&[field])?;
    Ok([values.remove(0)])
}

pub fn fields2(payload: &Payload, fields: [Field; 2]) -> Result<[String; 2]> {
    let mut values = payload.strings(&fields)?.into_iter();
    match (values.next(), values.next()) {
        (Some(a), Some(b)) => Ok([a, b]),
        _ => Err(Error::Internal("field count".into())),
    }
}
