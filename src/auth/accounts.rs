//! Account use cases: creating users, changing passwords, staff changes,
//! sessions and "log out everywhere". Registration, the staff API,
//! first-run setup and the command line all create users through
//! [`create_user`], so one set of checks holds everywhere.

use serde::Serialize;
use serde_json::json;

use crate::auth::audit::{self, Actor, Event};
use crate::auth::pairs::{self, Pair, Started};
use crate::auth::throttle::Action;
use crate::auth::{policy, usernames};
use crate::error::{Error, Result};
use crate::state::App;
use crate::store::accounts::{self as account_store, Refusal};
use crate::store::sessions::{self, ClientInfo, Listed};
use crate::store::users::{self, User, rfc3339};

/// What the API shows of a user.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicUser {
    pub id: i64,
    pub username: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub date_joined: String,
    pub last_login: Option<String>,
}

impl PublicUser {
    pub fn of(user: &User) -> PublicUser {
        PublicUser {
            id: user.id,
            username: user.username.clone(),
            is_active: user.is_active,
            is_staff: user.is_staff,
            date_joined: rfc3339(user.date_joined),
            last_login: user.last_login.map(rfc3339),
        }
    }
}

/// A user to create, as the caller received it.
#[derive(Clone)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub is_staff: bool,
    /// Only if no user exists yet (first-run setup).
    pub first_account: bool,
}

/// A [`NewUser`] whose name and password passed every rule.
pub struct CheckedUser(NewUser);

/// A checked user with the password hashed, ready to insert.
pub struct HashedUser {
    user: NewUser,
    hash: String,
}

/// The username as stored, or a field error on `username`.
pub fn checked_username(app: &App, raw: &str) -> Result<String> {
    let name = usernames::normalize(raw.trim());
    if name.is_empty() {
        return Err(Error::field("username", "This field may not be blank."));
    }
    if let Some(problem) = usernames::problem(&name, app.settings.max_username_length) {
        return Err(Error::field("username", &problem));
    }
    Ok(name)
}

/// Checks a new password against the policy, as a field error on `field`.
pub fn enforce_policy(app: &App, username: &str, password: &str, field: &str) -> Result<()> {
    policy::check(&app.settings, username, password)
        .map_err(|problems| Error::Fields(vec![(field.to_string(), problems)]))
}

pub fn check_new_user(app: &App, mut new: NewUser) -> Result<CheckedUser> {
    new.username = checked_username(app, &new.username)?;
    enforce_policy(app, &new.username, &new.password, "password")?;
    Ok(CheckedUser(new))
}

pub async fn hash_new_user(app: &App, checked: CheckedUser) -> Result<HashedUser> {
    let user = checked.0;
    let hash = app.hasher.hash(user.password.clone()).await?;
    Ok(HashedUser { user, hash })
}

/// `Ok(None)`: the name or a look-alike of it is taken, or (for the first
/// account) the instance already has a user.
pub async fn insert_new_user(app: &App, hashed: HashedUser) -> Result<Option<User>> {
    let now = app.now();
    let HashedUser { user, hash } = hashed;
    let key = usernames::key(&user.username);
    app.db
        .run(move |conn| {
            if user.first_account {
                users::create_first(conn, &user.username, &key, &hash, now)
            } else {
                users::create(conn, &user.username, &key, &hash, user.is_staff, now)
            }
        })
        .await
}

/// Validates, hashes and creates an active user.
pub async fn create_user(app: &App, new: NewUser, by: &Actor) -> Result<User> {
    let checked = check_new_user(app, new)?;
    let hashed = hash_new_user(app, checked).await?;
    let user = insert_new_user(app, hashed)
        .await?
        .ok_or_else(|| Error::field("username", "A user with that username already exists."))?;
    note_created(app, &user, by);
    Ok(user)
}

pub fn note_created(app: &App, user: &User, by: &Actor) {
    let detail = json!({ "username": user.username, "is_staff": user.is_staff });
    audit::note(app, Event::UserCreated, Some(user.id), by, detail);
}

