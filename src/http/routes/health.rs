//! Liveness: answers without touching the database.

use rocket::serde::json::Json;
use rocket::{Route, get, routes};
use serde_json::{Value, json};

pub const BASE: &str = "/healthz";

pub fn routes() -> Vec<Route> {
    routes![healthz]
}

#[get("/")]
fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
