//! Account changes that must also end sessions: each one moves the user's
//! token cut-off and revokes their sessions in the same transaction, so no
//! crash can leave a changed password with live old tokens.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::Result;
use crate::store::{sessions, users};

/// Sets a new password hash and ends every session. `Ok(false)`: no user.
pub fn set_password(conn: &mut Connection, id: i64, hash: &str, now: i64) -> Result<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if !users::set_password_hash(&tx, id, hash)? {
        return Ok(false);
    }
    users::cut_off_tokens(&tx, id, now)?;
    sessions::revoke_all(&tx, id)?;
    tx.commit()?;
    Ok(true)
}

/// As [`set_password`], but only while `old` is still the stored hash.
/// `Ok(false)`: it changed meanwhile (or the user is gone).
pub fn replace_password(
    conn: &mut Connection,
    id: i64,
    old: &str,
    new: &str,
    now: i64,
) -> Result<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if !users::replace_password_hash(&tx, id, old, new)? {
        return Ok(false);
    }
    users::cut_off_tokens(&tx, id, now)?;
    sessions::revoke_all(&tx, id)?;
    tx.commit()?;
    Ok(true)
}

/// "Log out everywhere": every session and every earlier access token.
pub fn log_out_everywhere(conn: &mut Connection, id: i64, now: i64) -> Result<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    users::cut_off_tokens(&tx, id, now)?;
    let revoked = sessions::revoke_all(&tx, id)?;
    tx.commit()?;
    Ok(revoked)
}

/// Why a staff change was not made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotFound,
    NameTaken,
    /// It would leave no active staff account.
    LastStaff,
}

/// Renames (`username` is the name and its look-alike key), (de)activates and grants or removes staff in one immediate
/// transaction, refusing to leave the instance without an active staff
/// account; deactivation ends every session at once.
pub fn change(
    conn: &mut Connection,
    id: i64,
    username: Option<(&str, &str)>,
    is_staff: Option<bool>,
    is_active: Option<bool>,
    now: i64,
) -> Result<Result<(), Refusal>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(user) = users::by_id(&tx, id)? else {
        return Ok(Err(Refusal::NotFound));
    };
    let stays_staff = is_staff.unwrap_or(user.is_staff) && is_active.unwrap_or(user.is_active);
    if user.is_staff && user.is_active && !stays_staff && other_active_staff(&tx, id)? == 0 {
        return Ok(Err(Refusal::LastStaff));
    }
    if let Some((name, key)) = username
        && !users::rename(&tx, id, name, key)?
    {
        return Ok(Err(Refusal::NameTaken));
    }
    if let Some(staff) = is_staff {
        users::set_staff(&tx, id, staff)?;
    }
    if let Some(active) = is_active {
        users::set_active(&tx, id, active)?;
        if !active {
            users::cut_off_tokens(&tx, id, now)?;
            sessions::revoke_all(&tx, id)?;
        }
    }
    tx.commit()?;
    Ok(Ok(()))
}

/// Deletes a user unless they are the last active staff account.
pub fn delete(conn: &mut Connection, id: i64) -> Result<Result<(), Refusal>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(user) = users::by_id(&tx, id)? else {
        return Ok(Err(Refusal::NotFound));
    };
    if user.is_staff && user.is_active && other_active_staff(&tx, id)? == 0 {
        return Ok(Err(Refusal::LastStaff));
    }
    users::delete(&tx, id)?;
    tx.commit()?;
    Ok(Ok(()))
}

fn other_active_staff(conn: &Connection, id: i64) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM users WHERE is_staff = 1 AND is_active = 1 AND id != ?1",
        [id],
        |r| r.get(0),
    )?)
}