/// Open registration, which also signs the new user in. An empty instance
/// belongs to whoever holds the first-run link, so nobody registers before
/// that account exists.
pub async fn register(
    app: &App,
    username: String,
    password: String,
    client: ClientInfo,
) -> Result<(User, Pair)> {
    if count_users(app).await? == 0 {
        return Err(Error::ForbiddenDetail(
            "Registration opens once the first staff account has been set up.".into(),
        ));
    }
    let new = NewUser {
        username,
        password,
        is_staff: false,
        first_account: false,
    };
    let user = create_user(app, new, &Actor::anonymous(client.clone())).await?;
    let pair = pairs::issue(app, &user, client, Started::Elsewhere).await?;
    Ok((user, pair))
}

/// A staff member mints a pair for a user, as Simple JWT's
/// `RefreshToken.for_user`: a session of its own, named in the user's
/// session list after the staff member who made it, and ended by every
/// kind of log-out like any other.
pub async fn mint_for(app: &App, staff: &User, id: i64, by: &Actor) -> Result<Pair> {
    let user = find(app, id).await?;
    if !user.is_active {
        return Err(Error::BadRequest("This user is inactive.".into()));
    }
    let client = ClientInfo {
        user_agent: format!(
            "Minted by staff member {} (id {})",
            staff.username, staff.id
        ),
        ip: by.client.ip.clone(),
    };
    let pair = pairs::issue(app, &user, client, Started::Elsewhere).await?;
    audit::note(app, Event::TokensMinted, Some(id), by, json!({}));
    Ok(pair)
}

pub async fn find(app: &App, id: i64) -> Result<User> {
    app.db
        .run(move |conn| users::by_id(conn, id))
        .await?
        .ok_or(Error::NotFound)
}

pub async fn find_by_name(app: &App, username: &str) -> Result<Option<User>> {
    let name = usernames::normalize(username.trim());
    app.db.run(move |conn| users::by_name(conn, &name)).await
}

/// Changes the caller's own password, ends every session (this one too),
/// and hands back a fresh pair so the client that changed it stays signed
/// in. The old password is throttled like a login: a stolen access token
/// must not become a password oracle.
pub async fn change_own_password(
    app: &App,
    user: &User,
    old: String,
    new: String,
    client: ClientInfo,
) -> Result<Pair> {
    // Reserved before the hash, as a login's budget is, so parallel
    // guesses cannot all slip past one check.
    let bucket = Action::OldPassword.user(user.id);
    let rule = Action::OldPassword.rule(&app.settings);
    app.throttle
        .take(&bucket, rule, app.clock.now_secs_f64())
        .map_err(Error::Throttled)?;
    let verified = app.hasher.verify(old, Some(user.password.clone())).await?;
    if !verified.matches {
        return Err(wrong_old_password());
    }
    app.throttle.refund(&bucket, rule, app.clock.now_secs_f64());
    enforce_policy(app, &user.username, &new, "new_password")?;
    let hash = app.hasher.hash(new).await?;
    let (id, checked, now) = (user.id, user.password.clone(), app.now());
    // Only over the hash that was checked: a change or reset that landed
    // while the hash ran is not overwritten.
    let replaced = app
        .db
        .run(move |conn| account_store::replace_password(conn, id, &checked, &hash, now))
        .await?;
    if !replaced {
        return Err(wrong_old_password());
    }
    let changed = find(app, user.id).await?;
    let actor = Actor::user(user.id, client.clone());
    audit::note(
        app,
        Event::PasswordChanged,
        Some(user.id),
        &actor,
        json!({}),
    );
    pairs::issue(app, &changed, client, Started::Elsewhere).await
}

fn wrong_old_password() -> Error {
    Error::field(
        "old_password",
        "Your old password was entered incorrectly. Please enter it again.",
    )
}

/// Sets a password (the caller has applied the policy) and ends every
/// session of the user.
pub async fn set_password(app: &App, id: i64, password: String) -> Result<()> {
    let hash = app.hasher.hash(password).await?;
    let now = app.now();
    let found = app
        .db
        .run(move |conn| account_store::set_password(conn, id, &hash, now))
        .await?;
    found.then_some(()).ok_or(Error::NotFound)
}

/// A staff reset: the policy applies, every session of the user ends.
pub async fn reset_password(app: &App, id: i64, password: String, by: &Actor) -> Result<()> {
    let user = find(app, id).await?;
    enforce_policy(app, &user.username, &password, "password")?;
    set_password(app, id, password).await?;
    audit::note(app, Event::PasswordReset, Some(id), by, json!({}));
    Ok(())
}

