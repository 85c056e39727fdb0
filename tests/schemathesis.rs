//! Schemathesis (PyPI) against a real `latch`, driven by the server's own
//! `GET /api/openapi.json`, authenticated as a staff user: no 5xx, and
//! every response conforms to its documented status code, content type and
//! schema.
//!
//! Bounded so CI stays quick: a fixed seed (the same cases every run; set
//! `SCHEMATHESIS_SEED` to explore others), few examples per operation, and
//! a hard timeout on the whole run.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Schemathesis 4: the CLI flags below are its.
const PACKAGE: &str = "schemathesis>=4,<5";
const SEED: &str = "20261201";
const LIMIT: Duration = Duration::from_secs(240);

/// `schemathesis` in a venv under `target/`, made once.
fn schemathesis() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join("target/schemathesis-venv");
    let exe = venv.join("bin/schemathesis");
    let works = |exe: &Path| {
        Command::new(exe)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works(&exe) {
        return exe;
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status();
    assert!(made.is_ok_and(|s| s.success()), "python3 -m venv failed");
    let installed = Command::new(venv.join("bin/python"))
        .args(["-m", "pip", "install", "-q", PACKAGE])
        .status();
    assert!(
        installed.is_ok_and(|s| s.success()) && works(&exe),
        "pip install {PACKAGE} failed"
    );
    exe
}

#[test]
fn schemathesis_finds_no_server_error_and_no_nonconforming_response() {
    let exe = schemathesis();
    let dir = tempfile::tempdir().expect("temp dir");
    // Fuzzing is all failures: no budget may run out and turn it into 429s.
    let generous = "1000000";
    let server = Server::start(
        dir.path(),
        &[
            ("LATCH_REQUEST_ADDRESS_BURST", generous),
            ("LATCH_REQUEST_ADDRESS_PER_HOUR", generous),
            ("LATCH_LOGIN_ACCOUNT_BURST", generous),
            ("LATCH_LOGIN_ACCOUNT_PER_HOUR", generous),
            ("LATCH_LOGIN_ADDRESS_BURST", generous),
            ("LATCH_LOGIN_ADDRESS_PER_HOUR", generous),
            ("LATCH_LOGIN_DEVICE_BURST", generous),
            ("LATCH_LOGIN_DEVICE_PER_HOUR", generous),
            ("LATCH_REGISTRATION", "open"),
        ],
    );
    add_user(dir.path(), "admin", true);
    let (access, _) = server_login(&server, "admin");
    let base = format!("http://127.0.0.1:{}", server.port);
    let seed = std::env::var("SCHEMATHESIS_SEED").unwrap_or_else(|_| SEED.to_string());

    let log_path = dir.path().join("schemathesis.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut child = Command::new(exe)
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .args(["run", &format!("{base}/api/openapi.json")])
        .args(["--url", &base])
        .args(["-H", &format!("Authorization: Bearer {access}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_schema_conformance",
        ])
        .args(["--max-examples", "20"])
        .args(["--seed", &seed])
        // One worker: Python 3.11's parser is not safe for hypothesis
        // describing strategies from two threads at once.
        .args(["--workers", "1"])
        .args(["--request-timeout", "10"])
        // Logging the bearer out everywhere would turn every later request
        // into a (conforming, but uninformative) 401.
        .args(["--exclude-operation-id", "revoke_all_sessions"])
        .args(["--exclude-operation-id", "log_user_out"])
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("run schemathesis");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let out = std::fs::read_to_string(&log_path).unwrap_or_default();
    println!("{out}");
    let status = status.unwrap_or_else(|| panic!("schemathesis ran over {LIMIT:?}:\n{out}"));
    assert!(status.success(), "schemathesis failed ({status}):\n{out}");
    // latch is still up and the bearer still works after the run.
    assert_eq!(server.request("GET", "/healthz", &[], "",).0, 200);
}
