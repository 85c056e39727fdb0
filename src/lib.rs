//! latch: a single-binary authentication server that speaks the wire
//! protocol of Django REST Framework's Simple JWT.
//!
//! [`build`] assembles the Rocket the binary launches and the tests drive:
//! settings come from Rocket's figment ([`config`]), an ignite fairing opens
//! and migrates the SQLite store ([`db`]) and resolves the signing key
//! ([`app`]), request guards authenticate ([`guards`]), handlers call plain
//! store functions on blocking threads ([`grants`], [`sessions`], [`users`]),
//! and every error becomes JSON in one place ([`error`]).

pub mod accounts;
pub mod app;
pub mod config;
pub mod db;
pub mod error;
pub mod grants;
pub mod guards;
pub mod http;
pub mod login;
pub mod passwords;
pub mod payload;
pub mod policy;
pub mod routes;
pub mod sessions;
pub mod setup;
pub mod throttle;
pub mod tokens;
pub mod users;
pub mod writer;

use rocket::fairing::AdHoc;
use rocket::figment::providers::{Env, Format, Serialized, Toml};
use rocket::figment::{Figment, Profile};
use rocket::{Build, Rocket};

use crate::app::App;
use crate::config::Settings;

/// Rocket's figment with latch's defaults beneath `Rocket.toml` and the
/// `ROCKET_` variables.
pub fn figment() -> Figment {
    let defaults = serde_json::json!({
        // No `Server: Rocket` banner.
        "ident": false,
        // `X-Real-IP` is not believed by default; see `trusted_proxies`.
        "ip_header": false,
        "limits": { "json": "16KiB", "form": "16KiB", "data-form": "64KiB", "string": "16KiB", "bytes": "16KiB" },
        "log_level": "normal",
    });
    Figment::from(rocket::Config::default())
        .merge(Serialized::defaults(defaults))
        .merge(Toml::file(Env::var_or("ROCKET_CONFIG", "Rocket.toml")).nested())
        .merge(Env::prefixed("ROCKET_").ignore(&["PROFILE"]).global())
        .select(Profile::from_env_or(
            "ROCKET_PROFILE",
            rocket::Config::DEFAULT_PROFILE,
        ))
}

/// The whole server, ready to launch or to test.
pub fn build(figment: Figment) -> Rocket<Build> {
    rocket::custom(figment)
        .attach(AdHoc::try_on_ignite("latch store", |rocket| async move {
            let opened = Settings::from_figment(rocket.figment())
                .map_err(|e| format!("invalid setting: {e}"))
                .and_then(|settings| App::open(settings).map_err(|e| e.to_string()));
            match opened {
                Ok(app) => Ok(rocket.manage(app)),
                Err(e) => {
                    rocket::error!("latch cannot start: {e}");
                    Err(rocket)
                }
            }
        }))
        .attach(AdHoc::on_liftoff("latch background", |rocket| {
            Box::pin(async move {
                if let Some(app) = rocket.state::<App>() {
                    app::start_background(app);
                }
                setup::announce(rocket).await;
            })
        }))
        .manage(setup::Setup::default())
        // Rocket's default Shield would set the same headers a second time;
        // `SecurityHeaders` sets them once, with latch's values.
        .attach(rocket::shield::Shield::new())
        .attach(http::TrailingSlash)
        .attach(http::SecurityHeaders)
        .mount("/", routes::all())
        .register("/", http::catchers())
}
