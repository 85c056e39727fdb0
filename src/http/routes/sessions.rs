//! The caller's sessions: list, revoke one, log out everywhere.

use rocket::serde::json::Json;
use rocket::{Route, State, delete, get, post, routes};
use serde_json::{Value, json};

use crate::auth::accounts;
use crate::error::Result;
use crate::http::guards::AuthUser;
use crate::http::openapi::{Detail, E401_BEARER, E404, Empty, Revoked};
use crate::state::App;
use crate::store::sessions::{ClientInfo, Listed};

pub const BASE: &str = "/api/sessions";
pub const DEMAND: super::Demand = super::Demand::User;

pub fn routes() -> Vec<Route> {
    routes![list, revoke_one, revoke_all]
}

#[utoipa::path(
    get,
    tag = "sessions",
    context_path = BASE,
    path = "/",
    operation_id = "list_sessions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's live sessions", body = Vec<Listed>),
        (status = 401, description = E401_BEARER, body = Detail),
    ),
)]
#[get("/")]
async fn list(app: &State<App>, caller: AuthUser) -> Result<Json<Vec<Listed>>> {
    let current = caller.session().map(str::to_owned);
    accounts::list_sessions(app, caller.user.id, current)
        .await
        .map(Json)
}

#[utoipa::path(
    delete,
    tag = "sessions",
    context_path = BASE,
    path = "/{session}/",
    operation_id = "revoke_session",
    security(("bearer" = [])),
    params(("session" = String, Path, description = "A session id from the list")),
    responses(
        (status = 200, description = "The session ended; its tokens stop working", body = Empty),
        (status = 401, description = E401_BEARER, body = Detail),
        (status = 404, description = E404, body = Detail),
    ),
)]
#[delete("/<session>")]
async fn revoke_one(
    app: &State<App>,
    caller: AuthUser,
    client: ClientInfo,
    session: &str,
) -> Result<Json<Value>> {
    let by = caller.actor(client);
    accounts::revoke_session(app, caller.user.id, session.to_string(), &by).await?;
    Ok(Json(json!({})))
}

#[utoipa::path(
    post,
    tag = "sessions",
    context_path = BASE,
    path = "/revoke-all/",
    operation_id = "revoke_all_sessions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Logged out everywhere", body = Revoked),
        (status = 401, description = E401_BEARER, body = Detail),
    ),
)]
#[post("/revoke-all")]
async fn revoke_all(app: &State<App>, caller: AuthUser, client: ClientInfo) -> Result<Json<Value>> {
    let by = caller.actor(client);
    let revoked = accounts::log_out_everywhere(app, caller.user.id, &by).await?;
    Ok(Json(json!({ "revoked": revoked })))
}
