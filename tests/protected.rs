//! API.md `GET /api/me/`: the AuthUser guard, row by row.

mod common;

use common::*;
use rocket::http::{Header, Status};
use serde_json::{Value, json};

fn me(t: &TestApp, authorization: Option<&str>) -> (Status, Value) {
    let mut req = t.client.get("/api/me/");
    if let Some(value) = authorization {
        req = req.header(Header::new("Authorization", value.to_string()));
    }
    let res = req.dispatch();
    assert_eq!(
        res.headers().get_one("WWW-Authenticate").is_some(),
        res.status() == Status::Unauthorized
    );
    (res.status(), body(res))
}

fn access_problem(message: &str) -> Value {
    json!({
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}],
    })
}

#[test]
fn a_valid_bearer_gets_the_user() {
    let t = app();
    let id = t.user("alice", PASSWORD, true);
    let (access, _) = t.login("alice", PASSWORD);
    for header in [
        format!("Bearer {access}"),
        format!("bearer {access}"),
        format!("BEARER   {access}"),
        format!("Bearer\t{access}"),
    ] {
        let (status, b) = me(&t, Some(&header));
        assert_eq!(status, Status::Ok, "{header:?}");
        assert_eq!(b["id"], json!(id));
        assert_eq!(b["username"], "alice");
        assert_eq!(b["is_staff"], true);
    }
}

#[test]
fn missing_credentials_and_bad_headers() {
    let t = app();
    let not_provided = json!({"detail": "Authentication credentials were not provided."});
    assert_eq!(me(&t, None), (Status::Unauthorized, not_provided.clone()));
    assert_eq!(
        me(&t, Some("Basic YWxpY2U6cHc=")),
        (Status::Unauthorized, not_provided.clone())
    );
    assert_eq!(
        me(&t, Some("Token abc")),
        (Status::Unauthorized, not_provided.clone())
    );
    let bad = json!({
        "detail": "Authorization header must contain two space-delimited values",
        "code": "bad_authorization_header",
    });
    assert_eq!(me(&t, Some("Bearer")), (Status::Unauthorized, bad.clone()));
    assert_eq!(me(&t, Some("Bearer a b")), (Status::Unauthorized, bad));
}

#[test]
fn configured_header_types_are_honoured() {
    let t = app_with(|f| f.merge(("latch.auth_header_types", ["JWT"])));
    t.user("alice", PASSWORD, false);
    let (access, _) = t.login("alice", PASSWORD);
    assert_eq!(me(&t, Some(&format!("JWT {access}"))).0, Status::Ok);
    assert_eq!(
        me(&t, Some(&format!("Bearer {access}"))).0,
        Status::Unauthorized
    );
}

#[test]
fn token_problems_use_the_messages_shape() {
    let t = app();
    t.user("alice", PASSWORD, false);
    let (access, refresh) = t.login("alice", PASSWORD);
    let expired = hs256(
        &json!({"token_type": "access", "exp": now() - 1, "iat": now() - 10, "jti": "a".repeat(32), "user_id": "1"}),
    );
    let cases = [
        ("garbage".to_string(), "Token is invalid"),
        (format!("{access}x"), "Token is invalid"),
        (expired, "Token is expired"),
        (refresh, "Token has wrong type"),
    ];
    for (token, message) in cases {
        assert_eq!(
            me(&t, Some(&format!("Bearer {token}"))),
            (Status::Unauthorized, access_problem(message))
        );
    }
}

