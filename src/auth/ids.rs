//! Random ids and secrets as plain lowercase-hex strings.

use rand::RngCore;

/// 32 lowercase hex characters: a random UUIDv4 without dashes, exactly
/// Simple JWT's `uuid4().hex`.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// `count` random bytes as lowercase hex: a secret that is also a plain
/// string (the generated signing key, the setup token).
pub fn random_hex(count: usize) -> String {
    let mut bytes = vec![0u8; count];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
