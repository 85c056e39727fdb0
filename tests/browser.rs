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
    start_latch_with(dir, ACCESS_LIFETIME)
}

/// As [`start_latch`], with access tokens that live `lifetime` seconds.
fn start_latch_with(dir: &Path, lifetime: u64) -> Latch {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_latch"))
        .current_dir(dir)
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env("ROCKET_LOG_LEVEL", "critical")
        .env("LATCH_DATABASE", dir.join("latch.db"))
        // Short-lived access tokens, so the page's timed refresh happens
        // within the test.
        .env("LATCH_ACCESS_TOKEN_LIFETIME", lifetime.to_string())
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

// ---- The console: staff administration, the account, accessibility -------

const BOB_PASSWORD: &str = "a rather long passphrase of their own";
const BOB_RESET: &str = "another passphrase that staff chose";
/// Long enough that no token expires while a console test runs: a refused
/// token is refused for what the test did.
const CONSOLE_LIFETIME: u64 = 600;
const FIREFOX_ON_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

fn sign_in_as(browser: &Browser, username: &str, password: &str) {
    browser.type_into("#login-username", username);
    browser.type_into("#login-password", password);
    browser.click("#login-form button[type=submit]");
}

/// Logs in over the API, as a client with `user_agent`; returns the access token.
fn api_login(port: u16, username: &str, password: &str, user_agent: &str) -> Result<String, u16> {
    let body = json!({"username": username, "password": password}).to_string();
    let (status, answer) = common::http(
        port,
        "POST",
        "/api/token/",
        &[
            ("Content-Type", "application/json"),
            ("User-Agent", user_agent),
        ],
        body.as_bytes(),
    )
    .expect("latch");
    if status != 200 {
        return Err(status);
    }
    let answer: Value = serde_json::from_str(&answer).expect("JSON");
    Ok(answer["access"].as_str().expect("access").to_string())
}

/// A call with a bearer token; the status and the JSON answer.
fn api(port: u16, method: &str, path: &str, access: &str, body: Value) -> (u16, Value) {
    let bearer = format!("Bearer {access}");
    let sent = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let (status, answer) = common::http(
        port,
        method,
        path,
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
        ],
        sent.as_bytes(),
    )
    .expect("latch");
    (status, serde_json::from_str(&answer).unwrap_or(Value::Null))
}

/// Clicks `button` until `css` shows `needle`: for lists that show what
/// the server recorded a moment after the action (the audit trail is
/// written in the background).
fn click_until(browser: &Browser, button: &str, css: &str, needle: &str) {
    let deadline = Instant::now() + common::webdriver::WAIT;
    loop {
        browser.click(button);
        std::thread::sleep(Duration::from_millis(300));
        if browser.displayed(css) && browser.text(css).contains(needle) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{css} never showed {needle:?}: {:?}",
            browser.text(css)
        );
    }
}

const ENTER: &str = "\u{E007}";
const TAB: &str = "\u{E004}";

/// Presses `keys` one after another, as a keyboard user would.
fn press(browser: &Browser, keys: &[&str]) {
    let actions: Vec<Value> = keys
        .iter()
        .flat_map(|k| {
            [
                json!({"type": "keyDown", "value": k}),
                json!({"type": "keyUp", "value": k}),
            ]
        })
        .collect();
    browser.command(
        "POST",
        "/actions",
        json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
    );
}

fn focused_id(browser: &Browser) -> Value {
    browser.run("return document.activeElement && document.activeElement.id;")
}