/// Changes to a user from the staff API or the command line.
#[derive(Debug, Default, Clone)]
pub struct UserChanges {
    pub username: Option<String>,
    pub is_active: Option<bool>,
    pub is_staff: Option<bool>,
}

/// Applies `changes`; deactivation ends the user's sessions and tokens at
/// once. The last active staff account cannot demote, deactivate or delete
/// itself (or be), so the instance always keeps an administrator.
pub async fn update_user(app: &App, id: i64, changes: UserChanges, by: &Actor) -> Result<User> {
    let username = match &changes.username {
        Some(raw) => Some(checked_username(app, raw)?),
        None => None,
    };
    let now = app.now();
    let outcome = app
        .db
        .run(move |conn| {
            let name = username.as_deref().map(|n| (n, usernames::key(n)));
            let name = name.as_ref().map(|(n, k)| (*n, k.as_str()));
            account_store::change(conn, id, name, changes.is_staff, changes.is_active, now)
        })
        .await?;
    outcome.map_err(refused)?;
    let user = find(app, id).await?;
    let detail = json!({
        "username": changes.username.as_ref().map(|_| &user.username),
        "is_staff": changes.is_staff,
        "is_active": changes.is_active,
    });
    audit::note(app, Event::UserChanged, Some(id), by, detail);
    Ok(user)
}

pub async fn delete_user(app: &App, id: i64, by: &Actor) -> Result<()> {
    let username = find(app, id).await?.username;
    let outcome = app
        .db
        .run(move |conn| account_store::delete(conn, id))
        .await?;
    outcome.map_err(refused)?;
    let detail = json!({ "username": username });
    audit::note(app, Event::UserDeleted, Some(id), by, detail);
    Ok(())
}

fn refused(refusal: Refusal) -> Error {
    match refusal {
        Refusal::NotFound => Error::NotFound,
        Refusal::NameTaken => Error::field("username", "A user with that username already exists."),
        Refusal::LastStaff => Error::Conflict(
            "This is the last active staff account. Make another user staff first.".into(),
        ),
    }
}

/// "Log out everywhere": every session and every earlier access token.
pub async fn log_out_everywhere(app: &App, id: i64, by: &Actor) -> Result<usize> {
    let now = app.now();
    let revoked = app
        .db
        .run(move |conn| account_store::log_out_everywhere(conn, id, now))
        .await?;
    let detail = json!({ "revoked": revoked });
    audit::note(app, Event::LogoutEverywhere, Some(id), by, detail);
    Ok(revoked)
}

pub async fn list_sessions(app: &App, id: i64, current: Option<String>) -> Result<Vec<Listed>> {
    let now = app.now();
    app.db
        .run(move |conn| sessions::list(conn, id, current.as_deref(), now))
        .await
}

/// Ends one of the user's sessions; someone else's is as absent as a
/// made-up one.
pub async fn revoke_session(app: &App, id: i64, session: String, by: &Actor) -> Result<()> {
    let detail = json!({ "session": session });
    app.db
        .run(move |conn| {
            if sessions::owner(conn, &session)? != Some(id) {
                return Err(Error::NotFound);
            }
            sessions::revoke(conn, &session)
        })
        .await?;
    audit::note(app, Event::SessionEnded, Some(id), by, detail);
    Ok(())
}

/// One page of users in id order, and how many there are in all.
pub async fn list_users(app: &App, offset: i64, limit: i64) -> Result<(i64, Vec<User>)> {
    app.db
        .run(move |conn| users::page(conn, offset, limit))
        .await
}

/// How many users' names contain `term`.
pub async fn count_matching(app: &App, term: &str) -> Result<i64> {
    let term = term.to_string();
    app.db
        .run(move |conn| users::count_matching(conn, &term))
        .await
}

/// One page, in id order, of the users whose names contain `term`.
pub async fn list_matching(app: &App, term: &str, offset: i64, limit: i64) -> Result<Vec<User>> {
    let term = term.to_string();
    app.db
        .run(move |conn| users::page_matching(conn, &term, offset, limit))
        .await
}

pub async fn count_users(app: &App) -> Result<i64> {
    app.db.run(|conn| users::count(conn)).await
}

/// Live sessions and users, for `/metrics`.
pub async fn levels(app: &App) -> Result<(i64, i64)> {
    let now = app.now();
    app.db
        .run(move |conn| Ok((sessions::count_live(conn, now)?, users::count(conn)?)))
        .await
}
