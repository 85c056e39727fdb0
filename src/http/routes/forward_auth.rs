//! Forward authentication: reverse proxies ask latch, before every request
//! to an app they protect, whether it may pass and as whom.
//!
//! Two endpoints, because the proxy families fail differently (Authelia's
//! split): Traefik and Caddy pass on whatever latch answers, so
//! `/forward-auth` redirects browsers itself; nginx's `auth_request` turns
//! only 401 and 403 into decisions, so `/auth-request` always answers 401
//! and leaves the sign-in URL in `Location` for `error_page` to use. Both
//! answer every method: the proxy asks with the method it was sent.
//!
//! `/redirect?rd=` tells the page whether a return URL is one it may
//! follow, so the rule lives in one place ([`forward::RedirectPolicy`]).

use rocket::http::{Header, Method};
use rocket::response::{self, Responder, Response};
use rocket::route::{Handler, Outcome};
use rocket::serde::json::Json;
use rocket::{Data, Request, Route, get, routes};
use serde_json::{Value, json};

use crate::auth::forward::{self, Original, RedirectPolicy, Verdict, Who};
use crate::auth::sso;
use crate::config::public_url_host;
use crate::error::{Error, Result};
use crate::http::guards;
use crate::http::openapi::{Detail, E401_BEARER, Empty, ReturnAddress};
use crate::metrics::ForwardAuth;
use crate::state::App;

pub const BASE: &str = "/api/authz";

const METHODS: [Method; 9] = [
    Method::Get,
    Method::Head,
    Method::Post,
    Method::Put,
    Method::Delete,
    Method::Patch,
    Method::Options,
    Method::Trace,
    Method::Connect,
];

/// Which proxy family an endpoint serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    /// Traefik, Caddy: latch's answer is the client's.
    ForwardAuth,
    /// nginx `auth_request`: 2xx, 401 or 403 only.
    AuthRequest,
}

#[derive(Clone)]
struct Endpoint(Family);

pub fn routes() -> Vec<Route> {
    let mut all = routes![redirect];
    for (path, family) in [
        ("/forward-auth", Family::ForwardAuth),
        ("/auth-request", Family::AuthRequest),
    ] {
        for method in METHODS {
            let mut route = Route::new(method, path, Endpoint(family));
            route.name = Some(path.trim_start_matches('/').replace('-', "_").into());
            all.push(route);
        }
    }
    all
}

/// `forward-auth`, documented for GET: every method is answered alike (see
/// [`routes`]); utoipa describes a function, so this one stands for the
/// [`Endpoint`] handler.
#[utoipa::path(
    get,
    tag = "forward auth",
    context_path = BASE,
    path = "/forward-auth",
    operation_id = "forward_auth",
    security((), ("bearer" = []), ("sso_cookie" = [])),
    params(
        ("X-Forwarded-Proto" = Option<String>, Header, nullable = false, description = "The original scheme"),
        ("X-Forwarded-Host" = Option<String>, Header, nullable = false, description = "The original host"),
        ("X-Forwarded-Uri" = Option<String>, Header, nullable = false, description = "The original path and query"),
        ("X-Forwarded-Method" = Option<String>, Header, nullable = false, description = "The original method"),
    ),
    responses(
        (status = 200, description = "Allowed: `Remote-User`, `Remote-Id` and `Remote-Groups` name the user (empty for no one)", body = Empty,
            headers(
                ("Remote-User" = String, description = "The username"),
                ("Remote-Id" = String, description = "The user's id"),
                ("Remote-Groups" = String, description = "`staff`, or empty"),
            )),
        (status = 302, description = "Not signed in, from a browser, with `public_url` set: to the page, with the original URL in `rd`", body = Detail,
            headers(("Location" = String, description = "The sign-in page"))),
        (status = 400, description = "The original request cannot be told from the headers", body = Detail),
        (status = 401, description = E401_BEARER, body = Detail),
        (status = 403, description = "Signed in, but the rule requires more", body = Detail),
    ),
)]
#[allow(dead_code)]
pub(crate) fn forward_auth() {}

