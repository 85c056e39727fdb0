//! Key pairs for the asymmetric algorithms, and the set of them a server
//! signs and verifies with.
//!
//! A key is read from (or generated as) a PKCS#8 PEM private key with the
//! RustCrypto crates, and turned into what jsonwebtoken's `rust_crypto`
//! backend signs and verifies with, plus its public JWK, whose RFC 7638
//! thumbprint is its `kid`. Nothing here is cryptography of our own.
//!
//! Rotation is a matter of times, so the [`Ring`] answers for a given
//! `now`: the signer is the newest key whose `signs_from` has come; a key
//! replaced as signer keeps verifying until every token it can have signed
//! has expired ([`Ring::new`]'s `span`), then is gone.

use std::fmt;

use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, KeyAlgorithm,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse, ThumbprintHash,
};
use jsonwebtoken::{DecodingKey, EncodingKey};
use pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde_json::{Value, json};

use crate::config::Algorithm;
use crate::store::keys::StoredKey;

/// RSA keys below this many bits are refused (NIST SP 800-131A).
const MIN_RSA_BITS: usize = 2048;

/// One key pair, ready to sign and verify with its one algorithm.
pub struct KeyPair {
    pub kid: String,
    pub algorithm: Algorithm,
    pub published: i64,
    pub signs_from: i64,
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
    /// The public JWK, as the JWKS serves it.
    pub jwk: Value,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("signs_from", &self.signs_from)
            .finish_non_exhaustive()
    }
}

/// A new private key for `algorithm`, as PKCS#8 PEM, from the operating
/// system's RNG.
pub fn generate(algorithm: Algorithm) -> Result<String, String> {
    use getrandom::SysRng;
    use getrandom::rand_core::UnwrapErr;
    let pem = match algorithm {
        Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 => {
            rsa::PrivateKey::new(&mut SysRng, MIN_RSA_BITS)
                .map_err(|e| e.to_string())?
                .to_pkcs8_pem(LineEnding::LF)
        }
        Algorithm::ES256 => {
            use p256::elliptic_curve::Generate;
            p256::SecretKey::try_generate_from_rng(&mut SysRng)
                .map_err(|e| e.to_string())?
                .to_pkcs8_pem(LineEnding::LF)
        }
        Algorithm::ES384 => {
            use p384::elliptic_curve::Generate;
            p384::SecretKey::try_generate_from_rng(&mut SysRng)
                .map_err(|e| e.to_string())?
                .to_pkcs8_pem(LineEnding::LF)
        }
        Algorithm::EdDSA => {
            ed25519_dalek::SigningKey::generate(&mut UnwrapErr(SysRng)).to_pkcs8_pem(LineEnding::LF)
        }
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            return Err("an HMAC algorithm has no key pair".into());
        }
    };
    pem.map(|p| p.to_string()).map_err(|e| e.to_string())
}

/// What a private key yields: the signing key, the public JWK and the
/// `kid`; and the key again as PKCS#8 PEM, for storing.
pub struct Parsed {
    pub kid: String,
    pub pkcs8_pem: String,
    encoding: EncodingKey,
    jwk: Jwk,
}

