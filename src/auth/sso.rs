//! The `latch_sso` sign-in cookie: what proxied apps' forward-auth checks.
//!
//! Its value is 32 random bytes in hex, bound to one page session; the
//! database keeps only its SHA-256, so a copy of the database signs no one
//! in. It lives exactly as long as its session: logging out, "log out
//! everywhere", deleting the session, a password change or deactivation
//! all end it, because each revokes the session or the account.

use sha2::{Digest, Sha256};

use crate::auth::forward::Who;
use crate::auth::tokens::{hex, random_hex};
use crate::error::Result;
use crate::state::App;
use crate::store::sessions::{self, SsoSession};

/// The cookie's name.
pub const COOKIE: &str = "latch_sso";

/// Random bytes in a cookie value.
const BYTES: usize = 32;

/// The stored form of a cookie value; `None` for anything that is not a
/// value latch could have made, which is then never looked up.
pub fn hash(value: &str) -> Option<String> {
    let well_formed = value.len() == BYTES * 2
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    well_formed.then(|| hex(&Sha256::digest(value.as_bytes())))
}

/// Who a session found by its cookie stands for at `now`, if it is live:
/// not revoked or expired, its user active and not cut off since.
pub fn who(row: &SsoSession, now: i64) -> Option<Who> {
    let live =
        !row.revoked && row.expires > now && row.is_active && row.created >= row.tokens_valid_after;
    live.then(|| Who {
        id: row.user_id,
        username: row.username.clone(),
        is_staff: row.is_staff,
    })
}

/// Binds a new cookie value to `session`; returns the value to set.
pub async fn bind(app: &App, session: &str) -> Result<String> {
    let value = random_hex(BYTES);
    let hashed = hash(&value).unwrap_or_default();
    let session = session.to_string();
    app.db
        .write(move |conn| sessions::set_sso_hash(conn, &session, &hashed))
        .await?;
    Ok(value)
}

/// On the page's refresh: the presented cookie if it is `session`'s, else
/// a new one bound to it (a cookie that expired before its session, or a
/// session from before forward-auth existed). `None`: keep the cookie.
pub async fn renew(app: &App, session: &str, presented: Option<&str>) -> Result<Option<String>> {
    let owned = session.to_string();
    let stored = app
        .db
        .read(move |conn| sessions::sso_hash(conn, &owned))
        .await?;
    if stored.is_some() && presented.and_then(hash) == stored {
        return Ok(None);
    }
    bind(app, session).await.map(Some)
}

/// Who the cookie `value` signs in, if anyone.
pub async fn check(app: &App, value: &str) -> Result<Option<Who>> {
    let Some(hashed) = hash(value) else {
        return Ok(None);
    };
    let row = app.standing.sso(&app.db, &hashed).await?;
    Ok(row.and_then(|row| who(&row, app.now())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_values_latch_makes_are_hashed() {
        let value = random_hex(BYTES);
        let h = hash(&value).unwrap();
        assert_eq!(h.len(), 64);
        assert_ne!(h, value);
        assert!(hash("").is_none());
        assert!(hash(&value.to_uppercase()).is_none());
        assert!(hash(&value[1..]).is_none());
    }

    #[test]
    fn a_session_stands_only_while_everything_holds() {
        let row = SsoSession {
            session: "s".into(),
            created: 100,
            expires: 200,
            revoked: false,
            user_id: 7,
            username: "alice".into(),
            is_active: true,
            is_staff: false,
            tokens_valid_after: 100,
        };
        assert_eq!(who(&row, 150).map(|w| w.id), Some(7));
        assert!(who(&row, 200).is_none(), "expired");
        let revoked = SsoSession {
            revoked: true,
            ..row.clone()
        };
        assert!(who(&revoked, 150).is_none());
        let inactive = SsoSession {
            is_active: false,
            ..row.clone()
        };
        assert!(who(&inactive, 150).is_none());
        let cut = SsoSession {
            tokens_valid_after: 101,
            ..row
        };
        assert!(who(&cut, 150).is_none());
    }
}
