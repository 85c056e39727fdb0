//! The token endpoints' use cases, shared by the Simple JWT API, the
//! page's cookie session and the command line: log in, refresh, verify,
//! log out.

use std::net::IpAddr;

use serde_json::json;

use crate::auth::audit::{self, Actor, Event};
use crate::auth::credentials;
pub use crate::auth::ledger::Pair;
pub use crate::auth::ledger::Started;
use crate::auth::ledger::{self, Ctx, PAGE_CLAIM};
use crate::auth::throttle::Action;
use crate::auth::tokens::{Kind, Token};
use crate::auth::usernames;
use crate::error::{Error, Result, TokenProblem};
use crate::metrics::{Login, Refresh};
use crate::state::App;
use crate::store::sessions::ClientInfo;
use crate::store::users::User;

/// A successful login: the user, their first pair, and a fresh device
/// token for the client to present at its next login.
pub struct LoggedIn {
    pub user: User,
    pub pair: Pair,
    pub device: String,
}

/// Checks credentials and starts a session: `POST /api/token/` and the
/// page's sign-in. `device` is the device token the client presented.
pub async fn log_in(
    app: &App,
    username: &str,
    password: String,
    ip: IpAddr,
    device: Option<&str>,
    client: ClientInfo,
    started: Started,
) -> Result<LoggedIn> {
    let checked = credentials::check(app, username, password, ip, device).await;
    let (outcome, event) = match &checked {
        Ok(_) => (Login::ok, Event::LoginOk),
        Err(Error::Throttled(_)) => (Login::throttled, Event::LoginThrottled),
        Err(_) => (Login::failed, Event::LoginFailed),
    };
    app.metrics.login(outcome);
    let user = match checked {
        Ok(user) => user,
        Err(e) => {
            let name = usernames::normalize(username.trim());
            audit::note_login(app, event, &name, &Actor::anonymous(client));
            return Err(e);
        }
    };
    let actor = Actor::user(user.id, client.clone());
    let pair = issue(app, &user, client, started).await?;
    audit::note(app, Event::LoginOk, Some(user.id), &actor, json!({}));
    let now = app.now();
    let device = app.keys.sign_device(&user.id.to_string(), now)?;
    Ok(LoggedIn { user, pair, device })
}

/// Starts a session for `user` (as last read) and returns its first pair.
pub async fn issue(app: &App, user: &User, client: ClientInfo, started: Started) -> Result<Pair> {
    let (keys, settings, now) = (app.keys.clone(), app.settings.clone(), app.now());
    let user = user.clone();
    app.db
        .write(move |conn| {
            let cx = Ctx {
                keys: &keys,
                settings: &settings,
                now,
                grace: 0,
            };
            ledger::issue(conn, &cx, &user, &client, started)
        })
        .await
}

/// The page's replay grace: two tabs, or a retry after a lost answer,
/// present the same cookie at nearly the same moment.
pub const PAGE_REPLAY_SECONDS: i64 = 10;

/// The longest any replay may still ask for a successor pair.
pub fn longest_replay(settings: &crate::config::Settings) -> i64 {
    settings
        .refresh_reuse_grace
        .as_i64()
        .max(PAGE_REPLAY_SECONDS)
        .saturating_add(settings.leeway.as_i64())
}

/// How long a replayed refresh token gets the same successor instead of
/// counting as reuse.
#[derive(Clone, Copy, Debug)]
pub enum Replay {
    /// The API's `refresh_reuse_grace` (Simple JWT semantics: 0 by default).
    Configured,
    /// At least these many seconds for a session started on the page: its
    /// tabs and retried requests present the same cookie at once, and that
    /// is not theft. Any other token keeps the configured grace.
    AtLeast(i64),
}

/// Validates, consumes and rotates a refresh token.
pub async fn refresh(
    app: &App,
    raw: &str,
    ip: IpAddr,
    replay: Replay,
    client: ClientInfo,
) -> Result<Pair> {
    let refreshed = rotate(app, raw, ip, replay, client).await;
    app.metrics.refresh(match &refreshed {
        Ok(_) => Refresh::ok,
        Err(Error::Token(TokenProblem::Blacklisted)) => Refresh::reuse_detected,
        Err(_) => Refresh::invalid,
    });
    refreshed
}

