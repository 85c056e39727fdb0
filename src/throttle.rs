//! Token-bucket throttling, in memory and bounded.
//!
//! Each key (an account, an address) owns a bucket of `burst` tokens that
//! refills at `per_hour`. A full bucket is the same as no bucket, so those are
//! forgotten first; when the table is full the least-restricted bucket goes,
//! so rotating names or addresses can neither grow memory nor free the
//! account an attacker is working on.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

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

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
    burst: f64,
    rate: f64,
}

impl Bucket {
    fn refill(&mut self, rule: Rule, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rule.per_second()).min(f64::from(rule.burst));
        self.updated = now;
        self.burst = f64::from(rule.burst);
        self.rate = rule.per_second();
    }

    /// The level the bucket would have now.
    fn projected(&self, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
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

    /// `Err(seconds)` if `key` has no token left; takes nothing.
    pub fn check(&self, key: &str, rule: Rule) -> Result<(), u64> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let now = Instant::now();
        match buckets.get_mut(key) {
            None => Ok(()),
            Some(bucket) => {
                bucket.refill(rule, now);
                if bucket.tokens >= 1.0 {
                    Ok(())
                } else {
                    Err(bucket.wait(rule))
                }
            }
        }
    }

    /// Takes one token from `key`'s bucket, or says how long to wait.
    pub fn take(&self, key: &str, rule: Rule) -> Result<(), u64> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let now = Instant::now();
        if !buckets.contains_key(key) {
            if buckets.len() >= self.capacity {
                evict(&mut buckets, self.capacity, now);
            }
            buckets.insert(
                key.to_string(),
                Bucket {
                    tokens: f64::from(rule.burst),
                    updated: now,
                    burst: f64::from(rule.burst),
                    rate: rule.per_second(),
                },
            );
        }
        let Some(bucket) = buckets.get_mut(key) else {
            return Ok(());
        };
        bucket.refill(rule, now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(bucket.wait(rule))
        }
    }

    /// Forgets `key`, e.g. an account after a successful login.
    pub fn reset(&self, key: &str) {
        if let Ok(mut buckets) = self.buckets.lock() {
            buckets.remove(key);
        }
    }

    pub fn len(&self) -> usize {
        self.buckets.lock().map(|b| b.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn evict(buckets: &mut HashMap<String, Bucket>, capacity: usize, now: Instant) {
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

pub fn account_key(username: &str) -> String {
    format!("account:{username}")
}

/// IPv6 clients usually hold a whole /64, so that is the unit throttled.
pub fn address_key(scope: &str, ip: IpAddr) -> String {
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
