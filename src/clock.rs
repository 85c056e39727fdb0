//! The one clock. Every rule that depends on time (token expiry, the reuse
//! grace window, throttle refill, cleanup) reads it from here, so a test can
//! move time forward instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The system clock plus an offset that only tests move.
#[derive(Clone, Default)]
pub struct Clock {
    offset_millis: Arc<AtomicI64>,
}

impl Clock {
    /// The current unix time in whole seconds.
    pub fn now(&self) -> i64 {
        self.now_millis().div_euclid(1000)
    }

    /// The current unix time in milliseconds.
    pub fn now_millis(&self) -> i64 {
        system_millis().saturating_add(self.offset_millis.load(Ordering::Relaxed))
    }

    /// The current unix time in fractional seconds, for rates.
    pub fn now_secs_f64(&self) -> f64 {
        self.now_millis() as f64 / 1000.0
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, by: std::time::Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_millis.fetch_add(millis, Ordering::Relaxed);
    }
}

fn system_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
