//! Key sets in process: the JWKS, `kid` in every asymmetric token, the
//! choice of key by `kid`, the refusals that keep algorithm confusion
//! impossible, rotation timing on the settable clock, retirement, and
//! `issuer` / `audience` / `user_id_claim`.

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use jsonwebtoken::{DecodingKey, EncodingKey, jwk::Jwk};
use latch::auth::{key_rotation, keyset};
use latch::config::Algorithm;
use rocket::figment::Figment;
use rocket::http::Status;
use serde_json::{Value, json};

/// A test app with `algorithm` and no configured key: latch generates one.
fn keyset_app(algorithm: &str, tweak: impl FnOnce(Figment) -> Figment) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let figment = latch::figment()
        .merge(("log_level", "off"))
        .merge(("latch.database", dir.path().join("latch.db")))
        .merge(("latch.argon2_memory_kib", 64))
        .merge(("latch.argon2_iterations", 1))
        .merge(("latch.algorithm", algorithm));
    let client = rocket::local::blocking::Client::tracked(latch::build(tweak(figment)))
        .expect("rocket ignites");
    TestApp { client, dir }
}

fn header(token: &str) -> Value {
    let bytes = URL_SAFE_NO_PAD
        .decode(token.split('.').next().unwrap())
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn jwks(t: &TestApp) -> Value {
    let res = t.client.get("/.well-known/jwks.json").dispatch();
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(
        res.headers().get_one("Cache-Control"),
        Some("public, max-age=600")
    );
    body(res)
}

fn kids(t: &TestApp) -> Vec<String> {
    jwks(t)["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

/// Signs `claims` under `header` with `key` (PKCS#8 PEM) as `alg`.
fn sign_pem(header: &Value, claims: &Value, alg: Algorithm, pem: &str) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let der = pkcs8::Document::from_pem(pem).unwrap().1;
    let key = match alg {
        Algorithm::EdDSA => EncodingKey::from_ed_der(der.as_bytes()),
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_der(der.as_bytes()),
        _ => unreachable!("EdDSA and ES only"),
    };
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, alg.jwt()).unwrap();
    format!("{message}.{signature}")
}

fn me_status(t: &TestApp, access: &str) -> Status {
    t.get_auth("/api/me/", access).status()
}

fn access_claims(user: &str) -> Value {
    let now = now();
    json!({"token_type": "access", "exp": now + 300, "iat": now,
           "jti": latch::auth::tokens::new_id(), "user_id": user})
}

#[test]
fn hs256_is_unchanged_and_publishes_no_keys() {
    let t = app();
    t.user("alice", PASSWORD, false);
    let (access, _) = t.login("alice", PASSWORD);
    assert_eq!(
        token_segment(&access),
        r#"{"alg":"HS256","typ":"JWT"}"#,
        "byte for byte"
    );
    assert_eq!(jwks(&t), json!({"keys": []}));
    // A `kid` stays refused with HMAC.
    let forged = sign_raw(
        &json!({"alg": "HS256", "kid": "x", "typ": "JWT"}),
        &access_claims("1"),
        KEY.as_bytes(),
        jsonwebtoken::Algorithm::HS256,
    );
    assert_eq!(me_status(&t, &forged), Status::Unauthorized);
}

fn token_segment(token: &str) -> String {
    String::from_utf8(
        URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn every_algorithm_signs_with_a_published_key() {
    for alg in ["EdDSA", "ES256", "ES384", "RS256", "RS384", "RS512"] {
        let t = keyset_app(alg, |f| f);
        t.user("alice", PASSWORD, false);
        let (access, refresh) = t.login("alice", PASSWORD);
        let h = header(&access);
        assert_eq!(h["alg"], alg);
        assert_eq!(h["typ"], "JWT");
        let set = jwks(&t);
        let keys = set["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1, "{alg}: {set}");
        let key = &keys[0];
        assert_eq!(key["kid"], h["kid"], "{alg}");
        assert_eq!(key["alg"], alg);
        assert_eq!(key["use"], "sig");
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(key.get(private).is_none(), "{alg}: private {private}");
        }
        // The JWKS alone verifies the token (jsonwebtoken as a stranger).
        let jwk: Jwk = serde_json::from_value(key.clone()).unwrap();
        assert_eq!(
            jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
                .unwrap(),
            h["kid"].as_str().unwrap(),
            "kid is the RFC 7638 thumbprint"
        );
        let decoding = DecodingKey::from_jwk(&jwk).unwrap();
        let (signed, signature) = access.rsplit_once('.').unwrap();
        assert!(
            jsonwebtoken::crypto::verify(
                signature,
                signed.as_bytes(),
                &decoding,
                Algorithm::from_name(alg).unwrap().jwt()
            )
            .unwrap()
        );
        assert_eq!(me_status(&t, &access), Status::Ok, "{alg}");
        let res = t.post_json("/api/token/refresh/", json!({"refresh": refresh}));
        assert_eq!(res.status(), Status::Ok, "{alg}");
        let res = t.post_json("/api/token/verify/", json!({"token": access}));
        assert_eq!(res.status(), Status::Ok, "{alg}");
    }
}

#[test]
fn kid_picks_the_key_and_confusion_is_refused() {
    let pem = keyset::generate(Algorithm::EdDSA).unwrap();
    let t = keyset_app("EdDSA", |f| f.merge(("latch.signing_key", pem.clone())));
    t.user("alice", PASSWORD, false);
    let kid = kids(&t).remove(0);
    let claims = access_claims("1");
    let with = |h: Value| sign_pem(&h, &claims, Algorithm::EdDSA, &pem);

    assert_eq!(
        me_status(&t, &with(json!({"alg": "EdDSA", "kid": kid, "typ": "JWT"}))),
        Status::Ok,
        "the configured key, by kid"
    );
    assert_eq!(
        me_status(&t, &with(json!({"alg": "EdDSA", "typ": "JWT"}))),
        Status::Ok,
        "no kid: the active key"
    );
    let unknown = with(json!({"alg": "EdDSA", "kid": "nope", "typ": "JWT"}));
    let res = t.get_auth("/api/me/", &unknown);
    assert_eq!(res.status(), Status::Unauthorized);
    assert_eq!(body(res)["messages"][0]["message"], "Token is invalid");
    for refused in ["jwk", "jku", "x5u", "x5c", "crit"] {
        let mut h = json!({"alg": "EdDSA", "kid": kid, "typ": "JWT"});
        h[refused] = json!("x");
        assert_eq!(me_status(&t, &with(h)), Status::Unauthorized, "{refused}");
    }
    // A kid that is not a string, and the algorithm of another key type.
    assert_eq!(
        me_status(&t, &with(json!({"alg": "EdDSA", "kid": 7}))),
        Status::Unauthorized
    );
    // `none`, and HS tokens keyed with every public form of the key.
    let jwk = &jwks(&t)["keys"][0];
    let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
    let public_forms: Vec<Vec<u8>> = vec![
        x.clone(),
        jwk["x"].as_str().unwrap().as_bytes().to_vec(),
        jwk.to_string().into_bytes(),
    ];
    for public in public_forms {
        for h in [
            json!({"alg": "HS256", "typ": "JWT"}),
            json!({"alg": "HS256", "kid": kid, "typ": "JWT"}),
        ] {
            let forged = sign_raw(&h, &claims, &public, jsonwebtoken::Algorithm::HS256);
            assert_eq!(me_status(&t, &forged), Status::Unauthorized, "{h}");
        }
    }
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": kid}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    assert_eq!(me_status(&t, &unsigned), Status::Unauthorized);
}

#[test]
fn a_rotated_key_signs_only_after_jwks_max_age_and_the_old_one_leaves_after_its_last_token() {
    let t = keyset_app("EdDSA", |f| f);
    t.user("alice", PASSWORD, false);
    let app = t.state();
    let old = kids(&t).remove(0);
    let (_, old_refresh) = t.login("alice", PASSWORD);

    let before = app.now();
    let new = rocket::execute(key_rotation::rotate(app, false)).unwrap();
    let signs_from = key_rotation::list(app)
        .into_iter()
        .find(|k| k.kid == new)
        .unwrap()
        .signs_from;
    assert!((before + 600..=app.now() + 600).contains(&signs_from));
    assert_eq!(
        kids(&t),
        vec![old.clone(), new.clone()],
        "published at once"
    );
    // The wall clock moves too: each check states the second it ran in.
    let login_kid = || {
        let (access, _) = t.login("alice", PASSWORD);
        (
            app.now(),
            header(&access)["kid"].as_str().unwrap().to_string(),
        )
    };
    let (at, kid) = login_kid();
    assert!(at >= signs_from || kid == old, "not signing yet");

    app.clock
        .advance(Duration::from_secs((signs_from - 1 - app.now()) as u64));
    let (at, kid) = login_kid();
    assert!(at >= signs_from || kid == old, "a second before: still not");
    app.clock.advance(Duration::from_secs(1));
    let (access, _) = t.login("alice", PASSWORD);
    assert_eq!(
        header(&access)["kid"],
        new.as_str(),
        "jwks_max_age after the rotation: the new key signs"
    );
    assert_eq!(me_status(&t, &access), Status::Ok);
    assert_eq!(kids(&t), vec![old.clone(), new.clone()]);

    // The old key's last refresh token lives a day; the key lives as long.
    app.clock.advance(Duration::from_secs(86_400 - 700));
    let res = t.post_json("/api/token/refresh/", json!({"refresh": old_refresh}));
    assert_eq!(res.status(), Status::Ok, "the old key still verifies");
    let successor = body(res)["refresh"].as_str().unwrap().to_string();
    assert_eq!(header(&successor)["kid"], new.as_str());
    assert!(kids(&t).contains(&old));
    // Its last token could have been signed at the switch (600 s after
    // the rotation): gone a refresh lifetime (and the poll's slack) later.
    app.clock.advance(Duration::from_secs(700 + 2));
    assert_eq!(kids(&t), vec![new.clone()], "the old key left on its own");
    let res = t.post_json("/api/token/verify/", json!({"token": successor}));
    assert_eq!(res.status(), Status::Ok, "the new key's tokens live on");
}

#[test]
fn retiring_a_key_kills_its_tokens_at_once() {
    let t = keyset_app("ES256", |f| f);
    t.user("alice", PASSWORD, false);
    let app = t.state();
    let (access, refresh) = t.login("alice", PASSWORD);
    let old = header(&access)["kid"].as_str().unwrap().to_string();

    let replacement = rocket::execute(key_rotation::retire(app, &old)).unwrap();
    let new = replacement.expect("the signer was retired: a new one signs at once");
    assert_eq!(kids(&t), vec![new.clone()]);
    assert_eq!(me_status(&t, &access), Status::Unauthorized);
    let res = t.post_json("/api/token/refresh/", json!({"refresh": refresh}));
    assert_eq!(res.status(), Status::Unauthorized);
    assert_eq!(body(res)["detail"], "Token is invalid");
    let (access, _) = t.login("alice", PASSWORD);
    assert_eq!(header(&access)["kid"], new.as_str());
    assert_eq!(me_status(&t, &access), Status::Ok);
    // Device tokens (HS256 from a private secret) survive the key set.
    let res = t.post_json(
        "/api/token/",
        json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(res.status(), Status::Ok);
}

#[test]
fn issuer_audience_and_user_id_claim_as_simple_jwt() {
    let t = app_with(|f| {
        f.merge(("latch.issuer", "https://auth.example.test"))
            .merge(("latch.audience", "api"))
            .merge(("latch.user_id_claim", "uid"))
    });
    let id = t.user("alice", PASSWORD, false);
    let (access, _) = t.login("alice", PASSWORD);
    let c = claims(&access);
    assert_eq!(c["iss"], "https://auth.example.test");
    assert_eq!(c["aud"], "api");
    assert_eq!(c["uid"], id.to_string());
    assert!(c.get("user_id").is_none());
    assert_eq!(me_status(&t, &access), Status::Ok);

    let mut foreign = json!({"token_type": "access", "exp": now() + 300, "iat": now(),
                             "jti": "a".repeat(32), "uid": id.to_string()});
    assert_eq!(
        me_status(&t, &hs256(&foreign)),
        Status::Unauthorized,
        "no aud or iss"
    );
    foreign["aud"] = json!(["other", "api"]);
    foreign["iss"] = json!("https://auth.example.test");
    assert_eq!(me_status(&t, &hs256(&foreign)), Status::Ok, "aud in a list");
    foreign["iss"] = json!("https://evil.example.test");
    assert_eq!(me_status(&t, &hs256(&foreign)), Status::Unauthorized);
}

#[test]
fn bad_key_settings_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let figment = common::figment(dir.path()).merge(("latch.algorithm", "EdDSA"));
    let err = latch::open(&figment)
        .err()
        .expect("a shared secret is no PEM key");
    assert!(err.to_string().contains("signing_key"), "{err}");
    let pem = keyset::generate(Algorithm::ES256).unwrap();
    let figment = figment.merge(("latch.signing_key", pem));
    let err = latch::open(&figment)
        .err()
        .expect("an ES256 key is not EdDSA");
    assert!(err.to_string().contains("signing_key"), "{err}");
}

#[test]
fn key_rotation_interval_rotates_on_its_own() {
    let t = keyset_app("EdDSA", |f| f.merge(("latch.key_rotation_interval", "1h")));
    t.user("alice", PASSWORD, false);
    let first = kids(&t).remove(0);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(kids(&t), vec![first.clone()], "not before the interval");

    t.state().clock.advance(Duration::from_secs(3600));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while kids(&t).len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no rotation");
        std::thread::sleep(Duration::from_millis(50));
    }
    let next = kids(&t)[1].clone();
    let (access, _) = t.login("alice", PASSWORD);
    assert_eq!(header(&access)["kid"], first.as_str(), "published first");
    t.state().clock.advance(Duration::from_secs(600));
    let (access, _) = t.login("alice", PASSWORD);
    assert_eq!(header(&access)["kid"], next.as_str(), "then signing");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        kids(&t).len(),
        2,
        "one rotation per interval, not one per tick"
    );
}

#[test]
fn a_retired_configured_key_does_not_come_back_on_restart() {
    let pem = keyset::generate(Algorithm::ES256).unwrap();
    let t = keyset_app("ES256", |f| f.merge(("latch.signing_key", pem.clone())));
    let kid = kids(&t).remove(0);
    rocket::execute(key_rotation::retire(t.state(), &kid)).unwrap();
    assert!(!kids(&t).contains(&kid));
    let figment = latch::figment()
        .merge(("latch.database", t.dir.path().join("latch.db")))
        .merge(("latch.algorithm", "ES256"))
        .merge(("latch.signing_key", pem));
    let err = latch::open(&figment)
        .err()
        .expect("a retired key refuses to start");
    assert!(err.to_string().contains("was retired"), "{err}");
}
