//! API.md "Tokens" and "Endpoints": obtain, refresh, verify and blacklist.

mod common;

use common::*;
use rocket::http::Status;
use serde_json::{Value, json};

fn token_error(message: &str) -> Value {
    json!({"detail": message, "code": "token_not_valid"})
}

#[test]
fn login_issues_tokens_with_simple_jwt_header_and_claims() {
    let t = app();
    let id = t.user("alice", PASSWORD, false);
    let before = now();
    let (access, refresh) = t.login("alice", PASSWORD);
    for (token, kind, lifetime) in [(&access, "access", 300), (&refresh, "refresh", 86400)] {
        let header = token.split('.').next().unwrap();
        assert_eq!(
            header, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
            "{{\"alg\":\"HS256\",\"typ\":\"JWT\"}}"
        );
        let c = claims(token);
        let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(&keys[..5], ["token_type", "exp", "iat", "jti", "user_id"]);
        assert_eq!(c["token_type"], kind);
        assert_eq!(c["user_id"], json!(id.to_string()));
        let iat = c["iat"].as_i64().unwrap();
        assert!(iat >= before && iat <= now());
        assert_eq!(c["exp"].as_i64().unwrap(), iat + lifetime);
        let jti = c["jti"].as_str().unwrap();
        assert_eq!(jti.len(), 32);
        assert!(
            jti.chars()
                .all(|ch| ch.is_ascii_hexdigit() && !ch.is_ascii_uppercase())
        );
    }
    assert_ne!(claims(&access)["jti"], claims(&refresh)["jti"]);
}

#[test]
fn wrong_password_unknown_and_inactive_users_get_one_answer() {
    let t = app();
    let id = t.user("alice", PASSWORD, false);
    t.user("carol", PASSWORD, false);
    t.state()
        .db
        .run_blocking(|c| {
            latch::store::accounts::change(c, id, None, None, Some(false), now()).map(|r| r.is_ok())
        })
        .unwrap();
    let expected = json!({"detail": "No active account found with the given credentials"});
    for (name, pw) in [
        ("alice", PASSWORD),
        ("carol", "wrong"),
        ("nobody", PASSWORD),
    ] {
        let res = t.post_json("/api/token/", json!({"username": name, "password": pw}));
        assert_eq!(res.status(), Status::Unauthorized, "{name}");
        assert_eq!(body(res), expected, "{name}");
    }
}

#[test]
fn refresh_rotates_and_consumes() {
    let t = app();
    t.user("alice", PASSWORD, false);
    let (_, refresh) = t.login("alice", PASSWORD);
    t.state().clock.advance(std::time::Duration::from_secs(1));
    let res = t.post_json("/api/token/refresh/", json!({"refresh": refresh}));
    assert_eq!(res.status(), Status::Ok);
    let b = body(res);
    let new_refresh = b["refresh"].as_str().unwrap();
    let new_access = b["access"].as_str().unwrap();
    let (old, new) = (claims(&refresh), claims(new_refresh));
    assert_ne!(old["jti"], new["jti"]);
    assert!(new["iat"].as_i64().unwrap() > old["iat"].as_i64().unwrap());
    assert_eq!(
        new["exp"].as_i64().unwrap(),
        new["iat"].as_i64().unwrap() + 86400
    );
    assert_eq!(old["user_id"], new["user_id"]);
    assert_eq!(old["sid"], new["sid"], "same session");
    assert_eq!(claims(new_access)["token_type"], "access");
    assert_eq!(t.get_auth("/api/me/", new_access).status(), Status::Ok);

    // The presented token is consumed.
    let res = t.post_json("/api/token/refresh/", json!({"refresh": refresh}));
    assert_eq!(res.status(), Status::Unauthorized);
    assert_eq!(body(res), token_error("Token is blacklisted"));
}

