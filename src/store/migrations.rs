//! Opening a connection with the PRAGMAs every connection needs, and the
//! versioned schema.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use crate::error::{Result, StartError};

/// Each entry moves the schema from version `index` to `index + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: users, the generated key, sessions and the refresh-token ledger.
    r#"
    CREATE TABLE users (
        -- AUTOINCREMENT: a deleted user's id is never handed to someone else,
        -- so an old token can never name a new account.
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        username TEXT NOT NULL UNIQUE,
        password TEXT NOT NULL,
        is_active INTEGER NOT NULL DEFAULT 1,
        is_staff INTEGER NOT NULL DEFAULT 0,
        date_joined INTEGER NOT NULL,
        last_login INTEGER,
        -- Tokens issued before this unix time are refused.
        tokens_valid_after INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created INTEGER NOT NULL,
        last_used INTEGER NOT NULL,
        expires INTEGER NOT NULL,
        user_agent TEXT NOT NULL DEFAULT '',
        ip TEXT NOT NULL DEFAULT '',
        revoked INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX sessions_user ON sessions(user_id);
    CREATE TABLE refresh_tokens (
        jti TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        session_id TEXT,
        issued INTEGER NOT NULL,
        expires INTEGER NOT NULL,
        consumed_at INTEGER,
        revoked INTEGER NOT NULL DEFAULT 0,
        -- The pair minted when this token was consumed, kept so a replay
        -- inside the grace period gets the same bytes back.
        successor_access TEXT,
        successor_refresh TEXT
    );
    CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);
    CREATE INDEX refresh_tokens_expires ON refresh_tokens(expires);
    "#,
    // 2: the key two usernames may not share (see `auth::usernames::key`).
    // Not UNIQUE: a database from before it may hold names that collide,
    // and both accounts keep working. SQLite cannot compute the key, so
    // start-up fills it for existing rows (`users::fill_missing_keys`).
    r#"
    ALTER TABLE users ADD COLUMN username_key TEXT;
    CREATE INDEX users_username_key ON users(username_key);
    "#,
    // 3: the audit trail. No foreign keys: an event outlives the user it
    // names (a deletion is itself an event).
    r#"
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        event TEXT NOT NULL,
        user_id INTEGER,
        actor_id INTEGER,
        ip TEXT NOT NULL DEFAULT '',
        user_agent TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX audit_at ON audit(at);
    CREATE INDEX audit_user ON audit(user_id, at);
    CREATE INDEX audit_event ON audit(event, at);
    "#,
    // 4: the SHA-256 of the session's `latch_sso` cookie, looked up on every
    // forward-auth request; the cookie itself is never stored.
    r#"
    ALTER TABLE sessions ADD COLUMN sso_hash TEXT;
    CREATE UNIQUE INDEX sessions_sso_hash ON sessions(sso_hash);
    "#,
    // 5: the key set of the asymmetric algorithms (see `auth::keyset`).
    // A removed key keeps its row, without its private part, so a retired
    // key is never brought back (say by a restart with it still configured).
    r#"
    CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        algorithm TEXT NOT NULL,
        -- PKCS#8 PEM; '' once removed.
        private_key TEXT NOT NULL,
        published INTEGER NOT NULL,
        signs_from INTEGER NOT NULL,
        removed INTEGER
    );
    INSERT INTO meta (key, value) VALUES ('keys_version', '0')
        ON CONFLICT(key) DO NOTHING;
    "#,
    // 6: the refresh-token ledger, compact: ids as their 16 bytes, no
    // rowid, no secondary index (a family's revocation is its session's,
    // and expired rows are found by a scan once an hour).
    r#"
    CREATE TABLE refresh_tokens_v6 (
        jti BLOB PRIMARY KEY,
        user_id INTEGER NOT NULL,
        session_id BLOB,
        issued INTEGER NOT NULL,
        expires INTEGER NOT NULL,
        consumed_at INTEGER,
        revoked INTEGER NOT NULL DEFAULT 0,
        -- The pair minted when this token was consumed, kept only while a
        -- replay inside the grace period may still ask for the same bytes.
        successor_access TEXT,
        successor_refresh TEXT
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO refresh_tokens_v6
        SELECT CASE WHEN length(jti) = 32 AND jti NOT GLOB '*[^0-9a-f]*'
                    THEN unhex(jti) ELSE jti END,
               CASE WHEN user_id GLOB '[0-9]*' AND user_id NOT GLOB '*[^0-9]*'
                    THEN CAST(user_id AS INTEGER) ELSE user_id END,
               CASE WHEN length(session_id) = 32 AND session_id NOT GLOB '*[^0-9a-f]*'
                    THEN unhex(session_id) ELSE session_id END,
               issued, expires, consumed_at,
               revoked OR COALESCE((SELECT s.revoked FROM sessions s
                                    WHERE s.id = refresh_tokens.session_id), 0),
               successor_access, successor_refresh
        FROM refresh_tokens;
    DROP TABLE refresh_tokens;
    ALTER TABLE refresh_tokens_v6 RENAME TO refresh_tokens;
    "#,
];

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Opens a connection with the settings every connection needs.
///
/// `synchronous = FULL`: in WAL mode `NORMAL` may lose the last commits on a
/// power cut, and a lost commit can be a revocation, bringing a logged-out
/// token back. `FULL` syncs the WAL on every commit; that cost is what
/// batching commits pays down, not a weaker level.
pub fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // After a checkpoint resets it, the WAL file is cut back to this.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Brings the schema up to [`SCHEMA_VERSION`], each step in its own
/// transaction; refuses a database written by a newer latch.
pub fn migrate(conn: &mut Connection) -> Result<(), StartError> {
    let failed = |source| StartError::Database {
        path: conn_path(conn),
        source,
    };
    let current: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| failed(e.into()))?;
    if current > SCHEMA_VERSION {
        return Err(StartError::NewerSchema {
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        step(conn, index, sql).map_err(|e| StartError::Database {
            path: conn_path(conn),
            source: e,
        })?;
    }
    Ok(())
}

fn step(conn: &mut Connection, index: usize, sql: &str) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // Re-read inside the write lock: another process may have migrated.
    let now: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if now > index as i64 {
        return Ok(());
    }
    tx.execute_batch(sql)?;
    tx.pragma_update(None, "user_version", index as i64 + 1)?;
    tx.commit()?;
    Ok(())
}

fn conn_path(conn: &Connection) -> std::path::PathBuf {
    conn.path().unwrap_or_default().into()
}
