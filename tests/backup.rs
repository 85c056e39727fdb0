//! `latch backup` while the real server runs and writes.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::*;
use serde_json::json;

#[test]
fn a_backup_taken_during_a_stream_of_refreshes_is_whole_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    add_user(dir.path(), "alice", false);
    let server = Server::start(dir.path(), &[]);
    let (_, first) = server_login(&server, "alice");
    // A client refreshing as fast as it can, for the whole backup.
    let stop = Arc::new(AtomicBool::new(false));
    let refreshed = Arc::new(AtomicUsize::new(0));
    let stream = {
        let (stop, refreshed, port) = (stop.clone(), refreshed.clone(), server.port);
        std::thread::spawn(move || {
            let mut token = first;
            while !stop.load(Ordering::Relaxed) {
                let body = json!({ "refresh": token }).to_string();
                let headers = [("Content-Type", "application/json")];
                let (status, text) = http(
                    port,
                    "POST",
                    "/api/token/refresh/",
                    &headers,
                    body.as_bytes(),
                )
                .unwrap();
                assert_eq!(status, 200, "{text}");
                let pair: serde_json::Value = serde_json::from_str(&text).unwrap();
                token = pair["refresh"].as_str().unwrap().to_string();
                refreshed.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    while refreshed.load(Ordering::Relaxed) < 20 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let copy = dir.path().join("copy.db");
    let out = latch_cmd(dir.path())
        .arg("backup")
        .arg(&copy)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{printed} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(printed.contains("integrity ok"), "{printed}");
    assert!(printed.contains("schema version"), "{printed}");
    let during = refreshed.load(Ordering::Relaxed);
    std::thread::sleep(std::time::Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    stream.join().unwrap();
    assert!(
        refreshed.load(Ordering::Relaxed) > during,
        "writes went on during the backup"
    );
    // A second backup to the same path is refused rather than overwritten.
    let again = latch_cmd(dir.path())
        .arg("backup")
        .arg(&copy)
        .output()
        .unwrap();
    assert!(!again.status.success());
    drop(server);

    // A server started on the copy knows alice and her password.
    let restored = tempfile::tempdir().unwrap();
    std::fs::copy(&copy, restored.path().join("latch.db")).unwrap();
    let server = Server::start(restored.path(), &[]);
    let (access, _) = server_login(&server, "alice");
    let (status, me) = server.request(
        "GET",
        "/api/me/",
        &[("Authorization", &format!("Bearer {access}"))],
        "",
    );
    assert_eq!((status, me["username"].as_str()), (200, Some("alice")));
}
