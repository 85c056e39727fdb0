//! `latch import-django` against a real Django project: users made with
//! every password hasher Django ships, Simple JWT tokens (one blacklisted),
//! `dumpdata` and the SQLite file itself.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::python::django_python;
use common::*;
use latch::store::Connection;
use rocket::http::Status;
use rocket::local::blocking::Client;
use serde_json::{Value, json};

/// The Django side, made once for every test here.
struct Django {
    dir: PathBuf,
    made: Value,
}

impl Django {
    fn dump(&self) -> PathBuf {
        self.dir.join("dump.json")
    }
    fn sqlite(&self) -> PathBuf {
        self.dir.join("django.sqlite3")
    }
    fn records(&self) -> Vec<Value> {
        serde_json::from_slice(&std::fs::read(self.dump()).unwrap()).unwrap()
    }
    fn password(&self, name: &str) -> String {
        self.made["users"][name]["password"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

fn django() -> &'static Django {
    static MADE: OnceLock<Django> = OnceLock::new();
    MADE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("django-import");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/django_import/django_side.py");
        let out = Command::new(django_python())
            .arg(script)
            .arg(KEY)
            .arg(&dir)
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "django side failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let made = serde_json::from_slice(&out.stdout).expect("django side JSON");
        Django { dir, made }
    })
}

fn import(dir: &Path, files: &[&Path]) -> Output {
    latch_cmd(dir)
        .arg("import-django")
        .args(files)
        .output()
        .expect("run latch")
}

