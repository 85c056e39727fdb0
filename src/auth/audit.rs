//! The audit trail: security events (sign-ins, reuse detections, log-outs,
//! password and account changes), each with the user it concerns and the
//! actor who caused it. Written through the group-commit writer without
//! waiting, so no login waits for its own record; kept `audit_retention`.

use serde_json::{Value, json};

use crate::error::Result;
use crate::state::App;
use crate::store::audit::{self, Filter, Listed, Row};
use crate::store::sessions::ClientInfo;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    LoginOk,
    LoginFailed,
    LoginThrottled,
    RefreshReuseDetected,
    Logout,
    LogoutEverywhere,
    SessionEnded,
    PasswordChanged,
    PasswordReset,
    UserCreated,
    UserChanged,
    UserDeleted,
    TokensMinted,
    FirstRunClaimed,
    KeyRotated,
    KeyRetired,
}

pub const EVENTS: [Event; 16] = [
    Event::LoginOk,
    Event::LoginFailed,
    Event::LoginThrottled,
    Event::RefreshReuseDetected,
    Event::Logout,
    Event::LogoutEverywhere,
    Event::SessionEnded,
    Event::PasswordChanged,
    Event::PasswordReset,
    Event::UserCreated,
    Event::UserChanged,
    Event::UserDeleted,
    Event::TokensMinted,
    Event::FirstRunClaimed,
    Event::KeyRotated,
    Event::KeyRetired,
];

impl Event {
    pub fn name(self) -> &'static str {
        match self {
            Event::LoginOk => "login_ok",
            Event::LoginFailed => "login_failed",
            Event::LoginThrottled => "login_throttled",
            Event::RefreshReuseDetected => "refresh_reuse_detected",
            Event::Logout => "logout",
            Event::LogoutEverywhere => "logout_everywhere",
            Event::SessionEnded => "session_ended",
            Event::PasswordChanged => "password_changed",
            Event::PasswordReset => "password_reset",
            Event::UserCreated => "user_created",
            Event::UserChanged => "user_changed",
            Event::UserDeleted => "user_deleted",
            Event::TokensMinted => "tokens_minted",
            Event::FirstRunClaimed => "first_run_claimed",
            Event::KeyRotated => "key_rotated",
            Event::KeyRetired => "key_retired",
        }
    }

    pub fn named(name: &str) -> Option<Event> {
        EVENTS.into_iter().find(|e| e.name() == name)
    }
}

/// Who caused an event, and from where. No id: an anonymous client, or the
/// command line.
#[derive(Clone, Debug, Default)]
pub struct Actor {
    pub id: Option<i64>,
    pub client: ClientInfo,
}

impl Actor {
    pub fn user(id: i64, client: ClientInfo) -> Actor {
        Actor {
            id: Some(id),
            client,
        }
    }

    pub fn anonymous(client: ClientInfo) -> Actor {
        Actor { id: None, client }
    }

    pub fn command_line() -> Actor {
        Actor {
            id: None,
            client: ClientInfo {
                user_agent: "latch (command line)".into(),
                ip: String::new(),
            },
        }
    }
}

/// The row for `event` about `user`, for writing inside a transaction.
pub fn row(at: i64, event: Event, user: Option<i64>, actor: &Actor, detail: Value) -> Row {
    Row {
        at,
        event: event.name(),
        user_id: user,
        actor_id: actor.id,
        ip: actor.client.ip.clone(),
        user_agent: actor.client.user_agent.clone(),
        detail: detail.to_string(),
    }
}

/// Records `event` about `user` in the writer's next commit.
pub fn note(app: &App, event: Event, user: Option<i64>, actor: &Actor, detail: Value) {
    let row = row(app.now(), event, user, actor, detail);
    app.db.write_detached(move |conn| audit::record(conn, &row));
}

/// Records a failed or throttled login: the account by the name typed,
/// if there is one (never the name itself: people type passwords there).
pub fn note_login(app: &App, event: Event, username: &str, actor: &Actor) {
    let row = row(app.now(), event, None, actor, json!({}));
    let name = username.to_string();
    app.db
        .write_detached(move |conn| audit::record_for_name(conn, &row, &name));
}

pub async fn list(
    app: &App,
    filter: Filter,
    offset: i64,
    limit: i64,
) -> Result<(i64, Vec<Listed>)> {
    app.db
        .run(move |conn| audit::page(conn, &filter, offset, limit))
        .await
}

/// Deletes events past `audit_retention`; the cleanup task calls it.
pub fn purge(conn: &crate::store::Connection, now: i64, retention: i64) -> Result<usize> {
    audit::purge_before(conn, now.saturating_sub(retention))
}

/// The unix time a `since` filter names: unix seconds, an RFC 3339 time,
/// or a duration back from now (`90m`, `1d`).
pub fn since(now: i64, text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Some(seconds);
    }
    if let Ok(time) = humantime::parse_rfc3339_weak(text) {
        let secs = time.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
        return i64::try_from(secs).ok();
    }
    let back = humantime::parse_duration(text).ok()?;
    Some(now.saturating_sub(i64::try_from(back.as_secs()).ok()?))
}