async fn rotate(
    app: &App,
    raw: &str,
    ip: IpAddr,
    replay: Replay,
    client: ClientInfo,
) -> Result<Pair> {
    let token = decode_or_spend(app, raw, ip)?;
    let configured = app.settings.refresh_reuse_grace.as_i64();
    let on_the_page = token.claims.get(PAGE_CLAIM) == Some(&serde_json::Value::Bool(true));
    let grace = match replay {
        Replay::AtLeast(secs) if on_the_page => configured.max(secs),
        _ => configured,
    };
    let (keys, settings, now) = (app.keys.clone(), app.settings.clone(), app.now());
    let refreshed = app
        .db
        .write(move |conn| {
            let cx = Ctx {
                keys: &keys,
                settings: &settings,
                now,
                grace,
            };
            ledger::refresh(conn, &cx, &token, &client)
        })
        .await;
    spend_on_refusal(app, ip, refreshed)
}

/// Logs out the session of a refresh token.
pub async fn blacklist(app: &App, raw: &str, ip: IpAddr, client: ClientInfo) -> Result<()> {
    let token = decode_or_spend(app, raw, ip)?;
    let now = app.now();
    let user = token.user_id().and_then(|id| id.parse::<i64>().ok());
    let session = token.session().map(str::to_owned);
    let done = app
        .db
        .write(move |conn| ledger::blacklist(conn, &token, now))
        .await;
    if done.is_ok() {
        let actor = Actor { id: user, client };
        audit::note(
            app,
            Event::Logout,
            user,
            &actor,
            json!({ "session": session }),
        );
    }
    spend_on_refusal(app, ip, done)
}

/// Simple JWT's `UntypedToken` check: any valid token, whatever its type,
/// unless it is revoked: a spent refresh token, a token of an ended
/// session or of a deleted user, or one from before the user's cut-off.
pub async fn verify(app: &App, raw: &str, ip: IpAddr) -> Result<()> {
    let token: Token = decode_or_spend(app, raw, ip)?;
    let checked = token.clone();
    let revoked = app
        .db
        .read(move |conn| ledger::is_revoked(conn, &checked))
        .await?;
    let outcome = if revoked {
        Err(Error::NonField(TokenProblem::Blacklisted.message().into()))
    } else {
        match token.require(Kind::Access) {
            Ok(()) | Err(TokenProblem::WrongType | TokenProblem::NoType) => Ok(()),
            Err(p) => Err(Error::Token(p)),
        }
    };
    spend_on_refusal(app, ip, outcome)
}

/// Decodes a presented token. One that fails here (malformed, badly
/// signed, expired) spends the address's budget, and once that is gone
/// such tokens get 429. A correctly signed, unexpired token costs one
/// signature check and never meets the throttle: it is always answered.
fn decode_or_spend(app: &App, raw: &str, ip: IpAddr) -> Result<Token> {
    app.keys.decode(raw, app.now()).or_else(|problem| {
        throttle_requests(app, ip)?;
        Err(Error::Token(problem))
    })
}

/// A refusal after decoding (spent, revoked, wrong type) spends the
/// budget too, but is answered as itself: its signature was good, so it
/// costs no more than the answer.
fn spend_on_refusal<T>(app: &App, ip: IpAddr, outcome: Result<T>) -> Result<T> {
    if matches!(
        outcome,
        Err(Error::Token(_) | Error::NonField(_) | Error::NoActiveAccountForToken)
    ) {
        let _ = throttle_requests(app, ip);
    }
    outcome
}

/// Registration and first-run setup carry no credential to check first,
/// so each attempt spends the address's budget.
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
/// the leeway), and audit events past `audit_retention`. Expired tokens
/// fail validation on their own, so nothing revoked can come back.
pub async fn flush_expired(app: &App) -> Result<(usize, usize, usize)> {
    let now = app.now();
    let cutoff = now - app.settings.leeway.as_i64();
    let retention = app.settings.audit_retention.as_i64();
    let replayable_since = now - longest_replay(&app.settings);
    app.db
        .run(move |conn| {
            let (tokens, sessions) =
                crate::store::ledger::flush_expired(conn, cutoff, replayable_since)?;
            let events = audit::purge(conn, now, retention)?;
            Ok((tokens, sessions, events))
        })
        .await
}
