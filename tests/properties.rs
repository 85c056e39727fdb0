//! Property tests: no input reaches a 5xx or a panic, and valid tokens
//! round-trip.

mod common;

use common::*;
use proptest::prelude::*;
use rocket::http::{ContentType, Header};
use serde_json::json;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Token-ish text: mostly base64url and dots, sometimes anything.
fn tokenish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_=.-]{0,300}",
        ".*",
        "eyJ[A-Za-z0-9_-]{0,80}\\.[A-Za-z0-9_-]{0,120}\\.[A-Za-z0-9_-]{0,60}",
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_tokens_never_5xx(token in tokenish()) {
        let t = shared();
        for path in ["/api/token/refresh/", "/api/token/verify/", "/api/token/blacklist/"] {
            let res = t.post_json(path, json!({"refresh": token, "token": token}));
            prop_assert!(res.status().code < 500, "{path}: {}", res.status());
        }
    }

    #[test]
    fn arbitrary_authorization_headers_never_5xx(value in ".{0,400}", scheme in "(Bearer|bearer|JWT|Basic)?") {
        let t = shared();
        let res = t.client.get("/api/me/").header(Header::new("Authorization", format!("{scheme} {value}"))).dispatch();
        prop_assert_eq!(res.status().code, 401);
    }

    #[test]
    fn arbitrary_bodies_never_5xx(bytes in proptest::collection::vec(any::<u8>(), 0..2048), kind in 0..4usize) {
        let t = shared();
        let content_type = [
            ContentType::JSON,
            ContentType::Form,
            ContentType::new("multipart", "form-data").with_params(("boundary", "b")),
            ContentType::Plain,
        ][kind].clone();
        for path in ["/api/token/", "/api/token/refresh/", "/api/token/verify/"] {
            let res = t.client.post(path).header(content_type.clone()).body(&bytes).dispatch();
            prop_assert!(res.status().code < 500, "{path}: {}", res.status());
            prop_assert_eq!(res.content_type(), Some(ContentType::JSON));
        }
    }

    #[test]
    fn valid_tokens_round_trip(user in 1i64..i64::MAX, sid in "[0-9a-f]{32}", refresh in any::<bool>()) {
        let t = shared();
        let keys = &t.state().keys;
        let kind = if refresh { latch::auth::tokens::Kind::Refresh } else { latch::auth::tokens::Kind::Access };
        let claims = keys.claims(kind, &user.to_string(), Some(&sid), now());
        let token = keys.sign(&claims).unwrap();
        let decoded = keys.decode(&token, now()).unwrap();
        prop_assert_eq!(&decoded.claims, &claims);
        prop_assert!(decoded.require(kind).is_ok());
        prop_assert_eq!(decoded.user_id(), Some(user.to_string()));
    }
}

/// One app per property (per test thread): a fresh database per case
/// would spend the time on migrations rather than on inputs.
fn shared() -> &'static TestApp {
    thread_local! {
        static APP: &'static TestApp = Box::leak(Box::new(app_with(|f| {
            f.merge(("latch.request_address_burst", 1_000_000))
                .merge(("latch.login_address_burst", 1_000_000))
                .merge(("latch.login_account_burst", 1_000_000))
        })));
    }
    APP.with(|app| *app)
}