fn imported(dir: &Path, files: &[&Path]) -> String {
    let out = import(dir, files);
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn refused(dir: &Path, files: &[&Path]) -> String {
    let out = import(dir, files);
    assert!(!out.status.success(), "import should fail");
    String::from_utf8(out.stderr).unwrap()
}

/// The server over the database the command wrote, registration open.
fn serve(dir: &Path) -> Client {
    let figment = figment(dir).merge(("latch.registration", "open"));
    Client::tracked(latch::build(figment)).expect("rocket ignites")
}

fn post(client: &Client, path: &str, body: Value) -> (Status, Value) {
    let res = client
        .post(path.to_string())
        .header(rocket::http::ContentType::JSON)
        .body(body.to_string())
        .dispatch();
    let status = res.status();
    let text = res.into_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn login(client: &Client, name: &str, password: &str) -> Status {
    post(
        client,
        "/api/token/",
        json!({"username": name, "password": password}),
    )
    .0
}

/// Every user and ledger row, to show an import changed nothing.
fn snapshot(dir: &Path) -> Vec<String> {
    let conn = Connection::open(dir.join("latch.db")).unwrap();
    let mut rows = Vec::new();
    for sql in [
        "SELECT id, username, username_key, password, is_active, is_staff, date_joined,
                last_login, tokens_valid_after FROM users ORDER BY id",
        "SELECT jti, user_id, session_id, issued, expires, consumed_at, revoked
         FROM refresh_tokens ORDER BY jti",
        "SELECT name, seq FROM sqlite_sequence ORDER BY name",
    ] {
        let mut stmt = conn.prepare(sql).unwrap();
        let n = stmt.column_count();
        let got = stmt
            .query_map([], |r| {
                let cells = (0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect::<Vec<_>>();
                Ok(cells.join("|"))
            })
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        rows.extend(got);
    }
    rows
}

fn stored_password(dir: &Path, name: &str) -> String {
    let conn = Connection::open(dir.join("latch.db")).unwrap();
    conn.query_row(
        "SELECT password FROM users WHERE username = ?1",
        [name],
        |r| r.get(0),
    )
    .unwrap()
}

fn user_count(dir: &Path) -> i64 {
    let db = dir.join("latch.db");
    if !db.exists() {
        return 0;
    }
    let conn = Connection::open(db).unwrap();
    conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))
        .unwrap_or(0)
}

fn assert_has(report: &str, parts: &[&str]) {
    for part in parts {
        assert!(report.contains(part), "{part:?} not in:\n{report}");
    }
}

#[test]
fn a_dumpdata_file_moves_users_passwords_and_blacklist() {
    let dj = django();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let report = imported(d, &[&dj.dump()]);
    assert_has(
        &report,
        &[
            "users: 8 imported, 0 updated, 0 unchanged, 0 skipped",
            // One blacklisted token kept dead; two outstanding need nothing.
            "tokens: 1 imported, 0 updated, 0 unchanged, 2 skipped",
            "2 outstanding refresh token(s) skipped",
            "left alone: 24 auth.permission",
            "\"una\" (id 17) has an unusable password",
            "new latch users get ids above 20",
        ],
    );
    let client = serve(d);
    every_hasher_logs_in(dj, d, &client);
    ids_and_standing_are_djangos(dj, &client);
    tokens_keep_their_standing(dj, &client);

    // Again: nothing changes, and it says so (passwords re-hashed in latch
    // are kept).
    let before = snapshot(d);
    let again = imported(d, &[&dj.dump()]);
    assert_has(
        &again,
        &[
            "users: 0 imported, 0 updated, 8 unchanged",
            "tokens: 0 imported, 0 updated, 1 unchanged, 2 skipped",
            "nothing changed",
        ],
    );
    assert_eq!(snapshot(d), before);
}

/// Every hasher Django ships: a wrong password fails and keeps the hash;
/// the Django password works, and the hash becomes latch's argon2id.
/// (boss is PBKDF2 too; a million rounds cost seconds in a debug build.)
fn every_hasher_logs_in(dj: &Django, d: &Path, client: &Client) {
    for name in ["pat", "sha", "ari", "bea", "sky"] {
        let before = stored_password(d, name);
        assert!(!before.starts_with('$'), "{name} starts with Django's hash");
        assert_eq!(login(client, name, "wrong password"), Status::Unauthorized);
        assert_eq!(stored_password(d, name), before, "{name}: failed, kept");
        assert_eq!(
            login(client, name, &dj.password(name)),
            Status::Ok,
            "{name}"
        );
        assert!(
            stored_password(d, name).starts_with("$argon2id$v=19$"),
            "{name} now has an argon2id hash"
        );
        assert_eq!(
            login(client, name, &dj.password(name)),
            Status::Ok,
            "{name}"
        );
    }
}

/// Ids are Django's, so Django's tokens name the same people; inactive
/// and unusable stay out.
fn ids_and_standing_are_djangos(dj: &Django, client: &Client) {
    let app = client.rocket().state::<latch::state::App>().unwrap();
    for name in ["pat", "sha", "ari", "bea", "sky", "ina", "una", "boss"] {
        let user = app
            .db
            .run_blocking(|c| latch::store::users::by_name(c, name))
            .unwrap()
            .unwrap();
        assert_eq!(Value::from(user.id), dj.made["users"][name]["id"], "{name}");
        assert_eq!(user.is_staff, name == "boss");
    }
    let ina = login(client, "ina", &dj.password("ina"));
    assert_eq!(ina, Status::Unauthorized);
    let una = login(client, "una", "anything at all");
    assert_eq!(una, Status::Unauthorized);
}

/// Simple JWT's blacklist holds; the outstanding token refreshes once; a
/// deleted Django user's token names nobody, now or later.
fn tokens_keep_their_standing(dj: &Django, client: &Client) {
    let dead = json!({"refresh": dj.made["blacklisted"]});
    let blacklisted = json!({"detail": "Token is blacklisted", "code": "token_not_valid"});
    for path in ["/api/token/refresh/", "/api/token/blacklist/"] {
        let answer = post(client, path, dead.clone());
        assert_eq!(
            answer,
            (Status::Unauthorized, blacklisted.clone()),
            "{path}"
        );
    }
    let live = json!({"refresh": dj.made["outstanding"]});
    let (status, pair) = post(client, "/api/token/refresh/", live.clone());
    assert_eq!(status, Status::Ok);
    assert_eq!(claims(pair["access"].as_str().unwrap())["user_id"], "14");
    let again = post(client, "/api/token/refresh/", live).0;
    assert_eq!(again, Status::Unauthorized);

    let gone = json!({"refresh": dj.made["gone"]});
    let gone = post(client, "/api/token/refresh/", gone).0;
    assert_eq!(gone, Status::Unauthorized);
    let app = client.rocket().state::<latch::state::App>().unwrap();
    let hash = app.hasher.hash_blocking(PASSWORD).unwrap();
    let newcomer = app
        .db
        .run_blocking(|c| latch::store::users::create(c, "newcomer", "newcomer", &hash, false, 0))
        .unwrap()
        .unwrap();
    assert!(newcomer.id > 20, "ids above Django's: {}", newcomer.id);
}

#[test]
fn the_django_sqlite_file_imports_the_same() {
    let dj = django();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let report = imported(d, &[&dj.sqlite()]);
    assert!(
        report.contains("users: 8 imported, 0 updated, 0 unchanged, 0 skipped"),
        "{report}"
    );
    // One blacklisted token kept dead; two outstanding need nothing.
    assert!(
        report.contains("tokens: 1 imported, 0 updated, 0 unchanged, 2 skipped"),
        "{report}"
    );
    assert!(
        report.contains("2 outstanding refresh token(s) skipped"),
        "{report}"
    );
    assert!(
        report.contains("new latch users get ids above 20"),
        "{report}"
    );
    // The dump of the same database is the same data.
    let before = snapshot(d);
    let again = imported(d, &[&dj.dump(), &dj.sqlite()]);
    assert!(again.contains("nothing changed"), "{again}");
    assert_eq!(snapshot(d), before);

    // A later dump from a Django still running: its changes apply.
    let mut later = dj.records();
    let sha = later
        .iter_mut()
        .find(|r| r["fields"]["username"] == "sha")
        .unwrap();
    sha["fields"]["is_active"] = json!(false);
    let report = imported(d, &[&json_file(d, "later.json", &later)]);
    assert!(
        report.contains("users: 0 imported, 1 updated, 7 unchanged"),
        "{report}"
    );

    let client = serve(d);
    assert_eq!(
        login(&client, "sha", &dj.password("sha")),
        Status::Unauthorized
    );
    for name in ["pat", "sky"] {
        assert_eq!(
            login(&client, name, &dj.password(name)),
            Status::Ok,
            "{name}"
        );
        assert!(stored_password(d, name).starts_with("$argon2id$"));
    }
    let dead = json!({"refresh": dj.made["blacklisted"]});
    assert_eq!(
        post(&client, "/api/token/refresh/", dead).0,
        Status::Unauthorized
    );
}

/// Writes `records` (or raw text) as a file in `dir`.
fn file(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(content))
        .unwrap();
    path
}

