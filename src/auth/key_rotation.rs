//! The key set's use cases: the signing key at start-up, `latch keys
//! list | rotate | retire`, and the once-a-second check that lets a running
//! server see what the command line did, drops keys whose tokens have all
//! expired and rotates on `key_rotation_interval`.
//!
//! The rule that keeps caches of the JWKS right (DESIGN.md, example 16): a
//! rotated-in key is published at once and signs only `jwks_max_age` later;
//! the key it replaces verifies until the last token it signed has expired.

use std::sync::Arc;

use crate::auth::keyset::{self, KeyState, Ring};
use crate::auth::tokens::Keys;
use crate::clock::Clock;
use crate::config::{Algorithm, Settings};
use crate::error::{Error, Result, StartError};
use crate::state::App;
use crate::store::keys::{self as stored, StoredKey};
use crate::store::{Connection, Db};

/// How long after a server's last look at the database a change made
/// elsewhere may go unseen: the poll interval, with a second to spare.
const POLL_SLACK: i64 = 2;

/// How long a replaced signer keeps verifying: until every token it can
/// have signed has expired.
pub fn span(settings: &Settings) -> i64 {
    let longest = settings
        .access_token_lifetime
        .as_i64()
        .max(settings.refresh_token_lifetime.as_i64());
    longest
        .saturating_add(settings.leeway.as_i64())
        .saturating_add(POLL_SLACK)
}

/// The key set as the database holds it.
pub fn load(conn: &Connection, settings: &Settings) -> Result<Ring> {
    let version = stored::version(conn)?;
    let keys = stored::live(conn)?
        .iter()
        .filter_map(keyset::from_stored)
        .collect();
    Ok(Ring::new(keys, span(settings), version))
}

/// At start-up with an asymmetric algorithm: stores the configured
/// `signing_key` as the signer if it is new, or generates a key pair when
/// none of the configured algorithm signs yet; returns the key set.
pub fn prepare(db: &Db, settings: &Settings, now: i64) -> Result<Ring, StartError> {
    let algorithm = settings.algorithm;
    let db_error = |source| StartError::Database {
        path: settings.database.clone(),
        source,
    };
    let configured = match &settings.signing_key {
        Some(pem) => Some(
            keyset::parse(algorithm, pem.expose())
                .map_err(|e| StartError::Setting(format!("signing_key: {e}")))?,
        ),
        None => None,
    };
    if let Some(parsed) = &configured {
        let kid = parsed.kid.clone();
        if db
            .run_blocking(|conn| stored::was_removed(conn, &kid))
            .map_err(db_error)?
        {
            return Err(StartError::Setting(format!(
                "signing_key: key {kid} was retired; configure a new key"
            )));
        }
    }
    db.run_blocking(|conn| {
        stored::add_if(conn, |live| {
            let wanted = match &configured {
                Some(parsed) => !live.iter().any(|k| k.kid == parsed.kid),
                None => live.last().is_none_or(|k| k.algorithm != algorithm.name()),
            };
            if !wanted {
                return Ok(None);
            }
            let pem = match &configured {
                Some(parsed) => parsed.pkcs8_pem.clone(),
                None => keyset::generate(algorithm).map_err(Error::Internal)?,
            };
            new_row(algorithm, &pem, now, now).map(Some)
        })?;
        load(conn, settings)
    })
    .map_err(db_error)
}

fn new_row(algorithm: Algorithm, pem: &str, published: i64, signs_from: i64) -> Result<StoredKey> {
    let parsed = keyset::parse(algorithm, pem).map_err(Error::Internal)?;
    Ok(StoredKey {
        kid: parsed.kid,
        algorithm: algorithm.name().into(),
        private_key: parsed.pkcs8_pem,
        published,
        signs_from,
    })
}

/// What `latch keys list` shows of one key.
#[derive(Debug, serde::Serialize)]
pub struct KeyInfo {
    pub kid: String,
    pub algorithm: &'static str,
    /// `next`, `signing`, `verifying` or `expired`.
    pub state: &'static str,
    pub published: i64,
    pub signs_from: i64,
    /// When a replaced key stops verifying.
    pub verifies_until: Option<i64>,
}

pub fn list(app: &App) -> Vec<KeyInfo> {
    let ring = app.keys.ring();
    let states = ring.states(app.now());
    states
        .into_iter()
        .map(|(key, state)| KeyInfo {
            kid: key.kid.clone(),
            algorithm: key.algorithm.name(),
            state: match state {
                KeyState::Next => "next",
                KeyState::Signing => "signing",
                KeyState::Verifying { .. } => "verifying",
                KeyState::Expired => "expired",
            },
            published: key.published,
            signs_from: key.signs_from,
            verifies_until: match state {
                KeyState::Verifying { until } if until < i64::MAX => Some(until),
                _ => None,
            },
        })
        .collect()
}

