//! Throttling, bounded state, limits, headers and forged tokens.

mod common;

use std::net::SocketAddr;

use common::*;
use latch::auth::throttle::{Rule, Throttle};
use latch::config::TrustedProxies;
use rocket::http::{ContentType, Header, Status};
use serde_json::{Value, json};

fn login_from(t: &TestApp, peer: &str, xff: Option<&str>, name: &str, password: &str) -> Status {
    let mut req = t
        .client
        .post("/api/token/")
        .remote(peer.parse::<SocketAddr>().unwrap())
        .header(ContentType::JSON)
        .body(json!({"username": name, "password": password}).to_string());
    if let Some(xff) = xff {
        req = req.header(Header::new("X-Forwarded-For", xff.to_string()));
    }
    req.dispatch().status()
}

#[test]
fn failed_logins_are_throttled_per_address() {
    let t = app_with(|f| f.merge(("latch.login_address_burst", 3)));
    // Rotating usernames does not help: the address runs dry.
    for i in 0..3 {
        assert_eq!(
            login_from(&t, "10.0.0.1:1000", None, &format!("guess{i}"), "x"),
            Status::Unauthorized
        );
    }
    assert_eq!(
        login_from(&t, "10.0.0.1:1000", None, "guess9", "x"),
        Status::TooManyRequests
    );
    // Another address is unaffected.
    assert_eq!(
        login_from(&t, "10.0.0.2:1000", None, "guess9", "x"),
        Status::Unauthorized
    );
}

#[test]
fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let untrusted = app_with(|f| f.merge(("latch.login_address_burst", 2)));
    for spoof in ["1.1.1.1", "2.2.2.2"] {
        login_from(&untrusted, "10.0.0.1:1", Some(spoof), "x", "y");
    }
    assert_eq!(
        login_from(&untrusted, "10.0.0.1:1", Some("3.3.3.3"), "x", "y"),
        Status::TooManyRequests,
        "a spoofed header does not buy a fresh budget"
    );

    let proxied = app_with(|f| {
        f.merge(("latch.login_address_burst", 2))
            .merge(("latch.trusted_proxies", ["10.0.0.1"]))
    });
    for _ in 0..2 {
        login_from(&proxied, "10.0.0.1:1", Some("1.1.1.1"), "x", "y");
    }
    assert_eq!(
        login_from(&proxied, "10.0.0.1:1", Some("1.1.1.1"), "x", "y"),
        Status::TooManyRequests
    );
    // A different client behind the same proxy has its own budget; a forged
    // left-most hop does not change who the proxy saw.
    assert_eq!(
        login_from(&proxied, "10.0.0.1:1", Some("2.2.2.2"), "x", "y"),
        Status::Unauthorized
    );
    assert_eq!(
        login_from(&proxied, "10.0.0.1:1", Some("9.9.9.9, 1.1.1.1"), "x", "y"),
        Status::TooManyRequests
    );
}

