//! The user fields latch puts into every token (`token_claims`), always
//! read from the user's current record: at login, and again at every
//! refresh, so a rename, a promotion or a demotion shows in the next pair
//! instead of riding along for a day in copied claims.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::tokens::Claims;
use crate::store::users::{User, rfc3339};

/// A user field a token may carry, named as the claim.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UserClaim {
    Username,
    IsStaff,
    IsActive,
    DateJoined,
    LastLogin,
}

impl UserClaim {
    pub fn name(self) -> &'static str {
        match self {
            UserClaim::Username => "username",
            UserClaim::IsStaff => "is_staff",
            UserClaim::IsActive => "is_active",
            UserClaim::DateJoined => "date_joined",
            UserClaim::LastLogin => "last_login",
        }
    }

    /// The value as the API shows it: times as RFC 3339 strings.
    fn value(self, user: &User) -> Value {
        match self {
            UserClaim::Username => json!(user.username),
            UserClaim::IsStaff => json!(user.is_staff),
            UserClaim::IsActive => json!(user.is_active),
            UserClaim::DateJoined => json!(rfc3339(user.date_joined)),
            UserClaim::LastLogin => json!(user.last_login.map(rfc3339)),
        }
    }
}

/// Sets each configured claim on `claims` from `user` as it is now.
pub fn apply(claims: &mut Claims, configured: &[UserClaim], user: &User) {
    for claim in configured {
        claims.insert(claim.name().into(), claim.value(user));
    }
}
