//! Browser mode: the login page's session lives in a cookie that script
//! cannot read.
//!
//! A refresh token in `localStorage` is one XSS away from a stolen
//! session, so for the page the refresh token travels only in an
//! `HttpOnly`, `SameSite=Strict` cookie scoped to these endpoints. They
//! answer with the access token, which the page keeps in memory. The
//! ledger, rotation and reuse detection are the token API's own; only the
//! transport differs.
//!
//! A cookie is sent by the browser whoever asks, so every endpoint here
//! takes [`BrowserCall`], the proof of a same-origin caller.

use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::serde::json::Json;
use rocket::{Responder, Route, State, post, routes};
use serde::Serialize;
use serde_json::{Value, json};

use crate::auth::accounts;
use crate::auth::pairs::{self, Pair, Replay, Started};
use crate::auth::sso;
use crate::error::{Error, Result};
use crate::http::body::Body;
use crate::http::browser_call::BrowserCall;
use crate::http::client::ClientAddr;
use crate::http::openapi::{
    BadRequest, Credentials, Detail, E400, E401_TOKEN, E413, E429, Empty, RequestedWith,
};
use crate::state::App;
use crate::store::sessions::ClientInfo;

/// The page's device token (see `auth::credentials`), on the same path.
pub const DEVICE_COOKIE: &str = "latch_device";

/// The cookie's name and path: sent to `/api/session/...` and nowhere else.
pub const COOKIE: &str = "latch_refresh";
pub const COOKIE_PATH: &str = "/api/session";

pub const BASE: &str = COOKIE_PATH;

pub fn routes() -> Vec<Route> {
    routes![login, refresh, logout]
}

/// What the page gets: never the refresh token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = PageSession)]
struct Session {
    access: String,
    /// Unix seconds; the page refreshes a little before.
    access_expires: i64,
    /// Unix seconds: when the cookie's refresh token runs out.
    session_expires: i64,
    username: String,
}

fn refresh_cookie(value: String, max_age: i64, secure: bool) -> Cookie<'static> {
    Cookie::build((COOKIE, value))
        .path(COOKIE_PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(rocket::time::Duration::seconds(max_age.max(0)))
        .build()
}

/// Always sent, so the browser drops the cookie even if this request did
/// not carry it.
fn clear(jar: &CookieJar<'_>, call: &BrowserCall) {
    let mut gone = refresh_cookie(String::new(), 0, call.secure);
    gone.make_removal();
    jar.add(gone);
}

fn expiry(app: &App, token: &str) -> Option<i64> {
    app.keys.decode(token, app.now()).ok()?.expires_at()
}

/// Sets the cookie from `pair` and builds the page's answer. Without
/// rotation there is no new refresh token and the old cookie stays.
fn answer(
    app: &App,
    jar: &CookieJar<'_>,
    call: &BrowserCall,
    pair: Pair,
    previous: Option<&str>,
    username: String,
) -> Result<Json<Session>> {
    let access_expires = expiry(app, &pair.access)
        .ok_or_else(|| Error::Internal("fresh access token does not decode".into()))?;
    let current = pair.refresh.as_deref().or(previous);
    let session_expires = current
        .and_then(|t| expiry(app, t))
        .unwrap_or(access_expires);
    if let Some(refresh) = pair.refresh {
        jar.add(refresh_cookie(
            refresh,
            session_expires - app.now(),
            call.secure,
        ));
    }
    Ok(Json(Session {
        access: pair.access,
        access_expires,
        session_expires,
        username,
    }))
}

