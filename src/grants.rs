//! Issuing, rotating and revoking token pairs: the rules of the refresh
//! ledger in one place. Each function runs inside the caller's write
//! transaction (the group-commit writer), which serializes writers, so every
//! request sees the effects of those before it; each writes only what it
//! means to keep before returning a refusal.

use rusqlite::Connection;
use serde::Serialize;
use serde_json::Value;

use crate::config::Settings;
use crate::error::{Error, Result, TokenProblem};
use crate::sessions::{self, Issued, Origin};
use crate::tokens::{Claims, Keys, Kind, Token, new_id};
use crate::users;

/// What the token endpoints answer; `refresh` is absent when rotation is off.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Pair {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh: Option<String>,
    pub access: String,
}

/// Starts a session for `user_id` and issues its first pair.
pub fn issue(
    tx: &Connection,
    keys: &Keys,
    settings: &Settings,
    user_id: i64,
    origin: &Origin,
    now: i64,
) -> Result<Pair> {
    let session = new_id();
    let uid = user_id.to_string();
    let refresh = keys.claims(Kind::Refresh, &uid, Some(&session), now);
    let access = keys.access_for(&refresh, now);
    let expires = now + keys.refresh_lifetime();
    sessions::start(tx, &session, user_id, origin, now, expires)?;
    sessions::record(
        tx,
        &Issued {
            jti: claim(&refresh, "jti"),
            user_id: &uid,
            session: Some(&session),
            issued: now,
            expires,
        },
    )?;
    if settings.update_last_login {
        users::touch_last_login(tx, user_id, now)?;
    }
    Ok(Pair {
        refresh: Some(keys.sign(&refresh)?),
        access: keys.sign(&access)?,
    })
}

/// The refresh endpoint: validates, consumes and rotates `token`.
pub fn refresh(
    tx: &Connection,
    keys: &Keys,
    settings: &Settings,
    token: &Token,
    origin: &Origin,
    now: i64,
) -> Result<Pair> {
    let jti = token.jti().map(str::to_owned);
    let entry = match &jti {
        Some(jti) => sessions::entry(tx, jti)?,
        None => None,
    };
    if let Some(entry) = entry.as_ref().filter(|e| e.is_spent()) {
        let grace = settings.refresh_reuse_grace.as_i64();
        if let (Some(at), Some((access, refresh)), false) =
            (entry.consumed_at, &entry.successor, entry.revoked)
            && grace > 0
            && now - at <= grace
        {
            // Same claims, same key, same bytes: the client that lost the
            // race gets what the winner got, and no second session forks.
            return Ok(Pair {
                access: keys.sign(&parse_claims(access)?)?,
                refresh: Some(keys.sign(&parse_claims(refresh)?)?),
            });
        }
        if let Some(session) = &entry.session {
            sessions::revoke(tx, session)?;
        }
        return Err(Error::Token(TokenProblem::Blacklisted));
    }
    token.require(Kind::Refresh).map_err(Error::Token)?;
    let jti = jti.unwrap_or_default();
    let user_id = active_user(tx, token, entry.is_some())?;

    let mut successor = token.claims.clone();
    let mut session = token.session().map(str::to_owned);
    let spend = settings.rotate_refresh_tokens && settings.blacklist_after_rotation;
    match &entry {
        Some(_) if spend => {
            if !sessions::consume(tx, &jti, now)? {
                return Err(Error::Token(TokenProblem::Blacklisted));
            }
        }
        Some(_) => {}
        None => {
            // Minted elsewhere with the shared key: give it a session of its
            // own so its descendants form a family like any other.
            let sid = new_id();
            let expires = token.expires_at().unwrap_or(now);
            let uid = user_id.to_string();
            let row = Issued {
                jti: &jti,
                user_id: &uid,
                session: Some(&sid),
                issued: token.issued_at().unwrap_or(now),
                expires,
            };
            if spend {
                if !sessions::record_foreign(tx, &row, now, false)? {
                    return Err(Error::Token(TokenProblem::Blacklisted));
                }
            } else {
                // Recorded only to anchor the family; still usable.
                sessions::record(tx, &row)?;
            }
            sessions::start(tx, &sid, user_id, origin, now, expires)?;
            successor.insert(
                crate::tokens::SESSION_CLAIM.into(),
                Value::String(sid.clone()),
            );
            session = Some(sid);
        }
    }

    let pair = if settings.rotate_refresh_tokens {
        let refresh = keys.rotated(&successor, now);
        let access = keys.access_for(&refresh, now);
        let expires = now + keys.refresh_lifetime();
        let uid = user_id.to_string();
        sessions::record(
            tx,
            &Issued {
                jti: claim(&refresh, "jti"),
                user_id: &uid,
                session: session.as_deref(),
                issued: now,
                expires,
            },
        )?;
        let access_json = Value::Object(access.clone()).to_string();
        let refresh_json = Value::Object(refresh.clone()).to_string();
        sessions::set_successor(tx, &jti, &access_json, &refresh_json)?;
        if let Some(sid) = &session {
            sessions::touch(tx, sid, now, expires)?;
        }
        Pair {
            refresh: Some(keys.sign(&refresh)?),
            access: keys.sign(&access)?,
        }
    } else {
        if let Some(sid) = &session {
            sessions::touch(tx, sid, now, now)?;
        }
        Pair {
            refresh: None,
            access: keys.sign(&keys.access_for(&successor, now))?,
        }
    };
    Ok(pair)
}

/// The blacklist endpoint: logs the token's session out.
pub fn blacklist(tx: &Connection, token: &Token, now: i64) -> Result<()> {
    let jti = token.jti().map(str::to_owned);
    let entry = match &jti {
        Some(jti) => sessions::entry(tx, jti)?,
        None => None,
    };
    if let Some(entry) = entry.as_ref().filter(|e| e.is_spent()) {
        if let Some(session) = &entry.session {
            sessions::revoke(tx, session)?;
        }
        return Err(Error::Token(TokenProblem::Blacklisted));
    }
    token.require(Kind::Refresh).map_err(Error::Token)?;
    let jti = jti.unwrap_or_default();
    match entry.and_then(|e| e.session) {
        Some(session) => {
            sessions::revoke(tx, &session)?;
        }
        None => {
            let uid = token.user_id().unwrap_or_default();
            let row = Issued {
                jti: &jti,
                user_id: &uid,
                session: token.session(),
                issued: token.issued_at().unwrap_or(now),
                expires: token.expires_at().unwrap_or(now),
            };
            // A row without a session is revoked in place; a token never
            // seen is recorded as revoked.
            sessions::revoke_token(tx, &jti)?;
            sessions::record_foreign(tx, &row, now, true)?;
        }
    }
    Ok(())
}

/// Whether a refresh token is spent, for the verify endpoint.
pub fn is_blacklisted(conn: &Connection, token: &Token) -> Result<bool> {
    match token.jti() {
        Some(jti) if token.claims.get("token_type").and_then(Value::as_str) == Some("refresh") => {
            Ok(sessions::entry(conn, jti)?.is_some_and(|e| e.is_spent()))
        }
        _ => Ok(false),
    }
}

/// The token's user, who must exist, be active, and not have cut off
/// tokens issued before this one.
fn active_user(conn: &Connection, token: &Token, session_live: bool) -> Result<i64> {
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
    Ok(user.id)
}

fn claim<'a>(claims: &'a Claims, name: &str) -> &'a str {
    claims.get(name).and_then(Value::as_str).unwrap_or("")
}

fn parse_claims(json: &str) -> Result<Claims> {
    serde_json::from_str(json).map_err(|e| Error::Internal(format!("stored claims: {e}")))
}
