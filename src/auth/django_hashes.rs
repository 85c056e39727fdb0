//! Django's password hash formats, so users imported from Django keep
//! their passwords until their first login replaces the hash with latch's
//! argon2id.
//!
//! Each format is parsed exactly as Django writes it, and a string Django
//! itself could never verify (a leading zero in a count, non-canonical
//! base64, a hash of the wrong length) is refused at import rather than
//! discovered at login. Verification recomputes the hash and compares in
//! constant time. Django's argon2 is checked by the hash pool's argon2
//! (see `auth::hasher`), which reuses its memory blocks; the others here.
//!
//! | Django hasher              | stored as                                        |
//! |----------------------------|--------------------------------------------------|
//! | PBKDF2PasswordHasher       | `pbkdf2_sha256$<iterations>$<salt>$<b64 32 bytes>` |
//! | PBKDF2SHA1PasswordHasher   | `pbkdf2_sha1$<iterations>$<salt>$<b64 20 bytes>`   |
//! | Argon2PasswordHasher       | `argon2` + argon2-cffi's PHC string (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`) |
//! | BCryptSHA256PasswordHasher | `bcrypt_sha256$` + bcrypt of the hex SHA-256 of the password (`$2b$12$...`) |
//! | ScryptPasswordHasher       | `scrypt$<N>$<salt>$<r>$<p>$<b64 64 bytes>`         |

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::Digest;
use subtle::ConstantTimeEq;

/// Django's prefix of a password that can never log in.
pub const UNUSABLE_PREFIX: char = '!';

/// Most PBKDF2 rounds an imported hash may ask for (Django 5.2 uses 10⁶):
/// a crafted count must not pin a hash thread for minutes per attempt.
const MAX_PBKDF2_ITERATIONS: u32 = 50_000_000;
/// Most memory an imported scrypt or argon2 hash may ask for.
const MAX_MEMORY_BYTES: u64 = 1 << 30;

/// A Django hash, parsed; never shown in `Debug` beyond its kind.
pub enum DjangoHash<'a> {
    Pbkdf2 {
        sha1: bool,
        iterations: u32,
        salt: &'a str,
        hash: Vec<u8>,
    },
    /// The PHC string (with its leading `$`) for the pool's argon2.
    Argon2(String),
    /// The bcrypt string (`$2b$12$...`) over the hex SHA-256 of the password.
    BcryptSha256(&'a str),
    Scrypt {
        log_n: u8,
        r: u32,
        p: u32,
        salt: &'a str,
        hash: Vec<u8>,
    },
}

impl std::fmt::Debug for DjangoHash<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.algorithm())
    }
}

/// Why a stored password cannot be used by latch. Names the algorithm,
/// never the hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub algorithm: String,
    pub why: String,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} password hash: {}", self.algorithm, self.why)
    }
}

/// Whether `stored` is Django's and not latch's own (`$argon2id$...`) or an
/// unusable one (`!...`).
pub fn is_django(stored: &str) -> bool {
    !stored.starts_with('$') && !stored.starts_with(UNUSABLE_PREFIX)
}

/// Parses a Django-encoded password hash.
pub fn parse(encoded: &str) -> Result<DjangoHash<'_>, Unsupported> {
    let (algorithm, rest) = encoded.split_once('$').unwrap_or((encoded, ""));
    let parsed = match algorithm {
        "pbkdf2_sha256" | "pbkdf2_sha1" => parse_pbkdf2(algorithm == "pbkdf2_sha1", rest),
        "argon2" => parse_argon2(rest),
        "bcrypt_sha256" => parse_bcrypt(rest),
        "scrypt" => parse_scrypt(rest),
        _ if encoded.is_empty() => Err(Some("empty".to_string())),
        _ => Err(Some("not a format latch can verify".to_string())),
    };
    parsed.map_err(|why| Unsupported {
        algorithm: shown_algorithm(algorithm),
        why: why.unwrap_or_else(|| "malformed".to_string()),
    })
}

/// The algorithm name as it may be shown: Django's names are short and
/// plain; anything else is not echoed (it could be a password pasted into
/// the wrong column).
fn shown_algorithm(algorithm: &str) -> String {
    let plain = algorithm.len() <= 32
        && !algorithm.is_empty()
        && algorithm
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        algorithm.to_string()
    } else {
        "unrecognised".to_string()
    }
}

type Parsed<'a> = Result<DjangoHash<'a>, Option<String>>;

fn parse_pbkdf2(sha1: bool, rest: &str) -> Parsed<'_> {
    let [iterations, salt, hash] = fields::<3>(rest)?;
    let iterations = decimal(iterations)?;
    if iterations > u64::from(MAX_PBKDF2_ITERATIONS) {
        return Err(Some(format!(
            "{iterations} iterations is more than latch allows ({MAX_PBKDF2_ITERATIONS})"
        )));
    }
    let iterations = u32::try_from(iterations).map_err(|_| None)?;
    let hash = base64_of_len(hash, if sha1 { 20 } else { 32 })?;
    Ok(DjangoHash::Pbkdf2 {
        sha1,
        iterations,
        salt: salt_of(salt)?,
        hash,
    })
}

