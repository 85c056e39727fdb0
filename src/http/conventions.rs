//! HTTP conventions that hold for every route: both spellings of a path,
//! a bound on header size, and security headers on every response.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::http::uri::Origin;
use rocket::{Data, Request, Response};

use crate::error::{Error, stash};

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
