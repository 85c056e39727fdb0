//! First run: claiming an empty instance.
//!
//! A fresh latch has no users, and whoever creates the first staff account
//! owns it. So the right is given to whoever can read the server's console:
//! at liftoff, if the users table is empty, a random token is printed as
//! part of a setup link. The token lives only in this process's memory: it
//! dies when it is used, and with the process. Without it nobody can claim
//! the instance, and once any user exists the endpoint refuses everyone.

use std::net::IpAddr;
use std::sync::Mutex;

use rocket::http::Status;
use rocket::response::status::Custom;
use rocket::serde::json::Json;
use rocket::{Orbit, Rocket, Route, State, post, routes};
use serde_json::Value;

use crate::app::App;
use crate::db::now;
use crate::error::{Error, Result};
use crate::guards::ClientAddr;
use crate::payload::Payload;
use crate::policy;
use crate::routes::tokens::{credential_fields, fields2, throttle_requests};
use crate::users::{self, PublicUser};

/// Random bytes in a token: far beyond guessing, even unthrottled.
const TOKEN_BYTES: usize = 32;

/// The pending setup token, managed as Rocket state.
#[derive(Default)]
pub struct Setup {
    token: Mutex<Option<String>>,
}

impl Setup {
    /// The token still waiting to be used, if the instance is unclaimed.
    pub fn token(&self) -> Option<String> {
        self.token.lock().ok()?.clone()
    }

    /// Creates a fresh token, replacing any earlier one.
    fn arm(&self) -> Option<String> {
        let token = crate::tokens::random_hex(TOKEN_BYTES);
        *self.token.lock().ok()? = Some(token.clone());
        Some(token)
    }

    fn disarm(&self) {
        if let Ok(mut slot) = self.token.lock() {
            *slot = None;
        }
    }

    /// Whether `presented` is the pending token; leaves it pending.
    fn accepts(&self, presented: &str) -> bool {
        self.token
            .lock()
            .ok()
            .and_then(|slot| slot.as_deref().map(|t| same(t, presented)))
            .unwrap_or(false)
    }

    /// Takes the token if `presented` is it: of two racing requests, one
    /// gets it.
    fn redeem(&self, presented: &str) -> bool {
        let Ok(mut slot) = self.token.lock() else {
            return false;
        };
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
    let (a, b) = (expected.as_bytes(), presented.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Called from the liftoff hook: arms a token and prints the setup link
/// when there are no users yet.
pub async fn announce(rocket: &Rocket<Orbit>) {
    let (Some(app), Some(setup)) = (rocket.state::<App>(), rocket.state::<Setup>()) else {
        return;
    };
    match app.db.run(|conn| users::count(conn)).await {
        Ok(0) => {
            if let Some(token) = setup.arm() {
                println!(
                    "First run: create the first staff account at {}/setup#{token}",
                    base_url(rocket.config())
                );
            }
        }
        Ok(_) => {}
        Err(e) => rocket::warn!("cannot count users for first-run setup: {e}"),
    }
}

/// Where a browser on this machine reaches the server: an unspecified
/// listen address (`0.0.0.0`, `::`) is not one to type in.
fn base_url(config: &rocket::Config) -> String {
    let scheme = if config.tls_enabled() {
        "https"
    } else {
        "http"
    };
    let host = match config.address {
        IpAddr::V4(ip) if ip.is_unspecified() => "127.0.0.1".to_string(),
        IpAddr::V6(ip) if ip.is_unspecified() => "[::1]".to_string(),
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    format!("{scheme}://{host}:{}", config.port)
}

pub fn routes() -> Vec<Route> {
    routes![create_first_account]
}

fn bad_token() -> Error {
    Error::ForbiddenDetail("The setup link is invalid or has already been used.".into())
}

fn already_set_up() -> Error {
    Error::ForbiddenDetail("This instance already has an account. Sign in instead.".into())
}

/// `POST /api/setup` `{"token", "username", "password"}`: creates the
/// first, staff, account. The token is checked first, so without it
/// nothing else about the instance is revealed.
#[post("/api/setup", data = "<payload>")]
async fn create_first_account(
    app: &State<App>,
    setup: &State<Setup>,
    addr: ClientAddr,
    payload: Payload,
) -> Result<Custom<Json<PublicUser>>> {
    throttle_requests(app, addr)?;
    let token = match payload.0.get("token") {
        Some(Value::String(token)) => token.trim().to_string(),
        _ => return Err(bad_token()),
    };
    if !setup.accepts(&token) {
        return Err(bad_token());
    }
    if app.db.run(|conn| users::count(conn)).await? > 0 {
        setup.disarm();
        return Err(already_set_up());
    }
    // Mistakes in the form leave the token alive, so the user can retry.
    let [name, password] = fields2(&payload, credential_fields(app))?;
    let name = users::normalize_username(&name);
    if let Some(problem) = users::username_problem(&name, app.settings.max_username_length) {
        return Err(Error::Fields(vec![("username".into(), vec![problem])]));
    }
    policy::check(&app.settings, &name, &password)
        .map_err(|problems| Error::Fields(vec![("password".into(), problems)]))?;
    let hash = app.hasher.hash(password).await?;
    if !setup.redeem(&token) {
        return Err(bad_token());
    }
    let created = app
        .db
        .run(move |conn| {
            // Immediate: no other writer can add a user between the count
            // and the insert.
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            if users::count(&tx)? > 0 {
                return Ok(None);
            }
            let user = users::create(&tx, &name, &hash, true, now())?;
            tx.commit()?;
            Ok(user)
        })
        .await?;
    let user = created.ok_or_else(already_set_up)?;
    rocket::info!("first-run setup created staff account {:?}", user.username);
    Ok(Custom(Status::Created, Json(user.public())))
}
