//! The token endpoints' use cases, shared by the Simple JWT API, the
//! page's cookie session and the command line: log in, refresh, verify,
//! log out.

use std::net::IpAddr;

use crate::auth::credentials;
pub use crate::auth::ledger::Pair;
use crate::auth::ledger::{self, Ctx};
use crate::auth::throttle::Action;
use crate::auth::tokens::{Kind, Token};
use crate::error::{Error, Result, TokenProblem};
use crate::state::App;
use crate::store::sessions::ClientInfo;
use crate::store::users::User;

/// Checks credentials and starts a session: `POST /api/token/` and the
/// page's sign-in.
pub async fn log_in(
    app: &App,
    username: &str,
    password: String,
    ip: IpAddr,
    client: ClientInfo,
) -> Result<(User, Pair)> {
    let user = credentials::check(app, username, password, ip).await?;
    let pair = issue(app, user.id, client).await?;
    Ok((user, pair))
}

/// Starts a session for `user_id` and returns its first pair.
pub async fn issue(app: &App, user_id: i64, client: ClientInfo) -> Result<Pair> {
    let (keys, settings, now) = (app.keys.clone(), app.settings.clone(), app.now());
    app.db
        .write(move |conn| {
            let cx = Ctx {
                keys: &keys,
                settings: &settings,
                now,
            };
            ledger::issue(conn, &cx, user_id, &client)
        })
        .await
}

/// Validates, consumes and rotates a refresh token.
pub async fn refresh(app: &App, raw: &str, client: ClientInfo) -> Result<Pair> {
    let now = app.now();
    let token = app.keys.decode(raw, now).map_err(Error::Token)?;
    let (keys, settings) = (app.keys.clone(), app.settings.clone());
    app.db
        .write(move |conn| {
            let cx = Ctx {
                keys: &keys,
                settings: &settings,
                now,
            };
            ledger::refresh(conn, &cx, &token, &client)
        })
        .await
}

/// Logs out the session of a refresh token.
pub async fn blacklist(app: &App, raw: &str) -> Result<()> {
    let now = app.now();
    let token = app.keys.decode(raw, now).map_err(Error::Token)?;
    app.db
        .write(move |conn| ledger::blacklist(conn, &token, now))
        .await
}

/// Simple JWT's `UntypedToken` check: any valid token, whatever its type,
/// unless it is a spent refresh token.
pub async fn verify(app: &App, raw: &str) -> Result<()> {
    let token: Token = app.keys.decode(raw, app.now()).map_err(Error::Token)?;
    let checked = token.clone();
    if app
        .db
        .run(move |conn| ledger::is_blacklisted(conn, &checked))
        .await?
    {
        return Err(Error::NonField(TokenProblem::Blacklisted.message().into()));
    }
    match token.require(Kind::Access) {
        Ok(()) | Err(TokenProblem::WrongType | TokenProblem::NoType) => Ok(()),
        Err(p) => Err(Error::Token(p)),
    }
}

/// Refresh and similar endpoints are cheap to call and worth flooding, so
/// each address gets a budget.
pub fn throttle_requests(app: &App, ip: IpAddr) -> Result<()> {
    let action = Action::Requests;
    app.throttle
        .take(
            &action.address(ip),
            action.rule(&app.settings),
            app.clock.now_secs_f64(),
        )
        .map_err(Error::Throttled)
}

/// Deletes ledger rows and sessions whose tokens have all expired (past
/// the leeway). Expired tokens fail validation on their own, so nothing
/// revoked can come back.
pub async fn flush_expired(app: &App) -> Result<(usize, usize)> {
    let cutoff = app.now() - app.settings.leeway.as_i64();
    app.db
        .run(move |conn| crate::store::ledger::flush_expired(conn, cutoff))
        .await
}
