//! The refresh ledger's rules: issuing, rotating and revoking token pairs.
//!
//! Each function runs inside the caller's write transaction (the
//! group-commit writer), which serializes writers, so every request sees the
//! effects of those before it; each writes only what it means to keep
//! before returning a refusal. Presenting a spent token revokes its whole
//! family (RFC 9700 §4.14.2), unless it comes back inside the grace window.

use crate::store::Connection;
use serde::Serialize;
use serde_json::{Value, json};

use crate::auth::audit::{self, Actor, Event};
use crate::auth::claims;
use crate::auth::tokens::{Claims, Keys, Kind, SESSION_CLAIM, Token, new_id};
use crate::config::Settings;
use crate::error::{Error, Result, TokenProblem};
use crate::store::audit as store_audit;
use crate::store::ledger::{self, Entry, Issued};
use crate::store::sessions::{self, ClientInfo};
use crate::store::users::{self, User};

/// What the token endpoints answer; `refresh` is absent when rotation is off.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Pair {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh: Option<String>,
    pub access: String,
}

/// Where a session started. The page's sessions carry [`PAGE_CLAIM`], and
/// only they get the page's replay grace: a refresh token handed to an API
/// client keeps Simple JWT's rules wherever it is presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Started {
    OnThePage,
    Elsewhere,
}

/// latch's claim on the page's sessions (inherited by every rotation).
pub const PAGE_CLAIM: &str = "page";

/// What every rule needs besides the transaction.
pub struct Ctx<'a> {
    pub keys: &'a Keys,
    pub settings: &'a Settings,
    pub now: i64,
    /// Seconds in which a replayed refresh token gets the same successor.
    pub grace: i64,
}

/// Starts a session for `checked` and issues its first pair, but only if
/// the account is, inside this transaction, exactly as it was when its
/// password was checked: a password change, reset, deactivation or
/// deletion that landed while the hash ran must not let this login live.
pub fn issue(
    tx: &Connection,
    cx: &Ctx<'_>,
    checked: &User,
    client: &ClientInfo,
    started: Started,
) -> Result<Pair> {
    let unchanged = users::by_id(tx, checked.id)?.is_some_and(|now| {
        now.is_active
            && now.password == checked.password
            && now.tokens_valid_after == checked.tokens_valid_after
    });
    if !unchanged {
        return Err(Error::NoActiveAccount);
    }
    let (keys, now, user_id) = (cx.keys, cx.now, checked.id);
    let session = new_id();
    let uid = user_id.to_string();
    let mut refresh = keys.claims(Kind::Refresh, &uid, Some(&session), now);
    claims::apply(&mut refresh, &cx.settings.token_claims, checked);
    if started == Started::OnThePage {
        refresh.insert(PAGE_CLAIM.into(), Value::Bool(true));
    }
    let access = keys.access_for(&refresh, now);
    let expires = now + keys.refresh_lifetime();
    sessions::start(tx, &session, user_id, client, now, expires)?;
    ledger::record(
        tx,
        &Issued {
            jti: claim(&refresh, "jti"),
            user_id: &uid,
            session: Some(&session),
            issued: now,
            expires,
        },
    )?;
    if cx.settings.update_last_login {
        users::touch_last_login(tx, user_id, now)?;
    }
    Ok(Pair {
        refresh: Some(keys.sign(&refresh)?),
        access: keys.sign(&access)?,
    })
}

/// The refresh endpoint: validates, consumes and rotates `token`.
pub fn refresh(tx: &Connection, cx: &Ctx<'_>, token: &Token, client: &ClientInfo) -> Result<Pair> {
    let entry = match token.jti() {
        Some(jti) => ledger::entry(tx, jti)?,
        None => None,
    };
    if let Some(entry) = entry.as_ref().filter(|e| e.is_spent()) {
        return replay(tx, cx, token, entry, client);
    }
    token.require(Kind::Refresh).map_err(Error::Token)?;
    let jti = token.jti().unwrap_or_default().to_string();
    let user = active_user(tx, token, entry.is_some())?;
    let user_id = user.id;
    let spend = cx.settings.rotate_refresh_tokens && cx.settings.blacklist_after_rotation;
    let (mut successor, session) = match &entry {
        Some(_) => {
            if spend && !ledger::consume(tx, &jti, cx.now)? {
                return Err(Error::Token(TokenProblem::Blacklisted));
            }
            (token.claims.clone(), token.session().map(str::to_owned))
        }
        None => {
            let (claims, sid) = adopt_foreign(tx, cx, token, user_id, spend, client)?;
            (claims, Some(sid))
        }
    };
    // The claims about the user come from the record, not the old token.
    claims::apply(&mut successor, &cx.settings.token_claims, &user);
    if cx.settings.rotate_refresh_tokens {
        rotate(tx, cx, &jti, &successor, user_id, session.as_deref())
    } else {
        if let Some(sid) = &session {
            sessions::touch(tx, sid, cx.now, cx.now)?;
        }
        Ok(Pair {
            refresh: None,
            access: cx.keys.sign(&cx.keys.access_for(&successor, cx.now))?,
        })
    }
}