fn json_file(dir: &Path, name: &str, records: &[Value]) -> PathBuf {
    file(dir, name, &serde_json::to_vec_pretty(records).unwrap())
}

/// Files each refused for a reason the error must give, made from the
/// real dump.
fn bad_files(dj: &Django, d: &Path) -> Vec<(PathBuf, String)> {
    let good = dj.records();
    let text = std::fs::read(dj.dump()).unwrap();
    let user_at = good.iter().position(|r| r["model"] == "auth.user").unwrap();

    let mut wrong_type = good.clone();
    wrong_type[user_at]["fields"]["is_active"] = json!("yes");
    let mut missing = good.clone();
    missing[user_at]["fields"]
        .as_object_mut()
        .unwrap()
        .remove("password");
    let mut bad_date = good.clone();
    bad_date[user_at]["fields"]["date_joined"] = json!("last tuesday");
    let blacklist_only: Vec<Value> = good
        .iter()
        .filter(|r| r["model"] == "token_blacklist.blacklistedtoken")
        .cloned()
        .collect();
    let n = user_at + 1;
    vec![
        (file(d, "words.txt", b"hello, Django"), "not JSON".into()),
        (
            file(d, "half.json", &text[..text.len() / 2]),
            "truncated".into(),
        ),
        (
            file(d, "object.json", b"{\"model\": \"auth.user\"}"),
            "not a Django dump".into(),
        ),
        (
            json_file(
                d,
                "nofields.json",
                &[json!({"model": "auth.user", "pk": 1})],
            ),
            "record 1: not a Django dump record".into(),
        ),
        (
            json_file(d, "type.json", &wrong_type),
            format!(
                "record {n} (auth.user, pk 11): field \"is_active\": expected true or false, found \"yes\""
            ),
        ),
        (
            json_file(d, "missing.json", &missing),
            format!("record {n} (auth.user, pk 11): field \"password\" is missing"),
        ),
        (
            json_file(d, "date.json", &bad_date),
            format!(
                "record {n} (auth.user, pk 11): field \"date_joined\": expected a date and time"
            ),
        ),
        (
            json_file(d, "orphan.json", &blacklist_only),
            "which is in none of the files".into(),
        ),
        (
            file(d, "empty.sqlite3", b"SQLite format 3\0"),
            "not a Django one".into(),
        ),
    ]
}

