//! Every route, mounted in one place.

use rocket::Route;

pub mod account;
mod admin;
mod health;
mod me;
mod sessions;
pub mod tokens;

pub fn all() -> Vec<Route> {
    let mut routes = Vec::new();
    routes.extend(health::routes());
    routes.extend(tokens::routes());
    routes.extend(me::routes());
    routes.extend(sessions::routes());
    routes.extend(account::routes());
    routes.extend(admin::routes());
    routes
}
