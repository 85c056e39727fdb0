//! The protected resource: who the bearer is.

use rocket::serde::json::Json;
use rocket::{Route, get, routes};

use crate::guards::AuthUser;
use crate::users::PublicUser;

pub fn routes() -> Vec<Route> {
    routes![me]
}

#[get("/api/me")]
fn me(caller: AuthUser) -> Json<PublicUser> {
    Json(caller.user.public())
}
