//! What a username may be, the one form it is stored and looked up in, and
//! the key two names must not share.
//!
//! The profile follows Unicode's identifier rules (UTS #39): no invisible or
//! filler characters, one script per name (Latin beside Han and Kana, as in
//! Japanese, counts as one), and uniqueness by confusable skeleton of the
//! lower-cased name, so `Alice`, `alice` and Cyrillic `аlice` are one name.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use unicode_security::general_security_profile::IdentifierType;
use unicode_security::{
    GeneralSecurityProfile, MixedScript, RestrictionLevel, RestrictionLevelDetection, skeleton,
};

const INVALID: &str = "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.";
const MIXED_SCRIPTS: &str =
    "Enter a valid username. This value may not mix letters from different scripts.";

/// Usernames are compared and stored in NFKC, so visually identical names
/// typed on different keyboards are one account (as Django does). Logins
/// look names up in this form only, so accounts made before the stricter
/// rules below keep logging in.
pub fn normalize(name: &str) -> String {
    name.nfkc().collect()
}

/// Two names with the same key may not both be taken: the UTS #39
/// confusable skeleton of the lower-cased NFKC name, lower-cased again
/// because skeletons map some lower-case letters to capitals (`0` to `O`).
///
/// Stored beside each user; a change here (or in the Unicode data of
/// `unicode-security`) only applies to rows whose key is recomputed, so a
/// migration that sets `username_key` to NULL makes start-up refill it.
pub fn key(name: &str) -> String {
    let lower = normalize(name).to_lowercase();
    skeleton(&lower).collect::<String>().to_lowercase()
}

/// Django's username rule (letters, digits and `@ . + - _`), minus what
/// lets two names look alike: invisible and filler characters, a leading
/// combining mark, and letters from several scripts.
pub fn problem(name: &str, max_len: usize) -> Option<String> {
    if name.chars().count() > max_len {
        return Some(format!(
            "Ensure this field has no more than {max_len} characters."
        ));
    }
    let allowed = |c: char| (c.is_alphanumeric() || "@.+-_".contains(c)) && !is_invisible(c);
    let starts_with_mark = name.chars().next().is_some_and(is_combining_mark);
    if !name.chars().all(allowed) || starts_with_mark {
        return Some(INVALID.into());
    }
    if !one_script(name) {
        return Some(MIXED_SCRIPTS.into());
    }
    None
}

/// Characters that render as nothing, as blank space, or as a stretch of
/// the line (Unicode's Default_Ignorable_Code_Point, the Hangul fillers
/// among them, plus controls and the Arabic and N'Ko joining extenders):
/// each lets a second account pass for an existing one.
fn is_invisible(c: char) -> bool {
    const RANGES: &[(char, char)] = &[
        ('\u{00AD}', '\u{00AD}'),
        ('\u{034F}', '\u{034F}'),
        ('\u{061C}', '\u{061C}'),
        ('\u{0640}', '\u{0640}'),
        ('\u{07FA}', '\u{07FA}'),
        ('\u{115F}', '\u{1160}'),
        ('\u{17B4}', '\u{17B5}'),
        ('\u{180B}', '\u{180F}'),
        ('\u{200B}', '\u{200F}'),
        ('\u{202A}', '\u{202E}'),
        ('\u{2060}', '\u{206F}'),
        ('\u{3164}', '\u{3164}'),
        ('\u{FE00}', '\u{FE0F}'),
        ('\u{FEFF}', '\u{FEFF}'),
        ('\u{FFA0}', '\u{FFA0}'),
        ('\u{FFF0}', '\u{FFF8}'),
        ('\u{1BCA0}', '\u{1BCA3}'),
        ('\u{1D173}', '\u{1D17A}'),
        ('\u{E0000}', '\u{E0FFF}'),
    ];
    c.is_control()
        || RANGES.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
        || c.identifier_type() == Some(IdentifierType::Default_Ignorable)
}

/// UTS #39 "highly restrictive": one script (digits and `@ . + - _` go
/// with any), or Latin with Han and Kana, Hangul or Bopomofo as CJK names
/// are written. Latin with Cyrillic or Greek is refused outright.
fn one_script(name: &str) -> bool {
    if name.is_single_script() {
        return true;
    }
    // `@` and `+` are outside the identifier profile, which would rank the
    // whole name unrestricted; they belong to no script anyway.
    let letters: String = name.chars().filter(|c| !"@+".contains(*c)).collect();
    letters.detect_restriction_level() <= RestrictionLevel::HighlyRestrictive
}
