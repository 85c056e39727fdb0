//! Tokens: the claims Simple JWT writes, signing, and validation.
//!
//! jsonwebtoken supplies the HMAC; every validation rule is stated here
//! rather than left to its defaults (which allow 60 s of leeway, ignore
//! `nbf` and `iat`, and know nothing of `crit`). Each rule maps to one
//! message of the contract, checked in the contract's order.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use rand::RngCore;
use serde_json::{Map, Value, json};

use crate::config::{Algorithm, Settings};
use crate::error::{Error, Result, StartError, TokenProblem};

pub type Claims = Map<String, Value>;

/// Longer input than this is not a token we could have issued.
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Header parameters that point at keys or change how the JWS is read.
/// latch has one key and fetches nothing, so a token naming any of them is
/// leaning on something we will not honour (RFC 8725 §3.10).
const REFUSED_HEADERS: [&str; 7] = ["crit", "jku", "jwk", "x5u", "x5c", "kid", "b64"];

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

/// Signing and verification state, built once at launch.
pub struct Keys {
    algorithm: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Device tokens are signed with a key derived from the signing key, so
    /// that no Simple JWT peer sharing the key (whose verify checks no
    /// token type) and no endpoint of ours can take one for a token.
    device: (EncodingKey, DecodingKey),
    access_lifetime: i64,
    refresh_lifetime: i64,
    device_lifetime: i64,
    leeway: i64,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("algorithm", &self.algorithm)
            .field("key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A token whose signature and time claims have been checked.
#[derive(Debug, Clone)]
pub struct Token {
    pub claims: Claims,
}

impl Keys {
    /// `secret`'s UTF-8 bytes are the HMAC key, as with Simple JWT's
    /// `SIGNING_KEY`, so one string configured on both sides interoperates.
    pub fn new(secret: &str, settings: &Settings) -> Result<Keys, StartError> {
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
        Ok(Keys {
            algorithm: settings.algorithm,
            encoding: EncodingKey::from_secret(secret.as_bytes()).map_err(bad_key)?,
            decoding: DecodingKey::from_secret(secret.as_bytes()).map_err(bad_key)?,
            device: (
                EncodingKey::from_secret(device_secret.as_bytes()).map_err(bad_key)?,
                DecodingKey::from_secret(device_secret.as_bytes()).map_err(bad_key)?,
            ),
            access_lifetime: settings.access_token_lifetime.as_i64(),
            refresh_lifetime: settings.refresh_token_lifetime.as_i64(),
            device_lifetime: settings.device_token_lifetime.as_i64(),
            leeway: settings.leeway.as_i64(),
        })
    }

    pub fn refresh_lifetime(&self) -> i64 {
        self.refresh_lifetime
    }

    /// Signs `claims` exactly as serialized, with the header PyJWT writes.
    pub fn sign(&self, claims: &Claims) -> Result<String> {
        sign_with(claims, &self.encoding, self.algorithm)
    }

    /// A device token for `user_id`, signed with the device key.
    pub fn sign_device(&self, user_id: &str, now: i64) -> Result<String> {
        let claims = self.claims(Kind::Device, user_id, None, now);
        sign_with(&claims, &self.device.0, Algorithm::HS256)
    }

    /// Checks a device token as [`Keys::decode`] checks the others, with
    /// the device key; a device token is the only thing it accepts.
    pub fn decode_device(&self, token: &str, now: i64) -> Result<Token, TokenProblem> {
        let decoded = self.decode_with(token, now, &self.device.1, Algorithm::HS256)?;
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
        claims.insert("user_id".into(), json!(user_id));
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
        self.decode_with(token, now, &self.decoding, self.algorithm)
    }

    fn decode_with(
        &self,
        token: &str,
        now: i64,
        key: &DecodingKey,
        algorithm: Algorithm,
    ) -> Result<Token, TokenProblem> {
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
        if header.get("alg").and_then(Value::as_str) != Some(algorithm.name())
            || REFUSED_HEADERS.iter().any(|h| header.contains_key(*h))
        {
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

        let exp = time_claim(&claims, "exp")?;
        let iat = time_claim(&claims, "iat")?;
        let nbf = time_claim(&claims, "nbf")?;
        for name in ["token_type", "jti"] {
            if claims.get(name).is_some_and(|v| !v.is_string()) {
                return Err(Invalid);
            }
        }
        if claims
            .get("user_id")
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
        Ok(Token { claims })
    }
}

impl Token {
    /// The last tier of checks: `exp`, `jti` and the token type.
    pub fn require(&self, kind: Kind) -> Result<(), TokenProblem> {
        if !self.claims.contains_key("exp") {
            return Err(TokenProblem::NoExp);
        }
        if !self.claims.contains_key("jti") {
            return Err(TokenProblem::NoId);
        }
        match self.claims.get("token_type").and_then(Value::as_str) {
            None => Err(TokenProblem::NoType),
            Some(t) if t != kind.name() => Err(TokenProblem::WrongType),
            Some(_) => Ok(()),
        }
    }

    /// Whether the token predates its user's cut-off (password change,
    /// deactivation, "log out everywhere") or its session is gone. latch's
    /// own tokens name their session, which settles it at once; a foreign
    /// token has only `iat`, in whole seconds, so one issued in the very
    /// second of the cut-off is refused too.
    pub fn cut_off(&self, valid_after: i64, session_live: bool) -> bool {
        let iat = self.issued_at().unwrap_or(i64::MIN);
        match self.session() {
            Some(_) => !session_live || iat < valid_after,
            None => valid_after > 0 && iat <= valid_after,
        }
    }

    pub fn jti(&self) -> Option<&str> {
        self.claims.get("jti").and_then(Value::as_str)
    }

    /// The `user_id` claim as a decimal string, whether sent as a string or
    /// as a number.
    pub fn user_id(&self) -> Option<String> {
        match self.claims.get("user_id")? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    pub fn session(&self) -> Option<&str> {
        self.claims.get(SESSION_CLAIM).and_then(Value::as_str)
    }

    /// `iat`, which [`Keys::decode`] has already type-checked.
    pub fn issued_at(&self) -> Option<i64> {
        time_claim(&self.claims, "iat").ok().flatten()
    }

    pub fn expires_at(&self) -> Option<i64> {
        time_claim(&self.claims, "exp").ok().flatten()
    }
}

/// The last second of year 9999: later (or negative) times are not dates
/// any issuer meant, and keep arithmetic far from overflow.
const MAX_NUMERIC_DATE: i64 = 253_402_300_799;

/// A NumericDate: an integer, or a finite number PyJWT would truncate,
/// between 0 and [`MAX_NUMERIC_DATE`]. Anything else is an invalid token,
/// never a panic.
fn time_claim(claims: &Claims, name: &str) -> Result<Option<i64>, TokenProblem> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let seconds = match (value.as_i64(), value.as_f64()) {
        (Some(n), _) => n,
        (None, Some(f)) if f.is_finite() && (0.0..=MAX_NUMERIC_DATE as f64).contains(&f) => {
            f.trunc() as i64
        }
        _ => return Err(TokenProblem::Invalid),
    };
    if (0..=MAX_NUMERIC_DATE).contains(&seconds) {
        Ok(Some(seconds))
    } else {
        Err(TokenProblem::Invalid)
    }
}

/// Compact JWS of `claims` exactly as serialized, with the header PyJWT
/// writes.
fn sign_with(claims: &Claims, key: &EncodingKey, algorithm: Algorithm) -> Result<String> {
    let header = json!({ "alg": algorithm.name(), "typ": "JWT" });
    let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string()));
    let signature = jsonwebtoken::crypto::sign(token.as_bytes(), key, algorithm.jwt())
        .map_err(|e| Error::Internal(format!("signing: {e}")))?;
    token.push('.');
    token.push_str(&signature);
    Ok(token)
}

/// A base64url JSON segment of a token, unverified; for display only.
pub fn decode_segment(segment: &str) -> Option<Claims> {
    json_object(segment)
}

fn json_object(segment: &str) -> Option<Claims> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
    match serde_json::from_slice::<Value>(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

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
