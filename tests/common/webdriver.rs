//! A small WebDriver client over plain HTTP and JSON (no WebDriver crate
//! needed): chromedriver and headless Chromium from Debian's `chromium` and
//! `chromium-driver` packages, installed on first need when run as root. If
//! they are missing the browser tests fail, loudly: a browser test that
//! quietly passes without a browser proves nothing.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::free_port;

/// How long a page may take to show what a test waits for.
pub const WAIT: Duration = Duration::from_secs(20);
/// A host name Chromium resolves to loopback (see `Browser::open`): plain
/// http there is not a secure context, unlike 127.0.0.1 and localhost, so a
/// page opened on it has no Web Locks.
pub const INSECURE_HOST: &str = "latch.test";
/// The key WebDriver wraps element references in.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The first of `names` on `PATH`.
pub fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// One exchange with chromedriver, which must answer.
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    super::http(port, method, path, headers, body.as_bytes())
        .unwrap_or_else(|e| panic!("{method} {path} on port {port}: {e}"))
}

/// A child process killed when the test ends, however it ends.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// chromedriver on a free port, ready for sessions.
pub struct Driver {
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

pub fn start_driver() -> Driver {
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
pub struct Browser {
    driver: u16,
    id: String,
}

impl Browser {
    pub fn open(driver: &Driver, profile: &Path) -> Browser {
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
            format!(
                "--host-resolver-rules=MAP {INSECURE_HOST} 127.0.0.1, MAP *.{} 127.0.0.1",
                super::proxies::DOMAIN
            ),
            format!("--user-data-dir={}", profile.display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
            // Keeps the console, for `console_log`.
            "goog:loggingPrefs": {"browser": "ALL"},
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
    pub fn command(&self, method: &str, path: &str, body: Value) -> Value {
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

    pub fn goto(&self, url: &str) {
        self.command("POST", "/url", json!({ "url": url }));
    }

    pub fn reload(&self) {
        self.command("POST", "/refresh", json!({}));
    }

    /// Opens a new tab and switches to it; returns the previous tab.
    pub fn new_tab(&self) -> String {
        let previous = self.command("GET", "/window", json!({}));
        let opened = self.command("POST", "/window/new", json!({"type": "tab"}));
        self.switch_to(opened["handle"].as_str().expect("handle"));
        previous.as_str().expect("handle").to_string()
    }

    pub fn switch_to(&self, handle: &str) {
        self.command("POST", "/window", json!({ "handle": handle }));
    }

    pub fn close_tab(&self) {
        self.command("DELETE", "/window", json!({}));
    }

    pub fn run(&self, script: &str) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": [] }),
        )
    }

    pub fn element(&self, css: &str) -> String {
        let found = self.command(
            "POST",
            "/element",
            json!({ "using": "css selector", "value": css }),
        );
        found[ELEMENT].as_str().expect("element id").to_string()
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.command("POST", &format!("/element/{id}/clear"), json!({}));
        self.command(
            "POST",
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        );
    }

    pub fn click(&self, css: &str) {
        let id = self.element(css);
        self.command("POST", &format!("/element/{id}/click"), json!({}));
    }

    pub fn displayed(&self, css: &str) -> bool {
        let id = self.element(css);
        self.command("GET", &format!("/element/{id}/displayed"), json!({})) == true
    }

    pub fn text(&self, css: &str) -> String {
        let id = self.element(css);
        let text = self.command("GET", &format!("/element/{id}/text"), json!({}));
        text.as_str().unwrap_or_default().to_string()
    }

    /// Waits until `css` is displayed and its text contains `needle`.
    pub fn wait_for_text(&self, css: &str, needle: &str) -> String {
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
    pub fn wait_for_new_token(&self, old: &str) -> String {
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

    /// What the browser's consoles logged since the last call (chromedriver
    /// hands each entry out once): `{level, message, source, timestamp}`.
    pub fn console_log(&self) -> Vec<Value> {
        let log = self.command("POST", "/se/log", json!({"type": "browser"}));
        log.as_array().cloned().unwrap_or_default()
    }

    /// The console logged no error (level `SEVERE`) since the last call.
    pub fn assert_no_console_error(&self, during: &str) {
        let severe: Vec<Value> = self
            .console_log()
            .into_iter()
            .filter(|entry| entry["level"] == "SEVERE")
            .collect();
        assert!(
            severe.is_empty(),
            "console errors during {during}: {severe:#?}"
        );
    }

    /// A Chrome DevTools command through chromedriver.
    pub fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.command(
            "POST",
            "/goog/cdp/execute",
            json!({ "cmd": cmd, "params": params }),
        )
    }

    /// The page's viewport, as a phone (`mobile`) or a desktop shows it.
    pub fn viewport(&self, width: u32, height: u32, mobile: bool) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        );
    }

    /// The visible page as PNG bytes.
    pub fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let data = self.command("GET", "/screenshot", json!({}));
        base64::engine::general_purpose::STANDARD
            .decode(data.as_str().expect("base64"))
            .expect("PNG")
    }

    /// Runs `script`, which calls its last argument with the result.
    pub fn run_async(&self, script: &str) -> Value {
        self.command(
            "POST",
            "/execute/async",
            json!({ "script": script, "args": [] }),
        )
    }

    /// The console logged no error since the last call but for network
    /// entries naming one of `expected` (e.g. `"status of 409"`: the
    /// browser logs every 4xx answer to `fetch`, refusals the page expects
    /// and shows included). Script errors and CSP violations always fail.
    pub fn assert_no_console_error_but(&self, during: &str, expected: &[&str]) {
        let severe: Vec<Value> = self
            .console_log()
            .into_iter()
            .filter(|entry| entry["level"] == "SEVERE")
            .filter(|entry| {
                let message = entry["message"].as_str().unwrap_or("");
                !(entry["source"] == "network" && expected.iter().any(|e| message.contains(e)))
            })
            .collect();
        assert!(
            severe.is_empty(),
            "console errors during {during}: {severe:#?}"
        );
    }

    pub fn access_token(&self) -> String {
        let token = self.run("return document.getElementById('access-token').value;");
        token.as_str().unwrap_or_default().to_string()
    }

    /// Nothing a script could read may hold a token.
    pub fn assert_no_token_in_storage(&self) {
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
