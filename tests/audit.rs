//! The audit trail: each security event once, with the right actor; the
//! staff trail for staff only; a user's own activity; retention.

mod common;

use std::time::{Duration, Instant};

use common::*;
use rocket::http::{ContentType, Header, Status};
use serde_json::{Value, json};

fn call(
    t: &TestApp,
    method: &str,
    path: &str,
    bearer: &str,
    body: Option<Value>,
) -> (Status, Value) {
    let mut req = t
        .client
        .req(method.parse().unwrap(), path.to_string())
        .header(Header::new("Authorization", format!("Bearer {bearer}")));
    if let Some(body) = body {
        req = req.header(ContentType::JSON).body(body.to_string());
    }
    let res = req.dispatch();
    let status = res.status();
    let text = res.into_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The staff trail once it holds `expected` events (they are written
/// without the request waiting for them).
fn trail(t: &TestApp, staff: &str, query: &str, expected: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let path = format!("/api/admin/audit/?page_size=500{query}");
        let (status, page) = call(t, "GET", &path, staff, None);
        assert_eq!(status, Status::Ok, "{page}");
        let results = page["results"].as_array().unwrap().clone();
        if results.len() >= expected || Instant::now() > deadline {
            return results;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn one<'a>(events: &'a [Value], event: &str) -> &'a Value {
    let found: Vec<&Value> = events.iter().filter(|e| e["event"] == event).collect();
    assert_eq!(found.len(), 1, "{event} once: {events:#?}");
    found[0]
}

#[test]
fn each_event_is_recorded_once_with_its_actor() {
    let t = app_with(|f| f.merge(("latch.login_account_burst", 2)));
    let boss = t.user("boss", PASSWORD, true);
    let alice = t.user("alice", PASSWORD, false);
    let (staff, _) = t.login("boss", PASSWORD);
    let (_, refresh) = t.login("alice", PASSWORD);
    // Reuse: refresh, then replay the spent token.
    t.post_json("/api/token/refresh/", json!({"refresh": refresh}));
    t.post_json("/api/token/refresh/", json!({"refresh": refresh}));
    // Log out, end a session, log out everywhere, change the password.
    let (_, second) = t.login("alice", PASSWORD);
    t.post_json("/api/token/blacklist/", json!({"refresh": second}));
    let (third, _) = t.login("alice", PASSWORD);
    let sid = claims(&third)["sid"].as_str().unwrap().to_string();
    call(&t, "DELETE", &format!("/api/sessions/{sid}/"), &third, None);
    let (fourth, _) = t.login("alice", PASSWORD);
    call(&t, "POST", "/api/sessions/revoke-all/", &fourth, None);
    let (fifth, _) = t.login("alice", PASSWORD);
    let change = json!({"old_password": PASSWORD, "new_password": "another long passphrase"});
    assert_eq!(
        call(&t, "POST", "/api/me/password/", &fifth, Some(change)).0,
        Status::Ok
    );
    // Wrong guesses until the account is throttled.
    for _ in 0..3 {
        t.post_json(
            "/api/token/",
            json!({"username": "alice", "password": "wrong"}),
        );
    }
    // Staff: create, change, reset, mint, delete.
    let create = json!({"username": "carol", "password": "a decent passphrase"});
    let (_, carol) = call(&t, "POST", "/api/admin/users/", &staff, Some(create));
    let carol = carol["id"].as_i64().unwrap();
    let path = format!("/api/admin/users/{carol}/");
    call(&t, "PATCH", &path, &staff, Some(json!({"is_staff": true})));
    let reset = json!({"password": "yet another passphrase"});
    call(&t, "POST", &format!("{path}password/"), &staff, Some(reset));
    call(&t, "POST", &format!("{path}tokens/"), &staff, None);
    assert_eq!(call(&t, "DELETE", &path, &staff, None).0, Status::NoContent);

    let events = trail(&t, &staff, "", 19);
    let by_staff = |e: &Value| e["actor_id"] == boss && e["actor"] == "boss";
    for kind in [
        "user_created",
        "user_changed",
        "password_reset",
        "tokens_minted",
        "user_deleted",
    ] {
        let event = one(&events, kind);
        assert!(by_staff(event), "{kind}: {event}");
        assert_eq!(event["user_id"], carol, "{kind}");
    }
    assert_eq!(one(&events, "user_changed")["detail"]["is_staff"], true);
    let alices = trail(&t, &staff, &format!("&user={alice}"), 13);
    assert_eq!(
        alices.iter().filter(|e| e["event"] == "login_ok").count(),
        5
    );
    assert_eq!(
        alices
            .iter()
            .filter(|e| e["event"] == "login_failed")
            .count(),
        2
    );
    for kind in [
        "login_throttled",
        "refresh_reuse_detected",
        "logout",
        "session_ended",
        "logout_everywhere",
        "password_changed",
    ] {
        let event = one(&alices, kind);
        assert_eq!(event["user_id"], alice, "{kind}");
        assert_eq!(event["username"], "alice", "{kind}");
    }
    for kind in ["session_ended", "logout_everywhere", "password_changed"] {
        assert_eq!(
            one(&alices, kind)["actor_id"],
            alice,
            "{kind}: the user herself"
        );
    }
    // Filters: by event, and since.
    let failed = trail(&t, &staff, "&event=login_failed", 2);
    assert!(failed.iter().all(|e| e["event"] == "login_failed") && failed.len() == 2);
    let recent = trail(&t, &staff, "&since=1h", 19);
    assert_eq!(recent.len(), events.len());
    let (status, body) = call(&t, "GET", "/api/admin/audit/?event=nonsense", &staff, None);
    assert_eq!(status, Status::BadRequest, "{body}");
}

#[test]
fn the_trail_is_staffs_and_activity_is_ones_own() {
    let t = app();
    t.user("boss", PASSWORD, true);
    let alice = t.user("alice", PASSWORD, false);
    t.user("bob", PASSWORD, false);
    let (staff, _) = t.login("boss", PASSWORD);
    let (access, _) = t.login("alice", PASSWORD);
    t.login("bob", PASSWORD);
    assert_eq!(
        call(&t, "GET", "/api/admin/audit/", &access, None).0,
        Status::Forbidden
    );
    let _ = trail(&t, &staff, "", 3);
    let (status, mine) = call(&t, "GET", "/api/me/activity/", &access, None);
    assert_eq!(status, Status::Ok);
    let results = mine["results"].as_array().unwrap();
    assert_eq!(mine["count"], 1, "{mine}");
    assert_eq!(results[0]["event"], "login_ok");
    assert_eq!(results[0]["user_id"], alice);
    assert_eq!(mine["next"], Value::Null);
}

#[test]
fn retention_deletes_old_events() {
    let t = app_with(|f| f.merge(("latch.audit_retention", "30d")));
    t.user("boss", PASSWORD, true);
    let (staff, _) = t.login("boss", PASSWORD);
    assert_eq!(trail(&t, &staff, "", 1).len(), 1);
    t.state().clock.advance(Duration::from_secs(31 * 24 * 3600));
    let runtime = rocket::tokio::runtime::Runtime::new().unwrap();
    let (_, _, events) = runtime
        .block_on(latch::auth::pairs::flush_expired(t.state()))
        .unwrap();
    assert_eq!(events, 1);
    // The new login is kept; the month-old one is gone.
    let (staff, _) = t.login("boss", PASSWORD);
    let events = trail(&t, &staff, "", 1);
    assert_eq!(events.len(), 1);
}
