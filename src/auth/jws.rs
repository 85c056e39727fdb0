//! Compact JWS as PyJWT writes it: the header, base64url segments, and
//! reading a segment back.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use serde_json::{Value, json};

use crate::auth::tokens::Claims;
use crate::config::Algorithm;
use crate::error::{Error, Result};

/// Compact JWS of `claims` exactly as serialized, with the header PyJWT
/// writes (its keys sorted, as PyJWT sorts them).
pub(crate) fn sign_with(
    claims: &Claims,
    key: &EncodingKey,
    algorithm: Algorithm,
    kid: Option<&str>,
) -> Result<String> {
    let header = match kid {
        None => json!({ "alg": algorithm.name(), "typ": "JWT" }),
        Some(kid) => json!({ "alg": algorithm.name(), "kid": kid, "typ": "JWT" }),
    };
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

pub(crate) fn json_object(segment: &str) -> Option<Claims> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
    match serde_json::from_slice::<Value>(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}
