//! The login page in a real browser: headless Chromium, driven through
//! chromedriver, against the real `latch` binary on loopback.
//!
//! WebDriver is plain HTTP and JSON, so a small client over `TcpStream` is
//! enough; no WebDriver crate is needed. Chromium and chromedriver come
//! from Debian's `chromium` and `chromium-driver` packages (CI installs
//! them). If they are missing this test fails, loudly: a browser test that
//! quietly passes without a browser proves nothing.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "a different, longer passphrase";
const WAIT: Duration = Duration::from_secs(20);
/// Seconds; the page refreshes a quarter of this before expiry.
const ACCESS_LIFETIME: u64 = 8;
/// The key WebDriver wraps element references in.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The first of `names` on `PATH`.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// One HTTP/1.1 exchange: (status, body). The body is read by its length,
/// since chromedriver keeps connections open whatever the client asks.
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let attempt = || -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(90)))?;
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
             Content-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes())?;
        read_response(&mut BufReader::new(stream))
    };
    attempt().unwrap_or_else(|e| panic!("{method} {path} on port {port}: {e}"))
}

fn read_response(reader: &mut impl BufRead) -> std::io::Result<(u16, String)> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (mut length, mut chunked) = (None, false);
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or((&line, ""));
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "content-length" {
            length = value.parse::<usize>().ok();
        } else if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        reader.read_exact(&mut body)?;
    } else {
        reader.read_to_end(&mut body)?;
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// A child process killed when the test ends, however it ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

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

/// chromedriver on a free port, ready for sessions.
struct Driver {
    _process: Process,
    port: u16,
}

/// On a fresh machine, installs Debian's Chromium and chromedriver once, as
/// the interop test makes its own virtualenv, so that plain `cargo test`
/// passes there too. Only as root and only where apt-get exists; otherwise
/// the test fails below with the instructions.
fn ensure_browser() {
    if on_path(&["chromedriver"]).is_some() && on_path(&["chromium"]).is_some() {
        return;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    if !root || on_path(&["apt-get"]).is_none() {
        return;
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let _ =
        apt(&["update", "-qq"]) && apt(&["install", "-y", "-qq", "chromium", "chromium-driver"]);
}

fn start_driver() -> Driver {
    ensure_browser();
    let chromedriver = on_path(&["chromedriver"]).unwrap_or_else(|| {
        panic!(
            "chromedriver is not installed: the browser tests need Debian's `chromium` and \
             `chromium-driver` packages (apt-get install chromium chromium-driver; .ci/run \
             installs them)"
        )
    });
    let port = free_port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn chromedriver");
    let driver = Driver {
        _process: Process(child),
        port,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let ready = TcpStream::connect(("127.0.0.1", port)).is_ok()
            && serde_json::from_str::<Value>(&http(port, "GET", "/status", &[], "").1)
                .is_ok_and(|v| v["value"]["ready"] == true);
        if ready {
            return driver;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("chromedriver did not become ready on port {port}");
}

/// One browser session, closed on drop.
struct Browser {
    driver: u16,
    id: String,
}

impl Browser {
    fn open(driver: &Driver, profile: &Path) -> Browser {
        let chromium = on_path(&["chromium", "chromium-browser", "google-chrome"])
            .unwrap_or_else(|| panic!("Chromium is not installed (apt-get install chromium)"));
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--window-size=390,844".into(),
            format!("--user-data-dir={}", profile.display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
        }}});
        let (status, body) = http(
            driver.port,
            "POST",
            "/session",
            &[("Content-Type", "application/json")],
            &capabilities.to_string(),
        );
        let answer: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session ({status}): {body}"))
            .to_string();
        Browser {
            driver: driver.port,
            id,
        }
    }

    /// A WebDriver command; returns its `value`, panicking on an error.
    fn command(&self, method: &str, path: &str, body: Value) -> Value {
        let path = format!("/session/{}{path}", self.id);
        let sent = if method == "GET" {
            String::new()
        } else {
            body.to_string()
        };
        let (status, text) = http(
            self.driver,
            method,
            &path,
            &[("Content-Type", "application/json")],
            &sent,
        );
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert_eq!(status, 200, "{method} {path}: {text}");
        answer["value"].clone()
    }

    fn goto(&self, url: &str) {
        self.command("POST", "/url", json!({ "url": url }));
    }

    fn reload(&self) {
        self.command("POST", "/refresh", json!({}));
    }

    /// Opens a new tab and switches to it; returns the previous tab.
    fn new_tab(&self) -> String {
        let previous = self.command("GET", "/window", json!({}));
        let opened = self.command("POST", "/window/new", json!({"type": "tab"}));
        self.switch_to(opened["handle"].as_str().expect("handle"));
        previous.as_str().expect("handle").to_string()
    }

    fn switch_to(&self, handle: &str) {
        self.command("POST", "/window", json!({ "handle": handle }));
    }

    fn close_tab(&self) {
        self.command("DELETE", "/window", json!({}));
    }

    fn run(&self, script: &str) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": [] }),
        )
    }

    fn element(&self, css: &str) -> String {
        let found = self.command(
            "POST",
            "/element",
            json!({ "using": "css selector", "value": css }),
        );
        found[ELEMENT].as_str().expect("element id").to_string()
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.command("POST", &format!("/element/{id}/clear"), json!({}));
        self.command(
            "POST",
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        );
    }

    fn click(&self, css: &str) {
        let id = self.element(css);
        self.command("POST", &format!("/element/{id}/click"), json!({}));
    }

    fn displayed(&self, css: &str) -> bool {
        let id = self.element(css);
        self.command("GET", &format!("/element/{id}/displayed"), json!({})) == true
    }

    fn text(&self, css: &str) -> String {
        let id = self.element(css);
        let text = self.command("GET", &format!("/element/{id}/text"), json!({}));
        text.as_str().unwrap_or_default().to_string()
    }

    /// Waits until `css` is displayed and its text contains `needle`.
    fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if self.displayed(css) {
                let text = self.text(css);
                if text.contains(needle) {
                    return text;
                }
                if Instant::now() > deadline {
                    panic!("{css} says {text:?}, not {needle:?}");
                }
            } else if Instant::now() > deadline {
                panic!("{css} never became visible");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the page holds an access token other than `old`.
    fn wait_for_new_token(&self, old: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let token = self.access_token();
            if !token.is_empty() && token != old {
                return token;
            }
            assert!(
                Instant::now() < deadline,
                "the page never renewed its token"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn access_token(&self) -> String {
        let token = self.run("return document.getElementById('access-token').value;");
        token.as_str().unwrap_or_default().to_string()
    }

    /// Nothing a script could read may hold a token.
    fn assert_no_token_in_storage(&self) {
        let seen = self.run(
            "return {cookie: document.cookie, \
                     local: JSON.stringify(Object.entries(localStorage)), \
                     session: JSON.stringify(Object.entries(sessionStorage))};",
        );
        assert_eq!(seen["cookie"], "", "no cookie readable by script: {seen}");
        assert_eq!(seen["local"], "[]", "{seen}");
        assert_eq!(seen["session"], "[]", "{seen}");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let path = format!("/session/{}", self.id);
        let _ = TcpStream::connect(("127.0.0.1", self.driver))
            .map(|_| http(self.driver, "DELETE", &path, &[], ""));
    }
}

fn me(port: u16, access: &str) -> (u16, Value) {
    let bearer = format!("Bearer {access}");
    let (status, body) = http(port, "GET", "/api/me/", &[("Authorization", &bearer)], "");
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
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
    let (status, sessions) = http(
        latch.port,
        "GET",
        "/api/sessions/",
        &[("Authorization", &bearer)],
        "",
    );
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
