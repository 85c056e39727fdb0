//! The request log: one line per request, as text or JSON, and never a
//! token, password, cookie or device token, whatever the flow.

mod common;

use common::*;
use serde_json::{Value, json};

/// Every secret the flow below handles, gathered as it goes.
struct Secrets(Vec<String>);

impl Secrets {
    fn keep(&mut self, value: &Value) {
        if let Some(s) = value.as_str() {
            self.0.push(s.to_string());
        }
    }
}

fn cookie(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let rest = l.split_once(':')?.1.trim();
        let value = rest.strip_prefix(&format!("{name}="))?.split(';').next()?;
        (!value.is_empty()).then(|| value.to_string())
    })
}

/// The whole API flow against a server that logs, returning what it
/// printed and every secret it handed out or was sent.
fn run_flow(format: &str) -> (String, Secrets) {
    let dir = tempfile::tempdir().unwrap();
    add_user(dir.path(), "alice", false);
    let log = dir.path().join("server.log");
    let env = [("LATCH_LOG_FORMAT", format)];
    let server = Server::start_logging(dir.path(), &env, Some(&log));
    let mut secrets = Secrets(vec![PASSWORD.to_string(), KEY.to_string()]);
    let json_headers = [("Content-Type", "application/json")];
    let login = json!({"username": "alice", "password": PASSWORD}).to_string();
    let (_, pair) = server.request("POST", "/api/token/", &json_headers, &login);
    secrets.keep(&pair["access"]);
    secrets.keep(&pair["refresh"]);
    let access = pair["access"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {access}");
    server.request(
        "GET",
        "/api/me/?token=not-logged",
        &[("Authorization", &bearer)],
        "",
    );
    let (_, next) = server.post_json("/api/token/refresh/", &json!({"refresh": pair["refresh"]}));
    secrets.keep(&next["access"]);
    secrets.keep(&next["refresh"]);
    server.post_json("/api/token/verify/", &json!({"token": next["access"]}));
    server.post_json(
        "/api/token/refresh/",
        &json!({"refresh": "forged.token.value"}),
    );
    secrets.0.push("forged.token.value".into());
    let change = json!({"old_password": PASSWORD, "new_password": "another long passphrase"});
    let (_, changed) = server.request(
        "POST",
        "/api/me/password/",
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
        ],
        &change.to_string(),
    );
    secrets.0.push("another long passphrase".into());
    secrets.keep(&changed["access"]);
    secrets.keep(&changed["refresh"]);
    // The page: the refresh and device cookies.
    let page_login = json!({"username": "alice", "password": "another long passphrase"});
    let head = raw_post(
        server.port,
        "/api/session/login",
        "",
        &page_login.to_string(),
    );
    for name in ["latch_refresh", "latch_device"] {
        let value = cookie(&head, name).expect(name);
        secrets.0.push(value);
    }
    let refresh_cookie = format!("latch_refresh={}", cookie(&head, "latch_refresh").unwrap());
    raw_post(server.port, "/api/session/refresh", &refresh_cookie, "{}");
    raw_post(server.port, "/api/session/logout", &refresh_cookie, "{}");
    server.post_json(
        "/api/token/blacklist/",
        &json!({"refresh": changed["refresh"]}),
    );
    drop(server);
    (std::fs::read_to_string(&log).unwrap(), secrets)
}

/// A page request with the whole `Cookie` header `cookie` (or none);
/// returns the raw response.
fn raw_post(port: u16, path: &str, cookie: &str, body: &str) -> String {
    page_post(port, path, cookie, body).1
}

fn assert_no_secret(log: &str, secrets: &Secrets) {
    assert!(secrets.0.len() >= 12, "the flow gathered its secrets");
    for secret in &secrets.0 {
        assert!(
            !log.contains(secret.as_str()),
            "a secret reached the log: {secret:.16}…"
        );
        // Nor any long piece of one (a token's payload or signature).
        for part in secret.split('.').filter(|p| p.len() >= 16) {
            assert!(!log.contains(part), "part of a secret reached the log");
        }
    }
    assert!(!log.contains("not-logged"), "query strings stay out");
}

#[test]
fn text_lines_name_the_request_and_never_a_secret() {
    let (log, secrets) = run_flow("text");
    assert_no_secret(&log, &secrets);
    let first = log.lines().next().unwrap();
    assert!(
        first.starts_with("latch listening on http://127.0.0.1:"),
        "{first}"
    );
    assert!(first.contains("HS256 signing key configured"), "{first}");
    let me = log
        .lines()
        .find(|l| l.contains(" GET /api/me "))
        .expect("a line for /api/me");
    assert!(
        me.contains(" 200 ") && me.contains("user=1 client=127.0.0.1"),
        "{me}"
    );
    let forged = log
        .lines()
        .find(|l| l.contains("POST /api/token/refresh 401"))
        .expect("a line for the forged refresh");
    assert!(forged.contains("user=-"), "{forged}");
    let requests = log.lines().filter(|l| l.contains(" client=")).count();
    assert_eq!(requests, 11, "one line per request:\n{log}");
}

#[test]
fn json_lines_parse_and_never_hold_a_secret() {
    let (log, secrets) = run_flow("json");
    assert_no_secret(&log, &secrets);
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 11, "{log}");
    let me = lines.iter().find(|l| l["path"] == "/api/me").unwrap();
    assert_eq!(me["status"], 200);
    assert_eq!(me["user"], 1);
    assert_eq!(me["method"], "GET");
    assert!(me["duration_ms"].as_f64().unwrap() >= 0.0);
    assert!(me["time"].as_str().unwrap().ends_with('Z'));
}