/// `auth-request`, documented for GET: every method is answered alike (see
/// [`routes`]); utoipa describes a function, so this one stands for the
/// [`Endpoint`] handler.
#[utoipa::path(
    get,
    tag = "forward auth",
    context_path = BASE,
    path = "/auth-request",
    operation_id = "auth_request",
    security((), ("bearer" = []), ("sso_cookie" = [])),
    params(
        ("X-Original-URL" = Option<String>, Header, nullable = false, description = "The original URL"),
        ("X-Original-URI" = Option<String>, Header, nullable = false, description = "The original path and query, with `Host`"),
        ("X-Original-Method" = Option<String>, Header, nullable = false, description = "The original method"),
    ),
    responses(
        (status = 200, description = "Allowed: `Remote-User`, `Remote-Id` and `Remote-Groups` name the user (empty for no one)", body = Empty,
            headers(
                ("Remote-User" = String, description = "The username"),
                ("Remote-Id" = String, description = "The user's id"),
                ("Remote-Groups" = String, description = "`staff`, or empty"),
            )),
        (status = 400, description = "The original request cannot be told from the headers", body = Detail),
        (status = 401, description = "Not signed in (the bearer token's 401 when one was sent); for browsers, `Location` is the sign-in page for nginx's `error_page 401 =302`", body = Detail,
            headers(("Location" = Option<String>, description = "The sign-in page, for browsers with `public_url` set"))),
        (status = 403, description = "Signed in, but the rule requires more", body = Detail),
    ),
)]
#[allow(dead_code)]
pub(crate) fn auth_request() {}

#[rocket::async_trait]
impl Handler for Endpoint {
    async fn handle<'r>(&self, req: &'r Request<'_>, _data: Data<'r>) -> Outcome<'r> {
        let decided = decide(req, self.0).await;
        if let Some(app) = req.rocket().state::<App>() {
            app.metrics.forward_auth(match &decided {
                Ok(_) => ForwardAuth::allowed,
                Err(Error::SignIn { redirect: true, .. }) => ForwardAuth::redirected,
                Err(_) => ForwardAuth::denied,
            });
        }
        if let Ok(Allowed(Some(who))) = &decided {
            crate::http::request_log::note_user(req, who.id);
        }
        Outcome::from(req, decided)
    }
}

/// The request may pass; the app is told who sent it. Every `Remote-*`
/// header is sent, empty for no one, so a proxy that copies them always
/// overwrites what the client sent.
struct Allowed(Option<Who>);

impl<'r> Responder<'r, 'static> for Allowed {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let (user, id, groups) = match &self.0 {
            Some(who) => (
                who.username.clone(),
                who.id.to_string(),
                if who.is_staff { "staff" } else { "" },
            ),
            None => (String::new(), String::new(), ""),
        };
        Response::build_from(Json(json!({})).respond_to(req)?)
            .header(Header::new("Remote-User", user))
            .header(Header::new("Remote-Id", id))
            .header(Header::new("Remote-Groups", groups))
            .header(Header::new("Cache-Control", "no-store"))
            .ok()
    }
}

async fn decide(req: &Request<'_>, family: Family) -> Result<Allowed> {
    let app = req
        .rocket()
        .state::<App>()
        .ok_or_else(|| Error::Internal("app state missing".into()))?;
    let original = original(req, family)?;
    let url = &original.url;
    let require = forward::required(&app.settings.forward_auth_rules, &url.host, &url.path);
    let (who, cause) = identify(req, app).await?;
    match forward::verdict(require, who) {
        Verdict::Allow(who) => Ok(Allowed(who)),
        Verdict::Forbidden => Err(Error::Forbidden),
        Verdict::SignIn => {
            let browser = original.is_browser(req.headers().get_one("Accept"));
            let location = app
                .settings
                .public_url
                .as_deref()
                .filter(|_| browser)
                .map(|public| forward::login_url(public, &url.raw));
            Err(Error::SignIn {
                redirect: family == Family::ForwardAuth && location.is_some(),
                cause: Box::new(cause),
                location,
            })
        }
    }
}

