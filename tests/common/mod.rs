//! Shared test helpers: a Rocket on a fresh SQLite file per test, a real
//! `latch` process on loopback, and a tiny HTTP client for the latter.
#![allow(dead_code)]

pub mod cookie_app;
pub mod proxies;
pub mod python;
pub mod webdriver;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use latch::state::App;
use rocket::figment::Figment;
use rocket::http::{ContentType, Header, Status};
use rocket::local::blocking::{Client, LocalResponse};
use serde_json::{Value, json};
use tempfile::TempDir;

pub const KEY: &str = "test-signing-key-that-is-long-enough-for-hs256";
pub const PASSWORD: &str = "correct horse battery staple";

/// Settings every test wants: its own database, cheap hashing (production
/// never uses these parameters), a known key and quiet logs.
pub fn figment(dir: &Path) -> Figment {
    latch::figment()
        .merge(("log_level", "off"))
        .merge(("latch.log_format", "off"))
        .merge(("latch.database", dir.join("latch.db")))
        .merge(("latch.signing_key", KEY))
        .merge(("latch.argon2_memory_kib", 64))
        .merge(("latch.argon2_iterations", 1))
}

pub struct TestApp {
    pub client: Client,
    pub dir: TempDir,
}

pub fn app() -> TestApp {
    app_with(|f| f)
}

pub fn app_with(tweak: impl FnOnce(Figment) -> Figment) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let client = Client::tracked(latch::build(tweak(figment(dir.path())))).expect("rocket ignites");
    TestApp { client, dir }
}

impl TestApp {
    pub fn state(&self) -> &App {
        self.client.rocket().state::<App>().expect("app state")
    }

    /// Creates a user directly in the store; returns its id.
    pub fn user(&self, name: &str, password: &str, staff: bool) -> i64 {
        let app = self.state();
        let hash = app.hasher.hash_blocking(password).expect("hash");
        app.db
            .run_blocking(|conn| {
                latch::store::users::create(
                    conn,
                    name,
                    &latch::auth::usernames::key(name),
                    &hash,
                    staff,
                    self.state().now(),
                )
            })
            .expect("create")
            .expect("new name")
            .id
    }

    pub fn post_json(&self, path: &str, body: Value) -> LocalResponse<'_> {
        self.client
            .post(path.to_string())
            .header(ContentType::JSON)
            .body(body.to_string())
            .dispatch()
    }

    pub fn get_auth(&self, path: &str, access: &str) -> LocalResponse<'_> {
        self.client
            .get(path.to_string())
            .header(Header::new("Authorization", format!("Bearer {access}")))
            .dispatch()
    }

    /// Logs in and returns `(access, refresh)`.
    pub fn login(&self, name: &str, password: &str) -> (String, String) {
        let res = self.post_json(
            "/api/token/",
            json!({"username": name, "password": password}),
        );
        assert_eq!(res.status(), Status::Ok, "login of {name}");
        let body = body(res);
        (
            body["access"].as_str().expect("access").to_string(),
            body["refresh"].as_str().expect("refresh").to_string(),
        )
    }
}

pub fn body(res: LocalResponse<'_>) -> Value {
    let text = res.into_string().unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"))
}

/// Signs arbitrary header and claims with `key`, for forged and foreign
/// tokens.
pub fn sign_raw(
    header: &Value,
    claims: &Value,
    key: &[u8],
    alg: jsonwebtoken::Algorithm,
) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = jsonwebtoken::EncodingKey::from_secret(key).expect("key");
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, alg).expect("sign");
    format!("{message}.{signature}")
}

pub fn hs256(claims: &Value) -> String {
    sign_raw(
        &json!({"alg": "HS256", "typ": "JWT"}),
        claims,
        KEY.as_bytes(),
        jsonwebtoken::Algorithm::HS256,
    )
}

pub fn now() -> i64 {
    latch::clock::Clock::default().now()
}

/// The claims of a token, unverified.
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    Value::Object(latch::auth::tokens::decode_segment(payload).expect("json"))
}

/// A real `latch` process on a free loopback port.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The `latch` binary with a test environment around `dir`.
pub fn latch_cmd(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_latch"));
    cmd.current_dir(dir)
        .env("LATCH_DATABASE", dir.join("latch.db"))
        .env("LATCH_SIGNING_KEY", KEY)
        .env("LATCH_ARGON2_MEMORY_KIB", "64")
        .env("LATCH_ARGON2_ITERATIONS", "1")
        .env("ROCKET_LOG_LEVEL", "critical");
    cmd
}

