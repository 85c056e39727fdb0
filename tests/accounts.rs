//! Sessions, password change, registration and the staff API.

mod common;

use common::*;
use rocket::http::{ContentType, Header, Status};
use rocket::local::blocking::LocalResponse;
use serde_json::{Value, json};

fn call<'c>(
    t: &'c TestApp,
    method: &str,
    path: &str,
    access: &str,
    body: Option<Value>,
) -> LocalResponse<'c> {
    let mut req = match method {
        "GET" => t.client.get(path.to_string()),
        "POST" => t.client.post(path.to_string()),
        "PATCH" => t.client.patch(path.to_string()),
        "DELETE" => t.client.delete(path.to_string()),
        other => panic!("{other}"),
    };
    req = req.header(Header::new("Authorization", format!("Bearer {access}")));
    if let Some(b) = body {
        req = req.header(ContentType::JSON).body(b.to_string());
    }
    req.dispatch()
}

#[test]
fn sessions_are_listed_with_exactly_one_current() {
    let t = app();
    t.user("alice", PASSWORD, false);
    let res = t
        .client
        .post("/api/token/")
        .header(ContentType::JSON)
        .header(Header::new("User-Agent", "phone-browser/1.0"))
        .body(json!({"username": "alice", "password": PASSWORD}).to_string())
        .dispatch();
    let phone = body(res);
    let (laptop_access, _) = t.login("alice", PASSWORD);
    let res = call(&t, "GET", "/api/sessions/", &laptop_access, None);
    assert_eq!(res.status(), Status::Ok);
    let list = body(res);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    for s in list {
        for key in ["id", "created", "last_used", "user_agent", "ip", "current"] {
            assert!(s.get(key).is_some(), "{key} in {s}");
        }
    }
    let current = list.iter().find(|s| s["current"] == true).unwrap();
    assert_eq!(current["id"], claims(&laptop_access)["sid"]);
    let other = list.iter().find(|s| s["current"] == false).unwrap();
    assert_eq!(other["user_agent"], "phone-browser/1.0");

    // Revoke the phone: its tokens die, the laptop lives.
    let path = format!("/api/sessions/{}/", other["id"].as_str().unwrap());
    assert_eq!(
        call(&t, "DELETE", &path, &laptop_access, None).status(),
        Status::Ok
    );
    let phone_access = phone["access"].as_str().unwrap();
    assert_eq!(
        t.get_auth("/api/me/", phone_access).status(),
        Status::Unauthorized
    );
    let res = t.post_json("/api/token/refresh/", json!({"refresh": phone["refresh"]}));
    assert_eq!(res.status(), Status::Unauthorized);
    assert_eq!(t.get_auth("/api/me/", &laptop_access).status(), Status::Ok);
    assert_eq!(
        body(call(&t, "GET", "/api/sessions", &laptop_access, None))
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Unknown or someone else's session: 404.
    assert_eq!(
        call(&t, "DELETE", "/api/sessions/nope/", &laptop_access, None).status(),
        Status::NotFound
    );
    t.user("bob", PASSWORD, false);
    let (bob, _) = t.login("bob", PASSWORD);
    let mine = format!(
        "/api/sessions/{}",
        claims(&laptop_access)["sid"].as_str().unwrap()
    );
    assert_eq!(
        call(&t, "DELETE", &mine, &bob, None).status(),
        Status::NotFound
    );
    assert_eq!(
        t.client.get("/api/sessions/").dispatch().status(),
        Status::Unauthorized
    );
}

#[test]
fn revoke_all_logs_out_everywhere() {
    let t = app();
    t.user("alice", PASSWORD, false);
    let (a1, r1) = t.login("alice", PASSWORD);
    let (a2, _) = t.login("alice", PASSWORD);
    let res = call(&t, "POST", "/api/sessions/revoke-all/", &a1, None);
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(body(res), json!({"revoked": 2}));
    for a in [&a1, &a2] {
        assert_eq!(t.get_auth("/api/me/", a).status(), Status::Unauthorized);
    }
    assert_eq!(
        t.post_json("/api/token/refresh/", json!({"refresh": r1}))
            .status(),
        Status::Unauthorized
    );
}

#[test]
fn password_change_rotates_everything_but_the_caller() {
    let t = app();
    t.user("alice", PASSWORD, false);
    let (access, refresh) = t.login("alice", PASSWORD);
    let (elsewhere, _) = t.login("alice", PASSWORD);
    let wrong = call(
        &t,
        "POST",
        "/api/me/password/",
        &access,
        Some(json!({"old_password": "nope", "new_password": "a fresh new passphrase"})),
    );
    assert_eq!(wrong.status(), Status::BadRequest);
    assert_eq!(
        body(wrong),
        json!({"old_password": ["Your old password was entered incorrectly. Please enter it again."]})
    );
    let weak = call(
        &t,
        "POST",
        "/api/me/password/",
        &access,
        Some(json!({"old_password": PASSWORD, "new_password": "short"})),
    );
    assert_eq!(weak.status(), Status::BadRequest);
    let messages = body(weak)["new_password"].clone();
    assert!(
        messages
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m.as_str().unwrap().contains("too short")),
        "{messages}"
    );
    let missing = call(&t, "POST", "/api/me/password/", &access, Some(json!({})));
    assert_eq!(
        body(missing),
        json!({"old_password": ["This field is required."], "new_password": ["This field is required."]})
    );

    let res = call(
        &t,
        "POST",
        "/api/me/password/",
        &access,
        Some(json!({"old_password": PASSWORD, "new_password": "a fresh new passphrase"})),
    );
    assert_eq!(res.status(), Status::Ok);
    let pair = body(res);
    // Every earlier token is dead, in the same second too.
    assert_eq!(
        t.get_auth("/api/me/", &access).status(),
        Status::Unauthorized
    );
    assert_eq!(
        t.get_auth("/api/me/", &elsewhere).status(),
        Status::Unauthorized
    );
    assert_eq!(
        t.post_json("/api/token/refresh/", json!({"refresh": refresh}))
            .status(),
        Status::Unauthorized
    );
    // The fresh pair works; the new password logs in, the old does not.
    assert_eq!(
        t.get_auth("/api/me/", pair["access"].as_str().unwrap())
            .status(),
        Status::Ok
    );
    assert_eq!(
        t.post_json("/api/token/refresh/", json!({"refresh": pair["refresh"]}))
            .status(),
        Status::Ok
    );
    t.login("alice", "a fresh new passphrase");
    let res = t.post_json(
        "/api/token/",
        json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(res.status(), Status::Unauthorized);
}

#[test]
fn the_password_policy() {
    let t = app_with(|f| f.merge(("latch.registration", "open")));
    // Registration opens once the first staff account exists.
    t.user("root", PASSWORD, true);
    let cases = [
        ("password", "This password is too common."),
        ("12345678", "This password is too common."),
        (
            "short",
            "This password is too short. It must contain at least 8 characters.",
        ),
        (
            "dave-the-user-dave",
            "The password is too similar to the username.",
        ),
        ("latchlatch", "This password is too common."),
    ];
    for (password, message) in cases {
        let res = t.post_json(
            "/api/register/",
            json!({"username": "dave-the-user", "password": password}),
        );
        assert_eq!(res.status(), Status::BadRequest, "{password}");
        let b = body(res);
        let messages: Vec<&str> = b["password"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        assert!(messages.contains(&message), "{password}: {messages:?}");
    }
    // 64+ characters with no composition rule are fine, and not truncated.
    let long = "a long passphrase made of plain words is perfectly fine here ok!";
    assert!(long.len() >= 64);
    let res = t.post_json(
        "/api/register/",
        json!({"username": "dave", "password": long}),
    );
    assert_eq!(res.status(), Status::Created);
    let res = t.post_json(
        "/api/token/",
        json!({"username": "dave", "password": &long[..63]}),
    );
    assert_eq!(res.status(), Status::Unauthorized);
}

#[test]
fn registration_is_closed_by_default_and_open_on_request() {
    let closed = app();
    let res = closed.post_json(
        "/api/register/",
        json!({"username": "eve", "password": "a decent passphrase"}),
    );
    assert_eq!(res.status(), Status::Forbidden);
    assert_eq!(body(res), json!({"detail": "Registration is closed."}));

    let open = app_with(|f| f.merge(("latch.registration", "open")));
    open.user("root", PASSWORD, true);
    let res = open.post_json(
        "/api/register/",
        json!({"username": "eve", "password": "a decent passphrase"}),
    );
    assert_eq!(res.status(), Status::Created);
    let user = body(res);
    assert_eq!(
        (
            user["username"].as_str(),
            user["is_active"].as_bool(),
            user["is_staff"].as_bool()
        ),
        (Some("eve"), Some(true), Some(false))
    );
    open.login("eve", "a decent passphrase");
    let res = open.post_json(
        "/api/register/",
        json!({"username": "eve", "password": "another decent passphrase"}),
    );
    assert_eq!(res.status(), Status::BadRequest);
    assert_eq!(
        body(res),
        json!({"username": ["A user with that username already exists."]})
    );
    let res = open.post_json(
        "/api/register/",
        json!({"username": "bad name!", "password": "another decent passphrase"}),
    );
    assert_eq!(res.status(), Status::BadRequest);
    assert!(body(res)["username"].is_array());
}

#[test]
fn staff_api_requires_staff() {
    let t = app();
    let bob = t.user("bob", PASSWORD, false);
    let (access, _) = t.login("bob", PASSWORD);
    for (method, path) in [
        ("GET", "/api/admin/users/".to_string()),
        ("POST", "/api/admin/users/".to_string()),
        ("GET", format!("/api/admin/users/{bob}/")),
        ("PATCH", format!("/api/admin/users/{bob}/")),
        ("DELETE", format!("/api/admin/users/{bob}/")),
        ("POST", format!("/api/admin/users/{bob}/password/")),
        ("POST", format!("/api/admin/users/{bob}/logout/")),
    ] {
        let res = call(&t, method, &path, &access, Some(json!({})));
        assert_eq!(res.status(), Status::Forbidden, "{method} {path}");
        assert_eq!(
            body(res),
            json!({"detail": "You do not have permission to perform this action."})
        );
        let anonymous = t.client.get(path.clone()).dispatch();
        assert_eq!(anonymous.status(), Status::Unauthorized, "{path}");
    }
}

#[test]
fn staff_api_pagination_and_crud() {
    let t = app();
    t.user("admin", PASSWORD, true);
    let (admin, _) = t.login("admin", PASSWORD);
    for i in 0..4 {
        let res = call(
            &t,
            "POST",
            "/api/admin/users/",
            &admin,
            Some(json!({"username": format!("user{i}"), "password": "a decent passphrase"})),
        );
        assert_eq!(res.status(), Status::Created);
    }
    let res = call(
        &t,
        "POST",
        "/api/admin/users/",
        &admin,
        Some(json!({"username": "boss", "password": "a decent passphrase", "is_staff": true})),
    );
    let boss = body(res);
    assert_eq!(boss["is_staff"], true);

    let page1 = body(call(
        &t,
        "GET",
        "/api/admin/users/?page_size=2",
        &admin,
        None,
    ));
    assert_eq!(page1["count"], 6);
    assert_eq!(page1["results"].as_array().unwrap().len(), 2);
    assert_eq!(page1["previous"], Value::Null);
    let next = page1["next"].as_str().unwrap();
    assert!(
        next.ends_with("/api/admin/users/?page=2&page_size=2"),
        "{next}"
    );
    let page3 = body(call(
        &t,
        "GET",
        "/api/admin/users/?page=3&page_size=2",
        &admin,
        None,
    ));
    assert_eq!(page3["next"], Value::Null);
    assert!(page3["previous"].as_str().unwrap().contains("page=2"));
    let names: Vec<&str> = page3["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["user3", "boss"]);

    let id = page1["results"][1]["id"].as_i64().unwrap();
    let path = format!("/api/admin/users/{id}/");
    assert_eq!(
        body(call(&t, "GET", &path, &admin, None))["username"],
        "user0"
    );
    let (user_access, user_refresh) = t.login("user0", "a decent passphrase");

    let res = call(
        &t,
        "PATCH",
        &path,
        &admin,
        Some(json!({"username": "renamed", "is_staff": true})),
    );
    assert_eq!(res.status(), Status::Ok);
    let b = body(res);
    assert_eq!(
        (b["username"].as_str(), b["is_staff"].as_bool()),
        (Some("renamed"), Some(true))
    );
    let res = call(
        &t,
        "PATCH",
        &path,
        &admin,
        Some(json!({"username": "user1"})),
    );
    assert_eq!(res.status(), Status::BadRequest);

    // Deactivation kills the tokens at once.
    assert_eq!(t.get_auth("/api/me/", &user_access).status(), Status::Ok);
    let res = call(
        &t,
        "PATCH",
        &path,
        &admin,
        Some(json!({"is_active": false})),
    );
    assert_eq!(body(res)["is_active"], false);
    assert_eq!(
        t.get_auth("/api/me/", &user_access).status(),
        Status::Unauthorized
    );
    assert_eq!(
        t.post_json("/api/token/refresh/", json!({"refresh": user_refresh}))
            .status(),
        Status::Unauthorized
    );
    call(&t, "PATCH", &path, &admin, Some(json!({"is_active": true})));
    assert_eq!(
        t.get_auth("/api/me/", &user_access).status(),
        Status::Unauthorized,
        "stays dead"
    );

    // Set password, force logout.
    let res = call(
        &t,
        "POST",
        &format!("{path}password/"),
        &admin,
        Some(json!({"password": "set by the admin today"})),
    );
    assert_eq!(res.status(), Status::Ok);
    let (fresh, _) = t.login("renamed", "set by the admin today");
    let res = call(&t, "POST", &format!("{path}logout/"), &admin, None);
    assert_eq!(body(res), json!({"revoked": 1}));
    assert_eq!(
        t.get_auth("/api/me/", &fresh).status(),
        Status::Unauthorized
    );

    // Delete kills tokens and frees nothing for reuse.
    let (fresh, _) = t.login("renamed", "set by the admin today");
    assert_eq!(
        call(&t, "DELETE", &path, &admin, None).status(),
        Status::NoContent
    );
    assert_eq!(
        call(&t, "GET", &path, &admin, None).status(),
        Status::NotFound
    );
    assert_eq!(
        t.get_auth("/api/me/", &fresh).status(),
        Status::Unauthorized
    );
    assert_eq!(
        call(&t, "DELETE", &path, &admin, None).status(),
        Status::NotFound
    );
    assert_eq!(
        call(&t, "GET", "/api/admin/users/abc/", &admin, None).status(),
        Status::NotFound
    );
}

#[test]
fn on_staff_paths_permission_comes_before_the_method() {
    let t = app();
    t.user("admin", PASSWORD, true);
    t.user("bob", PASSWORD, false);
    let (admin, _) = t.login("admin", PASSWORD);
    let (bob, _) = t.login("bob", PASSWORD);
    let put = |access: Option<&str>| {
        let mut req = t.client.put("/api/admin/users/");
        if let Some(a) = access {
            req = req.header(Header::new("Authorization", format!("Bearer {a}")));
        }
        req.dispatch().status()
    };
    assert_eq!(put(None), Status::Unauthorized);
    assert_eq!(put(Some(&bob)), Status::Forbidden);
    assert_eq!(put(Some(&admin)), Status::MethodNotAllowed);
}

#[test]
fn usernames_are_nfkc_normalised_on_creation() {
    let t = app_with(|f| f.merge(("latch.registration", "open")));
    // Registration opens once the first staff account exists.
    t.user("root", PASSWORD, true);
    let res = t.post_json(
        "/api/register/",
        json!({"username": "ｅｖｅ", "password": "a decent passphrase"}),
    );
    assert_eq!(res.status(), Status::Created);
    assert_eq!(body(res)["username"], "eve");
    t.login("eve", "a decent passphrase");
    let res = t.post_json(
        "/api/register/",
        json!({"username": "eve", "password": "another decent passphrase"}),
    );
    assert_eq!(
        res.status(),
        Status::BadRequest,
        "the same name once normalised"
    );
}

const INVALID: &str = "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.";
const MIXED: &str =
    "Enter a valid username. This value may not mix letters from different scripts.";
const TAKEN: &str = "A user with that username already exists.";

fn register(t: &TestApp, name: &str) -> (Status, Value) {
    let res = t.post_json(
        "/api/register/",
        json!({"username": name, "password": "a decent passphrase"}),
    );
    (res.status(), body(res))
}

/// Names that pass for `alice`, or for nothing at all, are refused; plain
/// names in one script still register.
#[test]
fn look_alike_and_invisible_usernames_are_refused_at_registration() {
    let t = app_with(|f| f.merge(("latch.registration", "open")));
    t.user("root", PASSWORD, true);
    assert_eq!(register(&t, "alice").0, Status::Created);
    for (name, message) in [
        ("Alice", TAKEN),
        ("ALICE", TAKEN),
        // All Cyrillic: one script, but the same skeleton.
        ("\u{0430}\u{04CF}\u{0456}\u{0441}\u{0435}", TAKEN),
        // Cyrillic а among Latin letters.
        ("\u{0430}lice", MIXED),
        ("alpha\u{03B1}", MIXED),
        ("\u{3164}", INVALID),
        ("alice\u{3164}", INVALID),
        ("\u{115F}", INVALID),
        ("\u{115F}bob", INVALID),
        ("\u{FFA0}", INVALID),
        ("bob\u{200B}", INVALID),
        ("b\u{00AD}ob", INVALID),
        // Combining marks only, or first.
        ("\u{093F}\u{0940}", INVALID),
        ("\u{093F}ab", INVALID),
        // Tatweel stretching an Arabic name.
        ("\u{0639}\u{0640}\u{0644}\u{064A}", INVALID),
    ] {
        let (status, body) = register(&t, name);
        assert_eq!(status, Status::BadRequest, "{name:?}: {body}");
        assert_eq!(body, json!({"username": [message]}), "{name:?}");
    }
    for name in [
        "carol",
        "alice.smith@example.com",
        "\u{0438}\u{0432}\u{0430}\u{043D}",
        "taro\u{592A}\u{90CE}",
        "\u{0639}\u{0644}\u{064A}",
    ] {
        assert_eq!(register(&t, name).0, Status::Created, "{name:?}");
    }
    t.login("alice", "a decent passphrase");
}

#[test]
fn staff_renames_follow_the_same_username_rules() {
    let t = app();
    t.user("admin", PASSWORD, true);
    let alice = t.user("alice", PASSWORD, false);
    let bob = t.user("bob", PASSWORD, false);
    let (admin, _) = t.login("admin", PASSWORD);
    let rename = |id: i64, name: &str| {
        let path = format!("/api/admin/users/{id}/");
        let res = call(&t, "PATCH", &path, &admin, Some(json!({"username": name})));
        (res.status(), body(res))
    };
    for (name, message) in [
        ("Alice", TAKEN),
        ("\u{0430}lice", MIXED),
        ("bob\u{3164}", INVALID),
        ("\u{115F}", INVALID),
        ("b\u{0640}ob", INVALID),
    ] {
        let (status, body) = rename(bob, name);
        assert_eq!(status, Status::BadRequest, "{name:?}: {body}");
        assert_eq!(body, json!({"username": [message]}), "{name:?}");
    }
    // A user may change the case of their own name; the key is theirs.
    let (status, body) = rename(alice, "Alice");
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["username"], "Alice");
    assert_eq!(rename(bob, "alice").0, Status::BadRequest);
    assert_eq!(rename(bob, "robert").0, Status::Ok);
    t.login("robert", PASSWORD);
}

/// A database from before the rule may hold `alice` and `Alice`: both keep
/// logging in, and neither name can be taken a third time.
#[test]
fn legacy_look_alike_names_keep_working() {
    let TestApp { client, dir } = app();
    let app_state = client.rocket().state::<latch::state::App>().unwrap();
    let hash = app_state.hasher.hash_blocking(PASSWORD).unwrap();
    app_state
        .db
        .run_blocking(|conn| {
            // Back to schema 1, as an older latch left it.
            conn.execute_batch(
                "DROP TABLE signing_keys;
                 DELETE FROM meta WHERE key = 'keys_version';
                 DROP TABLE audit;
                 DROP INDEX sessions_sso_hash;
                 ALTER TABLE sessions DROP COLUMN sso_hash;
                 DROP INDEX users_username_key;
                 ALTER TABLE users DROP COLUMN username_key;
                 PRAGMA user_version = 1;",
            )?;
            for name in ["alice", "Alice"] {
                conn.execute(
                    "INSERT INTO users (username, password, is_active, is_staff, date_joined)
                     VALUES (?1, ?2, 1, 0, 0)",
                    rusqlite::params![name, hash],
                )?;
            }
            Ok(())
        })
        .unwrap();
    drop(client);
    let t = TestApp {
        client: rocket::local::blocking::Client::tracked(latch::build(
            figment(dir.path()).merge(("latch.registration", "open")),
        ))
        .unwrap(),
        dir,
    };
    t.login("alice", PASSWORD);
    t.login("Alice", PASSWORD);
    let (status, body) = register(&t, "ALICE");
    assert_eq!(status, Status::BadRequest);
    assert_eq!(body, json!({"username": [TAKEN]}));
    assert_eq!(register(&t, "alicia").0, Status::Created);
}

#[test]
fn staff_pagination_follows_drf() {
    let t = app();
    t.user("boss", PASSWORD, true);
    for i in 0..4 {
        t.user(&format!("user{i}"), PASSWORD, false);
    }
    let (admin, _) = t.login("boss", PASSWORD);
    let get = |query: &str, host: Option<&str>| {
        let mut req = t
            .client
            .get(format!("/api/admin/users/{query}"))
            .header(Header::new("Authorization", format!("Bearer {admin}")));
        if let Some(host) = host {
            req = req.header(Header::new("Host", host.to_string()));
        }
        let res = req.dispatch();
        (res.status(), body(res))
    };
    let invalid = (Status::NotFound, json!({"detail": "Invalid page."}));
    for query in [
        "?page=4&page_size=2",
        "?page=0",
        "?page=-1",
        "?page=abc",
        "?page=1.5",
        "?page=99999999999999999999",
    ] {
        assert_eq!(get(query, None), invalid, "{query}");
    }
    // `last` is the last page.
    let (status, last) = get("?page=last&page_size=2", None);
    assert_eq!(status, Status::Ok);
    assert_eq!(last["results"].as_array().unwrap().len(), 1);
    // A bad page_size falls back to the default and is not echoed.
    for query in ["?page_size=0", "?page_size=-3", "?page_size=abc"] {
        let (status, page) = get(query, None);
        assert_eq!(status, Status::Ok, "{query}");
        assert_eq!(page["results"].as_array().unwrap().len(), 5, "{query}");
        assert_eq!(page["next"], Value::Null, "{query}");
    }
    // Links never carry the Host header a client chose.
    let (_, page) = get("?page_size=2", Some("evil.example"));
    let next = page["next"].as_str().unwrap();
    assert_eq!(next, "/api/admin/users/?page=2&page_size=2");
    let (_, page) = get("?page=2&page_size=2", Some("evil.example"));
    assert_eq!(page["previous"], "/api/admin/users/?page=1&page_size=2");
}

#[test]
fn staff_search_users_and_list_their_sessions() {
    let t = app();
    t.user("boss", PASSWORD, true);
    for name in ["anna", "hannah", "joanna", "bob", "an_na", "an%na"] {
        t.user(name, PASSWORD, false);
    }
    let (admin, _) = t.login("boss", PASSWORD);
    let names = |query: &str| {
        let res = call(
            &t,
            "GET",
            &format!("/api/admin/users/{query}"),
            &admin,
            None,
        );
        assert_eq!(res.status(), Status::Ok, "{query}");
        let page = body(res);
        let names: Vec<String> = page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_string())
            .collect();
        (page["count"].clone(), names, page["next"].clone())
    };
    let (count, found, _) = names("?search=ANN");
    assert_eq!(count, 3);
    assert_eq!(found, ["anna", "hannah", "joanna"]);
    // LIKE's wildcards are only themselves.
    assert_eq!(names("?search=_").1, ["an_na"]);
    assert_eq!(names("?search=%25").1, ["an%na"]);
    assert_eq!(names("?search=").0, 7, "an empty search is no filter");
    // Spaces around the term are not part of it.
    assert_eq!(names("?search=%20bob%20").1, ["bob"]);
    // Pages keep the search in their links, encoded.
    let (_, first, next) = names("?search=n%25n&page_size=1");
    assert_eq!(first, ["an%na"]);
    assert_eq!(next, Value::Null);
    let (_, _, next) = names("?search=an&page_size=2");
    assert_eq!(next, "/api/admin/users/?page=2&page_size=2&search=an");

    // A user's sessions, named as people know their devices.
    let bob = t.user("carl", PASSWORD, false);
    let res = t
        .client
        .post("/api/token/")
        .header(ContentType::JSON)
        .header(Header::new(
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        ))
        .body(json!({"username": "carl", "password": PASSWORD}).to_string())
        .dispatch();
    assert_eq!(res.status(), Status::Ok);
    let res = call(
        &t,
        "GET",
        &format!("/api/admin/users/{bob}/sessions/"),
        &admin,
        None,
    );
    assert_eq!(res.status(), Status::Ok);
    let list = body(res);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["device"], "Firefox on Linux");
    assert_eq!(list[0]["current"], false);
    assert!(list[0]["user_agent"].as_str().unwrap().contains("Gecko"));
    let res = call(&t, "GET", "/api/admin/users/999/sessions/", &admin, None);
    assert_eq!(res.status(), Status::NotFound);
    let (plain, _) = t.login("carl", PASSWORD);
    let res = call(
        &t,
        "GET",
        &format!("/api/admin/users/{bob}/sessions/"),
        &plain,
        None,
    );
    assert_eq!(res.status(), Status::Forbidden);
}
