//! The refresh-token ledger: every refresh token latch sees, by `jti`.
//!
//! Consuming one is a single conditional `UPDATE` inside the writer's
//! immediate transaction, so of N concurrent refreshes exactly one wins;
//! the rules that use it are in `auth::ledger`.
//!
//! A row is kept for every refresh for a day, so it is kept small: ids are
//! stored as their 16 bytes (a UUID's 32 hex characters otherwise), the
//! table has no rowid and no secondary index, and the successor pair is
//! kept only while a replay could still ask for it. A family's revocation
//! lives on its session row, which [`entry`] reads with the token.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};

use crate::auth::tokens::hex;
use crate::error::Result;

/// How an id (`jti`, session) is stored: a UUID's 32 lowercase hex
/// characters as its 16 bytes, anything else (a foreign issuer's id) as
/// text. A blob never equals a text value, so the two cannot collide.
fn id_key(id: &str) -> Value {
    let is_uuid_hex = id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if is_uuid_hex {
        let bytes = (0..16)
            .map(|i| u8::from_str_radix(&id[2 * i..2 * i + 2], 16).unwrap_or(0))
            .collect();
        Value::Blob(bytes)
    } else {
        Value::Text(id.to_string())
    }
}

/// The stored form back to the id as tokens carry it.
fn id_text(value: Value) -> Option<String> {
    match value {
        Value::Blob(bytes) => Some(hex(&bytes)),
        Value::Text(text) => Some(text),
        _ => None,
    }
}

/// A user id as a number when it is one (it always is for latch's own).
fn user_key(user_id: &str) -> Value {
    match user_id.parse::<i64>() {
        Ok(n) => Value::Integer(n),
        Err(_) => Value::Text(user_id.to_string()),
    }
}

/// One refresh token as the ledger records it.
#[derive(Debug, Clone, Copy)]
pub struct Issued<'a> {
    pub jti: &'a str,
    pub user_id: &'a str,
    pub session: Option<&'a str>,
    pub issued: i64,
    pub expires: i64,
}

/// Records a refresh token as issued and live.
pub fn record(conn: &Connection, token: &Issued<'_>) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO refresh_tokens (jti, user_id, session_id, issued, expires)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        id_key(token.jti),
        user_key(token.user_id),
        token.session.map(id_key),
        token.issued,
        token.expires
    ])?;
    Ok(())
}

/// What the ledger knows of one refresh token.
#[derive(Debug, Clone)]
pub struct Entry {
    pub session: Option<String>,
    pub consumed_at: Option<i64>,
    pub revoked: bool,
    pub successor: Option<(String, String)>,
}

impl Entry {
    pub fn is_spent(&self) -> bool {
        self.revoked || self.consumed_at.is_some()
    }
}

pub fn entry(conn: &Connection, jti: &str) -> Result<Option<Entry>> {
    let mut stmt = conn.prepare_cached(
        // A scalar subquery rather than a join: with a join SQLite
        // re-prepares this cached statement on every new `?1` (measured).
        "SELECT r.session_id, r.consumed_at,
                r.revoked OR COALESCE((SELECT s.revoked FROM sessions s WHERE s.id =
                    CASE typeof(r.session_id) WHEN 'blob' THEN lower(hex(r.session_id))
                    ELSE r.session_id END), 0),
                r.successor_access, r.successor_refresh
         FROM refresh_tokens r
         WHERE r.jti = ?1",
    )?;
    Ok(stmt
        .query_row([id_key(jti)], |row| {
            let access: Option<String> = row.get(3)?;
            let refresh: Option<String> = row.get(4)?;
            Ok(Entry {
                session: id_text(row.get(0)?),
                consumed_at: row.get(1)?,
                revoked: row.get(2)?,
                successor: access.zip(refresh),
            })
        })
        .optional()?)
}

/// Marks a live token consumed; `false` if it was already spent. This one
/// statement is what makes concurrent refreshes single-use.
pub fn consume(conn: &Connection, jti: &str, now: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "UPDATE refresh_tokens SET consumed_at = ?2
             WHERE jti = ?1 AND consumed_at IS NULL AND revoked = 0",
        )?
        .execute(params![id_key(jti), now])?
        == 1)
}

/// Records a token latch never issued (minted elsewhere with the shared key)
/// as already consumed or revoked, so it is accepted at most once.
pub fn record_foreign(
    conn: &Connection,
    token: &Issued<'_>,
    now: i64,
    revoked: bool,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "INSERT OR IGNORE INTO refresh_tokens
             (jti, user_id, session_id, issued, expires, consumed_at, revoked)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            id_key(token.jti),
            user_key(token.user_id),
            token.session.map(id_key),
            token.issued,
            token.expires,
            (!revoked).then_some(now),
            revoked
        ])?
        == 1)
}

/// Keeps the pair minted from `jti`, for replays inside the grace period.
pub fn set_successor(conn: &Connection, jti: &str, access: &str, refresh: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE refresh_tokens SET successor_access = ?2, successor_refresh = ?3 WHERE jti = ?1",
    )?
    .execute(params![id_key(jti), access, refresh])?;
    Ok(())
}

pub fn revoke_token(conn: &Connection, jti: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("UPDATE refresh_tokens SET revoked = 1 WHERE jti = ?1 AND revoked = 0")?
        .execute([id_key(jti)])?
        == 1)
}

/// Deletes ledger rows and sessions whose tokens have all expired, and
/// successor pairs no replay can ask for any more (consumed before
/// `replayable_since`). Expired tokens fail validation on their own, so
/// nothing revoked can come back.
pub fn flush_expired(conn: &Connection, now: i64, replayable_since: i64) -> Result<(usize, usize)> {
    conn.execute(
        "UPDATE refresh_tokens SET successor_access = NULL, successor_refresh = NULL
         WHERE successor_access IS NOT NULL AND consumed_at < ?1",
        [replayable_since],
    )?;
    let tokens = conn.execute("DELETE FROM refresh_tokens WHERE expires <= ?1", [now])?;
    let sessions = conn.execute("DELETE FROM sessions WHERE expires <= ?1", [now])?;
    Ok((tokens, sessions))
}