#[test]
fn trusted_proxies_take_cidr_ranges() {
    let t = app_with(|f| {
        f.merge(("latch.login_address_burst", 2))
            .merge(("latch.trusted_proxies", ["10.0.0.0/8", "fd00::/8"]))
    });
    // Any proxy inside the range is believed: each client behind it has its
    // own budget, whichever proxy carried the request.
    login_from(&t, "10.1.2.3:1", Some("1.1.1.1"), "x", "y");
    login_from(&t, "10.200.0.9:1", Some("1.1.1.1"), "x", "y");
    assert_eq!(
        login_from(&t, "10.1.2.3:1", Some("1.1.1.1"), "x", "y"),
        Status::TooManyRequests
    );
    assert_eq!(
        login_from(&t, "[fd00::7]:1", Some("2.2.2.2"), "x", "y"),
        Status::Unauthorized
    );
    // A dual-stack socket reports an IPv4 proxy as IPv4-mapped IPv6.
    assert_eq!(
        login_from(&t, "[::ffff:10.0.0.1]:1", Some("1.1.1.1"), "x", "y"),
        Status::TooManyRequests,
        "the mapped proxy is in 10.0.0.0/8, so 1.1.1.1 is the client"
    );
    assert_eq!(
        login_from(&t, "[::ffff:10.0.0.1]:1", Some("3.3.3.3"), "x", "y"),
        Status::Unauthorized
    );

    // One trust check, whichever way an IPv4 proxy is written or reported.
    let ranges = TrustedProxies::parse(&["::ffff:172.16.0.0/108", "127.0.0.1"]).unwrap();
    for (peer, trusted) in [
        ("172.16.5.5", true),
        ("::ffff:172.31.255.1", true),
        ("::ffff:127.0.0.1", true),
        ("172.32.0.1", false),
        ("::1", false),
    ] {
        assert_eq!(ranges.trusts(peer.parse().unwrap()), trusted, "{peer}");
    }

    // A peer outside the ranges is the client, whatever its header says.
    for spoof in ["4.4.4.4", "5.5.5.5"] {
        login_from(&t, "192.168.0.1:1", Some(spoof), "x", "y");
    }
    assert_eq!(
        login_from(&t, "192.168.0.1:1", Some("6.6.6.6"), "x", "y"),
        Status::TooManyRequests,
        "192.168.0.1 is not in the ranges; its header buys no fresh budget"
    );
}

#[test]
fn an_invalid_trusted_proxy_stops_the_launch_naming_the_key() {
    for bad in ["10.0.0.0/33", "10.0.0/8", "localhost", "fd00::/129", ""] {
        let dir = tempfile::tempdir().unwrap();
        let figment = figment(dir.path()).merge(("latch.trusted_proxies", [bad]));
        let err = latch::open(&figment)
            .err()
            .unwrap_or_else(|| panic!("{bad:?} accepted"))
            .to_string();
        assert!(err.contains("trusted_proxies"), "{bad:?}: {err}");
        // Rocket's launch error panics when dropped unread.
        let ignited = rocket::local::blocking::Client::tracked(latch::build(figment))
            .map_err(|e| e.kind().to_string());
        assert!(ignited.is_err(), "{bad:?}: Rocket ignited");
    }
    // Good entries, in every form, start.
    let dir = tempfile::tempdir().unwrap();
    let good = [
        "127.0.0.1",
        "::1",
        "10.0.0.0/8",
        "fd00::/8",
        "::ffff:172.16.0.0/108",
    ];
    latch::open(&figment(dir.path()).merge(("latch.trusted_proxies", good)))
        .unwrap_or_else(|e| panic!("{good:?} refused: {e}"));
    // The binary refuses a bad one too, from the environment, naming it.
    let dir = tempfile::tempdir().unwrap();
    let out = latch_cmd(dir.path())
        .arg("config")
        .env("LATCH_TRUSTED_PROXIES", "[\"127.0.0.1\", \"10.0.0.0/33\"]")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("trusted_proxies"), "{text}");
    assert!(text.contains("10.0.0.0/33"), "{text}");
}

