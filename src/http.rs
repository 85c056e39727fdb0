//! HTTP conventions that hold for every route: both spellings of a path,
//! security headers, and JSON for every error, 405 included.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::uri::Origin;
use rocket::http::{Header, Method, Status};
use rocket::request::FromRequest;
use rocket::{Catcher, Data, Request, Response, catch, catchers};

use crate::error::{Error, stash, stashed};
use crate::guards::{AuthUser, StaffUser};

/// All request headers together may not exceed this. hyper refuses far
/// larger heads itself (with an empty 431); between the two, this limit
/// gives the contract's JSON answer.
pub const HEADER_LIMIT_BYTES: usize = 32 * 1024;

/// A path no route serves, so an over-limit request goes straight to the
/// catcher, which finds the stashed 431.
const REFUSED_PATH: &str = "/.latch/refused";

/// Rocket matches `/api/token` and `/api/token/` as different paths; the
/// contract wants both without a redirect, so the slash is dropped before
/// routing. Requests with oversized headers are turned away here too, before
/// any guard reads them.
pub struct TrailingSlash;

#[rocket::async_trait]
impl Fairing for TrailingSlash {
    fn info(&self) -> Info {
        Info {
            name: "trailing slash and header limit",
            kind: Kind::Request,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        let header_bytes: usize = req
            .headers()
            .iter()
            .map(|h| h.name().as_str().len() + h.value().len() + 4)
            .sum();
        if header_bytes > HEADER_LIMIT_BYTES {
            stash(req, Error::HeadersTooLarge);
            if let Ok(uri) = Origin::parse(REFUSED_PATH) {
                req.set_uri(uri);
            }
            return;
        }
        let path = req.uri().path().as_str();
        if path.len() > 1 && path.ends_with('/') {
            let trimmed = path.trim_end_matches('/');
            let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
            let rebuilt = match req.uri().query() {
                Some(q) => format!("{trimmed}?{q}"),
                None => trimmed.to_string(),
            };
            if let Ok(uri) = Origin::parse_owned(rebuilt) {
                req.set_uri(uri);
            }
        }
    }
}

/// Headers on every response: no sniffing, no framing, no referrer, no
/// caching of anything but the page's static files, no server banner.
pub struct SecurityHeaders;

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info {
            name: "security headers",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, _req: &'r Request<'_>, res: &mut Response<'r>) {
        res.set_header(Header::new("X-Content-Type-Options", "nosniff"));
        res.set_header(Header::new("X-Frame-Options", "DENY"));
        res.set_header(Header::new("Referrer-Policy", "no-referrer"));
        if !res.headers().contains("Content-Security-Policy") {
            res.set_header(Header::new(
                "Content-Security-Policy",
                "default-src 'none'; frame-ancestors 'none'",
            ));
        }
        if !res.headers().contains("Cache-Control") {
            res.set_header(Header::new("Cache-Control", "no-store"));
        }
        res.remove_header("Server");
    }
}

/// Paths whose every route needs a caller: authentication answers before
/// the method does (an anonymous `POST /api/me/` is a 401, not a 405).
const AUTHENTICATED_PREFIXES: [&str; 2] = ["/api/me", "/api/sessions"];
const STAFF_PREFIX: &str = "/api/admin";

#[catch(default)]
async fn json_catcher(status: Status, req: &Request<'_>) -> Error {
    if let Some(error) = stashed(req) {
        return error;
    }
    if status == Status::NotFound && path_has_other_methods(req) {
        let path = req.uri().path().as_str();
        // As in DRF, permissions also come before the method: staff paths
        // check staff.
        let refused = if under(path, STAFF_PREFIX) {
            StaffUser::from_request(req).await.is_error()
        } else {
            AUTHENTICATED_PREFIXES.iter().any(|p| under(path, p))
                && AuthUser::from_request(req).await.is_error()
        };
        if refused && let Some(error) = stashed(req) {
            return error;
        }
        return Error::MethodNotAllowed(req.method().as_str().to_string());
    }
    match status.code {
        // Rocket answers 422 when a path or query parameter does not parse
        // (`/api/admin/users/abc`): to a client that is a missing resource.
        404 | 422 => Error::NotFound,
        413 => Error::PayloadTooLarge,
        500..=599 => Error::Internal(format!("status {status}")),
        _ => Error::Status(status),
    }
}

fn under(path: &str, prefix: &str) -> bool {
    path == prefix || path.starts_with(&format!("{prefix}/"))
}

/// Whether routes serve this path only under other methods. (If one with
/// this method matches the shape, its parameters failed to parse: a 404.)
fn path_has_other_methods(req: &Request<'_>) -> bool {
    let segments: Vec<&str> = req.uri().path().segments().collect();
    let method = match req.method() {
        Method::Head => Method::Get,
        m => m,
    };
    let mut others = false;
    for route in req.rocket().routes() {
        if pattern_matches(route.uri.path(), &segments) {
            if route.method == method {
                return false;
            }
            others = true;
        }
    }
    others
}

fn pattern_matches(pattern: &str, segments: &[&str]) -> bool {
    let parts: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let segment_matches =
        |(p, s): (&&str, &&str)| (p.starts_with('<') && p.ends_with('>')) || p == s;
    match parts.split_last() {
        // A trailing `<rest..>` takes any number of segments after the prefix.
        Some((last, prefix)) if last.ends_with("..>") => {
            segments.len() >= prefix.len() && prefix.iter().zip(segments).all(segment_matches)
        }
        _ => parts.len() == segments.len() && parts.iter().zip(segments).all(segment_matches),
    }
}

pub fn catchers() -> Vec<Catcher> {
    catchers![json_catcher]
}
