//! Against a real `latch` process on loopback: concurrency and crashes.

mod common;

use common::*;
use serde_json::json;

const GENEROUS: [(&str, &str); 2] = [
    ("LATCH_REQUEST_ADDRESS_BURST", "10000"),
    ("LATCH_REQUEST_ADDRESS_PER_HOUR", "1000000"),
];

#[test]
fn fifty_concurrent_refreshes_have_exactly_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    add_user(dir.path(), "alice", false);
    let server = Server::start(dir.path(), &GENEROUS);
    let (_, refresh) = server_login(&server, "alice");
    let results = refresh_race(&server, &refresh, 50);
    let winners = results.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(winners, 1, "{results:?}");
    for (status, body) in results.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*status, 401);
        assert!(body.contains("Token is blacklisted"), "{body}");
    }
}

#[test]
fn within_grace_concurrent_refreshes_all_get_the_same_successor() {
    let dir = tempfile::tempdir().unwrap();
    add_user(dir.path(), "alice", false);
    let mut env = GENEROUS.to_vec();
    env.push(("LATCH_REFRESH_REUSE_GRACE", "30"));
    let server = Server::start(dir.path(), &env);
    let (_, refresh) = server_login(&server, "alice");
    let results = refresh_race(&server, &refresh, 20);
    assert!(results.iter().all(|(s, _)| *s == 200), "{results:?}");
    let first = &results[0].1;
    assert!(
        results.iter().all(|(_, b)| b == first),
        "identical successor pairs"
    );
}

#[test]
fn a_revoked_token_stays_revoked_after_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    add_user(dir.path(), "alice", false);
    let server = Server::start(dir.path(), &GENEROUS);
    let (_, logged_out) = server_login(&server, "alice");
    let (_, rotated) = server_login(&server, "alice");
    let (status, _) = server.post_json("/api/token/blacklist/", &json!({"refresh": logged_out}));
    assert_eq!(status, 200);
    let (status, _) = server.post_json("/api/token/refresh/", &json!({"refresh": rotated}));
    assert_eq!(status, 200);
    // No graceful shutdown: the answers above must already be durable.
    server.kill9();

    let server = Server::start(dir.path(), &GENEROUS);
    for token in [&logged_out, &rotated] {
        let (status, body) = server.post_json("/api/token/refresh/", &json!({"refresh": token}));
        assert_eq!(status, 401);
        assert_eq!(body["detail"], "Token is blacklisted");
    }
    // The user survived too, and the key: a login works and verifies.
    let (access, _) = server_login(&server, "alice");
    let (status, body) = server.request(
        "GET",
        "/api/me/",
        &[("Authorization", &format!("Bearer {access}"))],
        "",
    );
    assert_eq!((status, body["username"].as_str()), (200, Some("alice")));
}

#[test]
fn garbage_on_the_wire_never_takes_the_server_down() {
    use std::io::{Read, Write};
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &GENEROUS);
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let prefixes: [&[u8]; 4] = [
        b"",
        b"POST /api/token/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n",
        b"GET /api/me/ HTTP/1.1\r\nAuthorization: Bearer ",
        b"POST /api/token/refresh/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
    ];
    for round in 0..200 {
        let mut bytes = prefixes[round % prefixes.len()].to_vec();
        let len = (next() % 600) as usize;
        bytes.extend((0..len).map(|_| next() as u8));
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let _ = stream.write_all(&bytes);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer);
        assert!(!text.starts_with("HTTP/1.1 5"), "round {round}: {text}");
    }
    let (status, body) = server.request("GET", "/healthz", &[], "");
    assert_eq!((status, body), (200, json!({"status": "ok"})));
}