#[test]
fn a_staff_walk_through_the_console() {
    let dir = tempfile::tempdir().expect("temp dir");
    let profile = tempfile::tempdir().expect("profile dir");
    let driver = start_driver();
    let latch = start_latch_with(dir.path(), CONSOLE_LIFETIME);
    create_admin(&latch);
    let port = latch.port;
    let browser = Browser::open(&driver, profile.path());
    let base = format!("http://127.0.0.1:{port}");
    browser.console_log();

    // The page's scripts are modules, served as JavaScript under the same CSP.
    browser.goto(&format!("{base}/"));
    browser.wait_for_text("#login-title", "Sign in");
    let served = browser.run_async(
        "const done = arguments[arguments.length - 1]; \
         fetch('/static/view-staff.js').then((r) => done([r.status, \
           r.headers.get('Content-Type'), r.headers.get('Content-Security-Policy')]));",
    );
    assert_eq!(served[0], 200, "{served}");
    assert!(
        served[1].as_str().unwrap_or("").contains("javascript"),
        "{served}"
    );
    assert!(
        served[2]
            .as_str()
            .unwrap_or("")
            .contains("script-src 'self';"),
        "{served}"
    );

    sign_in(&browser, PASSWORD);
    browser.wait_for_text("#account-title", "Signed in as admin");
    assert!(browser.displayed("#nav-staff"));
    browser.click("#nav-staff");
    browser.wait_for_text("#staff-title", "Users");
    assert_eq!(browser.run("return location.hash;"), "#staff");
    browser.wait_for_text("#users-list", "admin");

    // Create a user; the password policy's words show at the field.
    browser.type_into("#create-username", "bob");
    browser.type_into("#create-password", "password");
    browser.click("#create-form button[type=submit]");
    let policy = browser.wait_for_text("#create-password-error", "");
    assert!(!policy.is_empty());
    assert_eq!(
        browser
            .run("return document.getElementById('create-password').getAttribute('aria-invalid');"),
        "true"
    );
    browser.type_into("#create-password", BOB_PASSWORD);
    browser.click("#create-form button[type=submit]");
    browser.wait_for_text("#create-done", "bob has been created.");
    browser.wait_for_text("#users-list", "bob");
    assert!(!browser.displayed("#create-password-error"));

    // Search finds them.
    browser.type_into("#user-search", "bo");
    browser.click("#user-search-form button[type=submit]");
    browser.wait_for_text("#users-summary", "1 user matching “bo”");
    assert!(!browser.text("#users-list").contains("admin"));

    // Deactivating them refuses their API token at once.
    let bob = api_login(port, "bob", BOB_PASSWORD, "bob-client/1.0").expect("bob logs in");
    assert_eq!(me(port, &bob).0, 200);
    // From the keyboard: Enter on the name opens the user, Tab reaches
    // their first action.
    browser.run("document.querySelector('#users-list li[data-user=bob] button').focus();");
    press(&browser, &[ENTER]);
    browser.wait_for_text("#detail-username", "bob");
    assert_eq!(focused_id(&browser), "detail-title");
    browser.wait_for_text("#detail-sessions", "bob-client");
    press(&browser, &[TAB]);
    assert_eq!(focused_id(&browser), "detail-active");
    browser.click("#detail-active");
    browser.wait_for_text("#detail-done", "bob is deactivated");
    assert_eq!(me(port, &bob).0, 401, "the token is refused at once");
    assert_eq!(browser.text("#detail-active"), "Activate");
    browser.click("#detail-active");
    browser.wait_for_text("#detail-done", "bob is active again.");

    // Reset their password.
    browser.type_into("#reset-password", BOB_RESET);
    browser.click("#reset-form button[type=submit]");
    browser.wait_for_text("#detail-done", "The password of bob has been reset.");
    assert_eq!(
        api_login(port, "bob", BOB_PASSWORD, "bob-client/1.0"),
        Err(401)
    );
    let bob = api_login(port, "bob", BOB_RESET, FIREFOX_ON_LINUX).expect("the new password");
    assert_eq!(me(port, &bob).0, 200);

    // Force a log-out; their sessions are named as people know them.
    browser.click("#users-list li[data-user=bob] button");
    browser.wait_for_text("#detail-sessions", "Firefox on Linux");
    browser.click("#detail-logout");
    browser.wait_for_text("#detail-done", "bob has been logged out everywhere");
    assert_eq!(
        me(port, &bob).0,
        401,
        "the forced log-out ended the session"
    );
    browser.wait_for_text("#detail-sessions-empty", "No live sessions.");

    // The audit entries those actions made.
    browser.click("#detail-audit");
    assert_eq!(focused_id(&browser), "audit-title");
    for entry in [
        "User created — bob by admin",
        "User changed — bob by admin",
        "Password reset — bob by admin",
        "Logged out everywhere — bob by admin",
    ] {
        click_until(
            &browser,
            "#audit-form button[type=submit]",
            "#audit-list",
            entry,
        );
    }
    browser.run("document.getElementById('audit-event').value = 'password_reset';");
    click_until(
        &browser,
        "#audit-form button[type=submit]",
        "#audit-summary",
        "1 entry",
    );
    assert!(!browser.text("#audit-list").contains("User created"));

    // The README's picture of the staff view, at desktop width.
    browser.run("document.getElementById('audit-event').value = '';");
    click_until(
        &browser,
        "#audit-form button[type=submit]",
        "#audit-list",
        "Logged out everywhere",
    );
    browser.type_into("#user-search", "");
    browser.click("#user-search-form button[type=submit]");
    browser.wait_for_text("#users-summary", "2 users");
    browser.click("#users-list li[data-user=bob] button");
    browser.wait_for_text("#detail-username", "bob");
    browser.viewport(1280, 1200, false);
    browser.run("window.scrollTo(0, 0); document.activeElement.blur();");
    std::thread::sleep(Duration::from_millis(300));
    let png = browser.screenshot();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    std::fs::create_dir_all(&docs).expect("docs/");
    std::fs::write(docs.join("console-staff.png"), png).expect("write the screenshot");
    browser.viewport(360, 740, true);

    // latch refuses to demote, deactivate or delete the last active staff
    // account; the page shows its words.
    const LAST: &str = "This is the last active staff account. Make another user staff first.";
    browser.click("#users-list li[data-user=admin] button");
    browser.wait_for_text("#detail-username", "admin");
    browser.click("#detail-staff");
    browser.wait_for_text("#detail-error", LAST);
    browser.click("#detail-active");
    browser.wait_for_text("#detail-error", LAST);
    browser.click("#detail-delete");
    browser.wait_for_text("#delete-question", "Delete admin?");
    browser.click("#delete-yes");
    browser.wait_for_text("#detail-error", LAST);
    assert!(
        browser.displayed("#staff-view"),
        "still signed in, still staff"
    );

    // Delete, with a confirmation naming the user.
    browser.click("#users-list li[data-user=bob] button");
    browser.wait_for_text("#detail-username", "bob");
    browser.click("#detail-delete");
    browser.wait_for_text("#delete-question", "Delete bob?");
    assert_eq!(
        focused_id(&browser),
        "delete-no",
        "Cancel is the safe default"
    );
    assert_eq!(browser.text("#delete-yes"), "Delete bob");
    browser.click("#delete-yes");
    browser.wait_for_text("#staff-done", "bob has been deleted.");
    browser.wait_for_text("#users-summary", "1 user");
    assert!(!browser.text("#users-list").contains("bob"));

    // Nothing sticks out sideways on a phone.
    let fits =
        browser.run("const d = document.documentElement; return [d.scrollWidth, d.clientWidth];");
    assert_eq!(fits[0], fits[1], "{fits}");
    assert_eq!(fits[1], 360, "{fits}");

    // The refusals the page showed are the only errors the browser logged.
    browser.assert_no_console_error_but("the staff walk", &["status of 400", "status of 409"]);
}

