//! What `/metrics` exposes, in the Prometheus text format through
//! `prometheus-client`: outcomes of logins and refreshes, request durations
//! by route, and, read at scrape time, live sessions, users and the hash
//! queue.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Login {
    ok,
    failed,
    throttled,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Refresh {
    ok,
    reuse_detected,
    invalid,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum ForwardAuth {
    allowed,
    denied,
    redirected,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ForwardAuthLabel {
    outcome: ForwardAuth,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoginLabel {
    outcome: Login,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefreshLabel {
    outcome: Refresh,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
    method: String,
}

/// Levels read at scrape time.
pub struct Gauges {
    pub live_sessions: i64,
    pub users: i64,
    pub hash_queue: i64,
}

pub struct Metrics {
    registry: Registry,
    logins: Family<LoginLabel, Counter>,
    refreshes: Family<RefreshLabel, Counter>,
    forward_auth: Family<ForwardAuthLabel, Counter>,
    durations: Family<RouteLabel, Histogram>,
    live_sessions: Gauge,
    users: Gauge,
    hash_queue: Gauge,
}

fn duration_histogram() -> Histogram {
    // 0.1 ms to about 13 s: a cached check up to a login queued behind a flood.
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("latch");
        let logins = Family::<LoginLabel, Counter>::default();
        let refreshes = Family::<RefreshLabel, Counter>::default();
        let forward_auth = Family::<ForwardAuthLabel, Counter>::default();
        let durations =
            Family::<RouteLabel, Histogram>::new_with_constructor(duration_histogram as fn() -> _);
        let (live_sessions, users, hash_queue) =
            (Gauge::default(), Gauge::default(), Gauge::default());
        registry.register("logins", "Login attempts by outcome", logins.clone());
        registry.register(
            "refreshes",
            "Refresh attempts by outcome",
            refreshes.clone(),
        );
        registry.register(
            "forward_auth",
            "Forward-auth answers by outcome",
            forward_auth.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time to answer a request, by route",
            durations.clone(),
        );
        registry.register(
            "live_sessions",
            "Sessions neither revoked nor expired",
            live_sessions.clone(),
        );
        registry.register("users", "User accounts", users.clone());
        registry.register(
            "hash_queue",
            "Password hashes queued or running",
            hash_queue.clone(),
        );
        Metrics {
            registry,
            logins,
            refreshes,
            forward_auth,
            durations,
            live_sessions,
            users,
            hash_queue,
        }
    }
}

impl Metrics {
    pub fn login(&self, outcome: Login) {
        self.logins.get_or_create(&LoginLabel { outcome }).inc();
    }

    pub fn refresh(&self, outcome: Refresh) {
        self.refreshes
            .get_or_create(&RefreshLabel { outcome })
            .inc();
    }

    pub fn forward_auth(&self, outcome: ForwardAuth) {
        self.forward_auth
            .get_or_create(&ForwardAuthLabel { outcome })
            .inc();
    }

    /// `route` is the matched route's pattern, so the label set stays as
    /// small as the route table whatever paths clients send.
    pub fn request(&self, route: &str, method: &str, seconds: f64) {
        let label = RouteLabel {
            route: route.to_string(),
            method: method.to_string(),
        };
        self.durations.get_or_create(&label).observe(seconds);
    }

    /// The exposition, with the gauges as read just before.
    pub fn encode(&self, gauges: Gauges) -> String {
        self.live_sessions.set(gauges.live_sessions);
        self.users.set(gauges.users);
        self.hash_queue.set(gauges.hash_queue);
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
