//! First run: claiming an empty instance.
//!
//! A fresh latch has no users, and whoever creates the first staff account
//! owns it. So the right is given to whoever can read the server's console:
//! at liftoff, if the users table is empty, a random token is printed as
//! part of a setup link. The token lives only in this process's memory: it
//! dies when it is used, and with the process. Without it nobody can claim
//! the instance, and once any user exists the claim is refused to everyone.

use std::sync::{Mutex, MutexGuard, PoisonError};

use subtle::ConstantTimeEq;

use serde_json::json;

use crate::auth::accounts::{self, NewUser};
use crate::auth::audit::{self, Actor, Event};
use crate::auth::tokens::random_hex;
use crate::error::{Error, Result};
use crate::state::App;
use crate::store::users::{self, User};

/// Random bytes in a token: far beyond guessing, even unthrottled.
const TOKEN_BYTES: usize = 32;

/// The pending setup token.
#[derive(Default)]
pub struct FirstRun {
    token: Mutex<Option<String>>,
}

impl FirstRun {
    fn slot(&self) -> MutexGuard<'_, Option<String>> {
        self.token.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The token still waiting to be used, if the instance is unclaimed.
    pub fn token(&self) -> Option<String> {
        self.slot().clone()
    }

    /// Creates a fresh token, replacing any earlier one.
    fn arm(&self) -> String {
        let token = random_hex(TOKEN_BYTES);
        *self.slot() = Some(token.clone());
        token
    }

    fn disarm(&self) {
        *self.slot() = None;
    }

    /// Whether `presented` is the pending token; leaves it pending.
    fn accepts(&self, presented: &str) -> bool {
        self.slot().as_deref().is_some_and(|t| same(t, presented))
    }

    /// Takes the token if `presented` is it: of two racing requests, one
    /// gets it.
    fn redeem(&self, presented: &str) -> bool {
        let mut slot = self.slot();
        if slot.as_deref().is_some_and(|t| same(t, presented)) {
            *slot = None;
            return true;
        }
        false
    }
}

/// Compares in time independent of where the strings differ. The length
/// is no secret: every token has the same one.
fn same(expected: &str, presented: &str) -> bool {
    expected.as_bytes().ct_eq(presented.as_bytes()).into()
}

fn bad_token() -> Error {
    Error::ForbiddenDetail("The setup link is invalid or has already been used.".into())
}

fn already_set_up() -> Error {
    Error::ForbiddenDetail("This instance already has an account. Sign in instead.".into())
}

/// Arms a token when there are no users yet; called once at liftoff.
pub async fn arm_if_unclaimed(app: &App) -> Result<Option<String>> {
    let users = app.db.run(|conn| users::count(conn)).await?;
    Ok((users == 0).then(|| app.first_run.arm()))
}

/// Checks the token before anything else, so without it nothing about the
/// instance is revealed; the token stays pending, so a mistake in the form
/// can be corrected.
pub async fn check(app: &App, presented: &str) -> Result<()> {
    if !app.first_run.accepts(presented) {
        return Err(bad_token());
    }
    if app.db.run(|conn| users::count(conn)).await? > 0 {
        app.first_run.disarm();
        return Err(already_set_up());
    }
    Ok(())
}

/// Creates the first, staff, account, spending the token.
pub async fn claim(
    app: &App,
    presented: &str,
    username: String,
    password: String,
    by: &Actor,
) -> Result<User> {
    check(app, presented).await?;
    let new = NewUser {
        username,
        password,
        is_staff: true,
        first_account: true,
    };
    let checked = accounts::check_new_user(app, new)?;
    let hashed = accounts::hash_new_user(app, checked).await?;
    if !app.first_run.redeem(presented) {
        return Err(bad_token());
    }
    let user = accounts::insert_new_user(app, hashed)
        .await?
        .ok_or_else(already_set_up)?;
    accounts::note_created(app, &user, by);
    audit::note(app, Event::FirstRunClaimed, Some(user.id), by, json!({}));
    rocket::info!("first-run setup created staff account {:?}", user.username);
    Ok(user)
}