#[test]
fn reuse_revokes_every_descendant() {
    let t = app();
    t.user("alice", PASSWORD, false);
    let (_, r0) = t.login("alice", PASSWORD);
    let b1 = body(t.post_json("/api/token/refresh/", json!({"refresh": r0})));
    let r1 = b1["refresh"].as_str().unwrap().to_string();
    let b2 = body(t.post_json("/api/token/refresh/", json!({"refresh": r1})));
    let r2 = b2["refresh"].as_str().unwrap().to_string();
    let a2 = b2["access"].as_str().unwrap().to_string();
    // Another login is another family and survives.
    let (other_access, other_refresh) = t.login("alice", PASSWORD);

    // The thief replays r0.
    let res = t.post_json("/api/token/refresh/", json!({"refresh": r0}));
    assert_eq!(body(res), token_error("Token is blacklisted"));
    // The legitimate holder's live descendant is dead, and so is its access.
    let res = t.post_json("/api/token/refresh/", json!({"refresh": r2}));
    assert_eq!(res.status(), Status::Unauthorized);
    assert_eq!(body(res), token_error("Token is blacklisted"));
    assert_eq!(t.get_auth("/api/me/", &a2).status(), Status::Unauthorized);
    // The other session is untouched.
    assert_eq!(t.get_auth("/api/me/", &other_access).status(), Status::Ok);
    let res = t.post_json("/api/token/refresh/", json!({"refresh": other_refresh}));
    assert_eq!(res.status(), Status::Ok);
}

#[test]
fn within_grace_a_replay_gets_the_identical_pair() {
    let t = app_with(|f| f.merge(("latch.refresh_reuse_grace", "30s")));
    t.user("alice", PASSWORD, false);
    let (_, r0) = t.login("alice", PASSWORD);
    let first = t
        .post_json("/api/token/refresh/", json!({"refresh": r0}))
        .into_string()
        .unwrap();
    let second = t
        .post_json("/api/token/refresh/", json!({"refresh": r0}))
        .into_string()
        .unwrap();
    assert_eq!(first, second, "byte for byte");
    let pair: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(
        t.get_auth("/api/me/", pair["access"].as_str().unwrap())
            .status(),
        Status::Ok
    );
    // The successor still works once: no fork, no revocation.
    let res = t.post_json("/api/token/refresh/", json!({"refresh": pair["refresh"]}));
    assert_eq!(res.status(), Status::Ok);
}

#[test]
fn rotation_off_returns_access_only_and_keeps_the_token() {
    let t = app_with(|f| f.merge(("latch.rotate_refresh_tokens", false)));
    t.user("alice", PASSWORD, false);
    let (_, refresh) = t.login("alice", PASSWORD);
    for _ in 0..2 {
        let res = t.post_json("/api/token/refresh/", json!({"refresh": refresh}));
        assert_eq!(res.status(), Status::Ok);
        let b = body(res);
        assert!(b["access"].is_string());
        assert!(b.get("refresh").is_none(), "{b}");
    }
}

#[test]
fn rotation_without_blacklisting_leaves_the_old_token_usable() {
    let t = app_with(|f| f.merge(("latch.blacklist_after_rotation", false)));
    t.user("alice", PASSWORD, false);
    let (_, refresh) = t.login("alice", PASSWORD);
    for _ in 0..2 {
        let res = t.post_json("/api/token/refresh/", json!({"refresh": refresh}));
        assert_eq!(res.status(), Status::Ok);
        assert!(body(res)["refresh"].is_string());
    }
}

#[test]
fn refresh_with_an_access_token_is_wrong_type() {
    let t = app();
    t.user("alice", PASSWORD, false);
    let (access, _) = t.login("alice", PASSWORD);
    let res = t.post_json("/api/token/refresh/", json!({"refresh": access}));
    assert_eq!(res.status(), Status::Unauthorized);
    assert_eq!(body(res), token_error("Token has wrong type"));
}