fn parse_argon2(rest: &str) -> Parsed<'_> {
    use argon2::PasswordHash;
    let phc = format!("${rest}");
    let parsed = PasswordHash::new(&phc).map_err(|_| None)?;
    if !matches!(
        parsed.algorithm.as_str(),
        "argon2id" | "argon2i" | "argon2d"
    ) {
        return Err(Some(format!("unknown variant {}", parsed.algorithm)));
    }
    if !matches!(parsed.version, Some(0x13) | Some(0x10)) {
        return Err(Some("argon2 version must be 16 or 19".into()));
    }
    let params = argon2::Params::try_from(&parsed.params).map_err(|_| None)?;
    if u64::from(params.m_cost()) * 1024 > MAX_MEMORY_BYTES {
        return Err(Some("asks for more memory than latch allows".into()));
    }
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(None);
    }
    Ok(DjangoHash::Argon2(phc))
}

fn parse_bcrypt(rest: &str) -> Parsed<'_> {
    // Django: `bcrypt_sha256$` + bcrypt's own `$2b$<cost>$<53 chars>`;
    // bcrypt's parser checks the cost and the salt and hash alphabet.
    let ok_prefix = rest.starts_with("$2b$") || rest.starts_with("$2a$");
    if !ok_prefix || rest.len() != 60 || rest.parse::<bcrypt::HashParts>().is_err() {
        return Err(None);
    }
    Ok(DjangoHash::BcryptSha256(rest))
}

fn parse_scrypt(rest: &str) -> Parsed<'_> {
    let [n, salt, r, p, hash] = fields::<5>(rest)?;
    let n = decimal(n)?;
    if n < 2 || !n.is_power_of_two() {
        return Err(Some("N must be a power of two".into()));
    }
    let (r, p) = (decimal(r)?, decimal(p)?);
    let (r, p) = (
        u32::try_from(r).map_err(|_| None)?,
        u32::try_from(p).map_err(|_| None)?,
    );
    if r == 0 || p == 0 || p > 64 || 128 * n * u64::from(r) > MAX_MEMORY_BYTES {
        return Err(Some("parameters beyond what latch allows".into()));
    }
    let log_n = n.trailing_zeros() as u8;
    scrypt::Params::new(log_n, r, p).map_err(|_| None)?;
    Ok(DjangoHash::Scrypt {
        log_n,
        r,
        p,
        salt: salt_of(salt)?,
        hash: base64_of_len(hash, 64)?,
    })
}

/// Exactly `N` `$`-separated fields.
fn fields<const N: usize>(rest: &str) -> Result<[&str; N], Option<String>> {
    let parts: Vec<&str> = rest.split('$').collect();
    parts.try_into().map_err(|_| None)
}

/// A count as Django's `%d` writes it: digits, no sign, no leading zero.
fn decimal(text: &str) -> Result<u64, Option<String>> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && !(text.len() > 1 && text.starts_with('0'));
    let value = canonical.then(|| text.parse::<u64>().ok()).flatten();
    value.filter(|v| *v > 0).ok_or(None)
}

fn salt_of(salt: &str) -> Result<&str, Option<String>> {
    if salt.is_empty() {
        return Err(Some("empty salt".into()));
    }
    Ok(salt)
}

/// Django's `base64.b64encode`: standard alphabet, padded, canonical.
fn base64_of_len(text: &str, len: usize) -> Result<Vec<u8>, Option<String>> {
    match STANDARD.decode(text) {
        Ok(bytes) if bytes.len() == len && STANDARD.encode(&bytes) == text => Ok(bytes),
        _ => Err(Some(format!("the hash is not {len} bytes of base64"))),
    }
}

impl DjangoHash<'_> {
    /// Django's name for the hasher.
    pub fn algorithm(&self) -> &'static str {
        match self {
            DjangoHash::Pbkdf2 { sha1: false, .. } => "pbkdf2_sha256",
            DjangoHash::Pbkdf2 { sha1: true, .. } => "pbkdf2_sha1",
            DjangoHash::Argon2(_) => "argon2",
            DjangoHash::BcryptSha256(_) => "bcrypt_sha256",
            DjangoHash::Scrypt { .. } => "scrypt",
        }
    }

    /// Recomputes the hash of `password` and compares it in constant time.
    /// `None` for argon2, which the hash pool checks with its own memory.
    pub fn verify(&self, password: &str) -> Option<bool> {
        let password = password.as_bytes();
        Some(match self {
            DjangoHash::Pbkdf2 {
                sha1,
                iterations,
                salt,
                hash,
            } => {
                let mut out = vec![0u8; hash.len()];
                let salt = salt.as_bytes();
                if *sha1 {
                    pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, *iterations, &mut out);
                } else {
                    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, *iterations, &mut out);
                }
                bool::from(out.ct_eq(hash))
            }
            DjangoHash::Argon2(_) => return None,
            DjangoHash::BcryptSha256(stored) => {
                let digest = hex(&sha2::Sha256::digest(password));
                // bcrypt's `verify` compares in constant time (`subtle`).
                bcrypt::verify(digest.as_bytes(), stored).unwrap_or(false)
            }
            DjangoHash::Scrypt {
                log_n,
                r,
                p,
                salt,
                hash,
            } => {
                let mut out = vec![0u8; hash.len()];
                let computed = scrypt::Params::new(*log_n, *r, *p).ok().and_then(|params| {
                    scrypt::scrypt(password, salt.as_bytes(), &params, &mut out).ok()
                });
                computed.is_some() && bool::from(out.ct_eq(hash))
            }
        })
    }
}

/// Lower-case hex, as Python's `binascii.hexlify`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
