//! Real Django + Simple JWT (and PyJWT's `PyJWKClient`) trust a real latch
//! server through its JWKS alone, with EdDSA, ES256 and RS256; after
//! `latch keys rotate` both keys' tokens pass; after `latch keys retire`
//! the retired key's tokens are refused, by latch and by Django, and the
//! running server saw each change without a restart.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::python::django_python;
use common::*;
use serde_json::{Value, json};

fn peer(port: u16, algorithm: &str, tokens: &[&str]) -> Vec<Value> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/jwks_peer.py");
    let out = Command::new(django_python())
        .arg(script)
        .arg(format!("http://127.0.0.1:{port}/.well-known/jwks.json"))
        .arg(algorithm)
        .args(tokens)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout).expect("peer JSON")
}

fn accepted() -> Value {
    json!({"simplejwt": "alice", "pyjwk": "1"})
}

/// `latch keys ...` on the server's database; its stdout.
fn keys_cli(dir: &Path, algorithm: &str, args: &[&str]) -> String {
    let out = latch_cmd(dir)
        .env_remove("LATCH_SIGNING_KEY")
        .env("LATCH_ALGORITHM", algorithm)
        .arg("keys")
        .args(args)
        .output()
        .expect("latch keys");
    assert!(
        out.status.success(),
        "latch keys {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn kid(token: &str) -> String {
    use base64::Engine;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.split('.').next().unwrap())
        .unwrap();
    serde_json::from_slice::<Value>(&header).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_string()
}

fn published(server: &Server) -> Vec<String> {
    let (status, body) = server.request("GET", "/.well-known/jwks.json", &[], "");
    assert_eq!(status, 200);
    body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

/// Waits for the running server to publish exactly `want`: it polls the
/// database once a second; three seconds leave room for a machine busy
/// with other builds.
fn sees(server: &Server, want: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let now = published(server);
        if now == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "published {now:?}, want {want:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn me(server: &Server, access: &str) -> u16 {
    let auth = format!("Bearer {access}");
    server
        .request("GET", "/api/me/", &[("Authorization", &auth)], "")
        .0
}

fn rotate_then_retire(algorithm: &str) {
    let dir = tempfile::tempdir().unwrap();
    let env = [("LATCH_ALGORITHM", algorithm)];
    let server = Server::start_keyless(dir.path(), &env);
    add_user(dir.path(), "alice", false);
    let (old_access, _) = server_login(&server, "alice");
    let old = kid(&old_access);
    assert_eq!(published(&server), vec![old.clone()]);
    assert_eq!(
        peer(server.port, algorithm, &[&old_access]),
        vec![accepted()]
    );
    let decoded = latch_cmd(dir.path())
        .env_remove("LATCH_SIGNING_KEY")
        .env("LATCH_ALGORITHM", algorithm)
        .args(["decode", &old_access])
        .output()
        .unwrap();
    let decoded: Value = serde_json::from_slice(&decoded.stdout).expect("latch decode JSON");
    assert_eq!(
        (decoded["alg"].as_str(), decoded["kid"].as_str()),
        (Some(algorithm), Some(old.as_str())),
        "latch decode shows alg and kid"
    );

    // Rotate with --now so the test need not wait jwks_max_age: the new
    // key is published and signs; the old one still verifies.
    let said = keys_cli(dir.path(), algorithm, &["rotate", "--now"]);
    let new = said.split_whitespace().nth(2).unwrap().to_string();
    sees(&server, &[&old, &new]);
    let (new_access, _) = server_login(&server, "alice");
    assert_eq!(
        kid(&new_access),
        new,
        "{algorithm}: the running server signs with it"
    );
    assert_eq!(
        peer(server.port, algorithm, &[&old_access, &new_access]),
        vec![accepted(), accepted()],
        "{algorithm}: both keys' tokens after rotation"
    );
    assert_eq!(me(&server, &old_access), 200);
    let listed: Value = serde_json::from_str(&keys_cli(dir.path(), algorithm, &["list"])).unwrap();
    let states: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["verifying", "signing"]);

    // Retire the old key: refused at once by latch, and by Django.
    keys_cli(dir.path(), algorithm, &["retire", &old]);
    sees(&server, &[&new]);
    assert_eq!(me(&server, &old_access), 401, "{algorithm}: retired");
    assert_eq!(me(&server, &new_access), 200);
    let after = peer(server.port, algorithm, &[&old_access, &new_access]);
    assert_eq!(after[1], accepted());
    assert!(
        after[0]["simplejwt"]
            .as_str()
            .unwrap()
            .contains("Given token not valid")
            || after[0]["simplejwt"].as_str().unwrap().contains("invalid"),
        "{after:?}"
    );
    assert!(
        after[0]["pyjwk"]
            .as_str()
            .unwrap()
            .contains("PyJWKClientError"),
        "{after:?}"
    );
}

#[test]
fn django_trusts_latch_through_its_jwks_with_eddsa() {
    rotate_then_retire("EdDSA");
}

#[test]
fn django_trusts_latch_through_its_jwks_with_es256() {
    rotate_then_retire("ES256");
}

#[test]
fn django_trusts_latch_through_its_jwks_with_rs256() {
    rotate_then_retire("RS256");
}
