//! Checking a username and password: throttled, the same answer and the
//! same work for every kind of failure, and a hash upgrade on success.
//!
//! The budget is reserved before the hash and given back on success, so
//! any number of parallel guesses spends it as surely as serial ones. A
//! client that presents a device token for this account (OWASP's device
//! cookies) spends that device's own budget instead of the account's and
//! the address's: a flood of wrong guesses from elsewhere cannot lock the
//! owner out of a browser they signed in from before.

use std::net::IpAddr;

use crate::auth::throttle::{Action, Rule};
use crate::auth::usernames;
use crate::error::{Error, Result};
use crate::state::App;
use crate::store::users::{self, User};

/// The buckets one login attempt spends.
struct Reservation {
    buckets: Vec<(String, Rule)>,
    /// Set when the client proved it signed in to this account before.
    device: bool,
}

impl Reservation {
    /// Takes one token from every bucket, or none of them.
    fn take(app: &App, buckets: Vec<(String, Rule)>, device: bool) -> Result<Reservation> {
        let now = app.clock.now_secs_f64();
        for (i, (key, rule)) in buckets.iter().enumerate() {
            if let Err(wait) = app.throttle.take(key, *rule, now) {
                for (taken, rule) in &buckets[..i] {
                    app.throttle.refund(taken, *rule, now);
                }
                return Err(Error::Throttled(wait));
            }
        }
        Ok(Reservation { buckets, device })
    }

    /// The owner got in: their tokens come back, and an unknown device's
    /// success clears the account's record of failures.
    fn settle(self, app: &App, account: &str) {
        let now = app.clock.now_secs_f64();
        for (key, rule) in &self.buckets {
            app.throttle.refund(key, *rule, now);
        }
        if !self.device {
            app.throttle.reset(account);
        }
    }
}

/// The device token's bucket, when `presented` is a live device token of
/// `user`: signed by us, unexpired, and issued after the user's cut-off
/// (so a password change or deactivation ends it).
fn device_bucket(app: &App, user: Option<&User>, presented: Option<&str>) -> Option<String> {
    let (user, raw) = (user?, presented?);
    let token = app.keys.decode_device(raw, app.now()).ok()?;
    let issued = token.issued_at()?;
    let ours = token.user_id()? == user.id.to_string() && issued > user.tokens_valid_after;
    ours.then(|| Action::LoginDevice.device(token.jti().unwrap_or_default()))
}

/// Returns the active user whose credentials these are. Unknown user,
/// wrong password and inactive user are one error, reached after one hash.
pub async fn check(
    app: &App,
    username: &str,
    password: String,
    ip: IpAddr,
    device: Option<&str>,
) -> Result<User> {
    let username = usernames::normalize(username);
    let settings = &app.settings;
    let name = username.clone();
    let user = app.db.run(move |conn| users::by_name(conn, &name)).await?;
    let account = Action::LoginAccount.account(&username);
    let reservation = match device_bucket(app, user.as_ref(), device) {
        Some(bucket) => {
            let rule = Action::LoginDevice.rule(settings);
            Reservation::take(app, vec![(bucket, rule)], true)?
        }
        None => {
            let buckets = vec![
                (account.clone(), Action::LoginAccount.rule(settings)),
                (
                    Action::LoginAddress.address(ip),
                    Action::LoginAddress.rule(settings),
                ),
            ];
            Reservation::take(app, buckets, false)?
        }
    };
    let stored = user.as_ref().map(|u| u.password.clone());
    let verified = app.hasher.verify(password.clone(), stored).await?;
    let mut user = match user {
        // Failures keep what they reserved; the answer is the same either way.
        Some(user) if verified.matches && user.is_active => user,
        _ => return Err(Error::NoActiveAccount),
    };
    reservation.settle(app, &account);
    if verified.needs_rehash {
        let hash = app.hasher.hash(password).await?;
        let (id, old) = (user.id, user.password.clone());
        let new = hash.clone();
        // Only over the hash we checked: a password changed meanwhile wins.
        let replaced = app
            .db
            .run(move |conn| users::replace_password_hash(conn, id, &old, &new))
            .await?;
        if !replaced {
            return Err(Error::NoActiveAccount);
        }
        user.password = hash;
    }
    Ok(user)
}
