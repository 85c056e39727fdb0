//! The embedded login page: `static/` compiled into the binary, so a fresh
//! `latch` serves a working sign-in page with nothing else deployed.
//!
//! rust-embed has no Rocket integration, so the responder here does the
//! small part that matters: the content type from the extension, a strong
//! ETag from the file's SHA-256 with `304 Not Modified` on a match, and a
//! Content-Security-Policy strict enough that no inline script or style
//! could run even if some markup were ever injected.

use std::borrow::Cow;
use std::io::Cursor;

use rocket::http::{ContentType, Header, Status};
use rocket::response::{self, Responder, Response};
use rocket::{Request, Route, get, routes};

use crate::error::Error;

/// Everything under `static/`, in the binary (read from disk in debug
/// builds, which keeps edit-and-reload quick).
#[derive(rust_embed::Embed)]
#[folder = "static/"]
struct Assets;

/// Same-origin script, style, fetches and images only; no inline code, no
/// framing, no `<base>` tricks, forms may only post back here.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

pub const BASE: &str = "/";

pub fn routes() -> Vec<Route> {
    routes![index, setup, favicon, asset]
}

/// The page: sign-in, the signed-in view, and (by path) first-run setup.
#[utoipa::path(
    get,
    tag = "page",
    context_path = "",
    path = "/",
    operation_id = "login_page",
    responses(
        (status = 200, description = "The login page", content_type = "text/html", body = String),
        (status = 304, description = "Not modified (`If-None-Match` matched the `ETag`)"),
    ),
)]
#[get("/")]
fn index() -> Result<Asset, Error> {
    Asset::named("index.html")
}

/// The first-run link lands here; the script reads the token from the
/// fragment, which never reaches the server or its logs.
#[utoipa::path(
    get,
    tag = "page",
    context_path = "",
    path = "/setup",
    operation_id = "setup_page",
    responses(
        (status = 200, description = "The login page, which reads the first-run token from the fragment", content_type = "text/html", body = String),
        (status = 304, description = "Not modified (`If-None-Match` matched the `ETag`)"),
    ),
)]
#[get("/setup")]
fn setup() -> Result<Asset, Error> {
    Asset::named("index.html")
}

/// Browsers ask for `/favicon.ico` whatever the page links; answer with
/// the page's own icon rather than a 404 in every console.
#[utoipa::path(
    get,
    tag = "page",
    context_path = "",
    path = "/favicon.ico",
    operation_id = "favicon",
    responses(
        (status = 200, description = "The page's icon", content_type = "image/svg+xml", body = String),
        (status = 304, description = "Not modified (`If-None-Match` matched the `ETag`)"),
    ),
)]
#[get("/favicon.ico")]
fn favicon() -> Result<Asset, Error> {
    Asset::named("favicon.svg")
}

/// The page's files. One flat directory: a single segment cannot climb
/// out of it.
#[get("/static/<file>")]
fn asset(file: &str) -> Result<Asset, Error> {
    Asset::named(file)
}

/// One embedded file, ready to answer a request.
pub struct Asset {
    body: Cow<'static, [u8]>,
    content_type: ContentType,
    etag: String,
}

impl Asset {
    fn named(name: &str) -> Result<Asset, Error> {
        let file = Assets::get(name).ok_or(Error::NotFound)?;
        let extension = name.rsplit_once('.').map_or("", |(_, ext)| ext);
        let content_type = ContentType::from_extension(extension).unwrap_or(ContentType::Binary);
        let hash = crate::auth::tokens::hex(&file.metadata.sha256_hash());
        Ok(Asset {
            body: file.data,
            content_type,
            etag: format!("\"{hash}\""),
        })
    }

    /// RFC 9110 §13.1.2: `If-None-Match` compares weakly and may list
    /// several tags, or `*`.
    fn matches(&self, if_none_match: &str) -> bool {
        if_none_match
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == self.etag.as_str())
    }
}

impl<'r> Responder<'r, 'static> for Asset {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Response::build();
        response
            .header(Header::new("ETag", self.etag.clone()))
            // Cached, but revalidated every time: a new binary shows at once.
            .header(Header::new("Cache-Control", "no-cache"))
            .header(Header::new("Content-Security-Policy", PAGE_CSP));
        let fresh = req
            .headers()
            .get("If-None-Match")
            .any(|value| self.matches(value));
        if fresh {
            return Ok(response.status(Status::NotModified).finalize());
        }
        response.header(self.content_type);
        match self.body {
            Cow::Borrowed(bytes) => response.sized_body(bytes.len(), Cursor::new(bytes)),
            Cow::Owned(bytes) => response.sized_body(bytes.len(), Cursor::new(bytes)),
        };
        Ok(response.finalize())
    }
}