/// `{"username", "password"}`: starts a session, as `POST /api/token/`.
#[utoipa::path(
    post,
    tag = "page",
    context_path = BASE,
    path = "/login",
    operation_id = "page_login",
    params(("X-Requested-With" = RequestedWith, Header,
        description = "`latch`: proof of a same-origin caller when no `Origin` is sent")),
    request_body(content((Credentials = "application/json"))),
    responses(
        (status = 200, description = "Signed in: the refresh token is in the `latch_refresh` cookie, the sign-on cookie `latch_sso` is set", body = Session),
        (status = 400, description = E400, body = BadRequest),
        (status = 401, description = "`{\"detail\": \"No active account found with the given credentials\"}`", body = Detail),
        (status = 403, description = "The CSRF check failed: a foreign `Origin` or `Sec-Fetch-Site`, or neither `Origin` nor the custom header", body = Detail),
        (status = 415, description = "Not JSON: these endpoints take only `application/json`", body = Detail),
        (status = 413, description = E413, body = Detail),
        (status = 429, description = E429, body = Detail),
    ),
)]
#[post("/login", data = "<body>")]
async fn login(
    app: &State<App>,
    call: BrowserCall,
    jar: &CookieJar<'_>,
    client: ClientInfo,
    addr: ClientAddr,
    body: Body,
) -> Result<Json<Session>> {
    let [username, password] = body.credentials(&app.settings)?;
    let device = jar.get(DEVICE_COOKIE).map(|c| c.value().to_string());
    let device = device.as_deref();
    let started = Started::OnThePage;
    let done = pairs::log_in(app, &username, password, addr.0, device, client, started).await?;
    jar.add(device_cookie(app, done.device, call.secure));
    if let Some(session) = session_of(app, done.pair.refresh.as_deref()) {
        let value = sso::bind(app, &session).await?;
        jar.add(sso_cookie(app, value, app.keys.refresh_lifetime(), &call));
    }
    answer(app, jar, &call, done.pair, None, done.user.username)
}

/// The session a refresh token of ours belongs to.
fn session_of(app: &App, refresh: Option<&str>) -> Option<String> {
    let token = app.keys.decode(refresh?, app.now()).ok()?;
    token.session().map(str::to_owned)
}

