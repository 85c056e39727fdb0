//! Per request: its duration into `/metrics`, and one line in place of
//! Rocket's five: time, method, path
//! (never the query string), status, duration, the authenticated user's id
//! or `-`, and the client's address, as text or JSON (`log_format`).
//!
//! What goes in is chosen field by field, so no header, body, cookie or
//! query string (where tokens, passwords and device tokens travel) can
//! reach the log.

use std::io::Write;
use std::sync::OnceLock;
use std::time::{Instant, SystemTime};

use rocket::fairing::{Fairing, Info, Kind};
use rocket::{Data, Request, Response};
use serde_json::json;

use crate::config::LogFormat;
use crate::http::client::client_addr;
use crate::state::App;

/// When the request arrived, kept in the request's local cache.
struct Arrived(Instant);

/// The authenticated caller's id, set by the guard when it succeeds.
#[derive(Default)]
pub struct LoggedUser(OnceLock<i64>);

/// Notes who the request is from, for its log line.
pub fn note_user(req: &Request<'_>, id: i64) {
    let _ = req.local_cache(LoggedUser::default).0.set(id);
}

pub struct RequestLog;

#[rocket::async_trait]
impl Fairing for RequestLog {
    fn info(&self) -> Info {
        Info {
            name: "request log",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        req.local_cache(|| Arrived(Instant::now()));
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let Some(app) = req.rocket().state::<App>() else {
            return;
        };
        let took = req.local_cache(|| Arrived(Instant::now())).0.elapsed();
        let route = req
            .route()
            .map_or("unmatched".to_string(), |r| r.uri.to_string());
        app.metrics
            .request(&route, req.method().as_str(), took.as_secs_f64());
        if app.settings.log_format == LogFormat::Off {
            return;
        }
        let user = req.local_cache(LoggedUser::default).0.get().copied();
        let line = Line {
            method: req.method().as_str(),
            path: req.uri().path().as_str(),
            status: res.status().code,
            millis: took.as_secs_f64() * 1000.0,
            user,
            client: client_addr(req, &app.settings.trusted_proxies).to_string(),
        };
        let text = match app.settings.log_format {
            LogFormat::Json => line.json(),
            _ => line.text(),
        };
        // One write per line, so lines from concurrent requests never mix.
        let _ = writeln!(std::io::stdout().lock(), "{text}");
    }
}

struct Line<'a> {
    method: &'a str,
    path: &'a str,
    status: u16,
    millis: f64,
    user: Option<i64>,
    client: String,
}

impl Line<'_> {
    fn text(&self) -> String {
        let user = self.user.map_or("-".to_string(), |id| id.to_string());
        format!(
            "{} {} {} {} {:.1}ms user={} client={}",
            now(),
            self.method,
            self.path,
            self.status,
            self.millis,
            user,
            self.client
        )
    }

    fn json(&self) -> String {
        json!({
            "time": now(),
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "duration_ms": (self.millis * 10.0).round() / 10.0,
            "user": self.user,
            "client": self.client,
        })
        .to_string()
    }
}

fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}
