//! The rules, and the use cases every entry point calls.
//!
//! Routes and the command line both come here: they parse their input,
//! call one use case, and present its answer. Nothing here knows HTTP, and
//! nothing here writes SQL: records come from [`crate::store`].

pub mod accounts;
pub mod audit;
pub mod claims;
pub mod credentials;
pub mod django_dump;
pub mod django_hashes;
pub mod django_import;
pub mod first_run;
pub mod forward;
pub mod hasher;
pub mod ids;
pub mod jws;
pub mod key_rotation;
pub mod keyset;
pub mod ledger;
pub mod pairs;
pub mod policy;
pub mod sso;
pub mod standing;
pub mod throttle;
pub mod tokens;
pub mod usernames;
pub mod validated;