/// The sign-in cookie forward-auth reads: on every path of latch's host,
/// or of `sso_cookie_domain` and its subdomains; `Lax`, so following a
/// link to a protected app carries it.
fn sso_cookie(app: &App, value: String, max_age: i64, call: &BrowserCall) -> Cookie<'static> {
    let settings = &app.settings;
    let https = settings
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"));
    let mut cookie = Cookie::build((sso::COOKIE, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(call.secure || https)
        .max_age(rocket::time::Duration::seconds(max_age.max(0)));
    if let Some(domain) = &settings.sso_cookie_domain {
        cookie = cookie.domain(domain.clone());
    }
    cookie.build()
}

/// Keeps the sign-in cookie as long as the session it is bound to, and
/// gives one to a session that lacks it.
async fn renew_sso(
    app: &App,
    jar: &CookieJar<'_>,
    call: &BrowserCall,
    refresh: Option<&str>,
) -> Result<()> {
    let Some(session) = session_of(app, refresh) else {
        return Ok(());
    };
    let presented = jar.get(sso::COOKIE).map(|c| c.value().to_string());
    let value = match sso::renew(app, &session, presented.as_deref()).await? {
        Some(fresh) => fresh,
        None => presented.unwrap_or_default(),
    };
    let left = refresh
        .and_then(|r| expiry(app, r))
        .map_or(0, |exp| exp - app.now());
    jar.add(sso_cookie(app, value, left, call));
    Ok(())
}

/// The device token, for the page: script never sees it, and it goes only
/// to these endpoints (the sign-in is the one that reads it).
fn device_cookie(app: &App, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((DEVICE_COOKIE, value))
        .path(COOKIE_PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(rocket::time::Duration::seconds(
            app.settings.device_token_lifetime.as_i64(),
        ))
        .build()
}

/// The answer to a refresh: a session, or none to renew.
#[derive(Responder)]
enum Renewed {
    Session(Json<Session>),
    /// No cookie at all: nothing is wrong, there is simply no session, so
    /// the page's first probe is not an error response.
    #[response(status = 204)]
    NoSession(()),
}

/// Rotates the cookie's refresh token. A refused token also clears the
/// cookie: it will never work again. No cookie at all is no error but
/// `204 No Content`: the page asks on every first visit, and a 401 there
/// would be a console error in every browser.
#[utoipa::path(
    post,
    tag = "page",
    context_path = BASE,
    path = "/refresh",
    operation_id = "page_refresh",
    security((), ("page_cookie" = [])),
    params(("X-Requested-With" = RequestedWith, Header,
        description = "`latch`: proof of a same-origin caller when no `Origin` is sent")),
    request_body(description = "Ignored; the media type must be JSON", content((Empty = "application/json"))),
    responses(
        (status = 200, description = "A new access token; the cookie is rotated", body = Session),
        (status = 204, description = "No cookie: no session"),
        (status = 401, description = E401_TOKEN, body = Detail),
        (status = 403, description = "The CSRF check failed: a foreign `Origin` or `Sec-Fetch-Site`, or neither `Origin` nor the custom header", body = Detail),
        (status = 415, description = "Not JSON: these endpoints take only `application/json`", body = Detail),
        (status = 429, description = E429, body = Detail),
    ),
)]
#[post("/refresh")]
async fn refresh(
    app: &State<App>,
    call: BrowserCall,
    jar: &CookieJar<'_>,
    client: ClientInfo,
    addr: ClientAddr,
) -> Result<Renewed> {
    let Some(raw) = jar.get(COOKIE).map(|c| c.value().to_string()) else {
        return Ok(Renewed::NoSession(()));
    };
    let replay = Replay::AtLeast(pairs::PAGE_REPLAY_SECONDS);
    let pair = match pairs::refresh(app, &raw, addr.0, replay, client).await {
        Ok(pair) => pair,
        Err(e) => {
            if e.status() == Status::Unauthorized {
                clear(jar, &call);
            }
            return Err(e);
        }
    };
    let user_id = app
        .keys
        .decode(&pair.access, app.now())
        .ok()
        .and_then(|t| t.user_id())
        .and_then(|id| id.parse::<i64>().ok())
        .ok_or_else(|| Error::Internal("fresh access token has no user".into()))?;
    let user = accounts::find(app, user_id).await.map_err(|e| match e {
        Error::NotFound => Error::NoActiveAccountForToken,
        other => other,
    })?;
    let current = pair.refresh.clone().unwrap_or_else(|| raw.clone());
    renew_sso(app, jar, &call, Some(&current)).await?;
    answer(app, jar, &call, pair, Some(&raw), user.username).map(Renewed::Session)
}

/// Ends the cookie's session and clears the cookie. A cookie that is
/// already dead is no error: the browser is logged out either way.
#[utoipa::path(
    post,
    tag = "page",
    context_path = BASE,
    path = "/logout",
    operation_id = "page_logout",
    security((), ("page_cookie" = [])),
    params(("X-Requested-With" = RequestedWith, Header,
        description = "`latch`: proof of a same-origin caller when no `Origin` is sent")),
    request_body(description = "Ignored; the media type must be JSON", content((Empty = "application/json"))),
    responses(
        (status = 200, description = "Logged out; the cookies are cleared", body = Empty),
        (status = 429, description = E429, body = Detail),
        (status = 403, description = "The CSRF check failed: a foreign `Origin` or `Sec-Fetch-Site`, or neither `Origin` nor the custom header", body = Detail),
        (status = 415, description = "Not JSON: these endpoints take only `application/json`", body = Detail),
    ),
)]
#[post("/logout")]
async fn logout(
    app: &State<App>,
    call: BrowserCall,
    jar: &CookieJar<'_>,
    addr: ClientAddr,
    client: ClientInfo,
) -> Result<Json<Value>> {
    let raw = jar.get(COOKIE).map(|c| c.value().to_string());
    clear(jar, &call);
    let mut sso_gone = sso_cookie(app, String::new(), 0, &call);
    sso_gone.make_removal();
    jar.add(sso_gone);
    if let Some(raw) = raw {
        match pairs::blacklist(app, &raw, addr.0, client).await {
            Ok(()) | Err(Error::Token(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Json(json!({})))
}
