//! The kinds of value settings take: secrets, algorithms, durations,
//! address lists.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use ipnet::{IpNet, Ipv4Net};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
    Off,
}
