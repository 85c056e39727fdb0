//! The guard for the page's cookie endpoints: proof of a same-origin
//! caller. A cookie is sent by the browser whoever asks, so these endpoints
//! take only JSON (no cross-site HTML form can send it) and want an
//! `Origin` equal to the server's own, or the custom header
//! `X-Requested-With: latch`, which a cross-site page cannot add without a
//! CORS preflight latch never grants.

use rocket::request::{FromRequest, Outcome, Request};

use crate::config::TrustedProxies;
use crate::error::{Error, Result, stash};
use crate::http::body;
use crate::state::App;

/// The custom header (and value) the page sends with every call.
pub const CSRF_HEADER: (&str, &str) = ("X-Requested-With", "latch");

/// A request that passed the CSRF checks; knows whether the cookie must be
/// `Secure`.
pub struct BrowserCall {
    pub secure: bool,
}

/// `Origin` scheme and authority, compared with the request's own.
fn same_origin(origin: &str, host: &str, tls: bool) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    let scheme = scheme.to_ascii_lowercase();
    // Behind a TLS-terminating proxy the page is https while latch sees
    // http; a plain http page is never accepted over TLS.
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" if !tls => ":80",
        _ => return false,
    };
    let strip = |a: &str| {
        let a = a.trim().to_ascii_lowercase();
        a.strip_suffix(default_port)
            .map(str::to_string)
            .unwrap_or(a)
    };
    !authority.is_empty() && strip(authority) == strip(host)
}

/// The peer is a configured proxy that says the client used https.
fn forwarded_https(req: &Request<'_>, trusted: &TrustedProxies) -> bool {
    let peer_trusted = req.remote().is_some_and(|r| trusted.trusts(r.ip()));
    peer_trusted
        && req
            .headers()
            .get_one("X-Forwarded-Proto")
            .and_then(|v| v.split(',').next())
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
}

fn check(req: &Request<'_>, app: &App) -> Result<BrowserCall> {
    let tls = req.rocket().config().tls_enabled();
    let refused = || Error::ForbiddenDetail("CSRF check failed.".into());
    // Fetch metadata, where the browser sends it, settles it early.
    if let Some(site) = req.headers().get_one("Sec-Fetch-Site")
        && matches!(site, "cross-site" | "same-site")
    {
        return Err(refused());
    }
    match req.headers().get_one("Origin") {
        // Present, it must be ours: a foreign page is refused even when it
        // managed to add the custom header.
        Some(origin) => {
            let host = req.headers().get_one("Host").unwrap_or("");
            if !same_origin(origin, host, tls) {
                return Err(refused());
            }
        }
        None => {
            let (name, value) = CSRF_HEADER;
            if req.headers().get_one(name) != Some(value) {
                return Err(refused());
            }
        }
    }
    match req.content_type() {
        Some(t) if t.is_json() => body::json_charset(t)?,
        other => {
            let named = other.map(|t| t.to_string()).unwrap_or_default();
            return Err(Error::UnsupportedMediaType(named));
        }
    }
    let secure =
        tls || app.settings.cookie_secure || forwarded_https(req, &app.settings.trusted_proxies);
    Ok(BrowserCall { secure })
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for BrowserCall {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Error> {
        let Some(app) = req.rocket().state::<App>() else {
            return Outcome::Error(stash(req, Error::Internal("app state missing".into())));
        };
        match check(req, app) {
            Ok(call) => Outcome::Success(call),
            Err(e) => Outcome::Error(stash(req, e)),
        }
    }
}
