//! Property tests of the key set: whatever the header says, a token signed
//! by a key latch does not hold, or by a key it retired, is never accepted;
//! HMAC tokens keyed with any public form of latch's key are refused; and
//! (the control) tokens signed by the key latch holds are accepted.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use jsonwebtoken::EncodingKey;
use latch::auth::{key_rotation, keyset};
use latch::config::Algorithm;
use latch::store::keys::{self as stored, StoredKey};
use proptest::prelude::*;
use rocket::http::Status;
use serde_json::{Value, json};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// One app holding `held` (configured, signing) and having retired
/// `retired`; plus foreign keys it never saw.
struct World {
    t: TestApp,
    held: (String, String),
    retired: (String, String),
    foreign: Vec<(Algorithm, String)>,
    public_forms: Vec<Vec<u8>>,
}

fn kid_of(alg: Algorithm, pem: &str) -> String {
    keyset::parse(alg, pem).unwrap().kid
}

fn world() -> &'static World {
    thread_local! {
        static WORLD: &'static World = Box::leak(Box::new(build_world()));
    }
    WORLD.with(|w| *w)
}

fn build_world() -> World {
    let held = keyset::generate(Algorithm::EdDSA).unwrap();
    let retired = keyset::generate(Algorithm::EdDSA).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let figment = latch::figment()
        .merge(("log_level", "off"))
        .merge(("latch.database", dir.path().join("latch.db")))
        .merge(("latch.argon2_memory_kib", 64))
        .merge(("latch.argon2_iterations", 1))
        .merge(("latch.algorithm", "EdDSA"))
        .merge(("latch.signing_key", held.clone()))
        .merge(("latch.request_address_burst", 1_000_000));
    let client = rocket::local::blocking::Client::tracked(latch::build(figment)).unwrap();
    let t = TestApp { client, dir };
    t.user("alice", PASSWORD, false);
    let app = t.state();
    // The retired key: held once (published, never signing), then retired.
    let row = StoredKey {
        kid: kid_of(Algorithm::EdDSA, &retired),
        algorithm: "EdDSA".into(),
        private_key: retired.clone(),
        published: app.now(),
        signs_from: app.now() + 1_000_000,
    };
    app.db
        .run_blocking(|conn| stored::add_if(conn, |_| Ok(Some(row))))
        .unwrap();
    let retired_kid = kid_of(Algorithm::EdDSA, &retired);
    rocket::execute(key_rotation::retire(app, &retired_kid)).unwrap();
    let foreign = vec![
        (
            Algorithm::EdDSA,
            keyset::generate(Algorithm::EdDSA).unwrap(),
        ),
        (
            Algorithm::ES256,
            keyset::generate(Algorithm::ES256).unwrap(),
        ),
        (
            Algorithm::ES384,
            keyset::generate(Algorithm::ES384).unwrap(),
        ),
    ];
    let jwks = body(t.client.get("/.well-known/jwks.json").dispatch());
    let jwk = jwks["keys"][0].clone();
    let x = jwk["x"].as_str().unwrap();
    let public_forms = vec![
        URL_SAFE_NO_PAD.decode(x).unwrap(),
        x.as_bytes().to_vec(),
        jwk.to_string().into_bytes(),
        jwks.to_string().into_bytes(),
    ];
    World {
        held: (kid_of(Algorithm::EdDSA, &held), held),
        retired: (retired_kid, retired),
        foreign,
        public_forms,
        t,
    }
}

fn sign_pem(header: &Value, claims: &Value, alg: Algorithm, pem: &str) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let der = pkcs8::Document::from_pem(pem).unwrap().1;
    let key = match alg {
        Algorithm::EdDSA => EncodingKey::from_ed_der(der.as_bytes()),
        _ => EncodingKey::from_ec_der(der.as_bytes()),
    };
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, alg.jwt()).unwrap();
    format!("{message}.{signature}")
}

fn claims_for(user: &str, lifetime: i64) -> Value {
    let now = now();
    json!({"token_type": "access", "exp": now + lifetime, "iat": now,
           "jti": latch::auth::tokens::new_id(), "user_id": user})
}

/// A header naming `alg` and, by `kid_choice`, latch's key, the retired
/// key, a made-up kid, or none.
fn header(alg: &str, kid_choice: usize, w: &World) -> Value {
    match kid_choice % 4 {
        0 => json!({"alg": alg, "kid": w.held.0, "typ": "JWT"}),
        1 => json!({"alg": alg, "kid": w.retired.0, "typ": "JWT"}),
        2 => json!({"alg": alg, "kid": "made-up", "typ": "JWT"}),
        _ => json!({"alg": alg, "typ": "JWT"}),
    }
}

fn status(w: &World, token: &str) -> Status {
    w.t.get_auth("/api/me/", token).status()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn keys_latch_does_not_hold_are_refused(which in 0..3usize, kid in 0..4usize, lifetime in 1i64..100_000) {
        let w = world();
        let (alg, pem) = &w.foreign[which];
        let token = sign_pem(&header(alg.name(), kid, w), &claims_for("1", lifetime), *alg, pem);
        prop_assert_eq!(status(w, &token), Status::Unauthorized);
        // Named as EdDSA whatever its real algorithm.
        let token = sign_pem(&header("EdDSA", kid, w), &claims_for("1", lifetime), *alg, pem);
        prop_assert_eq!(status(w, &token), Status::Unauthorized);
    }

    #[test]
    fn retired_keys_are_refused(kid in 0..4usize, lifetime in 1i64..100_000) {
        let w = world();
        let token = sign_pem(&header("EdDSA", kid, w), &claims_for("1", lifetime), Algorithm::EdDSA, &w.retired.1);
        prop_assert_eq!(status(w, &token), Status::Unauthorized);
    }

    #[test]
    fn hmac_with_public_key_bytes_is_refused(form in 0..4usize, hs in 0..3usize, kid in 0..4usize) {
        let w = world();
        let alg = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512][hs];
        let token = sign_raw(&header(alg.name(), kid, w), &claims_for("1", 300), &w.public_forms[form], alg.jwt());
        prop_assert_eq!(status(w, &token), Status::Unauthorized);
    }

    #[test]
    fn the_held_key_is_accepted(with_kid in any::<bool>(), lifetime in 1i64..100_000) {
        let w = world();
        let kid = if with_kid { 0 } else { 3 };
        let token = sign_pem(&header("EdDSA", kid, w), &claims_for("1", lifetime), Algorithm::EdDSA, &w.held.1);
        prop_assert_eq!(status(w, &token), Status::Ok);
    }
}