#[test]
fn forwarded_for_from_an_untrusted_peer_is_warned_about_once() {
    let warnings = |t: &TestApp| {
        t.state()
            .untrusted_forwarded_warnings
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let t = app_with(|f| f.merge(("latch.trusted_proxies", ["10.0.0.0/8"])));
    login_from(&t, "127.0.0.1:1", None, "x", "y");
    login_from(&t, "10.0.0.1:1", Some("1.1.1.1"), "x", "y");
    assert_eq!(warnings(&t), 0, "no header, or a trusted proxy: no warning");
    login_from(&t, "127.0.0.1:1", Some("1.1.1.1"), "x", "y");
    assert_eq!(warnings(&t), 1);
    login_from(&t, "127.0.0.1:1", Some("1.1.1.1"), "x", "y");
    login_from(&t, "192.168.0.1:1", Some("2.2.2.2"), "x", "y");
    assert_eq!(warnings(&t), 1, "warned once, not per request");
}

#[test]
fn refresh_and_registration_floods_are_throttled_per_address() {
    let t = app_with(|f| {
        f.merge(("latch.request_address_burst", 3))
            .merge(("latch.registration", "open"))
    });
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            t.post_json("/api/token/refresh/", json!({"refresh": "junk"}))
                .status(),
        );
    }
    assert_eq!(statuses[..3], [Status::Unauthorized; 3]);
    assert_eq!(statuses[3], Status::TooManyRequests);
    let res = t.post_json(
        "/api/register/",
        json!({"username": "x", "password": "whatever it is"}),
    );
    assert_eq!(res.status(), Status::TooManyRequests);
    assert!(res.headers().get_one("Retry-After").is_some());
}

#[test]
fn throttle_state_is_bounded_and_keeps_the_targeted_account() {
    let throttle = Throttle::new(100);
    let rule = Rule {
        burst: 3,
        per_hour: 1,
    };
    for _ in 0..3 {
        throttle.take("account:victim", rule, 0.0).unwrap();
    }
    assert!(throttle.take("account:victim", rule, 0.0).is_err());
    for i in 0..20_000 {
        let _ = throttle.take(&format!("account:noise{i}"), rule, 0.0);
        assert!(throttle.len() <= 100);
    }
    assert!(
        throttle.take("account:victim", rule, 0.0).is_err(),
        "the flood did not free the victim"
    );
}

#[test]
fn oversized_headers_get_json_431() {
    let t = app();
    let res = t
        .client
        .get("/healthz")
        .header(Header::new("X-Padding", "a".repeat(40 * 1024)))
        .dispatch();
    assert_eq!(res.status().code, 431);
    assert_eq!(res.content_type(), Some(ContentType::JSON));
    assert_eq!(
        body(res),
        json!({"detail": "Request headers are too large."})
    );
    let res = t.get_auth("/api/me/", &"x".repeat(20 * 1024));
    assert_eq!(
        res.status(),
        Status::Unauthorized,
        "a huge token is just invalid"
    );
}

#[test]
fn security_headers_are_on_every_response() {
    let t = app();
    let responses = [
        t.client.get("/healthz").dispatch(),
        t.client.get("/nope").dispatch(),
        t.client.get("/api/token/").dispatch(),
        t.post_json("/api/token/", json!({})),
    ];
    for res in responses {
        let h = res.headers();
        assert_eq!(h.get_one("X-Content-Type-Options"), Some("nosniff"));
        assert_eq!(h.get_one("X-Frame-Options"), Some("DENY"));
        assert_eq!(h.get_one("Referrer-Policy"), Some("no-referrer"));
        assert!(h.get_one("Server").is_none());
    }
}

#[test]
fn key_pointing_and_critical_headers_are_refused() {
    let t = app();
    let claims = json!({"token_type": "access", "exp": now() + 60, "iat": now(), "jti": "a".repeat(32), "user_id": "1"});
    let extras: [(&str, Value); 7] = [
        ("jwk", json!({"kty": "oct", "k": "c2VjcmV0"})),
        ("jku", json!("http://evil.example/keys")),
        ("x5u", json!("http://evil.example/cert")),
        ("x5c", json!(["MIIB"])),
        ("kid", json!("../../dev/null")),
        ("crit", json!(["exp"])),
        ("b64", json!(false)),
    ];
    for (name, value) in extras {
        let mut header = json!({"alg": "HS256", "typ": "JWT"});
        header[name] = value;
        let token = sign_raw(
            &header,
            &claims,
            KEY.as_bytes(),
            jsonwebtoken::Algorithm::HS256,
        );
        let res = t.post_json("/api/token/verify/", json!({"token": token}));
        assert_eq!(res.status(), Status::Unauthorized, "{name}");
        assert_eq!(body(res)["detail"], "Token is invalid", "{name}");
    }
    // Public-key confusion: an RS256 header over an HMAC signature made
    // with a public key text as the secret.
    let pem = b"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n";
    let confused = sign_raw(
        &json!({"alg": "RS256", "typ": "JWT"}),
        &claims,
        pem,
        jsonwebtoken::Algorithm::HS256,
    );
    let res = t.post_json("/api/token/verify/", json!({"token": confused}));
    assert_eq!(body(res)["detail"], "Token is invalid");
}

