//! The SQLite store: opening with the right PRAGMAs, versioned migrations,
//! and a small connection pool whose work runs on blocking threads, never on
//! the async executor.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocket::tokio::sync::Semaphore;
use rocket::tokio::task;
use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::writer::Writer;

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
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Brings the schema up to [`SCHEMA_VERSION`], each step in its own
/// transaction; refuses a database written by a newer latch.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(Error::Internal(format!(
            "the database schema is version {current}, newer than this latch understands \
             ({SCHEMA_VERSION}); upgrade latch or use another database"
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Re-read inside the write lock: another process may have migrated.
        let now: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if now > index as i64 {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// A handle on the database shared by every request.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Pool>,
}

struct Pool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
    /// Read-only connections for [`Db::read`], one per core.
    readers: Vec<Mutex<Connection>>,
    writer: Writer,
}

/// A read-only connection that never waits for a lock: it runs on the
/// async executor, where sleeping in `busy_timeout` would stall requests.
fn open_reader(path: &Path) -> Result<Connection> {
    use rusqlite::OpenFlags;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(Duration::ZERO)?;
    conn.set_prepared_statement_cache_capacity(16);
    Ok(conn)
}

impl Db {
    /// Opens and migrates the database, then fills the pool.
    pub fn open(path: &Path, size: usize) -> Result<Db> {
        let mut first = open(path)?;
        migrate(&mut first)?;
        let mut idle = vec![first];
        for _ in 1..size {
            idle.push(open(path)?);
        }
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let readers = (0..cores)
            .map(|_| open_reader(path).map(Mutex::new))
            .collect::<Result<Vec<_>>>()?;
        Ok(Db {
            inner: Arc::new(Pool {
                path: path.to_path_buf(),
                idle: Mutex::new(idle),
                permits: Semaphore::new(size),
                readers,
                writer: Writer::start(open(path)?),
            }),
        })
    }

    /// Runs `f` with a pooled connection on a blocking thread.
    pub async fn run<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| Error::Internal("database pool closed".into()))?;
        let mut conn = self.take()?;
        let (conn, out) = task::spawn_blocking(move || {
            let out = f(&mut conn);
            (conn, out)
        })
        .await
        .map_err(|e| Error::Internal(format!("database task failed: {e}")))?;
        self.give_back(conn);
        out
    }

    /// Runs `f` in the writer's next group commit; see [`crate::writer`].
    /// For the hot write paths; `f` must not start its own transaction.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.inner.writer.write(f).await
    }

    /// As [`Db::write`], without an executor (the CLI).
    pub fn write_blocking<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.inner.writer.write_blocking(f)
    }

    /// Runs a short indexed read right here on the executor thread when a
    /// reader connection is free, else like [`Db::run`].
    ///
    /// Only for lookups by primary key on the request path (the guard):
    /// measured, a hop to a blocking thread costs more than the lookup
    /// itself. Readers never wait for locks; any error on this fast path
    /// (a busy database included) retries on the pool, which does wait.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        F: Fn(&Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        for reader in &self.inner.readers {
            if let Ok(conn) = reader.try_lock()
                && let Ok(value) = f(&conn)
            {
                return Ok(value);
            }
        }
        self.run(move |conn| f(conn)).await
    }

    /// Runs `f` on the calling thread; for the CLI and start-up, where there
    /// is no executor to protect.
    pub fn run_blocking<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut conn = self.take()?;
        let out = f(&mut conn);
        self.give_back(conn);
        out
    }

    fn take(&self) -> Result<Connection> {
        let pooled = self
            .inner
            .idle
            .lock()
            .map(|mut idle| idle.pop())
            .ok()
            .flatten();
        match pooled {
            Some(conn) => Ok(conn),
            None => open(&self.inner.path),
        }
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.inner.idle.lock() {
            idle.push(conn);
        }
    }
}

/// The current unix time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