impl Server {
    pub fn start(dir: &Path, extra_env: &[(&str, &str)]) -> Server {
        Server::start_cmd(latch_cmd(dir), dir, extra_env, None)
    }

    /// As [`Server::start`], with standard output and error in `log`.
    pub fn start_logging(dir: &Path, extra_env: &[(&str, &str)], log: Option<&Path>) -> Server {
        Server::start_cmd(latch_cmd(dir), dir, extra_env, log)
    }

    /// As [`Server::start`], without `LATCH_SIGNING_KEY` (key sets
    /// generate their key pair).
    pub fn start_keyless(dir: &Path, extra_env: &[(&str, &str)]) -> Server {
        let mut cmd = latch_cmd(dir);
        cmd.env_remove("LATCH_SIGNING_KEY");
        Server::start_cmd(cmd, dir, extra_env, None)
    }

    fn start_cmd(
        mut cmd: Command,
        dir: &Path,
        extra_env: &[(&str, &str)],
        log: Option<&Path>,
    ) -> Server {
        let port = free_port();
        let (out, err) = match log {
            Some(path) => {
                let file = std::fs::File::create(path).expect("log file");
                (
                    Stdio::from(file.try_clone().expect("log file")),
                    Stdio::from(file),
                )
            }
            None => (Stdio::null(), Stdio::null()),
        };
        cmd.env("ROCKET_PORT", port.to_string())
            .env("ROCKET_ADDRESS", "127.0.0.1")
            .stdout(out)
            .stderr(err);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn latch");
        let server = Server {
            child,
            port,
            dir: dir.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok((200, _)) = server.try_request("GET", "/healthz", &[], "") {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("latch did not answer on port {port}");
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, Value) {
        self.try_request(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    pub fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.request(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            &body.to_string(),
        )
    }

    pub fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> std::io::Result<(u16, Value)> {
        let (status, text) = http(self.port, method, path, headers, body.as_bytes())?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    /// Kills the process the hard way: no shutdown, no flush.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request with `Connection: close`; returns status and body.
/// The body is read by its length (or chunks), since chromedriver keeps
/// connections open whatever the client asks.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(90)))?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;
    read_response(&mut BufReader::new(stream))
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

/// Adds a user (password [`PASSWORD`]) with the real CLI.
pub fn add_user(dir: &Path, name: &str, staff: bool) {
    let mut args = vec!["user", "add", name, "--password-stdin"];
    if staff {
        args.push("--staff");
    }
    let status = latch_cmd(dir)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("{PASSWORD}\n").as_bytes())?;
            child.wait()
        })
        .expect("user add");
    assert!(status.success());
}

/// Logs `name` in on a real server; returns `(access, refresh)`.
pub fn server_login(server: &Server, name: &str) -> (String, String) {
    let (status, body) = server.post_json(
        "/api/token/",
        &json!({"username": name, "password": PASSWORD}),
    );
    assert_eq!(status, 200, "{body}");
    (
        body["access"].as_str().unwrap().to_string(),
        body["refresh"].as_str().unwrap().to_string(),
    )
}

/// Fires `n` refreshes of one token at once; returns each (status, body).
pub fn refresh_race(server: &Server, refresh: &str, n: usize) -> Vec<(u16, String)> {
    let barrier = Arc::new(Barrier::new(n));
    let body = json!({"refresh": refresh}).to_string();
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (barrier, body, port) = (barrier.clone(), body.clone(), server.port);
            std::thread::spawn(move || {
                barrier.wait();
                http(
                    port,
                    "POST",
                    "/api/token/refresh/",
                    &[("Content-Type", "application/json")],
                    body.as_bytes(),
                )
                .expect("request")
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

/// A request as the page sends it (JSON, `X-Requested-With: latch`), with
/// `cookie` as the whole `Cookie` header (or none); returns the status and
/// the raw response, head included, to read `Set-Cookie` from.
pub fn page_post(port: u16, path: &str, cookie: &str, body: &str) -> (u16, String) {
    use std::io::Read;
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let cookie = if cookie.is_empty() {
        String::new()
    } else {
        format!("Cookie: {cookie}\r\n")
    };
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/json\r\nX-Requested-With: latch\r\n{cookie}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read");
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, raw)
}
