//! Device tokens: a flood of wrong guesses from elsewhere never locks the
//! owner out of a client they signed in from before.

mod common;

use std::net::SocketAddr;

use common::*;
use rocket::http::{ContentType, Header, Status};
use serde_json::json;

const PROXY: &str = "10.0.0.1:4000";

/// A login through the trusted proxy, from `client`, optionally
/// presenting a device token; returns the status and any new device token.
fn login(
    t: &TestApp,
    client: &str,
    password: &str,
    device: Option<&str>,
) -> (Status, Option<String>) {
    let mut req = t
        .client
        .post("/api/token/")
        .remote(PROXY.parse::<SocketAddr>().unwrap())
        .header(Header::new("X-Forwarded-For", client.to_string()))
        .header(ContentType::JSON)
        .body(json!({"username": "alice", "password": password}).to_string());
    if let Some(device) = device {
        req = req.header(Header::new("X-Latch-Device", device.to_string()));
    }
    let res = req.dispatch();
    let device = res.headers().get_one("X-Latch-Device").map(str::to_string);
    (res.status(), device)
}

fn flooded() -> TestApp {
    let t = app_with(|f| f.merge(("latch.trusted_proxies", ["10.0.0.0/8"])));
    t.user("alice", PASSWORD, false);
    t
}

/// Wrong guesses for alice from many addresses until the account is shut.
fn flood(t: &TestApp) {
    let mut throttled = false;
    for i in 0..40 {
        let (status, _) = login(t, &format!("203.0.113.{i}"), "wrong guess", None);
        throttled |= status == Status::TooManyRequests;
    }
    assert!(throttled, "the flood was never throttled");
}

#[test]
fn a_known_device_signs_in_through_a_flood() {
    let t = flooded();
    let (status, device) = login(&t, "198.51.100.7", PASSWORD, None);
    assert_eq!(status, Status::Ok);
    let device = device.expect("a device token");
    flood(&t);
    // An unknown device, even with the right password, waits.
    let (status, _) = login(&t, "198.51.100.8", PASSWORD, None);
    assert_eq!(status, Status::TooManyRequests);
    // The owner's device gets in, and a wrong guess from it spends only
    // its own budget.
    let (status, _) = login(&t, "198.51.100.7", "typo", Some(&device));
    assert_eq!(status, Status::Unauthorized);
    let (status, renewed) = login(&t, "198.51.100.7", PASSWORD, Some(&device));
    assert_eq!(status, Status::Ok);
    assert!(renewed.is_some());
    // Someone else's device token, or garbage, is an unknown device.
    t.user("mallory", PASSWORD, false);
    let res = t.post_json(
        "/api/token/",
        json!({"username": "mallory", "password": PASSWORD}),
    );
    let other = res.headers().get_one("X-Latch-Device").unwrap().to_string();
    let (status, _) = login(&t, "198.51.100.7", PASSWORD, Some(&other));
    assert_eq!(status, Status::TooManyRequests);
    let (status, _) = login(&t, "198.51.100.7", PASSWORD, Some("junk"));
    assert_eq!(status, Status::TooManyRequests);
}

#[test]
fn a_device_token_from_before_a_password_change_is_worthless() {
    let t = flooded();
    let (_, device) = login(&t, "198.51.100.7", PASSWORD, None);
    let device = device.unwrap();
    let (access, _) = t.login("alice", PASSWORD);
    t.state().clock.advance(std::time::Duration::from_secs(1));
    let res = t
        .client
        .post("/api/me/password/")
        .header(Header::new("Authorization", format!("Bearer {access}")))
        .header(ContentType::JSON)
        .body(
            json!({"old_password": PASSWORD, "new_password": "a new long passphrase"}).to_string(),
        )
        .dispatch();
    assert_eq!(res.status(), Status::Ok);
    flood(&t);
    let (status, _) = login(&t, "198.51.100.7", "a new long passphrase", Some(&device));
    assert_eq!(status, Status::TooManyRequests);
}

#[test]
fn the_page_gets_a_device_cookie_and_signs_in_through_a_flood() {
    // Untracked: this test says which cookie each request presents.
    let dir = tempfile::tempdir().unwrap();
    let figment = figment(dir.path()).merge(("latch.trusted_proxies", ["10.0.0.0/8"]));
    let client = rocket::local::blocking::Client::untracked(latch::build(figment)).unwrap();
    let t = TestApp { client, dir };
    t.user("alice", PASSWORD, false);
    let page_login = |device: Option<&str>, client: &str| {
        let mut req = t
            .client
            .post("/api/session/login")
            .remote(PROXY.parse::<SocketAddr>().unwrap())
            .header(Header::new("X-Forwarded-For", client.to_string()))
            .header(ContentType::JSON)
            .header(Header::new("X-Requested-With", "latch"))
            .body(json!({"username": "alice", "password": PASSWORD}).to_string());
        if let Some(device) = device {
            req = req.cookie(rocket::http::Cookie::new(
                "latch_device",
                device.to_string(),
            ));
        }
        let res = req.dispatch();
        let cookie = res
            .headers()
            .get("Set-Cookie")
            .find_map(|c| c.strip_prefix("latch_device=")?.split(';').next())
            .map(str::to_string);
        (res.status(), cookie)
    };
    let (status, device) = page_login(None, "198.51.100.7");
    assert_eq!(status, Status::Ok);
    let device = device.expect("a device cookie");
    flood(&t);
    assert_eq!(page_login(None, "198.51.100.9").0, Status::TooManyRequests);
    assert_eq!(page_login(Some(&device), "198.51.100.9").0, Status::Ok);
}

#[test]
fn a_device_token_is_no_access_or_refresh_token() {
    let t = flooded();
    let (_, device) = login(&t, "198.51.100.7", PASSWORD, None);
    let device = device.unwrap();
    let res = t.get_auth("/api/me/", &device);
    assert_eq!(res.status(), Status::Unauthorized);
    let res = t.post_json("/api/token/refresh/", json!({"refresh": device}));
    assert_eq!(body(res)["detail"], "Token is invalid");
}

#[test]
fn a_device_token_is_nothing_to_verify_or_to_a_peer_sharing_the_key() {
    let t = flooded();
    let (_, device) = login(&t, "198.51.100.7", PASSWORD, None);
    let device = device.unwrap();
    // Signed with a key of its own, derived from the signing key: our
    // verify, and a Simple JWT peer holding the signing key, see a bad
    // signature.
    let res = t.post_json("/api/token/verify/", json!({"token": device}));
    assert_eq!(res.status(), Status::Unauthorized);
    assert_eq!(body(res)["detail"], "Token is invalid");
}

#[test]
fn a_login_flood_does_not_stop_the_owner_changing_the_password() {
    let t = flooded();
    let (access, _) = t.login("alice", PASSWORD);
    flood(&t);
    let res = t
        .client
        .post("/api/me/password/")
        .header(Header::new("Authorization", format!("Bearer {access}")))
        .header(ContentType::JSON)
        .body(
            json!({"old_password": PASSWORD, "new_password": "a new long passphrase"}).to_string(),
        )
        .dispatch();
    assert_eq!(res.status(), Status::Ok);
}
