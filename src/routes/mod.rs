//! Every route, mounted in one place.

use rocket::Route;

mod health;
mod me;
pub mod tokens;

pub fn all() -> Vec<Route> {
    let mut routes = Vec::new();
    routes.extend(health::routes());
    routes.extend(tokens::routes());
    routes.extend(me::routes());
    routes
}
