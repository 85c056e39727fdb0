//! Sessions: one login each, the family of refresh tokens that descends
//! from it (the tokens themselves are in [`super::ledger`]).

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::error::Result;
use crate::store::users::rfc3339;

/// Where a login came from, shown in the session list.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub user_agent: String,
    pub ip: String,
}

pub fn start(
    conn: &Connection,
    id: &str,
    user_id: i64,
    client: &ClientInfo,
    now: i64,
    expires: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sessions (id, user_id, created, last_used, expires, user_agent, ip)
         VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        id,
        user_id,
        now,
        expires,
        truncate(&client.user_agent, 256),
        client.ip
    ])?;
    Ok(())
}

/// Notes a session's use and pushes its expiry to its newest token's.
pub fn touch(conn: &Connection, id: &str, now: i64, expires: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE sessions SET last_used = ?2, expires = MAX(expires, ?3) WHERE id = ?1",
    )?
    .execute(params![id, now, expires])?;
    Ok(())
}

/// Revokes a session and so every refresh token in its family: the
/// ledger reads a token's session with the token.
pub fn revoke(conn: &Connection, session: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("UPDATE sessions SET revoked = 1 WHERE id = ?1 AND revoked = 0")?
        .execute([session])?
        == 1)
}

/// Revokes every session of a user; returns how many were live. Tokens
/// without a session (minted elsewhere) fall to the cut-off the caller
/// moves with this.
pub fn revoke_all(conn: &Connection, user_id: i64) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE sessions SET revoked = 1 WHERE user_id = ?1 AND revoked = 0",
        [user_id],
    )?)
}

/// A live session as the API lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = SessionEntry)]
pub struct Listed {
    pub id: String,
    pub created: String,
    pub last_used: String,
    pub expires: String,
    pub user_agent: String,
    /// The client as people recognise it ("Firefox on Linux"), from
    /// `user_agent`.
    pub device: String,
    pub ip: String,
    pub current: bool,
}

/// A user agent as people name it: "Firefox on Linux", "Chrome on
/// Android"; any other client by its product token ("curl/8.5.0" is
/// "curl"); nothing at all is "Unknown device".
pub fn device_name(user_agent: &str) -> String {
    const UNKNOWN: &str = "UNKNOWN";
    let parsed = woothee::parser::Parser::new().parse(user_agent);
    let (name, os) = parsed.map_or(("", ""), |r| match r.category {
        // Browsers on devices; the rest (HTTP libraries, crawlers) go by
        // their own product token, which names them better.
        "pc" | "smartphone" | "mobilephone" | "appliance" => (r.name, r.os),
        _ => ("", r.os),
    });
    let known = |s: &str| !s.is_empty() && s != UNKNOWN;
    let os = match os {
        "Mac OSX" => "macOS",
        other => other,
    };
    match (known(name), known(os)) {
        (true, true) => format!("{name} on {os}"),
        (true, false) => name.to_string(),
        _ => {
            let product = user_agent
                .split_whitespace()
                .next()
                .and_then(|token| token.split('/').next())
                .unwrap_or("")
                .chars()
                .take(40)
                .collect::<String>();
            // Every browser calls itself Mozilla: that names none of them.
            let product = match product.as_str() {
                "Mozilla" => "Unknown browser".to_string(),
                _ => product,
            };
            match (product.is_empty(), known(os)) {
                (true, _) => "Unknown device".to_string(),
                (false, true) => format!("{product} on {os}"),
                (false, false) => product,
            }
        }
    }
}

pub fn list(
    conn: &Connection,
    user_id: i64,
    current: Option<&str>,
    now: i64,
) -> Result<Vec<Listed>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, created, last_used, expires, user_agent, ip FROM sessions
         WHERE user_id = ?1 AND revoked = 0 AND expires > ?2 ORDER BY created, id",
    )?;
    let rows = stmt.query_map(params![user_id, now], |row| {
        let id: String = row.get(0)?;
        let user_agent: String = row.get(4)?;
        Ok(Listed {
            current: current == Some(id.as_str()),
            id,
            created: rfc3339(row.get(1)?),
            last_used: rfc3339(row.get(2)?),
            expires: rfc3339(row.get(3)?),
            device: device_name(&user_agent),
            user_agent,
            ip: row.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Sessions neither revoked nor expired.
pub fn count_live(conn: &Connection, now: i64) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM sessions WHERE revoked = 0 AND expires > ?1",
        [now],
        |r| r.get(0),
    )?)
}

/// The owner of a session, if it exists.
pub fn owner(conn: &Connection, session: &str) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT user_id FROM sessions WHERE id = ?1",
            [session],
            |r| r.get(0),
        )
        .optional()?)
}

/// Binds a sign-in cookie (its hash) to a session, replacing any before.
pub fn set_sso_hash(conn: &Connection, session: &str, hash: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("UPDATE sessions SET sso_hash = ?2 WHERE id = ?1")?
        .execute(params![session, hash])?
        == 1)
}

/// The hash of the sign-in cookie bound to `session`, if any.
pub fn sso_hash(conn: &Connection, session: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT sso_hash FROM sessions WHERE id = ?1")?
        .query_row([session], |r| r.get::<_, Option<String>>(0))
        .optional()?
        .flatten())
}

/// What forward-auth needs to know about the session a sign-in cookie is
/// bound to and its user, read in one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoSession {
    pub session: String,
    pub created: i64,
    pub expires: i64,
    pub revoked: bool,
    pub user_id: i64,
    pub username: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub tokens_valid_after: i64,
}

pub fn by_sso_hash(conn: &Connection, hash: &str) -> Result<Option<SsoSession>> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.id, s.created, s.expires, s.revoked, u.id, u.username, u.is_active,
                u.is_staff, u.tokens_valid_after
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.sso_hash = ?1",
    )?;
    Ok(stmt
        .query_row([hash], |r| {
            Ok(SsoSession {
                session: r.get(0)?,
                created: r.get(1)?,
                expires: r.get(2)?,
                revoked: r.get(3)?,
                user_id: r.get(4)?,
                username: r.get(5)?,
                is_active: r.get(6)?,
                is_staff: r.get(7)?,
                tokens_valid_after: r.get(8)?,
            })
        })
        .optional()?)
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::device_name;

    #[test]
    fn sessions_are_named_as_people_know_their_devices() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/124.0.0.0 Safari/537.36",
                "Chrome on Windows 10",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 \
                 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
                "Safari on macOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/124.0.0.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            ("curl/8.5.0", "curl"),
            ("my-client/1.0 (build 7)", "my-client"),
            (
                "Mozilla/5.0 (X11; Linux x86_64) NewBrowser/1.0",
                "Unknown browser on Linux",
            ),
            ("", "Unknown device"),
        ];
        for (agent, name) in cases {
            assert_eq!(device_name(agent), name, "{agent}");
        }
    }
}
