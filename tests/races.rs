//! Races an attacker would try, through the real binary on loopback with
//! real threads: a login in flight against a password change, parallel
//! guesses against the throttle, two tabs refreshing one cookie, a login
//! against a deletion, and valid refreshes that must never be throttled.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// Production hashing: a login's hash takes long enough for a change to
/// land while it runs.
const REAL_HASHING: [(&str, &str); 2] = [
    ("LATCH_ARGON2_MEMORY_KIB", "19456"),
    ("LATCH_ARGON2_ITERATIONS", "2"),
];

fn bearer(access: &str) -> String {
    format!("Bearer {access}")
}

fn me(server: &Server, access: &str) -> u16 {
    server
        .request("GET", "/api/me/", &[("Authorization", &bearer(access))], "")
        .0
}

/// Loops logins on `threads` threads until `stop`; returns every pair that
/// was handed out.
fn login_loop(
    server: &Server,
    name: &str,
    threads: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Vec<(u16, Value)>>> {
    (0..threads)
        .map(|_| {
            let (port, stop, name) = (server.port, stop.clone(), name.to_string());
            std::thread::spawn(move || {
                let body = json!({"username": name, "password": PASSWORD}).to_string();
                let mut answers = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let headers = [("Content-Type", "application/json")];
                    if let Ok((status, text)) =
                        http(port, "POST", "/api/token/", &headers, body.as_bytes())
                    {
                        answers.push((status, serde_json::from_str(&text).unwrap_or(Value::Null)));
                    }
                }
                answers
            })
        })
        .collect()
}

#[test]
fn a_login_in_flight_does_not_outlive_a_password_change() {
    let dir = tempfile::tempdir().unwrap();
    add_user(dir.path(), "alice", false);
    let server = Server::start(dir.path(), &REAL_HASHING);
    let (access, _) = server_login(&server, "alice");
    let stop = Arc::new(AtomicBool::new(false));
    let threads = login_loop(&server, "alice", 3, &stop);
    std::thread::sleep(Duration::from_millis(600));
    let (status, changed) = server.request(
        "POST",
        "/api/me/password/",
        &[
            ("Authorization", &bearer(&access)),
            ("Content-Type", "application/json"),
        ],
        &json!({"old_password": PASSWORD, "new_password": "an entirely new passphrase"})
            .to_string(),
    );
    assert_eq!(status, 200, "{changed}");
    std::thread::sleep(Duration::from_millis(600));
    stop.store(true, Ordering::Relaxed);
    let answers: Vec<(u16, Value)> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let pairs: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
        .collect();
    assert!(!pairs.is_empty(), "some logins landed before the change");
    // Logins with the old password after the change fail, and soon spend
    // the account's budget; none is a server error.
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 401 | 429)),
        "{statuses:?}"
    );
    // Every pair handed out for the old password is dead now, whenever
    // its login answered.
    for pair in pairs {
        assert_eq!(me(&server, pair["access"].as_str().unwrap()), 401);
        let (status, _) =
            server.post_json("/api/token/refresh/", &json!({"refresh": pair["refresh"]}));
        assert_eq!(status, 401);
    }
    // The pair the change handed back works.
    assert_eq!(me(&server, changed["access"].as_str().unwrap()), 200);
}

