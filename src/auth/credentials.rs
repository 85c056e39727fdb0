//! Checking a username and password: throttled, the same answer and the
//! same work for every kind of failure, and a hash upgrade on success.

use std::net::IpAddr;

use crate::auth::throttle::Action;
use crate::auth::usernames;
use crate::error::{Error, Result};
use crate::state::App;
use crate::store::users::{self, User};

/// Returns the active user whose credentials these are. Unknown user,
/// wrong password and inactive user are one error, reached after one hash.
pub async fn check(app: &App, username: &str, password: String, ip: IpAddr) -> Result<User> {
    let username = usernames::normalize(username);
    let settings = &app.settings;
    let account = Action::LoginAccount.account(&username);
    let address = Action::LoginAddress.address(ip);
    let account_rule = Action::LoginAccount.rule(settings);
    let address_rule = Action::LoginAddress.rule(settings);
    let now = app.clock.now_secs_f64();
    let waits = [
        app.throttle.check(&account, account_rule, now),
        app.throttle.check(&address, address_rule, now),
    ];
    if let Some(wait) = waits.iter().filter_map(|w| w.err()).max() {
        return Err(Error::Throttled(wait));
    }

    let name = username.clone();
    let user = app.db.run(move |conn| users::by_name(conn, &name)).await?;
    let stored = user.as_ref().map(|u| u.password.clone());
    let verified = app.hasher.verify(password.clone(), stored).await?;
    let user = match user {
        Some(user) if verified.matches && user.is_active => user,
        _ => {
            // Failures spend the budget; the answer is the same either way.
            let now = app.clock.now_secs_f64();
            let _ = app.throttle.take(&account, account_rule, now);
            let _ = app.throttle.take(&address, address_rule, now);
            return Err(Error::NoActiveAccount);
        }
    };
    app.throttle.reset(&account);
    if verified.needs_rehash {
        let hash = app.hasher.hash(password).await?;
        let id = user.id;
        app.db
            .run(move |conn| users::set_password_hash(conn, id, &hash).map(|_| ()))
            .await?;
    }
    Ok(user)
}
