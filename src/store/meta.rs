//! Values latch keeps about itself: the signing key it generated, and the
//! device-token secret of a key-set deployment.

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
    secret(conn, "signing_key", min_len, make)
}

/// As [`signing_key`], for the secret device tokens are keyed from when
/// the tokens themselves are signed by a key set: kept apart from the
/// HMAC key a former shared-secret setup may have handed to other services.
pub fn device_secret(
    conn: &mut Connection,
    min_len: usize,
    make: impl FnOnce() -> String,
) -> Result<String> {
    secret(conn, "device_secret", min_len, make)
}

fn secret(
    conn: &mut Connection,
    name: &str,
    min_len: usize,
    make: impl FnOnce() -> String,
) -> Result<String> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let existing: Option<String> = tx
        .query_row("SELECT value FROM meta WHERE key = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(key) = existing.filter(|k| k.len() >= min_len) {
        return Ok(key);
    }
    let key = make();
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [name, &key],
    )?;
    tx.commit()?;
    Ok(key)
}
