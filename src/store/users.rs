//! User records. Lookups return `Result<Option<_>>` so a database error
//! never reads as "no such user".

use std::fmt;

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::Result;

#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    /// The argon2id PHC string.
    pub password: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub date_joined: i64,
    pub last_login: Option<i64>,
    pub tokens_valid_after: i64,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("is_active", &self.is_active)
            .field("is_staff", &self.is_staff)
            .finish_non_exhaustive()
    }
}

impl User {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<User> {
        Ok(User {
            id: row.get(0)?,
            username: row.get(1)?,
            password: row.get(2)?,
            is_active: row.get(3)?,
            is_staff: row.get(4)?,
            date_joined: row.get(5)?,
            last_login: row.get(6)?,
            tokens_valid_after: row.get(7)?,
        })
    }
}

pub fn rfc3339(unix: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

const COLUMNS: &str =
    "id, username, password, is_active, is_staff, date_joined, last_login, tokens_valid_after";

/// Creates a user; `Ok(None)` when the name, or another name with the same
/// `key`, is taken.
///
/// One statement: SQLite takes the write lock before it reads, so two
/// registrations of look-alike names cannot both pass the check.
pub fn create(
    conn: &Connection,
    username: &str,
    key: &str,
    password_hash: &str,
    is_staff: bool,
    now: i64,
) -> Result<Option<User>> {
    let inserted = conn.execute(
        "INSERT INTO users (username, username_key, password, is_active, is_staff, date_joined)
         SELECT ?1, ?2, ?3, 1, ?4, ?5
         WHERE NOT EXISTS (SELECT 1 FROM users WHERE username_key = ?2)
         ON CONFLICT(username) DO NOTHING",
        params![username, key, password_hash, is_staff, now],
    )?;
    if inserted == 0 {
        return Ok(None);
    }
    by_id(conn, conn.last_insert_rowid())
}

/// Creates the first user, a staff account, only while there is none.
/// Immediate: no other writer can add a user between the count and the
/// insert.
pub fn create_first(
    conn: &mut Connection,
    username: &str,
    key: &str,
    password_hash: &str,
    now: i64,
) -> Result<Option<User>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    if count(&tx)? > 0 {
        return Ok(None);
    }
    let user = create(&tx, username, key, password_hash, true, now)?;
    tx.commit()?;
    Ok(user)
}

pub fn by_id(conn: &Connection, id: i64) -> Result<Option<User>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"))?;
    Ok(stmt.query_row([id], User::from_row).optional()?)
}

/// The user and whether `session` is live for them, in one statement: the
/// guard runs this on every authenticated request, and each statement costs
/// a lock round trip.
pub fn with_session(
    conn: &Connection,
    id: i64,
    session: Option<&str>,
) -> Result<Option<(User, bool)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS},
                EXISTS (SELECT 1 FROM sessions s WHERE s.id = ?2 AND s.user_id = users.id AND s.revoked = 0)
         FROM users WHERE id = ?1"
    ))?;
    Ok(stmt
        .query_row(params![id, session], |row| {
            Ok((User::from_row(row)?, row.get::<_, bool>(8)?))
        })
        .optional()?)
}

pub fn by_name(conn: &Connection, username: &str) -> Result<Option<User>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE username = ?1"))?;
    Ok(stmt.query_row([username], User::from_row).optional()?)
}

pub fn count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?)
}

/// One page of users in id order, and the total.
pub fn page(conn: &Connection, offset: i64, limit: i64) -> Result<(i64, Vec<User>)> {
    let total = count(conn)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM users ORDER BY id LIMIT ?1 OFFSET ?2"
    ))?;
    let users = stmt
        .query_map([limit, offset], User::from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((total, users))
}

/// `term` as a LIKE pattern matching names that contain it, wildcards
/// escaped with `\`.
fn containing(term: &str) -> String {
    let escaped = term
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// How many users' names contain `term` (case-insensitively for ASCII).
pub fn count_matching(conn: &Connection, term: &str) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM users WHERE username LIKE ?1 ESCAPE '\\'",
        [containing(term)],
        |r| r.get(0),
    )?)
}

/// One page, in id order, of the users whose names contain `term`.
pub fn page_matching(conn: &Connection, term: &str, offset: i64, limit: i64) -> Result<Vec<User>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM users WHERE username LIKE ?1 ESCAPE '\\'
         ORDER BY id LIMIT ?2 OFFSET ?3"
    ))?;
    let users = stmt
        .query_map(params![containing(term), limit, offset], User::from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(users)
}

/// Moves the user's token cut-off to `now`: every token issued before it
/// stops working, whoever minted it.
pub fn cut_off_tokens(conn: &Connection, id: i64, now: i64) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE users SET tokens_valid_after = MAX(tokens_valid_after, ?2) WHERE id = ?1",
        params![id, now],
    )? == 1)
}

pub fn set_password_hash(conn: &Connection, id: i64, hash: &str) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE users SET password = ?2 WHERE id = ?1",
        params![id, hash],
    )? == 1)
}

/// Swaps `old` for `new` only if `old` is still the stored hash.
pub fn replace_password_hash(conn: &Connection, id: i64, old: &str, new: &str) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE users SET password = ?3 WHERE id = ?1 AND password = ?2",
        params![id, old, new],
    )? == 1)
}

pub fn set_active(conn: &Connection, id: i64, active: bool) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE users SET is_active = ?2 WHERE id = ?1",
        params![id, active],
    )? == 1)
}

pub fn set_staff(conn: &Connection, id: i64, staff: bool) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE users SET is_staff = ?2 WHERE id = ?1",
        params![id, staff],
    )? == 1)
}

/// Renames a user; `Ok(false)` when the new name, or another user's name
/// with the same `key`, is taken. Keeping one's own name always succeeds,
/// even where an older database holds a look-alike of it.
pub fn rename(conn: &Connection, id: i64, username: &str, key: &str) -> Result<bool> {
    let changed = conn.execute(
        "UPDATE OR IGNORE users SET username = ?2, username_key = ?3
         WHERE id = ?1
           AND NOT EXISTS (SELECT 1 FROM users o WHERE o.username_key = ?3 AND o.id <> ?1)",
        params![id, username, key],
    )?;
    Ok(changed == 1 || by_id(conn, id)?.is_some_and(|u| u.username == username))
}

/// Gives every user without a key one, computed by `key_of` (the rule
/// lives above the store). Rows only lack a key after the migration that
/// added the column; two processes starting at once take turns on the
/// write lock and write the same keys.
pub fn fill_missing_keys(conn: &mut Connection, key_of: impl Fn(&str) -> String) -> Result<usize> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let missing = tx
        .prepare("SELECT id, username FROM users WHERE username_key IS NULL")?
        .query_map([], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (id, username) in &missing {
        tx.execute(
            "UPDATE users SET username_key = ?2 WHERE id = ?1",
            params![id, key_of(username)],
        )?;
    }
    tx.commit()?;
    Ok(missing.len())
}

/// Deletes a user and, through the foreign key, their sessions. The refresh
/// ledger keeps its rows until they expire, so no token of theirs can pass
/// as an unknown foreign one; ids are never reused, so nothing can match it.
pub fn delete(conn: &Connection, id: i64) -> Result<bool> {
    Ok(conn.execute("DELETE FROM users WHERE id = ?1", [id])? == 1)
}

pub fn touch_last_login(conn: &Connection, id: i64, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE users SET last_login = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}
