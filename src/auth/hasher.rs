//! Password hashing with argon2id, bounded in time, memory and priority.
//!
//! Each hash fills `argon2_memory_kib` of memory. Unbounded, a login flood
//! runs one hash per request at once and the process grows by gigabytes. So
//! hashes run on a fixed pool of one thread per core, each keeping its own
//! memory blocks for the next hash instead of freeing and allocating them
//! again. The pool threads run at the lowest scheduling priority: a login
//! flood then uses the CPU that requests leave idle, and an authenticated
//! request does not queue behind someone else's hash.
//!
//! Hashes imported from Django (`auth::django_hashes`: a million PBKDF2
//! rounds, bcrypt, scrypt, Django's argon2) are checked on the same pool,
//! so they cannot starve requests either, and a match reports
//! `needs_rehash`: the login replaces them with argon2id.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread;

use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use rand::RngCore;
use rocket::tokio::sync::oneshot;

use crate::auth::django_hashes::{self, DjangoHash};
use crate::config::Settings;
use crate::error::{Error, Result, StartError};
use subtle::ConstantTimeEq;

const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

/// A pool thread with no work for this long frees its hash memory.
const IDLE_RELEASE: std::time::Duration = std::time::Duration::from_secs(30);

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub matches: bool,
    /// The stored hash used other parameters than the configured ones.
    pub needs_rehash: bool,
}

type Job = Box<dyn FnOnce(&Core, &mut Vec<Block>) + Send>;

pub struct Hasher {
    core: Arc<Core>,
    jobs: mpsc::Sender<Job>,
    /// Hashes queued or running, for `/metrics`.
    pending: Arc<AtomicI64>,
}

/// What the pool threads share: the parameters and the dummy hash.
pub struct Core {
    params: Params,
    /// Checked when the account does not exist, so an unknown name costs
    /// the same time as a wrong password. Made on first need, so an idle
    /// server holds no hash memory.
    dummy: OnceLock<String>,
}

impl Hasher {
    pub fn new(settings: &Settings) -> Result<Hasher, StartError> {
        let params = Params::new(
            settings.argon2_memory_kib,
            settings.argon2_iterations,
            settings.argon2_parallelism,
            Some(HASH_LEN),
        )
        .map_err(|e| StartError::HashParameters(e.to_string()))?;
        let core = Arc::new(Core {
            params,
            dummy: OnceLock::new(),
        });
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        for n in 0..cores {
            let (core, queue) = (Arc::clone(&core), Arc::clone(&queue));
            thread::Builder::new()
                .name(format!("latch-hash-{n}"))
                .spawn(move || work(&core, &queue))
                .map_err(StartError::Thread)?;
        }
        Ok(Hasher {
            core,
            jobs,
            pending: Arc::default(),
        })
    }

    /// Hashes a new password into a PHC string, on the pool.
    pub async fn hash(&self, password: String) -> Result<String> {
        self.on_pool(move |core, buffer| core.hash(&password, buffer))
            .await
    }

    /// Checks `password` against `stored`, or against a dummy hash when there
    /// is no stored hash, taking the same time either way; on the pool.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<Verified> {
        self.on_pool(move |core, buffer| core.verify(&password, stored.as_deref(), buffer))
            .await
    }

    /// Hashes on the calling thread; for the CLI and tests.
    pub fn hash_blocking(&self, password: &str) -> Result<String> {
        self.core.hash(password, &mut Vec::new())
    }

    /// Verifies on the calling thread; for the CLI and tests.
    pub fn verify_blocking(&self, password: &str, stored: Option<&str>) -> Result<Verified> {
        self.core.verify(password, stored, &mut Vec::new())
    }

    /// Hashes queued or running right now.
    pub fn pending(&self) -> i64 {
        self.pending.load(Ordering::Relaxed)
    }

    async fn on_pool<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Core, &mut Vec<Block>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let _counted = Pending::count(&self.pending);
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |core, buffer| {
            let _ = answer.send(f(core, buffer));
        });
        self.jobs
            .send(job)
            .map_err(|_| Error::Internal("hash pool stopped".into()))?;
        answered
            .await
            .map_err(|_| Error::Internal("hash pool stopped".into()))?
    }
}

/// One job in [`Hasher::pending`] until dropped, however the wait ends.
struct Pending<'a>(&'a AtomicI64);

