//! The login page in a real browser: headless Chromium, driven through
//! chromedriver (`common::webdriver`), against the real `latch` binary on
//! loopback.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::webdriver::{Browser, INSECURE_HOST, Process, start_driver};
use common::{PASSWORD, free_port};
use serde_json::{Value, json};

const NEW_PASSWORD: &str = "a different, longer passphrase";
/// Seconds; the page refreshes a quarter of this before expiry.
const ACCESS_LIFETIME: u64 = 8;

/// The real binary on an empty database, and the setup link it printed.
struct Latch {
    process: Process,
    port: u16,
    setup_url: String,
}

fn start_latch(dir: &Path) -> Latch {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_latch"))
        .current_dir(dir)
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env("ROCKET_LOG_LEVEL", "critical")
        .env("LATCH_DATABASE", dir.join("latch.db"))
        // Short-lived access tokens, so the page's timed refresh happens
        // within the test.
        .env("LATCH_ACCESS_TOKEN_LIFETIME", ACCESS_LIFETIME.to_string())
        // Cheap hashing keeps the test quick; production never uses these.
        .env("LATCH_ARGON2_MEMORY_KIB", "64")
        .env("LATCH_ARGON2_ITERATIONS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn latch");
    let stdout = child.stdout.take().expect("stdout");
    let process = Process(child);
    let (lines, received) = mpsc::channel();
    // Keeps draining, so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let setup_url = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match received.recv_timeout(left) {
            Ok(line) if line.starts_with("First run:") => {
                let url = line.split_whitespace().last().expect("a URL").to_string();
                break url;
            }
            Ok(_) => {}
            Err(e) => panic!("latch printed no first-run link: {e}"),
        }
    };
    assert!(
        setup_url.starts_with(&format!("http://127.0.0.1:{port}/setup#")),
        "{setup_url}"
    );
    Latch {
        process,
        port,
        setup_url,
    }
}

