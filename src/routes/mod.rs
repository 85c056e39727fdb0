//! Every route, mounted in one place.

use rocket::Route;

pub mod account;
mod admin;
mod health;
mod me;
mod page;
mod session_cookie;
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
    routes.extend(page::routes());
    routes.extend(session_cookie::routes());
    routes.extend(crate::setup::routes());
    routes
}