#[test]
fn refresh_for_a_missing_or_inactive_user() {
    let t = app();
    let alice = t.user("alice", PASSWORD, false);
    let bob = t.user("bob", PASSWORD, false);
    let (_, ra) = t.login("alice", PASSWORD);
    let expected = json!({"detail": "No active account found for the given token."});
    // Tokens for users that were never there, minted with the shared key.
    let ghost = hs256(
        &json!({"token_type": "refresh", "exp": now() + 60, "iat": now(), "jti": "a".repeat(32), "user_id": "999"}),
    );
    let res = t.post_json("/api/token/refresh/", json!({"refresh": ghost}));
    assert_eq!(res.status(), Status::Unauthorized);
    assert_eq!(body(res), expected);
    // Deleted user.
    let (_, rb) = t.login("bob", PASSWORD);
    t.state()
        .db
        .run_blocking(|c| latch::store::users::delete(c, bob))
        .unwrap();
    let res = t.post_json("/api/token/refresh/", json!({"refresh": rb}));
    assert_eq!(body(res), expected);
    // Inactive user: deactivation revokes sessions too, and the store is
    // checked first, so flip the flag alone to reach the user check.
    t.state()
        .db
        .run_blocking(|c| latch::store::users::set_active(c, alice, false))
        .unwrap();
    let res = t.post_json("/api/token/refresh/", json!({"refresh": ra}));
    assert_eq!(body(res), expected);
}

#[test]
fn verify_accepts_any_valid_token_and_reports_the_blacklist() {
    let t = app();
    t.user("alice", PASSWORD, false);
    let (access, refresh) = t.login("alice", PASSWORD);
    for token in [&access, &refresh] {
        let res = t.post_json("/api/token/verify/", json!({"token": token}));
        assert_eq!(res.status(), Status::Ok);
        assert_eq!(body(res), json!({}));
    }
    // Not looked up: a token for a user that does not exist still verifies.
    let ghost = hs256(
        &json!({"token_type": "access", "exp": now() + 60, "iat": now(), "jti": "b".repeat(32), "user_id": "424242"}),
    );
    assert_eq!(
        t.post_json("/api/token/verify/", json!({"token": ghost}))
            .status(),
        Status::Ok
    );

    let res = t.post_json("/api/token/blacklist/", json!({"refresh": refresh}));
    assert_eq!(res.status(), Status::Ok);
    let res = t.post_json("/api/token/verify/", json!({"token": refresh}));
    assert_eq!(res.status(), Status::BadRequest);
    assert_eq!(
        body(res),
        json!({"non_field_errors": ["Token is blacklisted"]})
    );

    let res = t.post_json("/api/token/verify/", json!({"token": "not.a.token"}));
    assert_eq!(res.status(), Status::Unauthorized);
    assert_eq!(body(res), token_error("Token is invalid"));
}

#[test]
fn blacklist_logs_out_and_is_final() {
    let t = app();
    t.user("alice", PASSWORD, false);
    let (access, refresh) = t.login("alice", PASSWORD);
    let res = t.post_json("/api/token/blacklist/", json!({"refresh": refresh}));
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(body(res), json!({}));
    let res = t.post_json("/api/token/refresh/", json!({"refresh": refresh}));
    assert_eq!(body(res), token_error("Token is blacklisted"));
    let res = t.post_json("/api/token/blacklist/", json!({"refresh": refresh}));
    assert_eq!(res.status(), Status::Unauthorized);
    assert_eq!(body(res), token_error("Token is blacklisted"));
    // Logging out ends the session: its access token dies with it.
    assert_eq!(
        t.get_auth("/api/me/", &access).status(),
        Status::Unauthorized
    );
    let res = t.post_json("/api/token/blacklist/", json!({"refresh": access}));
    assert_eq!(res.status(), Status::Unauthorized);
    assert_eq!(body(res), token_error("Token has wrong type"));
}