fn asymmetric(settings: &Settings) -> Result<Algorithm> {
    if settings.algorithm.is_hmac() {
        return Err(Error::Conflict(format!(
            "{} uses the shared signing_key and has no key set; set algorithm to \
             RS256, RS384, RS512, ES256, ES384 or EdDSA",
            settings.algorithm.name()
        )));
    }
    Ok(settings.algorithm)
}

/// Adds a new key: published now, signing `jwks_max_age` from now, or at
/// once with `immediately`. Returns its `kid`.
pub async fn rotate(app: &App, immediately: bool) -> Result<String> {
    let algorithm = asymmetric(&app.settings)?;
    let now = app.now();
    let signs_from = if immediately {
        now
    } else {
        now.saturating_add(app.settings.jwks_max_age.as_i64())
    };
    let row = generate_row(algorithm, now, signs_from).await?;
    let kid = row.kid.clone();
    app.db
        .run(move |conn| stored::add_if(conn, |_| Ok(Some(row))))
        .await?;
    reload(&app.db, &app.keys, &app.settings).await?;
    Ok(kid)
}

/// Key generation off the executor: RSA takes a while.
async fn generate_row(algorithm: Algorithm, published: i64, signs_from: i64) -> Result<StoredKey> {
    rocket::tokio::task::spawn_blocking(move || {
        let pem = keyset::generate(algorithm).map_err(Error::Internal)?;
        new_row(algorithm, &pem, published, signs_from)
    })
    .await
    .map_err(|e| Error::Internal(format!("key generation failed: {e}")))?
}

/// Removes `kid` at once (a leaked key): its tokens die. When it was the
/// signer, a new key signs at once in its place. Returns the new key's
/// `kid`, if one was made.
pub async fn retire(app: &App, kid: &str) -> Result<Option<String>> {
    let algorithm = asymmetric(&app.settings)?;
    // The set as the database has it now, not as of the last poll.
    reload(&app.db, &app.keys, &app.settings).await?;
    let now = app.now();
    let ring = app.keys.ring();
    if !ring.states(now).iter().any(|(k, _)| k.kid == kid) {
        return Err(Error::Conflict(format!("no live key {kid:?}")));
    }
    let signing = ring.signer(now).is_some_and(|k| k.kid == kid);
    let replacement = if signing || ring.states(now).len() == 1 {
        let row = generate_row(algorithm, now, now).await?;
        let new_kid = row.kid.clone();
        app.db
            .run(move |conn| stored::add_if(conn, |_| Ok(Some(row))))
            .await?;
        Some(new_kid)
    } else {
        None
    };
    let kids = vec![kid.to_string()];
    app.db
        .run(move |conn| stored::remove(conn, &kids, now))
        .await?;
    reload(&app.db, &app.keys, &app.settings).await?;
    Ok(replacement)
}

/// Reads the key set again when its version moved.
async fn reload(db: &Db, keys: &Keys, settings: &Arc<Settings>) -> Result<()> {
    let known = keys.ring().version;
    let settings = settings.clone();
    let ring = db
        .run(move |conn| {
            if stored::version(conn)? == known {
                return Ok(None);
            }
            load(conn, &settings).map(Some)
        })
        .await?;
    if let Some(ring) = ring {
        keys.install(ring);
    }
    Ok(())
}

/// One look at the database, every second on a running server: a change
/// made elsewhere is installed, keys past their last token are dropped,
/// and a key is rotated in when `key_rotation_interval` says so.
pub async fn tick(db: &Db, keys: &Keys, settings: &Arc<Settings>, clock: &Clock) -> Result<()> {
    reload(db, keys, settings).await?;
    let now = clock.now();
    let ring = keys.ring();
    let expired = ring.expired(now);
    if !expired.is_empty() {
        db.run(move |conn| stored::remove(conn, &expired, now))
            .await?;
    }
    let every = settings.key_rotation_interval.as_i64();
    if every > 0
        && ring
            .newest_published()
            .is_none_or(|t| now >= t.saturating_add(every))
    {
        let algorithm = settings.algorithm;
        let signs_from = now.saturating_add(settings.jwks_max_age.as_i64());
        let row = generate_row(algorithm, now, signs_from).await?;
        // Re-checked inside the write lock: two servers on one database
        // rotate once.
        db.run(move |conn| {
            stored::add_if(conn, |live| {
                let newest = live.iter().map(|k| k.published).max();
                Ok(newest
                    .is_none_or(|t| now >= t.saturating_add(every))
                    .then_some(row))
            })
        })
        .await?;
    }
    reload(db, keys, settings).await
}
