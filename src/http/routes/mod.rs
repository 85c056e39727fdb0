//! One module per resource, each owning its base path, `routes()` and what
//! its routes demand of the caller; everything is mounted here and nowhere
//! else. Route modules call `auth/` and never each other. They are
//! `pub(crate)` so the OpenAPI document (`http::openapi`) can name each
//! handler's `#[utoipa::path]`.

use rocket::{Build, Rocket, Route};

pub(crate) mod admin;
pub(crate) mod audit;
pub mod first_run;
pub(crate) mod forward_auth;
pub(crate) mod health;
pub(crate) mod jwks;
pub(crate) mod me;
pub(crate) mod metrics;
pub(crate) mod openapi;
pub(crate) mod page;
pub(crate) mod registration;
pub(crate) mod session_cookie;
pub(crate) mod sessions;
pub(crate) mod tokens;

/// Who a module's routes let in: the guard every one of its handlers takes.
/// The catcher reads it to answer 401/403 before 405, as DRF checks
/// authentication and permissions before the method; a test walks every
/// mounted route to hold each module to what it declares here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Demand {
    Anyone,
    /// `AuthUser`.
    User,
    /// `StaffUser`.
    Staff,
}

/// What each mounted route demands, by base, method and handler name.
#[derive(Default)]
pub struct Demands(Vec<(&'static str, rocket::http::Method, String, Demand)>);

impl Demands {
    pub fn of(&self, route: &Route) -> Demand {
        let name = route.name.as_deref().unwrap_or("");
        self.0
            .iter()
            .find(|(base, method, n, _)| {
                *method == route.method && n == name && route.uri.base() == *base
            })
            .map_or(Demand::Anyone, |entry| entry.3)
    }

    /// Every mounted route with its demand, for the test that checks them.
    pub fn all(&self) -> impl Iterator<Item = (&str, rocket::http::Method, &str, Demand)> {
        self.0.iter().map(|(b, m, n, d)| (*b, *m, n.as_str(), *d))
    }
}

pub fn mount(rocket: Rocket<Build>) -> Rocket<Build> {
    let modules: [(&'static str, Vec<Route>, Demand); 15] = [
        (health::BASE, health::routes(), Demand::Anyone),
        (tokens::BASE, tokens::routes(), Demand::Anyone),
        (tokens::ALIAS_BASE, tokens::aliases(), Demand::Anyone),
        (me::BASE, me::routes(), me::DEMAND),
        (sessions::BASE, sessions::routes(), sessions::DEMAND),
        (registration::BASE, registration::routes(), Demand::Anyone),
        (admin::BASE, admin::routes(), admin::DEMAND),
        (audit::BASE, audit::routes(), audit::DEMAND),
        (page::BASE, page::routes(), Demand::Anyone),
        (
            session_cookie::BASE,
            session_cookie::routes(),
            Demand::Anyone,
        ),
        (first_run::BASE, first_run::routes(), Demand::Anyone),
        (metrics::BASE, metrics::routes(), Demand::Anyone),
        (forward_auth::BASE, forward_auth::routes(), Demand::Anyone),
        (jwks::BASE, jwks::routes(), Demand::Anyone),
        (openapi::BASE, openapi::routes(), Demand::Anyone),
    ];
    let mut demands = Demands::default();
    let mut rocket = rocket;
    for (base, routes, demand) in modules {
        for route in &routes {
            let name = route.name.as_deref().unwrap_or("").to_string();
            demands.0.push((base, route.method, name, demand));
        }
        rocket = rocket.mount(base, routes);
    }
    rocket.manage(demands)
}
