//! The audit trail's rows: security events, newest first.

use rusqlite::{Connection, params};
use serde::Serialize;

use crate::error::Result;
use crate::store::users::rfc3339;

/// One event as it is written.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub at: i64,
    pub event: &'static str,
    pub user_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub ip: String,
    pub user_agent: String,
    /// A small JSON object.
    pub detail: String,
}

pub fn record(conn: &Connection, row: &Row) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit (at, event, user_id, actor_id, ip, user_agent, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        row.at,
        row.event,
        row.user_id,
        row.actor_id,
        row.ip,
        truncate(&row.user_agent, 256),
        row.detail
    ])?;
    Ok(())
}

/// As [`record`], naming the user by login name: a failed login knows
/// only the name that was typed, and the lookup costs the writer thread,
/// not the request. A name with no account is recorded without a user.
pub fn record_for_name(conn: &Connection, row: &Row, username: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit (at, event, user_id, actor_id, ip, user_agent, detail)
         VALUES (?1, ?2, (SELECT id FROM users WHERE username = ?3), ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        row.at,
        row.event,
        username,
        row.actor_id,
        row.ip,
        truncate(&row.user_agent, 256),
        row.detail
    ])?;
    Ok(())
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub user_id: Option<i64>,
    pub event: Option<String>,
    pub since: Option<i64>,
}

/// An event as the API shows it, with the names the ids have now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = AuditEntry)]
pub struct Listed {
    pub id: i64,
    pub at: String,
    pub event: String,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub actor_id: Option<i64>,
    pub actor: Option<String>,
    pub ip: String,
    pub user_agent: String,
    /// The client as people recognise it ("Firefox on Linux").
    pub device: String,
    pub detail: serde_json::Value,
}

const WHERE: &str = "WHERE (?1 IS NULL OR a.user_id = ?1) AND (?2 IS NULL OR a.event = ?2)
                     AND (?3 IS NULL OR a.at >= ?3)";

/// One page of matching events, newest first, and how many match.
pub fn page(
    conn: &Connection,
    filter: &Filter,
    offset: i64,
    limit: i64,
) -> Result<(i64, Vec<Listed>)> {
    let args = params![filter.user_id, filter.event, filter.since];
    let count: i64 = conn.query_row(
        &format!("SELECT COUNT(*) FROM audit a {WHERE}"),
        args,
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT a.id, a.at, a.event, a.user_id, u.username, a.actor_id, s.username,
                a.ip, a.user_agent, a.detail
         FROM audit a
         LEFT JOIN users u ON u.id = a.user_id
         LEFT JOIN users s ON s.id = a.actor_id
         {WHERE} ORDER BY a.at DESC, a.id DESC LIMIT ?4 OFFSET ?5"
    ))?;
    let rows = stmt.query_map(
        params![filter.user_id, filter.event, filter.since, limit, offset],
        |r| {
            let detail: String = r.get(9)?;
            let user_agent: String = r.get(8)?;
            Ok(Listed {
                id: r.get(0)?,
                at: rfc3339(r.get(1)?),
                event: r.get(2)?,
                user_id: r.get(3)?,
                username: r.get(4)?,
                actor_id: r.get(5)?,
                actor: r.get(6)?,
                ip: r.get(7)?,
                device: super::sessions::device_name(&user_agent),
                user_agent,
                detail: serde_json::from_str(&detail).unwrap_or_default(),
            })
        },
    )?;
    Ok((count, rows.collect::<rusqlite::Result<Vec<_>>>()?))
}

/// Deletes events older than `before`.
pub fn purge_before(conn: &Connection, before: i64) -> Result<usize> {
    Ok(conn.execute("DELETE FROM audit WHERE at < ?1", [before])?)
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}