#[test]
fn token_errors_come_in_the_contract_order() {
    let t = app();
    t.user("alice", PASSWORD, false);
    let n = now();
    let jti = "c".repeat(32);
    let cases = [
        // Invalid beats everything, even a missing exp.
        (
            hs256(
                &json!({"token_type": "refresh", "exp": "soon", "iat": n, "jti": jti, "user_id": "1"}),
            ),
            "Token is invalid",
        ),
        (
            hs256(
                &json!({"token_type": "refresh", "exp": n + 60, "iat": n + 3600, "jti": jti, "user_id": "1"}),
            ),
            "Token is invalid",
        ),
        (
            hs256(
                &json!({"token_type": "refresh", "exp": n + 60, "nbf": n + 3600, "iat": n, "jti": jti, "user_id": "1"}),
            ),
            "Token is invalid",
        ),
        (
            hs256(
                &json!({"token_type": "refresh", "exp": n + 60, "iat": [n], "jti": jti, "user_id": "1"}),
            ),
            "Token is invalid",
        ),
        (
            hs256(
                &json!({"token_type": "refresh", "exp": 1e300, "iat": n, "jti": jti, "user_id": "1"}),
            ),
            "Token is invalid",
        ),
        (
            hs256(
                &json!({"token_type": "refresh", "exp": n + 60, "iat": n, "jti": 5, "user_id": "1"}),
            ),
            "Token is invalid",
        ),
        (
            hs256(
                &json!({"token_type": "refresh", "exp": n + 60, "iat": n, "jti": jti, "user_id": {"id": 1}}),
            ),
            "Token is invalid",
        ),
        // Expired beats the claim checks.
        (hs256(&json!({"exp": n - 1})), "Token is expired"),
        (
            hs256(&json!({"token_type": "refresh", "iat": n, "jti": jti, "user_id": "1"})),
            "Token has no 'exp' claim",
        ),
        (
            hs256(&json!({"token_type": "refresh", "exp": n + 60, "iat": n, "user_id": "1"})),
            "Token has no id",
        ),
        (
            hs256(&json!({"exp": n + 60, "iat": n, "jti": jti, "user_id": "1"})),
            "Token has no type",
        ),
        (
            hs256(
                &json!({"token_type": "access", "exp": n + 60, "iat": n, "jti": jti, "user_id": "1"}),
            ),
            "Token has wrong type",
        ),
        ("".to_string(), "Token is invalid"),
        ("a.b".to_string(), "Token is invalid"),
        ("a.b.c.d".to_string(), "Token is invalid"),
    ];
    for (token, message) in cases {
        let field = if token.is_empty() {
            "x"
        } else {
            token.as_str()
        };
        let res = t.post_json("/api/token/refresh/", json!({"refresh": field}));
        assert_eq!(res.status(), Status::Unauthorized, "{message}: {token}");
        assert_eq!(body(res), token_error(message), "{token}");
    }
}

#[test]
fn expiry_honours_the_configured_leeway() {
    let strict = app();
    let lenient = app_with(|f| f.merge(("latch.leeway", 30)));
    let token = hs256(
        &json!({"token_type": "access", "exp": now() - 5, "iat": now() - 60, "jti": "d".repeat(32), "user_id": "1"}),
    );
    let res = strict.post_json("/api/token/verify/", json!({"token": token}));
    assert_eq!(body(res), token_error("Token is expired"));
    let res = lenient.post_json("/api/token/verify/", json!({"token": token}));
    assert_eq!(res.status(), Status::Ok);
    // nbf and iat a little ahead are fine within the leeway.
    let ahead = hs256(
        &json!({"token_type": "access", "exp": now() + 60, "iat": now() + 10, "nbf": now() + 10, "jti": "d".repeat(32), "user_id": "1"}),
    );
    assert_eq!(
        strict
            .post_json("/api/token/verify/", json!({"token": ahead}))
            .status(),
        Status::Unauthorized
    );
    assert_eq!(
        lenient
            .post_json("/api/token/verify/", json!({"token": ahead}))
            .status(),
        Status::Ok
    );
}

#[test]
fn only_the_configured_algorithm_is_accepted() {
    let t = app();
    let claims = json!({"token_type": "access", "exp": now() + 60, "iat": now(), "jti": "e".repeat(32), "user_id": "1"});
    let key = KEY.as_bytes();
    use jsonwebtoken::Algorithm::*;
    let forged = [
        sign_raw(&json!({"alg": "HS384", "typ": "JWT"}), &claims, key, HS384),
        sign_raw(&json!({"alg": "HS512", "typ": "JWT"}), &claims, key, HS512),
        // HS256 signature under a header that claims another algorithm.
        sign_raw(&json!({"alg": "RS256", "typ": "JWT"}), &claims, key, HS256),
        sign_raw(&json!({"alg": "hs256", "typ": "JWT"}), &claims, key, HS256),
    ];
    for token in forged {
        let res = t.post_json("/api/token/verify/", json!({"token": token}));
        assert_eq!(body(res), token_error("Token is invalid"), "{token}");
    }
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    for alg in ["none", "None", "NONE", "nOnE"] {
        let unsigned = format!(
            "{}.{}.",
            b64(&json!({"alg": alg, "typ": "JWT"})),
            b64(&claims)
        );
        let res = t.post_json("/api/token/verify/", json!({"token": unsigned}));
        assert_eq!(body(res), token_error("Token is invalid"), "{alg}");
    }
    // A different key of the right algorithm.
    let other = sign_raw(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &claims,
        b"another-key-another-key-another-key!",
        HS256,
    );
    let res = t.post_json("/api/token/verify/", json!({"token": other}));
    assert_eq!(body(res), token_error("Token is invalid"));
}

