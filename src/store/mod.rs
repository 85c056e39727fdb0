//! The SQLite store, and the only place in latch that writes SQL or names
//! rusqlite (error conversion in `error.rs` aside).
//!
//! Everything above this module asks for records through the plain
//! functions of [`users`], [`sessions`], [`ledger`], [`accounts`],
//! [`meta`] and [`import`] (which also reads a Django SQLite database), run on a pooled connection ([`Db::run`]), a free read-only
//! connection ([`Db::read`]) or the group-commit writer ([`Db::write`]).
//! This is the seam where a second storage engine (PostgreSQL) would plug
//! in: these functions' signatures are the whole contract, and none of them
//! leaks a SQLite type beyond the connection handle they take.

pub mod accounts;
pub mod audit;
pub mod backup;
pub mod import;
pub mod keys;
pub mod ledger;
pub mod meta;
pub mod migrations;
pub mod sessions;
pub mod users;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rocket::tokio::sync::Semaphore;
use rocket::tokio::task;
pub use rusqlite::Connection;

use crate::error::{Error, Result, StartError};
pub use migrations::{SCHEMA_VERSION, migrate, open};
use writer::Writer;

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
    /// A connection kept only to ask `PRAGMA data_version`, whose values
    /// mean something only when compared on one connection.
    watcher: Mutex<Connection>,
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
    pub fn open(path: &Path, size: usize) -> Result<Db, StartError> {
        let failed = |source| StartError::Database {
            path: path.to_path_buf(),
            source,
        };
        let mut first = open(path).map_err(failed)?;
        migrate(&mut first)?;
        let mut idle = vec![first];
        for _ in 1..size {
            idle.push(open(path).map_err(failed)?);
        }
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let readers = (0..cores)
            .map(|_| open_reader(path).map(Mutex::new))
            .collect::<Result<Vec<_>>>()
            .map_err(failed)?;
        let watcher = Mutex::new(open_reader(path).map_err(failed)?);
        let writer = Writer::start(open(path).map_err(failed)?).map_err(StartError::Thread)?;
        Ok(Db {
            inner: Arc::new(Pool {
                path: path.to_path_buf(),
                idle: Mutex::new(idle),
                permits: Semaphore::new(size),
                readers,
                watcher,
                writer,
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

    /// Runs `f` in the writer's next group commit; see [`writer`]. For the
    /// hot write paths; `f` must not start its own transaction.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.inner.writer.write(f).await
    }

    /// Queues `f` for the writer's next group commit without waiting for
    /// it: for records (the audit trail) that must not slow the request
    /// that makes them. A failure is logged, never answered.
    pub fn write_detached<F>(&self, f: F)
    where
        F: FnOnce(&Connection) -> Result<()> + Send + 'static,
    {
        if let Err(e) = self.inner.writer.submit_detached(f) {
            rocket::warn!("cannot queue a record: {e}");
        }
    }

    /// Waits until every write queued so far, detached ones included, is
    /// committed: the writer takes jobs in order, so an empty job's commit
    /// comes after theirs. For a process about to exit (the CLI).
    pub async fn settle(&self) -> Result<()> {
        self.write(|_| Ok(())).await
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

    /// A number that changes whenever any connection, in this process or
    /// another (the CLI), commits a change to the database: caches of
    /// what the database says are good while it stays the same. `None`
    /// when it cannot be read (a busy moment): trust nothing cached then.
    pub fn data_version(&self) -> Option<i64> {
        let conn = self.inner.watcher.lock().ok()?;
        conn.pragma_query_value(None, "data_version", |r| r.get(0))
            .ok()
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
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match pooled {
            Some(conn) => Ok(conn),
            None => open(&self.inner.path),
        }
    }

    fn give_back(&self, conn: Connection) {
        self.inner
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
    }
}