/// Fires `n` requests at once; returns the statuses.
fn burst(
    server: &Server,
    n: usize,
    path: &str,
    headers: Vec<(String, String)>,
    body: Value,
) -> Vec<u16> {
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (barrier, port, path) = (barrier.clone(), server.port, path.to_string());
            let (headers, body) = (headers.clone(), body.to_string());
            std::thread::spawn(move || {
                let headers: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                barrier.wait();
                http(port, "POST", &path, &headers, body.as_bytes())
                    .map(|(s, _)| s)
                    .unwrap_or(0)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

fn json_headers() -> Vec<(String, String)> {
    vec![("Content-Type".into(), "application/json".into())]
}

#[test]
fn parallel_guesses_spend_the_budget_as_serial_ones_do() {
    let dir = tempfile::tempdir().unwrap();
    add_user(dir.path(), "alice", false);
    add_user(dir.path(), "bob", false);
    let server = Server::start(dir.path(), &[]);
    let (bob, _) = server_login(&server, "bob");
    let guess = json!({"username": "alice", "password": "wrong guess"});
    let statuses = burst(&server, 60, "/api/token/", json_headers(), guess);
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(checked <= 10, "{checked} guesses checked: {statuses:?}");
    assert!(
        statuses.iter().all(|s| matches!(s, 401 | 429)),
        "{statuses:?}"
    );
    // The same for the old password of a stolen access token.
    let mut headers = json_headers();
    headers.push(("Authorization".into(), bearer(&bob)));
    let guess =
        json!({"old_password": "wrong guess", "new_password": "an entirely new passphrase"});
    let statuses = burst(&server, 40, "/api/me/password/", headers, guess);
    let checked = statuses.iter().filter(|s| **s == 400).count();
    assert!(
        checked <= 10,
        "{checked} old passwords checked: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| matches!(s, 400 | 429)),
        "{statuses:?}"
    );
}

/// The page's cookie, from a sign-in on the real server.
fn page_cookie(server: &Server) -> String {
    let (status, head) = raw_exchange(
        server,
        "/api/session/login",
        "",
        &json!({"username": "alice", "password": PASSWORD}).to_string(),
    );
    assert_eq!(status, 200, "{head}");
    refresh_cookie_in(&head).expect("a refresh cookie")
}

/// One page request with the refresh cookie `cookie` (or none).
fn raw_exchange(server: &Server, path: &str, cookie: &str, body: &str) -> (u16, String) {
    let header = if cookie.is_empty() {
        String::new()
    } else {
        format!("latch_refresh={cookie}")
    };
    page_post(server.port, path, &header, body)
}

fn refresh_cookie_in(head: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let value = l
            .strip_prefix("set-cookie: latch_refresh=")
            .or_else(|| l.strip_prefix("Set-Cookie: latch_refresh="))?;
        let value = value.split(';').next()?;
        (!value.is_empty()).then(|| value.to_string())
    })
}

#[test]
fn two_tabs_refreshing_one_cookie_at_once_stay_signed_in() {
    let dir = tempfile::tempdir().unwrap();
    add_user(dir.path(), "alice", false);
    let server = Arc::new(Server::start(dir.path(), &[]));
    let cookie = page_cookie(&server);
    let barrier = Arc::new(Barrier::new(2));
    let results = Arc::new(Mutex::new(Vec::new()));
    let tabs: Vec<_> = (0..2)
        .map(|_| {
            let (server, barrier, results, cookie) = (
                server.clone(),
                barrier.clone(),
                results.clone(),
                cookie.clone(),
            );
            std::thread::spawn(move || {
                barrier.wait();
                let answer = raw_exchange(&server, "/api/session/refresh", &cookie, "{}");
                results.lock().unwrap().push(answer);
            })
        })
        .collect();
    for tab in tabs {
        tab.join().unwrap();
    }
    let results = results.lock().unwrap().clone();
    assert!(results.iter().all(|(s, _)| *s == 200), "{results:?}");
    let cookies: Vec<String> = results
        .iter()
        .map(|(_, head)| refresh_cookie_in(head).expect("a rotated cookie"))
        .collect();
    assert_eq!(cookies[0], cookies[1], "one successor for both tabs");
    // The shared successor keeps working: nobody was logged out.
    let (status, head) = raw_exchange(&server, "/api/session/refresh", &cookies[0], "{}");
    assert_eq!(status, 200, "{head}");
    // A retry of a request whose answer was lost is the same request.
    let (status, _) = raw_exchange(&server, "/api/session/refresh", &cookies[0], "{}");
    assert_eq!(status, 200);
}

#[test]
fn a_login_racing_a_deletion_is_a_clean_401() {
    let dir = tempfile::tempdir().unwrap();
    add_user(dir.path(), "root", true);
    let server = Server::start(dir.path(), &[]);
    let (root, _) = server_login(&server, "root");
    let auth = [
        ("Authorization", bearer(&root)),
        ("Content-Type", "application/json".to_string()),
    ];
    let auth: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    for round in 0..5 {
        let name = format!("temp{round}");
        let body = json!({"username": name, "password": PASSWORD}).to_string();
        let (status, user) = server.request("POST", "/api/admin/users/", &auth, &body);
        assert_eq!(status, 201, "{user}");
        let stop = Arc::new(AtomicBool::new(false));
        let threads = login_loop(&server, &name, 3, &stop);
        std::thread::sleep(Duration::from_millis(100));
        let path = format!("/api/admin/users/{}/", user["id"]);
        let (status, _) = server.request("DELETE", &path, &auth, "");
        assert_eq!(status, 204);
        std::thread::sleep(Duration::from_millis(100));
        stop.store(true, Ordering::Relaxed);
        for (status, body) in threads.into_iter().flat_map(|t| t.join().unwrap()) {
            // Failed logins after the deletion spend the budgets: 429 is
            // fine, a server error never is.
            assert!(matches!(status, 200 | 401 | 429), "{status} {body}");
        }
        assert!(Instant::now() < deadline, "took too long");
    }
}

#[test]
fn valid_refreshes_are_never_throttled_at_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    add_user(dir.path(), "alice", false);
    let server = Server::start(dir.path(), &[]);
    let (_, refresh) = server_login(&server, "alice");
    let results = refresh_race(&server, &refresh, 50);
    let count = |code: u16| results.iter().filter(|(s, _)| *s == code).count();
    assert_eq!(
        (count(200), count(401), count(429)),
        (1, 49, 0),
        "{results:?}"
    );
    // Forged tokens run the address dry; a genuine one still goes through.
    let (_, genuine) = server_login(&server, "alice");
    let mut throttled = 0;
    for i in 0..200 {
        let forged = format!("eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJ4In0.forged{i}");
        let (status, _) = server.post_json("/api/token/refresh/", &json!({"refresh": forged}));
        throttled += usize::from(status == 429);
    }
    assert!(throttled > 0, "forgeries are throttled");
    let (status, body) = server.post_json("/api/token/refresh/", &json!({"refresh": genuine}));
    assert_eq!(status, 200, "{body}");
}
