//! The SQLite store and password hashing, below HTTP.

mod common;

use common::*;
use latch::auth::hasher::Hasher;
use latch::config::Settings;
use latch::store as db;

#[test]
fn migrations_work_on_an_empty_file_and_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    for _ in 0..3 {
        let mut conn = db::open(&path).unwrap();
        db::migrate(&mut conn).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, db::SCHEMA_VERSION);
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "FULL");
        let fk: i64 = conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
    }
}

#[test]
fn a_newer_schema_stops_the_launch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latch.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = db::Db::open(&path, 1).err().expect("refused").to_string();
    assert!(err.contains("newer"), "{err}");
    let rocket = latch::build(figment(dir.path()));
    let Err(err) = rocket::execute(rocket.ignite()) else {
        panic!("launch should be refused");
    };
    // Reading the kind marks the error handled (Rocket panics otherwise).
    assert!(matches!(
        err.kind(),
        rocket::error::ErrorKind::FailedFairings(_)
    ));
}

#[test]
fn the_generated_key_is_made_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        database: dir.path().join("k.db"),
        ..Settings::default()
    };
    let first = latch::state::App::open(settings.clone()).unwrap();
    let token = first
        .keys
        .sign(
            &first
                .keys
                .claims(latch::auth::tokens::Kind::Access, "1", None, now()),
        )
        .unwrap();
    drop(first);
    let second = latch::state::App::open(settings).unwrap();
    assert!(
        second.keys.decode(&token, now()).is_ok(),
        "same key after restart"
    );
    // A configured key wins over the stored one.
    let configured = Settings {
        database: dir.path().join("k.db"),
        signing_key: Some(latch::config::Secret::new(KEY)),
        ..Settings::default()
    };
    let third = latch::state::App::open(configured).unwrap();
    assert!(third.keys.decode(&token, now()).is_err());
    assert!(
        !format!("{:?}", third.settings).contains(KEY),
        "no key in Debug"
    );
    assert!(!format!("{:?}", third.keys).contains(KEY));
}

#[test]
fn usernames_are_unique_after_normalisation() {
    let t = app();
    let name = latch::auth::usernames::normalize("ﬁle");
    assert_eq!(name, "file");
    t.user(&name, PASSWORD, false);
    let create = |raw: &str| {
        let name = latch::auth::usernames::normalize(raw);
        let key = latch::auth::usernames::key(&name);
        t.state()
            .db
            .run_blocking(|c| latch::store::users::create(c, &name, &key, "x", false, now()))
            .unwrap()
    };
    assert!(create("ﬁle").is_none(), "duplicate refused");
    // Case and look-alikes share the key, so the store refuses them too.
    assert!(create("File").is_none(), "case-insensitive");
    assert!(create("f\u{0456}le").is_none(), "Cyrillic і");
    assert!(create("files").is_some(), "a different name");
}

#[test]
fn the_username_key_folds_case_and_look_alikes() {
    use latch::auth::usernames::key;
    assert_eq!(key("Alice"), key("alice"));
    assert_eq!(key("ALICE"), key("alice"));
    assert_eq!(key("\u{0430}lice"), key("alice"), "Cyrillic а");
    assert_eq!(key("\u{0410}LICE"), key("alice"), "Cyrillic А");
    assert_eq!(key("ａｌｉｃｅ"), key("alice"), "fullwidth, through NFKC");
    assert_eq!(key("user0"), key("userO"));
    assert_eq!(
        key("paypal"),
        key("\u{0440}\u{0430}\u{0443}\u{0440}\u{0430}l")
    );
    assert_ne!(key("alice"), key("alicia"));
    assert_ne!(key("bob"), key("bib"));
}

#[test]
fn hash_verify_and_upgrade() {
    let cheap = Settings {
        argon2_memory_kib: 64,
        argon2_iterations: 1,
        ..Settings::default()
    };
    let stronger = Settings {
        argon2_memory_kib: 128,
        argon2_iterations: 2,
        ..Settings::default()
    };
    let old = Hasher::new(&cheap).unwrap();
    let new = Hasher::new(&stronger).unwrap();
    let hash = old.hash_blocking("pw one two three").unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
    let v = old
        .verify_blocking("pw one two three", Some(&hash))
        .unwrap();
    assert!(v.matches && !v.needs_rehash);
    assert!(
        !old.verify_blocking("pw one two threE", Some(&hash))
            .unwrap()
            .matches
    );
    let v = new
        .verify_blocking("pw one two three", Some(&hash))
        .unwrap();
    assert!(v.matches && v.needs_rehash, "old parameters flagged");
    // No stored hash: the dummy is checked and nothing matches.
    assert!(!new.verify_blocking("anything", None).unwrap().matches);
}

