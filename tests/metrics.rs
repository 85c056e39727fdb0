//! `/metrics`: Prometheus text for allowed addresses only, moving with
//! what happens.

mod common;

use std::net::SocketAddr;

use common::*;
use rocket::http::Status;
use serde_json::json;

fn scrape(t: &TestApp, from: &str) -> (Status, String, Option<String>) {
    let res = t
        .client
        .get("/metrics")
        .remote(from.parse::<SocketAddr>().unwrap())
        .dispatch();
    let status = res.status();
    let content_type = res.content_type().map(|c| c.to_string());
    (status, res.into_string().unwrap_or_default(), content_type)
}

/// The value of the sample whose line starts with `name`.
fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn metrics_move_with_logins_refreshes_and_requests() {
    let t = app();
    t.user("alice", PASSWORD, false);
    let (status, before, content_type) = scrape(&t, "127.0.0.1:40000");
    assert_eq!(status, Status::Ok);
    assert!(
        content_type
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    assert!(before.ends_with("# EOF\n"), "{before}");
    let res = t.post_json(
        "/api/token/",
        json!({"username": "alice", "password": "wrong"}),
    );
    assert_eq!(res.status(), Status::Unauthorized);
    let (_, refresh) = t.login("alice", PASSWORD);
    t.post_json("/api/token/refresh/", json!({"refresh": refresh}));
    t.post_json("/api/token/refresh/", json!({"refresh": refresh}));
    let (_, after, _) = scrape(&t, "[::1]:40000");
    for (name, delta) in [
        ("latch_logins_total{outcome=\"failed\"}", 1.0),
        ("latch_logins_total{outcome=\"ok\"}", 1.0),
        ("latch_refreshes_total{outcome=\"ok\"}", 1.0),
        ("latch_refreshes_total{outcome=\"reuse_detected\"}", 1.0),
    ] {
        assert_eq!(
            sample(&after, name) - sample(&before, name),
            delta,
            "{name}\n{after}"
        );
    }
    assert_eq!(sample(&after, "latch_users "), 1.0, "{after}");
    // The reuse revoked the session the login started.
    assert_eq!(sample(&after, "latch_live_sessions "), 0.0, "{after}");
    assert!(sample(&after, "latch_hash_queue ") >= 0.0);
    let login_route = "latch_request_duration_seconds_count{route=\"/api/token\",method=\"POST\"}";
    assert_eq!(sample(&after, login_route), 2.0, "{after}");
}

#[test]
fn metrics_answer_only_allowed_addresses() {
    let t = app();
    let (status, text, _) = scrape(&t, "203.0.113.9:40000");
    assert_eq!(status, Status::NotFound);
    assert_eq!(text, json!({"detail": "Not found."}).to_string());
    // With a setting that leaves loopback out, loopback is refused too.
    let t = app_with(|f| f.merge(("latch.metrics_allow", ["10.0.0.0/8"])));
    assert_eq!(scrape(&t, "127.0.0.1:40000").0, Status::NotFound);
    assert_eq!(scrape(&t, "10.1.2.3:40000").0, Status::Ok);
}
