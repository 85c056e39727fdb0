//! The caller's sessions: list, revoke one, log out everywhere.

use rocket::serde::json::Json;
use rocket::{Route, State, delete, get, post, routes};
use serde_json::{Value, json};

use crate::auth::accounts;
use crate::error::Result;
use crate::http::guards::AuthUser;
use crate::state::App;
use crate::store::sessions::{ClientInfo, Listed};

pub const BASE: &str = "/api/sessions";
pub const DEMAND: super::Demand = super::Demand::User;

pub fn routes() -> Vec<Route> {
    routes![list, revoke_one, revoke_all]
}

#[get("/")]
async fn list(app: &State<App>, caller: AuthUser) -> Result<Json<Vec<Listed>>> {
    let current = caller.session().map(str::to_owned);
    accounts::list_sessions(app, caller.user.id, current)
        .await
        .map(Json)
}

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

#[post("/revoke-all")]
async fn revoke_all(app: &State<App>, caller: AuthUser, client: ClientInfo) -> Result<Json<Value>> {
    let by = caller.actor(client);
    let revoked = accounts::log_out_everywhere(app, caller.user.id, &by).await?;
    Ok(Json(json!({ "revoked": revoked })))
}