/// Reads a PEM private key for `algorithm`: PKCS#8, or PKCS#1 for RSA. A
/// key of another type or curve is refused, which pins each key to one
/// algorithm.
pub fn parse(algorithm: Algorithm, pem: &str) -> Result<Parsed, String> {
    let bad = |e: &dyn fmt::Display| format!("not a {} private key: {e}", algorithm.name());
    let (encoding, pkcs8_pem, jwk) = match algorithm {
        Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 => {
            use pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
            use rsa::traits::PublicKeyParts;
            let key = rsa::PrivateKey::from_pkcs8_pem(pem)
                .or_else(|_| rsa::PrivateKey::from_pkcs1_pem(pem))
                .map_err(|e| bad(&e))?;
            if key.size() * 8 < MIN_RSA_BITS {
                return Err(format!("an RSA key must have at least {MIN_RSA_BITS} bits"));
            }
            let der = key.to_pkcs1_der().map_err(|e| bad(&e))?;
            let encoding = EncodingKey::from_rsa_der(der.as_bytes());
            let jwk = Jwk::from_encoding_key(&encoding, algorithm.jwt()).map_err(|e| bad(&e))?;
            let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| bad(&e))?;
            (encoding, pem.to_string(), jwk)
        }
        Algorithm::ES256 => {
            let key = p256::SecretKey::from_pkcs8_pem(pem).map_err(|e| bad(&e))?;
            ec_parts(algorithm, key.to_pkcs8_der().map_err(|e| bad(&e))?)?
        }
        Algorithm::ES384 => {
            let key = p384::SecretKey::from_pkcs8_pem(pem).map_err(|e| bad(&e))?;
            ec_parts(algorithm, key.to_pkcs8_der().map_err(|e| bad(&e))?)?
        }
        Algorithm::EdDSA => {
            let key = ed25519_dalek::SigningKey::from_pkcs8_pem(pem).map_err(|e| bad(&e))?;
            let der = key.to_pkcs8_der().map_err(|e| bad(&e))?;
            let jwk = Jwk {
                common: CommonParameters::default(),
                algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                    key_type: OctetKeyPairType::OctetKeyPair,
                    curve: EllipticCurve::Ed25519,
                    x: base64_url(key.verifying_key().as_bytes()),
                }),
            };
            let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| bad(&e))?;
            (
                EncodingKey::from_ed_der(der.as_bytes()),
                pem.to_string(),
                jwk,
            )
        }
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            return Err("an HMAC algorithm has no key pair".into());
        }
    };
    let kid = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|e| bad(&e))?;
    Ok(Parsed {
        kid,
        pkcs8_pem,
        encoding,
        jwk,
    })
}

fn ec_parts(
    algorithm: Algorithm,
    der: pkcs8::SecretDocument,
) -> Result<(EncodingKey, String, Jwk), String> {
    let encoding = EncodingKey::from_ec_der(der.as_bytes());
    let jwk = Jwk::from_encoding_key(&encoding, algorithm.jwt()).map_err(|e| e.to_string())?;
    let pem = der
        .to_pem("PRIVATE KEY", LineEnding::LF)
        .map_err(|e| e.to_string())?;
    Ok((encoding, pem.to_string(), jwk))
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Parsed {
    /// The key pair, with the times it is published and signs from.
    pub fn into_pair(
        self,
        algorithm: Algorithm,
        published: i64,
        signs_from: i64,
    ) -> Result<KeyPair, String> {
        let mut jwk = self.jwk;
        jwk.common = CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_id: Some(self.kid.clone()),
            key_algorithm: Some(KeyAlgorithm::from(algorithm.jwt())),
            ..CommonParameters::default()
        };
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?;
        let jwk = serde_json::to_value(&jwk).map_err(|e| e.to_string())?;
        Ok(KeyPair {
            kid: self.kid,
            algorithm,
            published,
            signs_from,
            encoding: self.encoding,
            decoding,
            jwk,
        })
    }
}

/// A stored key as a key pair; `None` when its row cannot be read (an
/// algorithm this latch does not know), so one bad row stops no server.
pub fn from_stored(stored: &StoredKey) -> Option<KeyPair> {
    let algorithm = Algorithm::from_name(&stored.algorithm).filter(|a| !a.is_hmac())?;
    let parsed = parse(algorithm, &stored.private_key).ok()?;
    (parsed.kid == stored.kid).then_some(())?;
    parsed
        .into_pair(algorithm, stored.published, stored.signs_from)
        .ok()
}