#[test]
fn out_of_range_and_mistyped_times_never_panic() {
    let t = app();
    let base = json!({"token_type": "access", "jti": "a".repeat(32), "user_id": "1"});
    let values = [
        json!(u64::MAX),
        json!(i64::MIN),
        json!(-1.0e308),
        json!(1.0e308),
        json!("1700000000"),
        json!(null),
        json!(true),
        json!({"$date": 1}),
    ];
    for claim in ["exp", "iat", "nbf"] {
        for value in &values {
            let mut claims = base.clone();
            claims["exp"] = json!(now() + 60);
            claims[claim] = value.clone();
            let token = hs256(&claims);
            for res in [
                t.post_json("/api/token/verify/", json!({"token": token})),
                t.get_auth("/api/me/", &token),
            ] {
                assert_eq!(res.status(), Status::Unauthorized, "{claim}={value}");
            }
        }
    }
}

#[test]
fn buckets_refill_at_their_rate() {
    let throttle = Throttle::new(10);
    // One token a second after a burst of two.
    let rule = Rule {
        burst: 2,
        per_hour: 3600,
    };
    let start = 1_000_000.0;
    throttle.take("k", rule, start).unwrap();
    throttle.take("k", rule, start).unwrap();
    assert_eq!(throttle.take("k", rule, start), Err(1));
    assert_eq!(throttle.take("k", rule, start + 0.5), Err(1));
    throttle.take("k", rule, start + 1.0).unwrap();
    assert!(throttle.take("k", rule, start + 1.0).is_err());
    // Never more than the burst, however long it rests.
    throttle.take("k", rule, start + 3600.0).unwrap();
    throttle.take("k", rule, start + 3600.0).unwrap();
    assert!(throttle.take("k", rule, start + 3600.0).is_err());
}

#[test]
fn an_unreadable_forwarded_hop_cannot_choose_the_client_address() {
    let t = app_with(|f| {
        f.merge(("latch.trusted_proxies", ["127.0.0.1"]))
            .merge(("latch.login_address_burst", 2))
            .merge(("latch.login_account_burst", 1000))
    });
    // A client sends a fresh address of its choosing before a hop the
    // proxy wrote in a form we cannot read: the walk stops there, so all
    // of these count against one address.
    let mut statuses = Vec::new();
    for i in 0..3 {
        let xff = format!("203.0.113.{i}, not-an-address");
        statuses.push(login_from(&t, "127.0.0.1:9", Some(&xff), "nobody", "x"));
    }
    assert_eq!(statuses[2], Status::TooManyRequests, "{statuses:?}");
    // Proxies that write a port are read.
    let t = app_with(|f| {
        f.merge(("latch.trusted_proxies", ["127.0.0.1"]))
            .merge(("latch.login_address_burst", 1))
            .merge(("latch.login_account_burst", 1000))
    });
    assert_eq!(
        login_from(&t, "127.0.0.1:9", Some("203.0.113.7:5555"), "nobody", "x"),
        Status::Unauthorized
    );
    assert_eq!(
        login_from(&t, "127.0.0.1:9", Some("[2001:db8::1]:443"), "nobody", "x"),
        Status::Unauthorized
    );
    assert_eq!(
        login_from(&t, "127.0.0.1:9", Some("203.0.113.7:5555"), "nobody", "x"),
        Status::TooManyRequests
    );
}
