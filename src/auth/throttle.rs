//! Token-bucket throttling, in memory and bounded.
//!
//! Each key (an account, an address) owns a bucket of `burst` tokens that
//! refills at `per_hour`. A full bucket is the same as no bucket, so those are
//! forgotten first; when the table is full the least-restricted bucket goes,
//! so rotating names or addresses can neither grow memory nor free the
//! account an attacker is working on. Time comes from the caller (the app's
//! clock), so refill is tested without sleeping.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::config::Settings;

#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub burst: u32,
    pub per_hour: u32,
}

impl Rule {
    fn per_second(self) -> f64 {
        f64::from(self.per_hour) / 3600.0
    }
}

/// The things latch limits, each with its budget from the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Failed logins (and wrong old passwords) against one account.
    LoginAccount,
    /// Failed logins from one address.
    LoginAddress,
    /// Failed token calls (bad signature, expired, spent) and
    /// registration and setup attempts from one address.
    Requests,
    /// Failed logins that presented a valid device token for the account.
    LoginDevice,
    /// Wrong old passwords on a password change, per user: apart from the
    /// login budget, so a login flood cannot stop the owner changing it.
    OldPassword,
}

impl Action {
    pub fn rule(self, settings: &Settings) -> Rule {
        let (burst, per_hour) = match self {
            Action::LoginAccount => (
                settings.login_account_burst,
                settings.login_account_per_hour,
            ),
            Action::LoginAddress => (
                settings.login_address_burst,
                settings.login_address_per_hour,
            ),
            Action::Requests => (
                settings.request_address_burst,
                settings.request_address_per_hour,
            ),
            Action::LoginDevice => (settings.login_device_burst, settings.login_device_per_hour),
            Action::OldPassword => (
                settings.login_account_burst,
                settings.login_account_per_hour,
            ),
        };
        Rule { burst, per_hour }
    }

    /// The bucket for an account (by normalised name).
    pub fn account(self, username: &str) -> String {
        format!("account:{username}")
    }

    /// The bucket for one user's old-password checks.
    pub fn user(self, id: i64) -> String {
        format!("password:{id}")
    }

    /// The bucket for one device token (by its `jti`).
    pub fn device(self, jti: &str) -> String {
        format!("device:{jti}")
    }

    /// The bucket for an address. IPv6 clients usually hold a whole /64,
    /// so that is the unit throttled.
    pub fn address(self, ip: IpAddr) -> String {
        let scope = match self {
            Action::LoginAccount | Action::LoginAddress | Action::LoginDevice => "login",
            Action::Requests | Action::OldPassword => "requests",
        };
        match ip {
            IpAddr::V4(v4) => format!("{scope}:{v4}"),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => format!("{scope}:{v4}"),
                None => {
                    let s = v6.segments();
                    format!("{scope}:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    /// Seconds, on the caller's clock.
    updated: f64,
    burst: f64,
    rate: f64,
}

impl Bucket {
    fn refill(&mut self, rule: Rule, now: f64) {
        let elapsed = (now - self.updated).max(0.0);
        self.tokens = (self.tokens + elapsed * rule.per_second()).min(f64::from(rule.burst));
        self.updated = now;
        self.burst = f64::from(rule.burst);
        self.rate = rule.per_second();
    }

    /// The level the bucket would have now.
    fn projected(&self, now: f64) -> f64 {
        let elapsed = (now - self.updated).max(0.0);
        (self.tokens + elapsed * self.rate).min(self.burst)
    }

    /// Whole seconds until one token is back.
    fn wait(&self, rule: Rule) -> u64 {
        let rate = rule.per_second();
        if rate <= 0.0 {
            return 3600;
        }
        (((1.0 - self.tokens) / rate).ceil() as u64).max(1)
    }
}

pub struct Throttle {
    buckets: Mutex<HashMap<String, Bucket>>,
    capacity: usize,
}

impl Throttle {
    pub fn new(capacity: usize) -> Throttle {
        Throttle {
            buckets: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// A poisoned lock still holds consistent buckets (every update is a
    /// few arithmetic steps), and throttling must never fail open.
    fn buckets(&self) -> MutexGuard<'_, HashMap<String, Bucket>> {
        self.buckets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes one token from `key`'s bucket, or says how long to wait.
    pub fn take(&self, key: &str, rule: Rule, now: f64) -> Result<(), u64> {
        let mut buckets = self.buckets();
        if !buckets.contains_key(key) && buckets.len() >= self.capacity {
            evict(&mut buckets, self.capacity, now);
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: f64::from(rule.burst),
            updated: now,
            burst: f64::from(rule.burst),
            rate: rule.per_second(),
        });
        bucket.refill(rule, now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(bucket.wait(rule))
        }
    }

    /// Gives back one token taken for work that turned out legitimate.
    pub fn refund(&self, key: &str, rule: Rule, now: f64) {
        if let Some(bucket) = self.buckets().get_mut(key) {
            bucket.refill(rule, now);
            bucket.tokens = (bucket.tokens + 1.0).min(f64::from(rule.burst));
        }
    }

    /// Forgets `key`, e.g. an account after a successful login.
    pub fn reset(&self, key: &str) {
        self.buckets().remove(key);
    }

    pub fn len(&self) -> usize {
        self.buckets().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn evict(buckets: &mut HashMap<String, Bucket>, capacity: usize, now: f64) {
    // A bucket that has refilled is indistinguishable from a new one.
    buckets.retain(|_, b| b.projected(now) < b.burst);
    if buckets.len() >= capacity {
        let loosest = buckets
            .iter()
            .max_by(|a, b| a.1.projected(now).total_cmp(&b.1.projected(now)))
            .map(|(k, _)| k.clone());
        if let Some(key) = loosest {
            buckets.remove(&key);
        }
    }
}
