//! `latch user ...`: accounts from a shell, through the same use cases the
//! staff API calls.

use crate::auth::accounts::{self, NewUser, UserChanges};
use crate::auth::audit::Actor;
use crate::state::App;
use crate::store::users::rfc3339;

use super::{Outcome, find, read_password, text};

pub(super) async fn user_add(
    app: &App,
    username: String,
    staff: bool,
    password_stdin: bool,
) -> Outcome {
    let password = read_password(password_stdin)?;
    let new = NewUser {
        username,
        password,
        is_staff: staff,
        first_account: false,
    };
    let user = accounts::create_user(app, new, &Actor::command_line())
        .await
        .map_err(text)?;
    println!("created user {} (id {})", user.username, user.id);
    Ok(())
}

pub(super) async fn user_passwd(app: &App, username: &str, password_stdin: bool) -> Outcome {
    let user = find(app, username).await?;
    let password = read_password(password_stdin)?;
    accounts::reset_password(app, user.id, password, &Actor::command_line())
        .await
        .map_err(text)?;
    println!(
        "password changed for {}; all their sessions ended",
        user.username
    );
    Ok(())
}

pub(super) async fn user_list(app: &App) -> Outcome {
    let (_, all) = accounts::list_users(app, 0, i64::MAX).await.map_err(text)?;
    println!(
        "{:>6}  {:<24} {:<7} {:<6} date_joined",
        "id", "username", "active", "staff"
    );
    for u in all {
        println!(
            "{:>6}  {:<24} {:<7} {:<6} {}",
            u.id,
            u.username,
            u.is_active,
            u.is_staff,
            rfc3339(u.date_joined)
        );
    }
    Ok(())
}

/// Applies one staff change to `username` and says what was done.
pub(super) async fn user_change(
    app: &App,
    username: &str,
    changes: UserChanges,
    done: &str,
) -> Outcome {
    let user = find(app, username).await?;
    accounts::update_user(app, user.id, changes, &Actor::command_line())
        .await
        .map_err(text)?;
    println!("{done} {}", user.username);
    Ok(())
}

pub(super) async fn user_delete(app: &App, username: &str) -> Outcome {
    let user = find(app, username).await?;
    accounts::delete_user(app, user.id, &Actor::command_line())
        .await
        .map_err(text)?;
    println!("deleted {}", user.username);
    Ok(())
}
