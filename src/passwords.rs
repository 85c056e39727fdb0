//! Password hashing with argon2id, bounded in time and memory.
//!
//! Each hash fills `argon2_memory_kib` of memory. Unbounded, a login flood
//! runs one hash per request at once and the process grows by gigabytes, so
//! at most one hash per core runs at a time, on a blocking thread, and the
//! memory blocks are kept and reused instead of freed and allocated again.

use std::sync::{Arc, Mutex, OnceLock};

use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use rand::RngCore;
use rocket::tokio::sync::Semaphore;
use rocket::tokio::task;

use crate::config::Settings;
use crate::error::{Error, Result};

const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub matches: bool,
    /// The stored hash used other parameters than the configured ones.
    pub needs_rehash: bool,
}

pub struct Hasher {
    params: Params,
    permits: Semaphore,
    buffers: Mutex<Vec<Vec<Block>>>,
    /// Checked when the account does not exist, so an unknown name costs
    /// the same time as a wrong password.
    dummy: OnceLock<String>,
}

impl Hasher {
    pub fn new(settings: &Settings) -> Result<Hasher> {
        let params = Params::new(
            settings.argon2_memory_kib,
            settings.argon2_iterations,
            settings.argon2_parallelism,
            Some(HASH_LEN),
        )
        .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Hasher {
            params,
            permits: Semaphore::new(cores),
            buffers: Mutex::new(Vec::new()),
            dummy: OnceLock::new(),
        })
    }

    /// Hashes a new password into a PHC string.
    pub async fn hash(self: &Arc<Self>, password: String) -> Result<String> {
        let _permit = self.permit().await?;
        let this = Arc::clone(self);
        task::spawn_blocking(move || this.hash_blocking(&password))
            .await
            .map_err(|e| Error::Internal(format!("hash task: {e}")))?
    }

    /// Checks `password` against `stored`, or against a dummy hash when there
    /// is no stored hash, taking the same time either way.
    pub async fn verify(
        self: &Arc<Self>,
        password: String,
        stored: Option<String>,
    ) -> Result<Verified> {
        let _permit = self.permit().await?;
        let this = Arc::clone(self);
        task::spawn_blocking(move || this.verify_blocking(&password, stored.as_deref()))
            .await
            .map_err(|e| Error::Internal(format!("hash task: {e}")))?
    }

    /// Computes the dummy hash ahead of the first unknown-user login.
    pub fn warm_up(&self) {
        self.dummy_hash();
    }

    pub fn hash_blocking(&self, password: &str) -> Result<String> {
        let mut salt = [0u8; SALT_LEN];
        rand::thread_rng().fill_bytes(&mut salt);
        let mut out = [0u8; HASH_LEN];
        self.compute(&self.params, Version::V0x13, password, &salt, &mut out)?;
        Ok(format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            self.params.m_cost(),
            self.params.t_cost(),
            self.params.p_cost(),
            STANDARD_NO_PAD.encode(salt),
            STANDARD_NO_PAD.encode(out)
        ))
    }

    pub fn verify_blocking(&self, password: &str, stored: Option<&str>) -> Result<Verified> {
        let Some(stored) = stored else {
            self.check(password, self.dummy_hash())?;
            return Ok(Verified {
                matches: false,
                needs_rehash: false,
            });
        };
        self.check(password, stored)
    }

    fn check(&self, password: &str, stored: &str) -> Result<Verified> {
        let unreadable =
            || Error::Internal("stored password hash is not an argon2id PHC string".into());
        let phc = PasswordHash::new(stored).map_err(|_| unreadable())?;
        if phc.algorithm.as_str() != "argon2id" {
            return Err(unreadable());
        }
        let version = match phc.version {
            None | Some(0x13) => Version::V0x13,
            Some(0x10) => Version::V0x10,
            Some(_) => return Err(unreadable()),
        };
        let expected = phc.hash.ok_or_else(unreadable)?;
        let salt = phc.salt.ok_or_else(unreadable)?;
        let stored_params = Params::try_from(&phc.params).map_err(|_| unreadable())?;
        let params = Params::new(
            stored_params.m_cost(),
            stored_params.t_cost(),
            stored_params.p_cost(),
            Some(expected.len()),
        )
        .map_err(|_| unreadable())?;
        let mut out = vec![0u8; expected.len()];
        self.compute(&params, version, password, salt.as_ref(), &mut out)?;
        let matches = constant_time_eq(&out, expected.as_bytes());
        let needs_rehash = version != Version::V0x13
            || params.m_cost() != self.params.m_cost()
            || params.t_cost() != self.params.t_cost()
            || params.p_cost() != self.params.p_cost()
            || expected.len() != HASH_LEN;
        Ok(Verified {
            matches,
            needs_rehash,
        })
    }

    fn compute(
        &self,
        params: &Params,
        version: Version,
        password: &str,
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<()> {
        let argon = Argon2::new(Algorithm::Argon2id, version, params.clone());
        let blocks = params.block_count();
        let mut buffer = self
            .buffers
            .lock()
            .ok()
            .and_then(|mut pool| pool.pop())
            .unwrap_or_default();
        buffer.resize(blocks, Block::new());
        let result =
            argon.hash_password_into_with_memory(password.as_bytes(), salt, out, &mut buffer[..]);
        // Only buffers of the configured size are worth keeping.
        if blocks == self.params.block_count()
            && let Ok(mut pool) = self.buffers.lock()
        {
            pool.push(buffer);
        }
        result.map_err(|e| Error::Internal(format!("argon2: {e}")))
    }

    fn dummy_hash(&self) -> &str {
        self.dummy.get_or_init(|| {
            self.hash_blocking("latch dummy password")
                .unwrap_or_default()
        })
    }

    async fn permit(&self) -> Result<rocket::tokio::sync::SemaphorePermit<'_>> {
        self.permits
            .acquire()
            .await
            .map_err(|_| Error::Internal("hash pool closed".into()))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
