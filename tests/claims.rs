//! Tokens that carry what services need: configured user claims, read from
//! the user's record at every login and refresh; minting for a user; and
//! registration that signs the new user in.

mod common;

use common::*;
use rocket::http::{ContentType, Header, Status};
use serde_json::{Value, json};

const ALL: [&str; 5] = [
    "username",
    "is_staff",
    "is_active",
    "date_joined",
    "last_login",
];

fn with_claims(fields: &[&str]) -> TestApp {
    let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    app_with(|f| f.merge(("latch.token_claims", fields)))
}

fn refresh(t: &TestApp, token: &str) -> Value {
    let res = t.post_json("/api/token/refresh/", json!({ "refresh": token }));
    assert_eq!(res.status(), Status::Ok);
    body(res)
}

fn staff_patch(t: &TestApp, staff: &str, id: i64, change: Value) {
    let res = t
        .client
        .patch(format!("/api/admin/users/{id}/"))
        .header(Header::new("Authorization", format!("Bearer {staff}")))
        .header(ContentType::JSON)
        .body(change.to_string())
        .dispatch();
    assert_eq!(res.status(), Status::Ok);
}

#[test]
fn each_configured_field_appears_with_its_json_type() {
    let t = with_claims(&ALL);
    t.user("alice", PASSWORD, true);
    let (access, refresh) = t.login("alice", PASSWORD);
    for token in [&access, &refresh] {
        let c = claims(token);
        assert_eq!(c["username"], "alice");
        assert_eq!(c["is_staff"], true);
        assert_eq!(c["is_active"], true);
        assert!(c["date_joined"].as_str().unwrap().ends_with('Z'), "{c}");
        assert_eq!(c["last_login"], Value::Null);
    }
    // The Simple JWT claims still come first, in their order.
    let keys: Vec<String> = claims(&access)
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys[..5], ["token_type", "exp", "iat", "jti", "user_id"]);
}

#[test]
fn no_claim_is_added_when_none_is_configured() {
    let t = app();
    t.user("alice", PASSWORD, false);
    let (access, refresh) = t.login("alice", PASSWORD);
    for token in [&access, &refresh] {
        for field in ALL {
            assert!(claims(token).get(field).is_none(), "{field}");
        }
    }
}

#[test]
fn claims_are_fresh_from_the_record_at_every_refresh() {
    let t = with_claims(&["username", "is_staff"]);
    t.user("boss", PASSWORD, true);
    let alice = t.user("alice", PASSWORD, false);
    let (staff, _) = t.login("boss", PASSWORD);
    let (first_access, first_refresh) = t.login("alice", PASSWORD);
    staff_patch(
        &t,
        &staff,
        alice,
        json!({"is_staff": true, "username": "alicia"}),
    );
    let second = refresh(&t, &first_refresh);
    let c = claims(second["access"].as_str().unwrap());
    assert_eq!(
        (c["username"].clone(), c["is_staff"].clone()),
        (json!("alicia"), json!(true))
    );
    assert_eq!(
        claims(second["refresh"].as_str().unwrap())["username"],
        "alicia"
    );
    // The earlier access token keeps what it said until it expires.
    assert_eq!(claims(&first_access)["username"], "alice");
    assert_eq!(claims(&first_access)["is_staff"], false);
    // Demoted again: the next pair says so.
    staff_patch(&t, &staff, alice, json!({"is_staff": false}));
    let third = refresh(&t, second["refresh"].as_str().unwrap());
    assert_eq!(claims(third["access"].as_str().unwrap())["is_staff"], false);
    // A deactivation's cut-off still ends the session, claims or not.
    staff_patch(&t, &staff, alice, json!({"is_active": false}));
    let res = t.post_json("/api/token/refresh/", json!({"refresh": third["refresh"]}));
    assert_eq!(res.status(), Status::Unauthorized);
}

#[test]
fn a_foreign_token_gets_latchs_claims_on_its_first_refresh() {
    let t = with_claims(&["username"]);
    let id = t.user("alice", PASSWORD, false);
    let foreign = hs256(&json!({
        "token_type": "refresh", "exp": now() + 600, "iat": now(),
        "jti": "f".repeat(32), "user_id": id.to_string(),
    }));
    let pair = refresh(&t, &foreign);
    assert_eq!(
        claims(pair["access"].as_str().unwrap())["username"],
        "alice"
    );
}

fn mint(t: &TestApp, bearer: &str, id: i64) -> (Status, Value) {
    let res = t
        .client
        .post(format!("/api/admin/users/{id}/tokens/"))
        .header(Header::new("Authorization", format!("Bearer {bearer}")))
        .dispatch();
    let status = res.status();
    (status, body(res))
}

#[test]
fn staff_mint_a_pair_for_a_user() {
    let t = app();
    t.user("boss", PASSWORD, true);
    let alice = t.user("alice", PASSWORD, false);
    let bob = t.user("bob", PASSWORD, false);
    let (staff, _) = t.login("boss", PASSWORD);
    let (plain, _) = t.login("bob", PASSWORD);
    assert_eq!(mint(&t, &plain, alice).0, Status::Forbidden);
    assert_eq!(mint(&t, &staff, 999_999).0, Status::NotFound);
    let (status, pair) = mint(&t, &staff, alice);
    assert_eq!(status, Status::Created, "{pair}");
    let access = pair["access"].as_str().unwrap();
    assert_eq!(claims(access)["user_id"], alice.to_string());
    // The minted session is the user's, named after the staff member.
    let res = t.get_auth("/api/sessions/", access);
    let sessions = body(res);
    let listed = sessions.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0]["user_agent"].as_str().unwrap().contains("boss"),
        "{sessions}"
    );
    // It ends like any other.
    let sid = listed[0]["id"].as_str().unwrap();
    let res = t
        .client
        .delete(format!("/api/sessions/{sid}/"))
        .header(Header::new("Authorization", format!("Bearer {access}")))
        .dispatch();
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(
        t.get_auth("/api/me/", access).status(),
        Status::Unauthorized
    );
    // An inactive user gets none.
    t.state()
        .db
        .run_blocking(|c| latch::store::users::set_active(c, bob, false))
        .unwrap();
    let (status, body) = mint(&t, &staff, bob);
    assert_eq!(status, Status::BadRequest);
    assert_eq!(body, json!({"detail": "This user is inactive."}));
}

#[test]
fn open_registration_signs_the_new_user_in() {
    let t = app_with(|f| {
        f.merge(("latch.registration", "open"))
            .merge(("latch.token_claims", ["username"]))
    });
    t.user("root", PASSWORD, true);
    let res = t.post_json(
        "/api/register/",
        json!({"username": "newcomer", "password": "a decent passphrase"}),
    );
    assert_eq!(res.status(), Status::Created);
    let created = body(res);
    assert_eq!(created["username"], "newcomer");
    let access = created["access"].as_str().unwrap();
    assert_eq!(claims(access)["username"], "newcomer");
    assert_eq!(body(t.get_auth("/api/me/", access))["username"], "newcomer");
    refresh(&t, created["refresh"].as_str().unwrap());
}
