//! The ledger stays small: what a refresh leaves behind for its day.

mod common;

use common::*;
use serde_json::json;

/// The database's size in bytes, all of it in the main file.
fn database_bytes(t: &TestApp) -> i64 {
    t.state()
        .db
        .run_blocking(|c| {
            c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
            let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
            let free: i64 = c.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
            let size: i64 = c.query_row("PRAGMA page_size", [], |r| r.get(0))?;
            Ok((pages - free) * size)
        })
        .unwrap()
}

#[test]
fn a_refresh_leaves_at_most_150_bytes() {
    let t = app();
    t.user("alice", PASSWORD, false);
    let (_, mut refresh) = t.login("alice", PASSWORD);
    // Warm up: the first pages of each structure.
    for _ in 0..50 {
        let res = t.post_json("/api/token/refresh/", json!({ "refresh": refresh }));
        refresh = body(res)["refresh"].as_str().unwrap().to_string();
    }
    let before = database_bytes(&t);
    let n = 2000;
    for _ in 0..n {
        let res = t.post_json("/api/token/refresh/", json!({ "refresh": refresh }));
        refresh = body(res)["refresh"].as_str().unwrap().to_string();
    }
    let per_refresh = (database_bytes(&t) - before) as f64 / f64::from(n);
    eprintln!("bytes retained per refresh: {per_refresh:.1}");
    assert!(per_refresh <= 150.0, "{per_refresh:.1} bytes per refresh");
}