#[test]
fn a_plain_user_never_sees_the_staff_view_and_ends_a_session_that_was_not_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let profile = tempfile::tempdir().expect("profile dir");
    let driver = start_driver();
    let latch = start_latch_with(dir.path(), CONSOLE_LIFETIME);
    create_admin(&latch);
    let port = latch.port;
    let admin = api_login(port, "admin", PASSWORD, "setup").expect("admin");
    let (status, carol) = api(
        port,
        "POST",
        "/api/admin/users/",
        &admin,
        json!({"username": "carol", "password": BOB_PASSWORD}),
    );
    assert_eq!(status, 201, "{carol}");
    let carol_id = carol["id"].as_i64().expect("id");
    let browser = Browser::open(&driver, profile.path());
    let base = format!("http://127.0.0.1:{port}");
    browser.console_log();

    // Someone else signed in as carol, from Firefox on Linux.
    let other = api_login(port, "carol", BOB_PASSWORD, FIREFOX_ON_LINUX).expect("carol");

    browser.goto(&format!("{base}/#staff"));
    browser.wait_for_text("#login-title", "Sign in");
    sign_in_as(&browser, "carol", BOB_PASSWORD);
    browser.wait_for_text("#account-title", "Signed in as carol");
    assert!(!browser.displayed("#nav-staff"), "no staff link");
    assert!(
        !browser.displayed("#staff-view"),
        "no staff view, whatever the address says"
    );
    browser.goto(&format!("{base}/#staff"));
    browser.wait_for_text("#account-title", "Signed in as carol");
    assert!(!browser.displayed("#staff-view"));

    // The staff API refuses her, whatever a page might try.
    let mine = browser.access_token();
    for (method, path) in [
        ("GET", "/api/admin/users/".to_string()),
        ("POST", "/api/admin/users/".to_string()),
        ("GET", format!("/api/admin/users/{carol_id}/")),
        ("PATCH", format!("/api/admin/users/{carol_id}/")),
        ("GET", format!("/api/admin/users/{carol_id}/sessions/")),
        ("POST", format!("/api/admin/users/{carol_id}/logout/")),
        ("GET", "/api/admin/audit/".to_string()),
    ] {
        let (status, answer) = api(port, method, &path, &mine, json!({"is_staff": true}));
        assert_eq!(status, 403, "{method} {path}: {answer}");
    }

    // Her activity, from the audit trail, with the device it came from.
    browser.wait_for_text("#activity-list", "Signed in");
    browser.wait_for_text("#activity-list", "Firefox on Linux");
    browser.wait_for_text("#activity-list", "User created");

    // "This wasn't me": the other session, by a name people recognise,
    // ends at once; then the password.
    browser.wait_for_text("#sessions-list", "This browser");
    browser.wait_for_text("#sessions-list", "Firefox on Linux");
    assert!(
        !browser.text("#sessions-list").contains("Gecko/20100101"),
        "not the raw user agent"
    );
    browser.click("#sessions-list button.not-me");
    browser.wait_for_text("#not-me-text", "Firefox on Linux");
    assert_eq!(focused_id(&browser), "not-me-title");
    browser.click("#not-me-one");
    browser.wait_for_text("#password-prompt", "That session has ended.");
    assert_eq!(me(port, &other).0, 401, "the other session ended");
    assert_eq!(me(port, &mine).0, 200, "this one goes on");
    assert_eq!(focused_id(&browser), "old-password");
    let deadline = Instant::now() + common::webdriver::WAIT;
    while browser.text("#sessions-list").contains("Firefox on Linux") {
        assert!(
            Instant::now() < deadline,
            "the ended session is still listed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // All of them, from the keyboard: a second stranger, then Enter on the
    // buttons.
    let third = api_login(port, "carol", BOB_PASSWORD, FIREFOX_ON_LINUX).expect("carol");
    browser.click("#sessions-reload");
    browser.wait_for_text("#sessions-list", "Firefox on Linux");
    browser.run("document.querySelector('#sessions-list button.not-me').focus();");
    press(&browser, &[ENTER, TAB, TAB, ENTER]);
    browser.wait_for_text("#password-prompt", "Every other session has ended.");
    assert_eq!(me(port, &third).0, 401);
    browser.type_into("#old-password", BOB_PASSWORD);
    browser.type_into("#new-password", NEW_PASSWORD);
    browser.click("#password-form button[type=submit]");
    browser.wait_for_text("#password-done", "Password changed.");
    browser.wait_for_text("#activity-list", "Password changed");

    browser.assert_no_console_error("a plain user's visit");
}

/// axe-core from npm, into target/ on first need; the test's alone.
fn axe_source() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/axe");
    let file = dir.join("node_modules/axe-core/axe.min.js");
    if !file.is_file() {
        let status = Command::new("npm")
            .args([
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--prefix",
            ])
            .arg(&dir)
            .arg("axe-core@4")
            .stdout(Stdio::null())
            .status()
            .expect("npm (the accessibility test installs axe-core with it)");
        assert!(status.success(), "npm install axe-core failed");
    }
    std::fs::read_to_string(file).expect("axe.min.js")
}

