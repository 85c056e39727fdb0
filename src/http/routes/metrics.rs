//! `GET /metrics`, the Prometheus exposition, for the addresses in
//! `metrics_allow` (loopback by default); anyone else gets the same 404 as
//! for a path that does not exist.

use rocket::http::ContentType;
use rocket::{Route, State, get, routes};

use crate::auth::accounts;
use crate::error::{Error, Result};
use crate::http::client::ClientAddr;
use crate::metrics::Gauges;
use crate::state::App;

pub const BASE: &str = "/metrics";

pub fn routes() -> Vec<Route> {
    routes![metrics]
}

/// OpenMetrics text, which Prometheus reads.
const OPENMETRICS: (&str, &str) = ("application", "openmetrics-text");

#[utoipa::path(
    get,
    tag = "operations",
    context_path = BASE,
    path = "",
    operation_id = "metrics",
    responses(
        (status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text", body = String),
        (status = 404, description = "Not an address in `metrics_allow`", body = crate::http::openapi::Detail),
    ),
)]
#[get("/")]
async fn metrics(app: &State<App>, addr: ClientAddr) -> Result<(ContentType, String)> {
    if !app.settings.metrics_allow.trusts(addr.0) {
        return Err(Error::NotFound);
    }
    let (live_sessions, users) = accounts::levels(app).await?;
    let gauges = Gauges {
        live_sessions,
        users,
        hash_queue: app.hasher.pending(),
    };
    let (top, sub) = OPENMETRICS;
    let content_type =
        ContentType::new(top, sub).with_params([("version", "1.0.0"), ("charset", "utf-8")]);
    Ok((content_type, app.metrics.encode(gauges)))
}
