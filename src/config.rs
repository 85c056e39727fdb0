//! Settings: one struct, every default in [`Settings::default`], read from
//! the `latch` table of Rocket's figment and from `LATCH_<NAME>` variables.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::{IpNet, Ipv4Net};
use rocket::figment::Figment;
use rocket::figment::providers::{Env, Serialized};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::auth::claims::UserClaim;

/// A secret string whose `Debug` never prints the value, so settings can be
/// logged at launch without leaking the signing key.
#[derive(Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The token algorithm. HMAC ones sign with the shared `signing_key`;
/// the others with a key pair of the key set (`auth::keyset`), each key
/// pinned to the one algorithm it was made for, so a public key can never
/// be taken for an HMAC secret.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum Algorithm {
    HS256,
    HS384,
    HS512,
    RS256,
    RS384,
    RS512,
    ES256,
    ES384,
    EdDSA,
}

impl Algorithm {
    pub const ALL: [Algorithm; 9] = [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.name() == name)
    }

    /// A shared-secret algorithm: no key set, no `kid`, no JWKS.
    pub fn is_hmac(self) -> bool {
        matches!(self, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
    }

    /// RFC 7518 §3.2: an HMAC key must be at least as long as the hash
    /// output. The generated device secret uses the same rule.
    pub fn min_key_len(self) -> usize {
        match self {
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            _ => 32,
        }
    }

    pub fn jwt(self) -> jsonwebtoken::Algorithm {
        use jsonwebtoken::Algorithm as J;
        match self {
            Algorithm::HS256 => J::HS256,
            Algorithm::HS384 => J::HS384,
            Algorithm::HS512 => J::HS512,
            Algorithm::RS256 => J::RS256,
            Algorithm::RS384 => J::RS384,
            Algorithm::RS512 => J::RS512,
            Algorithm::ES256 => J::ES256,
            Algorithm::ES384 => J::ES384,
            Algorithm::EdDSA => J::EdDSA,
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    Closed,
    Open,
}

/// A duration in whole seconds, written as `300` or as `"5m"`, `"1d"`.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Seconds(pub u64);

impl Seconds {
    pub fn duration(self) -> Duration {
        Duration::from_secs(self.0)
    }
    pub fn as_i64(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(Seconds(n)),
            Raw::Text(s) => {
                if let Ok(n) = s.trim().parse::<u64>() {
                    return Ok(Seconds(n));
                }
                humantime::parse_duration(s.trim())
                    .map(|d| Seconds(d.as_secs()))
                    .map_err(|e| {
                        serde::de::Error::custom(format!(
                            "invalid duration {s:?} ({e}); use seconds or a form like \"5m\", \"1d\""
                        ))
                    })
            }
        }
    }
}

/// The proxies whose `X-Forwarded-For` (and `X-Forwarded-Proto`) latch
/// believes: addresses and CIDR ranges, written as strings
/// (`"127.0.0.1"`, `"::1"`, `"10.0.0.0/8"`, `"fd00::/8"`). A bare address is
/// its host-length network, so both forms are one type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses each entry, naming the first bad one.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .map(|entry| {
                let entry = entry.as_ref().trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map(canonical)
                    .map_err(|_| {
                        format!(
                            "{entry:?} is neither an IP address nor a CIDR range; \
                             give e.g. \"127.0.0.1\", \"::1\" or \"10.0.0.0/8\""
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    /// Whether `peer` is one of the proxies. This is the one trust check:
    /// every place that believes a forwarding header asks it. An
    /// IPv4-mapped IPv6 peer (`::ffff:127.0.0.1`, what a dual-stack socket
    /// reports) is compared as the IPv4 address it is.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.0.iter().any(|net| net.contains(&peer))
    }
}

/// The network without host bits, and an IPv4-mapped IPv6 range
/// (`::ffff:10.0.0.0/104`) as the IPv4 range it names, since peers are
/// compared in their canonical form.
fn canonical(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net
        && let Some(v4) = v6.addr().to_ipv4_mapped()
        && let Some(prefix) = v6.prefix_len().checked_sub(96)
        && let Ok(v4net) = Ipv4Net::new(v4, prefix)
    {
        return IpNet::V4(v4net.trunc());
    }
    net.trunc()
}

impl Serialize for TrustedProxies {
    /// Addresses print bare, ranges with their prefix, as they are written.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|net| {
            if net.prefix_len() == net.max_prefix_len() {
                net.addr().to_string()
            } else {
                net.to_string()
            }
        }))
    }
}

impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let entries = Vec::<String>::deserialize(d)?;
        TrustedProxies::parse(&entries).map_err(serde::de::Error::custom)
    }
}

