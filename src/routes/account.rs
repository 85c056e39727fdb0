//! The caller's own account: password change, and open registration.

use rocket::http::Status;
use rocket::response::status::Custom;
use rocket::serde::json::Json;
use rocket::{Route, State, post, routes};

use crate::app::App;
use crate::config::Registration;
use crate::db::now;
use crate::error::{Error, Result};
use crate::grants::Pair;
use crate::guards::{AuthUser, ClientAddr};
use crate::payload::{Field, Payload};
use crate::routes::tokens::{credential_fields, issue_pair, throttle_requests};
use crate::sessions::Origin;
use crate::users::{self, PublicUser};
use crate::{accounts, policy, throttle};

pub fn routes() -> Vec<Route> {
    routes![change_password, register]
}

/// Checks a new password against the policy, as a field error on `field`.
pub fn enforce_policy(app: &App, username: &str, password: &str, field: &str) -> Result<()> {
    policy::check(&app.settings, username, password)
        .map_err(|problems| Error::Fields(vec![(field.to_string(), problems)]))
}

/// Changes the password, ends every session (this one too), and hands back
/// a fresh pair so the client that changed it stays signed in.
#[post("/api/me/password", data = "<payload>")]
async fn change_password(
    app: &State<App>,
    caller: AuthUser,
    payload: Payload,
    origin: Origin,
) -> Result<Json<Pair>> {
    let fields = [
        Field::password("old_password", &app.settings),
        Field::password("new_password", &app.settings),
    ];
    let mut values = payload.strings(&fields)?.into_iter();
    let (old, new) = (
        values.next().unwrap_or_default(),
        values.next().unwrap_or_default(),
    );
    let user = caller.user;
    // A stolen access token must not become a password oracle.
    let account = throttle::account_key(&user.username);
    let rule = throttle::Rule {
        burst: app.settings.login_account_burst,
        per_hour: app.settings.login_account_per_hour,
    };
    app.throttle
        .check(&account, rule)
        .map_err(Error::Throttled)?;
    let verified = app.hasher.verify(old, Some(user.password.clone())).await?;
    if !verified.matches {
        let _ = app.throttle.take(&account, rule);
        return Err(Error::field(
            "old_password",
            "Your old password was entered incorrectly. Please enter it again.",
        ));
    }
    enforce_policy(app, &user.username, &new, "new_password")?;
    let hash = app.hasher.hash(new).await?;
    let id = user.id;
    app.db
        .run(move |conn| accounts::set_password(conn, id, &hash, now()))
        .await?;
    issue_pair(app, id, origin).await.map(Json)
}

#[post("/api/register", data = "<payload>")]
async fn register(
    app: &State<App>,
    addr: ClientAddr,
    payload: Payload,
) -> Result<Custom<Json<PublicUser>>> {
    if app.settings.registration != Registration::Open {
        return Err(Error::ForbiddenDetail("Registration is closed.".into()));
    }
    throttle_requests(app, addr)?;
    let user = create_user(app, &payload, false).await?;
    Ok(Custom(Status::Created, Json(user.public())))
}

/// Validates `username`/`password` from a body and creates an active user;
/// shared by registration and the staff API.
pub async fn create_user(app: &App, payload: &Payload, is_staff: bool) -> Result<users::User> {
    let mut values = payload.strings(&credential_fields(app))?.into_iter();
    let (name, password) = (
        values.next().unwrap_or_default(),
        values.next().unwrap_or_default(),
    );
    let name = users::normalize_username(&name);
    if let Some(problem) = users::username_problem(&name, app.settings.max_username_length) {
        return Err(Error::Fields(vec![("username".into(), vec![problem])]));
    }
    enforce_policy(app, &name, &password, "password")?;
    let hash = app.hasher.hash(password).await?;
    app.db
        .run(move |conn| users::create(conn, &name, &hash, is_staff, now()))
        .await?
        .ok_or_else(|| Error::field("username", "A user with that username already exists."))
}
