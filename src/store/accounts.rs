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

/// Activates or deactivates; deactivation ends every session at once.
pub fn set_active(conn: &mut Connection, id: i64, active: bool, now: i64) -> Result<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if !users::set_active(&tx, id, active)? {
        return Ok(false);
    }
    if !active {
        users::cut_off_tokens(&tx, id, now)?;
        sessions::revoke_all(&tx, id)?;
    }
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