/// Every latch setting. Defaults live in the `Default` impl and nowhere else;
/// `Rocket.toml` documents each one.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub database: PathBuf,
    pub signing_key: Option<Secret>,
    pub algorithm: Algorithm,
    pub access_token_lifetime: Seconds,
    pub refresh_token_lifetime: Seconds,
    pub rotate_refresh_tokens: bool,
    pub blacklist_after_rotation: bool,
    pub refresh_reuse_grace: Seconds,
    pub leeway: Seconds,
    pub auth_header_types: Vec<String>,
    pub update_last_login: bool,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    pub registration: Registration,
    pub password_min_length: usize,
    pub max_username_length: usize,
    pub max_password_length: usize,
    /// Failed logins one account may absorb before throttling starts.
    pub login_account_burst: u32,
    /// Failed logins per hour one account is allowed after the burst.
    pub login_account_per_hour: u32,
    pub login_address_burst: u32,
    pub login_address_per_hour: u32,
    /// Refresh, registration and cookie-session requests per address.
    pub request_address_burst: u32,
    pub request_address_per_hour: u32,
    /// Distinct accounts and addresses remembered by the throttle.
    pub throttle_capacity: usize,
    /// Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` is believed.
    pub trusted_proxies: TrustedProxies,
    /// Force the `Secure` flag on the session cookie (it is always set over TLS).
    pub cookie_secure: bool,
    pub cleanup_interval: Seconds,
    pub db_pool_size: usize,
    /// Failed logins a known device (one that presents its device token)
    /// absorbs; it spends this instead of the account's and address's.
    pub login_device_burst: u32,
    pub login_device_per_hour: u32,
    /// How long a device token is honoured after the login that gave it.
    pub device_token_lifetime: Seconds,
    /// User fields every access and refresh token carries, fresh from the
    /// user's record at each login and refresh.
    pub token_claims: Vec<UserClaim>,
    /// One line per request on standard output, as text or JSON, or none.
    pub log_format: LogFormat,
    /// Client addresses (and ranges) `/metrics` answers; others get 404.
    pub metrics_allow: TrustedProxies,
    /// How long audit events are kept; the cleanup task deletes older ones.
    pub audit_retention: Seconds,
    // Forward authentication (single sign-on for apps behind a proxy).
    /// latch as browsers reach it, e.g. `https://auth.example.com`: where
    /// forward-auth sends browsers to sign in.
    pub public_url: Option<String>,
    /// The `latch_sso` cookie's `Domain` (e.g. `example.com`); unset, the
    /// cookie stays on latch's host.
    pub sso_cookie_domain: Option<String>,
    /// Hosts a return URL (`rd`) may name besides latch's own and those
    /// under `sso_cookie_domain`.
    pub redirect_hosts: Vec<String>,
    /// Who may reach which host and path; first match wins, none: `user`.
    pub forward_auth_rules: Vec<ForwardAuthRule>,
    // Key sets (see `auth::keyset` and README "Key sets").
    /// `Cache-Control: max-age` of the JWKS, and how long a rotated-in key
    /// is published before it signs, so every cache holds it first.
    pub jwks_max_age: Seconds,
    /// Rotate the signing key this often; `0` never.
    pub key_rotation_interval: Seconds,
    /// Simple JWT's `ISSUER`: set, tokens carry `iss` and must.
    pub issuer: Option<String>,
    /// Simple JWT's `AUDIENCE`: set, tokens carry `aud` and must name it.
    pub audience: Option<String>,
    /// Simple JWT's `USER_ID_CLAIM`: the claim naming the user.
    pub user_id_claim: String,
}

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
fn validate_forward_auth(s: &Settings) -> Result<(), String> {
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

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
    Off,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database: PathBuf::from("latch.db"),
            signing_key: None,
            algorithm: Algorithm::HS256,
            access_token_lifetime: Seconds(5 * 60),
            refresh_token_lifetime: Seconds(24 * 60 * 60),
            rotate_refresh_tokens: true,
            blacklist_after_rotation: true,
            refresh_reuse_grace: Seconds(0),
            leeway: Seconds(0),
            auth_header_types: vec!["Bearer".into()],
            update_last_login: false,
            argon2_memory_kib: 19456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            registration: Registration::Closed,
            password_min_length: 8,
            max_username_length: 150,
            max_password_length: 1024,
            login_account_burst: 10,
            login_account_per_hour: 90,
            login_address_burst: 100,
            login_address_per_hour: 600,
            request_address_burst: 60,
            request_address_per_hour: 3600,
            throttle_capacity: 10_000,
            trusted_proxies: TrustedProxies::default(),
            cookie_secure: false,
            cleanup_interval: Seconds(3600),
            db_pool_size: 4,
            login_device_burst: 10,
            login_device_per_hour: 30,
            device_token_lifetime: Seconds(180 * 24 * 60 * 60),
            token_claims: Vec::new(),
            log_format: LogFormat::Text,
            metrics_allow: TrustedProxies::parse(&["127.0.0.1", "::1"]).unwrap_or_default(),
            audit_retention: Seconds(90 * 24 * 60 * 60),
            public_url: None,
            sso_cookie_domain: None,
            redirect_hosts: Vec::new(),
            forward_auth_rules: Vec::new(),
            jwks_max_age: Seconds(10 * 60),
            key_rotation_interval: Seconds(0),
            issuer: None,
            audience: None,
            user_id_claim: "user_id".into(),
        }
    }
}

