//! The caller's sessions: list, revoke one, log out everywhere.

use rocket::serde::json::Json;
use rocket::{Route, State, delete, get, post, routes};
use serde_json::{Value, json};

use crate::accounts;
use crate::app::App;
use crate::db::now;
use crate::error::{Error, Result};
use crate::guards::AuthUser;
use crate::sessions::{self, Listed};

pub fn routes() -> Vec<Route> {
    routes![list, revoke_one, revoke_all]
}

#[get("/api/sessions")]
async fn list(app: &State<App>, caller: AuthUser) -> Result<Json<Vec<Listed>>> {
    let current = caller.session().map(str::to_owned);
    let id = caller.user.id;
    app.db
        .run(move |conn| sessions::list(conn, id, current.as_deref(), now()))
        .await
        .map(Json)
}

#[delete("/api/sessions/<session>")]
async fn revoke_one(app: &State<App>, caller: AuthUser, session: &str) -> Result<Json<Value>> {
    let session = session.to_string();
    let id = caller.user.id;
    app.db
        .run(move |conn| {
            // Someone else's session is as absent as a made-up one.
            if sessions::owner(conn, &session)? != Some(id) {
                return Err(Error::NotFound);
            }
            sessions::revoke(conn, &session)
        })
        .await?;
    Ok(Json(json!({})))
}

#[post("/api/sessions/revoke-all")]
async fn revoke_all(app: &State<App>, caller: AuthUser) -> Result<Json<Value>> {
    let id = caller.user.id;
    let revoked = app
        .db
        .run(move |conn| accounts::log_out_everywhere(conn, id, now()))
        .await?;
    Ok(Json(json!({ "revoked": revoked })))
}