fn me(port: u16, access: &str) -> (u16, Value) {
    let bearer = format!("Bearer {access}");
    let (status, body) =
        common::http(port, "GET", "/api/me/", &[("Authorization", &bearer)], b"").expect("latch");
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// Creates the first account, admin, with the printed link's token, over
/// HTTP: the browser's first visit is then a real first visit.
fn create_admin(latch: &Latch) {
    let token = latch.setup_url.split_once('#').expect("a token").1;
    let body = json!({"token": token, "username": "admin", "password": PASSWORD});
    let (status, answer) = common::http(
        latch.port,
        "POST",
        "/api/setup",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
    .expect("latch");
    assert_eq!(status, 201, "{answer}");
}

/// Waits out what a page still loads after it shows (the icon), so that
/// its console messages are in before they are read.
fn settle(browser: &Browser) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while browser.run("return document.readyState;") != "complete" {
        assert!(Instant::now() < deadline, "the page never finished loading");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
}

/// No token in script-readable storage. Without Web Locks, localStorage may
/// hold the refresh lease, and it may hold only an owner id and an expiry.
fn assert_only_a_lease_in_storage(browser: &Browser) {
    let seen = browser.run(
        "return {cookie: document.cookie, session: sessionStorage.length, \
                 local: Object.entries(localStorage)};",
    );
    assert_eq!(seen["cookie"], "", "{seen}");
    assert_eq!(seen["session"], 0, "{seen}");
    for entry in seen["local"].as_array().expect("entries") {
        assert_eq!(entry[0], "latch-refresh", "{seen}");
        let lease: Value = serde_json::from_str(entry[1].as_str().unwrap_or("")).expect("JSON");
        let mut keys: Vec<&String> = lease.as_object().expect("an object").keys().collect();
        keys.sort();
        assert_eq!(keys, ["expires", "owner"], "{seen}");
    }
}

fn sign_in(browser: &Browser, password: &str) {
    browser.type_into("#login-username", "admin");
    browser.type_into("#login-password", password);
    browser.click("#login-form button[type=submit]");
}

#[test]
fn the_login_page_in_chromium() {
    let dir = tempfile::tempdir().expect("temp dir");
    let profile = tempfile::tempdir().expect("profile dir");
    let driver = start_driver();
    let latch = start_latch(dir.path());
    let browser = Browser::open(&driver, profile.path());
    let base = format!("http://127.0.0.1:{}", latch.port);

    // First run: the printed link creates the first staff account and
    // signs it in; the token leaves the address bar.
    browser.goto(&latch.setup_url);
    browser.wait_for_text("#setup-title", "Set up latch");
    assert_eq!(browser.run("return location.hash;"), "");
    browser.type_into("#setup-username", "admin");
    browser.type_into("#setup-password", PASSWORD);
    browser.type_into("#setup-confirm", PASSWORD);
    browser.click("#setup-form button[type=submit]");
    browser.wait_for_text("#account-title", "Signed in as admin");
    assert_eq!(browser.run("return location.pathname;"), "/");
    assert_eq!(
        browser.run("return !!(navigator.locks && navigator.locks.request);"),
        true,
        "refreshes are coordinated with Web Locks"
    );
    browser.assert_no_token_in_storage();
    browser.click("#logout-button");
    browser.wait_for_text("#banner", "You have logged out.");

    // The link is spent.
    browser.goto(&latch.setup_url);
    browser.wait_for_text("#setup-title", "Set up latch");
    browser.type_into("#setup-username", "intruder");
    browser.type_into("#setup-password", PASSWORD);
    browser.type_into("#setup-confirm", PASSWORD);
    browser.click("#setup-form button[type=submit]");
    browser.wait_for_text("#setup-error", "invalid or has already been used");

    // A wrong password gets the server's words.
    browser.goto(&format!("{base}/"));
    browser.wait_for_text("#login-title", "Sign in");
    // From the keyboard: Enter in the password field submits.
    browser.type_into("#login-username", "admin");
    browser.type_into("#login-password", "not the password\u{E007}");
    browser.wait_for_text(
        "#login-error",
        "No active account found with the given credentials",
    );

    // Signing in shows the session, with a visible access token that works.
    sign_in(&browser, PASSWORD);
    browser.wait_for_text("#account-title", "Signed in as admin");
    assert!(browser.displayed("#access-token"));
    // A phone-sized window: nothing sticks out sideways.
    let fits =
        browser.run("const d = document.documentElement; return [d.scrollWidth, d.clientWidth];");
    assert!(
        fits[0].as_u64() <= fits[1].as_u64() && fits[1].as_u64() < Some(500),
        "{fits}"
    );
    let first = browser.access_token();
    assert_eq!(first.split('.').count(), 3, "{first:?}");
    let (status, body) = me(latch.port, &first);
    assert_eq!((status, body["username"].as_str()), (200, Some("admin")));
    assert!(browser.text("#curl-example").contains(&first));
    assert!(
        browser
            .text("#claims")
            .contains("\"token_type\": \"access\"")
    );
    assert!(!browser.text("#session-expires").is_empty());
    browser.assert_no_token_in_storage();

    // Changing the password ends the old session and keeps this browser
    // signed in on a new one; the pair the API returns is not kept.
    browser.type_into("#old-password", PASSWORD);
    browser.type_into("#new-password", NEW_PASSWORD);
    browser.click("#password-form button[type=submit]");
    browser.wait_for_text("#password-done", "Password changed.");
    let changed = browser.wait_for_new_token(&first);
    assert_eq!(me(latch.port, &changed).0, 200);
    assert_eq!(me(latch.port, &first).0, 401, "the old session ended");
    let first = changed;
    browser.wait_for_text("#sessions-list", "This browser");
    browser.assert_no_token_in_storage();

    // A reload keeps the session: the page resumes it from the cookie.
    browser.reload();
    browser.wait_for_text("#account-title", "Signed in as admin");
    let second = browser.access_token();
    assert_ne!(first, second, "a fresh access token after the reload");
    assert_eq!(me(latch.port, &second).0, 200);
    browser.assert_no_token_in_storage();

    // The session list names this browser.
    browser.wait_for_text("#sessions-list", "This browser");

    // Before the access token expires, the page renews it by itself.
    let renewed = browser.wait_for_new_token(&second);
    assert_eq!(me(latch.port, &renewed).0, 200);

    // Two tabs share the cookie; their timed refreshes come due together
    // and must not trip reuse detection, which would end the session.
    let first_tab = browser.new_tab();
    browser.goto(&format!("{base}/"));
    browser.wait_for_text("#account-title", "Signed in as admin");
    std::thread::sleep(Duration::from_secs(2 * ACCESS_LIFETIME));
    let mut tokens = Vec::new();
    for _ in 0..2 {
        browser.wait_for_text("#account-title", "Signed in as admin");
        let token = browser.access_token();
        assert_eq!(me(latch.port, &token).0, 200, "both tabs stay signed in");
        tokens.push(token);
        browser.switch_to(&first_tab);
    }
    let bearer = format!("Bearer {}", tokens[1]);
    let (status, sessions) = common::http(
        latch.port,
        "GET",
        "/api/sessions/",
        &[("Authorization", &bearer)],
        b"",
    )
    .expect("latch");
    let sessions: Value = serde_json::from_str(&sessions).unwrap_or(Value::Null);
    assert_eq!(status, 200);
    assert_eq!(
        sessions.as_array().map(Vec::len),
        Some(1),
        "one session, not forked: {sessions}"
    );

    // Logging out in one tab logs out the other.
    browser.click("#logout-button");
    browser.wait_for_text("#banner", "You have logged out.");
    let tabs = browser.command("GET", "/window/handles", json!({}));
    let other_tab = tabs
        .as_array()
        .and_then(|all| all.iter().find(|h| **h != Value::String(first_tab.clone())))
        .and_then(Value::as_str)
        .expect("the second tab")
        .to_string();
    browser.switch_to(&other_tab);
    browser.wait_for_text("#banner", "You logged out in another tab.");
    browser.close_tab();
    browser.switch_to(&first_tab);

    // Logged out: the session ended on the server, and stays ended on reload.
    assert_eq!(browser.access_token(), "");
    assert_eq!(me(latch.port, &tokens[1]).0, 401);
    browser.reload();
    browser.wait_for_text("#login-title", "Sign in");
    assert!(!browser.displayed("#account-view"));
    browser.assert_no_token_in_storage();

    // Log out everywhere: every session ends, this one too.
    sign_in(&browser, NEW_PASSWORD);
    browser.wait_for_text("#account-title", "Signed in as admin");
    let token = browser.access_token();
    browser.click("#logout-everywhere-button");
    browser.wait_for_text("#banner", "logged out on every device");
    assert_eq!(me(latch.port, &token).0, 401);
    browser.reload();
    browser.wait_for_text("#login-title", "Sign in");

    // With the server gone, the page says so.
    drop(latch.process);
    sign_in(&browser, PASSWORD);
    browser.wait_for_text("#login-error", "Can't reach the server");
}

#[test]
fn a_visit_a_sign_in_a_reload_and_a_sign_out_log_no_console_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let profile = tempfile::tempdir().expect("profile dir");
    let driver = start_driver();
    let latch = start_latch(dir.path());
    create_admin(&latch);
    let browser = Browser::open(&driver, profile.path());
    let base = format!("http://127.0.0.1:{}", latch.port);
    // Whatever the browser logged before the page, e.g. about its profile.
    browser.console_log();

    // The first visit asks for a session there is none of, and for the icon.
    browser.goto(&format!("{base}/"));
    browser.wait_for_text("#login-title", "Sign in");
    settle(&browser);
    browser.assert_no_console_error("the first visit");
    let icon = browser.run(
        "return fetch('/favicon.ico').then((r) => [r.status, r.headers.get('Content-Type')]);",
    );
    assert_eq!(icon, json!([200, "image/svg+xml"]));

    sign_in(&browser, PASSWORD);
    browser.wait_for_text("#account-title", "Signed in as admin");
    browser.wait_for_text("#sessions-list", "This browser");
    browser.assert_no_console_error("the sign-in");

    browser.reload();
    browser.wait_for_text("#account-title", "Signed in as admin");
    browser.wait_for_text("#sessions-list", "This browser");
    settle(&browser);
    browser.assert_no_console_error("the reload");

    browser.click("#logout-button");
    browser.wait_for_text("#banner", "You have logged out.");
    browser.reload();
    browser.wait_for_text("#login-title", "Sign in");
    settle(&browser);
    browser.assert_no_console_error("the sign-out and the visit after it");
    browser.assert_no_token_in_storage();
}

#[test]
fn without_web_locks_two_tabs_still_share_one_session() {
    let dir = tempfile::tempdir().expect("temp dir");
    let profile = tempfile::tempdir().expect("profile dir");
    let driver = start_driver();
    let latch = start_latch(dir.path());
    create_admin(&latch);
    let browser = Browser::open(&driver, profile.path());
    // Plain http on a name other than localhost: no secure context, so no
    // Web Locks; the page falls back to its localStorage lease.
    let base = format!("http://{INSECURE_HOST}:{}", latch.port);
    browser.console_log();

    browser.goto(&format!("{base}/"));
    browser.wait_for_text("#login-title", "Sign in");
    assert_eq!(
        browser.run("return [isSecureContext, 'locks' in navigator];"),
        json!([false, false]),
        "the page runs without Web Locks"
    );
    sign_in(&browser, PASSWORD);
    browser.wait_for_text("#account-title", "Signed in as admin");

    // A second tab resumes the session from the shared cookie; the first
    // takes the second's new access token from the broadcast.
    let first_tab = browser.new_tab();
    browser.goto(&format!("{base}/"));
    browser.wait_for_text("#account-title", "Signed in as admin");
    let second_token = browser.access_token();
    browser.switch_to(&first_tab);
    browser.wait_for_new_token("");
    assert_eq!(browser.access_token(), second_token, "the broadcast token");
    let second_tab = browser
        .command("GET", "/window/handles", json!({}))
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|h| **h != Value::String(first_tab.clone()))
                .cloned()
        })
        .and_then(|h| h.as_str().map(str::to_string))
        .expect("the second tab");

    // Both tabs hold the same access token, so their timed refreshes come
    // due together, through two access-token lifetimes; unserialized, the
    // second to send the cookie would trip reuse detection.
    let mut last = second_token;
    for _ in 0..2 {
        let renewed = browser.wait_for_new_token(&last);
        std::thread::sleep(Duration::from_secs(ACCESS_LIFETIME / 2));
        for tab in [&second_tab, &first_tab] {
            browser.switch_to(tab);
            browser.wait_for_text("#account-title", "Signed in as admin");
            assert!(!browser.displayed("#banner"), "{}", browser.text("#banner"));
            let token = browser.access_token();
            assert_eq!(me(latch.port, &token).0, 200, "both tabs stay signed in");
            assert_only_a_lease_in_storage(&browser);
        }
        last = renewed;
    }
    let bearer = format!("Bearer {}", browser.access_token());
    let (status, sessions) = common::http(
        latch.port,
        "GET",
        "/api/sessions/",
        &[("Authorization", &bearer)],
        b"",
    )
    .expect("latch");
    let sessions: Value = serde_json::from_str(&sessions).unwrap_or(Value::Null);
    assert_eq!(status, 200);
    assert_eq!(
        sessions.as_array().map(Vec::len),
        Some(1),
        "one session, not forked: {sessions}"
    );
    browser.assert_no_console_error("two tabs refreshing together");

    // The lease is released after each refresh.
    let deadline = Instant::now() + Duration::from_secs(5);
    while browser.run("return localStorage.length;") != 0 {
        assert!(Instant::now() < deadline, "the lease was never released");
        std::thread::sleep(Duration::from_millis(100));
    }
    browser.assert_no_token_in_storage();
}
