//! Values latch keeps about itself: the signing key it generated.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::error::Result;

/// The stored signing key, or `make()`'s, stored now if there was none (or
/// it is too short for the configured algorithm). Immediate, so two
/// processes starting at once agree on one key.
pub fn signing_key(
    conn: &mut Connection,
    min_len: usize,
    make: impl FnOnce() -> String,
) -> Result<String> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let existing: Option<String> = tx
        .query_row(
            "SELECT value FROM meta WHERE key = 'signing_key'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(key) = existing.filter(|k| k.len() >= min_len) {
        return Ok(key);
    }
    let key = make();
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('signing_key', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [&key],
    )?;
    tx.commit()?;
    Ok(key)
}
