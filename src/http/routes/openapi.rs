//! `GET /api/openapi.json`: the OpenAPI 3.1 document of every endpoint,
//! assembled in [`crate::http::openapi`] from the handlers' annotations.

use rocket::response::content::RawJson;
use rocket::{Route, get, routes};

use crate::http::openapi;

pub const BASE: &str = "/api";

pub fn routes() -> Vec<Route> {
    routes![document]
}

#[utoipa::path(
    get,
    tag = "operations",
    context_path = BASE,
    path = "/openapi.json",
    operation_id = "openapi_document",
    responses((status = 200, description = "This document", content_type = "application/json", body = Object)),
)]
#[get("/openapi.json")]
pub(crate) fn document() -> RawJson<&'static str> {
    RawJson(openapi::json())
}