#[test]
fn user_problems() {
    let t = app();
    let alice = t.user("alice", PASSWORD, false);
    let no_user_id = hs256(
        &json!({"token_type": "access", "exp": now() + 60, "iat": now(), "jti": "a".repeat(32)}),
    );
    assert_eq!(
        me(&t, Some(&format!("Bearer {no_user_id}"))),
        (
            Status::Unauthorized,
            json!({"detail": "Token contained no recognizable user identification", "code": "token_not_valid"})
        )
    );
    let ghost = hs256(
        &json!({"token_type": "access", "exp": now() + 60, "iat": now(), "jti": "a".repeat(32), "user_id": "999"}),
    );
    assert_eq!(
        me(&t, Some(&format!("Bearer {ghost}"))),
        (
            Status::Unauthorized,
            json!({"detail": "User not found", "code": "user_not_found"})
        )
    );
    let (access, _) = t.login("alice", PASSWORD);
    t.state()
        .db
        .run_blocking(|c| latch::store::users::set_active(c, alice, false))
        .unwrap();
    assert_eq!(
        me(&t, Some(&format!("Bearer {access}"))),
        (
            Status::Unauthorized,
            json!({"detail": "User is inactive", "code": "user_inactive"})
        )
    );
}

#[test]
fn authentication_runs_before_method_dispatch() {
    let t = app();
    t.user("alice", PASSWORD, false);
    let res = t.client.post("/api/me/").dispatch();
    assert_eq!(res.status(), Status::Unauthorized);
    assert_eq!(
        body(res),
        json!({"detail": "Authentication credentials were not provided."})
    );
    let (access, _) = t.login("alice", PASSWORD);
    let res = t
        .client
        .post("/api/me/")
        .header(Header::new("Authorization", format!("Bearer {access}")))
        .dispatch();
    assert_eq!(res.status(), Status::MethodNotAllowed);
    assert_eq!(body(res), json!({"detail": "Method \"POST\" not allowed."}));
}

#[test]
fn cut_offs_reject_every_earlier_token() {
    let t = app();
    let alice = t.user("alice", PASSWORD, false);
    let db = &t.state().db;

    // Password change.
    let (access, refresh) = t.login("alice", PASSWORD);
    let foreign = hs256(
        &json!({"token_type": "access", "exp": now() + 60, "iat": now(), "jti": "a".repeat(32), "user_id": alice}),
    );
    let hash = t
        .state()
        .hasher
        .hash_blocking("a new password entirely")
        .unwrap();
    db.run_blocking(|c| latch::store::accounts::set_password(c, alice, &hash, now()))
        .unwrap();
    assert_eq!(
        me(&t, Some(&format!("Bearer {access}"))),
        (Status::Unauthorized, access_problem("Token is blacklisted"))
    );
    assert_eq!(
        me(&t, Some(&format!("Bearer {foreign}"))).0,
        Status::Unauthorized
    );
    let res = t.post_json("/api/token/refresh/", json!({"refresh": refresh}));
    assert_eq!(res.status(), Status::Unauthorized);

    // Deactivation then reactivation: the old tokens stay dead.
    let (access, _) = t.login("alice", "a new password entirely");
    db.run_blocking(|c| {
        latch::store::accounts::change(c, alice, None, None, Some(false), now()).map(|r| r.is_ok())
    })
    .unwrap();
    db.run_blocking(|c| {
        latch::store::accounts::change(c, alice, None, None, Some(true), now()).map(|r| r.is_ok())
    })
    .unwrap();
    assert_eq!(
        me(&t, Some(&format!("Bearer {access}"))).0,
        Status::Unauthorized
    );

    // Log out everywhere.
    let (a1, _) = t.login("alice", "a new password entirely");
    let (a2, _) = t.login("alice", "a new password entirely");
    db.run_blocking(|c| latch::store::accounts::log_out_everywhere(c, alice, now()))
        .unwrap();
    assert_eq!(
        me(&t, Some(&format!("Bearer {a1}"))).0,
        Status::Unauthorized
    );
    assert_eq!(
        me(&t, Some(&format!("Bearer {a2}"))).0,
        Status::Unauthorized
    );
    // A fresh login after the cut-off works at once, even in the same second.
    let (fresh, _) = t.login("alice", "a new password entirely");
    assert_eq!(me(&t, Some(&format!("Bearer {fresh}"))).0, Status::Ok);
}
