//! What a username may be, and the one form it is stored and compared in.

use unicode_normalization::UnicodeNormalization;

/// Usernames are compared and stored in NFKC, so visually identical names
/// typed on different keyboards are one account (as Django does).
pub fn normalize(name: &str) -> String {
    name.nfkc().collect()
}

/// Django's username rule: letters, digits and `@ . + - _`.
pub fn problem(name: &str, max_len: usize) -> Option<String> {
    if name.chars().count() > max_len {
        return Some(format!(
            "Ensure this field has no more than {max_len} characters."
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || "@.+-_".contains(c))
    {
        return Some(
            "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."
                .into(),
        );
    }
    None
}
