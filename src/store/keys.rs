//! The key set's rows: every key pair latch holds for the asymmetric
//! algorithms, and `keys_version` in `meta`, bumped by every change so a
//! running server notices a change made by the command line with one
//! cheap read a second.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::error::Result;

/// One key as stored. `private_key` is the PKCS#8 PEM: never logged.
#[derive(Clone)]
pub struct StoredKey {
    pub kid: String,
    pub algorithm: String,
    pub private_key: String,
    pub published: i64,
    pub signs_from: i64,
}

/// The counter every change to the key set bumps.
pub fn version(conn: &Connection) -> Result<i64> {
    let value: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'keys_version'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
}

fn bump(conn: &Connection) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('keys_version', '1')
         ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        [],
    )?;
    Ok(())
}

/// Every key not removed, oldest signer first.
pub fn live(conn: &Connection) -> Result<Vec<StoredKey>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kid, algorithm, private_key, published, signs_from FROM signing_keys
         WHERE removed IS NULL ORDER BY signs_from, published, kid",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(StoredKey {
            kid: r.get(0)?,
            algorithm: r.get(1)?,
            private_key: r.get(2)?,
            published: r.get(3)?,
            signs_from: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Whether `kid` was ever held and then removed.
pub fn was_removed(conn: &Connection, kid: &str) -> Result<bool> {
    let removed: Option<Option<i64>> = conn
        .query_row(
            "SELECT removed FROM signing_keys WHERE kid = ?1",
            [kid],
            |r| r.get(0),
        )
        .optional()?;
    Ok(matches!(removed, Some(Some(_))))
}

/// In one immediate transaction, shows `decide` the live keys and stores
/// the key it returns, if any; so two processes deciding at once (two
/// starts, a start and a rotation) add one key, not two.
pub fn add_if(
    conn: &mut Connection,
    decide: impl FnOnce(&[StoredKey]) -> Result<Option<StoredKey>>,
) -> Result<Option<StoredKey>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current = live(&tx)?;
    let Some(key) = decide(&current)? else {
        return Ok(None);
    };
    tx.execute(
        "INSERT INTO signing_keys (kid, algorithm, private_key, published, signs_from)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            key.kid,
            key.algorithm,
            key.private_key,
            key.published,
            key.signs_from
        ],
    )?;
    bump(&tx)?;
    tx.commit()?;
    Ok(Some(key))
}

/// Removes keys at once: their rows stay, without the private part.
/// Returns how many were live.
pub fn remove(conn: &mut Connection, kids: &[String], now: i64) -> Result<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut removed = 0;
    for kid in kids {
        removed += tx.execute(
            "UPDATE signing_keys SET removed = ?2, private_key = ''
             WHERE kid = ?1 AND removed IS NULL",
            params![kid, now],
        )?;
    }
    if removed > 0 {
        bump(&tx)?;
    }
    tx.commit()?;
    Ok(removed)
}
