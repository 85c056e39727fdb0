//! Account safety: the last staff account stays, registration cannot take
//! an unclaimed instance, and verify agrees with every other endpoint on
//! revoked tokens.

mod common;

use common::*;
use rocket::http::{ContentType, Header, Status};
use serde_json::{Value, json};

fn staff_call(t: &TestApp, method: &str, path: &str, access: &str, body: Value) -> (Status, Value) {
    let method = method.parse().unwrap();
    let res = t
        .client
        .req(method, path.to_string())
        .header(Header::new("Authorization", format!("Bearer {access}")))
        .header(ContentType::JSON)
        .body(body.to_string())
        .dispatch();
    let status = res.status();
    let text = res.into_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

const LAST: &str = "This is the last active staff account. Make another user staff first.";

#[test]
fn the_last_staff_account_cannot_remove_itself() {
    let t = app();
    let boss = t.user("boss", PASSWORD, true);
    let (access, _) = t.login("boss", PASSWORD);
    let path = format!("/api/admin/users/{boss}/");
    for change in [json!({"is_staff": false}), json!({"is_active": false})] {
        let (status, body) = staff_call(&t, "PATCH", &path, &access, change);
        assert_eq!(status, Status::Conflict);
        assert_eq!(body, json!({"detail": LAST}));
    }
    let (status, body) = staff_call(&t, "DELETE", &path, &access, json!({}));
    assert_eq!((status, body), (Status::Conflict, json!({"detail": LAST})));
    // Still staff, still active.
    let (status, me) = staff_call(&t, "GET", &path, &access, json!({}));
    assert_eq!(status, Status::Ok);
    assert_eq!(
        (me["is_staff"].clone(), me["is_active"].clone()),
        (json!(true), json!(true))
    );
    // With a second active staff account, stepping down is fine.
    t.user("deputy", PASSWORD, true);
    let (status, body) = staff_call(&t, "PATCH", &path, &access, json!({"is_staff": false}));
    assert_eq!(status, Status::Ok);
    assert_eq!(body["is_staff"], false);
}

#[test]
fn an_inactive_staff_account_is_no_administrator() {
    let t = app();
    let boss = t.user("boss", PASSWORD, true);
    let dormant = t.user("dormant", PASSWORD, true);
    let (access, _) = t.login("boss", PASSWORD);
    let (status, _) = staff_call(
        &t,
        "PATCH",
        &format!("/api/admin/users/{dormant}/"),
        &access,
        json!({"is_active": false}),
    );
    assert_eq!(status, Status::Ok);
    let (status, _) = staff_call(
        &t,
        "PATCH",
        &format!("/api/admin/users/{boss}/"),
        &access,
        json!({"is_staff": false}),
    );
    assert_eq!(status, Status::Conflict);
}

#[test]
fn registration_waits_for_the_first_staff_account() {
    let t = app_with(|f| f.merge(("latch.registration", "open")));
    let res = t.post_json(
        "/api/register/",
        json!({"username": "early", "password": "a decent passphrase"}),
    );
    assert_eq!(res.status(), Status::Forbidden);
    assert_eq!(
        body(res),
        json!({"detail": "Registration opens once the first staff account has been set up."})
    );
    t.user("root", PASSWORD, true);
    let res = t.post_json(
        "/api/register/",
        json!({"username": "later", "password": "a decent passphrase"}),
    );
    assert_eq!(res.status(), Status::Created);
    assert_eq!(body(res)["is_staff"], false);
}

fn verify(t: &TestApp, token: &str) -> (Status, Value) {
    let res = t.post_json("/api/token/verify/", json!({ "token": token }));
    (res.status(), body(res))
}

fn blacklisted() -> (Status, Value) {
    (
        Status::BadRequest,
        json!({"non_field_errors": ["Token is blacklisted"]}),
    )
}

#[test]
fn verify_calls_tokens_of_ended_sessions_blacklisted() {
    let t = app();
    let alice = t.user("alice", PASSWORD, false);
    // Log out everywhere: the access token of every session is revoked.
    let (access, refresh) = t.login("alice", PASSWORD);
    assert_eq!(verify(&t, &access).0, Status::Ok);
    let res = t
        .client
        .post("/api/sessions/revoke-all/")
        .header(Header::new("Authorization", format!("Bearer {access}")))
        .dispatch();
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(verify(&t, &access), blacklisted());
    assert_eq!(verify(&t, &refresh), blacklisted());
    // One session deleted: its access token.
    let (first, _) = t.login("alice", PASSWORD);
    let (second, _) = t.login("alice", PASSWORD);
    let sid = claims(&first)["sid"].as_str().unwrap().to_string();
    let res = t
        .client
        .delete(format!("/api/sessions/{sid}/"))
        .header(Header::new("Authorization", format!("Bearer {second}")))
        .dispatch();
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(verify(&t, &first), blacklisted());
    assert_eq!(verify(&t, &second).0, Status::Ok);
    // A deleted user's refresh token.
    let (_, refresh) = t.login("alice", PASSWORD);
    t.state()
        .db
        .run_blocking(|c| latch::store::users::delete(c, alice))
        .unwrap();
    assert_eq!(verify(&t, &refresh), blacklisted());
}

/// A token without a session (minted by a Django peer with the shared key)
/// is held to the user's cut-off: once the user logs out everywhere, verify
/// calls it blacklisted, as the guard refuses it.
#[test]
fn verify_calls_a_foreign_token_from_before_the_cut_off_blacklisted() {
    let t = app();
    let alice = t.user("alice", PASSWORD, false);
    let foreign = hs256(&json!({
        "token_type": "access", "exp": now() + 300, "iat": now() - 10,
        "jti": "c".repeat(32), "user_id": alice.to_string(),
    }));
    assert_eq!(verify(&t, &foreign).0, Status::Ok);
    let (access, _) = t.login("alice", PASSWORD);
    let res = t
        .client
        .post("/api/sessions/revoke-all/")
        .header(Header::new("Authorization", format!("Bearer {access}")))
        .dispatch();
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(verify(&t, &foreign), blacklisted());
    assert_eq!(
        t.get_auth("/api/me/", &foreign).status(),
        Status::Unauthorized
    );
}
