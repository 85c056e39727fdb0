//! Group commit for the hot write paths (login, refresh, log out).
//!
//! With `synchronous = FULL` every commit waits for the disk. One writer
//! thread takes every job that is waiting, runs each inside its own
//! savepoint, and commits them together: one sync for the whole batch. No
//! caller hears back before the commit that holds its work is durable, and a
//! job that fails rolls back alone.

use std::sync::mpsc;
use std::thread;

use rocket::tokio::sync::oneshot;
use rusqlite::Connection;

use crate::error::{Error, Result};

/// The most jobs one commit carries; bounds the latency a batch adds.
const MAX_BATCH: usize = 256;

type Reply = Box<dyn FnOnce(Result<()>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> Reply + Send>;

/// A handle on the writer thread. The thread ends when every handle is gone.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread on its own connection.
    pub fn start(conn: Connection) -> std::io::Result<Writer> {
        let (jobs, queue) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("latch-writer".into())
            .spawn(move || run(conn, queue))?;
        Ok(Writer { jobs })
    }

    /// Runs `f` in the next batch and answers once it is committed.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.submit(f)?
            .await
            .map_err(|_| Error::Internal("database writer stopped".into()))?
    }

    /// As [`Writer::write`], for callers without an executor (the CLI).
    pub fn write_blocking<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.submit(f)?
            .blocking_recv()
            .map_err(|_| Error::Internal("database writer stopped".into()))?
    }

    /// Queues `f` with nobody waiting for the answer; a failure is logged.
    pub fn submit_detached<F>(&self, f: F) -> Result<()>
    where
        F: FnOnce(&Connection) -> Result<()> + Send + 'static,
    {
        let job: Job = Box::new(move |conn| {
            let outcome = in_savepoint(conn, f);
            Box::new(move |committed: Result<()>| {
                if let Err(e) = committed.and(outcome) {
                    rocket::warn!("a queued record was not written: {e}");
                }
            })
        });
        self.jobs
            .send(job)
            .map_err(|_| Error::Internal("database writer stopped".into()))
    }

    fn submit<T, F>(&self, f: F) -> Result<oneshot::Receiver<Result<T>>>
    where
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let outcome = in_savepoint(conn, f);
            Box::new(move |committed: Result<()>| {
                let _ = answer.send(committed.and(outcome));
            })
        });
        self.jobs
            .send(job)
            .map_err(|_| Error::Internal("database writer stopped".into()))?;
        Ok(answered)
    }
}

/// Runs one job so that a storage failure undoes its own writes only. An
/// answer error (a refused token) keeps what the job wrote: refusing a
/// replayed refresh token is exactly when its family must be revoked.
fn in_savepoint<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    conn.execute_batch("SAVEPOINT job")?;
    let outcome = f(conn);
    if matches!(outcome, Err(Error::Database(_) | Error::Internal(_))) {
        conn.execute_batch("ROLLBACK TO job")?;
    }
    conn.execute_batch("RELEASE job")?;
    outcome
}

/// Commits between two looks at the WAL's length.
const WAL_CHECK_EVERY: u32 = 64;

/// WAL frames (pages) past which the writer restarts the log: about 16 MiB
/// at SQLite's 4 KiB pages, far under the 64 MiB the log may reach.
const WAL_RESTART_FRAMES: i64 = 4096;

/// Keeps the WAL bounded under continuous writes. SQLite's automatic
/// checkpoints are passive: with a reader always somewhere in the log they
/// never reach its end, and the log never starts over. So every few commits
/// the writer looks, and past the mark runs a RESTART checkpoint, which
/// waits (on the busy timeout) for the readers of the moment, all short,
/// and lets the next commit write the log from its start.
fn bound_wal(conn: &Connection) {
    let frames: rusqlite::Result<i64> =
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1));
    if frames.is_ok_and(|n| n > WAL_RESTART_FRAMES)
        && let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(RESTART)")
    {
        rocket::warn!("WAL checkpoint: {e}");
    }
}

fn run(conn: Connection, queue: mpsc::Receiver<Job>) {
    let mut commits: u32 = 0;
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if conn.execute_batch("BEGIN IMMEDIATE").is_err() {
            // Outside a transaction each job's savepoint is a transaction of
            // its own: slower, still durable before the answer.
            for job in batch {
                job(&conn)(Ok(()));
            }
            continue;
        }
        let replies: Vec<Reply> = batch.into_iter().map(|job| job(&conn)).collect();
        let committed = conn.execute_batch("COMMIT").map_err(Error::from);
        if committed.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for reply in replies {
            reply(committed.clone());
        }
        commits = commits.wrapping_add(1);
        if commits.is_multiple_of(WAL_CHECK_EVERY) {
            bound_wal(&conn);
        }
    }
}
