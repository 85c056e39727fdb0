//! Tokens: the claims Simple JWT writes, signing, and validation.
//!
//! jsonwebtoken supplies the HMAC and, with a key set ([`Ring`]), the
//! signatures of the asymmetric algorithms; every validation rule is stated here
//! rather than left to its defaults (which allow 60 s of leeway, ignore
//! `nbf` and `iat`, and know nothing of `crit`). Each rule maps to one
//! message of the contract, checked in the contract's order.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

pub use crate::auth::ids::{hex, new_id, random_hex};
pub use crate::auth::jws::decode_segment;
use crate::auth::jws::{json_object, sign_with};
pub use crate::auth::validated::Token;
use crate::auth::validated::time_claim;
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde_json::{Map, Value, json};

use crate::auth::keyset::{KeyPair, Ring};
use crate::clock::Clock;
use crate::config::{Algorithm, Settings};
use crate::error::{Error, Result, StartError, TokenProblem};

pub type Claims = Map<String, Value>;

/// Longer input than this is not a token we could have issued.
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Header parameters that point at keys or change how the JWS is read.
/// latch fetches nothing and takes no key from a token, so a token naming
/// any of them is leaning on something we will not honour (RFC 8725
/// §3.10). `kid` only picks among the keys latch holds, and only with a
/// key set: an HMAC token with a `kid` is refused as before.
const REFUSED_HEADERS: [&str; 6] = ["crit", "jku", "jwk", "x5u", "x5c", "b64"];

/// What the device key is derived from (an HMAC of it under the signing
/// key): a label, so it can never equal any token's signing input.
const DEVICE_KEY_LABEL: &[u8] = b"latch device tokens v1";

/// latch's own claim: the session (login) a token descends from.
pub const SESSION_CLAIM: &str = "sid";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Access,
    Refresh,
    /// Proof that a browser or client signed in to an account before: it
    /// buys a login throttle budget of its own (see `auth::credentials`).
    /// Its type keeps it from ever passing as an access or refresh token.
    Device,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Access => "access",
            Kind::Refresh => "refresh",
            Kind::Device => "device",
        }
    }
}