impl Settings {
    /// Reads the settings: defaults, then the `latch` table of `Rocket.toml`
    /// (and whatever else the figment holds), then `LATCH_<NAME>` variables.
    pub fn from_figment(figment: &Figment) -> Result<Settings, String> {
        let mut merged = Figment::from(Serialized::defaults(Settings::default()))
            .merge(figment.clone().focus("latch"))
            .merge(
                Env::prefixed("LATCH_")
                    .ignore(&RAW_STRING_SETTINGS)
                    .global(),
            );
        // Env values are parsed as TOML-ish scalars, which would turn a key or
        // path made only of digits into a number; these two are taken verbatim.
        for name in RAW_STRING_SETTINGS {
            if let Ok(value) = std::env::var(format!("LATCH_{}", name.to_uppercase())) {
                merged = merged.merge(Serialized::global(name, value));
            }
        }
        let settings: Settings = merged
            .select(figment.profile().clone())
            .extract()
            .map_err(|e| describe_figment_error(&e))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Refuses values that would run but be wrong, naming the key.
    pub fn validate(&self) -> Result<(), String> {
        self.validate_key_sets()?;
        if let Some(key) = &self.signing_key
            && self.algorithm.is_hmac()
        {
            let min = self.algorithm.min_key_len();
            if key.expose().len() < min {
                return Err(format!(
                    "signing_key: an {} key must be at least {min} bytes (got {})",
                    self.algorithm.name(),
                    key.expose().len()
                ));
            }
        }
        let positive = [
            ("access_token_lifetime", self.access_token_lifetime.0),
            ("refresh_token_lifetime", self.refresh_token_lifetime.0),
            ("cleanup_interval", self.cleanup_interval.0),
            ("device_token_lifetime", self.device_token_lifetime.0),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(format!("{name}: must be greater than zero"));
            }
        }
        if self.auth_header_types.is_empty()
            || self
                .auth_header_types
                .iter()
                .any(|t| t.is_empty() || t.contains(char::is_whitespace))
        {
            return Err("auth_header_types: give one or more words, e.g. [\"Bearer\"]".into());
        }
        argon2::Params::new(
            self.argon2_memory_kib,
            self.argon2_iterations,
            self.argon2_parallelism,
            None,
        )
        .map_err(|e| format!("argon2_memory_kib/argon2_iterations/argon2_parallelism: {e}"))?;
        if self.password_min_length == 0 || self.password_min_length > self.max_password_length {
            return Err("password_min_length: must be between 1 and max_password_length".into());
        }
        if self.max_password_length < 64 {
            return Err("max_password_length: must allow at least 64 characters".into());
        }
        if self.max_username_length == 0 {
            return Err("max_username_length: must be greater than zero".into());
        }
        if self.throttle_capacity == 0 {
            return Err("throttle_capacity: must be greater than zero".into());
        }
        if self.db_pool_size == 0 {
            return Err("db_pool_size: must be greater than zero".into());
        }
        validate_forward_auth(self)
    }
}

impl Settings {
    /// The key-set settings' own checks. A PEM `signing_key` is parsed at
    /// start-up (`auth::keyset`), which names the key when it is wrong.
    fn validate_key_sets(&self) -> Result<(), String> {
        if let Some(key) = &self.signing_key
            && !self.algorithm.is_hmac()
            && !key.expose().trim_start().starts_with("-----BEGIN ")
        {
            return Err(format!(
                "signing_key: with {} give a PEM private key (PKCS#8), or leave it unset \
                 to have a key pair generated",
                self.algorithm.name()
            ));
        }
        let claim = &self.user_id_claim;
        if claim.is_empty()
            || matches!(
                claim.as_str(),
                "token_type" | "exp" | "iat" | "jti" | "nbf" | "iss" | "aud" | "sid"
            )
        {
            return Err(format!(
                "user_id_claim: {claim:?} is empty or a claim latch sets itself"
            ));
        }
        for (name, value) in [("issuer", &self.issuer), ("audience", &self.audience)] {
            if value.as_deref().is_some_and(str::is_empty) {
                return Err(format!("{name}: may not be empty; leave it unset instead"));
            }
        }
        Ok(())
    }
}

/// Read verbatim from `LATCH_<NAME>`: a PEM key, a path, an issuer URL or
/// an audience made of digits must not be parsed as TOML.
const RAW_STRING_SETTINGS: [&str; 5] = [
    "database",
    "signing_key",
    "issuer",
    "audience",
    "user_id_claim",
];

fn describe_figment_error(e: &rocket::figment::Error) -> String {
    let mut out = Vec::new();
    for err in e.clone() {
        let key = err.path.join(".");
        let key = if key.is_empty() {
            "latch".to_string()
        } else {
            key
        };
        out.push(format!("{key}: {}", err.kind));
    }
    out.join("; ")
}