/// The key set at one version of the database.
#[derive(Debug)]
pub struct Ring {
    /// Oldest signer first.
    keys: Vec<KeyPair>,
    /// How long a replaced signer keeps verifying: the longest token
    /// lifetime, the leeway, and the second a server may take to notice
    /// an immediate rotation.
    span: i64,
    pub version: i64,
    /// The JWKS of every key, serialized once: what is served until the
    /// first key expires (then the poll soon drops it from the database).
    all_published: String,
    first_expiry: i64,
}

impl Ring {
    pub fn new(mut keys: Vec<KeyPair>, span: i64, version: i64) -> Ring {
        keys.sort_by_key(|a| (a.signs_from, a.published));
        let mut ring = Ring {
            keys,
            span,
            version,
            all_published: String::new(),
            first_expiry: i64::MAX,
        };
        ring.first_expiry = (0..ring.keys.len())
            .filter_map(|i| ring.expires(i))
            .min()
            .unwrap_or(i64::MAX);
        let all: Vec<&Value> = ring.keys.iter().map(|k| &k.jwk).collect();
        ring.all_published = json!({ "keys": all }).to_string();
        ring
    }

    /// [`Ring::jwks`] serialized; from memory while no key has expired,
    /// since the JWKS is fetched by every verifier and must cost no more
    /// than a health check.
    pub fn jwks_body(&self, now: i64) -> String {
        if now < self.first_expiry {
            self.all_published.clone()
        } else {
            self.jwks(now).to_string()
        }
    }

    /// The key that signs at `now`: the newest whose time has come.
    pub fn signer(&self, now: i64) -> Option<&KeyPair> {
        self.keys.iter().rev().find(|k| k.signs_from <= now)
    }

    /// When `key` stops verifying: `span` after the next key took over
    /// signing; `None` while no key has.
    pub fn expires(&self, index: usize) -> Option<i64> {
        self.keys
            .get(index + 1..)?
            .iter()
            .map(|k| k.signs_from)
            .min()
            .map(|next| next.saturating_add(self.span))
    }

    /// Each key with its state at `now`, oldest first.
    pub fn states(&self, now: i64) -> Vec<(&KeyPair, KeyState)> {
        let signer = self.signer(now).map(|k| k.kid.as_str());
        self.keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let state = match self.expires(i) {
                    _ if Some(key.kid.as_str()) == signer => KeyState::Signing,
                    _ if key.signs_from > now => KeyState::Next,
                    Some(end) if end <= now => KeyState::Expired,
                    Some(end) => KeyState::Verifying { until: end },
                    None => KeyState::Verifying { until: i64::MAX },
                };
                (key, state)
            })
            .collect()
    }

    /// The key a token's `kid` names, while it verifies at `now`.
    pub fn find(&self, kid: &str, now: i64) -> Option<&KeyPair> {
        let (i, key) = self.keys.iter().enumerate().find(|(_, k)| k.kid == kid)?;
        self.expires(i).is_none_or(|end| now < end).then_some(key)
    }

    /// The public keys that verify at `now`, as a JWKS.
    pub fn jwks(&self, now: i64) -> Value {
        let keys: Vec<&Value> = self
            .states(now)
            .into_iter()
            .filter(|(_, state)| *state != KeyState::Expired)
            .map(|(key, _)| &key.jwk)
            .collect();
        json!({ "keys": keys })
    }

    /// Kids of keys whose tokens have all expired by `now`.
    pub fn expired(&self, now: i64) -> Vec<String> {
        self.states(now)
            .into_iter()
            .filter(|(_, state)| *state == KeyState::Expired)
            .map(|(key, _)| key.kid.clone())
            .collect()
    }

    pub fn newest_published(&self) -> Option<i64> {
        self.keys.iter().map(|k| k.published).max()
    }
}

impl Default for Ring {
    fn default() -> Ring {
        Ring::new(Vec::new(), 0, 0)
    }
}

/// Where a key is in its life, for `latch keys list` and the pruning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// Published, signing later.
    Next,
    Signing,
    /// Replaced; verifies the tokens it signed until `until`.
    Verifying {
        until: i64,
    },
    Expired,
}
