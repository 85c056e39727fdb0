//! The forward-auth settings' types and checks.

use serde::{Deserialize, Serialize};

use super::Settings;

/// What a forward-auth rule asks of the caller.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Require {
    Anyone,
    User,
    Staff,
}

/// One entry of `forward_auth_rules`: `host` is a name or `*.example.com`
/// (matched without the port), `path` an optional glob where `*` matches
/// anything (`/` included) and `?` one character.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ForwardAuthRule {
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub require: Require,
}

/// A DNS host name as latch compares them: lowercase letters, digits,
/// `-` and dots, no empty label.
pub fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// The host of an `http(s)://host[:port]` URL with no path, query or
/// userinfo, or why not.
pub fn public_url_host(url: &str) -> Result<&str, String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("must start with http:// or https://")?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = rest.split_once(':').unwrap_or((rest, "80"));
    if !is_host_name(host) {
        return Err(format!(
            "{host:?} is not a lowercase host name (no path, query or user part)"
        ));
    }
    if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad port {port:?}"));
    }
    Ok(host)
}

/// Refuses forward-auth settings that would run but be wrong, naming the key.
pub(super) fn validate_forward_auth(s: &Settings) -> Result<(), String> {
    if let Some(url) = &s.public_url {
        public_url_host(url).map_err(|e| format!("public_url: {e}"))?;
    }
    if let Some(domain) = &s.sso_cookie_domain
        && !is_host_name(domain)
    {
        return Err(format!(
            "sso_cookie_domain: {domain:?} is not a lowercase host name such as \"example.com\""
        ));
    }
    if let Some(host) = s.redirect_hosts.iter().find(|h| !is_host_name(h)) {
        return Err(format!(
            "redirect_hosts: {host:?} is not a lowercase host name (no scheme, port or path)"
        ));
    }
    for (i, rule) in s.forward_auth_rules.iter().enumerate() {
        let name = rule.host.strip_prefix("*.").unwrap_or(&rule.host);
        if !is_host_name(name) {
            return Err(format!(
                "forward_auth_rules[{i}].host: {:?} is not a lowercase host name or \"*.\" pattern",
                rule.host
            ));
        }
        if let Some(path) = &rule.path
            && !path.starts_with('/')
        {
            return Err(format!(
                "forward_auth_rules[{i}].path: {path:?} must start with \"/\""
            ));
        }
    }
    Ok(())
}