#[test]
fn a_login_upgrades_an_old_hash() {
    let t = app();
    let id = t.user("alice", PASSWORD, false);
    let weaker = Settings {
        argon2_memory_kib: 32,
        argon2_iterations: 1,
        ..Settings::default()
    };
    let old_hash = Hasher::new(&weaker)
        .unwrap()
        .hash_blocking(PASSWORD)
        .unwrap();
    let db = &t.state().db;
    db.run_blocking(|c| latch::store::users::set_password_hash(c, id, &old_hash))
        .unwrap();
    t.login("alice", PASSWORD);
    let stored = db
        .run_blocking(|c| latch::store::users::by_id(c, id))
        .unwrap()
        .unwrap()
        .password;
    assert!(stored.contains("m=64,t=1,p=1"), "{stored}");
    t.login("alice", PASSWORD);
}

#[test]
fn group_commit_keeps_jobs_apart() {
    use latch::error::Error;
    use std::sync::mpsc;
    let dir = tempfile::tempdir().unwrap();
    let db = db::Db::open(&dir.path().join("w.db"), 1).unwrap();
    db.write_blocking(|c| {
        c.execute_batch("CREATE TABLE t (v TEXT)")?;
        Ok(())
    })
    .unwrap();
    // Hold the writer inside a job until every job below is queued, so
    // they all go into the one next batch.
    let (holding, held) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let holder = {
        let db = db.clone();
        std::thread::spawn(move || {
            db.write_blocking(move |_| {
                holding.send(()).unwrap();
                released.recv().unwrap();
                Ok(())
            })
        })
    };
    held.recv().unwrap();
    let (queued, queued_all) = mpsc::channel();
    let insert = |v: &'static str, fail: Option<Error>| {
        let (db, queued) = (db.clone(), queued.clone());
        std::thread::spawn(move || {
            queued.send(()).unwrap();
            db.write_blocking(move |c| {
                c.execute("INSERT INTO t VALUES (?1)", [v])?;
                match fail {
                    Some(e) => Err(e),
                    None => Ok(()),
                }
            })
        })
    };
    let storage_failure = Error::from(rusqlite::Error::InvalidQuery);
    let jobs = vec![
        insert("kept", None),
        insert("storage failure", Some(storage_failure)),
        insert("refusal", Some(Error::NotFound)),
        insert("also kept", None),
    ];
    for _ in 0..jobs.len() {
        queued_all.recv().unwrap();
    }
    // Each thread said so just before it queued its job.
    std::thread::sleep(std::time::Duration::from_millis(200));
    release.send(()).unwrap();
    holder.join().unwrap().unwrap();
    let results: Vec<_> = jobs.into_iter().map(|j| j.join().unwrap()).collect();
    assert!(results[0].is_ok() && results[3].is_ok());
    assert!(matches!(results[1], Err(Error::Database(_))));
    assert!(matches!(results[2], Err(Error::NotFound)));
    let mut rows: Vec<String> = db
        .run_blocking(|c| {
            let mut stmt = c.prepare("SELECT v FROM t")?;
            Ok(stmt
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?)
        })
        .unwrap();
    rows.sort();
    // A storage failure undoes its own write; a refusal keeps what it wrote.
    assert_eq!(rows, ["also kept", "kept", "refusal"]);
}

#[test]
fn flushing_removes_only_expired_records() {
    let t = app();
    t.user("alice", PASSWORD, false);
    let (_, refresh) = t.login("alice", PASSWORD);
    let exp = claims(&refresh)["exp"].as_i64().unwrap();
    let db = &t.state().db;
    let count = || {
        db.run_blocking(|c| {
            Ok(c.query_row(
                "SELECT (SELECT COUNT(*) FROM refresh_tokens) + (SELECT COUNT(*) FROM sessions)",
                [],
                |r| r.get::<_, i64>(0),
            )?)
        })
        .unwrap()
    };
    assert_eq!(count(), 2);
    let (tokens, sessions) = db
        .run_blocking(|c| latch::store::ledger::flush_expired(c, exp - 1, 0))
        .unwrap();
    assert_eq!((tokens, sessions), (0, 0), "nothing live is flushed");
    let (tokens, sessions) = db
        .run_blocking(|c| latch::store::ledger::flush_expired(c, exp, 0))
        .unwrap();
    assert_eq!((tokens, sessions), (1, 1));
    assert_eq!(count(), 0);
}