/// A spent token came back. Inside the grace window it gets what the
/// winner got (same claims, same key, same bytes), so no second session
/// forks, provided its user may still have it; otherwise its family is
/// revoked.
fn replay(
    tx: &Connection,
    cx: &Ctx<'_>,
    token: &Token,
    entry: &Entry,
    client: &ClientInfo,
) -> Result<Pair> {
    if let Some(pair) = newest_within_grace(tx, cx, entry)? {
        active_user(tx, token, true)?;
        return Ok(pair);
    }
    if let Some(session) = &entry.session
        && sessions::revoke(tx, session)?
    {
        // Recorded with the revocation itself, once: the first replay that
        // ends a live session.
        let user = token.user_id().and_then(|id| id.parse::<i64>().ok());
        let actor = Actor::anonymous(client.clone());
        let event = Event::RefreshReuseDetected;
        let detail = json!({ "session": session });
        store_audit::record(tx, &audit::row(cx.now, event, user, &actor, detail))?;
    }
    Err(Error::Token(TokenProblem::Blacklisted))
}

/// How far a replay follows successors that were rotated again.
const MAX_REPLAY_HOPS: usize = 8;

/// The newest pair descending from `entry` while each step was consumed
/// inside the grace window: a tab that lost the race gets what the winner
/// holds now, even if the winner has rotated again since, so it never
/// writes back a cookie that is already spent.
fn newest_within_grace(tx: &Connection, cx: &Ctx<'_>, entry: &Entry) -> Result<Option<Pair>> {
    let mut current = entry.clone();
    for _ in 0..MAX_REPLAY_HOPS {
        let (Some(at), Some((access, refresh)), false) =
            (current.consumed_at, &current.successor, current.revoked)
        else {
            return Ok(None);
        };
        if cx.grace <= 0 || cx.now - at > cx.grace {
            return Ok(None);
        }
        let refresh = parse_claims(refresh)?;
        match ledger::entry(tx, claim(&refresh, "jti"))? {
            Some(next) if next.consumed_at.is_some() && !next.revoked => current = next,
            _ => {
                return Ok(Some(Pair {
                    access: cx.keys.sign(&parse_claims(access)?)?,
                    refresh: Some(cx.keys.sign(&refresh)?),
                }));
            }
        }
    }
    Ok(None)
}

/// A refresh token minted elsewhere with the shared key: it gets a session
/// of its own, so its descendants form a family like any other. Returns
/// the successor's claims (with the session) and the session.
fn adopt_foreign(
    tx: &Connection,
    cx: &Ctx<'_>,
    token: &Token,
    user_id: i64,
    spend: bool,
    client: &ClientInfo,
) -> Result<(Claims, String)> {
    let sid = new_id();
    let expires = token.expires_at().unwrap_or(cx.now);
    let uid = user_id.to_string();
    let row = Issued {
        jti: token.jti().unwrap_or_default(),
        user_id: &uid,
        session: Some(&sid),
        issued: token.issued_at().unwrap_or(cx.now),
        expires,
    };
    if spend {
        if !ledger::record_foreign(tx, &row, cx.now, false)? {
            return Err(Error::Token(TokenProblem::Blacklisted));
        }
    } else {
        // Recorded only to anchor the family; still usable.
        ledger::record(tx, &row)?;
    }
    sessions::start(tx, &sid, user_id, client, cx.now, expires)?;
    let mut claims = token.claims.clone();
    claims.insert(SESSION_CLAIM.into(), Value::String(sid.clone()));
    Ok((claims, sid))
}

