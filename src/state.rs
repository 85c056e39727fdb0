//! The state every request shares, built once by the ignite fairing (or by
//! the command line), and the work that runs beside the server.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use crate::auth::first_run::FirstRun;
use crate::auth::hasher::Hasher;
use crate::auth::key_rotation;
use crate::auth::standing::Standing;
use crate::auth::throttle::Throttle;
use crate::auth::tokens::{Keys, random_hex};
use crate::auth::usernames;
use crate::clock::Clock;
use crate::config::Settings;
use crate::error::StartError;
use crate::metrics::Metrics;
use crate::store::{self, Db};

pub struct App {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub keys: Arc<Keys>,
    pub hasher: Hasher,
    pub throttle: Throttle,
    pub clock: Clock,
    pub first_run: FirstRun,
    pub metrics: Metrics,
    /// Callers' standing, cached until the database changes.
    pub standing: Standing,
    /// How many times latch warned that it ignored `X-Forwarded-For` from a
    /// peer outside `trusted_proxies`: never more than once, so a client
    /// that sends the header on every request cannot flood the log; kept
    /// here so tests see the warning without reading logs.
    pub untrusted_forwarded_warnings: AtomicUsize,
}

impl App {
    /// Opens the database and resolves the signing key; blocking, for
    /// start-up and the CLI.
    pub fn open(settings: Settings) -> Result<App, StartError> {
        let db = Db::open(&settings.database, settings.db_pool_size)?;
        // Names from before `username_key` existed get theirs before any
        // request can register a look-alike of them.
        db.run_blocking(|conn| store::users::fill_missing_keys(conn, usernames::key))
            .map_err(|source| StartError::Database {
                path: settings.database.clone(),
                source,
            })?;
        let stored = |device: bool| {
            // Hex keeps a generated key a plain string, usable as Simple
            // JWT's `SIGNING_KEY` too; kept, so a restart logs nobody out.
            let min = settings.algorithm.min_key_len();
            let make = || random_hex(min.max(32));
            db.run_blocking(|conn| {
                if device {
                    store::meta::device_secret(conn, min, make)
                } else {
                    store::meta::signing_key(conn, min, make)
                }
            })
            .map_err(|source| StartError::Database {
                path: settings.database.clone(),
                source,
            })
        };
        let secret = match &settings.signing_key {
            Some(key) if settings.algorithm.is_hmac() => key.expose().to_string(),
            None if settings.algorithm.is_hmac() => stored(false)?,
            // With a key set, a random secret of its own is the device
            // key's root: nothing public, and it outlives rotations.
            _ => stored(true)?,
        };
        let clock = Clock::default();
        let keys = Keys::new(&secret, &settings, clock.clone())?;
        if !settings.algorithm.is_hmac() {
            keys.install(key_rotation::prepare(&db, &settings, clock.now())?);
        }
        let hasher = Hasher::new(&settings)?;
        let throttle = Throttle::new(settings.throttle_capacity);
        Ok(App {
            settings: Arc::new(settings),
            db,
            keys: Arc::new(keys),
            hasher,
            throttle,
            clock,
            first_run: FirstRun::default(),
            metrics: Metrics::default(),
            standing: Standing::default(),
            untrusted_forwarded_warnings: AtomicUsize::new(0),
        })
    }

    /// The current unix time on the app's clock.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}

/// Work that runs beside the server: every `cleanup_interval`, expired
/// ledger rows are flushed and audit events past `audit_retention` go; with
/// a key set, the database is checked every second for key changes (see
/// `auth::key_rotation::tick`).
pub fn start_background(app: &App) {
    if !app.settings.algorithm.is_hmac() {
        let (db, keys) = (app.db.clone(), app.keys.clone());
        let (settings, clock) = (app.settings.clone(), app.clock.clone());
        rocket::tokio::spawn(async move {
            let mut ticks = rocket::tokio::time::interval(std::time::Duration::from_secs(1));
            ticks.set_missed_tick_behavior(rocket::tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(e) = key_rotation::tick(&db, &keys, &settings, &clock).await {
                    rocket::warn!("checking the key set failed: {e}");
                }
            }
        });
    }
    let db = app.db.clone();
    let clock = app.clock.clone();
    let every = app.settings.cleanup_interval.duration();
    let leeway = app.settings.leeway.as_i64();
    let retention = app.settings.audit_retention.as_i64();
    let replay = crate::auth::pairs::longest_replay(&app.settings);
    rocket::tokio::spawn(async move {
        let mut ticks = rocket::tokio::time::interval(every);
        loop {
            ticks.tick().await;
            let now = clock.now();
            let flushed = db
                .run(move |conn| {
                    store::ledger::flush_expired(conn, now - leeway, now - replay)?;
                    crate::auth::audit::purge(conn, now, retention)
                })
                .await;
            if let Err(e) = flushed {
                rocket::warn!("flushing expired tokens failed: {e}");
            }
        }
    });
}