#[test]
fn bad_input_is_refused_naming_record_and_field_and_nothing_is_written() {
    let dj = django();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases = bad_files(dj, d);
    for (path, expected) in &cases {
        let err = refused(d, &[path]);
        assert!(err.contains(expected.as_str()), "{path:?}: {err}");
        assert!(err.contains("nothing was written"), "{err}");
        assert_eq!(user_count(d), 0, "{path:?} wrote nothing");
        if path.ends_with("orphan.json") {
            // Beside the dump that holds its outstanding token it is fine.
            continue;
        }
        // With a good file first: still nothing.
        let err = refused(d, &[&dj.dump(), path]);
        assert!(err.contains(expected.as_str()), "{path:?}: {err}");
        assert_eq!(user_count(d), 0, "{path:?} wrote nothing");
    }
}

#[test]
fn a_clash_with_a_different_latch_user_names_both_and_writes_nothing() {
    let dj = django();
    let t = app();
    let d = t.dir.path();
    assert_eq!(t.user("alice", PASSWORD, false), 1);
    let before = snapshot(d);

    let mut same_id = dj.records();
    let pat = same_id
        .iter_mut()
        .find(|r| r["fields"]["username"] == "pat")
        .unwrap();
    pat["pk"] = json!(1);
    let err = refused(d, &[&json_file(d, "id.json", &same_id)]);
    assert!(
        err.contains("Django user \"pat\" (id 1) clashes with latch user \"alice\" (id 1)"),
        "{err}"
    );
    assert_eq!(snapshot(d), before);

    let mut same_name = dj.records();
    let pat = same_name
        .iter_mut()
        .find(|r| r["fields"]["username"] == "pat")
        .unwrap();
    pat["fields"]["username"] = json!("alice");
    let err = refused(d, &[&json_file(d, "name.json", &same_name)]);
    assert!(
        err.contains("Django user \"alice\" (id 11) clashes with latch user \"alice\" (id 1)"),
        "{err}"
    );
    assert_eq!(snapshot(d), before);
}

/// A custom user model with only the fields latch needs, legacy look-alike
/// names, and a hash format latch cannot verify.
#[test]
fn custom_user_models_look_alikes_and_unknown_formats() {
    let dj = django();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let keep = [
        "username",
        "password",
        "is_active",
        "is_staff",
        "date_joined",
        "last_login",
    ];
    let mut records: Vec<Value> = dj
        .records()
        .into_iter()
        .filter(|r| r["model"] == "auth.user")
        .map(|mut r| {
            r["model"] = json!("accounts.member");
            let fields = r["fields"].as_object_mut().unwrap();
            fields.retain(|k, _| keep.contains(&k.as_str()));
            r
        })
        .collect();
    let mut twin = records[0].clone();
    let name = twin["fields"]["username"].as_str().unwrap().to_uppercase();
    twin["pk"] = json!(30);
    twin["fields"]["username"] = json!(name);
    let mut old = records[0].clone();
    old["pk"] = json!(31);
    old["fields"]["username"] = json!("oldtimer");
    old["fields"]["password"] = json!("md5$salt$0123456789abcdef0123456789abcdef");
    records.extend([twin, old]);
    let report = imported(d, &[&json_file(d, "members.json", &records)]);
    assert!(report.contains("users: 10 imported"), "{report}");
    assert!(
        report.contains("\"PAT\" (id 30) looks like \"pat\" (id 11); both kept"),
        "{report}"
    );
    assert!(
        report.contains("\"oldtimer\" (id 31): md5 password hash: not a format latch can verify"),
        "{report}"
    );
    assert!(
        !report.contains("0123456789abcdef"),
        "no hash in the report"
    );

    let client = serve(d);
    assert_eq!(login(&client, "pat", &dj.password("pat")), Status::Ok);
    assert_eq!(login(&client, "PAT", &dj.password("pat")), Status::Ok);
    assert_eq!(
        login(&client, "oldtimer", &dj.password("pat")),
        Status::Unauthorized
    );
    // New look-alikes are still refused; other new names are not.
    let register = |name: &str| {
        let body = json!({"username": name, "password": "a brand new passphrase"});
        post(&client, "/api/register/", body)
    };
    assert_eq!(
        register("Pat"),
        (
            Status::BadRequest,
            json!({"username": ["A user with that username already exists."]})
        )
    );
    assert_eq!(register("patricia").0, Status::Created);
}

