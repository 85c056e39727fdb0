//! `/.well-known/jwks.json`: the public keys other services verify latch's
//! tokens with. Served from memory (no database), cacheable for
//! `jwks_max_age`, which is exactly how long a rotated-in key is published
//! before it signs.

use rocket::http::Header;
use rocket::response::content::RawJson;
use rocket::{Responder, Route, State, get, routes};

use crate::state::App;

pub const BASE: &str = "/.well-known";

pub fn routes() -> Vec<Route> {
    routes![jwks]
}

#[derive(Responder)]
struct Cacheable {
    body: RawJson<String>,
    cache: Header<'static>,
}

#[utoipa::path(
    get,
    tag = "tokens",
    context_path = BASE,
    path = "/jwks.json",
    operation_id = "jwks",
    responses((status = 200, description = "The public keys; `Cache-Control: public, max-age=<jwks_max_age>`",
        body = crate::http::openapi::Jwks)),
)]
#[get("/jwks.json")]
fn jwks(app: &State<App>) -> Cacheable {
    Cacheable {
        body: RawJson(app.keys.jwks()),
        cache: Header::new(
            "Cache-Control",
            format!("public, max-age={}", app.settings.jwks_max_age.0),
        ),
    }
}
