//! Everything that speaks HTTP: fairings ([`conventions`]), the JSON
//! catcher ([`catchers`]), request guards ([`guards`], [`client`]),
//! request bodies ([`body`]) and the routes. Handlers parse, call one
//! `auth/` use case, and answer; `Error` becomes HTTP in `error.rs`.

pub mod body;
pub mod browser_call;
pub mod catchers;
pub mod client;
pub mod conventions;
pub mod guards;
pub mod openapi;
pub mod pagination;
pub mod request_log;
pub mod routes;
pub mod trail;
