//! A token whose signature and times were checked, and what can be read
//! from it: the last tier of checks (`exp`, `jti`, the type), the cut-off,
//! the ids and times.

use std::sync::Arc;

use serde_json::Value;

use crate::auth::tokens::{Claims, Kind, SESSION_CLAIM};
use crate::error::TokenProblem;

/// A token whose signature and time claims have been checked.
#[derive(Debug, Clone)]
pub struct Token {
    pub claims: Claims,
    /// The configured `user_id_claim`.
    pub(crate) user_claim: Arc<str>,
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
        match self.claims.get(&*self.user_claim)? {
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
pub(crate) fn time_claim(claims: &Claims, name: &str) -> Result<Option<i64>, TokenProblem> {
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
