//! Interop with a real Django service running djangorestframework-simplejwt
//! with the same key string: each side accepts the other's tokens.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::python::django_python;

use common::*;
use rocket::http::Status;
use serde_json::{Value, json};

fn peer(args: &[&str]) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/simplejwt_peer.py");
    let out = Command::new(django_python())
        .arg(script)
        .arg(KEY)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("peer JSON")
}

#[test]
fn django_and_latch_accept_each_others_tokens() {
    let t = app();
    let id = t.user("alice", PASSWORD, false);
    assert_eq!(id, 1, "the peer's user has id 1");

    // latch -> Django.
    let (access, refresh) = t.login("alice", PASSWORD);
    let checked = peer(&["verify", &access, &refresh]);
    assert_eq!(
        checked,
        json!({"user": "alice", "access_user_id": "1", "refresh_type": "refresh"})
    );

    // Django -> latch.
    let minted = peer(&["mint", "1"]);
    let res = t.get_auth("/api/me/", minted["access"].as_str().unwrap());
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(body(res)["username"], "alice");
    let res = t.post_json("/api/token/refresh/", json!({"refresh": minted["refresh"]}));
    assert_eq!(
        res.status(),
        Status::Ok,
        "a foreign refresh token is accepted once"
    );
    let res = t.post_json("/api/token/refresh/", json!({"refresh": minted["refresh"]}));
    assert_eq!(res.status(), Status::Unauthorized);
    let res = t.post_json("/api/token/verify/", json!({"token": minted["access"]}));
    assert_eq!(res.status(), Status::Ok);
}

#[test]
fn a_django_view_reads_latchs_configured_claims() {
    let t = app_with(|f| f.merge(("latch.token_claims", ["username", "is_staff"])));
    t.user("alice", PASSWORD, true);
    let (access, _) = t.login("alice", PASSWORD);
    let read = peer(&["claims", &access, "username", "is_staff", "user_id"]);
    assert_eq!(
        read,
        json!({"username": "alice", "is_staff": true, "user_id": "1"})
    );
}
