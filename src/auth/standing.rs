//! What the database says about a caller (active, staff, cut-off, session
//! live), kept in memory for the hot paths: forward-auth runs on every
//! request to every protected app, and the guard on every API call.
//!
//! The cache is good only while SQLite's `data_version` stays the same:
//! any commit by any connection, this process's writer or the CLI in
//! another process, changes it, and the next lookup starts from empty. So
//! a revocation made anywhere is seen on the next request, and between
//! writes a lookup costs one `PRAGMA` and a hash-map probe.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};

use crate::error::Result;
use crate::store::sessions::{self, SsoSession};
use crate::store::users::{self, User};
use crate::store::{Connection, Db};

/// Entries kept before the cache starts over; far above any working set,
/// low enough that memory stays small.
const CAPACITY: usize = 50_000;

/// A user looked up with a session: the user and whether it is live.
pub type UserWithSession = Option<(User, bool)>;

#[derive(Default)]
pub struct Standing {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The `data_version` the entries were read under.
    version: Option<i64>,
    sso: HashMap<String, SsoSession>,
    users: HashMap<(i64, Option<String>), UserWithSession>,
}

impl Inner {
    fn len(&self) -> usize {
        self.sso.len() + self.users.len()
    }
}

impl Standing {
    /// The session a sign-in cookie's hash is bound to, with its user.
    /// Unknown hashes are not remembered: anyone can send those.
    pub async fn sso(&self, db: &Db, hash: &str) -> Result<Option<SsoSession>> {
        let key = hash.to_string();
        self.cached(
            db,
            |i| &mut i.sso,
            key.clone(),
            move |conn| sessions::by_sso_hash(conn, &key),
        )
        .await
    }

    /// A user and whether `session` is live for them (see
    /// [`users::with_session`]); keys come from validly signed tokens.
    pub async fn user(&self, db: &Db, id: i64, session: Option<&str>) -> Result<UserWithSession> {
        let session = session.map(str::to_owned);
        let key = (id, session.clone());
        let found = self
            .cached(
                db,
                |i| &mut i.users,
                key,
                move |conn| users::with_session(conn, id, session.as_deref()).map(Some),
            )
            .await?;
        Ok(found.flatten())
    }

    /// The entry under `key`, read with `load` on a miss. Reads the
    /// version before loading and keeps the result only if it is still
    /// the version afterwards checked against: a commit racing the load
    /// invalidates it rather than hiding behind it.
    async fn cached<K, V, F>(
        &self,
        db: &Db,
        map: fn(&mut Inner) -> &mut HashMap<K, V>,
        key: K,
        load: F,
    ) -> Result<Option<V>>
    where
        K: Eq + Hash,
        V: Clone + Send + 'static,
        F: Fn(&Connection) -> Result<Option<V>> + Send + 'static,
    {
        let version = db.data_version();
        {
            let mut inner = self.lock();
            if version.is_none() || inner.version != version {
                *inner = Inner {
                    version,
                    ..Inner::default()
                };
            } else if let Some(hit) = map(&mut inner).get(&key) {
                return Ok(Some(hit.clone()));
            }
        }
        let loaded = db.read(load).await?;
        if let Some(value) = &loaded {
            let mut inner = self.lock();
            if version.is_some() && inner.version == version {
                if inner.len() >= CAPACITY {
                    *inner = Inner {
                        version,
                        ..Inner::default()
                    };
                }
                map(&mut inner).insert(key, value.clone());
            }
        }
        Ok(loaded)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
