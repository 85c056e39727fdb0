//! Liveness: answers without touching the database.

use rocket::serde::json::Json;
use rocket::{Route, get, routes};
use serde_json::{Value, json};

pub const BASE: &str = "/healthz";

pub fn routes() -> Vec<Route> {
    routes![healthz]
}

#[utoipa::path(
    get,
    tag = "operations",
    context_path = BASE,
    path = "",
    operation_id = "healthz",
    responses((status = 200, description = "Alive", body = crate::http::openapi::Health)),
)]
#[get("/")]
fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
