//! The protected resource, who the bearer is, and their password.

use rocket::serde::json::Json;
use rocket::{Route, State, get, post, routes};

use crate::auth::accounts::{self, PublicUser};
use crate::auth::pairs::Pair;
use crate::error::Result;
use crate::http::body::{Body, Field};
use crate::http::guards::AuthUser;
use crate::http::pagination::Page;
use crate::http::trail;
use crate::state::App;
use crate::store::audit::{Filter, Listed};
use crate::store::sessions::ClientInfo;

pub const BASE: &str = "/api/me";
pub const DEMAND: super::Demand = super::Demand::User;

pub fn routes() -> Vec<Route> {
    routes![me, change_password, activity]
}

#[get("/")]
fn me(caller: AuthUser) -> Json<PublicUser> {
    Json(PublicUser::of(&caller.user))
}

/// Changes the password, ends every session (this one too), and hands back
/// a fresh pair so the client that changed it stays signed in.
#[post("/password", data = "<body>")]
async fn change_password(
    app: &State<App>,
    caller: AuthUser,
    body: Body,
    client: ClientInfo,
) -> Result<Json<Pair>> {
    let [old, new] = body.two([
        Field::password("old_password", &app.settings),
        Field::password("new_password", &app.settings),
    ])?;
    accounts::change_own_password(app, &caller.user, old, new, client)
        .await
        .map(Json)
}

/// The caller's own recent activity, from the audit trail.
#[get("/activity?<page>&<page_size>")]
async fn activity(
    app: &State<App>,
    caller: AuthUser,
    page: Option<&str>,
    page_size: Option<&str>,
) -> Result<Json<Page<Listed>>> {
    let filter = Filter {
        user_id: Some(caller.user.id),
        ..Filter::default()
    };
    let base = format!("{BASE}/activity");
    trail::page(app, &base, filter, String::new(), page, page_size)
        .await
        .map(Json)
}
