//! Online backup: a consistent copy of the live database while the server
//! runs and writes.
//!
//! SQLite's backup API copies page by page; if another connection writes
//! between two steps the copy starts over, so under a steady stream of
//! refreshes a stepwise copy might never finish. Copying every page in one
//! step instead holds one read transaction for the whole copy: in WAL mode
//! writers carry on beside it, and the copy is the database as of the
//! moment that transaction began.

use std::path::Path;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

/// What a finished backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub bytes: u64,
    pub schema_version: i64,
}

/// Copies the database at `source` to `target` (which must not exist yet),
/// then checks the copy with `PRAGMA integrity_check`.
pub fn copy(source: &Path, target: &Path) -> Result<Report> {
    if target.exists() {
        return Err(Error::BadRequest(format!(
            "{} exists already; back up to a new file",
            target.display()
        )));
    }
    // Read-only: a mistyped database path must not create an empty one.
    let from = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| Error::BadRequest(format!("{}: {e}", source.display())))?;
    from.busy_timeout(std::time::Duration::from_secs(10))?;
    let mut to = Connection::open_with_flags(
        target,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
    )?;
    {
        let backup = Backup::new(&from, &mut to)?;
        match backup.step(-1)? {
            StepResult::Done => {}
            other => {
                return Err(Error::Internal(format!(
                    "the copy did not finish ({other:?}); try again"
                )));
            }
        }
    }
    let verdict: String = to.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if verdict != "ok" {
        return Err(Error::Internal(format!(
            "the copy failed its integrity check: {verdict}"
        )));
    }
    let schema_version = to.pragma_query_value(None, "user_version", |r| r.get(0))?;
    // Fold the copy's WAL (if any) into the file, so it is one file to keep.
    to.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    drop(to);
    let bytes = std::fs::metadata(target)
        .map_err(|e| Error::Internal(format!("{}: {e}", target.display())))?
        .len();
    Ok(Report {
        bytes,
        schema_version,
    })
}