/// Django's formats are parsed exactly: what Django could never verify is
/// refused at import, and nothing of the hash is shown.
#[test]
fn django_hash_formats_are_parsed_exactly() {
    use latch::auth::django_hashes::parse;
    let dj = django();
    let hash = |name: &str| dj.made["users"][name]["hash"].as_str().unwrap().to_string();
    for (name, algorithm) in [
        ("pat", "pbkdf2_sha256"),
        ("sha", "pbkdf2_sha1"),
        ("ari", "argon2"),
        ("bea", "bcrypt_sha256"),
        ("sky", "scrypt"),
    ] {
        let stored = hash(name);
        let parsed = parse(&stored).expect(name);
        assert_eq!(parsed.algorithm(), algorithm);
        assert_eq!(format!("{parsed:?}"), algorithm, "Debug shows no hash");
    }
    let pat = hash("pat");
    let sky = hash("sky");
    let bea = hash("bea");
    let refused = [
        pat.replace("$1000000$", "$01000000$"),
        pat.replace("$1000000$", "$+1000000$"),
        pat.replace("$1000000$", "$0$"),
        pat.trim_end_matches('=').to_string(),
        format!("{pat}$extra"),
        pat.replacen("pbkdf2_sha256", "pbkdf2_sha1", 1),
        sky.replace("$16384$", "$16383$"),
        sky.replace("$8$5$", "$8$0$"),
        bea.replacen("$$2b$", "$$2y$", 1),
        bea[..bea.len() - 1].to_string(),
        hash("ari").replacen("argon2$argon2id", "argon2$argon2x", 1),
        "md5$salt$abc".to_string(),
        "sha1$salt$abc".to_string(),
        String::new(),
    ];
    for bad in refused {
        let err = parse(&bad).expect_err(&bad);
        let shown = err.to_string();
        assert!(!shown.contains("$"), "{shown}");
    }
}

/// The hash pool checks Django's hashes and asks for argon2id on a match;
/// Django's unusable passwords never match, not even themselves.
#[test]
fn the_hasher_verifies_django_hashes_and_asks_for_a_rehash() {
    use latch::auth::hasher::Hasher;
    use latch::config::Settings;
    let dj = django();
    let hasher = Hasher::new(&Settings {
        argon2_memory_kib: 64,
        argon2_iterations: 1,
        ..Settings::default()
    })
    .unwrap();
    // bcrypt_sha256 and scrypt: quick enough for a debug build.
    for name in ["bea", "sky"] {
        let stored = dj.made["users"][name]["hash"].as_str().unwrap();
        let right = hasher.verify_blocking(&dj.password(name), Some(stored));
        assert!(
            right.as_ref().is_ok_and(|v| v.matches && v.needs_rehash),
            "{name}"
        );
        let wrong = hasher.verify_blocking("not it", Some(stored)).unwrap();
        assert!(!wrong.matches, "{name}");
    }
    let unusable = dj.made["users"]["una"]["hash"].as_str().unwrap();
    for guess in ["", "anything", unusable] {
        let v = hasher.verify_blocking(guess, Some(unusable)).unwrap();
        assert!(!v.matches && !v.needs_rehash);
    }
}
