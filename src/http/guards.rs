//! Request guards. An `AuthUser` can only exist if the request carried a
//! valid access token of an active user whose tokens have not been cut off;
//! `StaffUser` adds the staff check on top.

use rocket::State;
use rocket::request::{FromRequest, Outcome, Request};

use crate::auth::audit::Actor;
use crate::auth::tokens::{Kind, Token};
use crate::error::{Error, TokenProblem, stash};
use crate::state::App;
use crate::store::sessions::ClientInfo;
use crate::store::users::User;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user: User,
    pub token: Token,
}

impl AuthUser {
    /// The session the presenting token belongs to, if latch issued it.
    pub fn session(&self) -> Option<&str> {
        self.token.session()
    }
}

/// An authenticated caller with `is_staff`.
#[derive(Debug, Clone)]
pub struct StaffUser(pub AuthUser);

impl AuthUser {
    /// The caller as the audit trail names them.
    pub fn actor(&self, client: ClientInfo) -> Actor {
        Actor::user(self.user.id, client)
    }
}

impl StaffUser {
    pub fn actor(&self, client: ClientInfo) -> Actor {
        self.0.actor(client)
    }
}

/// Splits `Authorization` the way Simple JWT does, in small steps that each
/// fail on their own: the header, a configured scheme (any case, RFC 7235),
/// exactly two parts.
fn bearer<'r>(req: &'r Request<'_>, app: &App) -> Result<&'r str, Error> {
    let header = req
        .headers()
        .get_one("Authorization")
        .ok_or(Error::NotAuthenticated)?;
    let mut parts = header.split_ascii_whitespace();
    let scheme = parts.next().ok_or(Error::NotAuthenticated)?;
    if !app
        .settings
        .auth_header_types
        .iter()
        .any(|t| t.eq_ignore_ascii_case(scheme))
    {
        return Err(Error::NotAuthenticated);
    }
    match (parts.next(), parts.next()) {
        (Some(token), None) => Ok(token),
        _ => Err(Error::BadAuthorizationHeader),
    }
}

/// The bearer check every protected route runs, and forward-auth too.
pub async fn authenticate(req: &Request<'_>) -> Result<AuthUser, Error> {
    let app = req
        .guard::<&State<App>>()
        .await
        .succeeded()
        .ok_or_else(|| Error::Internal("app state missing".into()))?;
    let raw = bearer(req, app)?;
    let token = app
        .keys
        .decode(raw, app.now())
        .map_err(Error::AccessToken)?;
    token.require(Kind::Access).map_err(Error::AccessToken)?;
    let user_id = token.user_id().ok_or(Error::NoUserId)?;
    let Ok(id) = user_id.parse::<i64>() else {
        return Err(Error::UserNotFound);
    };
    let (user, session_live) = app
        .standing
        .user(&app.db, id, token.session())
        .await?
        .ok_or(Error::UserNotFound)?;
    if !user.is_active {
        return Err(Error::UserInactive);
    }
    if token.cut_off(user.tokens_valid_after, session_live) {
        return Err(Error::AccessToken(TokenProblem::Blacklisted));
    }
    crate::http::request_log::note_user(req, user.id);
    Ok(AuthUser { user, token })
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AuthUser {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Error> {
        match authenticate(req).await {
            Ok(user) => Outcome::Success(user),
            Err(e) => Outcome::Error(stash(req, e)),
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for StaffUser {
    type Error = Error;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Error> {
        match AuthUser::from_request(req).await {
            Outcome::Success(user) if user.user.is_staff => Outcome::Success(StaffUser(user)),
            Outcome::Success(_) => Outcome::Error(stash(req, Error::Forbidden)),
            Outcome::Error(e) => Outcome::Error(e),
            Outcome::Forward(f) => Outcome::Forward(f),
        }
    }
}