#[test]
fn foreign_tokens_are_accepted_and_user_id_may_be_an_integer() {
    let t = app();
    let id = t.user("alice", PASSWORD, false);
    // Minted elsewhere with the shared key, Simple JWT style, integer id.
    let access = hs256(
        &json!({"token_type": "access", "exp": now() + 60, "iat": now(), "jti": "f".repeat(32), "user_id": id}),
    );
    let res = t.get_auth("/api/me/", &access);
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(body(res)["username"], "alice");

    // A foreign refresh token is accepted once, then recorded as consumed.
    let refresh = hs256(
        &json!({"token_type": "refresh", "exp": now() + 600, "iat": now(), "jti": "1".repeat(32), "user_id": id.to_string()}),
    );
    let res = t.post_json("/api/token/refresh/", json!({"refresh": refresh}));
    assert_eq!(res.status(), Status::Ok);
    let successor = body(res)["refresh"].as_str().unwrap().to_string();
    let res = t.post_json("/api/token/refresh/", json!({"refresh": refresh}));
    assert_eq!(body(res), token_error("Token is blacklisted"));
    // ...and that replay revoked the family it started.
    let res = t.post_json("/api/token/refresh/", json!({"refresh": successor}));
    assert_eq!(body(res), token_error("Token is blacklisted"));
}

#[test]
fn login_is_throttled_per_account_with_retry_after() {
    let t = app_with(|f| {
        f.merge(("latch.login_account_burst", 3))
            .merge(("latch.login_account_per_hour", 60))
    });
    t.user("alice", PASSWORD, false);
    for _ in 0..3 {
        let res = t.post_json(
            "/api/token/",
            json!({"username": "alice", "password": "nope"}),
        );
        assert_eq!(res.status(), Status::Unauthorized);
    }
    // Even the right password waits now: the attacker learns nothing.
    let res = t.post_json(
        "/api/token/",
        json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(res.status(), Status::TooManyRequests);
    let retry: u64 = res
        .headers()
        .get_one("Retry-After")
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(
        body(res),
        json!({"detail": format!("Request was throttled. Expected available in {retry} seconds.")})
    );
    // Another account from the same address is not locked out.
    t.user("bob", PASSWORD, false);
    t.login("bob", PASSWORD);
}

#[test]
fn expiry_and_the_grace_window_follow_the_apps_clock() {
    use std::time::Duration;
    let t = app_with(|f| f.merge(("latch.refresh_reuse_grace", "30s")));
    t.user("alice", PASSWORD, false);
    let (access, refresh) = t.login("alice", PASSWORD);
    let res = t.post_json("/api/token/refresh/", json!({"refresh": refresh}));
    assert_eq!(res.status(), Status::Ok);
    let first = body(res);
    // Inside the window a replay gets the same pair...
    t.state().clock.advance(Duration::from_secs(29));
    let res = t.post_json("/api/token/refresh/", json!({"refresh": refresh}));
    assert_eq!(body(res), first);
    // ...and past it the replay is reuse.
    t.state().clock.advance(Duration::from_secs(2));
    let res = t.post_json("/api/token/refresh/", json!({"refresh": refresh}));
    assert_eq!(res.status(), Status::Unauthorized);
    assert_eq!(body(res), token_error("Token is blacklisted"));
    // The first access token lived five minutes on the same clock.
    t.state().clock.advance(Duration::from_secs(300));
    let res = t.post_json("/api/token/verify/", json!({"token": access}));
    assert_eq!(body(res), token_error("Token is expired"));
}