/// The request the proxy asks about, from the headers its family sets.
/// Only those: Traefik and Caddy overwrite `X-Forwarded-*` but pass any
/// other client header through, and nginx sets `X-Original-URL` but
/// passes a client's `X-Forwarded-*`, so reading the other family's
/// headers would let a client describe a request it is not making.
fn original(req: &Request<'_>, family: Family) -> Result<Original> {
    let h = req.headers();
    let found = match family {
        Family::ForwardAuth => {
            let method = h
                .get_one("X-Forwarded-Method")
                .or(Some(req.method().as_str()));
            match (h.get_one("X-Forwarded-Host"), h.get_one("X-Forwarded-Uri")) {
                (Some(host), Some(uri)) => {
                    Original::forwarded(h.get_one("X-Forwarded-Proto"), host, uri, method)
                }
                _ => None,
            }
        }
        Family::AuthRequest => {
            let method = h
                .get_one("X-Original-Method")
                .or(Some(req.method().as_str()));
            match (h.get_one("X-Original-URL"), h.get_one("X-Original-URI")) {
                (Some(url), _) => Original::url(url, method),
                (None, Some(uri)) => h.get_one("Host").and_then(|host| {
                    Original::forwarded(h.get_one("X-Forwarded-Proto"), host, uri, method)
                }),
                (None, None) => None,
            }
        }
    };
    found.ok_or_else(|| {
        Error::BadRequest(match family {
            Family::ForwardAuth => "Cannot tell the original request: send X-Forwarded-Proto, \
                 X-Forwarded-Host and X-Forwarded-Uri."
                .into(),
            Family::AuthRequest => "Cannot tell the original request: send X-Original-URL \
                 (or X-Original-URI with Host)."
                .into(),
        })
    })
}

/// Who the credentials name, or why no one: a bearer token (checked as on
/// every protected route) when `Authorization` is sent, else the sign-in
/// cookie. Only a failure of latch itself is an error here.
async fn identify(req: &Request<'_>, app: &App) -> Result<(Option<Who>, Error)> {
    if req.headers().contains("Authorization") {
        return match guards::authenticate(req).await {
            Ok(auth) => Ok((
                Some(Who {
                    id: auth.user.id,
                    username: auth.user.username,
                    is_staff: auth.user.is_staff,
                }),
                Error::NotAuthenticated,
            )),
            Err(e @ (Error::Database(_) | Error::Internal(_))) => Err(e),
            Err(e) => Ok((None, e)),
        };
    }
    let who = match req.cookies().get(sso::COOKIE) {
        Some(cookie) => sso::check(app, cookie.value()).await?,
        None => None,
    };
    Ok((who, Error::NotAuthenticated))
}

/// For the page: whether it may send the browser to `rd` after sign-in.
/// `200 {"rd": url}`, or `400 {"detail": ...}` saying why not.
#[utoipa::path(
    get,
    tag = "forward auth",
    context_path = BASE,
    path = "/redirect",
    operation_id = "check_return_address",
    params(("rd" = Option<String>, Query, nullable = false, description = "The URL to return to after sign-in")),
    responses(
        (status = 200, description = "The page may return there", body = ReturnAddress),
        (status = 400, description = "Refused, saying why", body = Detail),
    ),
)]
#[get("/redirect?<rd>")]
fn redirect(app: &rocket::State<App>, rd: Option<&str>, host: RequestHost) -> Result<Json<Value>> {
    let settings = &app.settings;
    let own = match &settings.public_url {
        Some(url) => public_url_host(url).ok().map(str::to_string),
        None => host.0,
    };
    let policy = RedirectPolicy {
        own_host: own.as_deref(),
        cookie_domain: settings.sso_cookie_domain.as_deref(),
        hosts: &settings.redirect_hosts,
    };
    match policy.check(rd.unwrap_or("")) {
        Ok(url) => Ok(Json(json!({ "rd": url }))),
        Err(why) => Err(Error::BadRequest(format!(
            "The return address was refused: {why}."
        ))),
    }
}

/// The request's own host name, without the port.
struct RequestHost(Option<String>);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for RequestHost {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> rocket::request::Outcome<Self, Self::Error> {
        let host = req.host().map(|h| h.domain().as_str().to_ascii_lowercase());
        rocket::request::Outcome::Success(RequestHost(host))
    }
}
