//! The state every request shares, built once by the ignite fairing.

use std::sync::Arc;

use rusqlite::OptionalExtension;

use crate::config::Settings;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::passwords::Hasher;
use crate::throttle::Throttle;
use crate::tokens::Keys;

pub struct App {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub keys: Arc<Keys>,
    pub hasher: Hasher,
    pub throttle: Throttle,
}

impl App {
    /// Opens the database and resolves the signing key; blocking, for
    /// start-up and the CLI.
    pub fn open(settings: Settings) -> Result<App> {
        let db = Db::open(&settings.database, settings.db_pool_size).map_err(|e| {
            Error::Internal(format!("database {}: {e}", settings.database.display()))
        })?;
        let secret = match &settings.signing_key {
            Some(key) => key.expose().to_string(),
            None => {
                db.run_blocking(|conn| stored_signing_key(conn, settings.algorithm.min_key_len()))?
            }
        };
        let keys = Keys::new(&secret, &settings)?;
        let hasher = Hasher::new(&settings)?;
        let throttle = Throttle::new(settings.throttle_capacity);
        Ok(App {
            settings: Arc::new(settings),
            db,
            keys: Arc::new(keys),
            hasher,
            throttle,
        })
    }
}

/// The key latch generated on its first start, creating it if absent: a
/// restart must not log anybody out. Hex keeps it a plain string, usable
/// as Simple JWT's `SIGNING_KEY` too.
fn stored_signing_key(conn: &mut rusqlite::Connection, min_len: usize) -> Result<String> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
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
    let key = crate::tokens::random_hex(min_len.max(32));
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('signing_key', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [&key],
    )?;
    tx.commit()?;
    Ok(key)
}

/// Work that runs beside the server: expired ledger rows are flushed every
/// `cleanup_interval`.
pub fn start_background(app: &App) {
    let db = app.db.clone();
    let every = app.settings.cleanup_interval.duration();
    let leeway = app.settings.leeway.as_i64();
    rocket::tokio::spawn(async move {
        let mut ticks = rocket::tokio::time::interval(every);
        loop {
            ticks.tick().await;
            let flushed = db
                .run(move |conn| crate::sessions::flush_expired(conn, crate::db::now() - leeway))
                .await;
            if let Err(e) = flushed {
                rocket::warn!("flushing expired tokens failed: {e}");
            }
        }
    });
}