/// Mints the successor pair of `jti`, records it, and keeps it for
/// replays inside the grace window.
fn rotate(
    tx: &Connection,
    cx: &Ctx<'_>,
    jti: &str,
    successor: &Claims,
    user_id: i64,
    session: Option<&str>,
) -> Result<Pair> {
    let (keys, now) = (cx.keys, cx.now);
    let refresh = keys.rotated(successor, now);
    let access = keys.access_for(&refresh, now);
    let expires = now + keys.refresh_lifetime();
    let uid = user_id.to_string();
    ledger::record(
        tx,
        &Issued {
            jti: claim(&refresh, "jti"),
            user_id: &uid,
            session,
            issued: now,
            expires,
        },
    )?;
    // Kept only where a replay may ask for the same bytes; with no grace
    // (Simple JWT's default) a replay is reuse, and nothing is kept.
    if cx.grace > 0 {
        let access_json = Value::Object(access.clone()).to_string();
        let refresh_json = Value::Object(refresh.clone()).to_string();
        ledger::set_successor(tx, jti, &access_json, &refresh_json)?;
    }
    if let Some(sid) = session {
        sessions::touch(tx, sid, now, expires)?;
    }
    Ok(Pair {
        refresh: Some(keys.sign(&refresh)?),
        access: keys.sign(&access)?,
    })
}

/// The blacklist endpoint: logs the token's session out.
pub fn blacklist(tx: &Connection, token: &Token, now: i64) -> Result<()> {
    let entry = match token.jti() {
        Some(jti) => ledger::entry(tx, jti)?,
        None => None,
    };
    if let Some(entry) = entry.as_ref().filter(|e| e.is_spent()) {
        if let Some(session) = &entry.session {
            sessions::revoke(tx, session)?;
        }
        return Err(Error::Token(TokenProblem::Blacklisted));
    }
    token.require(Kind::Refresh).map_err(Error::Token)?;
    let jti = token.jti().unwrap_or_default();
    match entry.and_then(|e| e.session) {
        Some(session) => {
            sessions::revoke(tx, &session)?;
        }
        None => {
            let uid = token.user_id().unwrap_or_default();
            let row = Issued {
                jti,
                user_id: &uid,
                session: token.session(),
                issued: token.issued_at().unwrap_or(now),
                expires: token.expires_at().unwrap_or(now),
            };
            // A row without a session is revoked in place; a token never
            // seen is recorded as revoked, so it both stops working and
            // stays on record as blacklisted.
            ledger::revoke_token(tx, jti)?;
            ledger::record_foreign(tx, &row, now, true)?;
        }
    }
    Ok(())
}

/// Whether a token is revoked, for the verify endpoint: a spent refresh
/// token, a token of an ended session (logged out, revoked, its user
/// deleted), or one issued before its user's cut-off. A token without a
/// session naming no user latch knows is not looked up further, as Simple
/// JWT's verify does not look users up.
pub fn is_revoked(conn: &Connection, token: &Token) -> Result<bool> {
    let is_refresh = token.claims.get("token_type").and_then(Value::as_str) == Some("refresh");
    if let Some(jti) = token.jti().filter(|_| is_refresh)
        && ledger::entry(conn, jti)?.is_some_and(|e| e.is_spent())
    {
        return Ok(true);
    }
    let Some(id) = token.user_id().and_then(|id| id.parse::<i64>().ok()) else {
        return Ok(false);
    };
    Ok(match users::with_session(conn, id, token.session())? {
        None => token.session().is_some(),
        Some((user, session_live)) => token.cut_off(user.tokens_valid_after, session_live),
    })
}

/// The token's user, who must exist, be active, and not have cut off
/// tokens issued before this one.
fn active_user(conn: &Connection, token: &Token, session_live: bool) -> Result<User> {
    let user = token
        .user_id()
        .and_then(|id| id.parse::<i64>().ok())
        .map(|id| users::by_id(conn, id))
        .transpose()?
        .flatten()
        .filter(|u| u.is_active)
        .ok_or(Error::NoActiveAccountForToken)?;
    if token.cut_off(user.tokens_valid_after, session_live) {
        return Err(Error::Token(TokenProblem::Blacklisted));
    }
    Ok(user)
}

fn claim<'a>(claims: &'a Claims, name: &str) -> &'a str {
    claims.get(name).and_then(Value::as_str).unwrap_or("")
}

fn parse_claims(json: &str) -> Result<Claims> {
    serde_json::from_str(json).map_err(|e| Error::Internal(format!("stored claims: {e}")))
}
