//! Settings: one struct, every default in [`Settings::default`], read from
//! the `latch` table of Rocket's figment and from `LATCH_<NAME>` variables.
//! The value types are in [`values`], the forward-auth rules in
//! [`forward_auth`].

mod forward_auth;
mod values;

use std::path::PathBuf;

use rocket::figment::Figment;
use rocket::figment::providers::{Env, Serialized};
use serde::{Deserialize, Serialize};

use crate::auth::claims::UserClaim;
use forward_auth::validate_forward_auth;
pub use forward_auth::{ForwardAuthRule, Require, is_host_name, public_url_host};
pub use values::{Algorithm, LogFormat, Registration, Seconds, Secret, TrustedProxies};

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
