//! Forward authentication's decisions, pure so each is unit-tested: which
//! rule a request falls under, what the caller may do there, the original
//! URL a proxy describes, and which return URLs (`rd`) the page may follow.
//!
//! Nothing here does I/O; the route in `http/routes/forward_auth.rs` reads
//! headers and credentials and asks these functions.

use crate::config::{ForwardAuthRule, Require};

/// Who presented a valid credential, as the proxied app is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub id: i64,
    pub username: String,
    pub is_staff: bool,
}

/// What forward-auth answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Let the request through, telling the app who it is (if anyone).
    Allow(Option<Who>),
    /// Nobody signed in and the rule wants someone.
    SignIn,
    /// Signed in, but the rule wants staff.
    Forbidden,
}

/// What the first rule matching `host` (no port) and `path` requires; no
/// match means a signed-in user. The path is normalised first, so
/// `/%61dmin/`, `//admin/` and `/x/../admin/` all fall under `/admin/*`.
pub fn required(rules: &[ForwardAuthRule], host: &str, path: &str) -> Require {
    let path = normalise_path(path);
    rules
        .iter()
        .find(|rule| {
            host_matches(&rule.host, host)
                && rule
                    .path
                    .as_deref()
                    .is_none_or(|glob| glob_matches(glob, &path))
        })
        .map_or(Require::User, |rule| rule.require)
}

/// The answer for a caller (`None`: no valid credential) under `require`.
pub fn verdict(require: Require, who: Option<Who>) -> Verdict {
    match (require, who) {
        (Require::Anyone, who) => Verdict::Allow(who),
        (_, None) => Verdict::SignIn,
        (Require::Staff, Some(who)) if !who.is_staff => Verdict::Forbidden,
        (_, Some(who)) => Verdict::Allow(Some(who)),
    }
}

/// `*.example.com` matches any name under `example.com` (not itself);
/// anything else matches exactly. Both sides are lowercase already.
fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(domain) => host
            .strip_suffix(domain)
            .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
        None => pattern == host,
    }
}

/// `*` matches any run of characters (`/` included), `?` exactly one.
pub fn glob_matches(glob: &str, text: &str) -> bool {
    let (g, t): (Vec<char>, Vec<char>) = (glob.chars().collect(), text.chars().collect());
    let (mut gi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if gi < g.len() && (g[gi] == '?' || g[gi] == t[ti]) {
            gi += 1;
            ti += 1;
        } else if gi < g.len() && g[gi] == '*' {
            star = Some((gi, ti));
            gi += 1;
        } else if let Some((sg, st)) = star {
            gi = sg + 1;
            ti = st + 1;
            star = Some((sg, st + 1));
        } else {
            return false;
        }
    }
    g[gi..].iter().all(|c| *c == '*')
}

/// The path as an app would resolve it: percent-escapes decoded, empty
/// and `.` segments dropped, `..` applied; a trailing slash kept.
pub fn normalise_path(path: &str) -> String {
    let decoded = percent_decode(path);
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split(['/', '\\']) {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = format!("/{}", segments.join("/"));
    if decoded.ends_with('/') && out.len() > 1 {
        out.push('/');
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(Some(h)), Some(Some(l))) = (
                bytes.get(i + 1).map(|b| hex(*b)),
                bytes.get(i + 2).map(|b| hex(*b)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An absolute `http(s)` URL, taken apart strictly: no user part, no
/// backslash, whitespace or control character anywhere, a plain DNS host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub https: bool,
    /// Lowercase, without the port.
    pub host: String,
    pub port: Option<u16>,
    /// The path alone (no query or fragment), as sent.
    pub path: String,
    /// The whole URL, as given.
    pub raw: String,
}

/// Longest URL latch follows or reports.
const MAX_URL: usize = 8192;

impl Url {
    pub fn parse(raw: &str) -> Option<Url> {
        if raw.len() > MAX_URL
            || raw
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
        {
            return None;
        }
        let (scheme, rest) = raw.split_once("://")?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.contains('@') {
            return None;
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port.parse::<u16>().ok()?)),
            None => (authority, None),
        };
        let host = host.to_ascii_lowercase();
        if !crate::config::is_host_name(&host) {
            return None;
        }
        let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
        let path = match &tail[..path_end] {
            "" => "/".to_string(),
            p => p.to_string(),
        };
        Some(Url {
            https,
            host,
            port,
            path,
            raw: raw.to_string(),
        })
    }
}

/// The request the proxy asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    pub method: String,
    pub url: Url,
}

impl Original {
    /// From Traefik's and Caddy's `X-Forwarded-Proto`, `-Host`, `-Uri` and
    /// `-Method`. The proto defaults to http; the URI must be a path.
    pub fn forwarded(
        proto: Option<&str>,
        host: &str,
        uri: &str,
        method: Option<&str>,
    ) -> Option<Original> {
        let proto = proto
            .and_then(|p| p.split(',').next())
            .map_or("http", str::trim);
        if !uri.starts_with('/') {
            return None;
        }
        Original::url(&format!("{proto}://{host}{uri}"), method)
    }

    /// From nginx's `X-Original-URL`.
    pub fn url(url: &str, method: Option<&str>) -> Option<Original> {
        Some(Original {
            method: method.unwrap_or("GET").trim().to_ascii_uppercase(),
            url: Url::parse(url)?,
        })
    }

    /// A browser navigating: sent to the sign-in page rather than refused.
    pub fn is_browser(&self, accept: Option<&str>) -> bool {
        matches!(self.method.as_str(), "GET" | "HEAD")
            && accept.is_some_and(|a| a.to_ascii_lowercase().contains("text/html"))
    }
}

/// `<public_url>/?rd=<url, percent-encoded>`.
pub fn login_url(public_url: &str, original: &str) -> String {
    format!(
        "{}/?rd={}",
        public_url.trim_end_matches('/'),
        percent_encode(original)
    )
}

/// Every byte but RFC 3986's unreserved characters escaped.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where the page may send a browser back to after sign-in.
#[derive(Debug, Clone, Copy)]
pub struct RedirectPolicy<'a> {
    /// latch's own host (from `public_url`, else the request's).
    pub own_host: Option<&'a str>,
    pub cookie_domain: Option<&'a str>,
    pub hosts: &'a [String],
}

impl RedirectPolicy<'_> {
    /// `rd` if it is an http(s) URL to an allowed host; else why not.
    pub fn check(&self, rd: &str) -> Result<String, &'static str> {
        let url = Url::parse(rd).ok_or("not an absolute http(s) URL to a plain host name")?;
        let host = url.host.as_str();
        let under_domain = self.cookie_domain.is_some_and(|d| {
            host == d
                || host
                    .strip_suffix(d)
                    .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
        });
        let allowed = under_domain
            || self
                .own_host
                .is_some_and(|own| own.eq_ignore_ascii_case(host))
            || self.hosts.iter().any(|h| h == host);
        if allowed {
            Ok(url.raw)
        } else {
            Err("its host is not one latch signs in for")
        }
    }
}

#[cfg(test)]
mod tests;
