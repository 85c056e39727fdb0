//! The password policy of NIST SP 800-63B: a minimum length, no composition
//! rules, no truncation, and no password that is common or made from the
//! context (the username, the service name). zxcvbn does the guessing.

use zxcvbn::{Score, zxcvbn};

use crate::config::Settings;

/// zxcvbn only looks this far: its cost grows with the length, and a
/// password this long is no longer in danger of being common.
const ANALYSED_CHARS: usize = 100;

/// Every rule the password breaks, each as Django words it.
pub fn check(settings: &Settings, username: &str, password: &str) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let length = password.chars().count();
    if length < settings.password_min_length {
        problems.push(format!(
            "This password is too short. It must contain at least {} characters.",
            settings.password_min_length
        ));
    }
    if length > settings.max_password_length {
        problems.push(format!(
            "Ensure this field has no more than {} characters.",
            settings.max_password_length
        ));
    }
    let lowered = password.to_lowercase();
    let name = username.to_lowercase();
    if !name.is_empty() && (lowered.contains(&name) || name.contains(&lowered)) {
        problems.push("The password is too similar to the username.".into());
    }
    let analysed: String = password.chars().take(ANALYSED_CHARS).collect();
    if !analysed.is_empty() && zxcvbn(&analysed, &[username, "latch"]).score() < Score::Two {
        problems.push("This password is too common.".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