/// Signing and verification state, built at launch; with an asymmetric
/// algorithm its key set is replaced whenever the database's changes
/// (see `auth::key_rotation`), never read from the database per request.
pub struct Keys {
    algorithm: Algorithm,
    /// The shared secret's keys, with an HMAC algorithm.
    secret: Option<(EncodingKey, DecodingKey)>,
    /// The key pairs, with an asymmetric algorithm (empty otherwise).
    ring: RwLock<Arc<Ring>>,
    /// Which key signs depends on the time: the app's clock.
    clock: Clock,
    /// Device tokens are signed with a key derived from the signing key, so
    /// that no Simple JWT peer sharing the key (whose verify checks no
    /// token type) and no endpoint of ours can take one for a token.
    device: (EncodingKey, DecodingKey),
    access_lifetime: i64,
    refresh_lifetime: i64,
    device_lifetime: i64,
    leeway: i64,
    issuer: Option<String>,
    audience: Option<String>,
    user_claim: Arc<str>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("algorithm", &self.algorithm)
            .field("key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// With an HMAC algorithm `secret`'s UTF-8 bytes are the key, as with
    /// Simple JWT's `SIGNING_KEY`, so one string configured on both sides
    /// interoperates. With an asymmetric one `secret` is a private random
    /// string only the device key is derived from, and the key pairs come
    /// with [`Keys::install`].
    pub fn new(secret: &str, settings: &Settings, clock: Clock) -> Result<Keys, StartError> {
        if jsonwebtoken::crypto::CryptoProvider::try_get_default().is_none() {
            return Err(StartError::SigningKey(
                "jsonwebtoken has no crypto provider installed".into(),
            ));
        }
        let bad_key = |e: jsonwebtoken::errors::Error| StartError::SigningKey(e.to_string());
        let device_secret = jsonwebtoken::crypto::sign(
            DEVICE_KEY_LABEL,
            &EncodingKey::from_secret(secret.as_bytes()).map_err(bad_key)?,
            jsonwebtoken::Algorithm::HS256,
        )
        .map_err(bad_key)?;
        let shared = if settings.algorithm.is_hmac() {
            Some((
                EncodingKey::from_secret(secret.as_bytes()).map_err(bad_key)?,
                DecodingKey::from_secret(secret.as_bytes()).map_err(bad_key)?,
            ))
        } else {
            None
        };
        Ok(Keys {
            algorithm: settings.algorithm,
            secret: shared,
            ring: RwLock::new(Arc::new(Ring::default())),
            clock,
            device: (
                EncodingKey::from_secret(device_secret.as_bytes()).map_err(bad_key)?,
                DecodingKey::from_secret(device_secret.as_bytes()).map_err(bad_key)?,
            ),
            access_lifetime: settings.access_token_lifetime.as_i64(),
            refresh_lifetime: settings.refresh_token_lifetime.as_i64(),
            device_lifetime: settings.device_token_lifetime.as_i64(),
            leeway: settings.leeway.as_i64(),
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            user_claim: settings.user_id_claim.as_str().into(),
        })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key set in use.
    pub fn ring(&self) -> Arc<Ring> {
        self.ring
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the key set (a rotation or retirement seen in the
    /// database), unless a newer one is already in place: two readers of
    /// the database (the poll and a command) may finish in either order,
    /// and a stale set could bring back a key just retired.
    pub fn install(&self, ring: Ring) {
        let mut current = self.ring.write().unwrap_or_else(PoisonError::into_inner);
        if ring.version >= current.version {
            *current = Arc::new(ring);
        }
    }

    /// The public keys other services verify with, as JSON text: empty
    /// with HMAC.
    pub fn jwks(&self) -> String {
        self.ring().jwks_body(self.clock.now())
    }

    pub fn refresh_lifetime(&self) -> i64 {
        self.refresh_lifetime
    }

    /// Signs `claims` exactly as serialized (plus `aud` and `iss` when
    /// configured, last, as Simple JWT adds them), with the header PyJWT
    /// writes; with a key set, the signing key's `kid` too.
    pub fn sign(&self, claims: &Claims) -> Result<String> {
        let mut claims = Cow::Borrowed(claims);
        for (name, value) in [("aud", &self.audience), ("iss", &self.issuer)] {
            if let Some(value) = value {
                claims.to_mut().insert(name.into(), json!(value));
            }
        }
        if let Some((encoding, _)) = &self.secret {
            return sign_with(&claims, encoding, self.algorithm, None);
        }
        let ring = self.ring();
        let key = ring
            .signer(self.clock.now())
            .ok_or_else(|| Error::Internal("the key set has no signing key".into()))?;
        sign_with(&claims, &key.encoding, key.algorithm, Some(&key.kid))
    }

    /// A device token for `user_id`, signed with the device key.
    pub fn sign_device(&self, user_id: &str, now: i64) -> Result<String> {
        let claims = self.claims(Kind::Device, user_id, None, now);
        sign_with(&claims, &self.device.0, Algorithm::HS256, None)
    }

    /// Checks a device token as [`Keys::decode`] checks the others, with
    /// the device key; a device token is the only thing it accepts.
    pub fn decode_device(&self, token: &str, now: i64) -> Result<Token, TokenProblem> {
        let decoded = self.decode_with(token, now, Verify::Device(&self.device.1))?;
        decoded.require(Kind::Device)?;
        Ok(decoded)
    }

    /// Fresh claims for a new token, in Simple JWT's order.
    pub fn claims(&self, kind: Kind, user_id: &str, session: Option<&str>, now: i64) -> Claims {
        let mut claims = Claims::new();
        claims.insert("token_type".into(), json!(kind.name()));
        claims.insert("exp".into(), json!(now.saturating_add(self.lifetime(kind))));
        claims.insert("iat".into(), json!(now));
        claims.insert("jti".into(), json!(new_id()));
        claims.insert(self.user_claim.to_string(), json!(user_id));
        if let Some(sid) = session {
            claims.insert(SESSION_CLAIM.into(), json!(sid));
        }
        claims
    }

    /// The access token a refresh token grants: its claims, less the ones
    /// every token sets for itself (Simple JWT's `access_token` property).
    pub fn access_for(&self, refresh: &Claims, now: i64) -> Claims {
        let mut claims = Claims::new();
        claims.insert("token_type".into(), json!(Kind::Access.name()));
        claims.insert(
            "exp".into(),
            json!(now.saturating_add(self.access_lifetime)),
        );
        claims.insert("iat".into(), json!(now));
        claims.insert("jti".into(), json!(new_id()));
        for (name, value) in refresh {
            if !matches!(name.as_str(), "token_type" | "exp" | "iat" | "jti") {
                claims.insert(name.clone(), value.clone());
            }
        }
        claims
    }

    /// The successor of a refresh token: the same claims with a new `jti`,
    /// `iat = now` and a fresh lifetime.
    pub fn rotated(&self, refresh: &Claims, now: i64) -> Claims {
        let mut claims = refresh.clone();
        claims.insert(
            "exp".into(),
            json!(now.saturating_add(self.refresh_lifetime)),
        );
        claims.insert("iat".into(), json!(now));
        claims.insert("jti".into(), json!(new_id()));
        claims
    }

    fn lifetime(&self, kind: Kind) -> i64 {
        match kind {
            Kind::Access => self.access_lifetime,
            Kind::Refresh => self.refresh_lifetime,
            Kind::Device => self.device_lifetime,
        }
    }

    /// Checks structure, algorithm, signature, claim types and times: the
    /// "invalid" and "expired" tiers of the contract. The caller then checks
    /// the blacklist and finally [`Token::require`].
    pub fn decode(&self, token: &str, now: i64) -> Result<Token, TokenProblem> {
        match &self.secret {
            Some((_, decoding)) => {
                self.decode_with(token, now, Verify::Hmac(decoding, self.algorithm))
            }
            None => self.decode_with(token, now, Verify::Ring(&self.ring())),
        }
    }

    fn decode_with(&self, token: &str, now: i64, by: Verify<'_>) -> Result<Token, TokenProblem> {
        use TokenProblem::{Expired, Invalid};
        if token.len() > MAX_TOKEN_LEN {
            return Err(Invalid);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Invalid);
        };
        let header = json_object(header).ok_or(Invalid)?;
        if REFUSED_HEADERS.iter().any(|h| header.contains_key(*h)) {
            return Err(Invalid);
        }
        let (key, algorithm) = by.key(&header, now).ok_or(Invalid)?;
        if header.get("alg").and_then(Value::as_str) != Some(algorithm.name()) {
            return Err(Invalid);
        }
        let signed = &token[..token.len() - signature.len() - 1];
        let valid =
            jsonwebtoken::crypto::verify(signature, signed.as_bytes(), key, algorithm.jwt())
                .unwrap_or(false);
        if !valid {
            return Err(Invalid);
        }
        let claims = json_object(payload).ok_or(Invalid)?;
        if !by.is_device() && !self.issuer_and_audience_match(&claims) {
            return Err(Invalid);
        }

        let exp = time_claim(&claims, "exp")?;
        let iat = time_claim(&claims, "iat")?;
        let nbf = time_claim(&claims, "nbf")?;
        for name in ["token_type", "jti"] {
            if claims.get(name).is_some_and(|v| !v.is_string()) {
                return Err(Invalid);
            }
        }
        if claims
            .get(&*self.user_claim)
            .is_some_and(|v| !(v.is_string() || v.is_i64() || v.is_u64()))
        {
            return Err(Invalid);
        }
        let horizon = now.saturating_add(self.leeway);
        if iat.is_some_and(|t| t > horizon) || nbf.is_some_and(|t| t > horizon) {
            return Err(Invalid);
        }
        if exp.is_some_and(|t| now >= t.saturating_add(self.leeway)) {
            return Err(Expired);
        }
        Ok(Token {
            claims,
            user_claim: self.user_claim.clone(),
        })
    }

    /// Simple JWT's (PyJWT's) rules: with `audience` set, `aud` must be it
    /// or a list holding it; with `issuer` set, `iss` must be it. Unset,
    /// either claim is ignored.
    fn issuer_and_audience_match(&self, claims: &Claims) -> bool {
        let audience_ok = self
            .audience
            .as_deref()
            .is_none_or(|want| match claims.get("aud") {
                Some(Value::String(aud)) => aud == want,
                Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(want)),
                _ => false,
            });
        let issuer_ok = self
            .issuer
            .as_deref()
            .is_none_or(|want| claims.get("iss").and_then(Value::as_str) == Some(want));
        audience_ok && issuer_ok
    }
}

/// What a token is checked against.
enum Verify<'a> {
    /// One HMAC key: a `kid` is refused.
    Hmac(&'a DecodingKey, Algorithm),
    /// The device key (HS256), for device tokens only, which carry no
    /// `iss` or `aud`.
    Device(&'a DecodingKey),
    /// The key set: `kid` picks a key, which brings its own algorithm; no
    /// `kid` means the current signer.
    Ring(&'a Ring),
}

impl<'a> Verify<'a> {
    fn key(&self, header: &Claims, now: i64) -> Option<(&'a DecodingKey, Algorithm)> {
        match (self, header.get("kid")) {
            (Verify::Hmac(key, algorithm), None) => Some((key, *algorithm)),
            (Verify::Device(key), None) => Some((key, Algorithm::HS256)),
            (Verify::Hmac(..) | Verify::Device(_), Some(_)) => None,
            (Verify::Ring(ring), Some(Value::String(kid))) => pair(ring.find(kid, now)?),
            (Verify::Ring(_), Some(_)) => None,
            (Verify::Ring(ring), None) => pair(ring.signer(now)?),
        }
    }

    fn is_device(&self) -> bool {
        matches!(self, Verify::Device(_))
    }
}

fn pair(key: &KeyPair) -> Option<(&DecodingKey, Algorithm)> {
    Some((&key.decoding, key.algorithm))
}