impl<'a> Pending<'a> {
    fn count(pending: &'a AtomicI64) -> Pending<'a> {
        pending.fetch_add(1, Ordering::Relaxed);
        Pending(pending)
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A pool thread: lowest priority, one buffer reused while logins keep
/// coming, jobs until the `Hasher` is dropped.
fn work(core: &Core, queue: &Mutex<mpsc::Receiver<Job>>) {
    lower_priority();
    let mut buffer = Vec::new();
    loop {
        let job = queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv_timeout(IDLE_RELEASE);
        match job {
            Ok(job) => job(core, &mut buffer),
            // Quiet for a while: give the hash memory back.
            Err(mpsc::RecvTimeoutError::Timeout) => buffer = Vec::new(),
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// nice 19. (SCHED_IDLE was measured too: on a kernel that preempts only at
/// the tick it did no better for request latency, and it starved logins
/// harder under API load.) Lowering one's own priority needs no privilege.
fn lower_priority() {
    use thread_priority::{ThreadPriority, set_current_thread_priority};
    if let Err(e) = set_current_thread_priority(ThreadPriority::Min) {
        rocket::warn!("hash thread keeps normal priority: {e:?}");
    }
}

impl Core {
    fn hash(&self, password: &str, buffer: &mut Vec<Block>) -> Result<String> {
        let mut salt = [0u8; SALT_LEN];
        rand::thread_rng().fill_bytes(&mut salt);
        let mut out = [0u8; HASH_LEN];
        self.compute(
            Algorithm::Argon2id,
            &self.params,
            Version::V0x13,
            password,
            &salt,
            &mut out,
            buffer,
        )?;
        Ok(format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            self.params.m_cost(),
            self.params.t_cost(),
            self.params.p_cost(),
            STANDARD_NO_PAD.encode(salt),
            STANDARD_NO_PAD.encode(out)
        ))
    }

    fn verify(
        &self,
        password: &str,
        stored: Option<&str>,
        buffer: &mut Vec<Block>,
    ) -> Result<Verified> {
        let no = Verified {
            matches: false,
            needs_rehash: false,
        };
        let Some(stored) = stored else {
            self.check_dummy(password, buffer)?;
            return Ok(no);
        };
        if !django_hashes::is_django(stored) {
            if stored.starts_with(django_hashes::UNUSABLE_PREFIX) {
                // Django's unusable password: the work of an unknown user.
                self.check_dummy(password, buffer)?;
                return Ok(no);
            }
            return self.check(password, stored, Algorithm::Argon2id, buffer);
        }
        // Imported from Django: any match is replaced with argon2id.
        let matches = match django_hashes::parse(stored) {
            Ok(DjangoHash::Argon2(phc)) => {
                let algorithm = match phc.split('$').nth(1) {
                    Some("argon2i") => Algorithm::Argon2i,
                    Some("argon2d") => Algorithm::Argon2d,
                    _ => Algorithm::Argon2id,
                };
                self.check(password, &phc, algorithm, buffer)?.matches
            }
            Ok(other) => other.verify(password).unwrap_or(false),
            // The import refuses these; should one appear, it never matches.
            Err(_) => {
                self.check_dummy(password, buffer)?;
                false
            }
        };
        Ok(Verified {
            matches,
            needs_rehash: true,
        })
    }

    /// Checks against the dummy hash, so a login that cannot succeed costs
    /// what a wrong password costs.
    fn check_dummy(&self, password: &str, buffer: &mut Vec<Block>) -> Result<()> {
        let dummy = match self.dummy.get() {
            Some(d) => d,
            None => {
                let made = self.hash("latch dummy password", buffer)?;
                self.dummy.get_or_init(|| made)
            }
        };
        self.check(password, dummy, Algorithm::Argon2id, buffer)?;
        Ok(())
    }

    /// Checks a PHC string of `algorithm`: latch's own are argon2id; Django's
    /// argon2 may be an older variant.
    fn check(
        &self,
        password: &str,
        stored: &str,
        algorithm: Algorithm,
        buffer: &mut Vec<Block>,
    ) -> Result<Verified> {
        let unreadable =
            || Error::Internal("stored password hash is not an argon2 PHC string".into());
        let phc = PasswordHash::new(stored).map_err(|_| unreadable())?;
        if phc.algorithm.as_str() != algorithm.as_str() {
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
        let salt = salt.as_ref();
        self.compute(
            algorithm, &params, version, password, salt, &mut out, buffer,
        )?;
        let matches = bool::from(out.ct_eq(expected.as_bytes()));
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

    #[allow(clippy::too_many_arguments)]
    fn compute(
        &self,
        algorithm: Algorithm,
        params: &Params,
        version: Version,
        password: &str,
        salt: &[u8],
        out: &mut [u8],
        buffer: &mut Vec<Block>,
    ) -> Result<()> {
        let argon = Argon2::new(algorithm, version, params.clone());
        buffer.resize(params.block_count(), Block::new());
        let result =
            argon.hash_password_into_with_memory(password.as_bytes(), salt, out, &mut buffer[..]);
        // An old hash with more memory than configured must not pin it.
        let configured = self.params.block_count();
        if buffer.len() > configured {
            buffer.truncate(configured);
            buffer.shrink_to_fit();
        }
        result.map_err(|e| Error::Internal(format!("argon2: {e}")))
    }
}
