//! `/.well-known/jwks.json`: the public keys other services verify latch's
//! tokens with. Served from memory (no database), cacheable for
//! `jwks_max_age`, which is exactly how long a rotated-in key is published
//! before it signs.

use rocket::http::Header;
use rocket::serde::json::Json;
use rocket::{Responder, Route, State, get, routes};
use serde_json::Value;

use crate::state::App;

pub const BASE: &str = "/.well-known";

pub fn routes() -> Vec<Route> {
    routes![jwks]
}

#[derive(Responder)]
struct Cacheable {
    body: Json<Value>,
    cache: Header<'static>,
}

#[get("/jwks.json")]
fn jwks(app: &State<App>) -> Cacheable {
    Cacheable {
        body: Json(app.keys.jwks()),
        cache: Header::new(
            "Cache-Control",
            format!("public, max-age={}", app.settings.jwks_max_age.0),
        ),
    }
}