/// axe's serious and critical violations on the page as it is now.
fn serious_violations(browser: &Browser, axe: &str) -> Vec<Value> {
    if browser.run("return typeof window.axe;") != "object" {
        browser.run(&format!("{axe}\n;return true;"));
    }
    let violations = browser.run_async(
        "const done = arguments[arguments.length - 1]; \
         axe.run(document, {resultTypes: ['violations']}) \
           .then((r) => done(r.violations.map((v) => ({id: v.id, impact: v.impact, \
              help: v.help, nodes: v.nodes.map((n) => n.target.join(' '))})))) \
           .catch((e) => done([{id: 'axe failed', impact: 'critical', help: String(e)}]));",
    );
    violations
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|v| v["impact"] == "serious" || v["impact"] == "critical")
        .collect()
}

#[test]
fn axe_finds_no_serious_violation_in_any_view_on_a_phone_or_a_desktop() {
    let axe = axe_source();
    let dir = tempfile::tempdir().expect("temp dir");
    let profile = tempfile::tempdir().expect("profile dir");
    let driver = start_driver();
    let latch = start_latch_with(dir.path(), CONSOLE_LIFETIME);
    create_admin(&latch);
    let browser = Browser::open(&driver, profile.path());
    // The test's own script runs in the page; the page's CSP is unchanged
    // (the walk above checks the header).
    browser.cdp("Page.setBypassCSP", json!({"enabled": true}));
    let base = format!("http://127.0.0.1:{}", latch.port);

    let check = |view: &str| {
        for (width, height, mobile) in [(360, 740, true), (1280, 900, false)] {
            browser.viewport(width, height, mobile);
            std::thread::sleep(Duration::from_millis(200));
            let found = serious_violations(&browser, &axe);
            assert!(
                found.is_empty(),
                "{view} at {width} px: {}",
                serde_json::to_string_pretty(&found).unwrap_or_default()
            );
        }
    };

    browser.goto(&format!("{base}/"));
    browser.wait_for_text("#login-title", "Sign in");
    check("the sign-in view");
    // With an error showing, too.
    sign_in(&browser, "not the password");
    browser.wait_for_text("#login-error", "No active account");
    check("the sign-in view with an error");

    sign_in(&browser, PASSWORD);
    browser.wait_for_text("#account-title", "Signed in as admin");
    browser.wait_for_text("#sessions-list", "This browser");
    browser.wait_for_text("#activity-list", "Signed in");
    check("the user view");

    browser.click("#nav-staff");
    browser.wait_for_text("#staff-title", "Users");
    browser.wait_for_text("#users-list", "admin");
    browser.wait_for_text("#audit-summary", "entr");
    browser.click("#users-list li[data-user=admin] button");
    browser.wait_for_text("#detail-username", "admin");
    browser.click("#detail-delete");
    browser.wait_for_text("#delete-question", "Delete admin?");
    browser.click("#create-form button[type=submit]");
    browser.wait_for_text("#create-username-error", "");
    check("the staff view");
}
