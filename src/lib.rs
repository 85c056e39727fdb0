//! latch: a single-binary authentication server that speaks the wire
//! protocol of Django REST Framework's Simple JWT.
//!
//! Three layers, each using only the ones below it:
//! - [`http`] speaks HTTP: fairings, the JSON catcher, request guards,
//!   bodies and one route module per resource;
//! - [`auth`] holds the rules (tokens and the key sets that sign them, the
//!   refresh ledger, credentials, hashing, password policy, throttling,
//!   importing from Django) and the use cases that routes and the command
//!   line ([`cli`]) call;
//! - [`store`] is the only place with SQL.
//!
//! Beside them: [`config`] (settings), [`error`] (errors, and the one place
//! they become HTTP), [`state`] (the shared [`state::App`]) and [`clock`].
//! [`build`] assembles the Rocket the binary launches and the tests drive.

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod http;
pub mod metrics;
pub mod state;
pub mod store;

use rocket::fairing::AdHoc;
use rocket::figment::providers::{Env, Format, Serialized, Toml};
use rocket::figment::{Figment, Profile};
use rocket::{Build, Rocket};

use crate::config::Settings;
use crate::error::StartError;
use crate::state::App;

/// Rocket's figment with latch's defaults beneath `Rocket.toml` and the
/// `ROCKET_` variables.
pub fn figment() -> Figment {
    let defaults = serde_json::json!({
        // No `Server: Rocket` banner.
        "ident": false,
        // `X-Real-IP` is not believed by default; see `trusted_proxies`.
        "ip_header": false,
        "limits": { "json": "16KiB", "form": "16KiB", "data-form": "64KiB", "string": "16KiB", "bytes": "16KiB" },
        // Warnings and errors only: latch writes its own one-line request
        // log (`log_format`) instead of Rocket's five lines a request.
        "log_level": "critical",
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

/// Reads the settings from `figment` and opens everything they name.
pub fn open(figment: &Figment) -> Result<App, StartError> {
    let settings = Settings::from_figment(figment).map_err(StartError::Setting)?;
    App::open(settings)
}

/// The whole server, ready to launch or to test.
pub fn build(figment: Figment) -> Rocket<Build> {
    let rocket = rocket::custom(figment)
        .attach(AdHoc::try_on_ignite("latch store", |rocket| async move {
            match open(rocket.figment()) {
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
                    state::start_background(app);
                    announce_start(rocket.config(), app);
                }
                http::routes::first_run::announce(rocket).await;
            })
        }))
        // Rocket's default Shield would set the same headers a second time;
        // `SecurityHeaders` sets them once, with latch's values.
        .attach(rocket::shield::Shield::new())
        .attach(http::conventions::TrailingSlash)
        .attach(http::conventions::SecurityHeaders)
        .attach(http::request_log::RequestLog)
        .register("/", http::catchers::catchers());
    http::routes::mount(rocket)
}

/// Says once where latch listens and what it runs on; the signing key is
/// named by where it comes from, never shown.
fn announce_start(config: &rocket::Config, app: &App) {
    if app.settings.log_format == config::LogFormat::Off {
        return;
    }
    let scheme = if config.tls_enabled() {
        "https"
    } else {
        "http"
    };
    let key = match app.settings.signing_key {
        Some(_) => "configured",
        None => "generated and kept in the database",
    };
    println!(
        "latch listening on {scheme}://{}:{}; database {}; {} signing key {key}",
        config.address,
        config.port,
        app.settings.database.display(),
        app.settings.algorithm.name(),
    );
}
