//! The rules, and the use cases every entry point calls.
//!
//! Routes and the command line both come here: they parse their input,
//! call one use case, and present its answer. Nothing here knows HTTP, and
//! nothing here writes SQL: records come from [`crate::store`].

pub mod accounts;
pub mod credentials;
pub mod first_run;
pub mod hasher;
pub mod key_rotation;
pub mod keyset;
pub mod ledger;
pub mod pairs;
pub mod policy;
pub mod throttle;
pub mod tokens;
pub mod usernames;
